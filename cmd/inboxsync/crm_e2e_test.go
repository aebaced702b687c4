package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth/authtest"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
)

// crmConnect runs `crm connect salesforce --no-browser` against the
// emulator and follows the sign-in link it prints, as a browser would.
func (h *home) crmConnect(sf *sftest.Server) string {
	h.t.Helper()
	browser := authtest.NewBrowser(sf.Client())
	out, _ := h.signIn(sf.URL+"/services/oauth2/authorize?", browser.Open, "crm", "connect", "salesforce", "--no-browser",
		"--login-url", sf.URL, "--client-id", sf.ClientID(), "--redirect-port", strconv.Itoa(sf.RedirectPort()))
	return out
}

func (h *home) crmStatus() api.CRMStatus {
	h.t.Helper()
	var st api.CRMStatus
	if err := json.Unmarshal([]byte(h.ok("crm", "status", "--json")), &st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

// TestCRMEndToEnd: a scripted mailbox, `crm connect salesforce
// --no-browser` against the Salesforce emulator, the agent killed (-9)
// after Salesforce created records and before the agent heard of them,
// a restart: every mail and meeting is logged exactly once, and
// `activity --json` and the emulator agree.
func TestCRMEndToEnd(t *testing.T) {
	needKeyring(t)
	sf := sftest.New(t, sftest.Options{})
	sf.AddContact("alice@scripted.test", sf.AddAccount("Scripted Inc"))
	sf.AddLead("bob@scripted.test", false)
	h := newHome(t)
	h.startAgent()
	script := h.writeScript(`{"inbox": 300, "calendar": 3, "page_size": 100, "email": "ann@example.test"}`)
	h.ok("account", "add", "scripted", "--account", "work", "--login", "ann", "--mailbox", script)
	h.eventually("the first sync ends", func() bool {
		s := h.status()
		return len(s.Accounts) == 1 && s.Accounts[0].LastSync != nil && s.Accounts[0].LastSync.Outcome == "ok"
	})
	if out := h.ok("crm", "status"); !strings.Contains(out, "not connected") {
		t.Fatalf("crm status before connecting: %q", out)
	}

	// The second collection request of the first run (the first batch's
	// relations, after its EmailMessages) is handled, then held: the agent
	// dies before it hears the answer.
	var (
		mu      sync.Mutex
		posts   int
		reached = make(chan struct{})
		release = make(chan struct{})
	)
	sf.SetAfterAPI(func(method, path string) {
		if method != "POST" || !strings.HasSuffix(path, "/composite/sobjects") {
			return
		}
		mu.Lock()
		posts++
		n := posts
		mu.Unlock()
		if n == 2 {
			close(reached)
			select {
			case <-release:
			case <-time.After(30 * time.Second):
			}
		}
	})
	out := h.crmConnect(sf)
	if !strings.Contains(out, "Connected to Salesforce ("+sf.URL+")") {
		t.Fatalf("crm connect printed:\n%s", out)
	}
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatalf("the first run did not reach its second collection request\n%s", h.log)
	}
	created := len(sf.Records(api.ObjEmailMessage))
	if err := h.agent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.agent.Wait()
	h.agent = nil
	sf.SetAfterAPI(nil)
	close(release)
	if created == 0 || created == 300 {
		t.Fatalf("%d EmailMessages existed when the agent was killed, want some of 300", created)
	}
	// Nothing of that run was saved: the outbox still holds it, as
	// `crm status` says from the store while no agent runs.
	if st := h.crmStatus(); st.State != api.ConnConnected || st.Counts[api.CRMPending] != 303 || st.Instance != sf.URL {
		t.Errorf("crm status without an agent: %+v", st)
	}
	items := h.items()
	for _, it := range items {
		if it.CRM == nil || it.CRM.State != api.CRMPending {
			t.Fatalf("after the kill, item %s has CRM state %+v, want pending", it.ProviderID, it.CRM)
		}
	}

	// The restarted agent resumes the run by itself.
	h.startAgent()
	h.eventually("the outbox is logged", func() bool {
		st := h.crmStatus()
		return st.Counts[api.CRMLogged] == 303 && st.State == api.ConnConnected
	})
	st := h.crmStatus()
	if st.Instance != sf.URL || st.User != sftest.UserID || st.APILimit == 0 || st.LastRun.IsZero() || st.NextRun.IsZero() {
		t.Errorf("crm status: %+v", st)
	}

	// The emulator holds each mail and meeting once, with its relations
	// once each, and the activity names those records.
	emails, events := sf.Records(api.ObjEmailMessage), sf.Records(api.ObjEvent)
	if len(emails) != 300 || len(events) != 3 {
		t.Fatalf("Salesforce holds %d EmailMessages and %d Events, want 300 and 3", len(emails), len(events))
	}
	records := map[string]bool{}
	byMessageID := map[string]bool{}
	for _, r := range emails {
		records[r.ID] = true
		mid, _ := r.Fields["MessageIdentifier"].(string)
		if byMessageID[mid] {
			t.Errorf("two EmailMessages for %s", mid)
		}
		byMessageID[mid] = true
	}
	for _, r := range events {
		records[r.ID] = true
	}
	rels := map[string]int{}
	for _, r := range sf.Records(api.ObjRelation) {
		key := r.Fields["EmailMessageId"].(string) + "|" + r.Fields["RelationId"].(string) + "|" + r.Fields["RelationType"].(string)
		rels[key]++
		if rels[key] > 1 {
			t.Errorf("relation %s twice", key)
		}
	}
	perEmail := map[string]int{}
	for key := range rels {
		perEmail[strings.SplitN(key, "|", 2)[0]]++
	}
	for _, r := range emails {
		if perEmail[r.ID] != 2 {
			t.Errorf("EmailMessage %s has %d relations, want 2 (alice from, bob to)", r.ID, perEmail[r.ID])
			break
		}
	}
	items = h.items()
	seen := map[string]bool{}
	for _, it := range items {
		c := it.CRM
		if c == nil || c.State != api.CRMLogged || !records[c.RecordID] || seen[c.RecordID] {
			t.Errorf("item %s: CRM %+v, not one record of the emulator's", it.ProviderID, c)
			continue
		}
		seen[c.RecordID] = true
	}
	if len(seen) != 303 {
		t.Errorf("activity names %d records, want 303", len(seen))
	}
	if out := h.ok("activity", "--limit", "3"); !strings.Contains(out, "SALESFORCE") || !strings.Contains(out, "logged ") {
		t.Errorf("activity text:\n%s", out)
	}
	if out := h.ok("status"); !strings.Contains(out, "Salesforce: connected") || !strings.Contains(out, "303 logged") {
		t.Errorf("status text:\n%s", out)
	}

	// Settings through the agent, checked.
	if _, errOut, code := h.run("", "crm", "settings", "--log-email-as", "fax"); code != 1 || !strings.Contains(errOut, "email") {
		t.Errorf("crm settings --log-email-as fax: exit %d %q", code, errOut)
	}
	if out := h.ok("crm", "settings", "--internal-domains", "partner.example", "--remove-deleted-events", "on"); !strings.Contains(out, "partner.example") || !strings.Contains(out, "remove deleted events:  on") {
		t.Errorf("crm settings:\n%s", out)
	}

	// The refresh token is in the keyring and nowhere under the home;
	// disconnecting deletes it.
	grant, err := keyring.Get("inboxsync", "crm:salesforce/oauth-token")
	if err != nil {
		t.Fatalf("keyring: %v", err)
	}
	var g struct {
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal([]byte(grant), &g)
	if g.RefreshToken == "" {
		t.Fatalf("no refresh token in the keyring's grant")
	}
	filepath.Walk(h.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(g.RefreshToken)) {
				t.Errorf("the refresh token is written in %s", p)
			}
		}
		return nil
	})
	h.ok("crm", "disconnect")
	if _, err := keyring.Get("inboxsync", "crm:salesforce/oauth-token"); err == nil {
		t.Error("the Salesforce sign-in is still in the keyring after disconnect")
	}
	if st := h.crmStatus(); st.State != api.ConnNotConnected {
		t.Errorf("after disconnect: %+v", st)
	}
}

