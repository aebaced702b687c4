package graph_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/graph"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

const (
	testTenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testClientID = "6731de76-14a6-49ae-97bc-6eba6914391e"
	testSecret   = "Xy8Q~s3cr3t.value-1234567890abcdefghij"
)

// clock is a settable clock shared by the App and the emulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder keeps the forms posted to the token endpoint.
type recorder struct {
	rt    http.RoundTripper
	mu    sync.Mutex
	forms []url.Values
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(strings.NewReader(string(b)))
		f, _ := url.ParseQuery(string(b))
		r.mu.Lock()
		r.forms = append(r.forms, f)
		r.mu.Unlock()
	}
	return r.rt.RoundTrip(req)
}

func (r *recorder) last() url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.forms[len(r.forms)-1]
}

type appEnv struct {
	g     *graphtest.Server
	clk   *clock
	rec   *recorder
	cert  *x509.Certificate
	certF string // owner-only PEM file of cert and its key
}

// newAppEnv registers an app with a certificate and a secret in a fresh
// emulator.
func newAppEnv(t *testing.T) *appEnv {
	t.Helper()
	g := graphtest.New(t)
	cert, pemData := graphtest.NewCertificate(t, false)
	e := &appEnv{g: g, clk: &clock{t: time.Now()}, cert: cert}
	g.SetNow(e.clk.Now)
	g.RegisterApp(graphtest.AppRegistration{Tenant: testTenant, TenantDomain: "contoso.onmicrosoft.com", ClientID: testClientID, Secret: testSecret, Certificates: []*x509.Certificate{cert}})
	e.certF = writeFile(t, "app.pem", pemData, 0o600)
	hc := g.Client()
	e.rec = &recorder{rt: hc.Transport}
	return e
}

func writeFile(t *testing.T, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return p
}

func (e *appEnv) config(t *testing.T) graph.AppConfig {
	t.Helper()
	c, err := graph.LoadCertificate(e.certF)
	if err != nil {
		t.Fatal(err)
	}
	return graph.AppConfig{Tenant: testTenant, ClientID: testClientID, Authority: e.g.URL, Endpoint: e.g.Endpoint(),
		Certificate: c, HTTPClient: &http.Client{Transport: e.rec}, PageSize: 10, Now: e.clk.Now}
}

