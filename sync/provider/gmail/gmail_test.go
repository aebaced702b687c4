package gmail_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/gmail"
	"github.com/inboxsync/inboxsync/sync/provider/gmail/gmailtest"
	"github.com/inboxsync/inboxsync/sync/provider/providertest"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
)

const clientSecret = "GOCSPX-emulated-secret"

// env is the Google emulator and a connector wired to it.
type env struct {
	g    *gmailtest.Server
	conn *gmail.Connector
	mem  *secrettest.Memory
}

func newEnv(t *testing.T) *env {
	g := gmailtest.New(t)
	g.ClientSecret = clientSecret
	c := &gmail.Connector{HTTPClient: g.Client(), OpenBrowser: g.Browser().Open, Quota: -1}
	return &env{g: g, conn: c, mem: secrettest.NewMemory()}
}

func (e *env) settings() map[string]string {
	return map[string]string{
		"client_id": gmailtest.DefaultClientID, "client_secret": clientSecret,
		"auth_url": e.g.AuthURL(), "token_url": e.g.TokenURL(),
		"gmail_endpoint": e.g.GmailEndpoint(), "calendar_endpoint": e.g.CalendarEndpoint(),
	}
}

// connect signs in and stores the account's secrets.
func (e *env) connect(t *testing.T) provider.Account {
	t.Helper()
	conn, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "gmail", Account: "mail", Settings: e.settings()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.Account.ID = "mail"
	for k, v := range conn.Secrets {
		e.mem.Set("mail", k, v)
	}
	return conn.Account
}

func (e *env) open(t *testing.T, pageSize int) *gmail.Provider {
	t.Helper()
	acct := e.connect(t)
	e.conn.PageSize = pageSize
	p, err := e.conn.Open(context.Background(), acct, e.mem)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.(*gmail.Provider)
}

var labels = map[api.Folder][]string{
	api.Inbox: {gmailtest.Inbox, "UNREAD", "CATEGORY_PERSONAL"},
	api.Sent:  {gmailtest.Sent},
}

type harness struct{ batch int }

type mailbox struct {
	e     *env
	label map[string]string
}

func (m *mailbox) Add(t *testing.T, f api.Folder, n int, at time.Time) []string {
	ids := m.e.g.Add(labels[f], n, at)
	for _, id := range ids {
		m.label[id] = labels[f][0]
	}
	return ids
}

// Update takes the message out of its folder and puts it back: a Gmail
// message changes only in its labels, and only its folder's label matters.
func (m *mailbox) Update(t *testing.T, id string) {
	m.e.g.RemoveLabel(id, m.label[id])
	m.e.g.AddLabel(id, m.label[id])
}
func (m *mailbox) Delete(t *testing.T, id string) { m.e.g.Delete(id) }
func (m *mailbox) InvalidateCursors(t *testing.T) {
	m.e.g.ExpireHistory()
	m.e.g.InvalidateSyncTokens()
}
func (m *mailbox) ChangePassword(t *testing.T) { m.e.g.Revoke() }
func (m *mailbox) ThrottleNext(t *testing.T, d time.Duration) {
	m.e.g.Throttle(http.StatusTooManyRequests, "rateLimitExceeded", d)
}

func (h harness) Open(t *testing.T, pageSize int) (provider.Provider, providertest.Mailbox) {
	e := newEnv(t)
	e.conn.Batch = h.batch
	return e.open(t, pageSize), &mailbox{e: e, label: map[string]string{}}
}

func TestGmailConformance(t *testing.T) { providertest.Run(t, harness{}) }

// TestGmailConformanceBatch runs the suite with messages read through the
// batch endpoint, three a request.
func TestGmailConformanceBatch(t *testing.T) { providertest.Run(t, harness{batch: 3}) }

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func opts() provider.Options { return provider.Options{Now: now, Since: now.AddDate(0, 0, -30)} }

func drain(t *testing.T, p provider.Provider, f api.Folder, cur string, o provider.Options) ([]provider.Change, string) {
	t.Helper()
	var all []provider.Change
	for range 1000 {
		pg, err := p.Changes(context.Background(), f, cur, o)
		if err != nil {
			t.Fatalf("Changes(%s): %v", f, err)
		}
		all = append(all, pg.Changes...)
		cur = pg.Cursor
		if !pg.More {
			return all, cur
		}
	}
	t.Fatal("never finished")
	return nil, ""
}

// byID returns the last change of each id.
func byID(chs []provider.Change) map[string]provider.Change {
	m := map[string]provider.Change{}
	for _, c := range chs {
		m[c.Item.ProviderID] = c
	}
	return m
}

