package salesforce_test

import (
	"bytes"
	"context"
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
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
	"github.com/inboxsync/inboxsync/sync/provider"
)

const consumerKey = "3MVG9org.consumer.key"

type orgEnv struct {
	sf      *sftest.Server
	cfg     salesforce.OrgConfig
	clock   *clock
	keyPEM  []byte
	capture *capture
}

// capture is an http.RoundTripper that keeps the token requests' forms.
type capture struct {
	mu    sync.Mutex
	forms []url.Values
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/services/oauth2/token") {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		f, _ := url.ParseQuery(string(b))
		c.mu.Lock()
		c.forms = append(c.forms, f)
		c.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (c *capture) last(t *testing.T) url.Values {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.forms) == 0 {
		t.Fatal("no token request")
	}
	return c.forms[len(c.forms)-1]
}

func newOrgEnv(t *testing.T) *orgEnv {
	t.Helper()
	sf := sftest.New(t, sftest.Options{})
	cert, pemData := sftest.NewKeyPair(t)
	sf.RegisterJWT(consumerKey, cert)
	sf.AddUser("admin@contoso.example", "admin@contoso.example", true, true)
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	ck := &clock{now: time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)}
	return &orgEnv{sf: sf, clock: ck, keyPEM: pemData, capture: &capture{}, cfg: salesforce.OrgConfig{
		LoginURL: sf.URL, ClientID: consumerKey, Certificate: path, IntegrationUser: "admin@contoso.example",
		Now: ck.Now, Sleep: ck.Sleep,
	}}
}

func (e *orgEnv) org(t *testing.T) *salesforce.Org {
	t.Helper()
	o, err := salesforce.NewOrg(e.cfg, &http.Client{Transport: e.capture})
	if err != nil {
		t.Fatalf("NewOrg: %v", err)
	}
	return o
}