func (e *appEnv) app(t *testing.T, cfg graph.AppConfig) *graph.App {
	t.Helper()
	a, err := graph.NewApp(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func appMailbox(t *testing.T, a *graph.App, user string) *graph.Provider {
	t.Helper()
	p, err := a.Mailbox(user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func appOpts(e *appEnv) provider.Options {
	n := e.clk.Now()
	return provider.Options{Now: n, Since: n.AddDate(0, 0, -30)}
}

func TestAppCertificateAssertionAccepted(t *testing.T) {
	e := newAppEnv(t)
	a := e.app(t, e.config(t))
	ann := e.g.User("ann@contoso.test")
	ids := ann.Add(graphtest.Inbox, 3, e.clk.Now().Add(-time.Hour))
	ann.Add(graphtest.Calendar, 2, e.clk.Now().AddDate(0, 0, 2))
	e.g.User("bob@contoso.test").Add(graphtest.Inbox, 5, e.clk.Now().Add(-time.Hour))

	p := appMailbox(t, a, "ann@contoso.test")
	ch, _ := drain(t, p, api.Inbox, "", appOpts(e))
	if len(ch) != 3 || ch[0].Item.ProviderID != ids[0] {
		t.Fatalf("inbox of ann: %+v", ch)
	}
	it := ch[0].Item
	if it.Subject == "" || it.From == "" || len(it.To) != 1 || it.MessageID == "" || it.Preview != "" {
		t.Errorf("app-only item %+v: want headers and no preview (Mail.ReadBasic.All)", it)
	}
	q, _ := e.g.LastRequest()
	if sel := q.Get("$select"); strings.Contains(strings.ToLower(sel), "body") || !strings.Contains(sel, "internetMessageId") {
		t.Errorf("$select %q", sel)
	}
	if ev, _ := drain(t, p, api.Calendar, "", appOpts(e)); len(ev) != 2 || ev[0].Item.Kind != api.KindEvent {
		t.Fatalf("calendar of ann: %+v", ev)
	}
	if ch, _ := drain(t, appMailbox(t, a, "bob@contoso.test"), api.Inbox, "", appOpts(e)); len(ch) != 5 {
		t.Fatalf("inbox of bob: %d changes", len(ch))
	}
	if n := e.g.TokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}

	// The assertion as Microsoft documents it.
	f := e.rec.last()
	if f.Get("grant_type") != "client_credentials" || f.Get("client_id") != testClientID || f.Get("scope") != e.g.URL+"/.default" ||
		f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || f.Has("client_secret") {
		t.Fatalf("token form %v", f)
	}
	parts := strings.Split(f.Get("client_assertion"), ".")
	if len(parts) != 3 {
		t.Fatalf("assertion has %d parts", len(parts))
	}
	var hdr map[string]any
	var claims map[string]any
	for i, v := range []any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			t.Fatalf("assertion part %d: %v", i, err)
		}
	}
	if hdr["alg"] != "PS256" || hdr["typ"] != "JWT" || hdr["x5t#S256"] != graphtest.Thumbprint(e.cert) {
		t.Errorf("assertion header %v", hdr)
	}
	exp, _ := claims["exp"].(float64)
	nbf, _ := claims["nbf"].(float64)
	if claims["aud"] != e.g.TokenURL(testTenant) || claims["iss"] != testClientID || claims["sub"] != testClientID || claims["jti"] == "" ||
		exp-nbf <= 0 || exp-nbf > 600 {
		t.Errorf("assertion claims %v", claims)
	}

	// The emulator refuses the same assertion again (jti replay), so a
	// second token request must carry a new one.
	if err := a.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again := e.rec.last(); again.Get("client_assertion") == f.Get("client_assertion") {
		t.Error("the assertion was reused")
	}
	resp, err := e.g.Client().PostForm(e.g.TokenURL(testTenant), f)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a replayed assertion answered %d", resp.StatusCode)
	}
}

func TestAppClientSecret(t *testing.T) {
	e := newAppEnv(t)
	secret, err := graph.LoadClientSecret(writeFile(t, "secret", []byte(testSecret+"\n"), 0o600))
	if err != nil || secret != testSecret {
		t.Fatalf("LoadClientSecret = %q, %v", secret, err)
	}
	cfg := e.config(t)
	cfg.Certificate, cfg.ClientSecret = nil, secret
	e.g.User("ann@contoso.test").Add(graphtest.Sent, 2, e.clk.Now().Add(-time.Hour))
	if ch, _ := drain(t, appMailbox(t, e.app(t, cfg), "ann@contoso.test"), api.Sent, "", appOpts(e)); len(ch) != 2 {
		t.Fatalf("%d changes", len(ch))
	}
	if f := e.rec.last(); f.Get("client_secret") != testSecret || f.Has("client_assertion") {
		t.Errorf("token form %v", f)
	}

	cases := []struct {
		name, secret, words string
		expire              bool
	}{
		{"wrong", "not-" + testSecret, "client secret is wrong", false},
		{"expired", testSecret, "client secret has expired", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.expire {
				e.g.ExpireSecret()
			}
			cfg.ClientSecret = tc.secret
			a := e.app(t, cfg)
			err := a.Check(context.Background())
			assertAppRefused(t, err, tc.words)
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the error shows the secret: %v", err)
			}
			_, err = appMailbox(t, a, "ann@contoso.test").Changes(context.Background(), api.Sent, "", appOpts(e))
			assertAppRefused(t, err, tc.words)
		})
	}
}

