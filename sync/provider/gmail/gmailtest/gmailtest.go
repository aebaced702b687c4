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
// format=full/raw to any token carrying it (403 forbidden "Metadata scope
// does not support 'q' parameter"; tokens of other Gmail scopes are
// allowed both, though q is not applied), page tokens, history ids that expire (404), sync tokens
// that expire (410 fullSyncRequired), and a sync token combined with
// timeMin/timeMax (400). It can revoke grants, rotate refresh tokens,
// throttle in both of Google's shapes (429, and 403 with
// rateLimitExceeded/userRateLimitExceeded) and fail requests.
//
// Tests script the mailbox: add mail, move it out of the Inbox, delete it,
// send it to oneself (INBOX and SENT), add, change and cancel events,
// expire the history.
//
// Google Workspace domain-wide delegation: the emulated domain has many
// users (AddUser; Address is one of them), each with their own Mailbox. A
// service account (NewServiceAccount, or a key from NewServiceAccountKey
// given to RegisterKey) gets a token for a user with the JWT-bearer grant
// (RFC 7523): the assertion's RS256 signature is checked against the
// registered public key, iss, aud (the token endpoint) and iat/exp (at
// most an hour apart) too; sub must be a user of the domain, else
// invalid_grant "Invalid email or User ID"; every scope asked for must be
// in the Admin console's entry for the account's client ID
// (AuthorizeDelegation), else unauthorized_client. DeleteKey and
// DisableServiceAccount make its assertions fail as Google's do. Each
// token reads its own user's mailbox through users/me or users/{address}
// (another user's is 403 "Delegation denied"), and a token carrying
// gmail.metadata gets the metadata scope's refusals whatever else it
// carries.
package gmailtest

import (
	"bufio"
	"bytes"
	"crypto/rand"
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The scopes the emulator knows.
const (
	ScopeGmailMetadata    = "https://www.googleapis.com/auth/gmail.metadata"
	ScopeGmailReadonly    = "https://www.googleapis.com/auth/gmail.readonly"
	ScopeGmailModify      = "https://www.googleapis.com/auth/gmail.modify"
	ScopeGmailLabels      = "https://www.googleapis.com/auth/gmail.labels"
	ScopeMailGoogle       = "https://mail.google.com/"
	ScopeCalendarEvents   = "https://www.googleapis.com/auth/calendar.events.readonly"
	ScopeCalendarReadonly = "https://www.googleapis.com/auth/calendar.readonly"
	ScopeCalendarEventsRW = "https://www.googleapis.com/auth/calendar.events"
	ScopeCalendar         = "https://www.googleapis.com/auth/calendar"
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
	// Mailboxes: main is the delegated sign-in's (Address); users are the
	// other users of the emulated Workspace domain, by lower-case address.
	main  *Mailbox
	users map[string]*Mailbox
	// Service accounts and domain-wide delegation (delegation.go).
	accounts   map[string]*serviceAccount // by email
	delegation map[string][]string        // client ID -> scopes the admin authorised
	assertions map[string]int             // JWT-bearer grants answered with a token, by subject
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
	// box is the mailbox the token reads: nil for the main mailbox (a
	// delegated sign-in), a domain user's for a service account acting
	// for that user.
	box *Mailbox
	// robot marks a service account's own token (no sub): it has no
	// mailbox.
	robot bool
}

type authCode struct {
	redirect, challenge, scope string
	offline, used              bool
}

// Mailbox is one user's Gmail and primary calendar. Its methods script
// changes, as the user or their correspondents would make them; they are
// safe for concurrent use.
type Mailbox struct {
	s       *Server
	address string // the main mailbox's is Server.Address, copied on use
	// Gmail.
	msgs      map[string]*message
	order     []*message // newest first once sorted
	sorted    bool
	history   []record
	historyID uint64
	floor     uint64 // history ids below this are expired
	seq       int
	labels    []userLabel // the user's labels (labels.go)
	labelSeq  int
	// Calendar.
	events   map[string]*event
	calSeq   int
	calEpoch int
}

func newMailbox(s *Server, address string) *Mailbox {
	return &Mailbox{s: s, address: address, msgs: map[string]*message{}, historyID: 1000, floor: 1000, events: map[string]*event{}, calEpoch: 1}
}

// Address returns the mailbox's address.
func (b *Mailbox) Address() string {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.addr()
}

// addr returns the address; the server's mu is held.
func (b *Mailbox) addr() string {
	if b == b.s.main {
		b.address = b.s.Address
	}
	return b.address
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
		users: map[string]*Mailbox{}, accounts: map[string]*serviceAccount{}, delegation: map[string][]string{}, assertions: map[string]int{},
	}
	s.main = newMailbox(s, s.Address)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /o/oauth2/v2/auth", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.Handle("GET /gmail/v1/users/{user}/profile", s.api(gmailScopes, s.profile))
	mux.Handle("GET /gmail/v1/users/{user}/messages", s.api(gmailScopes, s.list))
	mux.Handle("GET /gmail/v1/users/{user}/messages/{id}", s.api(gmailScopes, s.get))
	mux.Handle("GET /gmail/v1/users/{user}/history", s.api(gmailScopes, s.historyList))
	mux.Handle("GET /gmail/v1/users/{user}/labels", s.api(labelScopes, s.labelsList))
	mux.Handle("GET /calendar/v3/calendars/{cal}/events", s.api(calendarScopes, s.eventsList))
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

// --- the API layer ---

// call is what the API layer hands a handler: the mailbox the token reads
// and whether the token carries the metadata scope (which restricts what
// Gmail answers, whatever other scopes come with it).
type call struct {
	box      *Mailbox
	metadata bool
}

// The scopes each API accepts; the first is the one the error names.
var (
	gmailScopes    = []string{ScopeGmailMetadata, ScopeGmailReadonly, ScopeGmailModify, ScopeMailGoogle}
	labelScopes    = append([]string{ScopeGmailLabels}, gmailScopes...)
	calendarScopes = []string{ScopeCalendarEvents, ScopeCalendarReadonly, ScopeCalendarEventsRW, ScopeCalendar}
)

// api checks the bearer token and its scope, counts the request and
// applies injected failures and delays before h. A token reads its own
// mailbox only: users/me, or users/{its address}; another user's is
// "Delegation denied" (403).
func (s *Server) api(scopes []string, h func(http.ResponseWriter, *http.Request, call)) http.Handler {
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
		var c call
		var scope, address string
		if g != nil {
			scope = g.scope
			c.box = g.box
			if c.box == nil {
				c.box = s.main
			}
			address = c.box.addr()
		}
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if g == nil || g.revoked {
			w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
			apiError(w, http.StatusUnauthorized, "authError", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
			return
		}
		granted := strings.Fields(scope)
		if !slices.ContainsFunc(scopes, func(x string) bool { return slices.Contains(granted, x) }) {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{
				"code": 403, "message": "Request had insufficient authentication scopes.", "status": "PERMISSION_DENIED",
				"errors":  []map[string]string{{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}},
				"details": []map[string]any{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}},
			}})
			return
		}
		c.metadata = slices.Contains(granted, ScopeGmailMetadata)
		if g.robot {
			// A service account's own token: it has no mailbox.
			apiError(w, http.StatusBadRequest, "failedPrecondition", "Precondition check failed.")
			return
		}
		if u := r.PathValue("user"); u != "" && u != "me" && !strings.EqualFold(u, address) {
			apiError(w, http.StatusForbidden, "forbidden", "Delegation denied for "+address)
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
		h(w, r, c)
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
