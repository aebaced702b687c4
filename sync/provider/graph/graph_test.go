package graph_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/auth/authtest"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/graph"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
	"github.com/inboxsync/inboxsync/sync/provider/providertest"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
)

// env is an authorization server, a Graph emulator and a connector wired
// to both.
type env struct {
	auth  *authtest.Server
	graph *graphtest.Server
	conn  *graph.Connector
	mem   *secrettest.Memory
}

func newEnv(t *testing.T) *env {
	a := authtest.New(t)
	g := graphtest.New(t)
	g.Auth = a.ValidAccess
	// Both httptest TLS servers use the same test certificate.
	c := &graph.Connector{HTTPClient: a.Client(), OpenBrowser: a.Browser().Open}
	return &env{auth: a, graph: g, conn: c, mem: secrettest.NewMemory()}
}

func (e *env) settings() map[string]string {
	return map[string]string{"client_id": authtest.DefaultClientID, "authority": e.auth.URL, "graph_endpoint": e.graph.Endpoint()}
}

// connect signs in and stores the account's secrets.
func (e *env) connect(t *testing.T) provider.Account {
	t.Helper()
	conn, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "office365", Account: "work", Settings: e.settings()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.Account.ID = "work"
	for k, v := range conn.Secrets {
		e.mem.Set("work", k, v)
	}
	return conn.Account
}

func (e *env) open(t *testing.T, pageSize int) *graph.Provider {
	t.Helper()
	acct := e.connect(t)
	e.conn.PageSize = pageSize
	p, err := e.conn.Open(context.Background(), acct, e.mem)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*graph.Provider)
}

type harness struct{}

type mailbox struct{ e *env }

var folderNames = map[api.Folder]string{api.Inbox: graphtest.Inbox, api.Sent: graphtest.Sent, api.Calendar: graphtest.Calendar}

func (m mailbox) Add(t *testing.T, f api.Folder, n int, at time.Time) []string {
	return m.e.graph.Add(folderNames[f], n, at)
}
func (m mailbox) Update(t *testing.T, id string) { m.e.graph.Update(id) }
func (m mailbox) Delete(t *testing.T, id string) { m.e.graph.Delete(id) }
func (m mailbox) InvalidateCursors(t *testing.T) { m.e.graph.InvalidateCursors() }
func (m mailbox) ChangePassword(t *testing.T)    { m.e.auth.Revoke(50173) }
func (m mailbox) ThrottleNext(t *testing.T, d time.Duration) {
	m.e.graph.ThrottleNext(http.StatusTooManyRequests, d)
}

func (harness) Open(t *testing.T, pageSize int) (provider.Provider, providertest.Mailbox) {
	e := newEnv(t)
	return e.open(t, pageSize), mailbox{e}
}

func TestGraphConformance(t *testing.T) { providertest.Run(t, harness{}) }

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func opts() provider.Options { return provider.Options{Now: now, Since: now.AddDate(0, 0, -30)} }