func assertAppRefused(t *testing.T, err error, words string) {
	t.Helper()
	if !errors.Is(err, graph.ErrAppRefused) || provider.Classify(err) != provider.ClassGrantGone ||
		!strings.Contains(provider.Reason(err), "The app registration "+testClientID+" was refused by Microsoft") || !strings.Contains(provider.Reason(err), words) {
		t.Fatalf("error %v (class %v, reason %q), want the app refused: %s", err, provider.Classify(err), provider.Reason(err), words)
	}
}

func TestAppWrongCertificateRefused(t *testing.T) {
	e := newAppEnv(t)
	_, other := graphtest.NewCertificate(t, true)
	cfg := e.config(t)
	c, err := graph.LoadCertificate(writeFile(t, "other.pem", other, 0o600))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Certificate = c
	a := e.app(t, cfg)
	e.g.User("ann@contoso.test")
	_, err = appMailbox(t, a, "ann@contoso.test").Changes(context.Background(), api.Inbox, "", appOpts(e))
	assertAppRefused(t, err, "certificate is not registered")
	if e.g.User("ann@contoso.test").Requests() != 0 {
		t.Error("Graph was asked without a token")
	}
}

func TestAppConsentWithdrawn(t *testing.T) {
	e := newAppEnv(t)
	a := e.app(t, e.config(t))
	ann, bob := appMailbox(t, a, "ann@contoso.test"), appMailbox(t, a, "bob@contoso.test")
	e.g.User("ann@contoso.test")
	e.g.User("bob@contoso.test")
	if _, err := ann.Changes(context.Background(), api.Inbox, "", appOpts(e)); err != nil {
		t.Fatal(err)
	}
	e.g.WithdrawConsent()
	_, err := ann.Changes(context.Background(), api.Inbox, "", appOpts(e))
	assertAppRefused(t, err, "service principal")
	// The refusal is organisation-wide: bob's provider gets it without
	// asking the token endpoint once more.
	n := e.g.TokenRequests()
	_, err = bob.Changes(context.Background(), api.Inbox, "", appOpts(e))
	assertAppRefused(t, err, "service principal")
	if e.g.TokenRequests() != n {
		t.Errorf("%d more token requests", e.g.TokenRequests()-n)
	}
	if n != 2 {
		t.Errorf("%d token requests before, want 2 (the first, the renewal after 401)", n)
	}
}

