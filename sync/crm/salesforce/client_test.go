package salesforce_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/auth/authtest"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
)

const account = "crm-salesforce"

// freePort returns a loopback port that is free now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// clock is a fake clock with recorded sleeps.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	sf      *sftest.Server
	cfg     salesforce.Config
	secrets secret.Store
	clock   *clock
	browser *authtest.Browser
}

func newEnv(t *testing.T, o sftest.Options, secrets secret.Store) *env {
	t.Helper()
	sf := sftest.New(t, o)
	port := sf.RedirectPort()
	ck := &clock{now: time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)}
	b := authtest.NewBrowser(sf.Client())
	if secrets == nil {
		secrets = secrettest.NewMemory()
	}
	return &env{sf: sf, secrets: secrets, clock: ck, browser: b, cfg: salesforce.Config{
		LoginURL: sf.URL, ClientID: sf.ClientID(), ClientSecret: o.ClientSecret, RedirectPort: port,
		Now: ck.Now, Sleep: ck.Sleep, OpenBrowser: b.Open,
	}}
}

func (e *env) connect(t *testing.T) *salesforce.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := salesforce.Connect(ctx, e.cfg, e.secrets, account, auth.SignInOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return c
}

func storedRefresh(t *testing.T, s secret.Store) string {
	t.Helper()
	v, err := s.Get(account, secret.KeyToken)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		RefreshToken string `json:"refresh_token"`
		InstanceURL  string `json:"instance_url"`
	}
	if err := json.Unmarshal([]byte(v), &g); err != nil {
		t.Fatal(err)
	}
	return g.RefreshToken
}

func TestConnectStoresGrantAndCallsInstance(t *testing.T) {
	for _, secretApp := range []string{"", "s3cr3t"} {
		t.Run("secret="+fmt.Sprint(secretApp != ""), func(t *testing.T) {
			e := newEnv(t, sftest.Options{ClientSecret: secretApp}, nil)
			c := e.connect(t)
			if rt := storedRefresh(t, e.secrets); !e.sf.RefreshValid(rt) {
				t.Fatalf("the keyring holds a refresh token the server does not accept")
			}
			id, err := c.Identity()
			if err != nil || id.UserID != sftest.UserID || id.InstanceURL != e.sf.URL {
				t.Fatalf("Identity = %+v, %v", id, err)
			}
			acc := e.sf.AddAccount("Acme")
			e.sf.AddContact("Ann@Acme.example", acc)
			people, err := c.FindPeople(context.Background(), []string{"ann@acme.example"})
			if err != nil || len(people) != 1 || people[0].AccountID != acc || people[0].Object != api.ObjContact {
				t.Fatalf("FindPeople = %+v, %v", people, err)
			}
			// The access token of the sign-in was used: no refresh.
			if c.Refreshes() != 0 {
				t.Fatalf("refreshes = %d, want 0", c.Refreshes())
			}
			// A new client reads the grant from the keyring and refreshes once.
			c2, err := salesforce.New(e.cfg, e.secrets, account)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c2.FindPeople(context.Background(), []string{"x@acme.example"}); err != nil {
				t.Fatal(err)
			}
			if c2.Refreshes() != 1 {
				t.Fatalf("refreshes = %d, want 1", c2.Refreshes())
			}
		})
	}
}

