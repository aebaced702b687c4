package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
)

const complete = `# Contoso's Inbox Sync policy
provider = "office365"
admin_email = "it@contoso.com"
notify = ["user", "admin"]
notify_resumed = true
sync_interval = "15m"
history_days = 60
folders = ["inbox", "calendar"]
expected_mailbox = "{user}@contoso.com"
enforce_mailbox = true
locked = ["sync_interval", "office365"]

[exchange]
ews_url = "https://mail.contoso.com/EWS/Exchange.asmx"

[office365]
client_id = "11111111-2222-3333-4444-555555555555"
tenant = "contoso.com"

[google]
client_id = "123.apps.googleusercontent.com"

[smtp]
host = "relay.contoso.com"
port = 587
tls = "starttls"
username = "inboxsync"
from = "inboxsync@contoso.com"
`

func TestParseCompletePolicy(t *testing.T) {
	p := Parse(complete)
	if len(p.Problems) != 0 {
		t.Fatalf("problems in a valid policy: %v", p.Problems)
	}
	want := map[string]string{
		"provider": "office365", "admin_email": "it@contoso.com", "notify": "user,admin",
		"notify_resumed": "true", "sync_interval": "15m0s", "history_days": "60",
		"folders": "inbox,calendar", "expected_mailbox": "{user}@contoso.com", "enforce_mailbox": "true",
		"exchange.ews_url":    "https://mail.contoso.com/EWS/Exchange.asmx",
		"office365.client_id": "11111111-2222-3333-4444-555555555555", "office365.tenant": "contoso.com",
		"google.client_id": "123.apps.googleusercontent.com",
		"smtp.host":        "relay.contoso.com", "smtp.port": "587", "smtp.tls": "starttls",
		"smtp.username": "inboxsync", "smtp.from": "inboxsync@contoso.com",
	}
	if !reflect.DeepEqual(p.Values, want) {
		t.Errorf("values:\n got %v\nwant %v", p.Values, want)
	}
	wantLocked := []string{"sync_interval", "office365.client_id", "office365.tenant", "office365.authority", "office365.graph_endpoint"}
	if !reflect.DeepEqual(p.Locked, wantLocked) {
		t.Errorf("locked = %v, want %v", p.Locked, wantLocked)
	}
	if got := p.Section("office365"); got["client_id"] != "11111111-2222-3333-4444-555555555555" || len(got) != 2 {
		t.Errorf("office365 section = %v", got)
	}
	if got := ExpandUser(p.Values["expected_mailbox"], "jdoe"); got != "jdoe@contoso.com" {
		t.Errorf("{user} expanded to %q", got)
	}
}

