// Package console is the organisation's web console (`inboxsync org
// console`, issue 21): every mailbox with its state, reason, last and next
// sync and items, filtered, searched, sorted and paged; a mailbox's page
// with its sessions, issues and the admins' actions on it; Force sync,
// Enable and Disable; a CSV download of the table.
//
// It is server-rendered html/template with no script. Off localhost the
// program serves it over TLS only and every page needs a sign-in of an
// admin of the admins file (bcrypt hashes, [Admins]). Each browser gets a
// session cookie (HttpOnly, SameSite=Strict, Secure over TLS); every POST
// carries the session's CSRF token and, when the browser sends one, an
// Origin of this host. Every admin action is logged and stored
// (pgstore.AdminAction) with who did it. No secret is ever rendered: the
// store holds none.
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
)

//go:embed web
var webFS embed.FS

// Config is what a console serves and how.
type Config struct {
	// Store is the organisation store.
	Store *pgstore.Store
	// Admins are the accounts that may sign in; nil serves without a
	// sign-in (the program allows that on a loopback address only), every
	// action then recorded as done by "localhost".
	Admins *Admins
	// Secure marks the cookies Secure (served over TLS).
	Secure bool
	// Enqueue asks the workers for a sync of the addresses now
	// (org.Enqueue).
	Enqueue func(ctx context.Context, addresses []string) error
	// Log receives a line per admin action and sign-in; nil discards.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Location shows times; nil is time.Local.
	Location *time.Location
	// Version is shown in the footer.
	Version string
	// APIUse, when set, gives the organisation's Salesforce API use
	// today and until when logging waits (zero: it does not).
	APIUse func(ctx context.Context) (used, limit int, until time.Time, err error)
}

// crmCounts are a mailbox's items by CRM state.
type crmCounts struct {
	Logged, Skipped, Failed, Waiting int
}

func countsOf(m map[api.CRMState]int) crmCounts {
	return crmCounts{Logged: m[api.CRMLogged], Skipped: m[api.CRMSkipped], Failed: m[api.CRMFailed], Waiting: m[api.CRMPending]}
}

// apiUse is the org's Salesforce API use as the pages show it.
type apiUse struct {
	Used, Limit int
	Percent     int
	Until       time.Time
}

// crmView is what the pages show of the organisation's Salesforce.
func (s *Server) crmView(ctx context.Context) (connected bool, use *apiUse, err error) {
	c, ok, err := s.cfg.Store.CRMConnection(ctx)
	if err != nil || !ok || !c.Active {
		return false, nil, err
	}
	if s.cfg.APIUse != nil {
		u := apiUse{}
		if u.Used, u.Limit, u.Until, err = s.cfg.APIUse(ctx); err != nil {
			return true, nil, err
		}
		if u.Limit > 0 {
			u.Percent = u.Used * 100 / u.Limit
			use = &u
		}
		if !u.Until.After(s.cfg.Now()) {
			u.Until = time.Time{}
		}
	}
	return true, use, nil
}

// Server is the console's http.Handler.
type Server struct {
	cfg   Config
	mux   *http.ServeMux
	pages *template.Template

	mu       sync.Mutex
	sessions map[string]*session
	failures map[string][]time.Time // remote host → failed sign-ins
}

// session is one browser's: who signed in (""  before) and its CSRF token.
type session struct {
	admin   string
	csrf    string
	expires time.Time
	flash   string
}

// Session lengths: a signed-in session lasts 12 hours; the sign-in page's
// anonymous one an hour.
const (
	sessionLife   = 12 * time.Hour
	anonymousLife = time.Hour
	cookieName    = "inboxsync_console"
	// maxFailures failed sign-ins from one host within failureWindow
	// lock it out until the window passes.
	maxFailures   = 5
	failureWindow = 10 * time.Minute
)

// New returns a console serving cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Enqueue == nil {
		return nil, errors.New("console: a store and an Enqueue are needed")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), sessions: map[string]*session{}, failures: map[string][]time.Time{}}
	var err error
	s.pages, err = template.New("").Funcs(template.FuncMap{
		"when":   s.when,
		"state":  stateWords,
		"number": number,
		"dur":    duration,
		"next":   s.next,
	}).ParseFS(webFS, "web/*.html")
	if err != nil {
		return nil, err
	}
	static, _ := fs.Sub(webFS, "web")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /signin", s.signinPage)
	s.mux.HandleFunc("POST /signin", s.signin)
	s.mux.HandleFunc("POST /signout", s.signed(s.signout))
	s.mux.HandleFunc("GET /{$}", s.signed(s.table))
	s.mux.HandleFunc("GET /mailboxes.csv", s.signed(s.csv))
	s.mux.HandleFunc("GET /mailbox/{address}", s.signed(s.mailbox))
	s.mux.HandleFunc("POST /mailbox/{address}/{action}", s.signed(s.act))
	return s, nil
}