func TestGmailConnect(t *testing.T) {
	e := newEnv(t)
	var prompts []api.ActivationProgress
	conn, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "gmail", Email: "ann@example.test", Settings: e.settings()}, func(p api.ActivationProgress) {
		prompts = append(prompts, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if conn.Account.Email != "ann@example.test" || conn.Account.Login != "ann@example.test" {
		t.Errorf("account %+v", conn.Account)
	}
	want := map[string]string{"client_id": gmailtest.DefaultClientID, "auth_url": e.g.AuthURL(), "token_url": e.g.TokenURL(),
		"gmail_endpoint": e.g.GmailEndpoint(), "calendar_endpoint": e.g.CalendarEndpoint()}
	if len(conn.Account.Settings) != len(want) {
		t.Errorf("settings %v", conn.Account.Settings)
	}
	for k, v := range want {
		if conn.Account.Settings[k] != v {
			t.Errorf("setting %s = %q, want %q", k, conn.Account.Settings[k], v)
		}
	}
	for k, v := range conn.Account.Settings {
		if strings.Contains(v, clientSecret) {
			t.Errorf("setting %s holds the client secret", k)
		}
	}
	g, err := auth.DecodeGrant(conn.Secrets[secret.KeyToken])
	if err != nil || !e.g.ValidRefresh(g.RefreshToken) || g.ClientSecret != clientSecret || g.Issued.IsZero() {
		t.Fatalf("grant %v (secret kept %v, issued %v)", err, g.ClientSecret == clientSecret, g.Issued)
	}
	if auth.MissingScopes(g.Scope, gmail.Scopes) != nil {
		t.Errorf("grant scope %q", g.Scope)
	}
	if len(prompts) != 1 || prompts[0].Message != auth.MsgBrowser || !strings.HasPrefix(prompts[0].URL, e.g.AuthURL()+"?") {
		t.Fatalf("prompts %+v", prompts)
	}
	q := e.g.LastAuthorize()
	ru, _ := url.Parse(q.Get("redirect_uri"))
	checks := map[string]bool{
		"scope":          q.Get("scope") == gmail.ScopeGmailMetadata+" "+gmail.ScopeCalendarEvents,
		"access_type":    q.Get("access_type") == "offline",
		"prompt":         q.Get("prompt") == "consent",
		"pkce":           q.Get("code_challenge_method") == "S256",
		"state":          len(q.Get("state")) >= 22,
		"redirect":       ru != nil && ru.Scheme == "http" && ru.Hostname() == "127.0.0.1" && ru.Port() != "" && ru.Path == "/",
		"login_hint":     q.Get("login_hint") == "ann@example.test",
		"no secret":      !q.Has("client_secret"),
		"no mode":        !q.Has("response_mode"),
		"secret sent":    e.g.LastTokenForm().Get("client_secret") == clientSecret,
		"no token scope": !e.g.LastTokenForm().Has("scope"),
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: authorize %v", name, q)
		}
	}
}

func TestGmailConnectPartialConsent(t *testing.T) {
	cases := []struct {
		name    string
		granted []string
		words   string
	}{
		{"gmail unticked", []string{gmailtest.ScopeCalendarEvents}, "email message metadata"},
		{"calendar unticked", []string{gmailtest.ScopeGmailMetadata}, "View events on all your calendars"},
		{"both unticked", []string{}, "email message metadata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.g.Grant = tc.granted
			_, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "gmail", Settings: e.settings()}, nil)
			r := provider.Reason(err)
			if err == nil || !strings.Contains(r, tc.words) || !strings.Contains(r, "needs") || !strings.Contains(r, "sign in again") {
				t.Fatalf("error %v (reason %q)", err, r)
			}
		})
	}
}

func TestGmailConnectFailures(t *testing.T) {
	cases := []struct {
		name  string
		setup func(e *env, s map[string]string)
		words string
	}{
		{"wrong client secret", func(e *env, s map[string]string) { s["client_secret"] = "GOCSPX-wrong" }, "client ID or client secret"},
		{"no client secret", func(e *env, s map[string]string) { delete(s, "client_secret") }, ""},
		{"declined", func(e *env, s map[string]string) { e.g.DenyNextAuthorize("access_denied") }, "declined"},
		{"admin policy", func(e *env, s map[string]string) { e.g.DenyNextAuthorize("admin_policy_enforced") }, "administrator"},
		{"no client id", func(e *env, s map[string]string) { delete(s, "client_id") }, "--client-id"},
		{"Gmail API disabled", func(e *env, s map[string]string) { e.g.FailNext("/profile", 403, "accessNotConfigured") }, "Gmail API is not enabled"},
		{"Calendar API disabled", func(e *env, s map[string]string) { e.g.FailNext("/events", 403, "accessNotConfigured") }, "Google Calendar API is not enabled"},
		{"http endpoint", func(e *env, s map[string]string) { s["gmail_endpoint"] = "http://gmail.example.test/gmail/v1" }, "https"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			s := e.settings()
			tc.setup(e, s)
			_, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "gmail", Settings: s}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("error %v, want one with %q", err, tc.words)
			}
			if strings.Contains(err.Error(), clientSecret) || strings.Contains(err.Error(), "GOCSPX-wrong") {
				t.Errorf("error shows the client secret: %v", err)
			}
		})
	}
}

func TestGmailConnectSecretFromDefaults(t *testing.T) {
	e := newEnv(t)
	s := e.settings()
	delete(s, "client_secret")
	delete(s, "client_id")
	e.conn.Defaults = func() (map[string]string, error) {
		return map[string]string{"client_id": gmailtest.DefaultClientID, "client_secret": clientSecret}, nil
	}
	conn, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "gmail", Settings: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := conn.Account.Settings["client_secret"]; ok {
		t.Error("client secret kept in the settings")
	}
}

