// Package sftest is an in-process emulator of the parts of Salesforce that
// the CRM connector uses, written from Salesforce's published contract
// (docs/architecture.md §5):
//
//   - OAuth 2.0 web server flow with PKCE on /services/oauth2/authorize and
//     /services/oauth2/token: the redirect URI must match the registered one
//     exactly, the token answer carries instance_url and id but no
//     expires_in, refresh tokens optionally rotate, an unknown or revoked
//     refresh token is invalid_grant "expired access/refresh token", and an
//     app that is not installed in the org is refused with invalid_client
//     "app must be installed into org";
//   - the OAuth 2.0 JWT bearer flow of an organisation (jwt.go): assertions
//     checked against the certificate uploaded to the app (RegisterJWT),
//     iss, aud, exp and the sub's User (AddUser: active, pre-authorized);
//     records created with such a token are owned by and created by that
//     user, and all tokens share the org's one daily API counter;
//   - sessions that expire: any API call then answers 401
//     [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}];
//   - REST under /services/data/vNN.0/: query?q= for a SOQL subset (see
//     soql.go) with batches and nextRecordsUrl paging until done, and the
//     sObject Collections resource composite/sobjects (POST create, PATCH
//     update, DELETE) with per-record {id, success, errors[]} and
//     allOrNone;
//   - Opportunities whose IsClosed follows their stage ("Closed Won",
//     "Closed Lost"), LastModifiedDate on every record, Leads that need
//     LastName and Company and default IsConverted to false;
//   - the object rules the connector must respect: an EmailMessage cannot be
//     edited once it is not a draft, MessageIdentifier is not unique,
//     EmailMessageRelation needs an existing EmailMessage and a Contact, Lead
//     or User, an Event needs EndDateTime or DurationInMinutes unless it is
//     all-day, text fields have maximum lengths;
//   - record-level errors injected by tests (FIELD_CUSTOM_VALIDATION_EXCEPTION,
//     REQUIRED_FIELD_MISSING, STRING_TOO_LONG, DUPLICATES_DETECTED,
//     UNABLE_TO_LOCK_ROW …), injected 503 answers, and the org's API budget:
//     Sforce-Limit-Info: api-usage=N/M on every answer, 403
//     REQUEST_LIMIT_EXCEEDED once it is used up.
//
// It counts requests by kind for tests and benchmarks.
package sftest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is the API version the emulator serves ("v64.0"); any vNN.0 is
// accepted.
const Version = "v64.0"

// UserID is the id of the signed-in user (the OwnerId of what it creates).
const UserID = "005000000000001AAA"

// OrgID is the emulated org's id.
const OrgID = "00D000000000001AAA"

// Server is the emulated Salesforce: its URL is both the login URL and the
// instance URL.
type Server struct {
	*httptest.Server

	mu sync.Mutex
	// OAuth app registration.
	clientID     string
	clientSecret string
	redirectURI  string
	notInstalled bool
	rotate       bool
	codes        map[string]authCode
	refresh      map[string]bool   // refresh token → valid
	sessions     map[string]string // access token → its user's id

	// JWT bearer flow (jwt.go).
	jwtApps  map[string][]*x509.Certificate // consumer key → uploaded certificates
	audience string
	preauth  map[string]bool // user id → the app is pre-authorized for the user
	grants   int

	// API budget.
	used, limit int
	fail        []int // statuses of the next answers (503 …)

	batchSize int
	cursors   map[string]cursorState
	cursorSeq int

	records map[string]*record
	order   []string            // ids in creation order
	byObj   map[string][]string // the same, by object (a query reads its object's only)
	seq     map[string]int
	inject  []injected

	counts map[string]int
	// after runs when an API request was handled, before its answer is
	// sent (SetAfterAPI).
	after func(method, path string)
}