func drain(t *testing.T, p provider.Provider, f api.Folder, cur string, o provider.Options) ([]provider.Change, string) {
	t.Helper()
	var all []provider.Change
	for range 1000 {
		pg, err := p.Changes(context.Background(), f, cur, o)
		if err != nil {
			t.Fatal(err)
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

func TestGraphConnect(t *testing.T) {
	e := newEnv(t)
	var prompts []api.ActivationProgress
	conn, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "office365", Settings: e.settings()}, func(p api.ActivationProgress) {
		prompts = append(prompts, p)
	})
	if err != nil {
		t.Fatal(err)
	}
	if conn.Account.Email != "ann@contoso.test" {
		t.Errorf("email %q", conn.Account.Email)
	}
	want := map[string]string{"client_id": "test-client", "tenant": "organizations", "authority": e.auth.URL, "graph_endpoint": e.graph.Endpoint()}
	for k, v := range want {
		if conn.Account.Settings[k] != v {
			t.Errorf("setting %s = %q, want %q", k, conn.Account.Settings[k], v)
		}
	}
	if len(conn.Account.Settings) != len(want) {
		t.Errorf("settings %v", conn.Account.Settings)
	}
	g, err := auth.DecodeGrant(conn.Secrets[secret.KeyToken])
	if err != nil || !e.auth.ValidRefresh(g.RefreshToken) {
		t.Fatalf("grant: %v", err)
	}
	for k, v := range conn.Account.Settings {
		if strings.Contains(v, g.RefreshToken) {
			t.Errorf("setting %s holds the refresh token", k)
		}
	}
	if len(prompts) != 1 || prompts[0].Message != "Finish signing in in your browser" || prompts[0].URL == "" {
		t.Fatalf("prompts %+v", prompts)
	}
	if q := e.auth.LastAuthorize(); q.Get("scope") != "offline_access User.Read Mail.Read Calendars.Read" {
		t.Errorf("scope %q", q.Get("scope"))
	}
}

func TestGraphConnectDeviceCode(t *testing.T) {
	e := newEnv(t)
	e.auth.Interval = 1
	s := e.settings()
	s["device_code"] = "1"
	conn, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "office365", Settings: s}, func(p api.ActivationProgress) {
		if p.UserCode != "" {
			e.auth.ApproveDevice(p.UserCode)
		}
	})
	if err != nil || conn.Account.Email != "ann@contoso.test" {
		t.Fatalf("%+v %v", conn.Account, err)
	}
	if _, ok := conn.Account.Settings["device_code"]; ok {
		t.Error("device_code kept with the account")
	}
}