func TestGmailSettings(t *testing.T) {
	def := gmail.Settings{ClientID: "abc.apps.googleusercontent.com", AuthURL: gmail.DefaultAuthURL, TokenURL: gmail.DefaultTokenURL,
		GmailEndpoint: gmail.DefaultGmailEndpoint, CalendarEndpoint: gmail.DefaultCalendarEndpoint}
	withSecret := def
	withSecret.ClientSecret = "GOCSPX-x"
	cases := []struct {
		name     string
		explicit map[string]string
		defaults map[string]string
		err      string
		want     gmail.Settings
	}{
		{name: "no client id", err: "client ID"},
		{name: "defaults", explicit: map[string]string{"client_id": def.ClientID}, want: def},
		{name: "config file", defaults: map[string]string{"client_id": def.ClientID, "client_secret": "GOCSPX-x"}, want: withSecret},
		{name: "flags beat the config file", explicit: map[string]string{"client_id": def.ClientID}, defaults: map[string]string{"client_id": "other", "client_secret": "GOCSPX-x"}, want: withSecret},
		{name: "trailing slashes", explicit: map[string]string{"client_id": def.ClientID, "gmail_endpoint": gmail.DefaultGmailEndpoint + "/"}, want: def},
		{name: "bad client id", explicit: map[string]string{"client_id": "a b"}, err: "client ID"},
		{name: "bad secret", explicit: map[string]string{"client_id": "a", "client_secret": "x y"}, err: "client secret"},
		{name: "client id too long", explicit: map[string]string{"client_id": strings.Repeat("a", 201)}, err: "client ID"},
		{name: "secret too long", explicit: map[string]string{"client_id": "a", "client_secret": strings.Repeat("x", 201)}, err: "client secret"},
		{name: "http token url", explicit: map[string]string{"client_id": "a", "token_url": "http://oauth2.example.test/token"}, err: "https"},
		{name: "query in endpoint", explicit: map[string]string{"client_id": "a", "calendar_endpoint": "https://x.test/v3?a=b"}, err: "not a URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := gmail.ResolveSettings(tc.explicit, tc.defaults)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one about %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "x y") {
					t.Errorf("error repeats the secret: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// requests returns the API requests logged since n.
func requests(e *env, n int) []string { return e.g.Log()[n:] }

func TestGmailRequestShape(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 25)
	e.g.Add(labels[api.Inbox], 3, now.Add(-time.Hour))
	n := len(e.g.Log()) // Connect read the profile
	_, cur := drain(t, p, api.Inbox, "", opts())
	log := requests(e, n)
	if len(log) != 5 || !strings.HasPrefix(log[0], "/gmail/v1/users/me/profile") {
		t.Fatalf("first sync requests %q", log)
	}
	list, _ := url.Parse(log[1])
	if list.Path != "/gmail/v1/users/me/messages" || list.Query().Get("labelIds") != "INBOX" || list.Query().Has("q") || list.Query().Get("maxResults") != "25" {
		t.Errorf("list %q", log[1])
	}
	get, _ := url.Parse(log[2])
	if q := get.Query(); q.Get("format") != "metadata" || !slices.Equal(q["metadataHeaders"], []string{"Subject", "From", "To", "Cc", "Date", "Message-ID"}) {
		t.Errorf("get %q", log[2])
	}
	n = len(e.g.Log())
	drain(t, p, api.Inbox, cur, opts())
	log = requests(e, n)
	h, _ := url.Parse(log[0])
	if len(log) != 1 || h.Path != "/gmail/v1/users/me/history" || !slices.Equal(h.Query()["historyTypes"], []string{"messageAdded", "messageDeleted", "labelAdded", "labelRemoved"}) || h.Query().Get("startHistoryId") == "" {
		t.Errorf("no-change sync %q", log)
	}

	n = len(e.g.Log())
	_, cur = drain(t, p, api.Calendar, "", opts())
	ev, _ := url.Parse(requests(e, n)[0])
	if q := ev.Query(); ev.Path != "/calendar/v3/calendars/primary/events" || q.Get("singleEvents") != "true" || q.Get("showDeleted") != "true" ||
		q.Get("timeMin") != "2026-11-06T00:00:00Z" || q.Get("timeMax") != "2027-01-20T00:00:00Z" || q.Has("syncToken") {
		t.Errorf("calendar listing %q", ev)
	}
	n = len(e.g.Log())
	drain(t, p, api.Calendar, cur, opts())
	ev, _ = url.Parse(requests(e, n)[0])
	if q := ev.Query(); !q.Has("syncToken") || q.Has("timeMin") || q.Has("timeMax") {
		t.Errorf("calendar incremental %q", ev)
	}
}

func TestGmailMailFields(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	at := now.Add(-time.Hour).Add(123 * time.Millisecond)
	ids := e.g.Add(labels[api.Inbox], 3, at)
	ch, _ := drain(t, p, api.Inbox, "", opts())
	if len(ch) != 3 {
		t.Fatalf("%d changes", len(ch))
	}
	got := byID(ch)
	it := got[ids[2]].Item
	if it.ProviderID != ids[2] || it.Folder != api.Inbox || it.Kind != api.KindMail || it.Subject != "Quarterly review 3" ||
		!strings.HasPrefix(it.MessageID, "<CAF3.") || it.ConversationID != ids[1] || it.From != "megan3@example.test" ||
		!slices.Equal(it.To, []string{"ann@example.test"}) || !slices.Equal(it.Cc, []string{"alex@fabrikam.test", "lee@fabrikam.test"}) ||
		!it.Time.Equal(at) || !strings.Contains(it.Preview, "figures for week 3 & the plan") {
		t.Fatalf("item %+v", it)
	}
	if got[ids[0]].Item.ConversationID != ids[0] {
		t.Errorf("thread of the first message %q", got[ids[0]].Item.ConversationID)
	}

	e2 := newEnv(t)
	e2.g.NoSnippet = true
	p2 := e2.open(t, 10)
	e2.g.Add(labels[api.Sent], 1, now.Add(-time.Hour))
	ch, _ = drain(t, p2, api.Sent, "", opts())
	if len(ch) != 1 || ch[0].Item.Preview != "" || ch[0].Item.From != "ann@example.test" || ch[0].Item.Folder != api.Sent {
		t.Fatalf("sent item without snippet %+v", ch)
	}
}

// TestGmailMailboxChanges walks the changes the issue lists: new mail,
// mail moved out of the Inbox, deleted mail, mail sent to oneself.
func TestGmailMailboxChanges(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 4)
	in := e.g.Add(labels[api.Inbox], 6, now.Add(-2*time.Hour))
	sent := e.g.Add(labels[api.Sent], 2, now.Add(-2*time.Hour))
	_, inCur := drain(t, p, api.Inbox, "", opts())
	_, sentCur := drain(t, p, api.Sent, "", opts())

	added := e.g.Add(labels[api.Inbox], 2, now.Add(-time.Minute))
	e.g.RemoveLabel(in[0], gmailtest.Inbox) // archived
	e.g.Delete(in[1])
	self := e.g.SendToSelf(now.Add(-time.Minute))
	e.g.Delete(sent[0])
	e.g.AddLabel(in[2], "STARRED") // a label change that does not matter
	back := e.g.Add([]string{"CATEGORY_PROMOTIONS"}, 1, now.Add(-time.Minute))[0]
	e.g.AddLabel(back, gmailtest.Inbox) // moved into the Inbox
	gone := e.g.Add(labels[api.Inbox], 1, now.Add(-time.Minute))[0]
	e.g.Delete(gone) // came and went between two syncs
	e.g.Trash(in[3])
	e.g.Trash(in[4])
	e.g.Untrash(in[4]) // trashed and restored

	var inCh, sentCh []provider.Change
	inCh, inCur = drain(t, p, api.Inbox, inCur, opts())
	sentCh, sentCur = drain(t, p, api.Sent, sentCur, opts())
	inbox, sentBox := byID(inCh), byID(sentCh)
	expect := func(box map[string]provider.Change, f api.Folder, id string, deleted bool) {
		t.Helper()
		c, ok := box[id]
		if !ok || c.Deleted != deleted || c.Item.Folder != f {
			t.Errorf("%s %s: got %+v (present %v), want deleted=%v", f, id, c, ok, deleted)
		}
	}
	for _, id := range added {
		expect(inbox, api.Inbox, id, false)
	}
	expect(inbox, api.Inbox, in[0], true)
	expect(inbox, api.Inbox, in[1], true)
	expect(inbox, api.Inbox, self, false)
	if _, ok := inbox[in[2]]; ok {
		t.Errorf("starring %s was reported", in[2])
	}
	expect(inbox, api.Inbox, back, false)
	expect(inbox, api.Inbox, gone, true)
	expect(inbox, api.Inbox, in[3], true)
	expect(inbox, api.Inbox, in[4], false)
	expect(sentBox, api.Sent, self, false)
	expect(sentBox, api.Sent, sent[0], true)
	for _, id := range []string{in[0], in[1], in[2], back, sent[1]} {
		if _, ok := sentBox[id]; ok {
			t.Errorf("Sent reported %s, which never was in Sent", id)
		}
	}
	if _, ok := inbox[sent[1]]; ok {
		t.Errorf("Inbox reported the untouched sent message")
	}

	// The message sent to oneself leaves the Inbox: it is deleted there,
	// and only there.
	e.g.RemoveLabel(self, gmailtest.Inbox)
	inCh, _ = drain(t, p, api.Inbox, inCur, opts())
	sentCh, _ = drain(t, p, api.Sent, sentCur, opts())
	if c := byID(inCh)[self]; !c.Deleted || c.Item.Folder != api.Inbox {
		t.Errorf("Inbox after archiving the self-sent message: %+v", inCh)
	}
	if len(sentCh) != 0 {
		t.Errorf("Sent changed when the Inbox copy was archived: %+v", sentCh)
	}
}

func TestGmailHistoryExpired(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	ids := e.g.Add(labels[api.Inbox], 3, now.Add(-time.Hour))
	_, cur := drain(t, p, api.Inbox, "", opts())
	e.g.ExpireHistory()
	_, err := p.Changes(context.Background(), api.Inbox, cur, opts())
	if provider.Classify(err) != provider.ClassCursorInvalid {
		t.Fatalf("expired history: %v", err)
	}
	e.g.Delete(ids[0])
	ch, cur := drain(t, p, api.Inbox, "", opts())
	if len(ch) != 2 {
		t.Fatalf("resync delivered %d", len(ch))
	}
	// The resync's history id is after the expiry: increments work again.
	e.g.Delete(ids[1])
	ch, _ = drain(t, p, api.Inbox, cur, opts())
	if c := byID(ch)[ids[1]]; len(ch) != 1 || !c.Deleted {
		t.Fatalf("after resync: %+v", ch)
	}
}

func TestGmailHistoryWindowStopsListing(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	e.g.Add(labels[api.Inbox], 200, now.AddDate(0, 0, -100)) // 20 pages beyond the window
	recent := e.g.Add(labels[api.Inbox], 15, now.Add(-time.Hour))
	ch, _ := drain(t, p, api.Inbox, "", opts())
	if len(ch) != len(recent) {
		t.Fatalf("%d changes, want %d", len(ch), len(recent))
	}
	lists := 0
	for _, r := range e.g.Log() {
		if strings.HasPrefix(r, "/gmail/v1/users/me/messages?") {
			lists++
		}
	}
	// Page 1: 10 recent; page 2: 5 recent + 5 old; page 3: all old, stop.
	if lists != 3 {
		t.Fatalf("%d list pages read, want 3", lists)
	}
}

func TestGmailCalendar(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	in := e.g.AddEvent(3, now.AddDate(0, 0, 3))
	allDay := e.g.AddAllDayEvent(now.AddDate(0, 0, 5), 2)
	far := e.g.AddEvent(1, now.AddDate(0, 0, 70))[0]
	old := e.g.AddEvent(1, now.AddDate(0, 0, -20))[0]
	ch, cur := drain(t, p, api.Calendar, "", opts())
	got := byID(ch)
	if len(got) != 4 {
		t.Fatalf("first window: %+v", ch)
	}
	it := got[in[0]].Item
	if it.Kind != api.KindEvent || it.Folder != api.Calendar || !it.Start.Equal(now.AddDate(0, 0, 3)) || !it.End.Equal(now.AddDate(0, 0, 3).Add(time.Hour)) ||
		it.Location != "Room 4" || it.Organizer != "megan@example.test" || !slices.Equal(it.Attendees, []string{"ann@example.test", "alex@fabrikam.test"}) ||
		it.ConversationID != in[0]+"@google.com" || it.Subject == "" || it.Preview != "Agenda: - numbers - plans" {
		t.Fatalf("event %+v", it)
	}
	ad := got[allDay].Item
	if !ad.Start.Equal(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)) || !ad.End.Equal(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("all-day event %v – %v", ad.Start, ad.End)
	}
	if _, ok := got[far]; ok {
		t.Error("event 70 days ahead delivered")
	}
	if _, ok := got[old]; ok {
		t.Error("event 20 days back delivered")
	}

	e.g.ChangeEvent(in[0])
	e.g.CancelEvent(in[1])
	e.g.MoveEvent(in[2], now.AddDate(0, 0, 80)) // out of the window
	e.g.ChangeEvent(far)                        // changed, still out of the window
	ch, cur = drain(t, p, api.Calendar, cur, opts())
	got = byID(ch)
	if c := got[in[0]]; c.Deleted || !strings.Contains(c.Item.Subject, "rev 1") {
		t.Errorf("changed event %+v", c)
	}
	if c := got[in[1]]; !c.Deleted {
		t.Errorf("cancelled event %+v", c)
	}
	if c := got[in[2]]; !c.Deleted {
		t.Errorf("event moved out of the window %+v", c)
	}
	if c, ok := got[far]; ok && !c.Deleted {
		t.Errorf("event outside the window delivered %+v", c)
	}
	if _, ok := got[allDay]; ok {
		t.Error("unchanged event delivered")
	}

	// Eleven days later the window reaches the event 70 days out.
	later := opts()
	later.Now = now.AddDate(0, 0, 11)
	ch, cur = drain(t, p, api.Calendar, cur, later)
	if c, ok := byID(ch)[far]; !ok || c.Deleted {
		t.Errorf("moved window: %+v", ch)
	}
	// Expired sync token: 410 → cursor invalid.
	e.g.InvalidateSyncTokens()
	if _, err := p.Changes(context.Background(), api.Calendar, cur, later); provider.Classify(err) != provider.ClassCursorInvalid {
		t.Fatalf("expired sync token: %v", err)
	}
}

func TestGmailCalendarPages(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	ids := e.g.AddEvent(600, now.AddDate(0, 0, 1)) // three pages of 250
	ch, cur := drain(t, p, api.Calendar, "", opts())
	if len(byID(ch)) != len(ids) {
		t.Fatalf("%d events", len(byID(ch)))
	}
	for _, id := range ids[:300] {
		e.g.ChangeEvent(id)
	}
	ch, _ = drain(t, p, api.Calendar, cur, opts())
	if len(ch) != 300 {
		t.Fatalf("%d changed events, want 300", len(ch))
	}
}

func TestGmailErrorClasses(t *testing.T) {
	cases := []struct {
		name   string
		folder api.Folder
		inject func(e *env)
		class  provider.Class
		retry  time.Duration
		words  string
	}{
		{"429 with Retry-After", api.Inbox, func(e *env) { e.g.Throttle(429, "rateLimitExceeded", 7*time.Second) }, provider.ClassThrottled, 7 * time.Second, ""},
		{"429 without Retry-After", api.Inbox, func(e *env) { e.g.Throttle(429, "rateLimitExceeded", 0) }, provider.ClassThrottled, 30 * time.Second, ""},
		{"403 rateLimitExceeded", api.Inbox, func(e *env) { e.g.Throttle(403, "rateLimitExceeded", 0) }, provider.ClassThrottled, 30 * time.Second, ""},
		{"403 userRateLimitExceeded", api.Sent, func(e *env) { e.g.Throttle(403, "userRateLimitExceeded", 12*time.Second) }, provider.ClassThrottled, 12 * time.Second, ""},
		{"calendar 403 rateLimitExceeded", api.Calendar, func(e *env) { e.g.Throttle(403, "rateLimitExceeded", 0) }, provider.ClassThrottled, 30 * time.Second, ""},
		{"503", api.Inbox, func(e *env) { e.g.FailNext("", 503, "backendError") }, provider.ClassThrottled, 30 * time.Second, ""},
		{"500 backendError", api.Inbox, func(e *env) { e.g.FailNext("", 500, "backendError") }, provider.ClassOffline, 0, ""},
		{"502", api.Calendar, func(e *env) { e.g.FailNext("", 502, "badGateway") }, provider.ClassOffline, 0, ""},
		{"revoked grant", api.Inbox, func(e *env) { e.g.Revoke() }, provider.ClassGrantGone, 0, "sign in with Google again"},
		{"gmail permission missing", api.Inbox, func(e *env) { e.g.FailNext("/history", 403, "insufficientPermissions") }, provider.ClassGrantGone, 0, "email message metadata"},
		{"calendar permission missing", api.Calendar, func(e *env) { e.g.FailNext("/events", 403, "insufficientPermissions") }, provider.ClassGrantGone, 0, "View events on all your calendars"},
		{"API not enabled", api.Inbox, func(e *env) { e.g.FailNext("", 403, "accessNotConfigured") }, provider.ClassFailed, 0, "Gmail API is not enabled"},
		{"history too old", api.Inbox, func(e *env) { e.g.ExpireHistory() }, provider.ClassCursorInvalid, 0, ""},
		{"sync token gone", api.Calendar, func(e *env) { e.g.InvalidateSyncTokens() }, provider.ClassCursorInvalid, 0, ""},
		{"other 400", api.Inbox, func(e *env) { e.g.FailNext("", 400, "invalidArgument") }, provider.ClassFailed, 0, "Gmail answered with an error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.open(t, 10)
			e.g.Add(labels[api.Inbox], 2, now.Add(-time.Hour))
			e.g.AddEvent(1, now)
			_, cur := drain(t, p, tc.folder, "", opts())
			tc.inject(e)
			_, err := p.Changes(context.Background(), tc.folder, cur, opts())
			if err == nil || provider.Classify(err) != tc.class {
				t.Fatalf("got %v (class %v), want class %v", err, provider.Classify(err), tc.class)
			}
			if d := provider.RetryAfter(err); d != tc.retry {
				t.Errorf("RetryAfter %v, want %v", d, tc.retry)
			}
			if !strings.Contains(provider.Reason(err), tc.words) {
				t.Errorf("reason %q, want %q", provider.Reason(err), tc.words)
			}
		})
	}
}

