package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"
	"github.com/inboxsync/inboxsync/sync/session"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/store"
)

// CRMBatch is how many outbox entries one Logger call handles: one
// sObject Collections request holds at most 200 records.
const CRMBatch = 200

// crmRunKey stores the CRM connection's run state.
const crmRunKey = "crm_run"

// crmRunState is the persisted part of the CRM connection's state.
type crmRunState struct {
	CRM      string        `json:"crm,omitempty"`
	State    api.ConnState `json:"state"`
	Reason   string        `json:"reason,omitempty"`
	Failures int           `json:"failures,omitempty"`
	LastRun  time.Time     `json:"last_run,omitzero"`
	NextRun  time.Time     `json:"next_run,omitzero"`
	Requests int64         `json:"requests,omitempty"`
	// Connected is false once disconnected.
	Connected bool `json:"connected"`
	// Instance and User are where and who the connection signed in, for
	// the status read while no agent runs.
	Instance string `json:"instance,omitempty"`
	User     string `json:"user,omitempty"`
}

// CRMStatusFromStore reads the CRM connection's status as the agent last
// saved it, for the CLI when no agent runs (without the API usage, which
// only the running agent knows).
func CRMStatusFromStore(ctx context.Context, st *store.Store) (api.CRMStatus, error) {
	var out api.CRMStatus
	c, ok, err := st.CRMConnection(ctx)
	if err != nil || !ok || !c.Active {
		return out, err
	}
	var rs crmRunState
	if v, ok, err := st.Setting(ctx, crmRunKey); err != nil {
		return out, err
	} else if ok {
		json.Unmarshal([]byte(v), &rs)
	}
	out = api.CRMStatus{State: rs.State, Reason: rs.Reason, Instance: rs.Instance, User: rs.User, Requests: rs.Requests, LastRun: rs.LastRun}
	switch out.State {
	case api.ConnNotConnected, api.ConnLogging:
		out.State = api.ConnConnected
	}
	if out.State == api.ConnConnected || out.State == api.ConnThrottled {
		out.NextRun = rs.NextRun
	}
	out.Counts, err = st.CRMCounts(ctx)
	return out, err
}

// crmRunner logs the store's outbox to the CRM: after each mailbox session,
// on its own schedule and on request. Like an account's runner it is one
// goroutine around one select loop, reached through 1-buffered channels, so
// the mailbox side never waits for it.
type crmRunner struct {
	e   *Engine
	log *slog.Logger

	kick chan string
	wake chan struct{}

	mu      sync.Mutex
	cfg     crmStored // the user's own settings (crmPolicy gives those in force)
	rs      crmRunState
	conn    crm.Connection // nil: not connected (or no connector in this build)
	id      crm.Identity
	offline int
	running bool
	cancel  context.CancelFunc // of the running run
	// requested counts the runs asked for; a run covers every request
	// made before it started (covering), and done is how many requests
	// ended runs covered: CRMSync(wait) waits for done to reach its own.
	requested, covering, done uint64
	ended                     chan struct{} // closed and replaced when a run ends
}

func (e *Engine) loadCRMRunner(ctx context.Context) (*crmRunner, error) {
	r := &crmRunner{e: e, log: e.log.With("crm", true), kick: make(chan string, 1), wake: make(chan struct{}, 1), ended: make(chan struct{})}
	var err error
	if r.cfg, err = loadCRMSettings(ctx, e.cfg.Store); err != nil {
		e.log.Warn("ignoring unreadable CRM settings", "err", err)
	}
	if v, ok, err := e.cfg.Store.Setting(ctx, crmRunKey); err != nil {
		return nil, err
	} else if ok {
		if err := json.Unmarshal([]byte(v), &r.rs); err != nil {
			e.log.Warn("ignoring unreadable CRM run state", "err", err)
		}
	}
	c, ok, err := e.cfg.Store.CRMConnection(ctx)
	if err != nil {
		return nil, err
	}
	if !ok || !c.Active {
		r.rs = crmRunState{}
		return r, nil
	}
	r.rs.CRM, r.rs.Connected = c.CRM, true
	if r.rs.State == api.ConnLogging {
		// The process died mid-run: the outbox resumes where it stopped.
		r.rs.State, r.rs.NextRun = api.ConnConnected, time.Time{}
	}
	k, ok := e.cfg.CRM[c.CRM]
	if !ok {
		r.rs.Reason = fmt.Sprintf("Connecting to %s is not available in this build.", c.CRM)
		return r, nil
	}
	conn, err := k.Open(connectorSettings(r.cfg.CRMSettings))
	if err != nil {
		r.rs.State, r.rs.Reason = api.ConnFailed, "The CRM settings cannot work: "+err.Error()
		return r, nil
	}
	r.conn = conn
	if id, err := conn.Identity(); err == nil {
		r.id = id
		r.rs.Instance, r.rs.User = id.Instance, id.User
	} else if errors.Is(err, secret.ErrNotFound) || errors.Is(err, secret.ErrCorrupt) {
		r.rs.State, r.rs.Reason = api.ConnNeedsReactivation, "The saved Salesforce sign-in is missing from the keyring. Sign in to Salesforce again."
	}
	return r, nil
}

