package gmailtest

// Google's OAuth endpoints: authorize (PKCE, consent) and token (codes,
// refreshes, rotation, revocation).

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// --- OAuth ---

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.lastAuthorize = q
	fail := s.nextAuthorize
	s.nextAuthorize = ""
	want := s.Grant
	s.mu.Unlock()
	page := func(msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<html><body><h1>Access blocked: Authorization Error</h1><p>%s</p></body></html>", msg)
	}
	if q.Get("client_id") != s.ClientID {
		page("Error 401: invalid_client. The OAuth client was not found.")
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || redirect.Port() == "" || (redirect.Path != "/" && redirect.Path != "") || redirect.RawQuery != "" {
		page("Error 400: redirect_uri_mismatch. You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy.")
		return
	}
	back := func(v url.Values) {
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u := *redirect
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		back(url.Values{"error": {"invalid_request"}, "error_description": {"code_challenge_method must be S256"}})
		return
	case q.Get("state") == "":
		// Google accepts a missing state; the emulator insists so that a
		// client that forgets it fails its tests.
		back(url.Values{"error": {"invalid_request"}, "error_description": {"Missing state"}})
		return
	case q.Get("scope") == "":
		back(url.Values{"error": {"invalid_request"}, "error_description": {"Missing required parameter: scope"}})
		return
	case fail != "":
		back(url.Values{"error": {fail}})
		return
	}
	var granted []string
	for _, sc := range strings.Fields(q.Get("scope")) {
		if want == nil || slices.Contains(want, sc) {
			granted = append(granted, sc)
		}
	}
	code := "4/0A" + random()
	scope := strings.Join(granted, " ")
	s.mu.Lock()
	s.codes[code] = &authCode{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), scope: scope, offline: q.Get("access_type") == "offline"}
	s.mu.Unlock()
	back(url.Values{"code": {code}, "scope": {scope}})
}

func pkce(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Could not read the request.")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastToken = f
	if f.Get("grant_type") == GrantTypeJWTBearer {
		// A service account: no client ID or secret, the signed
		// assertion is the credential.
		if f.Get("assertion") == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: assertion")
			return
		}
		s.jwtBearer(w, f.Get("assertion"))
		return
	}
	switch {
	case f.Get("client_id") != s.ClientID:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	case s.ClientSecret != "" && !f.Has("client_secret"):
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_secret is missing.")
		return
	case s.ClientSecret != "" && f.Get("client_secret") != s.ClientSecret:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Unauthorized")
		return
	}
	switch f.Get("grant_type") {
	case "authorization_code":
		c := s.codes[f.Get("code")]
		switch {
		case c == nil || c.used:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Malformed auth code.")
		case f.Get("redirect_uri") != c.redirect:
			oauthError(w, http.StatusBadRequest, "redirect_uri_mismatch", "Bad Request")
		case pkce(f.Get("code_verifier")) != c.challenge:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
		default:
			c.used = true
			s.issue(w, &grant{scope: c.scope}, c.offline)
		}
	case "refresh_token":
		rt := f.Get("refresh_token")
		g := s.refresh[rt]
		switch {
		case g == nil || g.revoked || s.retired[rt]:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
		default:
			s.refreshes++
			if s.Rotate {
				delete(s.refresh, rt)
				s.retired[rt] = true
			}
			s.issue(w, g, s.Rotate)
		}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+f.Get("grant_type"))
	}
}

// issue answers with an access token for g and, when newRefresh, a new
// refresh token; s.mu is held.
func (s *Server) issue(w http.ResponseWriter, g *grant, newRefresh bool) {
	at := "ya29.a0" + random()
	s.access[at] = g
	out := map[string]any{"access_token": at, "expires_in": int(s.AccessLifetime / time.Second), "scope": g.scope, "token_type": "Bearer"}
	if newRefresh {
		rt := "1//0g" + random()
		s.refresh[rt] = g
		out["refresh_token"] = rt
	}
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	writeJSON(w, http.StatusOK, out)
}

// DenyNextAuthorize makes the next authorization redirect back with
// error=code (access_denied: the user pressed Cancel; admin_policy_enforced).
func (s *Server) DenyNextAuthorize(code string) {
	s.mu.Lock()
	s.nextAuthorize = code
	s.mu.Unlock()
}

// Revoke revokes every grant: refresh tokens answer invalid_grant ("Token
// has been expired or revoked." — the same words Google uses when a
// Testing app's 7 days are over) and access tokens are refused at once.
func (s *Server) Revoke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[string]*grant{s.refresh, s.access} {
		for _, g := range m {
			g.revoked = true
		}
	}
}

// ExpireAccess makes every access token invalid (401) without touching
// the grants: the next request must refresh.
func (s *Server) ExpireAccess() {
	s.mu.Lock()
	s.access = map[string]*grant{}
	s.mu.Unlock()
}

// IssueAccess returns a live access token for scopes without a sign-in
// (benchmarks).
func (s *Server) IssueAccess(scopes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := "ya29.a0" + random()
	s.access[at] = &grant{scope: strings.Join(scopes, " ")}
	return at
}

// LastAuthorize returns the query of the last authorization request.
func (s *Server) LastAuthorize() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuthorize
}

// LastTokenForm returns the form of the last token request. Tests use it
// to check the client secret was sent; it holds secrets.
func (s *Server) LastTokenForm() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastToken
}

// Refreshes returns how many refresh tokens were redeemed.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// ValidRefresh reports whether rt is a live refresh token.
func (s *Server) ValidRefresh(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.refresh[rt]
	return g != nil && !g.revoked && !s.retired[rt]
}
