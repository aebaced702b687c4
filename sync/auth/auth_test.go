package auth_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/auth/authtest"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
)

var scopes = []string{"offline_access", "User.Read", "Mail.Read", "Calendars.Read"}

func config(s *authtest.Server, tenant string) *auth.Config {
	base := s.URL + "/" + tenant + "/oauth2/v2.0/"
	return &auth.Config{
		ClientID:   s.ClientID,
		Endpoint:   auth.Endpoint{AuthURL: base + "authorize", TokenURL: base + "token", DeviceAuthURL: base + "devicecode"},
		Scopes:     scopes,
		HTTPClient: s.Client(),
		Explain: func(te *auth.TokenError) string {
			if te.HasCode(70043) {
				return "sign-in frequency policy"
			}
			return ""
		},
	}
}

// recorder collects prompts.
type recorder struct {
	mu      sync.Mutex
	prompts []auth.Prompt
}

func (r *recorder) add(p auth.Prompt) {
	r.mu.Lock()
	r.prompts = append(r.prompts, p)
	r.mu.Unlock()
}

func (r *recorder) all() []auth.Prompt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]auth.Prompt(nil), r.prompts...)
}

// portOf returns the loopback port named in an authorization URL.
func portOf(t *testing.T, authURL string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	ru, err := url.Parse(u.Query().Get("redirect_uri"))
	if err != nil {
		t.Fatal(err)
	}
	return ru.Port()
}

func assertReleased(t *testing.T, port string) {
	t.Helper()
	for _, host := range []string{"127.0.0.1", "::1"} {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), time.Second)
		if err == nil {
			c.Close()
			t.Errorf("the loopback port %s on %s still accepts connections", port, host)
		}
	}
}

func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains a secret", err)
		}
	}
}

func TestBrowserSignIn(t *testing.T) {
	s := authtest.New(t)
	b := s.Browser()
	c := config(s, "organizations")
	c.OpenBrowser = b.Open
	var rec recorder
	tok, err := c.SignInBrowser(context.Background(), auth.SignInOptions{Progress: rec.add})
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Expiry.IsZero() {
		t.Fatalf("token incomplete: access %v refresh %v expiry %v", tok.AccessToken != "", tok.RefreshToken != "", tok.Expiry)
	}
	if !s.ValidAccess(tok.AccessToken) || !s.ValidRefresh(tok.RefreshToken) {
		t.Fatal("the server does not know the tokens")
	}
	ps := rec.all()
	if len(ps) != 1 || ps[0].Message != auth.MsgBrowser || !strings.HasPrefix(ps[0].URL, s.URL+"/organizations/oauth2/v2.0/authorize?") {
		t.Fatalf("prompts: %+v", ps)
	}
	q := s.LastAuthorize()
	ru, _ := url.Parse(q.Get("redirect_uri"))
	if ru.Scheme != "http" || ru.Hostname() != "localhost" || ru.Path != "/" || q.Get("code_challenge_method") != "S256" || len(q.Get("state")) < 22 {
		t.Fatalf("authorization request: %v", q)
	}
	if q.Get("scope") != strings.Join(scopes, " ") {
		t.Errorf("scope %q", q.Get("scope"))
	}
	for i := 0; b.Opened() == 0 && i < 100; i++ {
		time.Sleep(10 * time.Millisecond) // the browser reads the page after the app has its answer
	}
	if st, page := b.Last(); st != 200 || !strings.Contains(page, "You can close this tab") {
		t.Errorf("browser page: %d %q", st, page)
	}
	assertReleased(t, portOf(t, ps[0].URL))
}

// followWith answers the loopback listener with a crafted callback.
func followWith(t *testing.T, authURL string, query url.Values) {
	t.Helper()
	u := "http://127.0.0.1:" + portOf(t, authURL) + "/?" + query.Encode()
	resp, err := http.Get(u)
	if err != nil {
		t.Errorf("callback: %v", err)
		return
	}
	resp.Body.Close()
}