func TestConnectRefusals(t *testing.T) {
	t.Run("app not installed", func(t *testing.T) {
		e := newEnv(t, sftest.Options{}, nil)
		e.sf.SetInstalled(false)
		_, err := salesforce.Connect(context.Background(), e.cfg, e.secrets, account, auth.SignInOptions{Timeout: 10 * time.Second})
		if provider.Classify(err) != provider.ClassGrantGone || !strings.Contains(err.Error(), "administrator must install") {
			t.Fatalf("err = %v (%v)", err, provider.Classify(err))
		}
	})
	t.Run("redirect not registered", func(t *testing.T) {
		e := newEnv(t, sftest.Options{}, nil)
		e.cfg.RedirectPort = freePort(t) // differs from the registered one
		_, err := salesforce.Connect(context.Background(), e.cfg, e.secrets, account, auth.SignInOptions{Timeout: 2 * time.Second})
		if err == nil {
			t.Fatal("a sign-in with an unregistered callback succeeded")
		}
		if st, body := e.browser.Last(); st != http.StatusBadRequest || !strings.Contains(body, "redirect_uri_mismatch") {
			t.Fatalf("the browser showed %d %q", st, body)
		}
	})
	t.Run("bad settings", func(t *testing.T) {
		for _, cfg := range []salesforce.Config{
			{LoginURL: "http://login.example.com", ClientID: "x"},
			{ClientID: ""},
			{ClientID: "x", APIVersion: "64"},
		} {
			if _, err := salesforce.New(cfg, secrettest.NewMemory(), account); !errors.Is(err, api.ErrInvalid) {
				t.Errorf("New(%+v) = %v, want ErrInvalid", cfg, err)
			}
		}
	})
}

func TestSessionExpiryRefreshesOnceAndRetries(t *testing.T) {
	e := newEnv(t, sftest.Options{}, nil)
	c := e.connect(t)
	e.sf.ExpireSessions()
	tokens := e.sf.Count("token")
	if _, err := c.FindPeople(context.Background(), []string{"a@b.example"}); err != nil {
		t.Fatal(err)
	}
	if c.Refreshes() != 1 || e.sf.Count("token") != tokens+1 {
		t.Fatalf("refreshes = %d, token requests = %d", c.Refreshes(), e.sf.Count("token")-tokens)
	}
	// The new session is kept: no more refreshes.
	if _, err := c.FindPeople(context.Background(), []string{"a@b.example"}); err != nil || c.Refreshes() != 1 {
		t.Fatalf("second call: %v, refreshes %d", err, c.Refreshes())
	}
}

func TestRevokedGrantIsGrantGone(t *testing.T) {
	e := newEnv(t, sftest.Options{}, nil)
	c := e.connect(t)
	e.sf.RevokeGrants()
	_, err := c.FindPeople(context.Background(), []string{"a@b.example"})
	if provider.Classify(err) != provider.ClassGrantGone || !strings.Contains(err.Error(), "sign in to Salesforce again") {
		t.Fatalf("err = %v (%v)", err, provider.Classify(err))
	}
	if rt := storedRefresh(t, e.secrets); strings.Contains(err.Error(), rt) {
		t.Fatal("the error shows the refresh token")
	}
	// No grant at all.
	e.secrets.Delete(account, secret.KeyToken)
	c2, _ := salesforce.New(e.cfg, e.secrets, account)
	if _, err := c2.FindPeople(context.Background(), []string{"a@b.example"}); provider.Classify(err) != provider.ClassGrantGone {
		t.Fatalf("without a grant: %v", err)
	}
}

// checkingTransport checks, before each API request, that the keyring
// holds a refresh token the server accepts.
type checkingTransport struct {
	t       *testing.T
	sf      *sftest.Server
	secrets secret.Store
	checked int
}