// ServeHTTP serves the console, with headers that keep the pages out of
// frames, caches and other origins.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if s.cfg.Secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	s.mux.ServeHTTP(w, r)
}

func token() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// session returns the browser's session, or nil.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.sessions[c.Value]
	if se == nil {
		return nil
	}
	if s.cfg.Now().After(se.expires) {
		delete(s.sessions, c.Value)
		return nil
	}
	return se
}

// newSession starts a session for admin ("" before the sign-in) and sets
// its cookie.
func (s *Server) newSession(w http.ResponseWriter, admin string) *session {
	id := token()
	life := sessionLife
	if admin == "" {
		life = anonymousLife
	}
	se := &session{admin: admin, csrf: token(), expires: s.cfg.Now().Add(life)}
	s.mu.Lock()
	now := s.cfg.Now()
	for k, v := range s.sessions {
		if now.After(v.expires) {
			delete(s.sessions, k)
		}
	}
	s.sessions[id] = se
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, Secure: s.cfg.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(life / time.Second)})
	return se
}

// signed wraps a handler that needs a signed-in admin: without one, a GET
// goes to the sign-in page and anything else is refused. Without Admins
// every browser is "localhost". A POST must carry the session's CSRF
// token and come from this origin.
func (s *Server) signed(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		se := s.session(r)
		if s.cfg.Admins == nil && (se == nil || se.admin == "") {
			se = s.newSession(w, "localhost")
		}
		if se == nil || se.admin == "" {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "Sign in first.", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !s.sameOrigin(r, se) {
			http.Error(w, "This form is out of date or did not come from this console: go back, reload the page and try again.", http.StatusForbidden)
			return
		}
		h(w, r, se)
	}
}

// sameOrigin checks a POST's CSRF token against se's and its Origin (when
// the browser sent one) against the host it was sent to.
func (s *Server) sameOrigin(r *http.Request, se *session) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	got := r.PostFormValue("csrf")
	return se != nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(se.csrf)) == 1
}