func TestBrowserSignInFailures(t *testing.T) {
	s := authtest.New(t)
	cases := []struct {
		name    string
		setup   func()
		respond func(t *testing.T, authURL string, cancel func())
		timeout time.Duration
		is      error
		class   provider.Class
		words   string
	}{
		{name: "wrong state", respond: func(t *testing.T, u string, _ func()) {
			followWith(t, u, url.Values{"code": {"abc"}, "state": {"not-the-state"}})
		}, is: auth.ErrStateMismatch, words: "does not belong"},
		{name: "access denied", setup: func() { s.FailNextAuthorize("access_denied", 65004, "The user declined to consent.") },
			respond: follow(s), is: auth.ErrDeclined, words: "declined"},
		{name: "consent required", setup: func() { s.FailNextAuthorize("consent_required", 65001, "The user or administrator has not consented.") },
			respond: follow(s), class: provider.ClassGrantGone, words: "sign in again"},
		{name: "interaction required (sign-in frequency)", setup: func() { s.FailNextAuthorize("interaction_required", 70043, "Sign-in frequency.") },
			respond: follow(s), class: provider.ClassGrantGone, words: "sign-in frequency policy"},
		{name: "cancel", respond: func(t *testing.T, u string, cancel func()) { cancel() }, is: auth.ErrCancelled, words: "cancelled"},
		{name: "timeout", respond: func(*testing.T, string, func()) {}, timeout: 300 * time.Millisecond, is: auth.ErrTimeout, words: "start the sign-in again"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := config(s, "common")
			var authURL string
			_, err := c.SignInBrowser(ctx, auth.SignInOptions{NoBrowser: true, Timeout: tc.timeout, Progress: func(p auth.Prompt) {
				authURL = p.URL
				go tc.respond(t, p.URL, cancel)
			}})
			if err == nil {
				t.Fatal("sign-in succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			if tc.is == nil && provider.Classify(err) != tc.class {
				t.Errorf("error %v: class %v, want %v", err, provider.Classify(err), tc.class)
			}
			if !strings.Contains(err.Error(), tc.words) {
				t.Errorf("error %q lacks %q", err, tc.words)
			}
			assertReleased(t, portOf(t, authURL))
		})
	}
}

// follow returns a responder that follows the link with the test browser.
func follow(s *authtest.Server) func(t *testing.T, u string, _ func()) {
	b := s.Browser()
	return func(t *testing.T, u string, _ func()) { b.Open(context.Background(), u) }
}

