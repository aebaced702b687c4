// Package graphtest is an in-process emulator of the parts of Microsoft
// Graph v1.0 that the graph provider uses: /me, message delta per mail
// folder (/me/mailFolders/{inbox|sentitems}/messages/delta) and
// /me/calendarView/delta, with paging through @odata.nextLink, rounds that
// end in an @odata.deltaLink, @removed entries, odata.maxpagesize, the
// receivedDateTime filter, sync states that can be forgotten (410 Gone /
// syncStateNotFound), throttling (429 or 503 with Retry-After) and a bearer
// token check. The answers are shaped like Microsoft's published examples.
//
// For app-only access (organisation mode) it also emulates the Microsoft
// identity platform's client credentials grant for one registered app
// (app.go: client secret or certificate assertion, consent withdrawn), many
// mailboxes under /users/{id | userPrincipalName}/... each with its own
// folders, delta state, throttling and access switch (users.go), and group
// membership under /groups/{id}/members and transitiveMembers.
package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Folders the emulator holds.
const (
	Inbox    = "inbox"
	Sent     = "sentitems"
	Calendar = "calendar"
)

// DefaultPageSize is the page size without a Prefer: odata.maxpagesize.
const DefaultPageSize = 10

// Server is the emulated Graph service. Its URL + "/v1.0" is the endpoint.
type Server struct {
	*httptest.Server

	// Address is the mailbox address /me reports.
	Address string
	// Auth checks a bearer token; nil accepts any non-empty one.
	Auth func(token string) bool

	mu        sync.Mutex
	me        *mailbox // the signed-in user's mailbox (/me)
	delay     time.Duration
	lastQuery url.Values
	lastHdr   http.Header

	// App-only access (app.go, users.go); guarded by mu.
	app          *AppRegistration
	consent      bool
	secretOld    bool // the client secret has expired
	tokens       map[string]appToken
	jtis         map[string]bool
	users        map[string]*Mailbox // by lower-case UPN and by id
	groups       map[string][]Member
	noTransitive bool
	tokenReqs    atomic.Int64
	now          func() time.Time

	requests    atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64
}

type throttle struct {
	status int
	after  time.Duration
}

// mailbox is one mailbox's folders and sync state; Server.mu guards it.
type mailbox struct {
	num      int // 0 for /me; item ids carry it
	folders  map[string]*folder
	byID     map[string]*item
	epoch    int
	goneCode int // status for a forgotten sync state
	throttle []throttle
}

func newMailbox(num int) *mailbox {
	m := &mailbox{num: num, folders: map[string]*folder{}, byID: map[string]*item{}, epoch: 1, goneCode: http.StatusGone}
	for _, f := range []string{Inbox, Sent, Calendar} {
		m.folders[f] = &folder{name: f}
	}
	return m
}

type folder struct {
	name  string
	items []*item
	log   []int32 // item index of each change, in order
}

type item struct {
	folder  string
	idx     int32
	id      string
	at      time.Time // received (or start)
	rev     int
	deleted bool

	// The marks a user sets in Outlook: categories and sensitivity
	// (Graph's enum: normal, personal, private, confidential; "" is
	// normal). marks counts their changes (the etag moves with them).
	categories  []string
	sensitivity string
	marks       int
	// num is the mailbox's number (0: the signed-in user's; app-only
	// users count from 1), in the Message-ID so that two users' mails
	// are two messages.
	num int

	// msg replaces the generated participants, subject or conversation
	// of a message (Compose).
	msg *Message

	// enc is the item's JSON at revision encRev with $select encSel
	// (encode.go).
	enc    []byte
	encRev int
	encSel string
}

// Message is what a test writes of a message (Compose): its participants
// as "Name <address>" or "address", and optionally its subject and
// conversation (empty keeps the emulator's).
type Message struct {
	From           string
	To, Cc         []string
	Subject        string
	ConversationID string
}

// Compose gives a stored message the participants (and subject,
// conversation) of m, as if it had been written so: call it before the
// message is first synced.
func (s *Server) Compose(id string, m Message) { s.compose(s.me, id, m) }