func TestGraphSettings(t *testing.T) {
	cases := []struct {
		name     string
		explicit map[string]string
		defaults map[string]string
		err      string
		want     graph.Settings
	}{
		{name: "no client id", err: "client ID"},
		{name: "defaults", explicit: map[string]string{"client_id": "abc"}, want: graph.Settings{ClientID: "abc", Tenant: "organizations", Authority: "https://login.microsoftonline.com", Endpoint: "https://graph.microsoft.com/v1.0"}},
		{name: "config file", defaults: map[string]string{"client_id": "cfg", "tenant": "contoso.onmicrosoft.com"}, want: graph.Settings{ClientID: "cfg", Tenant: "contoso.onmicrosoft.com", Authority: "https://login.microsoftonline.com", Endpoint: "https://graph.microsoft.com/v1.0"}},
		{name: "flags beat the config file", explicit: map[string]string{"client_id": "flag", "tenant": "common"}, defaults: map[string]string{"client_id": "cfg", "tenant": "x.test"}, want: graph.Settings{ClientID: "flag", Tenant: "common", Authority: "https://login.microsoftonline.com", Endpoint: "https://graph.microsoft.com/v1.0"}},
		{name: "us government", explicit: map[string]string{"client_id": "a", "tenant": "72f988bf-86f1-41af-91ab-2d7cd011db47", "authority": "https://login.microsoftonline.us/", "graph_endpoint": "https://graph.microsoft.us/v1.0/"}, want: graph.Settings{ClientID: "a", Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47", Authority: "https://login.microsoftonline.us", Endpoint: "https://graph.microsoft.us/v1.0"}},
		{name: "bad tenant", explicit: map[string]string{"client_id": "a", "tenant": "../x"}, err: "tenant"},
		{name: "client id too long", explicit: map[string]string{"client_id": strings.Repeat("a", 129)}, err: "client ID"},
		{name: "longest client id", explicit: map[string]string{"client_id": strings.Repeat("a", 128)}, want: graph.Settings{ClientID: strings.Repeat("a", 128), Tenant: "organizations", Authority: "https://login.microsoftonline.com", Endpoint: "https://graph.microsoft.com/v1.0"}},
		{name: "http authority", explicit: map[string]string{"client_id": "a", "authority": "http://login.example.com"}, err: "https"},
		{name: "loopback http is for tests", explicit: map[string]string{"client_id": "a", "authority": "http://127.0.0.1:8080"}, want: graph.Settings{ClientID: "a", Tenant: "organizations", Authority: "http://127.0.0.1:8080", Endpoint: "https://graph.microsoft.com/v1.0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := graph.ResolveSettings(tc.explicit, tc.defaults)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one about %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestGraphRequestShape(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 25)
	e.graph.Add(graphtest.Inbox, 3, now.Add(-time.Hour))
	if _, err := p.Changes(context.Background(), api.Inbox, "", opts()); err != nil {
		t.Fatal(err)
	}
	q, h := e.graph.LastRequest()
	if sel := q.Get("$select"); !strings.Contains(sel, "internetMessageId") || strings.Contains(sel, "body,") {
		t.Errorf("$select %q", sel)
	}
	if f := q.Get("$filter"); f != "receivedDateTime ge 2026-10-21T12:00:00Z" {
		t.Errorf("$filter %q", f)
	}
	if got := h.Values("Prefer"); len(got) != 1 || got[0] != "odata.maxpagesize=25" {
		t.Errorf("Prefer %q", got)
	}
	if _, err := p.Changes(context.Background(), api.Calendar, "", opts()); err != nil {
		t.Fatal(err)
	}
	q, h = e.graph.LastRequest()
	if q.Has("$select") || q.Get("startDateTime") != "2026-11-06T00:00:00Z" || q.Get("endDateTime") != "2027-01-20T00:00:00Z" {
		t.Errorf("calendar query %v", q)
	}
	if got := strings.Join(h.Values("Prefer"), ","); !strings.Contains(got, `outlook.timezone="UTC"`) {
		t.Errorf("calendar Prefer %q", got)
	}
}

func TestGraphMailFields(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	ids := e.graph.Add(graphtest.Sent, 1, now.Add(-time.Hour))
	ch, _ := drain(t, p, api.Sent, "", opts())
	if len(ch) != 1 {
		t.Fatalf("%d changes", len(ch))
	}
	it := ch[0].Item
	if it.ProviderID != ids[0] || it.Folder != api.Sent || it.Kind != api.KindMail || it.MessageID == "" || it.ConversationID == "" ||
		it.From != "megan0@contoso.test" || len(it.To) != 1 || len(it.Cc) != 1 || !it.Time.Equal(now.Add(-time.Hour)) || it.Preview == "" {
		t.Fatalf("item %+v", it)
	}
}

func TestGraphCalendarWindowMovesDaily(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	in := e.graph.Add(graphtest.Calendar, 2, now.AddDate(0, 0, 3))
	out := e.graph.Add(graphtest.Calendar, 1, now.AddDate(0, 0, 70)) // beyond +60
	old := e.graph.Add(graphtest.Calendar, 1, now.AddDate(0, 0, -20))
	ch, cur := drain(t, p, api.Calendar, "", opts())
	if len(ch) != 2 || ch[0].Item.ProviderID != in[0] || ch[0].Item.Kind != api.KindEvent || ch[0].Item.Location == "" ||
		ch[0].Item.Organizer == "" || len(ch[0].Item.Attendees) != 2 || !ch[0].Item.Start.Equal(now.AddDate(0, 0, 3)) || !ch[0].Item.End.Equal(now.AddDate(0, 0, 3).Add(time.Hour)) {
		t.Fatalf("first window: %+v", ch)
	}
	// Same day: an incremental round, nothing new.
	if ch, _ := drain(t, p, api.Calendar, cur, opts()); len(ch) != 0 {
		t.Fatalf("same day: %+v", ch)
	}
	// Eleven days later the window reaches the event 70 days out... and
	// still not the one 20 days back.
	later := opts()
	later.Now = now.AddDate(0, 0, 11)
	ch, _ = drain(t, p, api.Calendar, cur, later)
	got := map[string]bool{}
	for _, c := range ch {
		got[c.Item.ProviderID] = true
	}
	if !got[out[0]] || got[old[0]] || !got[in[0]] {
		t.Fatalf("moved window delivered %v", got)
	}
}

func TestGraphCursorInvalid(t *testing.T) {
	for _, mode := range []string{"410 Gone", "syncStateNotFound"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			p := e.open(t, 10)
			e.graph.Add(graphtest.Inbox, 2, now.Add(-time.Hour))
			_, cur := drain(t, p, api.Inbox, "", opts())
			if mode == "syncStateNotFound" {
				e.graph.UseSyncStateNotFound()
			}
			e.graph.InvalidateCursors()
			_, err := p.Changes(context.Background(), api.Inbox, cur, opts())
			if provider.Classify(err) != provider.ClassCursorInvalid {
				t.Fatalf("%v", err)
			}
		})
	}
	e := newEnv(t)
	p := e.open(t, 10)
	for _, bad := range []string{"junk", `{"v":1,"link":"https://evil.example/v1.0/me"}`} {
		if _, err := p.Changes(context.Background(), api.Inbox, bad, opts()); provider.Classify(err) != provider.ClassCursorInvalid {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
}

func TestGraphThrottled503(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	e.graph.ThrottleNext(http.StatusServiceUnavailable, 9*time.Second)
	_, err := p.Changes(context.Background(), api.Inbox, "", opts())
	if provider.Classify(err) != provider.ClassThrottled || provider.RetryAfter(err) != 9*time.Second {
		t.Fatalf("%v", err)
	}
}

func TestGraphGrantGoneReasons(t *testing.T) {
	cases := []struct {
		aadsts int
		words  string
	}{
		{70043, "sign-in frequency policy"},
		{700082, "not used for 90 days"},
		{50173, "password was changed"},
		{65001, "administrator may need to approve"},
		{50076, "multi-factor"},
	}
	for _, tc := range cases {
		t.Run(tc.words, func(t *testing.T) {
			e := newEnv(t)
			p := e.open(t, 10)
			if _, err := p.Changes(context.Background(), api.Inbox, "", opts()); err != nil {
				t.Fatal(err)
			}
			e.auth.Revoke(tc.aadsts)
			_, err := p.Changes(context.Background(), api.Inbox, "", opts())
			if provider.Classify(err) != provider.ClassGrantGone || !strings.Contains(provider.Reason(err), tc.words) {
				t.Fatalf("error %v (class %v, reason %q)", err, provider.Classify(err), provider.Reason(err))
			}
		})
	}
}

func TestGraphRotationPersistedAcrossSessions(t *testing.T) {
	e := newEnv(t)
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
	if e.auth.Refreshes() != 3 {
		t.Fatalf("%d refreshes", e.auth.Refreshes())
	}
}

func TestGraphAtMostFourInFlight(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	if _, err := p.Changes(context.Background(), api.Inbox, "", opts()); err != nil { // the token
		t.Fatal(err)
	}
	e.graph.SetDelay(50 * time.Millisecond)
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Changes(context.Background(), api.Inbox, "", opts())
		}()
	}
	wg.Wait()
	if m := e.graph.MaxInFlight(); m > graph.MaxInFlight || m < 2 {
		t.Fatalf("max in flight %d", m)
	}
}

func TestGraphForeignLinkRefused(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	u, _ := url.Parse(e.graph.Endpoint())
	bad := `{"v":1,"link":"https://` + u.Hostname() + `:1/v1.0/me/mailFolders/inbox/messages/delta"}`
	if _, err := p.Changes(context.Background(), api.Inbox, bad, opts()); provider.Classify(err) != provider.ClassCursorInvalid {
		t.Fatalf("%v", err)
	}
}

func TestGraphNoClientID(t *testing.T) {
	e := newEnv(t)
	s := e.settings()
	delete(s, "client_id")
	_, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "office365", Settings: s}, nil)
	if err == nil || !strings.Contains(err.Error(), "--client-id") {
		t.Fatal(err)
	}
	e.conn.Defaults = func() (map[string]string, error) {
		return map[string]string{"client_id": authtest.DefaultClientID}, nil
	}
	if _, err := e.conn.Connect(context.Background(), api.ActivationRequest{Provider: "office365", Settings: s}, nil); err != nil {
		t.Fatal(err)
	}
}
