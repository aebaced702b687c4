// Package authtest is an in-process authorization server that emulates the
// Microsoft identity platform's v2.0 endpoints (authorize, token and
// devicecode under /{tenant}/oauth2/v2.0/) for tests of sync/auth and the
// providers that use it, and a test "browser" that follows an authorization
// link to the loopback redirect as a user who signs in would.
//
// The server checks what the real one checks where it matters to a public
// client: the registered client ID, a loopback redirect URI matching
// "http://localhost" (any port), PKCE S256, single use of codes, and the
// refresh token of each grant (it rotates them on every refresh and, being
// strict, refuses a refresh token once it has been replaced). It can revoke
// grants and inject the AADSTS errors a client must handle.
package authtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultClientID is the client ID the server accepts unless told otherwise.
const DefaultClientID = "test-client"

// Server is the emulated authorization server. Its URL is the authority
// ("https://127.0.0.1:port"); the v2.0 endpoints live under
// URL + "/{tenant}/oauth2/v2.0/".
type Server struct {
	*httptest.Server

	// ClientID is the registered public client. Set before use.
	ClientID string
	// User is the account that "signs in" in the browser.
	User string
	// Interval is the device code polling interval in seconds (default 5).
	Interval int
	// AccessLifetime is the access tokens' lifetime (default 1 h).
	AccessLifetime time.Duration

	mu            sync.Mutex
	codes         map[string]*authCode
	refresh       map[string]*grant // current refresh token → grant
	retired       map[string]*grant // refresh tokens replaced by rotation
	access        map[string]*grant
	devices       map[string]*device // by device code
	nextAuthorize *failure
	nextToken     []failure
	slowDown      int
	refreshes     int
	tokenCalls    int
	lastAuthorize url.Values
}

type grant struct {
	user    string
	scope   string
	revoked int // the AADSTS code to answer once revoked, 0 while valid
}

type authCode struct {
	clientID, redirect, challenge, scope string
	used                                 bool
	expires                              time.Time
}

type device struct {
	userCode string
	scope    string
	state    string // "pending", "approved", "declined", "expired"
	expires  time.Time
}

// failure is an injected error answer.
type failure struct {
	status int
	code   string
	aadsts int
	desc   string
	header http.Header
}

// New starts a TLS server; it closes when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		ClientID: DefaultClientID, User: "ann@contoso.test", Interval: 5, AccessLifetime: time.Hour,
		codes: map[string]*authCode{}, refresh: map[string]*grant{}, retired: map[string]*grant{},
		access: map[string]*grant{}, devices: map[string]*device{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.authorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", s.devicecode)
	mux.HandleFunc("GET /devicelogin", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Enter the code shown on your device.")
	})
	s.Server = httptest.NewTLSServer(mux)
	t.Cleanup(s.Close)
	return s
}

func random() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var tenantRe = regexp.MustCompile(`^(organizations|common|consumers|[0-9a-fA-F-]{36}|[A-Za-z0-9.-]+\.[A-Za-z]{2,})$`)

// aadError writes a Microsoft-style error answer.
func aadError(w http.ResponseWriter, f failure) {
	if f.status == 0 {
		f.status = http.StatusBadRequest
	}
	for k, v := range f.header {
		w.Header()[k] = v
	}
	desc := f.desc
	codes := []int{}
	if f.aadsts != 0 {
		desc = fmt.Sprintf("AADSTS%d: %s", f.aadsts, f.desc)
		codes = append(codes, f.aadsts)
	}
	trace := random()
	desc += "\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + random() + "\r\nTimestamp: " + time.Now().UTC().Format("2006-01-02 15:04:05Z")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(f.status)
	json.NewEncoder(w).Encode(map[string]any{
		"error": f.code, "error_description": desc, "error_codes": codes,
		"timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": trace, "correlation_id": random(),
	})
}