func (s *Server) compose(mb *mailbox, id string, m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := mb.byID[id]; it != nil {
		c := m
		c.To, c.Cc = slices.Clone(m.To), slices.Clone(m.Cc)
		it.msg, it.enc = &c, nil
	}
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
	s := &Server{Address: "ann@contoso.test", me: newMailbox(0), consent: true,
		tokens: map[string]appToken{}, jtis: map[string]bool{}, users: map[string]*Mailbox{}, groups: map[string][]Member{}}
	mux := http.NewServeMux()
	me := s.delegated
	mux.Handle("GET /v1.0/me", me(http.HandlerFunc(s.meHandler)))
	mux.Handle("GET /v1.0/me/mailFolders/{folder}/messages/delta", me(s.onMailbox(func(*http.Request) *mailbox { return s.me }, s.messagesDelta)))
	mux.Handle("GET /v1.0/me/calendarView/delta", me(s.onMailbox(func(*http.Request) *mailbox { return s.me }, s.calendarDelta)))
	s.routeApp(mux)
	s.Server = httptest.NewUnstartedServer(s.wrap(mux))
	return s
}

// Endpoint returns the Graph base URL ("https://127.0.0.1:port/v1.0").
func (s *Server) Endpoint() string { return s.URL + "/v1.0" }

func graphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]string{"date": time.Now().UTC().Format(time.RFC3339), "request-id": "00000000-0000-0000-0000-000000000000"},
	}})
}

// wrap counts requests and records the last one.
func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		n := s.inflight.Add(1)
		defer s.inflight.Add(-1)
		raise(&s.maxInflight, n)
		s.mu.Lock()
		s.lastQuery, s.lastHdr = r.URL.Query(), r.Header.Clone()
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// raise sets max to n when n is larger.
func raise(max *atomic.Int64, n int64) {
	for {
		m := max.Load()
		if n <= m || max.CompareAndSwap(m, n) {
			return
		}
	}
}

// wait sleeps the configured delay; false when the request ended first.
func (s *Server) wait(r *http.Request) bool {
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return false
		}
	}
	return true
}

// delegated guards the /me routes: the delay, a delegated bearer token
// (an app token answers as Graph does: /me needs a signed-in user) and
// the throttling injected for the /me mailbox.
func (s *Server) delegated(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.wait(r) {
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" || (s.Auth != nil && !s.Auth(tok)) && !s.isAppToken(tok) {
			graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
			return
		}
		if s.isAppToken(tok) {
			graphError(w, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
			return
		}
		if s.throttled(w, s.me) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// throttled answers an injected throttling of m, if any.
func (s *Server) throttled(w http.ResponseWriter, m *mailbox) bool {
	s.mu.Lock()
	var th *throttle
	if len(m.throttle) > 0 {
		th = &m.throttle[0]
		m.throttle = m.throttle[1:]
	}
	s.mu.Unlock()
	if th == nil {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(th.after/time.Second)))
	code := "TooManyRequests"
	if th.status == http.StatusServiceUnavailable {
		code = "ServiceNotAvailable"
	}
	graphError(w, th.status, code, "Application is over its MailboxConcurrency limit.")
	return true
}

// onMailbox adapts a handler of one mailbox's routes.
func (s *Server) onMailbox(pick func(*http.Request) *mailbox, h func(http.ResponseWriter, *http.Request, *mailbox)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r, pick(r)) })
}

func (s *Server) meHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"@odata.context": s.Endpoint() + "/$metadata#users/$entity",
		"id":             "87d349ed-44d7-43e1-9a83-5f2406dee5bd", "displayName": "Ann Example",
		"mail": s.Address, "userPrincipalName": s.Address,
	})
}

// Add adds n items to folder dated at (events start at `at` and last an
// hour) and returns their ids.
func (s *Server) Add(folderName string, n int, at time.Time) []string {
	return s.add(s.me, folderName, n, at)
}