// SetAfterAPI makes f run after each API request was handled (its records
// created, updated or deleted) and before the answer leaves: a test can
// block there and kill the client between Salesforce's work and the
// client's hearing of it. f runs without the emulator's lock; nil removes
// it.
func (s *Server) SetAfterAPI(f func(method, path string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.after = f
}

func (s *Server) afterAPI(r *http.Request) {
	s.mu.Lock()
	f := s.after
	s.mu.Unlock()
	if f != nil {
		f(r.Method, r.URL.Path)
	}
}

type authCode struct {
	redirectURI string
	challenge   string
	used        bool
}

type record struct {
	object string
	fields map[string]any
}

type injected struct {
	match func(object string, fields map[string]any) bool
	err   RecordError
	times int // 0: forever
}

// RecordError is a record-level error of an sObject Collections answer.
type RecordError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

// Options configure New.
type Options struct {
	// ClientID of the registered app; default "inboxsync-test".
	ClientID string
	// ClientSecret, when set, must be sent with token requests.
	ClientSecret string
	// RedirectURI is the registered callback URL; default
	// "http://localhost:PORT/callback" on a port that was free (RedirectPort).
	RedirectURI string
	// RotateRefreshTokens makes every refresh return a new refresh token
	// and void the old one.
	RotateRefreshTokens bool
	// APILimit is the org's daily allocation; default 100000.
	APILimit int
	// Audience is the aud a JWT bearer assertion must carry; default the
	// server's URL (it is the login host).
	Audience string
}

// New starts an emulator; it is closed when t's test ends.
func New(t interface{ Cleanup(func()) }, o Options) *Server {
	s := &Server{
		clientID: o.ClientID, clientSecret: o.ClientSecret, redirectURI: o.RedirectURI,
		rotate: o.RotateRefreshTokens, limit: o.APILimit,
		codes: map[string]authCode{}, refresh: map[string]bool{}, sessions: map[string]string{}, jwtApps: map[string][]*x509.Certificate{}, preauth: map[string]bool{}, audience: o.Audience,
		cursors: map[string]cursorState{}, records: map[string]*record{},
		seq: map[string]int{}, counts: map[string]int{}, batchSize: 2000,
	}
	if s.clientID == "" {
		s.clientID = "inboxsync-test"
	}
	if s.redirectURI == "" {
		s.redirectURI = fmt.Sprintf("http://localhost:%d/callback", freePort())
	}
	if s.limit == 0 {
		s.limit = 100000
	}
	s.preauth[UserID] = true
	s.records[UserID] = &record{object: "User", fields: map[string]any{"Id": UserID, "Email": "rep@example.com", "Username": "rep@example.com", "IsActive": true}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /services/oauth2/authorize", s.authorize)
	mux.HandleFunc("POST /services/oauth2/token", s.token)
	mux.HandleFunc("POST /services/oauth2/revoke", s.revoke)
	mux.HandleFunc("/services/data/", s.api)
	s.Server = httptest.NewServer(mux)
	if s.audience == "" {
		s.audience = s.URL
	}
	t.Cleanup(s.Close)
	return s
}

// ClientID returns the registered app's client id.
func (s *Server) ClientID() string { return s.clientID }

// freePort returns a loopback port that was free a moment ago.
func freePort() int {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		panic("sftest: " + err.Error())
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RedirectPort returns the port of the registered callback URL.
func (s *Server) RedirectPort() int {
	u, err := url.Parse(s.redirectURI)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(u.Port())
	return p
}

// RedirectURI returns the registered callback URL.
func (s *Server) RedirectURI() string { return s.redirectURI }

// SetInstalled says whether the app is installed in the org; an app that
// is not is refused at the authorize step and on refresh.
func (s *Server) SetInstalled(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notInstalled = !ok
}

// SetRotation turns refresh token rotation on or off.
func (s *Server) SetRotation(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotate = on
}

// ExpireSessions ends every access token, as a session timeout does.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// RevokeGrants voids every refresh token (the user or an admin revoked
// the app's access).
func (s *Server) RevokeGrants() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.refresh)
	clear(s.sessions)
}

// Grant signs a user in without a browser and returns the refresh token
// and the access token, as a finished web server flow would.
func (s *Server) Grant() (refreshToken, accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newRefresh(), s.newSession(UserID)
}

// RefreshTokens returns how many refresh tokens are valid.
func (s *Server) RefreshTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.refresh)
}

// SetUsage sets the API usage and the org's allocation.
func (s *Server) SetUsage(used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used, s.limit = used, limit
}

// Usage returns the API usage and allocation.
func (s *Server) Usage() (used, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.limit
}

// FailNext makes the next n API answers have status (503 Service
// Unavailable, 500 …).
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, status)
	}
}

// SetBatchSize sets the default query batch size (Salesforce: 2000).
func (s *Server) SetBatchSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batchSize = n
}

// Count returns how many API requests of a kind were answered: "query"
// (first batches), "queryMore", "create", "update", "delete", "token",
// "api" (all of /services/data).
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

