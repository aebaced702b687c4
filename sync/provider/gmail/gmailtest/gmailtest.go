// Package gmailtest is an in-process emulator, for tests only, of what the
// gmail provider uses of Google: the OAuth 2.0 endpoints for installed
// apps (authorize and token), the Gmail API (users.getProfile,
// messages.list, messages.get, history.list) and the Calendar API
// (events.list of the primary calendar). Its answers follow Google's
// published shapes, including the error envelope
// {"error":{"code","message","errors":[{"domain","reason","message"}],"status"}}.
//
// What it enforces, as Google does: a registered client ID and (when set)
// client secret, a loopback redirect on 127.0.0.1, PKCE S256, single-use
// codes, a refresh token only with access_type=offline, the granted scopes
// (the user may untick one: partial consent), bearer tokens per scope
// (403 insufficientPermissions), the metadata scope's refusal of q and of
// format=full/raw, page tokens, history ids that expire (404), sync tokens
// that expire (410 fullSyncRequired), and a sync token combined with
// timeMin/timeMax (400). It can revoke grants, rotate refresh tokens,
// throttle in both of Google's shapes (429, and 403 with
// rateLimitExceeded/userRateLimitExceeded) and fail requests.
//
// Tests script the mailbox: add mail, move it out of the Inbox, delete it,
// send it to oneself (INBOX and SENT), add, change and cancel events,
// expire the history.
package gmailtest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The scopes the emulator knows.
const (
	ScopeGmailMetadata  = "https://www.googleapis.com/auth/gmail.metadata"
	ScopeCalendarEvents = "https://www.googleapis.com/auth/calendar.events.readonly"
)

// DefaultClientID is the client ID the server accepts unless told otherwise.
const DefaultClientID = "1234567890-test.apps.googleusercontent.com"

// Labels.
const (
	Inbox = "INBOX"
	Sent  = "SENT"
)

// Server is the emulated Google. Its endpoints are AuthURL, TokenURL,
// GmailEndpoint and CalendarEndpoint.
type Server struct {
	*httptest.Server

	// ClientID is the registered OAuth client. Set before use.
	ClientID string
	// ClientSecret, when set, must come with every token request.
	ClientSecret string
	// Address is the mailbox address.
	Address string
	// Grant limits the scopes the user leaves ticked on the consent
	// screen; nil grants every scope asked for.
	Grant []string
	// Rotate makes every refresh return a new refresh token and retire the
	// old one (Google may rotate; by default it does not).
	Rotate bool
	// AccessLifetime is the access tokens' lifetime (default 1 h).
	AccessLifetime time.Duration
	// NoSnippet leaves snippet out of messages.get answers.
	NoSnippet bool

	mu sync.Mutex
	// OAuth.
	codes         map[string]*authCode
	refresh       map[string]*grant
	retired       map[string]bool
	access        map[string]*grant
	lastAuthorize url.Values
	lastToken     url.Values
	nextAuthorize string
	refreshes     int
	// Gmail.
	msgs      map[string]*message
	order     []*message // newest first once sorted
	sorted    bool
	history   []record
	historyID uint64
	floor     uint64 // history ids below this are expired
	seq       int
	// Calendar.
	events   map[string]*event
	calSeq   int
	calEpoch int
	// Behaviour.
	fail  []failure
	delay time.Duration
	log   []string

	requests    atomic.Int64
	batches     atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64
}

type grant struct {
	scope   string
	revoked bool
}

type authCode struct {
	redirect, challenge, scope string
	offline, used              bool
}

type message struct {
	id, thread string
	labels     []string
	at         time.Time
	n          int
	deleted    bool
}

func (m *message) has(l string) bool { return slices.Contains(m.labels, l) }

// record is one history record: one kind of change of one message.
type record struct {
	id      uint64
	kind    string // messagesAdded, messagesDeleted, labelsAdded, labelsRemoved
	msg     string
	thread  string
	labels  []string // the message's labels after the change
	changed []string // labels added or removed
}

