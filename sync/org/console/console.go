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
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
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