func TestAppTokenCachedAndRenewed(t *testing.T) {
	e := newAppEnv(t)
	a := e.app(t, e.config(t))
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 8 {
		user := fmt.Sprintf("user%d@contoso.test", i)
		e.g.User(user).Add(graphtest.Inbox, 2, e.clk.Now().Add(-time.Hour))
		p := appMailbox(t, a, user)
		for range 5 {
			wg.Go(func() {
				_, err := p.Changes(context.Background(), api.Inbox, "", appOpts(e))
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.g.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for 40 requests to 8 mailboxes, want 1", n)
	}
	p := appMailbox(t, a, "user0@contoso.test")
	e.clk.Add(50 * time.Minute) // the token lives an hour
	if _, err := p.Changes(context.Background(), api.Inbox, "", appOpts(e)); err != nil || e.g.TokenRequests() != 1 {
		t.Fatalf("after 50 minutes: %v, %d token requests", err, e.g.TokenRequests())
	}
	e.clk.Add(6 * time.Minute) // 4 minutes before expiry: renewed
	if _, err := p.Changes(context.Background(), api.Inbox, "", appOpts(e)); err != nil || e.g.TokenRequests() != 2 {
		t.Fatalf("after 56 minutes: %v, %d token requests", err, e.g.TokenRequests())
	}
}

func TestAppMailboxRefusedAlone(t *testing.T) {
	e := newAppEnv(t)
	a := e.app(t, e.config(t))
	e.g.User("ann@contoso.test").Deny(true)
	e.g.User("bob@contoso.test").Add(graphtest.Inbox, 1, e.clk.Now().Add(-time.Hour))
	e.g.User("room@contoso.test").NoMailbox()
	cases := map[string]string{
		"ann@contoso.test":   "outside the app's Exchange Online scope",
		"room@contoso.test":  "no Exchange Online mailbox",
		"ghost@contoso.test": "no Exchange Online mailbox", // not a user: 404 ErrorInvalidUser
	}
	for user, words := range cases {
		_, err := appMailbox(t, a, user).Changes(context.Background(), api.Inbox, "", appOpts(e))
		if errors.Is(err, graph.ErrAppRefused) || provider.Classify(err) != provider.ClassGrantGone ||
			!strings.Contains(provider.Reason(err), user) || !strings.Contains(provider.Reason(err), words) {
			t.Errorf("%s: %v (class %v, reason %q)", user, err, provider.Classify(err), provider.Reason(err))
		}
	}
	if ch, _ := drain(t, appMailbox(t, a, "bob@contoso.test"), api.Inbox, "", appOpts(e)); len(ch) != 1 {
		t.Fatalf("bob: %d changes", len(ch))
	}
	e.g.User("ann@contoso.test").Deny(false)
	if _, err := appMailbox(t, a, "ann@contoso.test").Changes(context.Background(), api.Inbox, "", appOpts(e)); err != nil {
		t.Fatalf("ann allowed again: %v", err)
	}
}

func TestAppThrottledPerMailbox(t *testing.T) {
	e := newAppEnv(t)
	a := e.app(t, e.config(t))
	e.g.User("ann@contoso.test").ThrottleNext(http.StatusTooManyRequests, 7*time.Second)
	e.g.User("bob@contoso.test").ThrottleNext(http.StatusServiceUnavailable, 3*time.Second)
	e.g.User("cid@contoso.test")
	for user, d := range map[string]time.Duration{"ann@contoso.test": 7 * time.Second, "bob@contoso.test": 3 * time.Second} {
		_, err := appMailbox(t, a, user).Changes(context.Background(), api.Inbox, "", appOpts(e))
		if provider.Classify(err) != provider.ClassThrottled || provider.RetryAfter(err) != d {
			t.Errorf("%s: %v, want throttled for %v", user, err, d)
		}
	}
	if _, err := appMailbox(t, a, "cid@contoso.test").Changes(context.Background(), api.Inbox, "", appOpts(e)); err != nil {
		t.Errorf("cid is not throttled: %v", err)
	}
	if _, err := appMailbox(t, a, "ann@contoso.test").Changes(context.Background(), api.Inbox, "", appOpts(e)); err != nil {
		t.Errorf("ann after the wait: %v", err)
	}
}

func TestAppFourInFlightPerMailbox(t *testing.T) {
	e := newAppEnv(t)
	a := e.app(t, e.config(t))
	if err := a.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.g.SetDelay(60 * time.Millisecond)
	var wg sync.WaitGroup
	for _, user := range []string{"ann@contoso.test", "bob@contoso.test"} {
		e.g.User(user)
		// Two Providers of one mailbox (two jobs) share its places.
		for _, p := range []*graph.Provider{appMailbox(t, a, user), appMailbox(t, a, strings.ToUpper(user))} {
			for range 6 {
				wg.Go(func() { p.Changes(context.Background(), api.Inbox, "", appOpts(e)) })
			}
		}
	}
	wg.Wait()
	for _, user := range []string{"ann@contoso.test", "bob@contoso.test"} {
		mb := e.g.User(user)
		if m := mb.MaxInFlight(); m > graph.MaxInFlight || m < 2 || mb.Requests() != 12 {
			t.Errorf("%s: at most %d in flight, %d requests", user, m, mb.Requests())
		}
	}
	if m := e.g.MaxInFlight(); m <= graph.MaxInFlight {
		t.Errorf("at most %d in flight over both mailboxes: the cap is per mailbox", m)
	}
}

func TestAppMailboxBudget(t *testing.T) {
	e := newAppEnv(t)
	a := e.app(t, e.config(t))
	graph.SetMailboxBudget(a, 3)
	ann := e.g.User("ann@contoso.test")
	e.g.User("bob@contoso.test")
	p := appMailbox(t, a, "ann@contoso.test")
	for i := range 3 {
		if _, err := p.Changes(context.Background(), api.Inbox, "", appOpts(e)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, err := appMailbox(t, a, "ann@contoso.test").Changes(context.Background(), api.Inbox, "", appOpts(e))
	if d := provider.RetryAfter(err); provider.Classify(err) != provider.ClassThrottled || d <= 0 || d > 11*time.Minute {
		t.Fatalf("the 4th request: %v (wait %v)", err, d)
	}
	if ann.Requests() != 3 {
		t.Errorf("%d requests reached ann, want 3", ann.Requests())
	}
	if _, err := appMailbox(t, a, "bob@contoso.test").Changes(context.Background(), api.Inbox, "", appOpts(e)); err != nil {
		t.Errorf("bob has his own budget: %v", err)
	}
	e.clk.Add(provider.RetryAfter(err))
	if _, err := p.Changes(context.Background(), api.Inbox, "", appOpts(e)); err != nil {
		t.Errorf("after the wait: %v", err)
	}
}

func TestAppGroupMembers(t *testing.T) {
	e := newAppEnv(t)
	a := e.app(t, e.config(t))
	var members []graphtest.Member
	for i := range 1200 {
		members = append(members, graphtest.Member{Type: "user", ID: fmt.Sprintf("u%d", i), Mail: fmt.Sprintf("user%d@contoso.test", i), UPN: fmt.Sprintf("user%d@contoso.test", i)})
	}
	members = append(members,
		graphtest.Member{Type: "user", ID: "nomail", UPN: "nomail@contoso.test"},
		graphtest.Member{Type: "device", ID: "dev1"},
		graphtest.Member{Type: "group", ID: "nested"})
	e.g.SetGroup("sales", members...)
	e.g.SetGroup("nested", graphtest.Member{Type: "user", ID: "n1", Mail: "nina@contoso.test", UPN: "nina@contoso.test"},
		graphtest.Member{Type: "user", ID: "u1", Mail: "USER1@contoso.test", UPN: "user1@contoso.test"})
	got, err := a.GroupMembers(context.Background(), "sales")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1201 || got[0] != "user0@contoso.test" || got[1200] != "nina@contoso.test" {
		t.Fatalf("%d members: %v … %v", len(got), got[:2], got[len(got)-1])
	}
	e.g.NoTransitiveMembers()
	if again, err := a.GroupMembers(context.Background(), "sales"); err != nil || len(again) != 1201 || again[1200] != "nina@contoso.test" {
		t.Fatalf("through /members: %d, %v", len(again), err)
	}
	if _, err := a.GroupMembers(context.Background(), "nobody"); err == nil || !strings.Contains(provider.Reason(err), "does not exist") {
		t.Errorf("unknown group: %v", err)
	}
	e.g.RegisterApp(graphtest.AppRegistration{Tenant: testTenant, ClientID: testClientID, Certificates: []*x509.Certificate{e.cert}, Roles: []string{graphtest.RoleMailReadBasicAll}})
	a = e.app(t, e.config(t))
	if _, err := a.GroupMembers(context.Background(), "sales"); err == nil || !strings.Contains(provider.Reason(err), "GroupMember.Read.All") {
		t.Errorf("without GroupMember.Read.All: %v", err)
	}
}

func TestLoadCertificateAndSecretFiles(t *testing.T) {
	_, pkcs1 := graphtest.NewCertificate(t, true)
	_, pkcs8 := graphtest.NewCertificate(t, false)
	for name, data := range map[string][]byte{"pkcs1": pkcs1, "pkcs8": pkcs8} {
		c, err := graph.LoadCertificate(writeFile(t, name+".pem", data, 0o600))
		if err != nil || len(c.Thumbprint()) != 43 || len(c.SHA1Thumbprint()) != 40 || c.NotAfter().Before(time.Now()) {
			t.Errorf("%s: %v", name, err)
		}
		if s := fmt.Sprint(c); strings.Contains(s, "PRIVATE") || !strings.Contains(s, c.Thumbprint()) {
			t.Errorf("%s prints as %q", name, s)
		}
	}
	keyPart := strings.Split(string(pkcs8), "\n")[1] // a line of the key's base64
	p := writeFile(t, "loose.pem", pkcs8, 0o644)
	_, err := graph.LoadCertificate(p)
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+p) || !strings.Contains(err.Error(), "0644") || strings.Contains(err.Error(), keyPart) {
		t.Errorf("a 0644 key file: %v", err)
	}
	keyOnly := strings.SplitAfter(string(pkcs8), "-----END PRIVATE KEY-----\n")[0]
	_, other := graphtest.NewCertificate(t, false)
	otherCert := "-----BEGIN CERTIFICATE-----" + strings.Split(string(other), "-----BEGIN CERTIFICATE-----")[1]
	for name, data := range map[string]string{
		"no certificate":      keyOnly,
		"no key":              otherCert,
		"mismatched":          keyOnly + otherCert,
		"not pem":             "hello",
		"encrypted":           "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
		"broken key":          "-----BEGIN PRIVATE KEY-----\n" + keyPart + "\n-----END PRIVATE KEY-----\n" + otherCert,
		"group readable only": "",
	} {
		if data == "" {
			continue
		}
		_, err := graph.LoadCertificate(writeFile(t, "bad.pem", []byte(data), 0o600))
		if err == nil || strings.Contains(err.Error(), keyPart) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := graph.LoadCertificate(writeFile(t, "g.pem", pkcs8, 0o640)); err == nil {
		t.Error("a group-readable key file was accepted")
	}
	_, err = graph.LoadClientSecret(writeFile(t, "secret", []byte(testSecret), 0o604))
	if err == nil || !strings.Contains(err.Error(), "chmod 600") || strings.Contains(err.Error(), testSecret) {
		t.Errorf("a world-readable secret file: %v", err)
	}
	if _, err := graph.LoadClientSecret(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing secret file: %v", err)
	}
}

func TestNewAppChecksTheConfig(t *testing.T) {
	_, pemData := graphtest.NewCertificate(t, false)
	c, err := graph.ParseCertificate(pemData)
	if err != nil {
		t.Fatal(err)
	}
	ok := graph.AppConfig{Tenant: testTenant, ClientID: testClientID, ClientSecret: "s"}
	cases := map[string]func(*graph.AppConfig){
		"common tenant":     func(c *graph.AppConfig) { c.Tenant = "common" },
		"organizations":     func(c *graph.AppConfig) { c.Tenant = "Organizations" },
		"no tenant":         func(c *graph.AppConfig) { c.Tenant = "" },
		"no credential":     func(c *graph.AppConfig) { c.ClientSecret = "" },
		"two credentials":   func(ac *graph.AppConfig) { ac.Certificate = c },
		"bad client id":     func(c *graph.AppConfig) { c.ClientID = "a b" },
		"http authority":    func(c *graph.AppConfig) { c.Authority = "http://login.example.com" },
		"endpoint with a ?": func(c *graph.AppConfig) { c.Endpoint = "https://graph.example.com/v1.0?x=1" },
	}
	for name, change := range cases {
		cfg := ok
		change(&cfg)
		if _, err := graph.NewApp(cfg); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	a, err := graph.NewApp(ok)
	if err != nil {
		t.Fatal(err)
	}
	if a.Scope() != "https://graph.microsoft.com/.default" || a.TokenURL() != "https://login.microsoftonline.com/"+testTenant+"/oauth2/v2.0/token" {
		t.Errorf("scope %q, token URL %q", a.Scope(), a.TokenURL())
	}
	ok.Endpoint, ok.Authority = "https://graph.microsoft.us/v1.0", "https://login.microsoftonline.us"
	if a, err = graph.NewApp(ok); err != nil || a.Scope() != "https://graph.microsoft.us/.default" {
		t.Errorf("US government: %v, scope %q", err, a.Scope())
	}
	for _, bad := range []string{"", "a/b", "x?y", "two words"} {
		if _, err := a.Mailbox(bad); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("Mailbox(%q): %v", bad, err)
		}
	}
}
