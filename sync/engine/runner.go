package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/session"
	"github.com/inboxsync/inboxsync/sync/store"
)

// runner syncs one account. Its serve loop is the only goroutine that runs
// sessions; requests from clients reach it on 1-buffered channels sent
// without blocking, so a caller never waits for a sync.
type runner struct {
	e   *Engine
	id  string
	log *slog.Logger

	kick chan string   // a sync was requested; the value is the trigger
	wake chan struct{} // something changed: plan again

	cancel context.CancelFunc // set when started
	done   chan struct{}

	mu       sync.Mutex
	acct     api.Account
	rs       store.RunState // persisted part of the state
	state    api.State
	since    time.Time
	progress *api.Progress
	last     *api.Session
	lastOK   *api.Session // the newest session that succeeded
	offline  int          // consecutive offline sessions, for the retry backoff
	// resume is set when the previous process died mid-session: the first
	// plan that may sync runs a "resume" session at once.
	resume bool
}

func (e *Engine) loadRunner(ctx context.Context, a api.Account) (*runner, error) {
	rs, err := e.cfg.Store.RunState(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	state, err := api.ParseState(rs.State)
	// Syncing: the process died mid-session (a crash, kill -9, a power
	// cut). The committed pages and their cursors are kept; the rest is
	// fetched at once, not at the next interval, which after an activation
	// is 30 minutes away with a half-filled dashboard.
	resume := err == nil && state == api.Syncing
	if err != nil || state == api.Syncing || state == api.Paused || state == api.NotActivated {
		// Paused is re-derived from the stored pause by the first plan.
		state = api.Idle
	}
	r := &runner{
		e: e, id: a.ID, log: e.log.With("account", a.ID),
		kick: make(chan string, 1), wake: make(chan struct{}, 1),
		acct: a, rs: rs, state: state, since: e.cfg.Clock.Now(), resume: resume,
	}
	if last, ok, err := e.cfg.Store.LastSession(ctx, a.ID); err != nil {
		return nil, err
	} else if ok {
		r.last = &last
	}
	if ok, found, err := e.cfg.Store.LastSuccessfulSession(ctx, a.ID); err != nil {
		return nil, err
	} else if found {
		r.lastOK = &ok
	}
	return r, nil
}

func (r *runner) serve(ctx context.Context) {
	defer close(r.done)
	r.e.serveLoop(ctx, r.plan, r.kick, r.wake, r.session, r.session)
}

// serveLoop is the one select loop of a runner (an account's or the
// CRM's) until ctx is done: it runs what plan says is due (run), else
// waits for the planned time — re-reading the wall clock at least every
// Config.WallCheck, so that what fell due while the machine slept runs on
// wake — a kick (kicked, with its trigger) or a wake (plan again).
func (e *Engine) serveLoop(ctx context.Context, plan func() (time.Duration, string), kick <-chan string, wake <-chan struct{},
	run, kicked func(ctx context.Context, trigger string)) {
	for ctx.Err() == nil {
		before := e.cfg.Clock.Now() // before plan: see newTimer
		wait, trigger := plan()
		if trigger != "" {
			run(ctx, trigger)
			continue
		}
		var t Timer
		var fire <-chan time.Time
		if wait >= 0 {
			var due bool
			if t, due = e.newTimer(before, wait); due {
				t.Stop()
				continue
			}
			fire = t.C()
		}
		select {
		case <-ctx.Done():
		case trig := <-kick:
			if t != nil {
				t.Stop()
			}
			if ctx.Err() == nil {
				kicked(ctx, trig)
			}
		case <-wake:
		case <-fire:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// newTimer returns a timer for wait from before — at most Config.WallCheck,
// so that waits re-read the wall clock — and whether the clock already
// reads before+wait. before is the time read before wait was worked out:
// a clock that moved in between (a wall-clock jump, or a test's clock
// advanced at that instant) would otherwise leave a timer that fires a
// whole wait too late.
func (e *Engine) newTimer(before time.Time, wait time.Duration) (t Timer, due bool) {
	t = e.cfg.Clock.NewTimer(min(wait, e.cfg.WallCheck))
	return t, !e.cfg.Clock.Now().Before(before.Add(wait))
}

// plan decides what the runner does next: run a session now (trigger set),
// or wait (wait ≥ 0: at most that long; wait < 0: until poked).
func (r *runner) plan() (wait time.Duration, trigger string) {
	now := r.e.cfg.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case api.NotActivated, api.NeedsReactivation, api.Suspended:
		return -1, ""
	}
	if paused, until := r.pausedLocked(now); paused {
		if r.state != api.Paused {
			r.setStateLocked(api.Paused, "")
		}
		if until.IsZero() {
			return -1, ""
		}
		return until.Sub(now), ""
	}
	if r.state == api.Paused {
		r.setStateLocked(api.Idle, "")
	}
	if r.resume {
		r.resume = false
		return 0, "resume"
	}
	due := r.rs.NextSync
	if !due.IsZero() && now.Before(due) {
		return due.Sub(now), ""
	}
	switch {
	case r.state == api.Offline || r.state == api.Throttled:
		return 0, "retry"
	case !due.IsZero() && now.Sub(due) > 2*r.e.cfg.WallCheck:
		return 0, "catch-up" // we woke long after the due time: the machine slept
	}
	return 0, "schedule"
}

// pausedLocked reports the pause in force (the account's or the global
// one) and when it ends; an expired account pause is cleared.
func (r *runner) pausedLocked(now time.Time) (bool, time.Time) {
	if r.rs.Paused && !r.rs.PausedUntil.IsZero() && !now.Before(r.rs.PausedUntil) {
		r.rs.Paused, r.rs.PausedUntil = false, time.Time{}
		r.saveLocked()
	}
	gp, guntil := r.e.globalPause(now)
	switch {
	case r.rs.Paused && gp:
		if r.rs.PausedUntil.IsZero() || guntil.IsZero() {
			return true, time.Time{}
		}
		return true, later(r.rs.PausedUntil, guntil)
	case r.rs.Paused:
		return true, r.rs.PausedUntil
	case gp:
		return true, guntil
	}
	return false, time.Time{}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// setStateLocked is the one place a state changes: it logs, persists and
// emits an event.
func (r *runner) setStateLocked(to api.State, reason string) {
	from := r.state
	r.rs.Reason = reason
	if from != to {
		r.state = to
		r.since = r.e.cfg.Clock.Now()
		r.log.Info("state changed", "from", from, "to", to, "reason", reason)
	}
	r.saveLocked()
	st := r.statusLocked()
	r.e.emit(api.Event{Type: api.EventState, Account: r.id, From: from, To: to, Status: &st})
}

func (r *runner) saveLocked() {
	r.rs.State = r.state.String()
	if err := r.e.cfg.Store.PutRunState(context.Background(), r.id, r.rs); err != nil {
		r.log.Error("saving run state", "err", err)
	}
}

func (r *runner) status() api.AccountStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.statusLocked()
}

func (r *runner) statusLocked() api.AccountStatus {
	st := api.AccountStatus{
		Account: r.id, Provider: r.acct.Provider, Email: r.acct.Email,
		State: r.state, Words: r.state.Words(), Reason: r.rs.Reason, Since: r.since,
		Paused: r.rs.Paused, PausedUntil: r.rs.PausedUntil,
		Rejections: r.rs.Rejections, Failures: r.rs.Failures,
	}
	switch r.state {
	case api.Idle, api.Offline, api.Throttled:
		st.NextSync = r.rs.NextSync
	}
	if r.last != nil {
		l := *r.last
		st.LastSync = &l
	}
	if r.lastOK != nil {
		l := *r.lastOK
		st.LastSuccess = &l
	}
	if r.progress != nil {
		p := *r.progress
		st.Progress = &p
	}
	return st
}

// poke makes the runner plan again.
func (r *runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *runner) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
}

func (r *runner) setPause(paused bool, until time.Time) {
	r.mu.Lock()
	r.rs.Paused, r.rs.PausedUntil = paused, until
	if !paused && r.state == api.Suspended {
		// Resuming a suspended account is the user re-enabling it.
		r.rs.Failures = 0
		r.rs.NextSync = r.e.cfg.Clock.Now()
		r.setStateLocked(api.Idle, "")
	} else {
		r.saveLocked()
	}
	r.mu.Unlock()
	r.log.Info("account pause changed", "paused", paused, "until", until)
	r.poke()
}

func (r *runner) requestSync() error {
	now := r.e.cfg.Clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case api.NeedsReactivation, api.NotActivated:
		return fmt.Errorf("%w: account %s needs to be activated again before it can sync", api.ErrInvalid, r.id)
	case api.Paused:
		return fmt.Errorf("%w: sync is paused for %s; resume it first", api.ErrInvalid, r.id)
	case api.Syncing:
		return nil
	case api.Throttled:
		if now.Before(r.rs.NextSync) {
			// The server asked us to wait: asking again sooner would
			// only be refused (or prolong the throttle). The retry at
			// the server's time is the sync asked for.
			return nil
		}
	}
	if gap := now.Sub(r.rs.LastAttempt); !r.rs.LastAttempt.IsZero() && gap < r.e.cfg.MinSyncGap {
		return &api.TooSoonError{Wait: r.e.cfg.MinSyncGap - gap}
	}
	select {
	case r.kick <- "manual":
	default:
	}
	return nil
}

func (r *runner) settingsChanged(interval time.Duration) {
	r.mu.Lock()
	if r.state == api.Idle && !r.rs.LastAttempt.IsZero() {
		if next := r.rs.LastAttempt.Add(interval); r.rs.NextSync.IsZero() || next.Before(r.rs.NextSync) {
			r.rs.NextSync = next
			r.saveLocked()
		}
	}
	r.mu.Unlock()
	r.poke()
}

// reactivated restarts sync at once after a successful activation.
func (r *runner) reactivated(a api.Account) {
	r.mu.Lock()
	r.acct = a
	r.rs.Rejections, r.rs.Failures = 0, 0
	// The kick below runs the first session at once; the schedule takes
	// over from its end.
	r.rs.NextSync = r.e.cfg.Clock.Now().Add(r.e.currentSettings().Interval.D())
	r.offline = 0
	r.setStateLocked(api.Idle, "")
	r.mu.Unlock()
	select {
	case r.kick <- "activation":
	default:
	}
}

// shouldStop reports whether a running session must stop at this page
// boundary: the agent is quitting or sync was paused.
func (r *runner) shouldStop(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	paused, _ := r.pausedLocked(r.e.cfg.Clock.Now())
	return paused
}

// session runs one sync session (sync/session) and applies its outcome to
// the account.
func (r *runner) session(ctx context.Context, trigger string) {
	e := r.e
	start := e.cfg.Clock.Now()
	r.mu.Lock()
	switch r.state {
	case api.NotActivated, api.NeedsReactivation:
		r.mu.Unlock()
		return
	}
	if paused, _ := r.pausedLocked(start); paused {
		r.mu.Unlock()
		return
	}
	acct := r.acct
	r.rs.LastAttempt = start
	r.progress = &api.Progress{}
	r.setStateLocked(api.Syncing, "")
	r.mu.Unlock()

	settings := e.currentSettings()
	res, err := session.Run(ctx, session.Input{
		Account: r.id, Trigger: trigger,
		Open:  func(ctx context.Context) (provider.Provider, error) { return r.open(ctx, acct) },
		Store: e.cfg.Store, Clock: e.cfg.Clock,
		Now: start, HistoryDays: settings.HistoryDays, Folders: settings.Folders,
		Stop: func() bool { return r.shouldStop(ctx) },
		Started: func(sess api.Session) {
			r.log.Info("session started", "trigger", trigger, "session", sess.ID)
			e.emit(api.Event{Type: api.EventSessionStarted, Account: r.id, Session: &sess})
		},
		Progress: func(p api.Progress) {
			r.mu.Lock()
			r.progress = &p
			st := r.statusLocked()
			r.mu.Unlock()
			e.emit(api.Event{Type: api.EventSessionProgress, Account: r.id, Status: &st})
		},
		Log: r.log,
	})
	r.finish(res, err)
}

// open connects to acct's mailbox for a session.
func (r *runner) open(ctx context.Context, acct api.Account) (provider.Provider, error) {
	conn, ok := r.e.cfg.Connectors[acct.Provider]
	if !ok {
		return nil, provider.Failed(fmt.Sprintf("%s accounts are not supported by this build", api.ProviderWords(acct.Provider)), nil)
	}
	p, err := conn.Open(ctx, providerAccount(acct), r.e.cfg.Secrets)
	if err != nil {
		return nil, openFailure(err)
	}
	return p, nil
}

// finish applies a session's outcome to the account (docs/architecture.md
// §3): the state, the schedule, the rejection and failure counters, the
// events.
func (r *runner) finish(res session.Result, err error) {
	e := r.e
	now := e.cfg.Clock.Now()
	interval := e.currentSettings().Interval.D()
	sess, counts := res.Session, res.Session.Counts
	var notice *api.Event

	r.mu.Lock()
	r.progress = nil
	next, reason := api.Idle, ""
	if res.Stopped {
		// The interrupted sync is due again as soon as it may run: on
		// resume, or when the agent starts again.
		r.rs.NextSync = now
		if paused, _ := r.pausedLocked(now); paused {
			next = api.Paused
		}
	} else {
		// The rules every host shares (session.Judge).
		v := session.Judge(session.Standing{Rejections: r.rs.Rejections, Failures: r.rs.Failures, Offline: r.offline}, res, err, interval)
		r.rs.Rejections, r.rs.Failures, r.offline = v.Standing.Rejections, v.Standing.Failures, v.Standing.Offline
		if v.Next != api.NeedsReactivation || res.Class != provider.ClassGrantGone {
			r.rs.NextSync = now.Add(v.Delay)
		}
		next, reason = v.Next, v.Reason
	}
	r.last = &sess
	if sess.Outcome == api.OutcomeOK {
		r.lastOK = &sess
	}
	r.setStateLocked(next, reason)
	st := r.statusLocked()
	if next.NeedsAttention() && err != nil {
		notice = &api.Event{Type: api.EventNotice, Account: r.id, Title: "Action required – Sync suspended", Message: reason}
	}
	r.mu.Unlock()

	r.log.Info("session ended", "session", sess.ID, "outcome", sess.Outcome,
		"added", counts.Added, "updated", counts.Updated, "removed", counts.Removed, "err", sess.Error)
	e.emit(api.Event{Type: api.EventSessionEnded, Account: r.id, Session: &sess, Status: &st})
	// The CRM side logs what the session stored, never holding it up.
	e.crm.afterMailboxSync(counts)
	if notice != nil {
		e.emit(*notice)
		if next == api.NeedsReactivation {
			e.emit(api.Event{Type: api.EventOpenWindow, Account: r.id, Window: &api.WindowRequest{Window: "activate", Account: r.id, Reason: reason}})
		}
	}
}

// openFailure words a failure to open the provider, most often a secret
// that could not be read.
func openFailure(err error) error {
	switch {
	case errors.Is(err, secret.ErrNotFound):
		return provider.GrantGone("The saved sign-in for this account is missing from the keyring. Please sign in again.", err)
	case errors.Is(err, secret.ErrCorrupt):
		return provider.GrantGone("The saved sign-in for this account is damaged in the keyring. Please sign in again.", err)
	case errors.Is(err, secret.ErrUnavailable):
		return provider.Failed("The system keyring is locked or not available, so the saved sign-in can't be read.", err)
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return err
	}
	return provider.Failed("Could not connect to the mailbox.", err)
}

// providerAccount is what a provider is told of a stored account.
func providerAccount(a api.Account) provider.Account {
	return provider.Account{ID: a.ID, Login: a.Login, Email: a.Email, Settings: a.Settings}
}