func remote(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// record logs and stores an admin action.
func (s *Server) record(ctx context.Context, r *http.Request, admin, action, mailbox, outcome string) {
	a := pgstore.AdminAction{At: s.cfg.Now(), Admin: admin, Action: action, Mailbox: mailbox, Remote: remote(r), Outcome: outcome}
	s.cfg.Log.Info("console: "+action, "admin", admin, "mailbox", mailbox, "from", a.Remote, "outcome", outcome)
	if err := s.cfg.Store.RecordAdminAction(ctx, a); err != nil {
		s.cfg.Log.Error("console: recording an admin action", "err", err)
	}
}

// safeNext returns a local path to go to after signing in.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

type signinData struct {
	CSRF, Next, Error, Version string
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Admins == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	se := s.session(r)
	if se != nil && se.admin != "" {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	if se == nil {
		se = s.newSession(w, "")
	}
	s.render(w, http.StatusOK, "signin.html", signinData{CSRF: se.csrf, Next: safeNext(r.URL.Query().Get("next")), Version: s.cfg.Version})
}

// locked reports whether host failed to sign in too often lately.
func (s *Server) locked(host string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := s.cfg.Now().Add(-failureWindow)
	var keep []time.Time
	for _, t := range s.failures[host] {
		if t.After(cut) {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		delete(s.failures, host)
	} else {
		s.failures[host] = keep
	}
	return len(keep) >= maxFailures
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Admins == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	se := s.session(r)
	if !s.sameOrigin(r, se) {
		http.Error(w, "This sign-in form is out of date: reload the page and sign in again.", http.StatusForbidden)
		return
	}
	name, password, next := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password"), safeNext(r.PostFormValue("next"))
	host := remote(r)
	if s.locked(host) {
		s.record(r.Context(), r, name, "sign-in", "", "refused: too many failed sign-ins")
		s.render(w, http.StatusTooManyRequests, "signin.html", signinData{CSRF: se.csrf, Next: next, Version: s.cfg.Version,
			Error: "Too many failed sign-ins from this computer. Wait 10 minutes and try again."})
		return
	}
	if !s.cfg.Admins.Check(name, password) {
		s.mu.Lock()
		s.failures[host] = append(s.failures[host], s.cfg.Now())
		s.mu.Unlock()
		s.record(r.Context(), r, name, "sign-in", "", "refused: wrong name or password")
		s.render(w, http.StatusUnauthorized, "signin.html", signinData{CSRF: se.csrf, Next: next, Version: s.cfg.Version,
			Error: "The name or the password is wrong."})
		return
	}
	// A new session id after the sign-in: one set before it (by someone
	// else, on a shared computer) is worth nothing.
	s.dropSession(r)
	s.newSession(w, name)
	s.record(r.Context(), r, name, "sign-in", "", "signed in")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) dropSession(r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, se *session) {
	s.dropSession(r)
	s.record(r.Context(), r, se.admin, "sign-out", "", "signed out")
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode})
	if s.cfg.Admins == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (s *Server) render(w http.ResponseWriter, code int, name string, data any) {
	var b strings.Builder
	if err := s.pages.ExecuteTemplate(&b, name, data); err != nil {
		s.cfg.Log.Error("console: rendering "+name, "err", err)
		http.Error(w, "The page could not be drawn; the console's log says why.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, b.String())
}

// fail shows an error page in words.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	msg := "The organisation database did not answer: " + err.Error()
	switch {
	case errors.Is(err, pgstore.ErrUnknownMailbox):
		code, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, api.ErrInvalid):
		code, msg = http.StatusBadRequest, err.Error()
	}
	s.cfg.Log.Warn("console: "+r.URL.Path, "err", err)
	http.Error(w, msg, code)
}

// query reads the table's filter from the URL.
func query(r *http.Request) (pgstore.PageQuery, error) {
	v := r.URL.Query()
	q := pgstore.PageQuery{State: v.Get("state"), Search: v.Get("q"), Sort: v.Get("sort"), Desc: v.Get("desc") == "1", Limit: 50}
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return q, fmt.Errorf("%w: page %q is not a page number", api.ErrInvalid, p)
		}
		q.Offset = (n - 1) * q.Limit
	}
	return q, nil
}

// tableData is the mailbox table's page.
type tableData struct {
	Admin, CSRF, Version string
	Local                bool
	Q                    pgstore.PageQuery
	Page                 pgstore.MailboxPage
	Rows                 []pgstore.Mailbox
	First, Last          int
	Prev, Next           string
	CSV                  string
	States               []stateLink
	Columns              []column
	Elapsed              string
	// CRM: whether the organisation logs to Salesforce, each row's
	// counts, and the API use.
	CRM    bool
	Counts map[string]crmCounts
	API    *apiUse
}

type stateLink struct {
	Name, Words, Link string
	Count             int
	Current           bool
}

type column struct {
	Title, Link, Arrow string
}