func TestGmailBackoffDoubles(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	_, cur := drain(t, p, api.Inbox, "", opts())
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}
	for _, w := range want {
		e.g.Throttle(429, "rateLimitExceeded", 0)
		_, err := p.Changes(context.Background(), api.Inbox, cur, opts())
		if d := provider.RetryAfter(err); d != w {
			t.Fatalf("backoff %v, want %v", d, w)
		}
	}
	if _, err := p.Changes(context.Background(), api.Inbox, cur, opts()); err != nil {
		t.Fatal(err)
	}
	e.g.Throttle(429, "rateLimitExceeded", 0)
	if _, err := p.Changes(context.Background(), api.Inbox, cur, opts()); provider.RetryAfter(err) != 30*time.Second {
		t.Fatalf("a success did not reset the backoff: %v", err)
	}
}

func TestGmailExpiredAccessIsRenewedOnce(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	_, cur := drain(t, p, api.Inbox, "", opts())
	before := e.g.Refreshes()
	e.g.ExpireAccess()
	if _, err := p.Changes(context.Background(), api.Inbox, cur, opts()); err != nil {
		t.Fatal(err)
	}
	if e.g.Refreshes() != before+1 {
		t.Fatalf("%d refreshes after a 401, want 1", e.g.Refreshes()-before)
	}
}

