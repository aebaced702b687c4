// Package emailnotice emails "Action required – Sync suspended" when an account
// stops syncing and needs someone (suspended, or needing re-activation),
// once per incident, to the user and/or the administrator the policy names
// (docs/architecture.md §1, README "For administrators").
//
// It works from the engine's state, not from single events: every check
// reads the accounts' status, opens an incident for an account that needs
// its user and has none open, and closes the open incident of an account
// that has synced successfully since it opened. Incidents and their emails
// live in the store, so a restart neither repeats nor loses one; a failed
// send is retried after 1, 5 and 30 minutes, then every 2 hours, until it
// is delivered or its incident ends. Nothing here blocks the engine.
package emailnotice

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/policy"
)

// Subjects of the emails.
const (
	SubjectStopped = "Action required – Sync suspended"
	SubjectResumed = "Sync resumed"
	SubjectTest    = "Inbox Sync test notice"
)

// Config says who gets notices and through which relay; ConfigFromPolicy
// reads it from the administrator's policy.
type Config struct {
	// Notify holds "user" (the account's own address) and/or "admin".
	Notify        []string
	AdminEmail    string
	NotifyResumed bool
	SMTP          SMTPConfig
}

// Enabled reports whether notices can be sent to anyone.
func (c Config) Enabled() bool { return c.SMTP.Host != "" && len(c.Notify) > 0 }

// ConfigFromPolicy reads the notice settings of a policy: notify,
// admin_email, notify_resumed and the [smtp] table.
func ConfigFromPolicy(p api.Policy) Config {
	get := func(name string) string { v, _ := policy.Resolve(p, name, "", ""); return v }
	port, _ := strconv.Atoi(get("smtp.port"))
	return Config{
		Notify: policy.List(get("notify")), AdminEmail: get("admin_email"), NotifyResumed: policy.Bool(get("notify_resumed")),
		SMTP: SMTPConfig{Host: get("smtp.host"), Port: port, TLS: get("smtp.tls"), Username: get("smtp.username"), From: get("smtp.from"),
			PasswordFile: get("smtp.password_file")},
	}
}

// Message is one email.
type Message struct {
	To      string
	Subject string
	Body    string
}

// Sender delivers one email; its error says in words what went wrong.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Controller is the part of the engine's Control the service reads.
type Controller interface {
	Status(ctx context.Context) (api.Status, error)
	Subscribe(ctx context.Context) (<-chan api.Event, error)
}

// Queue is where incidents and their emails are kept: the desktop's
// SQLite store (sync/store) or the organisation's PostgreSQL store
// (sync/org/pgstore). Opening an incident and queueing its emails is one
// transaction, and an account has at most one open incident.
type Queue interface {
	// OpenIncidentOf returns the account's open incident, if any.
	OpenIncidentOf(ctx context.Context, account string) (api.Incident, bool, error)
	// OpenIncident opens inc with its notices (due at once) unless the
	// account has one open: then it returns that one, opened false, and
	// queues nothing.
	OpenIncident(ctx context.Context, inc api.Incident, notices []api.Notice) (api.Incident, bool, error)
	// CloseIncident ends inc at the time given: its notices not yet
	// delivered are dropped, and resumed are queued.
	CloseIncident(ctx context.Context, inc api.Incident, at time.Time, resumed []api.Notice) error
	// DueNotices returns the pending notices due at now, oldest first. A
	// queue shared by several processes hands each notice to one of them
	// at a time.
	DueNotices(ctx context.Context, now time.Time) ([]api.Notice, error)
	// NoticeDelivered marks a notice sent.
	NoticeDelivered(ctx context.Context, id int64, at time.Time) error
	// NoticeFailed records a failed attempt (problem in words) and when to
	// try again; issue is the sentence for the account's issues.
	NoticeFailed(ctx context.Context, n api.Notice, at, next time.Time, problem, issue string) error
	// LastOKSession returns the account's newest session that ended ok.
	LastOKSession(ctx context.Context, account string) (api.Session, bool, error)
}

// Retry is when a failed notice is tried again, by the number of failed
// attempts so far: 1, 5 and 30 minutes, then every 2 hours.
var Retry = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour}