type event struct {
	id         string
	start, end time.Time
	allDay     bool
	summary    string
	cancelled  bool
	seq        int // calSeq of the last change
	rev        int
}

type failure struct {
	status int
	reason string
	after  time.Duration
	path   string // only requests whose path contains this; "" any API request
}

// New starts a TLS emulator; it closes when the test ends.
func New(t testing.TB) *Server {
	s := NewUnstarted()
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// NewUnstarted returns an emulator whose httptest server is not started
// (benchmarks start it themselves).
func NewUnstarted() *Server {
	s := &Server{
		ClientID: DefaultClientID, Address: "ann@example.test", AccessLifetime: time.Hour,
		codes: map[string]*authCode{}, refresh: map[string]*grant{}, retired: map[string]bool{}, access: map[string]*grant{},
		msgs: map[string]*message{}, historyID: 1000, floor: 1000, events: map[string]*event{}, calEpoch: 1,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /o/oauth2/v2/auth", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.Handle("GET /gmail/v1/users/{user}/profile", s.api(ScopeGmailMetadata, s.profile))
	mux.Handle("GET /gmail/v1/users/{user}/messages", s.api(ScopeGmailMetadata, s.list))
	mux.Handle("GET /gmail/v1/users/{user}/messages/{id}", s.api(ScopeGmailMetadata, s.get))
	mux.Handle("GET /gmail/v1/users/{user}/history", s.api(ScopeGmailMetadata, s.historyList))
	mux.Handle("GET /calendar/v3/calendars/{cal}/events", s.api(ScopeCalendarEvents, s.eventsList))
	mux.HandleFunc("POST /batch/gmail/v1", func(w http.ResponseWriter, r *http.Request) { s.batch(w, r, mux) })
	s.Server = httptest.NewUnstartedServer(mux)
	// Connections the client dialled for its parallel requests may still
	// be in their TLS handshake when a test closes the server; the log of
	// that says nothing.
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	return s
}

// AuthURL returns the authorization endpoint.
func (s *Server) AuthURL() string { return s.URL + "/o/oauth2/v2/auth" }

// TokenURL returns the token endpoint.
func (s *Server) TokenURL() string { return s.URL + "/token" }

// GmailEndpoint returns the Gmail API base URL.
func (s *Server) GmailEndpoint() string { return s.URL + "/gmail/v1" }

// CalendarEndpoint returns the Calendar API base URL.
func (s *Server) CalendarEndpoint() string { return s.URL + "/calendar/v3" }

func random() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

var statusNames = map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 410: "FAILED_PRECONDITION",
	429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE"}

// apiError writes Google's error envelope.
func apiError(w http.ResponseWriter, status int, reason, msg string) {
	domain := "global"
	if strings.HasSuffix(reason, "RateLimitExceeded") || reason == "rateLimitExceeded" {
		domain = "usageLimits"
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": msg, "status": statusNames[status],
		"errors": []map[string]string{{"message": msg, "domain": domain, "reason": reason}},
	}})
}

// oauthError writes the token endpoint's error answer.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

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

// --- the API layer ---

// api checks the bearer token and its scope, counts the request and
// applies injected failures and delays before h.
func (s *Server) api(scope string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		n := s.inflight.Add(1)
		defer s.inflight.Add(-1)
		for {
			m := s.maxInflight.Load()
			if n <= m || s.maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		s.mu.Lock()
		delay := s.delay
		var fail *failure
		for i, f := range s.fail {
			if f.path == "" || strings.Contains(r.URL.Path, f.path) {
				fail = &f
				s.fail = slices.Delete(s.fail, i, i+1)
				break
			}
		}
		s.log = append(s.log, r.URL.Path+"?"+r.URL.RawQuery)
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		g := s.access[tok]
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if r.PathValue("user") != "" && r.PathValue("user") != "me" {
			apiError(w, http.StatusForbidden, "forbidden", "Delegation denied for "+s.Address)
			return
		}
		if g == nil || g.revoked {
			w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
			apiError(w, http.StatusUnauthorized, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
			return
		}
		if !slices.Contains(strings.Fields(g.scope), scope) {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{
				"code": 403, "message": "Request had insufficient authentication scopes.", "status": "PERMISSION_DENIED",
				"errors":  []map[string]string{{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}},
				"details": []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}},
			}})
			return
		}
		if fail != nil {
			if fail.after > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(fail.after/time.Second)))
			}
			msg := map[string]string{
				"rateLimitExceeded": "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'.", "userRateLimitExceeded": "User-rate limit exceeded.",
				"backendError": "Backend Error", "accessNotConfigured": "Gmail API has not been used in project 1234567890 before or it is disabled.",
			}[fail.reason]
			if msg == "" {
				msg = http.StatusText(fail.status)
			}
			apiError(w, fail.status, fail.reason, msg)
			return
		}
		h(w, r)
	})
}