func TestGmailOffline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p, err := gmail.New(gmail.Options{GmailEndpoint: "http://" + addr + "/gmail/v1", CalendarEndpoint: "http://" + addr + "/calendar/v3", Tokens: fixedToken{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []api.Folder{api.Inbox, api.Calendar} {
		if _, err := p.Changes(context.Background(), f, "", opts()); provider.Classify(err) != provider.ClassOffline {
			t.Errorf("%s with nothing listening: %v", f, err)
		}
	}
}

type fixedToken struct{}

func (fixedToken) Token(context.Context) (string, error) { return "t", nil }
func (fixedToken) Invalidate(string)                     {}

func TestGmailInvalidGrantWords(t *testing.T) {
	cases := []struct {
		name   string
		issued time.Duration // before now; 0: unknown
		words  []string
	}{
		{"testing status expiry", 8 * 24 * time.Hour, []string{"8 days ago", "7 days", "Testing", "publish"}},
		{"exactly a week", 7 * 24 * time.Hour, []string{"7 days ago", "Testing"}},
		{"revoked early", 24 * time.Hour, []string{"revoked or your password changed"}},
		{"age unknown", 0, []string{"revoked", "Testing", "7 days"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			acct := e.connect(t)
			v, _ := e.mem.Get("mail", secret.KeyToken)
			g, _ := auth.DecodeGrant(v)
			g.Issued = time.Time{}
			if tc.issued > 0 {
				g.Issued = time.Now().Add(-tc.issued)
			}
			e.mem.Set("mail", secret.KeyToken, g.Encode())
			e.g.Revoke()
			p, err := e.conn.Open(context.Background(), acct, e.mem)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Changes(context.Background(), api.Inbox, "", opts())
			if provider.Classify(err) != provider.ClassGrantGone {
				t.Fatalf("%v", err)
			}
			for _, w := range tc.words {
				if !strings.Contains(provider.Reason(err), w) {
					t.Errorf("reason %q lacks %q", provider.Reason(err), w)
				}
			}
		})
	}
}

func TestGmailRotationPersistedAcrossSessions(t *testing.T) {
	e := newEnv(t)
	e.g.Rotate = true
	acct := e.connect(t)
	for i := range 3 {
		p, err := e.conn.Open(context.Background(), acct, e.mem)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Changes(context.Background(), api.Inbox, "", opts()); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		p.Close()
	}
	v, _ := e.mem.Get("mail", secret.KeyToken)
	g, err := auth.DecodeGrant(v)
	if err != nil || !e.g.ValidRefresh(g.RefreshToken) || g.ClientSecret != clientSecret {
		t.Fatalf("stored grant after rotations: %v", err)
	}
	if e.g.Refreshes() != 3 {
		t.Fatalf("%d refreshes", e.g.Refreshes())
	}
}

func TestGmailAtMostFourInFlight(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 50)
	e.g.Add(labels[api.Inbox], 40, now.Add(-time.Hour))
	e.g.SetDelay(20 * time.Millisecond)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Changes(context.Background(), api.Inbox, "", opts())
		}()
	}
	wg.Wait()
	if m := e.g.MaxInFlight(); m > gmail.MaxInFlight || m < 2 {
		t.Fatalf("max in flight %d", m)
	}
}