// Authorize-time failures injectable with FailNextAuthorize.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.lastAuthorize = q
	fail := s.nextAuthorize
	s.nextAuthorize = nil
	s.mu.Unlock()
	page := func(status int, aadsts int, msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html><body><h1>Sorry, but we’re having trouble signing you in.</h1><p>AADSTS%d: %s</p></body></html>", aadsts, msg)
	}
	if !tenantRe.MatchString(r.PathValue("tenant")) {
		page(http.StatusBadRequest, 90002, "Tenant not found.")
		return
	}
	if q.Get("client_id") != s.ClientID {
		page(http.StatusBadRequest, 700016, "Application with identifier '"+q.Get("client_id")+"' was not found in the directory.")
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" || redirect.Hostname() != "localhost" || (redirect.Path != "/" && redirect.Path != "") || redirect.RawQuery != "" {
		page(http.StatusBadRequest, 50011, "The redirect URI specified in the request does not match the redirect URIs configured for the application.")
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
	backErr := func(code string, aadsts int, desc string) {
		back(url.Values{"error": {code}, "error_description": {fmt.Sprintf("AADSTS%d: %s", aadsts, desc)}})
	}
	switch {
	case q.Get("response_type") != "code":
		backErr("unsupported_response_type", 700054, "response_type 'code' is required.")
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		backErr("invalid_request", 501491, "Invalid size of Code_Challenge parameter or method (S256 required).")
		return
	case q.Get("state") == "":
		// Microsoft accepts a missing state; this emulator insists so that
		// a client that forgets it fails its tests.
		backErr("invalid_request", 900144, "The request body must contain the following parameter: 'state'.")
		return
	}
	if fail != nil {
		backErr(fail.code, fail.aadsts, fail.desc)
		return
	}
	code := random()
	s.mu.Lock()
	s.codes[code] = &authCode{clientID: q.Get("client_id"), redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
		scope: q.Get("scope"), expires: time.Now().Add(10 * time.Minute)}
	s.mu.Unlock()
	back(url.Values{"code": {code}, "session_state": {random()}})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		aadError(w, failure{code: "invalid_request", aadsts: 900144, desc: "The request body could not be read."})
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenCalls++
	if len(s.nextToken) > 0 {
		fail := s.nextToken[0]
		s.nextToken = s.nextToken[1:]
		aadError(w, fail)
		return
	}
	if f.Get("client_id") != s.ClientID {
		aadError(w, failure{status: http.StatusBadRequest, code: "unauthorized_client", aadsts: 700016, desc: "Application with identifier '" + f.Get("client_id") + "' was not found in the directory."})
		return
	}
	switch f.Get("grant_type") {
	case "authorization_code":
		c := s.codes[f.Get("code")]
		switch {
		case c == nil:
			aadError(w, failure{code: "invalid_grant", aadsts: 9002313, desc: "Invalid request. Request is malformed or invalid."})
		case c.used:
			aadError(w, failure{code: "invalid_grant", aadsts: 54005, desc: "OAuth2 Authorization code was already redeemed."})
		case time.Now().After(c.expires):
			aadError(w, failure{code: "invalid_grant", aadsts: 70008, desc: "The provided authorization code or refresh token has expired due to inactivity."})
		case f.Get("redirect_uri") != c.redirect:
			aadError(w, failure{code: "invalid_grant", aadsts: 50011, desc: "The redirect URI does not match the one of the authorization request."})
		case pkce(f.Get("code_verifier")) != c.challenge:
			aadError(w, failure{code: "invalid_grant", aadsts: 501481, desc: "The Code_Verifier does not match the code_challenge supplied in the authorization request."})
		default:
			c.used = true
			s.issue(w, &grant{user: s.User, scope: c.scope})
		}
	case "refresh_token":
		rt := f.Get("refresh_token")
		g := s.refresh[rt]
		switch {
		case g == nil && s.retired[rt] != nil:
			aadError(w, failure{code: "invalid_grant", aadsts: 70000, desc: "The provided grant is invalid or malformed (the refresh token was replaced)."})
		case g == nil:
			aadError(w, failure{code: "invalid_grant", aadsts: 9002313, desc: "Invalid request. Request is malformed or invalid."})
		case g.revoked != 0:
			code := "invalid_grant"
			if g.revoked == 70043 || g.revoked == 50076 {
				code = "interaction_required"
			}
			aadError(w, failure{code: code, aadsts: g.revoked, desc: revokedWords[g.revoked]})
		default:
			s.refreshes++
			delete(s.refresh, rt)
			s.retired[rt] = g
			s.issue(w, g)
		}
	case "urn:ietf:params:oauth:grant-type:device_code":
		d := s.devices[f.Get("device_code")]
		switch {
		case d == nil:
			aadError(w, failure{code: "bad_verification_code", aadsts: 70019, desc: "Verification code unknown."})
		case d.state == "expired" || time.Now().After(d.expires):
			aadError(w, failure{code: "expired_token", aadsts: 70020, desc: "The provided value for the input parameter 'device_code' is not valid. This device code has expired."})
		case d.state == "declined":
			aadError(w, failure{code: "authorization_declined", aadsts: 70000, desc: "The user declined the authorization."})
		case s.slowDown > 0:
			s.slowDown--
			aadError(w, failure{code: "slow_down", desc: "Slow down."})
		case d.state == "pending":
			aadError(w, failure{code: "authorization_pending", aadsts: 70016, desc: "OAuth 2.0 device flow error. Authorization is pending. Continue polling."})
		default:
			delete(s.devices, f.Get("device_code"))
			s.issue(w, &grant{user: s.User, scope: d.scope})
		}
	default:
		aadError(w, failure{code: "unsupported_grant_type", aadsts: 70003, desc: "The app requested an unsupported grant type."})
	}
}