func (s *Server) add(m *mailbox, folderName string, n int, at time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := m.folders[folderName]
	ids := make([]string, 0, n)
	for range n {
		it := &item{folder: folderName, idx: int32(len(f.items)), at: at.UTC(), num: m.num}
		if m.num == 0 {
			it.id = fmt.Sprintf("AAMkAGI2TG93AAA-%s-%07d=", folderName, it.idx)
		} else {
			it.id = fmt.Sprintf("AAMkAGI2TG93%03d-%s-%07d=", m.num, folderName, it.idx)
		}
		f.items = append(f.items, it)
		f.log = append(f.log, it.idx)
		m.byID[it.id] = it
		ids = append(ids, it.id)
	}
	return ids
}

// Update changes an item's subject so that delta reports it.
func (s *Server) Update(id string) { s.update(s.me, id) }

func (s *Server) update(m *mailbox, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := m.byID[id]; it != nil && !it.deleted {
		it.rev++
		f := m.folders[it.folder]
		f.log = append(f.log, it.idx)
	}
}

// SetCategories sets the categories of an item (a message or an event),
// as a user does in Outlook; the next delta round returns the item as
// changed, with its other properties as they were.
func (s *Server) SetCategories(id string, names ...string) {
	s.mark(s.me, id, func(it *item) { it.categories = slices.Clone(names) })
}

// SetSensitivity sets the sensitivity of an item: "normal", "personal",
// "private" or "confidential"; the next delta round returns it as changed.
func (s *Server) SetSensitivity(id, sensitivity string) {
	s.mark(s.me, id, func(it *item) { it.sensitivity = sensitivity })
}

func (s *Server) mark(m *mailbox, id string, set func(*item)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := m.byID[id]; it != nil && !it.deleted {
		set(it)
		it.marks++
		f := m.folders[it.folder]
		f.log = append(f.log, it.idx)
	}
}

// Delete removes an item.
func (s *Server) Delete(id string) { s.delete(s.me, id) }

func (s *Server) delete(m *mailbox, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := m.byID[id]; it != nil && !it.deleted {
		it.deleted = true
		f := m.folders[it.folder]
		f.log = append(f.log, it.idx)
	}
}

// InvalidateCursors forgets every sync state: old links answer 410 Gone
// (or, after UseSyncStateNotFound, 400 syncStateNotFound).
func (s *Server) InvalidateCursors() {
	s.mu.Lock()
	s.me.epoch++
	s.mu.Unlock()
}

// UseSyncStateNotFound makes forgotten sync states answer 400 with error
// code syncStateNotFound instead of 410 Gone.
func (s *Server) UseSyncStateNotFound() {
	s.mu.Lock()
	s.me.goneCode = http.StatusBadRequest
	s.mu.Unlock()
}

// ThrottleNext makes the next request to /me answer status (429 or 503) with
// Retry-After d.
func (s *Server) ThrottleNext(status int, d time.Duration) {
	s.mu.Lock()
	s.me.throttle = append(s.me.throttle, throttle{status, d})
	s.mu.Unlock()
}

// SetDelay makes every request wait d before it is answered.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// Requests returns how many requests arrived.
func (s *Server) Requests() int64 { return s.requests.Load() }

// MaxInFlight returns the most requests that were in flight at once.
func (s *Server) MaxInFlight() int64 { return s.maxInflight.Load() }

// LastRequest returns the query and headers of the last request.
func (s *Server) LastRequest() (url.Values, http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastQuery, s.lastHdr
}

// state is a sync state, carried in $skiptoken and $deltatoken.
type state struct {
	E      int    `json:"e"`           // epoch
	F      string `json:"f"`           // folder
	Mode   string `json:"m"`           // "i" initial round, "c" changes round
	From   int    `json:"p,omitempty"` // changes round: log position it starts at
	To     int    `json:"q,omitempty"` // log position the round ends at
	Next   int32  `json:"o,omitempty"` // next item index to consider
	N      int32  `json:"n,omitempty"` // initial round: items at its start
	Since  int64  `json:"s,omitempty"` // receivedDateTime ge, unix seconds
	WStart int64  `json:"ws,omitempty"`
	WEnd   int64  `json:"we,omitempty"`
	Size   int    `json:"z"`
	Sel    string `json:"l,omitempty"` // $select of a messages delta
}