func (ct *checkingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/services/data/") {
		ct.checked++
		if rt := storedRefresh(ct.t, ct.secrets); !ct.sf.RefreshValid(rt) {
			ct.t.Errorf("an API request went out while the keyring held a void refresh token")
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// testRotation runs refreshes with rotation on against secrets.
func testRotation(t *testing.T, secrets secret.Store) {
	e := newEnv(t, sftest.Options{RotateRefreshTokens: true}, secrets)
	ct := &checkingTransport{t: t, sf: e.sf, secrets: secrets}
	e.cfg.HTTPClient = &http.Client{Transport: ct}
	c := e.connect(t)
	for i := range 3 {
		before := storedRefresh(t, secrets)
		e.sf.ExpireSessions()
		if _, err := c.FindPeople(context.Background(), []string{"a@b.example"}); err != nil {
			t.Fatal(err)
		}
		after := storedRefresh(t, secrets)
		if after == before || e.sf.RefreshValid(before) || !e.sf.RefreshValid(after) {
			t.Fatalf("round %d: the rotated refresh token was not saved", i)
		}
	}
	if ct.checked < 6 || e.sf.RefreshTokens() != 1 {
		t.Fatalf("checked %d requests, %d valid refresh tokens", ct.checked, e.sf.RefreshTokens())
	}
}

func TestRotationSavedBeforeUse(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testRotation(t, secrettest.NewMemory()) })
	t.Run("keyring", func(t *testing.T) { testRotation(t, realKeyring(t)) })
	t.Run("keyring fails", func(t *testing.T) {
		mem := secrettest.NewMemory()
		e := newEnv(t, sftest.Options{RotateRefreshTokens: true}, mem)
		c := e.connect(t)
		e.sf.ExpireSessions()
		api := e.sf.Count("api")
		mem.SetFailure(&secret.UnavailableError{Err: errors.New("locked")})
		_, err := c.FindPeople(context.Background(), []string{"a@b.example"})
		if err == nil || !strings.Contains(err.Error(), "keyring") {
			t.Fatalf("err = %v", err)
		}
		// One API call answered 401; none went out with the new token.
		if n := e.sf.Count("api") - api; n != 1 {
			t.Fatalf("%d API requests, want 1 (the refused one)", n)
		}
	})
}

func TestBudgetBackoff(t *testing.T) {
	e := newEnv(t, sftest.Options{}, nil)
	c := e.connect(t)
	ctx := context.Background()
	e.sf.SetUsage(89, 100)
	if _, err := c.FindPeople(ctx, []string{"a@b.example"}); err != nil {
		t.Fatal(err) // 90: the answer passes the budget, the call succeeds
	}
	if used, limit := c.Usage(); used != 90 || limit != 100 {
		t.Fatalf("Usage = %d/%d", used, limit)
	}
	// The next call is refused without a request.
	api := e.sf.Count("api")
	_, err := c.FindPeople(ctx, []string{"a@b.example"})
	if provider.Classify(err) != provider.ClassThrottled || provider.RetryAfter(err) != 30*time.Minute || e.sf.Count("api") != api {
		t.Fatalf("past the budget: %v, retry after %v, %d requests", err, provider.RetryAfter(err), e.sf.Count("api")-api)
	}
	if !strings.Contains(err.Error(), "API limit nearly used up; will retry at") {
		t.Fatalf("reason: %v", err)
	}
	// After each wait one request goes out; usage is still high, so the
	// next back-off is longer, up to 6.5 hours.
	wait := 30 * time.Minute
	for i, want := range []time.Duration{150 * time.Minute, 270 * time.Minute, 390 * time.Minute, 390 * time.Minute} {
		e.clock.Advance(wait)
		e.sf.SetUsage(95, 100)
		api := e.sf.Count("api")
		if _, err := c.FindPeople(ctx, []string{"a@b.example"}); err != nil {
			t.Fatalf("the request after wait %d: %v", i, err)
		}
		_, err := c.FindPeople(ctx, []string{"a@b.example"})
		if provider.Classify(err) != provider.ClassThrottled || provider.RetryAfter(err) != want || e.sf.Count("api") != api+1 {
			t.Fatalf("back-off %d: %v, retry after %v (want %v), %d requests", i, err, provider.RetryAfter(err), want, e.sf.Count("api")-api)
		}
		wait = want
	}
	// Usage drops: the back-offs start again from 30 minutes.
	e.clock.Advance(7 * time.Hour)
	e.sf.SetUsage(10, 100)
	if _, err := c.FindPeople(ctx, []string{"a@b.example"}); err != nil {
		t.Fatal(err)
	}
	e.sf.SetUsage(100, 100) // exhausted: 403 REQUEST_LIMIT_EXCEEDED
	_, err = c.FindPeople(ctx, []string{"a@b.example"})
	if provider.Classify(err) != provider.ClassThrottled || provider.RetryAfter(err) != 30*time.Minute {
		t.Fatalf("REQUEST_LIMIT_EXCEEDED: %v, %v", err, provider.RetryAfter(err))
	}
}