// settings returns the user's own CRM settings.
func (r *crmRunner) settings() crmStored {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg.clone()
}

// setSettings stores s; a changed budget reopens the connection (the
// connector reads it at Open).
func (r *crmRunner) setSettings(ctx context.Context, s crmStored) error {
	b, _ := json.Marshal(s)
	if err := r.e.cfg.Store.PutSetting(ctx, crmSettingsKey, string(b)); err != nil {
		return err
	}
	r.mu.Lock()
	old := r.cfg
	r.cfg = s
	conn, name := r.conn, r.rs.CRM
	r.mu.Unlock()
	if conn != nil && old.Budget != s.Budget {
		if k, ok := r.e.cfg.CRM[name]; ok {
			if c, err := k.Open(connectorSettings(s.CRMSettings)); err == nil {
				r.mu.Lock()
				if r.conn == conn {
					r.conn = c
				}
				r.mu.Unlock()
			}
		}
	}
	return nil
}

func (r *crmRunner) saveLocked() {
	b, _ := json.Marshal(r.rs)
	if err := r.e.cfg.Store.PutSetting(context.Background(), crmRunKey, string(b)); err != nil {
		r.log.Error("saving the CRM run state", "err", err)
	}
}

// setStateLocked is the one place the CRM connection's state changes: it
// logs, persists and emits an event.
func (r *crmRunner) setStateLocked(to api.ConnState, reason string) {
	from := r.rs.State
	r.rs.State, r.rs.Reason = to, reason
	if from != to {
		r.log.Info("CRM state changed", "from", from, "to", to, "reason", reason)
	}
	r.saveLocked()
	r.e.emit(api.Event{Type: api.EventCRM, Message: reason})
}

// connected takes a new connection and starts logging at once.
func (r *crmRunner) connected(name string, conn crm.Connection, id crm.Identity) {
	r.mu.Lock()
	if r.cancel != nil {
		r.cancel()
	}
	r.conn, r.id = conn, id
	r.rs = crmRunState{CRM: name, Connected: true, NextRun: r.e.cfg.Clock.Now(), Instance: id.Instance, User: id.User}
	r.offline = 0
	r.setStateLocked(api.ConnConnected, "")
	r.mu.Unlock()
	r.send("connect")
}

// disconnect stops logging and returns the connection it held.
func (r *crmRunner) disconnect() crm.Connection {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
	}
	conn := r.conn
	r.conn, r.id = nil, crm.Identity{}
	r.rs = crmRunState{}
	r.setStateLocked(api.ConnNotConnected, "")
	return conn
}

func (r *crmRunner) send(trigger string) {
	select {
	case r.kick <- trigger:
	default:
	}
}

// afterMailboxSync starts a run after a mailbox session stored something.
func (r *crmRunner) afterMailboxSync(counts api.Counts) {
	if counts == (api.Counts{}) {
		return
	}
	r.mu.Lock()
	ok := r.conn != nil && r.rs.State == api.ConnConnected
	r.mu.Unlock()
	if ok {
		r.send("after-sync")
	}
}