func TestGmailQuotaPacing(t *testing.T) {
	e := newEnv(t)
	acct := e.connect(t)
	e.conn.Quota = 100 // units a second: a burst of 100, then 100 a second
	p, err := e.conn.Open(context.Background(), acct, e.mem)
	if err != nil {
		t.Fatal(err)
	}
	e.g.Add(labels[api.Inbox], 30, now.Add(-time.Hour))
	start := time.Now()
	drain(t, p, api.Inbox, "", opts()) // 1 + 5 + 30×5 = 156 units
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("156 units at 100/s (burst 100) took %v", d)
	}
}

func TestGmailBadCursors(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	for f, bad := range map[api.Folder][]string{
		api.Inbox:    {"junk", `{"v":2,"h":"5"}`, `{"v":1}`, `{"v":1,"h":"x"}`, `{"v":1,"h":"5","win":"2026-01-01"}`},
		api.Calendar: {"junk", `{"v":1,"win":"2026-01-01"}`, `{"v":1,"sync":"x"}`, `{"v":1,"h":"5"}`},
	} {
		for _, c := range bad {
			if _, err := p.Changes(context.Background(), f, c, opts()); provider.Classify(err) != provider.ClassCursorInvalid {
				t.Errorf("%s cursor %q: %v", f, c, err)
			}
		}
	}
}