// Throttle makes the next API request answer status with reason and,
// when after > 0, Retry-After. Google's shapes: 429 with reason
// rateLimitExceeded, and 403 with rateLimitExceeded or
// userRateLimitExceeded.
func (s *Server) Throttle(status int, reason string, after time.Duration) {
	s.mu.Lock()
	s.fail = append(s.fail, failure{status: status, reason: reason, after: after})
	s.mu.Unlock()
}

// FailNext makes the next API request whose path contains path ("" any)
// answer status with reason (backendError, accessNotConfigured, …).
func (s *Server) FailNext(path string, status int, reason string) {
	s.mu.Lock()
	s.fail = append(s.fail, failure{status: status, reason: reason, path: path})
	s.mu.Unlock()
}

// SetDelay makes every API request wait d before it is answered.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Requests returns how many API requests arrived.
func (s *Server) Requests() int64 { return s.requests.Load() }

// MaxInFlight returns the most API requests that were in flight at once.
func (s *Server) MaxInFlight() int64 { return s.maxInflight.Load() }

// Log returns the path and query of every API request, in order.
func (s *Server) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// --- the batch endpoint ---

// MaxBatch is the most calls a batch request may hold.
const MaxBatch = 100

// batch answers POST /batch/gmail/v1: a multipart/mixed body of
// application/http parts, each a Gmail call, answered in a multipart/mixed
// body of the calls' answers (Content-ID <response-ID>). Each call goes
// through the same checks as on its own, so each can fail on its own.
func (s *Server) batch(w http.ResponseWriter, r *http.Request, h http.Handler) {
	s.batches.Add(1)
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		apiError(w, http.StatusBadRequest, "badRequest", "Invalid batch request: Content-Type must be multipart/mixed with a boundary.")
		return
	}
	type call struct {
		id  string
		req *http.Request
	}
	var calls []call
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil || part.Header.Get("Content-Type") != "application/http" {
			apiError(w, http.StatusBadRequest, "badRequest", "Invalid batch request part.")
			return
		}
		raw, _ := io.ReadAll(part)
		// Google takes the request line with or without the HTTP version.
		if line, rest, ok := bytes.Cut(raw, []byte("\n")); ok && len(bytes.Fields(line)) == 2 {
			fixed := make([]byte, 0, len(raw)+10)
			fixed = append(fixed, bytes.TrimRight(line, "\r")...)
			fixed = append(fixed, " HTTP/1.1\r\n"...)
			raw = append(fixed, rest...)
		}
		if !bytes.Contains(raw, []byte("\r\n\r\n")) && !bytes.Contains(raw, []byte("\n\n")) {
			raw = append(raw, "\r\n"...) // a GET without headers: the part's last line break was the delimiter's
		}
		inner, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil || !strings.HasPrefix(inner.URL.Path, "/gmail/v1/") {
			apiError(w, http.StatusBadRequest, "badRequest", "Invalid batch request part: not a Gmail call.")
			return
		}
		calls = append(calls, call{id: strings.Trim(part.Header.Get("Content-ID"), "<>"), req: inner})
	}
	if len(calls) == 0 || len(calls) > MaxBatch {
		apiError(w, http.StatusBadRequest, "badRequest", fmt.Sprintf("A batch request holds 1 to %d calls, not %d.", MaxBatch, len(calls)))
		return
	}
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	mw.SetBoundary("batch_" + random()[:16])
	for _, c := range calls {
		c.req.RequestURI = ""
		c.req.Header.Set("Authorization", r.Header.Get("Authorization"))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, c.req.WithContext(r.Context()))
		ph := textproto.MIMEHeader{}
		ph.Set("Content-Type", "application/http")
		ph.Set("Content-ID", "<response-"+c.id+">")
		pw, _ := mw.CreatePart(ph)
		fmt.Fprintf(pw, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", rec.Code, http.StatusText(rec.Code), rec.Header().Get("Content-Type"), rec.Body.Len())
		pw.Write(rec.Body.Bytes())
		pw.Write([]byte("\r\n"))
	}
	mw.Close()
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	w.Write(out.Bytes())
}