// request starts a run at once; with wait it returns when that run ended.
// A throttled connection runs at the time Salesforce allows; a suspended
// one is re-enabled (the user asked); one whose sign-in is gone cannot run.
func (r *crmRunner) request(ctx context.Context, wait bool) error {
	r.mu.Lock()
	switch {
	case r.conn == nil || !r.rs.Connected:
		r.mu.Unlock()
		return fmt.Errorf("%w: no CRM is connected; connect one with: inboxsync crm connect salesforce", api.ErrInvalid)
	case r.rs.State == api.ConnNeedsReactivation:
		r.mu.Unlock()
		return fmt.Errorf("%w: the Salesforce sign-in is no longer valid; sign in again with: inboxsync crm connect salesforce", api.ErrInvalid)
	case r.rs.State == api.ConnThrottled:
		reason := r.rs.Reason
		r.mu.Unlock()
		return fmt.Errorf("%w: %s", api.ErrInvalid, reason)
	case r.rs.State == api.ConnFailed:
		r.rs.Failures = 0
		r.setStateLocked(api.ConnConnected, "")
	}
	r.requested++
	want := r.requested
	r.mu.Unlock()
	r.send("manual")
	if !wait {
		return nil
	}
	for {
		r.mu.Lock()
		done, ended := r.done >= want, r.ended
		r.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ended:
		}
	}
}

func (r *crmRunner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// serve runs until ctx is done.
func (r *crmRunner) serve(ctx context.Context) {
	r.e.serveLoop(ctx, r.plan, r.kick, r.wake, r.run, func(ctx context.Context, trigger string) {
		if r.mayRun() {
			r.run(ctx, trigger)
		} else {
			r.skip()
		}
	})
}

// skip counts a requested run that may not start (throttled, signed out,
// paused) as ended, so that a caller waiting for it gets the status.
func (r *crmRunner) skip() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.covering = r.requested
	r.endedLocked()
}

func (r *crmRunner) endedLocked() {
	r.done = r.covering
	close(r.ended)
	r.ended = make(chan struct{})
}

// mayRun reports whether a requested run may start: connected, signed in,
// not throttled and not paused.
func (r *crmRunner) mayRun() bool {
	now := r.e.cfg.Clock.Now()
	if paused, _ := r.e.globalPause(now); paused {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return false
	}
	switch r.rs.State {
	case api.ConnNeedsReactivation, api.ConnFailed, api.ConnNotConnected:
		return false
	case api.ConnThrottled:
		return !now.Before(r.rs.NextRun)
	}
	return true
}

