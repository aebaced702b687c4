package console

// Sessions, the sign-in and the checks every request passes: who the
// admin is, that a form came from this console (CSRF), how many failed
// sign-ins a host may make.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/org/pgstore"
)

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