// Batches returns how many batch requests arrived (their calls count in
// Requests).
func (s *Server) Batches() int64 { return s.batches.Load() }

// --- Gmail ---

// record appends a history record; s.mu is held.
func (s *Server) record(kind string, m *message, changed []string) {
	s.historyID++
	s.history = append(s.history, record{id: s.historyID, kind: kind, msg: m.id, thread: m.thread, labels: slices.Clone(m.labels), changed: changed})
}

// Add adds n messages with labels, received at `at` (internalDate), and
// returns their ids. Every third message continues the thread of the one
// before.
func (s *Server) Add(labels []string, n int, at time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, n)
	for range n {
		s.seq++
		m := &message{id: fmt.Sprintf("18c%013x", s.seq), labels: slices.Clone(labels), at: at.UTC().Truncate(time.Millisecond), n: s.seq}
		m.thread = m.id
		if s.seq%3 == 0 {
			m.thread = fmt.Sprintf("18c%013x", s.seq-1)
		}
		s.msgs[m.id] = m
		s.order = append(s.order, m)
		s.sorted = false
		s.record("messagesAdded", m, nil)
		ids = append(ids, m.id)
	}
	return ids
}

// SendToSelf adds a message sent to oneself: it carries INBOX and SENT.
func (s *Server) SendToSelf(at time.Time) string {
	return s.Add([]string{Inbox, Sent, "UNREAD"}, 1, at)[0]
}

// AddLabel adds a label to a message (STARRED, INBOX, …).
func (s *Server) AddLabel(id, l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.msgs[id]; m != nil && !m.deleted && !m.has(l) {
		m.labels = append(m.labels, l)
		s.record("labelsAdded", m, []string{l})
	}
}

// RemoveLabel removes a label from a message; RemoveLabel(id, INBOX) is
// archiving it (moving it out of the Inbox).
func (s *Server) RemoveLabel(id, l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.msgs[id]; m != nil && !m.deleted && m.has(l) {
		m.labels = slices.DeleteFunc(m.labels, func(x string) bool { return x == l })
		s.record("labelsRemoved", m, []string{l})
	}
}

// Trash moves a message to the trash: it gains TRASH and keeps its other
// labels, so a client must treat TRASH as out of every folder.
func (s *Server) Trash(id string) { s.AddLabel(id, "TRASH") }

// Untrash takes a message out of the trash.
func (s *Server) Untrash(id string) { s.RemoveLabel(id, "TRASH") }

// Delete deletes a message for good (messagesDeleted).
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.msgs[id]; m != nil && !m.deleted {
		m.deleted = true
		s.record("messagesDeleted", m, nil)
	}
}

// ExpireHistory forgets every history record so far: history.list from
// any history id given before answers 404, as Google does for ids about a
// week old.
func (s *Server) ExpireHistory() {
	s.mu.Lock()
	// Unrelated changes move the mailbox's history id on meanwhile.
	s.historyID += 100
	s.floor = s.historyID
	s.history = nil
	s.mu.Unlock()
}