// plan returns a trigger when a run is due, else how long to wait (< 0:
// until poked).
func (r *crmRunner) plan() (time.Duration, string) {
	now := r.e.cfg.Clock.Now()
	if paused, until := r.e.globalPause(now); paused {
		if until.IsZero() {
			return -1, ""
		}
		return until.Sub(now), ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn == nil {
		return -1, ""
	}
	switch r.rs.State {
	case api.ConnNeedsReactivation, api.ConnFailed, api.ConnNotConnected:
		return -1, ""
	}
	if !r.rs.NextRun.IsZero() && now.Before(r.rs.NextRun) {
		return r.rs.NextRun.Sub(now), ""
	}
	return 0, "schedule"
}

// logConfig is how the run logs: the CRM settings and the mailboxes'
// addresses (their domains are internal).
func (r *crmRunner) logConfig(ctx context.Context) crmlog.Config {
	s := r.e.crmPolicy(r.settings())
	c := crmlog.Config{InternalDomains: s.InternalDomains, Blocklist: s.Blocklist, LogEmailAs: s.LogEmailAs, RemoveDeletedEvents: s.RemoveDeletedEvents,
		KeepOut: s.KeepOut, LogByHand: s.LogByHand, ByHandOnly: !s.Auto, Threads: s.Threads, Opportunity: s.Opportunity, CreateLeads: s.CreateLeads}
	accts, err := r.e.cfg.Store.Accounts(ctx)
	if err != nil {
		r.log.Warn("reading the accounts", "err", err)
	}
	for _, a := range accts {
		at := strings.LastIndexByte(a.Email, '@')
		if at < 0 {
			continue
		}
		if c.Mailbox == "" {
			c.Mailbox = a.Email
		}
		c.InternalDomains = append(c.InternalDomains, strings.ToLower(a.Email[at+1:]))
	}
	return c
}

// run logs what the outbox holds and applies the outcome (docs/architecture.md §3 for
// the CRM side).
func (r *crmRunner) run(ctx context.Context, trigger string) {
	e := r.e
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.mu.Lock()
	conn := r.conn
	if conn == nil {
		r.mu.Unlock()
		return
	}
	r.running, r.cancel = true, cancel
	// This run covers the requests made so far: a kick they left
	// waiting would only run again.
	r.covering = r.requested
	select {
	case <-r.kick:
	default:
	}
	r.setStateLocked(api.ConnLogging, "")
	r.mu.Unlock()

	start := e.cfg.Clock.Now()
	before := conn.Requests()
	r.log.Info("CRM run started", "trigger", trigger)
	logger := crmlog.NewLogger(conn, r.logConfig(rctx))
	saved, err := crmlog.Drain(rctx, e.cfg.Store.Outbox(e.cfg.Clock.Now), logger, CRMBatch)
	requests := conn.Requests() - before
	r.log.Info("CRM run ended", "saved", saved, "requests", requests, "err", err)
	r.finish(rctx, conn, start, requests, err)
}

func (r *crmRunner) finish(ctx context.Context, conn crm.Connection, start time.Time, requests int64, err error) {
	e := r.e
	now := e.cfg.Clock.Now()
	interval := e.currentSettings().Interval.D()
	var (
		notice *api.Event
		window *api.WindowRequest
	)
	r.mu.Lock()
	defer func() {
		r.running, r.cancel = false, nil
		r.endedLocked()
		r.mu.Unlock()
		if notice != nil {
			e.emit(*notice)
		}
		if window != nil {
			e.emit(api.Event{Type: api.EventOpenWindow, Window: window})
		}
	}()
	if r.conn != conn {
		// Disconnected or connected again meanwhile: that state stands.
		return
	}
	r.rs.LastRun, r.rs.Requests = start, requests
	next, reason := crm.StateAfter(err), ""
	words := provider.Reason(err)
	switch {
	case err != nil && ctx.Err() != nil:
		// The agent is quitting: the next start resumes.
		next, r.rs.NextRun = api.ConnConnected, now
	case err == nil:
		r.rs.Failures, r.offline = 0, 0
		r.rs.NextRun = now.Add(interval)
	case provider.Classify(err) == provider.ClassOffline:
		r.offline++
		delay := min(time.Minute<<min(r.offline-1, 16), interval)
		r.rs.NextRun = now.Add(delay)
		reason = fmt.Sprintf("Can't reach Salesforce; trying again in %s.", session.HumanDuration(delay))
	case next == api.ConnThrottled:
		until := conn.ThrottledUntil()
		if until.IsZero() {
			d := provider.RetryAfter(err)
			if d <= 0 {
				d = 30 * time.Minute
			}
			until = now.Add(d)
		}
		r.rs.NextRun = until
		reason = words
		if reason == "" {
			reason = fmt.Sprintf("Salesforce asked Inbox Sync to wait; logging resumes at %s.", until.Local().Format("15:04"))
		}
	case next == api.ConnNeedsReactivation:
		reason = words
		if reason == "" {
			reason = "Your Salesforce sign-in is no longer valid. Sign in to Salesforce again."
		}
		if r.rs.State != api.ConnNeedsReactivation {
			// One notice and one window per loss of the sign-in, as for a
			// mailbox.
			notice = &api.Event{Type: api.EventNotice, Title: "Action required – Sign in to Salesforce again", Message: reason}
			window = &api.WindowRequest{Window: api.WindowCRMConnect, Reason: reason}
		}
	default:
		r.rs.Failures++
		r.rs.NextRun = now.Add(interval)
		if words == "" {
			words = "Logging to Salesforce failed."
		}
		next, reason = api.ConnConnected, words
		if r.rs.Failures >= api.MaxFailures {
			next = api.ConnFailed
			reason = fmt.Sprintf("Logging to Salesforce stopped after %d failed runs in a row. Last error: %s", r.rs.Failures, words)
			notice = &api.Event{Type: api.EventNotice, Title: "Action required – Salesforce logging suspended", Message: reason}
		}
	}
	r.setStateLocked(next, reason)
}

// status returns the CRM connection's status.
func (r *crmRunner) status(ctx context.Context) (api.CRMStatus, error) {
	r.mu.Lock()
	st := api.CRMStatus{State: r.rs.State, Reason: r.rs.Reason, Instance: r.id.Instance, User: r.id.User,
		Requests: r.rs.Requests, LastRun: r.rs.LastRun}
	if !r.rs.Connected {
		st.State = api.ConnNotConnected
	}
	switch st.State {
	case api.ConnConnected, api.ConnThrottled:
		st.NextRun = r.rs.NextRun
	}
	if r.conn != nil {
		st.APIUsed, st.APILimit = r.conn.Usage()
	}
	r.mu.Unlock()
	counts, err := r.e.cfg.Store.CRMCounts(ctx)
	if err != nil {
		return st, err
	}
	st.Counts = counts
	return st, nil
}