// TestEmulatorRefusals checks the emulator refuses what Google refuses, so
// that the provider's tests mean something.
func TestEmulatorRefusals(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10) // a live access token
	_ = p
	ids := e.g.Add(labels[api.Inbox], 1, now)
	tok := accessToken(t, e)
	c := e.g.Client()
	cases := []struct {
		path   string
		status int
		words  string
	}{
		{"/gmail/v1/users/me/messages?q=newer_than%3A30d", 403, "Metadata scope does not support 'q' parameter"},
		{"/gmail/v1/users/me/messages/" + ids[0], 403, "doesn't allow format FULL"},
		{"/gmail/v1/users/me/messages/" + ids[0] + "?format=raw", 403, "doesn't allow format RAW"},
		{"/gmail/v1/users/me/history?startHistoryId=1", 404, "notFound"},
		{"/calendar/v3/calendars/primary/events?syncToken=x&timeMin=2026-01-01T00:00:00Z", 400, "Sync token cannot be used with other request restrictions"},
		{"/calendar/v3/calendars/primary/events?syncToken=eyJlIjowfQ", 410, "fullSyncRequired"},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodGet, e.g.URL+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(b.String(), tc.words) {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, b.String())
		}
	}
}

// accessToken signs in against the emulator and returns an access token.
func accessToken(t *testing.T, e *env) string {
	t.Helper()
	s, _ := gmail.ResolveSettings(e.settings(), nil)
	cfg := e.conn.AuthConfig(s, time.Time{})
	v, _ := e.mem.Get("mail", secret.KeyToken)
	g, _ := auth.DecodeGrant(v)
	tok, err := cfg.Refresh(context.Background(), g.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// TestGmailConnectNoBrowser is the CLI's --no-browser path: nothing is
// opened, the link is reported, and the user opens it elsewhere.
func TestGmailConnectNoBrowser(t *testing.T) {
	e := newEnv(t)
	e.conn.OpenBrowser = func(context.Context, string) error {
		t.Error("a browser was opened")
		return nil
	}
	b := e.g.Browser()
	errc := make(chan error, 1)
	conn, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "gmail", Settings: e.settings(), NoBrowser: true}, func(p api.ActivationProgress) {
		go func() { errc <- b.Open(context.Background(), p.URL) }()
	})
	if err != nil || conn.Account.Email != "ann@example.test" {
		t.Fatalf("%+v %v", conn.Account, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if st, page := b.Last(); st != http.StatusOK || !strings.Contains(page, "You can close this tab") {
		t.Errorf("browser page %d %q", st, page)
	}
}

// TestGmailCalendarWindowMoves checks a new day: the changes since the
// last sync first (an event moved out of the window meanwhile is
// deleted), then only the days that entered the window are listed.
func TestGmailCalendarWindowMoves(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	in := e.g.AddEvent(2, now.AddDate(0, 0, 2))
	far := e.g.AddEvent(1, now.AddDate(0, 0, 65))[0]
	_, cur := drain(t, p, api.Calendar, "", opts())

	e.g.MoveEvent(in[0], now.AddDate(0, 0, 200)) // while the laptop was closed
	later := opts()
	later.Now = now.AddDate(0, 0, 10)
	n := len(e.g.Log())
	ch, cur := drain(t, p, api.Calendar, cur, later)
	got := byID(ch)
	if c := got[in[0]]; !c.Deleted {
		t.Errorf("event moved out of the window: %+v", c)
	}
	if c := got[far]; c.Deleted || c.Item.ProviderID != far {
		t.Errorf("event that entered the window: %+v", c)
	}
	if _, ok := got[in[1]]; ok {
		t.Errorf("unchanged event listed again")
	}
	log := requests(e, n)
	if len(log) != 2 {
		t.Fatalf("a new day took %d requests: %q", len(log), log)
	}
	round, _ := url.Parse(log[0])
	fill, _ := url.Parse(log[1])
	if !round.Query().Has("syncToken") || fill.Query().Has("syncToken") ||
		fill.Query().Get("timeMin") != "2027-01-20T00:00:00Z" || fill.Query().Get("timeMax") != "2027-01-30T00:00:00Z" {
		t.Errorf("new day requests %q", log)
	}
	// The same day again: one request with the kept sync token.
	n = len(e.g.Log())
	if ch, _ := drain(t, p, api.Calendar, cur, later); len(ch) != 0 || len(requests(e, n)) != 1 {
		t.Errorf("same day: %d changes, requests %q", len(ch), requests(e, n))
	}

	// Away for longer than the window: the whole new window is listed.
	muchLater := opts()
	muchLater.Now = now.AddDate(0, 0, 200)
	n = len(e.g.Log())
	ch, _ = drain(t, p, api.Calendar, cur, muchLater)
	fill, _ = url.Parse(requests(e, n)[1])
	// The event moved 200 days out is in that window now.
	if c, ok := byID(ch)[in[0]]; fill.Query().Get("timeMin") != "2027-05-25T00:00:00Z" || !ok || c.Deleted {
		t.Errorf("after 200 days: fill %q, changes %+v", fill, ch)
	}
}

func TestGmailBatch(t *testing.T) {
	e := newEnv(t)
	e.conn.Batch = 40
	p := e.open(t, 100)
	ids := e.g.Add(labels[api.Inbox], 100, now.Add(-time.Hour))
	n := e.g.Requests()
	ch, cur := drain(t, p, api.Inbox, "", opts())
	if len(byID(ch)) != 100 || e.g.Batches() != 3 || p.Requests() != 5 { // profile, list, 3 batches of 40+40+20
		t.Fatalf("%d items in %d batches, %d requests", len(byID(ch)), e.g.Batches(), p.Requests())
	}
	if e.g.Requests()-n != 102 { // every call inside a batch counts, as in Google's quota
		t.Errorf("%d calls", e.g.Requests()-n)
	}
	it := byID(ch)[ids[5]].Item
	if it.Subject != "Quarterly review 6" || it.From != "megan6@example.test" || it.Time.IsZero() {
		t.Errorf("item through the batch %+v", it)
	}

	// A part that is gone is skipped; a throttled part fails the page.
	more := e.g.Add(labels[api.Inbox], 2, now)
	e.g.Delete(more[0])
	e.g.AddLabel(more[0], gmailtest.Inbox) // no-op: deleted
	ch, cur = drain(t, p, api.Inbox, cur, opts())
	if c := byID(ch); !c[more[0]].Deleted || c[more[1]].Deleted {
		t.Fatalf("changes %+v", ch)
	}
	e.g.Add(labels[api.Inbox], 3, now)
	e.g.FailNext("/messages/", 403, "userRateLimitExceeded")
	_, err := p.Changes(context.Background(), api.Inbox, cur, opts())
	if provider.Classify(err) != provider.ClassThrottled || provider.RetryAfter(err) <= 0 {
		t.Fatalf("a throttled part: %v", err)
	}
	// An expired access token: every part answers 401, the batch is
	// sent again with a renewed one.
	e.g.ExpireAccess()
	if ch, _ := drain(t, p, api.Inbox, cur, opts()); len(ch) != 3 {
		t.Fatalf("after renewal: %+v", ch)
	}
}

// TestEmulatorBatchShapes checks the emulator's batch endpoint takes
// request lines with and without the HTTP version and refuses oversized
// batches.
func TestEmulatorBatchShapes(t *testing.T) {
	e := newEnv(t)
	e.open(t, 10)
	id := e.g.Add(labels[api.Inbox], 1, now)[0]
	tok := accessToken(t, e)
	post := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.g.URL+"/batch/gmail/v1", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "multipart/mixed; boundary=xyz")
		resp, err := e.g.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	part := func(cid, line string) string {
		return "--xyz\r\nContent-Type: application/http\r\nContent-ID: <" + cid + ">\r\n\r\n" + line + "\r\n\r\n"
	}
	st, body := post(part("a", "GET /gmail/v1/users/me/messages/"+id+"?format=metadata") + part("b", "GET /gmail/v1/users/me/messages/nope?format=minimal HTTP/1.1") + "--xyz--\r\n")
	if st != 200 || !strings.Contains(body, "<response-a>") || !strings.Contains(body, "HTTP/1.1 200 OK") || !strings.Contains(body, "HTTP/1.1 404 Not Found") {
		t.Fatalf("%d %s", st, body)
	}
	var big strings.Builder
	for i := range 101 {
		big.WriteString(part(strconv.Itoa(i), "GET /gmail/v1/users/me/profile"))
	}
	if st, _ := post(big.String() + "--xyz--\r\n"); st != 400 {
		t.Fatalf("101 calls: %d", st)
	}
}

// TestGmailReactivationKeepsClientSecret: a re-activation names the
// account; the client secret given at the first activation comes from
// its grant in the keyring.
func TestGmailReactivationKeepsClientSecret(t *testing.T) {
	e := newEnv(t)
	e.connect(t)
	s := e.settings()
	delete(s, "client_secret")
	req := api.ActivationRequest{Provider: "gmail", Account: "mail", Settings: s}
	if _, err := e.conn.Connect(context.Background(), req, nil); err == nil {
		t.Fatal("Google took a token request without the client secret")
	}
	e.conn.Secrets = e.mem
	conn, err := e.conn.Connect(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := auth.DecodeGrant(conn.Secrets[secret.KeyToken])
	if g.ClientSecret != clientSecret || e.g.LastTokenForm().Get("client_secret") != clientSecret {
		t.Fatal("the client secret was not reused")
	}
}