func (st state) encode() string {
	b, _ := json.Marshal(st)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeState(s string) (state, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var st state
	if err != nil || json.Unmarshal(b, &st) != nil || st.F == "" {
		return state{}, false
	}
	return st, true
}

// pageSize reads Prefer: odata.maxpagesize.
func pageSize(r *http.Request) int {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if n, ok := strings.CutPrefix(strings.TrimSpace(p), "odata.maxpagesize="); ok {
				if k, err := strconv.Atoi(n); err == nil && k > 0 {
					return min(k, 1000)
				}
			}
		}
	}
	return DefaultPageSize
}

func (s *Server) messagesDelta(w http.ResponseWriter, r *http.Request, m *mailbox) {
	name := strings.ToLower(r.PathValue("folder"))
	if name != Inbox && name != Sent {
		graphError(w, http.StatusNotFound, "ErrorInvalidIdMalformed", "Id is malformed.")
		return
	}
	q := r.URL.Query()
	sel, ok := s.mailSelect(w, r)
	if !ok {
		return
	}
	st, ok, done := s.startOrResume(w, r, m, name)
	if done {
		return
	}
	if !ok {
		st = state{F: name, Mode: "i", Size: pageSize(r), Sel: sel}
		if f := q.Get("$filter"); f != "" {
			v, found := strings.CutPrefix(f, "receivedDateTime ge ")
			t, err := time.Parse(time.RFC3339, v)
			if !found || err != nil {
				graphError(w, http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.")
				return
			}
			st.Since = t.Unix()
		}
	}
	s.serveRound(w, r.URL.Path, m, st)
}

func (s *Server) calendarDelta(w http.ResponseWriter, r *http.Request, m *mailbox) {
	q := r.URL.Query()
	if q.Has("$select") {
		graphError(w, http.StatusBadRequest, "ErrorInvalidUrlQuery", "$select is not supported with calendarView delta.")
		return
	}
	st, ok, done := s.startOrResume(w, r, m, Calendar)
	if done {
		return
	}
	if !ok {
		start, err1 := time.Parse(time.RFC3339, q.Get("startDateTime"))
		end, err2 := time.Parse(time.RFC3339, q.Get("endDateTime"))
		if err1 != nil || err2 != nil || !end.After(start) {
			graphError(w, http.StatusBadRequest, "ErrorInvalidParameter", "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.")
			return
		}
		st = state{F: Calendar, Mode: "i", Size: pageSize(r), WStart: start.Unix(), WEnd: end.Unix()}
	}
	s.serveRound(w, r.URL.Path, m, st)
}

// startOrResume reads $skiptoken/$deltatoken; done means an answer was
// written.
func (s *Server) startOrResume(w http.ResponseWriter, r *http.Request, m *mailbox, name string) (state, bool, bool) {
	q := r.URL.Query()
	tok := q.Get("$skiptoken")
	if tok == "" {
		tok = q.Get("$deltatoken")
	}
	if tok == "" {
		return state{}, false, false
	}
	st, ok := decodeState(tok)
	s.mu.Lock()
	epoch, gone := m.epoch, m.goneCode
	s.mu.Unlock()
	if !ok || st.F != name {
		graphError(w, http.StatusBadRequest, "BadRequest", "The sync token is malformed.")
		return state{}, false, true
	}
	if st.E != epoch {
		graphError(w, gone, "syncStateNotFound", "The sync state generation is not found. Please do a full synchronization.")
		return state{}, false, true
	}
	if q.Has("$deltatoken") {
		st.Mode, st.To, st.Next = "c", 0, 0
	}
	return st, true, false
}

// serveRound answers one page of a round.
func (s *Server) serveRound(w http.ResponseWriter, path string, m *mailbox, st state) {
	s.mu.Lock()
	f := m.folders[st.F]
	st.E = m.epoch
	var picked []*item
	switch st.Mode {
	case "i":
		if st.N == 0 && st.Next == 0 {
			st.N, st.From = int32(len(f.items)), len(f.log)
		}
		for i := st.Next; i < st.N && len(picked) < st.Size; i++ {
			it := f.items[i]
			st.Next = i + 1
			if !it.deleted && s.matches(it, st) {
				picked = append(picked, it)
			}
		}
		if st.Next >= st.N {
			st.Mode = "done"
		}
	case "c":
		if st.To == 0 {
			st.To = len(f.log)
		}
		changed := slices.Clone(f.log[min(st.From, len(f.log)):min(st.To, len(f.log))])
		slices.Sort(changed)
		changed = slices.Compact(changed)
		i, _ := slices.BinarySearch(changed, st.Next)
		for ; i < len(changed) && len(picked) < st.Size; i++ {
			picked = append(picked, f.items[changed[i]])
			st.Next = changed[i] + 1
		}
		if i >= len(changed) {
			st.Mode, st.From = "done", st.To
		}
	}
	// Copies of the picked items, rendered after the lock is released
	// (unless their JSON is kept already), so that pages of many
	// mailboxes are rendered at once.
	snaps := make([]snapshot, len(picked))
	for i, it := range picked {
		snaps[i] = s.snapshot(it, st)
	}
	s.mu.Unlock()
	vals := make([][]byte, len(snaps))
	size := 0
	rendered := false
	for i := range snaps {
		if snaps[i].enc == nil {
			snaps[i].enc, rendered = snaps[i].encode(), true
		}
		vals[i] = snaps[i].enc
		size += len(vals[i]) + 1
	}
	if rendered {
		s.mu.Lock()
		for i, it := range picked {
			snaps[i].keep(it)
		}
		s.mu.Unlock()
	}

	// The page's JSON as encoding/json writes a map (keys in order):
	// @odata.context, @odata.deltaLink or @odata.nextLink, value.
	link := s.Endpoint() + strings.TrimPrefix(path, "/v1.0")
	out := make([]byte, 0, size+512)
	out = append(out, `{"@odata.context":`...)
	out = appendString(out, s.Endpoint()+"/$metadata#Collection("+kind(&item{folder: st.F})+")")
	if st.Mode == "done" {
		st.Mode, st.To, st.Next, st.N = "c", 0, 0, 0
		out = append(out, `,"@odata.deltaLink":`...)
		out = appendString(out, link+"?$deltatoken="+st.encode())
	} else {
		out = append(out, `,"@odata.nextLink":`...)
		out = appendString(out, link+"?$skiptoken="+st.encode())
	}
	out = append(out, `,"value":[`...)
	for i, v := range vals {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, v...)
	}
	out = append(out, "]}\n"...)
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true")
	w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(st.Size))
	w.Write(out)
}