// Service sends the notices. Run it in its own goroutine.
type Service struct {
	// Store keeps the incidents and the queued emails.
	Store   Queue
	Control Controller
	Sender  Sender
	// Config returns the current settings (the policy may be read again).
	Config func() Config
	Log    *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Host names this computer in the emails.
	Host string
	// Poll is how often the service checks without an event (1 minute
	// when 0); due retries are also looked for then.
	Poll time.Duration
	// Organisation words the emails for organisation mode (sync/org): the
	// administrator turns a mailbox back on with `inboxsync org mailboxes
	// enable`, and an account named api.OrgIncidentAccount(provider) is the
	// organisation's own credentials refused for all its mailboxes.
	Organisation bool

	mu sync.Mutex // one check or delivery round at a time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Run checks at start, after each state change or ended session, and every
// Poll, until ctx is done.
func (s *Service) Run(ctx context.Context) {
	events, err := s.Control.Subscribe(ctx)
	if err != nil {
		s.log().Warn("email notices: cannot follow the engine", "err", err)
		return
	}
	poll := s.Poll
	if poll <= 0 {
		poll = time.Minute
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	s.Check(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			switch ev.Type {
			case api.EventState, api.EventSessionEnded, api.EventAccounts:
				s.Check(ctx)
			}
		case <-t.C:
			s.Check(ctx)
		}
	}
}

// Check opens and closes incidents from the accounts' current state, then
// sends the notices that are due.
func (s *Service) Check(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := s.Config()
	st, err := s.Control.Status(ctx)
	if err != nil {
		s.log().Warn("email notices: cannot read the status", "err", err)
		return
	}
	for _, a := range st.Accounts {
		if err := s.track(ctx, cfg, a); err != nil {
			s.log().Warn("email notices: cannot record the incident", "account", a.Account, "err", err)
		}
	}
	if err := s.trackCRM(ctx, cfg, st); err != nil {
		s.log().Warn("email notices: cannot record the CRM's incident", "err", err)
	}
	s.deliver(ctx)
}

// track opens or closes the account's incident.
func (s *Service) track(ctx context.Context, cfg Config, a api.AccountStatus) error {
	inc, open, err := s.Store.OpenIncidentOf(ctx, a.Account)
	if err != nil {
		return err
	}
	now := s.now()
	switch {
	case !open && a.State.NeedsAttention():
		since := a.Since
		if since.IsZero() {
			since = now
		}
		inc = api.Incident{Account: a.Account, State: a.State.String(), Reason: a.Reason, OpenedAt: since}
		var msgs []api.Notice
		if cfg.Enabled() {
			last, ok, err := s.Store.LastOKSession(ctx, a.Account)
			if err != nil {
				return err
			}
			var lastOK *api.Session
			if ok {
				lastOK = &last
			}
			msgs = s.stoppedNotices(cfg, a, since, lastOK, now)
		}
		inc, opened, err := s.Store.OpenIncident(ctx, inc, msgs)
		if err == nil && opened {
			s.log().Info("sync stopped: incident opened", "account", a.Account, "state", inc.State, "emails", len(msgs))
		}
		return err
	case open && !a.State.NeedsAttention():
		last, ok, err := s.Store.LastOKSession(ctx, a.Account)
		if err != nil || !ok || last.Start.Before(inc.OpenedAt) {
			return err // not synced successfully since: the incident goes on
		}
		var msgs []api.Notice
		if cfg.Enabled() && cfg.NotifyResumed {
			msgs = s.resumedNotices(cfg, a, inc, last, now)
		}
		s.log().Info("sync resumed: incident closed", "account", a.Account, "emails", len(msgs))
		return s.Store.CloseIncident(ctx, inc, now, msgs)
	}
	return nil
}

// trackCRM opens or closes the CRM connection's incident: it needs the
// user when its sign-in is gone or its runs keep failing; it is over once a
// run succeeded after it opened (or the connection was removed). The
// user's address is the first mailbox's.
func (s *Service) trackCRM(ctx context.Context, cfg Config, st api.Status) error {
	inc, open, err := s.Store.OpenIncidentOf(ctx, api.CRMIncidentAccount)
	if err != nil {
		return err
	}
	now := s.now()
	attention := st.CRM != nil && (st.CRM.State == api.ConnNeedsReactivation || st.CRM.State == api.ConnFailed)
	who := api.AccountStatus{Account: api.CRMIncidentAccount}
	if len(st.Accounts) > 0 {
		who.Email = st.Accounts[0].Email
	}
	switch {
	case !open && attention:
		inc = api.Incident{Account: api.CRMIncidentAccount, State: st.CRM.State.String(), Reason: st.CRM.Reason, OpenedAt: now}
		var msgs []api.Notice
		if cfg.Enabled() {
			for _, to := range recipients(cfg, who) {
				msgs = append(msgs, api.Notice{Kind: "stopped", Recipient: to, Subject: SubjectStopped,
					Body: crmStoppedBody(*st.CRM, now, s.Host, !strings.EqualFold(to, who.Email)), CreatedAt: now})
			}
		}
		if _, opened, err := s.Store.OpenIncident(ctx, inc, msgs); err != nil || !opened {
			return err
		}
		s.log().Info("CRM logging stopped: incident opened", "state", inc.State, "emails", len(msgs))
	case open && st.CRM == nil:
		s.log().Info("CRM disconnected: incident closed")
		return s.Store.CloseIncident(ctx, inc, now, nil)
	case open && st.CRM.State == api.ConnConnected && st.CRM.LastRun.After(inc.OpenedAt):
		var msgs []api.Notice
		if cfg.Enabled() && cfg.NotifyResumed {
			for _, to := range recipients(cfg, who) {
				msgs = append(msgs, api.Notice{Kind: "resumed", Recipient: to, Subject: SubjectResumed,
					Body: crmResumedBody(*st.CRM, inc, s.Host), CreatedAt: now})
			}
		}
		s.log().Info("CRM logging resumed: incident closed", "emails", len(msgs))
		return s.Store.CloseIncident(ctx, inc, now, msgs)
	}
	return nil
}

// recipients returns the addresses cfg sends an account's notices to.
func recipients(cfg Config, a api.AccountStatus) []string {
	var to []string
	add := func(addr string) {
		if addr != "" && !slices.ContainsFunc(to, func(t string) bool { return strings.EqualFold(t, addr) }) {
			to = append(to, addr)
		}
	}
	for _, who := range cfg.Notify {
		switch who {
		case "user":
			add(a.Email)
		case "admin":
			add(cfg.AdminEmail)
		}
	}
	return to
}

func (s *Service) stoppedNotices(cfg Config, a api.AccountStatus, since time.Time, lastOK *api.Session, now time.Time) []api.Notice {
	var out []api.Notice
	for _, to := range recipients(cfg, a) {
		forAdmin := !strings.EqualFold(to, a.Email)
		out = append(out, api.Notice{Kind: "stopped", Recipient: to, Subject: SubjectStopped,
			Body: s.stoppedBody(a, since, lastOK, forAdmin), CreatedAt: now})
	}
	return out
}

func (s *Service) resumedNotices(cfg Config, a api.AccountStatus, inc api.Incident, last api.Session, now time.Time) []api.Notice {
	var out []api.Notice
	for _, to := range recipients(cfg, a) {
		out = append(out, api.Notice{Kind: "resumed", Recipient: to, Subject: SubjectResumed,
			Body: s.resumedBody(a, inc, last), CreatedAt: now})
	}
	return out
}

// deliver sends every due notice once.
func (s *Service) deliver(ctx context.Context) {
	due, err := s.Store.DueNotices(ctx, s.now())
	if err != nil {
		s.log().Warn("email notices: cannot read the queue", "err", err)
		return
	}
	for _, n := range due {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := s.Sender.Send(sctx, Message{To: n.Recipient, Subject: n.Subject, Body: n.Body})
		cancel()
		now := s.now()
		if err == nil {
			s.log().Info("email notice sent", "account", n.Account, "to", n.Recipient, "kind", n.Kind)
			if err := s.Store.NoticeDelivered(ctx, n.ID, now); err != nil {
				s.log().Warn("email notices: cannot record a delivery", "err", err)
			}
			continue
		}
		wait := Retry[min(n.Attempts, len(Retry)-1)]
		next := now.Add(wait)
		s.log().Warn("email notice not sent; will retry", "account", n.Account, "to", n.Recipient, "attempt", n.Attempts+1, "retry_at", next.Format(time.RFC3339), "err", err)
		issue := fmt.Sprintf("The email telling %s that sync stopped could not be sent: %v. Inbox Sync tries again at %s.", n.Recipient, err, next.Local().Format("15:04"))
		if err := s.Store.NoticeFailed(ctx, n, now, next, err.Error(), issue); err != nil {
			s.log().Warn("email notices: cannot record a failed attempt", "err", err)
		}
	}
}

// Test sends a test notice to every address the configuration names (the
// administrator and each account's own address, as notify says) and says
// for each where it went or why it failed.
func (s *Service) Test(ctx context.Context) ([]api.NoticeDelivery, error) {
	cfg := s.Config()
	if cfg.SMTP.Host == "" {
		return nil, fmt.Errorf("%w: no mail relay is set: the administrator's policy needs an [smtp] table with host (see README, \"For administrators\")", api.ErrInvalid)
	}
	if len(cfg.Notify) == 0 {
		return nil, fmt.Errorf("%w: nobody is to be notified: the policy's notify needs \"user\" and/or \"admin\"", api.ErrInvalid)
	}
	st, err := s.Control.Status(ctx)
	if err != nil {
		return nil, err
	}
	var to []string
	for _, a := range append([]api.AccountStatus{{}}, st.Accounts...) {
		for _, r := range recipients(cfg, a) {
			if !slices.ContainsFunc(to, func(t string) bool { return strings.EqualFold(t, r) }) {
				to = append(to, r)
			}
		}
	}
	if len(to) == 0 {
		return nil, fmt.Errorf("%w: no address to send to: set admin_email in the policy, or connect a mailbox for \"user\"", api.ErrInvalid)
	}
	var out []api.NoticeDelivery
	for _, r := range to {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := s.Sender.Send(sctx, Message{To: r, Subject: SubjectTest, Body: testBody(s.Host)})
		cancel()
		d := api.NoticeDelivery{To: r}
		if err != nil {
			d.Error = err.Error()
		}
		out = append(out, d)
	}
	return out, nil
}