// HistoryID returns the mailbox's current history id.
func (s *Server) HistoryID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.historyID
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	live := 0
	for _, m := range s.msgs {
		if !m.deleted {
			live++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"emailAddress": s.Address, "messagesTotal": live, "threadsTotal": live, "historyId": strconv.FormatUint(s.historyID, 10)})
}

// sortOrder sorts s.order newest first (internalDate, then id); s.mu is held.
func (s *Server) sortOrder() {
	if s.sorted {
		return
	}
	sort.Slice(s.order, func(i, j int) bool { return after(s.order[i], s.order[j]) })
	s.sorted = true
}

// after reports whether a sorts before b in a listing (newer first).
func after(a, b *message) bool {
	if !a.at.Equal(b.at) {
		return a.at.After(b.at)
	}
	return a.n > b.n
}

// listToken is messages.list's page token: the last message of the page.
type listToken struct {
	At int64 `json:"t"`
	N  int   `json:"n"`
}

func maxResults(q url.Values, def, most int) int {
	n, err := strconv.Atoi(q.Get("maxResults"))
	if err != nil || n <= 0 {
		return def
	}
	return min(n, most)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("q") {
		apiError(w, http.StatusForbidden, "forbidden", "Metadata scope does not support 'q' parameter")
		return
	}
	size := maxResults(q, 100, 500)
	labels := q["labelIds"]
	spamTrash := q.Get("includeSpamTrash") == "true"
	var from *listToken
	if pt := q.Get("pageToken"); pt != "" {
		b, err := base64.RawURLEncoding.DecodeString(pt)
		var t listToken
		if err != nil || json.Unmarshal(b, &t) != nil {
			apiError(w, http.StatusBadRequest, "invalidArgument", "Invalid pageToken")
			return
		}
		from = &t
	}
	s.mu.Lock()
	s.sortOrder()
	i := 0
	if from != nil {
		pivot := &message{at: time.UnixMilli(from.At).UTC(), n: from.N}
		i = sort.Search(len(s.order), func(k int) bool { return after(pivot, s.order[k]) })
	}
	var page []map[string]string
	var last *message
	for ; i < len(s.order) && len(page) < size; i++ {
		m := s.order[i]
		if m.deleted || !hasAll(m, labels) || (!spamTrash && (m.has("TRASH") || m.has("SPAM"))) {
			continue
		}
		page = append(page, map[string]string{"id": m.id, "threadId": m.thread})
		last = m
	}
	more := false
	for ; i < len(s.order); i++ {
		if m := s.order[i]; !m.deleted && hasAll(m, labels) && (spamTrash || !(m.has("TRASH") || m.has("SPAM"))) {
			more = true
			break
		}
	}
	s.mu.Unlock()
	out := map[string]any{"resultSizeEstimate": len(page)}
	if len(page) > 0 {
		out["messages"] = page
	}
	if more {
		b, _ := json.Marshal(listToken{At: last.at.UnixMilli(), N: last.n})
		out["nextPageToken"] = base64.RawURLEncoding.EncodeToString(b)
	}
	writeJSON(w, http.StatusOK, out)
}