var revokedWords = map[int]string{
	50173:  "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
	70043:  "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.",
	700082: "The refresh token has expired due to inactivity. The token was issued on 2026-01-01 and was inactive for 90.00:00:00.",
	65001:  "The user or administrator has not consented to use the application.",
	50076:  "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication.",
}

func pkce(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// issue answers with fresh tokens for g; s.mu is held.
func (s *Server) issue(w http.ResponseWriter, g *grant) {
	at := "at-" + random()
	s.access[at] = g
	out := map[string]any{
		"token_type": "Bearer", "scope": strings.TrimSpace(strings.ReplaceAll(" "+g.scope+" ", " offline_access ", " ")),
		"expires_in": int(s.AccessLifetime / time.Second), "ext_expires_in": int(s.AccessLifetime / time.Second),
		"access_token": at,
	}
	if strings.Contains(" "+g.scope+" ", " offline_access ") {
		rt := "rt-" + random()
		s.refresh[rt] = g
		out["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(out)
}

func (s *Server) devicecode(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		aadError(w, failure{code: "invalid_request", aadsts: 900144, desc: "The request body could not be read."})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.PostForm.Get("client_id") != s.ClientID {
		aadError(w, failure{code: "unauthorized_client", aadsts: 700016, desc: "Application not found in the directory."})
		return
	}
	dc := random()
	b := make([]byte, 4)
	rand.Read(b)
	uc := strings.ToUpper(hex.EncodeToString(b))
	s.devices[dc] = &device{userCode: uc, scope: r.PostForm.Get("scope"), state: "pending", expires: time.Now().Add(15 * time.Minute)}
	verify := s.URL + "/devicelogin"
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{
		"device_code": dc, "user_code": uc, "verification_uri": verify, "expires_in": 900, "interval": s.Interval,
		"message": "To sign in, use a web browser to open the page " + verify + " and enter the code " + uc + " to authenticate.",
	})
}

// setDevice sets the state of the device sign-in shown with userCode.
func (s *Server) setDevice(userCode, state string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if d.userCode == userCode {
			d.state = state
			return true
		}
	}
	return false
}

// ApproveDevice finishes the device sign-in shown with userCode as User.
func (s *Server) ApproveDevice(userCode string) bool { return s.setDevice(userCode, "approved") }

// DeclineDevice makes the user decline the device sign-in.
func (s *Server) DeclineDevice(userCode string) bool { return s.setDevice(userCode, "declined") }

// ExpireDevice makes the device code shown with userCode expire.
func (s *Server) ExpireDevice(userCode string) bool { return s.setDevice(userCode, "expired") }

// SlowDownNext makes the next n device polls answer slow_down.
func (s *Server) SlowDownNext(n int) {
	s.mu.Lock()
	s.slowDown = n
	s.mu.Unlock()
}

// Revoke revokes every grant with the AADSTS code aadsts (50173: revoked
// or password changed, 70043: sign-in frequency, 700082: unused for 90
// days, 65001: consent withdrawn, 50076: MFA required). The grants'
// refresh tokens then fail with invalid_grant (interaction_required for
// 70043 and 50076, as Microsoft answers), and their access tokens are
// refused at once (as with continuous access evaluation).
func (s *Server) Revoke(aadsts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[string]*grant{s.refresh, s.access} {
		for _, g := range m {
			g.revoked = aadsts
		}
	}
}

// FailNextAuthorize makes the next authorization request redirect back
// with error=code and "AADSTS<aadsts>: desc".
func (s *Server) FailNextAuthorize(code string, aadsts int, desc string) {
	s.mu.Lock()
	s.nextAuthorize = &failure{code: code, aadsts: aadsts, desc: desc}
	s.mu.Unlock()
}

// FailNextToken queues an error answer for the next token request.
// header may be nil.
func (s *Server) FailNextToken(status int, code string, aadsts int, desc string, header http.Header) {
	s.mu.Lock()
	s.nextToken = append(s.nextToken, failure{status: status, code: code, aadsts: aadsts, desc: desc, header: header})
	s.mu.Unlock()
}

// ValidAccess reports whether token is a live access token.
func (s *Server) ValidAccess(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.access[token]
	return g != nil && g.revoked == 0
}

// Refreshes returns how many refresh tokens were redeemed.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// TokenCalls returns how many token requests arrived.
func (s *Server) TokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenCalls
}

// LastAuthorize returns the query of the last authorization request.
func (s *Server) LastAuthorize() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAuthorize
}

// ValidRefresh reports whether rt is a current (not replaced, not revoked)
// refresh token.
func (s *Server) ValidRefresh(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.refresh[rt]
	return g != nil && g.revoked == 0
}