func TestBrowserOpenFailureIsReported(t *testing.T) {
	s := authtest.New(t)
	c := config(s, "organizations")
	c.OpenBrowser = func(context.Context, string) error { return errors.New("no xdg-open") }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rec recorder
	_, err := c.SignInBrowser(ctx, auth.SignInOptions{Progress: func(p auth.Prompt) {
		rec.add(p)
		if p.Message == auth.MsgBrowserFailed {
			go s.Browser().Open(context.Background(), p.URL)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if ps := rec.all(); len(ps) != 2 || ps[1].URL != ps[0].URL {
		t.Fatalf("prompts: %+v", ps)
	}
}

func TestBlockingBrowserDoesNotBlockSignIn(t *testing.T) {
	s := authtest.New(t)
	c := config(s, "organizations")
	release := make(chan struct{})
	defer close(release)
	b := s.Browser()
	c.OpenBrowser = func(ctx context.Context, u string) error {
		go b.Open(context.Background(), u)
		<-release // like xdg-open waiting for the browser to exit
		return nil
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.SignInBrowser(context.Background(), auth.SignInOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sign-in waited for the browser opener")
	}
}

func TestDeviceSignIn(t *testing.T) {
	cases := []struct {
		name   string
		act    func(s *authtest.Server, code string)
		slow   int
		is     error
		sleeps []time.Duration
	}{
		{name: "approved after pending", act: func(s *authtest.Server, code string) { s.ApproveDevice(code) }, sleeps: []time.Duration{2 * time.Second, 2 * time.Second}},
		{name: "slow down", act: func(s *authtest.Server, code string) { s.ApproveDevice(code) }, slow: 1, sleeps: []time.Duration{2 * time.Second, 2 * time.Second, 7 * time.Second}},
		{name: "declined", act: func(s *authtest.Server, code string) { s.DeclineDevice(code) }, is: auth.ErrDeclined},
		{name: "expired", act: func(s *authtest.Server, code string) { s.ExpireDevice(code) }, is: auth.ErrExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := authtest.New(t)
			s.Interval = 2
			c := config(s, "organizations")
			var code string
			var sleeps []time.Duration
			c.Sleep = func(ctx context.Context, d time.Duration) error {
				sleeps = append(sleeps, d)
				if len(sleeps) == 2 {
					if tc.slow > 0 {
						s.SlowDownNext(tc.slow)
					} else {
						tc.act(s, code)
					}
				}
				if len(sleeps) == 3 && tc.slow > 0 {
					tc.act(s, code)
				}
				return ctx.Err()
			}
			var rec recorder
			tok, err := c.SignInDevice(context.Background(), auth.SignInOptions{Progress: func(p auth.Prompt) {
				rec.add(p)
				code = p.UserCode
			}})
			ps := rec.all()
			if len(ps) != 1 || ps[0].UserCode == "" || ps[0].URL != s.URL+"/devicelogin" || ps[0].Message != auth.MsgDevice {
				t.Fatalf("prompts: %+v", ps)
			}
			if tc.is != nil {
				if !errors.Is(err, tc.is) || provider.Reason(err) == "" {
					t.Fatalf("error %v, want %v with a reason", err, tc.is)
				}
				return
			}
			if err != nil || tok.RefreshToken == "" {
				t.Fatalf("device sign-in: %v", err)
			}
			if len(sleeps) != len(tc.sleeps) {
				t.Fatalf("polled after %v, want %v", sleeps, tc.sleeps)
			}
			for i := range sleeps {
				if sleeps[i] != tc.sleeps[i] {
					t.Fatalf("polled after %v, want %v", sleeps, tc.sleeps)
				}
			}
		})
	}
}

func TestDeviceSignInCancel(t *testing.T) {
	s := authtest.New(t)
	c := config(s, "organizations")
	ctx, cancel := context.WithCancel(context.Background())
	c.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	_, err := c.SignInDevice(ctx, auth.SignInOptions{})
	if !errors.Is(err, auth.ErrCancelled) {
		t.Fatalf("error %v", err)
	}
}

// signedIn returns a token source over a fresh browser sign-in.
func signedIn(t *testing.T, s *authtest.Server) (*auth.TokenSource, *secrettest.Memory, string) {
	t.Helper()
	c := config(s, "organizations")
	c.OpenBrowser = s.Browser().Open
	tok, err := c.SignInBrowser(context.Background(), auth.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mem := secrettest.NewMemory()
	mem.Set("work", secret.KeyToken, auth.Grant{RefreshToken: tok.RefreshToken, Scope: tok.Scope}.Encode())
	return auth.NewTokenSource(c, mem, "work"), mem, tok.RefreshToken
}

func storedRefresh(t *testing.T, mem *secrettest.Memory) string {
	t.Helper()
	v, err := mem.Get("work", secret.KeyToken)
	if err != nil {
		t.Fatal(err)
	}
	g, err := auth.DecodeGrant(v)
	if err != nil {
		t.Fatal(err)
	}
	return g.RefreshToken
}

func TestTokenSourcePersistsEveryRotation(t *testing.T) {
	s := authtest.New(t)
	s.AccessLifetime = time.Second // shorter than the renewal margin: every call refreshes
	ts, mem, first := signedIn(t, s)
	seen := map[string]bool{first: true}
	for i := range 3 {
		at, err := ts.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !s.ValidAccess(at) {
			t.Fatal("invalid access token")
		}
		rt := storedRefresh(t, mem)
		if seen[rt] || !s.ValidRefresh(rt) {
			t.Fatalf("refresh %d: the keyring holds a used or unknown refresh token", i)
		}
		seen[rt] = true
	}
	// A new source (a new session) starts from the keyring: the emulator
	// refuses replaced refresh tokens, so this only works if the newest
	// was persisted.
	ts2 := auth.NewTokenSource(config(s, "organizations"), mem, "work")
	if _, err := ts2.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestTokenSourceCachesAndInvalidates(t *testing.T) {
	s := authtest.New(t)
	ts, _, _ := signedIn(t, s)
	a1, err := ts.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := ts.Token(context.Background())
	if a1 != a2 || s.Refreshes() != 1 {
		t.Fatalf("cached token not reused: %d refreshes", s.Refreshes())
	}
	ts.Invalidate(a1)
	a3, _ := ts.Token(context.Background())
	if a3 == a1 || s.Refreshes() != 2 {
		t.Fatalf("invalidated token reused: %d refreshes", s.Refreshes())
	}
}

func TestTokenSourceErrors(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(s *authtest.Server, mem *secrettest.Memory)
		class  provider.Class
		words  string
	}{
		{"revoked", func(s *authtest.Server, _ *secrettest.Memory) { s.Revoke(50173) }, provider.ClassGrantGone, "sign in again"},
		{"sign-in frequency", func(s *authtest.Server, _ *secrettest.Memory) { s.Revoke(70043) }, provider.ClassGrantGone, "sign-in frequency policy"},
		{"no grant in the keyring", func(_ *authtest.Server, mem *secrettest.Memory) { mem.Delete("work", secret.KeyToken) }, provider.ClassGrantGone, "no saved sign-in"},
		{"unreadable grant", func(_ *authtest.Server, mem *secrettest.Memory) { mem.Set("work", secret.KeyToken, "garbage") }, provider.ClassGrantGone, "unreadable"},
		{"temporarily unavailable", func(s *authtest.Server, _ *secrettest.Memory) {
			s.FailNextToken(503, "temporarily_unavailable", 50196, "The server is busy.", nil)
		}, provider.ClassOffline, ""},
		{"server error", func(s *authtest.Server, _ *secrettest.Memory) {
			s.FailNextToken(500, "server_error", 0, "Oops.", nil)
		}, provider.ClassOffline, ""},
		{"throttled", func(s *authtest.Server, _ *secrettest.Memory) {
			s.FailNextToken(429, "", 0, "Too many requests.", http.Header{"Retry-After": {"7"}})
		}, provider.ClassThrottled, ""},
		{"unknown client", func(s *authtest.Server, _ *secrettest.Memory) { s.ClientID = "another" }, provider.ClassFailed, "client ID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := authtest.New(t)
			ts, mem, rt := signedIn(t, s)
			tc.break_(s, mem)
			_, err := ts.Token(context.Background())
			if err == nil || provider.Classify(err) != tc.class {
				t.Fatalf("error %v (class %v), want class %v", err, provider.Classify(err), tc.class)
			}
			if !strings.Contains(err.Error(), tc.words) {
				t.Errorf("error %q lacks %q", err, tc.words)
			}
			if tc.class == provider.ClassThrottled && provider.RetryAfter(err) != 7*time.Second {
				t.Errorf("retry after %v", provider.RetryAfter(err))
			}
			noSecrets(t, err, rt)
		})
	}
}

func TestTokenSourceKeyringFailure(t *testing.T) {
	s := authtest.New(t)
	ts, mem, _ := signedIn(t, s)
	mem.SetFailure(&secret.UnavailableError{Err: errors.New("locked")})
	if _, err := ts.Token(context.Background()); err == nil || !errors.Is(err, secret.ErrUnavailable) {
		t.Fatalf("error %v", err)
	}
}

func TestGrantRoundTrip(t *testing.T) {
	g := auth.Grant{RefreshToken: "rt", Scope: "a b"}
	got, err := auth.DecodeGrant(g.Encode())
	if err != nil || got != g {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"", "{}", `{"v":2,"refresh_token":"x"}`, "rt-plain"} {
		if _, err := auth.DecodeGrant(bad); !errors.Is(err, auth.ErrBadGrant) {
			t.Errorf("DecodeGrant(%q): %v", bad, err)
		}
	}
}

func TestChallenge(t *testing.T) {
	// RFC 7636 appendix B.
	if got := auth.Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatal(got)
	}
}

func FuzzParseTokenResponse(f *testing.F) {
	f.Add(200, []byte(`{"token_type":"Bearer","access_token":"a","refresh_token":"r","expires_in":3600,"scope":"x"}`))
	f.Add(400, []byte(`{"error":"invalid_grant","error_description":"AADSTS70043: x\r\nTrace ID: y","error_codes":[70043]}`))
	f.Add(200, []byte(`{"access_token":"a","expires_in":"3599"}`))
	f.Add(503, []byte(`<html>busy</html>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		tok, te, err := auth.ParseTokenResponse(status, "application/json", body)
		if te != nil && err != nil {
			t.Fatal("both a token error and an error")
		}
		if te == nil && err == nil && tok.AccessToken == "" {
			t.Fatal("success without an access token")
		}
		if te != nil {
			_ = te.Error()
		}
	})
}

func FuzzParseDeviceResponse(f *testing.F) {
	f.Add(200, []byte(`{"device_code":"d","user_code":"U","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5}`))
	f.Add(400, []byte(`{"error":"invalid_client"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		code, _, u, exp, iv, te, err := auth.ParseDeviceResponse(status, body)
		if te == nil && err == nil && (code == "" || u == "" || exp <= 0 || iv <= 0) {
			t.Fatal("success without code, link or times")
		}
	})
}