// Each broken file keeps its good entries; each bad one is a problem on
// its line, naming the key.
func TestParseBrokenPolicies(t *testing.T) {
	for _, tc := range []struct {
		name     string
		doc      string
		values   map[string]string
		problems []string // "line N: key: substring"
	}{
		{"unknown key and suggestion", "sync_interval = \"1h\"\news_url = \"https://x/EWS\"\ncolour = \"red\"\n",
			map[string]string{"sync_interval": "1h0m0s"},
			[]string{"line 2: ews_url: did you mean exchange.ews_url?", "line 3: colour: unknown setting"}},
		{"wrong types", "history_days = \"60\"\nnotify_resumed = \"yes\"\nfolders = \"inbox\"\nprovider = \"gmail\"\n",
			map[string]string{"provider": "gmail"},
			[]string{"line 1: history_days: must be a whole number, not text", "line 2: notify_resumed: must be true or false", "line 3: folders: must be a list"}},
		{"out of range and bad enums", "sync_interval = \"1m\"\nhistory_days = 999\nprovider = \"lotus\"\nnotify = [\"boss\"]\n[smtp]\ntls = \"ssl\"\nport = 25\n",
			map[string]string{"smtp.port": "25"},
			[]string{"line 1: sync_interval: between 5m and 24h", "line 2: history_days: between 1 and 365", "line 3: provider: must be one of", "line 4: notify: may hold only", "line 6: smtp.tls: must be one of"}},
		{"syntax error drops only its line", "provider = \"gmail\"\nsync_interval = \"20m\nhistory_days = 10\n",
			map[string]string{"provider": "gmail", "history_days": "10"},
			[]string{"line 2: not valid TOML"}},
		{"plain-text smtp to a remote relay", "[smtp]\nhost = \"relay.example.com\"\ntls = \"none\"\n",
			map[string]string{"smtp.host": "relay.example.com"},
			[]string{"line 3: smtp.tls: only for a relay on this machine"}},
		{"plain-text smtp to loopback is fine", "[smtp]\nhost = \"127.0.0.1\"\ntls = \"none\"\n",
			map[string]string{"smtp.host": "127.0.0.1", "smtp.tls": "none"}, nil},
		{"bad addresses and urls", "admin_email = \"IT team\"\nexpected_mailbox = \"{user}\"\n[office365]\nauthority = \"http://login.example\"\n",
			map[string]string{},
			[]string{"line 1: admin_email: is not an email address", "line 2: expected_mailbox: is not an email address", "line 4: office365.authority: https://"}},
		{"locked names", "locked = [\"sync_interval\", \"wallpaper\", 7]\n",
			map[string]string{},
			[]string{"line 1: locked: \"wallpaper\" is not a setting", "line 1: locked: 7 is not a setting name"}},
		{"multi-line arrays keep later lines right", "folders = [\n  \"inbox\",\n  \"sent\",\n]\nhistory_days = 0\n",
			map[string]string{"folders": "inbox,sent"},
			[]string{"line 5: history_days: between 1 and 365"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Parse(tc.doc)
			if !reflect.DeepEqual(p.Values, tc.values) && !(len(p.Values) == 0 && len(tc.values) == 0) {
				t.Errorf("values = %v, want %v", p.Values, tc.values)
			}
			if len(p.Problems) != len(tc.problems) {
				t.Fatalf("problems = %q, want %d like %q", p.Problems, len(tc.problems), tc.problems)
			}
			for i, want := range tc.problems {
				got := p.Problems[i].String()
				prefix, sub, _ := strings.Cut(want, ": ")
				if i := strings.Index(sub, ": "); i > 0 && !strings.HasPrefix(sub, "not valid") {
					prefix, sub = prefix+": "+sub[:i], sub[i+2:]
				}
				if !strings.HasPrefix(got, prefix) || !strings.Contains(got, sub) {
					t.Errorf("problem %d = %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestParseTableHeaderCutShort(t *testing.T) {
	p := Parse("[smtp\nhost = \"relay\"\nhistory_days = 9\n")
	want := []string{"line 1: not valid TOML", "line 2: host: unknown setting; did you mean smtp.host?"}
	if len(p.Problems) != 2 || p.Values["history_days"] != "9" {
		t.Fatalf("values %v problems %q", p.Values, p.Problems)
	}
	for i, w := range want {
		if !strings.HasPrefix(p.Problems[i].String(), w) {
			t.Errorf("problem %d = %q, want %q…", i, p.Problems[i], w)
		}
	}
}

func TestResolvePrecedence(t *testing.T) {
	p := Parse("sync_interval = \"15m\"\nhistory_days = 60\nlocked = [\"history_days\", \"folders\"]\n")
	for _, tc := range []struct {
		name, flag, user string
		want             string
		src              api.SettingSource
	}{
		{"sync_interval", "", "", "15m0s", api.SourcePolicy},
		{"sync_interval", "", "45m0s", "45m0s", api.SourceUser},
		{"sync_interval", "10m0s", "45m0s", "10m0s", api.SourceFlag},
		{"history_days", "7", "90", "60", api.SourceLocked},
		{"folders", "inbox", "", "inbox,sent,calendar", api.SourceLocked}, // locked at the default
		{"notify_resumed", "", "", "false", api.SourceDefault},
		{"smtp.port", "", "", "587", api.SourceDefault},
	} {
		got, src := Resolve(p, tc.name, tc.flag, tc.user)
		if got != tc.want || src != tc.src {
			t.Errorf("Resolve(%s, %q, %q) = %q %s, want %q %s", tc.name, tc.flag, tc.user, got, src, tc.want, tc.src)
		}
	}
	var none api.Policy
	if got, src := Resolve(none, "sync_interval", "", ""); got != "30m0s" || src != api.SourceDefault {
		t.Errorf("no policy: %q %s", got, src)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := Load(filepath.Join(dir, "nope.toml"))
	if missing.Found || len(missing.Problems) != 0 {
		t.Errorf("missing file: %+v", missing)
	}
	path := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(path, []byte(complete), 0o644); err != nil {
		t.Fatal(err)
	}
	p := Load(path)
	if !p.Found || p.Path != path || p.Values["provider"] != "office365" {
		t.Errorf("loaded %+v", p)
	}
	if err := os.Chmod(path, 0); err == nil && os.Geteuid() != 0 {
		if p := Load(path); len(p.Problems) != 1 || !strings.Contains(p.Problems[0].Message, "cannot read") {
			t.Errorf("unreadable file: %+v", p)
		}
	}
}

func TestPaths(t *testing.T) {
	env := map[string]string{"ProgramData": `D:\ProgramData`}
	get := func(k string) string { return env[k] }
	for goos, want := range map[string]string{
		"linux": "/etc/inboxsync/policy.toml", "freebsd": "/etc/inboxsync/policy.toml",
		"windows": `D:\ProgramData\InboxSync\policy.toml`, "darwin": "/Library/Application Support/InboxSync/policy.toml",
	} {
		if got := Path(goos, get); got != want {
			t.Errorf("%s: %q, want %q", goos, got, want)
		}
	}
	env["INBOXSYNC_POLICY"] = "/tmp/pilot.toml"
	if got := Path("linux", get); got != "/tmp/pilot.toml" {
		t.Errorf("INBOXSYNC_POLICY ignored: %q", got)
	}
}

func TestEverySettingIsDescribedOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range Names() {
		if Description(name) == "" {
			t.Errorf("%s has no description", name)
		}
		if seen[name] {
			t.Errorf("%s listed twice", name)
		}
		seen[name] = true
	}
}

func TestSalesforceBehaviourSettings(t *testing.T) {
	p := Parse("locked = [\"salesforce.blocklist\"]\n[salesforce]\ninternal_domains = [\"Contoso.com\", \"@fabrikam.com\"]\nblocklist = [\"gmail.com\", \"yahoo.*\"]\nlog_email_as = \"task\"\nremove_deleted_events = true\n")
	if len(p.Problems) != 0 {
		t.Fatalf("problems: %v", p.Problems)
	}
	want := map[string]string{"salesforce.internal_domains": "contoso.com,fabrikam.com", "salesforce.blocklist": "gmail.com,yahoo.*",
		"salesforce.log_email_as": "task", "salesforce.remove_deleted_events": "true"}
	for k, v := range want {
		if p.Values[k] != v {
			t.Errorf("%s = %q, want %q", k, p.Values[k], v)
		}
	}
	if !p.IsLocked("salesforce.blocklist") {
		t.Error("blocklist not locked")
	}
	bad := Parse("[salesforce]\nblocklist = [\"not a domain\"]\n")
	if len(bad.Problems) != 1 || bad.Problems[0].Line != 2 || !strings.Contains(bad.Problems[0].Message, "not a domain") {
		t.Errorf("bad blocklist: %v", bad.Problems)
	}
}

func TestSalesforceRuleSettings(t *testing.T) {
	p := Parse("locked = [\"salesforce.auto_log\", \"salesforce.threads\"]\n[salesforce]\n" +
		"keep_out_categories = [\" Private \", \"HR only\", \"private\"]\nlog_categories = []\n" +
		"auto_log = false\nopportunity = \"Most-Recent\"\ncreate_leads = true\n")
	if len(p.Problems) != 0 {
		t.Fatalf("problems: %v", p.Problems)
	}
	want := map[string]string{"salesforce.keep_out_categories": "Private,HR only", "salesforce.log_categories": "",
		"salesforce.auto_log": "false", "salesforce.opportunity": "most-recent", "salesforce.create_leads": "true"}
	for k, v := range want {
		if got, ok := p.Get(k); !ok || got != v {
			t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
		}
	}
	// Locked without a value: the built-in default, locked.
	if v, src := Resolve(p, "salesforce.threads", "", "false"); v != "true" || src != api.SourceLocked {
		t.Errorf("locked threads without a value = %q %s, want true locked", v, src)
	}
	if v, src := Resolve(Parse(""), "salesforce.keep_out_categories", "", ""); v != "Private,Don't log" || src != api.SourceDefault {
		t.Errorf("default keep-out = %q %s", v, src)
	}
	for doc, words := range map[string]string{
		"[salesforce]\nopportunity = \"newest\"\n":                                     `must be one of "off", "single-open", "most-recent"`,
		"[salesforce]\nkeep_out_categories = [\"\"]\n":                                 "cannot be empty",
		"[salesforce]\nlog_categories = [\"a,b\"]\n":                                   "cannot hold a comma",
		"[salesforce]\nlog_categories = \"Salesforce\"\n":                              "must be a list",
		"[salesforce]\nkeep_out_categories = [\"" + strings.Repeat("x", 256) + "\"]\n": "longer than 255",
		"[salesforce]\nlog_categories = [\"two\\nlines\"]\n":                           "on one line",
		"[salesforce]\nauto_log = \"off\"\n":                                           "must be true or false",
	} {
		bad := Parse(doc)
		if len(bad.Problems) != 1 || bad.Problems[0].Line != 2 || !strings.Contains(bad.Problems[0].Message, words) {
			t.Errorf("%q: problems %v, want one on line 2 saying %q", doc, bad.Problems, words)
		}
	}
}