func recorder(t *testing.T, o *salesforce.Org, username string) *salesforce.Client {
	t.Helper()
	c, err := o.Recorder(username)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOrgRecordsAreOwnedByTheirUser(t *testing.T) {
	e := newOrgEnv(t)
	alice := e.sf.AddUser("alice@contoso.example.sf", "alice@contoso.example", true, true)
	bob := e.sf.AddUser("bob@contoso.example.sf", "bob@contoso.example", true, true)
	o := e.org(t)
	ctx := context.Background()
	for _, u := range []struct{ name, id string }{{"alice@contoso.example.sf", alice}, {"bob@contoso.example.sf", bob}} {
		c := recorder(t, o, u.name)
		res, err := c.Create(ctx, []crm.Record{{Object: "Task", Fields: map[string]any{"Subject": "Call " + u.name, "Status": "Completed"}}})
		if err != nil || len(res) != 1 || res[0].Err != nil {
			t.Fatalf("Create as %s: %+v, %v", u.name, res, err)
		}
		rec, ok := e.sf.Get(res[0].ID)
		if !ok || rec.Fields["OwnerId"] != u.id || rec.Fields["CreatedById"] != u.id {
			t.Fatalf("the Task created as %s: owner %v, created by %v; want %s", u.name, rec.Fields["OwnerId"], rec.Fields["CreatedById"], u.id)
		}
		id, err := c.Identity()
		if err != nil || id.UserID != u.id || id.InstanceURL != e.sf.URL || id.OrgID != sftest.OrgID {
			t.Fatalf("Identity of %s = %+v, %v", u.name, id, err)
		}
	}
	// FindEvents asks for the user's own Events only.
	start := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for _, name := range []string{"alice@contoso.example.sf", "bob@contoso.example.sf"} {
		_, err := recorder(t, o, name).Create(ctx, []crm.Record{{Object: "Event", Fields: map[string]any{
			"Subject": "Review", "StartDateTime": start.Format(time.RFC3339), "EndDateTime": start.Add(time.Hour).Format(time.RFC3339)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	found, err := recorder(t, o, "alice@contoso.example.sf").FindEvents(ctx, []string{"Review"})
	if err != nil || len(found) != 1 {
		t.Fatalf("alice's Events named Review: %+v, %v; want her one", found, err)
	}
	if rec, _ := e.sf.Get(found[0].ID); rec.Fields["OwnerId"] != alice {
		t.Fatalf("FindEvents gave an Event of %v", rec.Fields["OwnerId"])
	}
	// One client per user, kept.
	if recorder(t, o, "ALICE@contoso.example.sf") != recorder(t, o, "alice@contoso.example.sf") {
		t.Fatal("Recorder made a second client for the same user")
	}
}

func TestOrgAssertion(t *testing.T) {
	e := newOrgEnv(t)
	e.sf.AddUser("carol@contoso.example", "carol@contoso.example", true, true)
	o := e.org(t)
	before := time.Now()
	if _, err := recorder(t, o, "carol@contoso.example").FindPeople(context.Background(), []string{"x@y.example"}); err != nil {
		t.Fatal(err)
	}
	f := e.capture.last(t)
	if f.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || f.Get("client_id") != "" || f.Get("client_secret") != "" {
		t.Fatalf("token request form: %v", f)
	}
	parts := strings.Split(f.Get("assertion"), ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a JWS", f.Get("assertion"))
	}
	var header map[string]any
	var claims struct {
		Iss, Sub, Aud string
		Exp           int64
	}
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		t.Fatalf("assertion header %s claims %s", hb, cb)
	}
	if header["alg"] != "RS256" || claims.Iss != consumerKey || claims.Sub != "carol@contoso.example" || claims.Aud != e.sf.URL {
		t.Fatalf("assertion header %v claims %+v", header, claims)
	}
	if exp := time.Unix(claims.Exp, 0); exp.Before(before) || exp.After(time.Now().Add(3*time.Minute)) {
		t.Fatalf("exp %v is not within 3 minutes of now", exp)
	}
}

func TestAudience(t *testing.T) {
	for in, want := range map[string]string{
		"https://login.salesforce.com":                        "https://login.salesforce.com",
		"https://login.salesforce.com/":                       "https://login.salesforce.com",
		"https://test.salesforce.com":                         "https://test.salesforce.com",
		"https://contoso.my.salesforce.com":                   "https://login.salesforce.com",
		"https://contoso--uat.sandbox.my.salesforce.com":      "https://test.salesforce.com",
		"https://contoso--uat.my.salesforce.com":              "https://test.salesforce.com",
		"https://contoso.my.site.com/customers":               "https://contoso.my.site.com/customers",
		"http://127.0.0.1:4000":                               "http://127.0.0.1:4000",
		"https://CONTOSO--Dev.Sandbox.My.Salesforce.com/path": "https://test.salesforce.com",
	} {
		if got := salesforce.Audience(in); got != want {
			t.Errorf("Audience(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestOrgTokensAreKeptAndRenewed(t *testing.T) {
	e := newOrgEnv(t)
	e.sf.AddUser("dan@contoso.example", "dan@contoso.example", true, true)
	o := e.org(t)
	c := recorder(t, o, "dan@contoso.example")
	ctx := context.Background()
	find := func() {
		t.Helper()
		if _, err := c.FindPeople(ctx, []string{"x@y.example"}); err != nil {
			t.Fatal(err)
		}
	}
	find()
	find()
	if n := e.sf.Count("jwt"); n != 1 {
		t.Fatalf("%d tokens minted for two calls, want 1", n)
	}
	// Before its lifetime ends, a new token is minted.
	e.clock.Advance(salesforce.DefaultTokenLifetime + time.Second)
	find()
	if n := e.sf.Count("jwt"); n != 2 {
		t.Fatalf("%d tokens after the lifetime, want 2", n)
	}
	// A session Salesforce ended is replaced once, and the call succeeds.
	e.sf.ExpireSessions()
	find()
	if n := e.sf.Count("jwt"); n != 3 || c.Refreshes() != 3 {
		t.Fatalf("%d tokens (%d refreshes) after the session expired, want 3", n, c.Refreshes())
	}
}

func TestOrgUserRefusals(t *testing.T) {
	e := newOrgEnv(t)
	e.sf.AddUser("ok@contoso.example", "ok@contoso.example", true, true)
	e.sf.AddUser("np@contoso.example", "np@contoso.example", true, false)
	e.sf.AddUser("gone@contoso.example", "gone@contoso.example", false, true)
	o := e.org(t)
	ctx := context.Background()
	for _, tc := range []struct {
		user  string
		want  salesforce.UserProblem
		words string
	}{
		{"np@contoso.example", salesforce.UserNotApproved, "pre-authorize the app for the user's profile"},
		{"nobody@contoso.example", salesforce.UserNotApproved, "check the username"},
		{"gone@contoso.example", salesforce.UserInactive, "is inactive"},
	} {
		_, err := recorder(t, o, tc.user).FindPeople(ctx, []string{"x@y.example"})
		var ue *salesforce.UserError
		if !errors.As(err, &ue) || ue.Problem != tc.want || ue.Username != tc.user || errors.Is(err, salesforce.ErrOrgRefused) {
			t.Fatalf("%s: %v (%#v); want a UserError %d", tc.user, err, ue, tc.want)
		}
		if provider.Classify(err) != provider.ClassGrantGone || !strings.Contains(provider.Reason(err), tc.words) || !strings.Contains(provider.Reason(err), tc.user) {
			t.Fatalf("%s: class %v, reason %q", tc.user, provider.Classify(err), provider.Reason(err))
		}
	}
	// The others go on.
	if _, err := recorder(t, o, "ok@contoso.example").FindPeople(ctx, []string{"x@y.example"}); err != nil {
		t.Fatalf("a pre-authorized user after others were refused: %v", err)
	}
	// A refused user is answered from memory for a while, then asked again.
	n := e.sf.Count("jwt")
	recorder(t, o, "np@contoso.example").FindPeople(ctx, nil)
	if e.sf.Count("jwt") != n {
		t.Fatal("a refused user was asked again at once")
	}
	e.sf.SetPreauthorized("np@contoso.example", true)
	e.clock.Advance(2 * time.Minute)
	if _, err := recorder(t, o, "np@contoso.example").FindPeople(ctx, []string{"x@y.example"}); err != nil {
		t.Fatalf("after the user was pre-authorized: %v", err)
	}
}

func TestOrgRefusals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(e *orgEnv)
		words string
	}{
		{"certificate", func(e *orgEnv) {
			other, _ := sftest.NewKeyPair(t)
			e.sf.ReplaceJWTCertificate(consumerKey, other)
		}, "certificate uploaded to the External Client App"},
		{"consumer key", func(e *orgEnv) { e.cfg.ClientID = "3MVG9unknown" }, "does not know the consumer key 3MVG9unknown"},
		{"audience", func(e *orgEnv) { e.cfg.Audience = "https://login.salesforce.com" }, "audience"},
		{"not installed", func(e *orgEnv) { e.sf.SetInstalled(false) }, "not installed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOrgEnv(t)
			e.sf.AddUser("u1@contoso.example", "u1@contoso.example", true, true)
			e.sf.AddUser("u2@contoso.example", "u2@contoso.example", true, true)
			tc.setup(e)
			o := e.org(t)
			_, err := recorder(t, o, "u1@contoso.example").FindPeople(ctx, []string{"x@y.example"})
			var ue *salesforce.UserError
			if !errors.Is(err, salesforce.ErrOrgRefused) || errors.As(err, &ue) || provider.Classify(err) != provider.ClassGrantGone {
				t.Fatalf("%v: want ErrOrgRefused, not a UserError", err)
			}
			if !strings.Contains(provider.Reason(err), tc.words) {
				t.Fatalf("reason %q lacks %q", provider.Reason(err), tc.words)
			}
			// The signed assertion is a credential for 3 minutes: never in
			// an error.
			if sig := strings.Split(e.capture.last(t).Get("assertion"), "."); len(sig) != 3 || strings.Contains(err.Error(), sig[2]) || strings.Contains(err.Error(), sig[1]) {
				t.Fatalf("the error shows the assertion: %v", err)
			}
			// Remembered: the next user does not ask again.
			n := e.sf.Count("token")
			_, err = recorder(t, o, "u2@contoso.example").FindPeople(ctx, []string{"x@y.example"})
			if !errors.Is(err, salesforce.ErrOrgRefused) || e.sf.Count("token") != n {
				t.Fatalf("second user: %v, %d more token requests", err, e.sf.Count("token")-n)
			}
			if _, err := o.Check(ctx); !errors.Is(err, salesforce.ErrOrgRefused) {
				t.Fatalf("Check: %v", err)
			}
		})
	}
	// The integration user refused: org-wide for Check and Users.
	e := newOrgEnv(t)
	e.sf.SetPreauthorized("admin@contoso.example", false)
	o := e.org(t)
	_, err := o.Check(ctx)
	var ue *salesforce.UserError
	if !errors.Is(err, salesforce.ErrOrgRefused) || errors.As(err, &ue) || !strings.Contains(provider.Reason(err), "The integration user cannot sign in") {
		t.Fatalf("Check with the integration user not pre-authorized: %v", err)
	}
	if _, err := o.Users(ctx, []string{"a@contoso.example"}); !errors.Is(err, salesforce.ErrOrgRefused) {
		t.Fatalf("Users with the integration user not pre-authorized: %v", err)
	}
}

func TestOrgKeyFile(t *testing.T) {
	e := newOrgEnv(t)
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	keyOnly := bytes.SplitAfter(e.keyPEM, []byte("-----END PRIVATE KEY-----\n"))[0]
	_, otherPEM := sftest.NewKeyPair(t)
	otherCert := otherPEM[bytes.Index(otherPEM, []byte("-----BEGIN CERTIFICATE")):]
	for _, tc := range []struct {
		name, path, want string
	}{
		{"readable by others", write("open.pem", e.keyPEM, 0o644), "can be read by other users (mode 0644): make it readable by its owner only with: chmod 600"},
		{"missing", filepath.Join(dir, "none.pem"), "does not exist"},
		{"no key", write("cert.pem", otherCert, 0o600), "holds no PEM private key"},
		{"mismatched certificate", write("mixed.pem", append(append([]byte{}, keyOnly...), otherCert...), 0o600), "no certificate in it matches the private key"},
	} {
		cfg := e.cfg
		cfg.Certificate = tc.path
		_, err := salesforce.NewOrg(cfg, nil)
		if err == nil || !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "PRIVATE KEY-----") || strings.Contains(err.Error(), string(keyOnly[30:60]))) {
			t.Errorf("%s: the error shows key material: %v", tc.name, err)
		}
	}
	// A file with the key alone will do.
	cfg := e.cfg
	cfg.Certificate = write("key-only.pem", keyOnly, 0o600)
	o, err := salesforce.NewOrg(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Check(context.Background()); err != nil {
		t.Fatalf("Check with the key alone: %v", err)
	}
	if !o.CertificateExpiry().IsZero() || e.org(t).CertificateExpiry().IsZero() {
		t.Fatal("CertificateExpiry: want zero without a certificate, set with one")
	}
	// Settings that cannot work.
	for _, bad := range []func(*salesforce.OrgConfig){
		func(c *salesforce.OrgConfig) { c.IntegrationUser = "" },
		func(c *salesforce.OrgConfig) { c.ClientID = "" },
		func(c *salesforce.OrgConfig) { c.LoginURL = "ftp://login.salesforce.com" },
		func(c *salesforce.OrgConfig) { c.Certificate = "" },
	} {
		cfg := e.cfg
		bad(&cfg)
		if _, err := salesforce.NewOrg(cfg, nil); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("NewOrg(%+v) = %v; want ErrInvalid", cfg, err)
		}
	}
}

func TestOrgUsersAndResolve(t *testing.T) {
	e := newOrgEnv(t)
	var addrs []string
	for i := range 120 {
		a := fmt.Sprintf("user%03d@contoso.example", i)
		e.sf.AddUser(a+".sf", strings.ToUpper(a[:1])+a[1:], true, true)
		addrs = append(addrs, a)
	}
	e.sf.AddUser("old@contoso.example", "old@contoso.example", false, true)
	e.sf.AddUser("twin1@contoso.example", "twin@contoso.example", true, true)
	e.sf.AddUser("twin2@contoso.example", "twin@contoso.example", true, true)
	e.sf.AddUser("shared@contoso.example", "shared@contoso.example", true, true)
	e.sf.AddUser("shared.admin@contoso.example", "shared@contoso.example", true, true)
	o := e.org(t)
	ctx := context.Background()
	if _, err := o.Check(ctx); err != nil {
		t.Fatal(err)
	}
	e.sf.ResetCounts()
	all := append(addrs, "old@contoso.example", "twin@contoso.example", "shared@contoso.example", "none@contoso.example")
	users, err := o.Users(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.sf.Count("api"); n != 1 {
		t.Fatalf("%d API requests to look up %d addresses, want 1 (composite)", n, len(all))
	}
	if len(users) != 121 {
		t.Fatalf("%d users found, want 121", len(users))
	}
	if u := users["user007@contoso.example"]; u.Username != "user007@contoso.example.sf" || !u.IsActive || u.ID == "" {
		t.Fatalf("user007: %+v", u)
	}
	if u := users["shared@contoso.example"]; u.Username != "shared@contoso.example" {
		t.Fatalf("an address two users share maps to %+v, want the user whose username it is", u)
	}
	if n, err := o.ActiveUsers(ctx); err != nil || n != 125 { // 120 + admin + twins + shared pair
		t.Fatalf("ActiveUsers = %d, %v", n, err)
	}

	m, err := o.Resolve(ctx, []string{"User001@contoso.example", "old@contoso.example", "twin@contoso.example", "none@contoso.example", "mapped@contoso.example", "mapgone@contoso.example", "mapold@contoso.example"},
		map[string]string{"mapped@contoso.example": "twin2@contoso.example", "mapgone@contoso.example": "ghost@contoso.example", "mapold@contoso.example": "old@contoso.example"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]struct {
		user    string
		problem salesforce.UserProblem
		words   string
	}{
		"user001@contoso.example": {user: "user001@contoso.example.sf"},
		"old@contoso.example":     {problem: salesforce.UserUnknown, words: "No active Salesforce user has this address"},
		"twin@contoso.example":    {problem: salesforce.UserAmbiguous, words: "2 active Salesforce users have this address (twin1@contoso.example, twin2@contoso.example)"},
		"none@contoso.example":    {problem: salesforce.UserUnknown, words: "inboxsync org crm map none@contoso.example USERNAME"},
		"mapped@contoso.example":  {user: "twin2@contoso.example"},
		"mapgone@contoso.example": {problem: salesforce.UserUnknown, words: "No Salesforce user has the username ghost@contoso.example"},
		"mapold@contoso.example":  {problem: salesforce.UserInactive, words: "is inactive"},
	} {
		got := m[addr]
		if got.User.Username != want.user || got.Problem != want.problem || !strings.Contains(got.Reason, want.words) || got.OK() != (want.problem == 0) {
			t.Errorf("%s: %+v; want user %q problem %d %q", addr, got, want.user, want.problem, want.words)
		}
	}
	if !m["mapped@contoso.example"].Override || m["user001@contoso.example"].Override {
		t.Error("Override is not set for mapped addresses alone")
	}
}

// countingBudget is a Budget that counts its uses: a store of the shared
// state other than this process's.
type countingBudget struct {
	salesforce.MemoryBudget
	mu      sync.Mutex
	updates int
}

func (b *countingBudget) Update(ctx context.Context, f func(*salesforce.BudgetState)) error {
	b.mu.Lock()
	b.updates++
	b.mu.Unlock()
	return b.MemoryBudget.Update(ctx, f)
}

func TestOrgSharedBudget(t *testing.T) {
	e := newOrgEnv(t)
	e.sf.AddUser("a@contoso.example", "a@contoso.example", true, true)
	e.sf.AddUser("b@contoso.example", "b@contoso.example", true, true)
	shared := &countingBudget{}
	e.cfg.APIBudget = shared
	// Two Orgs (two workers) with one budget store.
	o1, o2 := e.org(t), e.org(t)
	a, b := recorder(t, o1, "a@contoso.example"), recorder(t, o2, "b@contoso.example")
	ctx := context.Background()
	if _, err := a.FindPeople(ctx, []string{"x@y.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.FindPeople(ctx, []string{"x@y.example"}); err != nil {
		t.Fatal(err)
	}
	// The emulator counts every token's calls in one daily figure.
	if used, _ := e.sf.Usage(); used != 2 {
		t.Fatalf("server usage %d after a call by each user, want 2", used)
	}
	if used, limit := b.Usage(); used != 2 || limit != 100000 {
		t.Fatalf("b's Usage = %d/%d, want 2/100000", used, limit)
	}
	// a's answer passes 90 %: b stops too, without sending.
	e.sf.SetUsage(89, 100)
	if _, err := a.FindPeople(ctx, []string{"x@y.example"}); err != nil {
		t.Fatal(err)
	}
	n := e.sf.Count("api")
	_, err := b.FindPeople(ctx, []string{"x@y.example"})
	if provider.Classify(err) != provider.ClassThrottled || provider.RetryAfter(err) != 30*time.Minute || e.sf.Count("api") != n {
		t.Fatalf("b past the shared budget: %v, retry after %v, %d requests", err, provider.RetryAfter(err), e.sf.Count("api")-n)
	}
	if !a.ThrottledUntil().Equal(b.ThrottledUntil()) || a.ThrottledUntil().IsZero() {
		t.Fatalf("ThrottledUntil: a %v, b %v", a.ThrottledUntil(), b.ThrottledUntil())
	}
	// After the wait, still high: the next back-off is 2.5 h, for both.
	e.clock.Advance(30 * time.Minute)
	e.sf.SetUsage(95, 100)
	if _, err := b.FindPeople(ctx, []string{"x@y.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.FindPeople(ctx, []string{"x@y.example"}); provider.RetryAfter(err) != 150*time.Minute {
		t.Fatalf("a after b's answer at 96%%: %v, retry after %v; want 2.5 h", err, provider.RetryAfter(err))
	}
	// Past the allocation: REQUEST_LIMIT_EXCEEDED backs off too.
	e.clock.Advance(150 * time.Minute)
	e.sf.SetUsage(100, 100)
	if _, err := a.FindPeople(ctx, []string{"x@y.example"}); provider.Classify(err) != provider.ClassThrottled {
		t.Fatalf("past the allocation: %v", err)
	}
	if s, _ := shared.Load(ctx); s.Throttles != 3 || s.Used != 101 || s.Limit != 100 {
		t.Fatalf("shared state %+v; want 3 back-offs in a row, usage 101/100", s)
	}
	if shared.updates == 0 {
		t.Fatal("the clients did not use the shared budget")
	}
}

func TestBudgetStateRules(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var s salesforce.BudgetState
	s.Note(now, 50, 100, 0.9)
	if s.Waiting(now) || s.Used != 50 {
		t.Fatalf("at 50%%: %+v", s)
	}
	s.Note(now, 90, 100, 0.9)
	if !s.Waiting(now) || !s.Until.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("at 90%%: %+v", s)
	}
	// While waiting, more high figures do not lengthen the wait.
	s.Note(now.Add(time.Minute), 99, 100, 0.9)
	if !s.Until.Equal(now.Add(30 * time.Minute)) {
		t.Fatalf("a second high figure moved the wait: %+v", s)
	}
	later := now.Add(31 * time.Minute)
	if until := s.Exceeded(later); !until.Equal(later.Add(150 * time.Minute)) {
		t.Fatalf("Exceeded after the first wait: until %v", until)
	}
	s.Note(later.Add(3*time.Hour), 10, 100, 0.9)
	if s.Throttles != 0 {
		t.Fatalf("usage dropped but the back-offs go on: %+v", s)
	}
}