func TestBudgetIsConfigurable(t *testing.T) {
	e := newEnv(t, sftest.Options{}, nil)
	e.cfg.Budget = 0.5
	c := e.connect(t)
	e.sf.SetUsage(60, 100)
	c.FindPeople(context.Background(), []string{"a@b.example"})
	if _, err := c.FindPeople(context.Background(), []string{"a@b.example"}); provider.Classify(err) != provider.ClassThrottled {
		t.Fatalf("at 61%% with a 50%% budget: %v", err)
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	e := newEnv(t, sftest.Options{}, nil)
	c := e.connect(t)
	e.sf.FailNext(2, http.StatusServiceUnavailable)
	if _, err := c.FindPeople(context.Background(), []string{"a@b.example"}); err != nil {
		t.Fatalf("after two 503s: %v", err)
	}
	if len(e.clock.sleeps) != 2 {
		t.Fatalf("slept %v", e.clock.sleeps)
	}
	e.sf.FailNext(10, http.StatusServiceUnavailable)
	_, err := c.FindPeople(context.Background(), []string{"a@b.example"})
	if provider.Classify(err) != provider.ClassThrottled {
		t.Fatalf("after 4 503s: %v", err)
	}
}

func TestQueryPaging(t *testing.T) {
	e := newEnv(t, sftest.Options{}, nil)
	c := e.connect(t)
	e.sf.SetBatchSize(200)
	for i := range 450 {
		e.sf.AddContact(fmt.Sprintf("p%03d@acme.example", i), "")
	}
	n := 0
	err := c.Query(context.Background(), "SELECT Id, Email FROM Contact", func(json.RawMessage) error { n++; return nil })
	if err != nil || n != 450 {
		t.Fatalf("Query: %d records, %v", n, err)
	}
	if q, more := e.sf.Count("query"), e.sf.Count("queryMore"); q != 1 || more != 2 {
		t.Fatalf("query %d, queryMore %d; want 1 and 2", q, more)
	}
	// FindPeople splits long lists into IN lists of 50.
	var addrs []string
	for i := range 120 {
		addrs = append(addrs, fmt.Sprintf("P%03d@ACME.example", i))
	}
	e.sf.ResetCounts()
	people, err := c.FindPeople(context.Background(), addrs)
	if err != nil || len(people) != 120 {
		t.Fatalf("FindPeople: %d, %v", len(people), err)
	}
	// 3 lists × (Contact, Lead), each list's two queries in one composite
	// request: 3 API calls.
	if q, comp, api := e.sf.Count("query"), e.sf.Count("composite"), e.sf.Count("api"); q != 6 || comp != 3 || api != 3 {
		t.Fatalf("%d queries in %d composite requests, %d API calls; want 6 in 3, 3", q, comp, api)
	}
	// A lookup whose first batch is not the last follows nextRecordsUrl.
	e.sf.SetBatchSize(20)
	e.sf.ResetCounts()
	if people, err = c.FindPeople(context.Background(), addrs[:50]); err != nil || len(people) != 50 {
		t.Fatalf("FindPeople with paging: %d, %v", len(people), err)
	}
	if comp, more := e.sf.Count("composite"), e.sf.Count("queryMore"); comp != 1 || more != 2 {
		t.Fatalf("%d composite requests, %d queryMore; want 1 and 2", comp, more)
	}
}

func TestCollections(t *testing.T) {
	e := newEnv(t, sftest.Options{}, nil)
	c := e.connect(t)
	ctx := context.Background()
	e.sf.FailWhere("Task", "Subject", "bad", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Subject may not be 'bad'", 0)
	e.sf.FailWhere("Task", "Subject", "locked", "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", 1)
	var recs []crm.Record
	for i := range 450 {
		s := fmt.Sprint("t", i)
		switch i {
		case 7:
			s = "bad"
		case 300:
			s = "locked"
		}
		recs = append(recs, crm.Record{Object: "Task", Fields: map[string]any{"Subject": s, "Status": "Completed"}})
	}
	recs = append(recs, crm.Record{Object: "Task", Fields: map[string]any{"Subject": strings.Repeat("x", 300)}})
	res, err := c.Create(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.sf.Count("create"); n != 4 { // 451 → 3 requests, + 1 resend of the locked one
		t.Fatalf("%d create requests, want 4", n)
	}
	for i, r := range res {
		switch i {
		case 7:
			if r.Err == nil || r.Err.Code != "FIELD_CUSTOM_VALIDATION_EXCEPTION" || !strings.Contains(r.Err.Error(), "validation rule") {
				t.Errorf("record 7: %+v", r.Err)
			}
		case 450:
			if r.Err == nil || r.Err.Code != "STRING_TOO_LONG" || !strings.Contains(r.Err.Error(), "too long") {
				t.Errorf("record 450: %+v", r.Err)
			}
		default:
			if r.Err != nil || r.ID == "" {
				t.Errorf("record %d: %+v", i, r.Err)
			}
		}
	}
	if n := len(e.sf.Records("Task")); n != 449 {
		t.Fatalf("%d Tasks stored, want 449", n)
	}
	up, err := c.Update(ctx, []crm.Record{{Object: "Task", ID: res[0].ID, Fields: map[string]any{"Subject": "renamed"}}})
	if err != nil || up[0].Err != nil {
		t.Fatalf("Update: %v %+v", err, up)
	}
	if r, _ := e.sf.Get(res[0].ID); r.Fields["Subject"] != "renamed" {
		t.Fatalf("after Update: %v", r.Fields)
	}
	del, err := c.Delete(ctx, []string{res[0].ID, res[1].ID})
	if err != nil || del[0].Err != nil || del[1].Err != nil {
		t.Fatalf("Delete: %v %+v", err, del)
	}
	del, err = c.Delete(ctx, []string{res[0].ID})
	if err != nil || del[0].Err == nil || !del[0].Err.Gone {
		t.Fatalf("Delete of a deleted record: %v %+v", err, del)
	}
}

func TestDisconnect(t *testing.T) {
	e := newEnv(t, sftest.Options{}, nil)
	c := e.connect(t)
	rt := storedRefresh(t, e.secrets)
	if err := c.Disconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.sf.RefreshValid(rt) || e.sf.Count("revoke") != 1 {
		t.Fatal("the refresh token was not revoked")
	}
	if _, err := e.secrets.Get(account, secret.KeyToken); !errors.Is(err, secret.ErrNotFound) {
		t.Fatalf("the grant is still in the keyring: %v", err)
	}
	if _, err := c.FindPeople(context.Background(), []string{"a@b.example"}); provider.Classify(err) != provider.ClassGrantGone {
		t.Fatalf("after Disconnect: %v", err)
	}
	// Unreachable server: the keyring entry goes all the same.
	e2 := newEnv(t, sftest.Options{}, nil)
	c2 := e2.connect(t)
	e2.sf.Close()
	if err := c2.Disconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.secrets.Get(account, secret.KeyToken); !errors.Is(err, secret.ErrNotFound) {
		t.Fatalf("offline: the grant is still in the keyring: %v", err)
	}
}

func TestLimitInfoWithPerAppUsage(t *testing.T) {
	srv := newEnv(t, sftest.Options{}, nil)
	srv.connect(t) // stores the grant
	// A proxy in front of the emulator adds the per-app figure, as
	// Salesforce does for connected apps with a per-app limit.
	srv.cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && resp.Header.Get("Sforce-Limit-Info") != "" {
			resp.Header.Set("Sforce-Limit-Info", resp.Header.Get("Sforce-Limit-Info")+"; per-app-api-usage=17/250(appName=inboxsync)")
		}
		return resp, err
	})}
	c2, err := salesforce.New(srv.cfg, srv.secrets, account)
	if err != nil {
		t.Fatal(err)
	}
	srv.sf.SetUsage(42, 5000)
	if _, err := c2.FindPeople(context.Background(), []string{"a@b.example"}); err != nil {
		t.Fatal(err)
	}
	if used, limit := c2.Usage(); used != 43 || limit != 5000 {
		t.Fatalf("Usage = %d/%d, want 43/5000", used, limit)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