func hasAll(m *message, labels []string) bool {
	for _, l := range labels {
		if !m.has(l) {
			return false
		}
	}
	return true
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := strings.ToLower(q.Get("format"))
	if format == "" {
		format = "full"
	}
	if format != "metadata" && format != "minimal" {
		apiError(w, http.StatusForbidden, "forbidden", "Metadata scope doesn't allow format "+strings.ToUpper(format))
		return
	}
	s.mu.Lock()
	m := s.msgs[r.PathValue("id")]
	if m == nil || m.deleted {
		s.mu.Unlock()
		apiError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return
	}
	out := map[string]any{
		"id": m.id, "threadId": m.thread, "labelIds": slices.Clone(m.labels), "historyId": strconv.FormatUint(s.historyID, 10),
		"internalDate": strconv.FormatInt(m.at.UnixMilli(), 10), "sizeEstimate": 5120 + m.n%1000,
	}
	if !s.NoSnippet {
		out["snippet"] = fmt.Sprintf("Hi Ann, here are the figures for week %d &amp; the plan we discussed. Kind regards, Megan", m.n%52)
	}
	if format == "metadata" {
		all := []map[string]string{
			{"name": "Delivered-To", "value": s.Address},
			{"name": "Date", "value": m.at.Format(time.RFC1123Z)},
			{"name": "From", "value": fmt.Sprintf("Megan Bowen <megan%d@example.test>", m.n%50)},
			{"name": "To", "value": "Ann Example <" + s.Address + ">"},
			{"name": "Cc", "value": `"Wilber, Alex" <alex@fabrikam.test>, lee@fabrikam.test`},
			{"name": "Subject", "value": fmt.Sprintf("Quarterly review %d", m.n)},
			{"name": "Message-ID", "value": fmt.Sprintf("<CAF%d.%s@mail.example.test>", m.n, m.id)},
		}
		if m.has(Sent) {
			all[2]["value"] = "Ann Example <" + s.Address + ">"
			all[3]["value"] = fmt.Sprintf("megan%d@example.test", m.n%50)
		}
		want := q["metadataHeaders"]
		var hs []map[string]string
		for _, h := range all {
			if len(want) == 0 || slices.ContainsFunc(want, func(x string) bool { return strings.EqualFold(x, h["name"]) }) {
				hs = append(hs, h)
			}
		}
		out["payload"] = map[string]any{"partId": "", "mimeType": "multipart/alternative", "filename": "", "headers": hs, "body": map[string]int{"size": 0}}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// historyToken is history.list's page token: the index of the next record
// and the start it belongs to.
type historyToken struct {
	Start uint64 `json:"s"`
	Next  uint64 `json:"n"`
}

func (s *Server) historyList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err := strconv.ParseUint(q.Get("startHistoryId"), 10, 64)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalidArgument", "Invalid startHistoryId")
		return
	}
	size := maxResults(q, 100, 500)
	types := map[string]bool{}
	for _, t := range q["historyTypes"] {
		switch t {
		case "messageAdded", "messageDeleted", "labelAdded", "labelRemoved":
			types[strings.Replace(strings.Replace(t, "message", "messages", 1), "label", "labels", 1)] = true
		default:
			apiError(w, http.StatusBadRequest, "invalidArgument", "Invalid value for historyTypes: "+t)
			return
		}
	}
	label := q.Get("labelId")
	from := start
	if pt := q.Get("pageToken"); pt != "" {
		b, err := base64.RawURLEncoding.DecodeString(pt)
		var t historyToken
		if err != nil || json.Unmarshal(b, &t) != nil || t.Start != start {
			apiError(w, http.StatusBadRequest, "invalidArgument", "Invalid pageToken")
			return
		}
		from = t.Next
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if start < s.floor || start > s.historyID {
		apiError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return
	}
	var out []map[string]any
	i := sort.Search(len(s.history), func(k int) bool { return s.history[k].id > from })
	for ; i < len(s.history) && len(out) < size; i++ {
		rec := s.history[i]
		if len(types) > 0 && !types[rec.kind] {
			continue
		}
		if label != "" && !slices.Contains(rec.labels, label) && !slices.Contains(rec.changed, label) {
			continue
		}
		ref := map[string]any{"id": rec.msg, "threadId": rec.thread, "labelIds": rec.labels}
		entry := map[string]any{"message": ref}
		if rec.changed != nil {
			entry["labelIds"] = rec.changed
		}
		out = append(out, map[string]any{
			"id":       strconv.FormatUint(rec.id, 10),
			"messages": []map[string]string{{"id": rec.msg, "threadId": rec.thread}},
			rec.kind:   []map[string]any{entry},
		})
	}
	resp := map[string]any{"historyId": strconv.FormatUint(s.historyID, 10)}
	if len(out) > 0 {
		resp["history"] = out
	}
	if i < len(s.history) {
		b, _ := json.Marshal(historyToken{Start: start, Next: s.history[i-1].id})
		resp["nextPageToken"] = base64.RawURLEncoding.EncodeToString(b)
	}
	writeJSON(w, http.StatusOK, resp)
}

// --- Calendar ---

// AddEvent adds n timed events starting at start, lasting an hour, and
// returns their ids.
func (s *Server) AddEvent(n int, start time.Time) []string {
	return s.addEvents(n, start, start.Add(time.Hour), false)
}

// AddAllDayEvent adds an all-day event on the date of day (days long).
func (s *Server) AddAllDayEvent(day time.Time, days int) string {
	y, m, d := day.Date()
	st := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return s.addEvents(1, st, st.AddDate(0, 0, days), true)[0]
}

func (s *Server) addEvents(n int, start, end time.Time, allDay bool) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, n)
	for range n {
		s.calSeq++
		e := &event{id: fmt.Sprintf("evt%06dq2fi8k", s.calSeq), start: start.UTC(), end: end.UTC(), allDay: allDay, summary: fmt.Sprintf("Pipeline review %d", s.calSeq), seq: s.calSeq}
		s.events[e.id] = e
		ids = append(ids, e.id)
	}
	return ids
}