// ResetCounts sets every request count to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) newRefresh() string {
	t := "5Aep" + random(24)
	s.refresh[t] = true
	s.grants++
	return t
}

// newSession returns a new access token of the user with id user.
func (s *Server) newSession(user string) string {
	t := OrgID[:15] + "!" + random(30)
	s.sessions[t] = user
	return t
}

// authorize is the authorization endpoint. The emulated user is signed in
// and approves at once: the answer redirects to the callback with a code.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.Get("client_id") != s.clientID {
		http.Error(w, "error=invalid_client_id: client identifier invalid", http.StatusBadRequest)
		return
	}
	// Salesforce shows an error page rather than redirect to a URI it does
	// not know.
	if q.Get("redirect_uri") != s.redirectURI {
		http.Error(w, "error=redirect_uri_mismatch: redirect_uri must match configuration", http.StatusBadRequest)
		return
	}
	back := func(v url.Values) {
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		http.Redirect(w, r, s.redirectURI+"?"+v.Encode(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		back(url.Values{"error": {"unsupported_response_type"}, "error_description": {"response type not supported"}})
	case s.notInstalled:
		back(url.Values{"error": {"invalid_client"}, "error_description": {"app must be installed into org"}})
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "" && q.Get("code_challenge_method") != "S256":
		back(url.Values{"error": {"invalid_request"}, "error_description": {"invalid code_challenge_method"}})
	default:
		code := "aPrx" + random(24)
		s.codes[code] = authCode{redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
		back(url.Values{"code": {code}})
	}
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// token is the token endpoint: authorization_code and refresh_token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts["token"]++
	if f.Get("grant_type") == jwtBearer {
		s.jwtGrant(w, f.Get("assertion"))
		return
	}
	if f.Get("client_id") != s.clientID {
		oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
		return
	}
	if s.clientSecret != "" && f.Get("client_secret") != s.clientSecret {
		oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
		return
	}
	if s.notInstalled {
		oauthError(w, http.StatusBadRequest, "invalid_client", "app must be installed into org")
		return
	}
	answer := map[string]string{
		"instance_url": s.URL,
		"id":           s.URL + "/id/" + OrgID + "/" + UserID,
		"token_type":   "Bearer",
		"issued_at":    fmt.Sprint(time.Now().UnixMilli()),
		"signature":    random(32),
		"scope":        "api refresh_token",
	}
	switch f.Get("grant_type") {
	case "authorization_code":
		c, ok := s.codes[f.Get("code")]
		if !ok || c.used {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid authorization code")
			return
		}
		c.used = true
		s.codes[f.Get("code")] = c
		if f.Get("redirect_uri") != c.redirectURI {
			oauthError(w, http.StatusBadRequest, "redirect_uri_mismatch", "redirect_uri must match configuration")
			return
		}
		if c.challenge != "" {
			v := f.Get("code_verifier")
			if v == "" {
				oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier is missing")
				return
			}
			sum := sha256.Sum256([]byte(v))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
				oauthError(w, http.StatusBadRequest, "invalid_request", "invalid code verifier")
				return
			}
		}
		answer["refresh_token"] = s.newRefresh()
	case "refresh_token":
		rt := f.Get("refresh_token")
		if !s.refresh[rt] {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
			return
		}
		if s.rotate {
			delete(s.refresh, rt)
			answer["refresh_token"] = s.newRefresh()
		}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	}
	answer["access_token"] = s.newSession(UserID)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	json.NewEncoder(w).Encode(answer)
}

// revoke is the revocation endpoint: a refresh token ends the grant and
// its sessions, an access token its session.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts["revoke"]++
	tok := r.PostForm.Get("token")
	switch {
	case s.refresh[tok]:
		delete(s.refresh, tok)
		clear(s.sessions) // the emulator has one user and one grant at a time
	case s.sessions[tok] != "":
		delete(s.sessions, tok)
	default:
		oauthError(w, http.StatusBadRequest, "invalid_token", "invalid token")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// apiError writes Salesforce's error array.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode([]map[string]any{{"message": msg, "errorCode": code}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// api serves /services/data/vNN.0/…
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	defer s.afterAPI(r) // after the Unlock below
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts["api"]++
	rest, ok := strings.CutPrefix(r.URL.Path, "/services/data/")
	ver, rest, _ := strings.Cut(rest, "/")
	if !ok || !strings.HasPrefix(ver, "v") || !strings.HasSuffix(ver, ".0") {
		apiError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	user := s.sessions[tok]
	if user == "" {
		apiError(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
		return
	}
	s.used++
	w.Header().Set("Sforce-Limit-Info", fmt.Sprintf("api-usage=%d/%d", s.used, s.limit))
	if s.used > s.limit {
		apiError(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
		return
	}
	if len(s.fail) > 0 {
		st := s.fail[0]
		s.fail = s.fail[1:]
		apiError(w, st, "SERVER_UNAVAILABLE", "Service temporarily unavailable; try again later.")
		return
	}
	switch {
	case rest == "query" && r.Method == http.MethodGet:
		s.counts["query"]++
		s.query(w, r, ver)
	case strings.HasPrefix(rest, "query/") && r.Method == http.MethodGet:
		s.counts["queryMore"]++
		s.queryMore(w, strings.TrimPrefix(rest, "query/"), ver)
	case rest == "composite" && r.Method == http.MethodPost:
		s.counts["composite"]++
		s.composite(w, r, ver)
	case rest == "composite/sobjects":
		switch r.Method {
		case http.MethodPost:
			s.counts["create"]++
			s.collection(w, r, false, user)
		case http.MethodPatch:
			s.counts["update"]++
			s.collection(w, r, true, user)
		case http.MethodDelete:
			s.counts["delete"]++
			s.deleteCollection(w, r)
		default:
			apiError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "HTTP Method '"+r.Method+"' not allowed. Allowed are GET,POST,PATCH,DELETE")
		}
	default:
		apiError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
}

// RefreshValid reports whether rt is a refresh token the server accepts.
func (s *Server) RefreshValid(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh[rt]
}

// maxSubrequests is the composite resource's limit of subrequests.
const maxSubrequests = 25

// composite serves POST …/composite: a series of subrequests in one call
// that counts once toward the API limit. Like Salesforce it answers 200
// with each subrequest's status and body in compositeResponse. This
// emulator runs GET query and queryMore subrequests (what Inbox Sync
// sends); other methods get that subrequest's 400.
func (s *Server) composite(w http.ResponseWriter, r *http.Request, ver string) {
	var req struct {
		AllOrNone        bool `json:"allOrNone"`
		CompositeRequest []struct {
			Method      string          `json:"method"`
			URL         string          `json:"url"`
			ReferenceID string          `json:"referenceId"`
			Body        json.RawMessage `json:"body"`
		} `json:"compositeRequest"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not valid JSON: "+err.Error())
		return
	}
	if n := len(req.CompositeRequest); n == 0 || n > maxSubrequests {
		apiError(w, http.StatusBadRequest, "INVALID_INPUT", fmt.Sprintf("compositeRequest must hold 1 to %d subrequests, not %d", maxSubrequests, n))
		return
	}
	type subAnswer struct {
		Body           json.RawMessage   `json:"body"`
		HTTPHeaders    map[string]string `json:"httpHeaders"`
		HTTPStatusCode int               `json:"httpStatusCode"`
		ReferenceID    string            `json:"referenceId"`
	}
	seen := map[string]bool{}
	var out []subAnswer
	for _, sub := range req.CompositeRequest {
		if sub.ReferenceID == "" || seen[sub.ReferenceID] {
			apiError(w, http.StatusBadRequest, "INVALID_INPUT", "each subrequest needs its own referenceId")
			return
		}
		seen[sub.ReferenceID] = true
		rec := httptest.NewRecorder()
		u, err := url.Parse(sub.URL)
		rest, ok := strings.CutPrefix(u.Path, "/services/data/"+ver+"/")
		switch {
		case err != nil || !ok:
			apiError(rec, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		case sub.Method != http.MethodGet:
			apiError(rec, http.StatusBadRequest, "INVALID_INPUT", "this emulator runs only GET query subrequests")
		case rest == "query":
			s.counts["query"]++
			s.query(rec, httptest.NewRequest(http.MethodGet, sub.URL, nil), ver)
		case strings.HasPrefix(rest, "query/"):
			s.counts["queryMore"]++
			s.queryMore(rec, strings.TrimPrefix(rest, "query/"), ver)
		default:
			apiError(rec, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		}
		out = append(out, subAnswer{Body: bytes.TrimSpace(rec.Body.Bytes()), HTTPHeaders: map[string]string{}, HTTPStatusCode: rec.Code, ReferenceID: sub.ReferenceID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"compositeResponse": out})
}