func kind(it *item) string {
	if it.folder == Calendar {
		return "event"
	}
	return "message"
}

func reason(it *item) string {
	if it.deleted {
		return "deleted"
	}
	return "changed" // left the filter or window
}

// matches applies the round's filter or window; s.mu is held.
func (s *Server) matches(it *item, st state) bool {
	if it.folder == Calendar {
		start, end := it.at.Unix(), it.at.Add(time.Hour).Unix()
		return end > st.WStart && start < st.WEnd
	}
	return st.Since == 0 || it.at.Unix() >= st.Since
}

// messageID is an item's Message-ID: one per mailbox and item.
func messageID(it *item) string {
	if it.num > 0 {
		return fmt.Sprintf("<%s.%03d.%07d@contoso.test>", it.folder, it.num, it.idx)
	}
	return fmt.Sprintf("<%s.%07d@contoso.test>", it.folder, it.idx)
}

// render writes an item as Graph does (of a copy, or with s.mu held).
func render(it *item) map[string]any {
	n := int(it.idx)
	sensitivity := it.sensitivity
	if sensitivity == "" {
		sensitivity = "normal"
	}
	categories := append([]string{}, it.categories...) // [] when none, as Graph sends it
	etag := it.rev*1000 + it.marks
	subject := fmt.Sprintf("Quarterly review %d", n)
	if it.rev > 0 {
		subject += fmt.Sprintf(" (rev %d)", it.rev)
	}
	addr := func(name, a string) map[string]any {
		return map[string]any{"emailAddress": map[string]string{"name": name, "address": a}}
	}
	if it.folder == Calendar {
		dt := func(t time.Time) map[string]string {
			return map[string]string{"dateTime": t.UTC().Format("2006-01-02T15:04:05.0000000"), "timeZone": "UTC"}
		}
		return map[string]any{
			"@odata.type": "#microsoft.graph.event", "@odata.etag": fmt.Sprintf("W/\"DwAAABYAAAB%d\"", etag),
			"id": it.id, "iCalUId": fmt.Sprintf("040000008200E00074C5B7101A82E0080000000%07d", n),
			"subject": subject, "bodyPreview": "Agenda: numbers, plans and next steps.",
			"start": dt(it.at), "end": dt(it.at.Add(time.Hour)),
			"location":  map[string]string{"displayName": "Conf Room 4"},
			"organizer": addr("Megan Bowen", "megan@contoso.test"),
			"attendees": []map[string]any{
				{"type": "required", "status": map[string]string{"response": "none"}, "emailAddress": map[string]string{"name": "Ann", "address": "ann@contoso.test"}},
				{"type": "optional", "status": map[string]string{"response": "accepted"}, "emailAddress": map[string]string{"name": "Alex", "address": "alex@fabrikam.test"}},
			},
			"sensitivity": sensitivity, "categories": categories,
		}
	}
	t := it.at.UTC().Format(time.RFC3339)
	if m := it.msg; m != nil {
		recipient := func(s string) map[string]any {
			if a, err := mail.ParseAddress(s); err == nil {
				return addr(a.Name, a.Address)
			}
			return addr("", s)
		}
		list := func(ss []string) []any {
			out := []any{}
			for _, s := range ss {
				out = append(out, recipient(s))
			}
			return out
		}
		if m.Subject != "" {
			subject = m.Subject
		}
		conv := fmt.Sprintf("AAQkAGI2TG93AAA%07d=", n/3)
		if m.ConversationID != "" {
			conv = m.ConversationID
		}
		return map[string]any{
			"@odata.type": "#microsoft.graph.message", "@odata.etag": fmt.Sprintf("W/\"CQAAABYAAAB%d\"", etag),
			"id": it.id, "receivedDateTime": t, "sentDateTime": t, "subject": subject,
			"bodyPreview":       "Hi, a note about our order.",
			"internetMessageId": messageID(it),
			"conversationId":    conv,
			"from":              recipient(m.From),
			"toRecipients":      list(m.To),
			"ccRecipients":      list(m.Cc),
			"sensitivity":       sensitivity,
			"categories":        categories,
		}
	}
	return map[string]any{
		"@odata.type": "#microsoft.graph.message", "@odata.etag": fmt.Sprintf("W/\"CQAAABYAAAB%d\"", etag),
		"id": it.id, "receivedDateTime": t, "sentDateTime": t, "subject": subject,
		"bodyPreview":       "Hi Ann, please find the figures for this quarter attached. Kind regards, Megan",
		"internetMessageId": messageID(it),
		"conversationId":    fmt.Sprintf("AAQkAGI2TG93AAA%07d=", n/3),
		"from":              addr("Megan Bowen", fmt.Sprintf("megan%d@contoso.test", n%50)),
		"toRecipients":      []any{addr("Ann Example", "ann@contoso.test")},
		"ccRecipients":      []any{addr("Alex Wilber", "alex@fabrikam.test")},
		"sensitivity":       sensitivity,
		"categories":        categories,
	}
}