// TestCRMSettingsRulesEndToEnd: `crm settings` with the CRM rules' flags
// through the real binary and agent, under a policy that locks threads:
// the defaults shown, a change kept across a restart, the locked rule
// and bad values refused in words, `policy show` naming every rule key.
func TestCRMSettingsRulesEndToEnd(t *testing.T) {
	h := newHome(t)
	policyDoc := "locked = [\"salesforce.threads\"]\n[salesforce]\nthreads = false\n"
	if err := os.WriteFile(filepath.Join(h.dir, "policy.toml"), []byte(policyDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	h.startAgent()
	out := h.ok("crm", "settings")
	for _, want := range []string{"automatic logging:      on\n", "keep out:               Private, Don't log (and items marked Private or Confidential)\n",
		"log by hand:            Salesforce\n", "whole threads:          off  (Set by your administrator)\n",
		"opportunities:          single-open", "create Leads:           off\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("crm settings lacks %q:\n%s", want, out)
		}
	}

	h.ok("crm", "settings", "--auto", "off", "--keep-out", "Private, HR", "--log-category", "CRM,Salesforce", "--opportunity", "most-recent", "--create-leads", "on")
	h.stopAgent()
	h.startAgent()
	var s api.CRMSettings
	if err := json.Unmarshal([]byte(h.ok("crm", "settings", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Auto || s.Threads || !s.CreateLeads || s.Opportunity != api.OppMostRecent || strings.Join(s.KeepOut, "|") != "Private|HR" || strings.Join(s.LogByHand, "|") != "CRM|Salesforce" {
		t.Errorf("after a restart: %+v", s)
	}
	if err := json.Unmarshal([]byte(h.ok("crm", "settings", "--log-category", "default", "--keep-out", "", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.LogByHand, "|") != "Salesforce" || s.KeepOut == nil || len(s.KeepOut) != 0 {
		t.Errorf("--log-category default --keep-out \"\": %+v", s)
	}

	for _, c := range []struct {
		args  []string
		code  int
		words string
	}{
		{[]string{"--threads", "on"}, 1, "Set by your administrator: logging whole threads (off) cannot be changed"},
		{[]string{"--opportunity", "newest"}, 1, "choose off, single-open"},
		{[]string{"--log-category", "Sales,"}, 0, ""},
		{[]string{"--keep-out", strings.Repeat("x", 256)}, 1, "longer than 255 characters"},
		{[]string{"--auto", "maybe"}, 2, "--auto takes on or off"},
	} {
		_, errOut, code := h.run("", append([]string{"crm", "settings"}, c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.words) {
			t.Errorf("crm settings %q: exit %d %q, want %d saying %q", c.args, code, errOut, c.code, c.words)
		}
	}

	pol := h.ok("policy", "show")
	for _, want := range []string{"salesforce.threads", "salesforce.auto_log", "salesforce.keep_out_categories", "salesforce.log_categories",
		"salesforce.opportunity", "salesforce.create_leads"} {
		if !strings.Contains(pol, want) {
			t.Errorf("policy show lacks %s:\n%s", want, pol)
		}
	}
	for _, line := range strings.Split(pol, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		switch f[0] {
		case "salesforce.threads":
			if f[1] != "false" || f[2] != "locked" {
				t.Errorf("policy show: %q", line)
			}
		case "salesforce.auto_log":
			if f[1] != "false" || f[2] != "user" {
				t.Errorf("policy show: %q", line)
			}
		case "salesforce.create_leads":
			if f[1] != "true" || f[2] != "user" {
				t.Errorf("policy show: %q", line)
			}
		}
	}
	_, help, _ := h.run("", "crm", "settings", "--help")
	for _, want := range []string{"--keep-out", "--log-category", "--create-leads", "never reach Salesforce", "exactly one"} {
		if !strings.Contains(help, want) {
			t.Errorf("crm settings --help lacks %q", want)
		}
	}
}