// ChangeEvent changes an event's title.
func (s *Server) ChangeEvent(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.events[id]; e != nil && !e.cancelled {
		e.rev++
		s.calSeq++
		e.seq = s.calSeq
	}
}

// MoveEvent moves an event to start at start, keeping its length.
func (s *Server) MoveEvent(id string, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.events[id]; e != nil && !e.cancelled {
		e.end = start.UTC().Add(e.end.Sub(e.start))
		e.start = start.UTC()
		s.calSeq++
		e.seq = s.calSeq
	}
}

// CancelEvent cancels (deletes) an event; it stays visible as cancelled
// with showDeleted and in incremental results.
func (s *Server) CancelEvent(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.events[id]; e != nil && !e.cancelled {
		e.cancelled = true
		s.calSeq++
		e.seq = s.calSeq
	}
}

// InvalidateSyncTokens makes every sync token given so far answer 410
// fullSyncRequired.
func (s *Server) InvalidateSyncTokens() {
	s.mu.Lock()
	s.calEpoch++
	s.mu.Unlock()
}

// calToken is a Calendar page or sync token.
type calToken struct {
	E    int    `json:"e"`           // epoch (sync tokens)
	Seq  int    `json:"q"`           // sync: changes after this calSeq; page: the listing's calSeq bound
	From int    `json:"f,omitempty"` // sync round in pages: changes after this calSeq
	Off  int    `json:"o,omitempty"` // page: offset
	Args string `json:"a,omitempty"` // page: the query it belongs to
}