// link returns the table's URL for q with changes applied.
func link(q pgstore.PageQuery, page int) string {
	v := url.Values{}
	if q.State != "" {
		v.Set("state", q.State)
	}
	if q.Search != "" {
		v.Set("q", q.Search)
	}
	if q.Sort != "" && q.Sort != pgstore.SortAddress {
		v.Set("sort", q.Sort)
	}
	if q.Desc {
		v.Set("desc", "1")
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

func (s *Server) table(w http.ResponseWriter, r *http.Request, se *session) {
	began := time.Now()
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.cfg.Store.MailboxPage(r.Context(), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := tableData{Admin: se.admin, CSRF: se.csrf, Version: s.cfg.Version, Local: s.cfg.Admins == nil, Q: q, Page: page, Rows: page.Mailboxes}
	if d.CRM, d.API, err = s.crmView(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.CRM {
		addrs := make([]string, len(page.Mailboxes))
		for i, mb := range page.Mailboxes {
			addrs[i] = mb.Address
		}
		counts, err := s.cfg.Store.CRMCountsFor(r.Context(), addrs)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Counts = map[string]crmCounts{}
		for a, c := range counts {
			d.Counts[a] = countsOf(c)
		}
	}
	n := q.Offset/q.Limit + 1
	if len(page.Mailboxes) > 0 {
		d.First, d.Last = q.Offset+1, q.Offset+len(page.Mailboxes)
	}
	if n > 1 {
		d.Prev = link(q, n-1)
	}
	if q.Offset+len(page.Mailboxes) < page.Total {
		d.Next = link(q, n+1)
	}
	csvQ := url.Values{}
	if q.State != "" {
		csvQ.Set("state", q.State)
	}
	if q.Search != "" {
		csvQ.Set("q", q.Search)
	}
	d.CSV = "/mailboxes.csv"
	if len(csvQ) > 0 {
		d.CSV += "?" + csvQ.Encode()
	}
	all := q
	all.State = ""
	d.States = append(d.States, stateLink{Name: "", Words: "All", Link: link(all, 1), Current: q.State == "",
		Count: page.States[pgstore.StateEnabled] + page.States[pgstore.StateDisabled] + page.States[pgstore.StateError]})
	for _, st := range []string{pgstore.StateEnabled, pgstore.StateError, pgstore.StateDisabled} {
		one := q
		one.State = st
		d.States = append(d.States, stateLink{Name: st, Words: stateWords(st), Link: link(one, 1), Count: page.States[st], Current: q.State == st})
	}
	for _, c := range []struct{ title, sort string }{
		{"Mailbox", pgstore.SortAddress}, {"Provider", pgstore.SortProvider}, {"State", pgstore.SortState},
		{"Last successful sync", pgstore.SortLastSync}, {"Next sync", pgstore.SortNextSync}, {"Items", pgstore.SortItems},
	} {
		cq := q
		cur := q.Sort == c.sort || (q.Sort == "" && c.sort == pgstore.SortAddress)
		cq.Sort, cq.Desc = c.sort, cur && !q.Desc
		col := column{Title: c.title, Link: link(cq, 1)}
		if cur {
			col.Arrow = "▲"
			if q.Desc {
				col.Arrow = "▼"
			}
		}
		d.Columns = append(d.Columns, col)
	}
	d.Elapsed = duration(time.Since(began))
	s.render(w, http.StatusOK, "table.html", d)
}

// csv writes every mailbox the filter selects (not only a page).
func (s *Server) csv(w http.ResponseWriter, r *http.Request, se *session) {
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q.Offset, q.Limit = 0, 500
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="inboxsync-mailboxes.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"address", "provider", "state", "reason", "last_sync", "next_sync", "items"})
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for {
		page, err := s.cfg.Store.MailboxPage(r.Context(), q)
		if err != nil {
			if q.Offset == 0 {
				w.Header().Del("Content-Disposition")
				s.fail(w, r, err)
				return
			}
			// Headers are out: end the file short rather than pass
			// off a part as the whole.
			cw.Flush()
			panic(http.ErrAbortHandler)
		}
		for _, mb := range page.Mailboxes {
			cw.Write([]string{mb.Address, mb.Provider, mb.State, mb.Reason, stamp(mb.LastSync), stamp(mb.NextSync), strconv.FormatInt(mb.Items, 10)})
		}
		q.Offset += len(page.Mailboxes)
		if len(page.Mailboxes) < q.Limit {
			break
		}
	}
	cw.Flush()
	s.record(r.Context(), r, se.admin, "csv", "", fmt.Sprintf("downloaded %d mailboxes", q.Offset))
}

// mailboxData is a mailbox's page.
type mailboxData struct {
	Admin, CSRF, Version string
	Local                bool
	Flash                string
	M                    pgstore.Mailbox
	Sessions             []api.Session
	Issues               []api.Issue
	Actions              []pgstore.AdminAction
	// CRM: whether the organisation logs to Salesforce, the mailbox's
	// counts and last run, the API use.
	CRM    bool
	Counts crmCounts
	CRMRun *pgstore.CRMStanding
	API    *apiUse
}

func (s *Server) mailbox(w http.ResponseWriter, r *http.Request, se *session) {
	ctx := r.Context()
	mb, err := s.cfg.Store.Mailbox(ctx, r.PathValue("address"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := mailboxData{Admin: se.admin, CSRF: se.csrf, Version: s.cfg.Version, Local: s.cfg.Admins == nil, M: mb}
	s.mu.Lock()
	d.Flash, se.flash = se.flash, ""
	s.mu.Unlock()
	if d.Sessions, err = s.cfg.Store.Sessions(ctx, api.SessionQuery{Account: mb.Address, Limit: 20}); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Issues, err = s.cfg.Store.Issues(ctx, mb.Address, 20); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Actions, err = s.cfg.Store.AdminActions(ctx, mb.Address, 20); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.CRM, d.API, err = s.crmView(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	if d.CRM {
		counts, err := s.cfg.Store.CRMCountsFor(ctx, []string{mb.Address})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Counts = countsOf(counts[mb.Address])
		run, ok, err := s.cfg.Store.CRMStandingOf(ctx, mb.Address)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if ok {
			d.CRMRun = &run
		}
	}
	s.render(w, http.StatusOK, "mailbox.html", d)
}

// act runs Force sync, Enable or Disable on a mailbox and shows its page
// again with what came of it.
func (s *Server) act(w http.ResponseWriter, r *http.Request, se *session) {
	ctx := r.Context()
	action := r.PathValue("action")
	mb, err := s.cfg.Store.Mailbox(ctx, r.PathValue("address"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.cfg.Now()
	var words string
	switch action {
	case "sync":
		if mb.State != pgstore.StateEnabled {
			words = "Not synced: the mailbox is " + strings.ToLower(stateWords(mb.State)) + ". Enable it first."
			break
		}
		ok, notBefore, err := s.cfg.Store.RequestSync(ctx, mb.Address, now)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !ok {
			words = "A sync was asked less than a minute ago; ask again after " + notBefore.In(s.cfg.Location).Format("15:04:05") + "."
			break
		}
		if err := s.cfg.Enqueue(ctx, []string{mb.Address}); err != nil {
			s.fail(w, r, err)
			return
		}
		words = "Sync asked at " + now.In(s.cfg.Location).Format("15:04:05") + ": a worker starts it in a moment."
	case "enable", "disable":
		done, err := s.cfg.Store.SetEnabled(ctx, []string{mb.Address}, action == "enable", now)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		switch {
		case len(done) == 0 && action == "enable":
			words = "The mailbox was enabled already."
		case len(done) == 0:
			words = "The mailbox was disabled already."
		case action == "enable":
			words = "Enabled: it syncs again from its next sync on."
			if mb.State == pgstore.StateError {
				words = "Enabled again after the error: it syncs from its next sync on."
			}
		default:
			words = "Disabled: it does not sync until it is enabled again. Its items are kept."
		}
	default:
		http.NotFound(w, r)
		return
	}
	s.record(ctx, r, se.admin, action, mb.Address, words)
	s.mu.Lock()
	se.flash = words
	s.mu.Unlock()
	http.Redirect(w, r, "/mailbox/"+url.PathEscape(mb.Address), http.StatusSeeOther)
}

// stateWords are the reference's admin statuses.
func stateWords(state string) string {
	switch state {
	case pgstore.StateEnabled:
		return "Enabled"
	case pgstore.StateDisabled:
		return "Disabled"
	case pgstore.StateError:
		return "Disabled due to an error"
	}
	return state
}

// when shows a time as the admin reads it: "today 14:05", "3 Dec 14:05",
// with how long ago or ahead; "never" for zero.
func (s *Server) when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	now := s.cfg.Now()
	lt, ln := t.In(s.cfg.Location), now.In(s.cfg.Location)
	var day string
	switch {
	case lt.YearDay() == ln.YearDay() && lt.Year() == ln.Year():
		day = "today "
	case lt.Year() == ln.Year():
		day = lt.Format("2 Jan ")
	default:
		day = lt.Format("2 Jan 2006 ")
	}
	d := now.Sub(t)
	rel := ""
	switch {
	case d >= time.Minute:
		rel = " (" + duration(d.Truncate(time.Minute)) + " ago)"
	case d <= -time.Minute:
		rel = " (in " + duration((-d).Truncate(time.Minute)) + ")"
	case d >= 0:
		rel = " (just now)"
	default:
		rel = " (in a moment)"
	}
	return day + lt.Format("15:04") + rel
}

// next shows when a mailbox's next sync is due: "due now" once it is past.
func (s *Server) next(t time.Time) string {
	if !t.IsZero() && !t.After(s.cfg.Now()) {
		return "due now"
	}
	return s.when(t)
}

// duration shows d briefly: "850 ms", "12 s", "5 min", "3 h 10 min", "2 days".
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// number writes n with thousands separators: 12,345.
func number(n any) string {
	var v int64
	switch x := n.(type) {
	case int:
		v = int64(x)
	case int64:
		v = x
	}
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
