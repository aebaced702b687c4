package auth_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
)

// formServer is a token endpoint that records every form it receives and
// answers with a fresh token pair, or with invalid_grant once told to.
type formServer struct {
	*httptest.Server
	mu     sync.Mutex
	forms  []url.Values
	refuse bool
	n      int
}

func newFormServer(t *testing.T) *formServer {
	f := &formServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.forms = append(f.forms, r.PostForm)
		w.Header().Set("Content-Type", "application/json")
		if f.refuse {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
			return
		}
		f.n++
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at" + string(rune('0'+f.n)), "refresh_token": "rt" + string(rune('0'+f.n)),
			"expires_in": 3599, "token_type": "Bearer", "scope": "a b"})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *formServer) last() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forms[len(f.forms)-1]
}

func googleLike(f *formServer) *auth.Config {
	return &auth.Config{
		ClientID: "cid.apps.googleusercontent.com", ClientSecret: "GOCSPX-not-so-secret",
		Endpoint: auth.Endpoint{AuthURL: f.URL + "/o/oauth2/v2/auth", TokenURL: f.URL + "/token"},
		Scopes:   []string{"a", "b"}, RedirectHost: "127.0.0.1", NoTokenScope: true,
		AuthParams: url.Values{"access_type": {"offline"}, "prompt": {"consent"}, "response_mode": nil},
	}
}

func TestGoogleStyleSignIn(t *testing.T) {
	f := newFormServer(t)
	c := googleLike(f)
	var authURL *url.URL
	c.OpenBrowser = func(ctx context.Context, u string) error {
		authURL, _ = url.Parse(u)
		q := authURL.Query()
		ru, _ := url.Parse(q.Get("redirect_uri"))
		// Only 127.0.0.1 listens: nothing on ::1 for a 127.0.0.1 redirect.
		if conn, err := net.DialTimeout("tcp6", net.JoinHostPort("::1", ru.Port()), 200*time.Millisecond); err == nil {
			conn.Close()
			t.Error("the listener took ::1 too")
		}
		resp, err := http.Get(q.Get("redirect_uri") + "?" + url.Values{"code": {"4/0Ab"}, "state": {q.Get("state")}, "scope": {"a b"}}.Encode())
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	tok, err := c.SignInBrowser(context.Background(), auth.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Scope != "a b" {
		t.Fatalf("token %+v", tok.Scope)
	}
	q := authURL.Query()
	ru, _ := url.Parse(q.Get("redirect_uri"))
	if ru.Hostname() != "127.0.0.1" || ru.Path != "/" || q.Has("response_mode") || q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || q.Has("client_secret") {
		t.Errorf("authorization request %v", q)
	}
	form := f.last()
	if form.Get("client_secret") != c.ClientSecret || form.Has("scope") || form.Get("code_verifier") == "" || form.Get("client_id") != c.ClientID {
		t.Errorf("code redemption form %v", form)
	}

	if _, err := c.Refresh(context.Background(), tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if form := f.last(); form.Get("client_secret") != c.ClientSecret || form.Has("scope") || form.Get("grant_type") != "refresh_token" {
		t.Errorf("refresh form %v", form)
	}
	f.refuse = true
	_, err = c.Refresh(context.Background(), tok.RefreshToken)
	if provider.Classify(err) != provider.ClassGrantGone {
		t.Fatalf("refused refresh: %v", err)
	}
	noSecrets(t, err, c.ClientSecret, tok.RefreshToken)
}

func TestMicrosoftStyleKeepsScopeAndNoSecret(t *testing.T) {
	f := newFormServer(t)
	c := &auth.Config{ClientID: "x", Endpoint: auth.Endpoint{TokenURL: f.URL}, Scopes: []string{"offline_access", "Mail.Read"}}
	if _, err := c.Refresh(context.Background(), "rt"); err != nil {
		t.Fatal(err)
	}
	if form := f.last(); form.Has("client_secret") || form.Get("scope") != "offline_access Mail.Read" {
		t.Errorf("form %v", form)
	}
	u, _ := url.Parse(c.AuthCodeURL("http://localhost:1/", "st", "ch"))
	if u.Query().Get("response_mode") != "query" {
		t.Errorf("response_mode dropped: %v", u.Query())
	}
}

func TestRotationKeepsIssuedAndClientSecret(t *testing.T) {
	f := newFormServer(t)
	c := googleLike(f)
	mem := secrettest.NewMemory()
	issued := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	mem.Set("g", secret.KeyToken, auth.Grant{RefreshToken: "rt0", Scope: "a b", Issued: issued, ClientSecret: "GOCSPX-x"}.Encode())
	ts := auth.NewTokenSource(c, mem, "g")
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	v, _ := mem.Get("g", secret.KeyToken)
	g, err := auth.DecodeGrant(v)
	if err != nil || g.RefreshToken != "rt1" || !g.Issued.Equal(issued) || g.ClientSecret != "GOCSPX-x" || g.Scope != "a b" {
		t.Fatalf("rotated grant %+v %v", g, err)
	}
}

func TestMissingScopes(t *testing.T) {
	want := []string{"https://www.googleapis.com/auth/gmail.metadata", "https://www.googleapis.com/auth/calendar.events.readonly"}
	cases := []struct {
		granted string
		missing []string
	}{
		{strings.Join(want, " "), nil},
		{want[1] + "  " + want[0] + " openid", nil},
		{want[1], want[:1]},
		{"", want},
	}
	for _, tc := range cases {
		if got := auth.MissingScopes(tc.granted, want); !slices.Equal(got, tc.missing) {
			t.Errorf("MissingScopes(%q) = %v, want %v", tc.granted, got, tc.missing)
		}
	}
}