func encodeTok(t calToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeTok(s string) (calToken, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var t calToken
	return t, err == nil && json.Unmarshal(b, &t) == nil
}

func (s *Server) eventsList(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("cal") != "primary" && r.PathValue("cal") != s.Address {
		apiError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	q := r.URL.Query()
	size := maxResults(q, 250, 2500)
	st := q.Get("syncToken")
	if st != "" && (q.Has("timeMin") || q.Has("timeMax") || q.Has("orderBy") || q.Has("q") || q.Has("updatedMin") || q.Get("showDeleted") == "false") {
		apiError(w, http.StatusBadRequest, "syncTokenWithRequestRestrictions", "Sync token cannot be used with other request restrictions.")
		return
	}
	var tmin, tmax time.Time
	var err error
	if v := q.Get("timeMin"); v != "" {
		if tmin, err = time.Parse(time.RFC3339, v); err != nil {
			apiError(w, http.StatusBadRequest, "badRequest", "Bad Request")
			return
		}
	}
	if v := q.Get("timeMax"); v != "" {
		if tmax, err = time.Parse(time.RFC3339, v); err != nil {
			apiError(w, http.StatusBadRequest, "badRequest", "Bad Request")
			return
		}
	}
	args := q.Get("timeMin") + "|" + q.Get("timeMax") + "|" + st + "|" + q.Get("showDeleted") + "|" + q.Get("singleEvents")
	s.mu.Lock()
	defer s.mu.Unlock()
	var since int
	if st != "" {
		t, ok := decodeTok(st)
		if !ok || t.E != s.calEpoch {
			apiError(w, http.StatusGone, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
			return
		}
		since = t.Seq
	}
	bound, off := s.calSeq, 0
	if pt := q.Get("pageToken"); pt != "" {
		t, ok := decodeTok(pt)
		if !ok || t.Args != args {
			apiError(w, http.StatusBadRequest, "invalid", "Invalid page token value.")
			return
		}
		bound, off = t.Seq, t.Off
	}
	var match []*event
	for _, e := range s.events {
		switch {
		case st != "":
			if e.seq <= since || e.seq > bound {
				continue
			}
		default:
			if e.cancelled && q.Get("showDeleted") != "true" {
				continue
			}
			if (!tmin.IsZero() && !e.end.After(tmin)) || (!tmax.IsZero() && !e.start.Before(tmax)) {
				continue
			}
		}
		match = append(match, e)
	}
	sort.Slice(match, func(i, j int) bool { return match[i].id < match[j].id })
	end := min(off+size, len(match))
	items := make([]map[string]any, 0, max(end-off, 0))
	for _, e := range match[min(off, len(match)):end] {
		items = append(items, s.renderEvent(e))
	}
	out := map[string]any{
		"kind": "calendar#events", "etag": `"p33g9h1m2n3o4p"`, "summary": s.Address, "description": "",
		"updated": time.Now().UTC().Format(time.RFC3339Nano), "timeZone": "Europe/Paris", "accessRole": "owner",
		"defaultReminders": []map[string]any{{"method": "popup", "minutes": 10}}, "items": items,
	}
	if end < len(match) {
		out["nextPageToken"] = encodeTok(calToken{Seq: bound, Off: end, Args: args})
	} else {
		out["nextSyncToken"] = encodeTok(calToken{E: s.calEpoch, Seq: bound})
	}
	writeJSON(w, http.StatusOK, out)
}

// renderEvent writes an event as the Calendar API does; s.mu is held.
func (s *Server) renderEvent(e *event) map[string]any {
	if e.cancelled {
		return map[string]any{"kind": "calendar#event", "etag": fmt.Sprintf(`"31%08d"`, e.seq), "id": e.id, "status": "cancelled"}
	}
	when := func(t time.Time) map[string]string {
		if e.allDay {
			return map[string]string{"date": t.Format(time.DateOnly)}
		}
		return map[string]string{"dateTime": t.In(time.FixedZone("", 3600)).Format(time.RFC3339), "timeZone": "Europe/Paris"}
	}
	summary := e.summary
	if e.rev > 0 {
		summary += fmt.Sprintf(" (rev %d)", e.rev)
	}
	return map[string]any{
		"kind": "calendar#event", "etag": fmt.Sprintf(`"31%08d"`, e.seq), "id": e.id, "status": "confirmed",
		"htmlLink": "https://www.google.com/calendar/event?eid=" + e.id, "created": "2026-10-01T09:00:00.000Z",
		"updated": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "summary": summary,
		"description": "Agenda:\n- numbers\n- plans", "location": "Room 4",
		"creator":   map[string]any{"email": "megan@example.test"},
		"organizer": map[string]any{"email": "megan@example.test", "displayName": "Megan Bowen"},
		"start":     when(e.start), "end": when(e.end), "iCalUID": e.id + "@google.com", "sequence": e.rev,
		"attendees": []map[string]any{
			{"email": s.Address, "self": true, "responseStatus": "accepted"},
			{"email": "alex@fabrikam.test", "responseStatus": "needsAction"},
		},
		"reminders": map[string]bool{"useDefault": true}, "eventType": "default",
	}
}
