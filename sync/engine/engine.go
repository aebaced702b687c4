// Package engine runs the sync: one runner per account, each a small state
// machine with a schedule (docs/architecture.md §3). It owns the store and the secrets
// on behalf of its clients, which reach the agent through api.Control (the
// agent's, in app, embeds the engine); one session's work is
// sync/session's Run, which the runners call.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/store"
)

// Config wires an Engine.
type Config struct {
	Store   *store.Store
	Secrets secret.Store
	// Connectors by provider name ("exchange", "office365", "gmail").
	Connectors map[string]provider.Connector
	// CRM are the CRM connectors by name ("salesforce").
	CRM   map[string]crm.Connector
	Clock Clock
	Log   *slog.Logger
	// MinSyncGap refuses Sync now this soon after the last attempt
	// (default 1 minute).
	MinSyncGap time.Duration
	// MinInterval is the shortest interval the settings accept (default
	// 5 minutes).
	MinInterval time.Duration
	// WallCheck caps every wait so that wall-clock time is re-read at least
	// this often: a sync due while the machine slept runs on wake. Default
	// 1 minute.
	WallCheck time.Duration
	// ExpectedMailbox is the address every new account's mailbox must
	// have (the administrator policy's expected_mailbox, already
	// expanded). Empty: the request's ExpectedMailbox, else the login or
	// email the user typed when it is an address. SetMailboxPolicy
	// changes it while the engine runs.
	ExpectedMailbox string
	// EnforceMailbox refuses a mismatched mailbox even when the request
	// accepts it (the policy's enforce_mailbox): no "use anyway".
	EnforceMailbox bool
	// Policy is the administrator's policy at start (see SetPolicy); User
	// is the OS login name its {user} stands for.
	Policy api.Policy
	User   string
}

// Engine runs every account's sync. Its methods implement api.Control.
type Engine struct {
	cfg Config
	log *slog.Logger
	bus *bus

	mu       sync.Mutex
	settings api.Settings // effective: resolveSettings(policy, user, userSet)
	user     api.Settings // as the user last saved them
	userSet  []string     // the names of the settings the user set
	policy   api.Policy
	pause    pauseSetting
	runners  map[string]*runner
	crm      *crmRunner
	runCtx   context.Context // set by Run; runners started before Run wait for it
	wg       sync.WaitGroup
	// expected and enforce are the mailbox policy (Config.ExpectedMailbox,
	// Config.EnforceMailbox, SetMailboxPolicy).
	expected string
	enforce  bool
	// pending keeps the connections refused for their mailbox, by
	// pendingKey, so that accepting the mailbox needs no second sign-in.
	pending map[string]pendingConnection
	// upkeep builds the search index (upkeep.go).
	upkeep upkeep
}

// pendingConnection is a Connect result refused for its mailbox, kept for
// pendingTTL in memory only (it holds secrets) until the same request comes
// back with AcceptMailbox.
type pendingConnection struct {
	req  api.ActivationRequest // as it was connected, AcceptMailbox cleared
	conn provider.Connection
	at   time.Time
}

// pendingTTL is how long a refused connection waits for "use anyway".
const pendingTTL = 10 * time.Minute

type pauseSetting struct {
	Paused bool      `json:"paused"`
	Until  time.Time `json:"until,omitzero"`
}

const (
	settingsKey = "settings"
	pauseKey    = "pause"
)

// New loads the engine's settings, pause and accounts from the store. Call
// Run to start syncing.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Secrets == nil {
		return nil, errors.New("engine: store and secrets are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MinSyncGap == 0 {
		cfg.MinSyncGap = time.Minute
	}
	if cfg.MinInterval == 0 {
		cfg.MinInterval = 5 * time.Minute
	}
	if cfg.WallCheck == 0 {
		cfg.WallCheck = time.Minute
	}
	e := &Engine{cfg: cfg, log: cfg.Log, bus: newBus(), runners: map[string]*runner{},
		expected: cfg.ExpectedMailbox, enforce: cfg.EnforceMailbox, pending: map[string]pendingConnection{}}
	ctx := context.Background()
	user, userSet, err := loadUserSettings(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	e.user, e.userSet = user, userSet
	e.SetPolicy(cfg.Policy)
	if v, ok, err := cfg.Store.Setting(ctx, pauseKey); err != nil {
		return nil, err
	} else if ok {
		if err := json.Unmarshal([]byte(v), &e.pause); err != nil {
			e.log.Warn("ignoring unreadable pause setting", "err", err)
		}
	}
	if e.crm, err = e.loadCRMRunner(ctx); err != nil {
		return nil, err
	}
	accts, err := cfg.Store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range accts {
		if a.Disabled {
			continue
		}
		r, err := e.loadRunner(ctx, a)
		if err != nil {
			return nil, err
		}
		e.runners[a.ID] = r
	}
	return e, nil
}

// loadSettings reads the stored settings, or the defaults.
func loadSettings(ctx context.Context, st *store.Store) (api.Settings, error) {
	s := api.DefaultSettings()
	v, ok, err := st.Setting(ctx, settingsKey)
	if err != nil || !ok {
		return s, err
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return api.DefaultSettings(), fmt.Errorf("reading settings: %w", err)
	}
	return s, nil
}

// Run starts every account's runner and blocks until ctx is done; it then
// stops them (a running session stops at its next page boundary, keeping
// what it committed) and waits for them.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.runCtx != nil {
		e.mu.Unlock()
		return errors.New("engine: already running")
	}
	e.runCtx = ctx
	for _, r := range e.runners {
		e.startLocked(r)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.crm.serve(ctx)
	}()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.serveUpkeep(ctx)
	}()
	e.mu.Unlock()
	<-ctx.Done()
	e.wg.Wait()
	return nil
}

func (e *Engine) startLocked(r *runner) {
	if e.runCtx == nil || r.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(e.runCtx)
	r.cancel = cancel
	r.done = make(chan struct{})
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		r.serve(ctx)
	}()
}

func (e *Engine) runner(id string) (*runner, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.runners[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", api.ErrUnknownAccount, id)
	}
	return r, nil
}

func (e *Engine) runnerList() []*runner {
	e.mu.Lock()
	defer e.mu.Unlock()
	rs := make([]*runner, 0, len(e.runners))
	for _, r := range e.runners {
		rs = append(rs, r)
	}
	return rs
}

func (e *Engine) emit(ev api.Event) {
	if ev.Time.IsZero() {
		ev.Time = e.cfg.Clock.Now()
	}
	e.bus.publish(ev)
}

// globalPause returns the global pause, clearing one that has expired.
func (e *Engine) globalPause(now time.Time) (bool, time.Time) {
	e.mu.Lock()
	p := e.pause
	expired := p.Paused && !p.Until.IsZero() && !now.Before(p.Until)
	if expired {
		e.pause = pauseSetting{}
	}
	e.mu.Unlock()
	if expired {
		e.savePause(pauseSetting{})
		e.log.Info("global pause ended")
		e.emit(api.Event{Type: api.EventPause})
		return false, time.Time{}
	}
	return p.Paused, p.Until
}

func (e *Engine) savePause(p pauseSetting) {
	b, _ := json.Marshal(p)
	if err := e.cfg.Store.PutSetting(context.Background(), pauseKey, string(b)); err != nil {
		e.log.Error("saving pause", "err", err)
	}
}

func (e *Engine) currentSettings() api.Settings {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.settings
	s.Folders = slices.Clone(s.Folders)
	s.Sources = maps.Clone(s.Sources)
	return s
}

// Status implements api.Control.
func (e *Engine) Status(ctx context.Context) (api.Status, error) {
	now := e.cfg.Clock.Now()
	paused, until := e.globalPause(now)
	cur := e.currentSettings()
	st := api.Status{Paused: paused, PausedUntil: until, Interval: cur.Interval, IntervalSource: cur.Sources["sync_interval"], Source: "agent", Accounts: []api.AccountStatus{},
		Index: e.upkeep.progress(), AgentRunning: true}
	e.mu.Lock()
	if e.policy.Found {
		st.PolicyPath, st.PolicyProblems = e.policy.Path, slices.Clone(e.policy.Problems)
	}
	st.Organisation = e.policy.Organisation()
	e.mu.Unlock()
	accts, err := e.cfg.Store.Accounts(ctx)
	if err != nil {
		return st, err
	}
	for _, a := range accts {
		e.mu.Lock()
		r := e.runners[a.ID]
		e.mu.Unlock()
		if r != nil {
			st.Accounts = append(st.Accounts, r.status())
			continue
		}
		as := api.AccountStatus{Account: a.ID, Provider: a.Provider, Email: a.Email, State: api.NotActivated, Words: api.NotActivated.Words(), Reason: "Disconnected. Activate it again to resume syncing."}
		if last, ok, err := e.cfg.Store.LastSession(ctx, a.ID); err == nil && ok {
			as.LastSync = &last
		}
		if last, ok, err := e.cfg.Store.LastSuccessfulSession(ctx, a.ID); err == nil && ok {
			as.LastSuccess = &last
		}
		st.Accounts = append(st.Accounts, as)
	}
	if cs, err := e.crm.status(ctx); err != nil {
		return st, err
	} else if cs.State != api.ConnNotConnected {
		st.CRM = &cs
	}
	return st, nil
}

// Subscribe implements api.Control.
func (e *Engine) Subscribe(ctx context.Context) (<-chan api.Event, error) {
	return e.bus.subscribe(ctx), nil
}

// Pause implements api.Control.
func (e *Engine) Pause(ctx context.Context, req api.PauseRequest) error {
	if req.For < 0 {
		return fmt.Errorf("%w: a pause cannot be negative", api.ErrInvalid)
	}
	var until time.Time
	if req.For > 0 {
		until = e.cfg.Clock.Now().Add(req.For.D())
	}
	if req.Account != "" {
		r, err := e.runner(req.Account)
		if err != nil {
			return err
		}
		r.setPause(true, until)
		return nil
	}
	p := pauseSetting{Paused: true, Until: until}
	e.mu.Lock()
	e.pause = p
	e.mu.Unlock()
	e.savePause(p)
	e.log.Info("paused", "until", until)
	e.emit(api.Event{Type: api.EventPause})
	for _, r := range e.runnerList() {
		r.poke()
	}
	return nil
}

// Resume implements api.Control.
func (e *Engine) Resume(ctx context.Context, account string) error {
	if account != "" {
		r, err := e.runner(account)
		if err != nil {
			return err
		}
		r.setPause(false, time.Time{})
		return nil
	}
	e.mu.Lock()
	e.pause = pauseSetting{}
	e.mu.Unlock()
	e.savePause(pauseSetting{})
	e.log.Info("resumed")
	e.emit(api.Event{Type: api.EventPause})
	for _, r := range e.runnerList() {
		r.poke()
	}
	e.crm.poke()
	return nil
}

// SyncNow implements api.Control.
func (e *Engine) SyncNow(ctx context.Context, account string) error {
	if account != "" {
		r, err := e.runner(account)
		if err != nil {
			return err
		}
		return r.requestSync()
	}
	rs := e.runnerList()
	if len(rs) == 0 {
		return fmt.Errorf("%w: there is no active account to sync; add one first", api.ErrInvalid)
	}
	var first error
	started := 0
	for _, r := range rs {
		if err := r.requestSync(); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		started++
	}
	if started == 0 {
		return first
	}
	return nil
}

// Accounts implements api.Control.
func (e *Engine) Accounts(ctx context.Context) ([]api.Account, error) {
	return e.cfg.Store.Accounts(ctx)
}

// RemoveAccount implements api.Control.
func (e *Engine) RemoveAccount(ctx context.Context, account string, purge bool) error {
	a, err := e.cfg.Store.Account(ctx, account)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w %q", api.ErrUnknownAccount, account)
	} else if err != nil {
		return err
	}
	e.mu.Lock()
	r := e.runners[account]
	delete(e.runners, account)
	e.mu.Unlock()
	if r != nil {
		r.stop()
	}
	if err := e.cfg.Secrets.DeleteAccount(account); err != nil {
		// Nothing was removed: the account syncs on as before.
		if nr, lerr := e.loadRunner(ctx, a); lerr == nil {
			e.mu.Lock()
			if e.runners[account] == nil {
				e.runners[account] = nr
				e.startLocked(nr)
			}
			e.mu.Unlock()
		}
		return fmt.Errorf("the password of the account could not be deleted from the keyring, so the account was not removed (it syncs on and its synced data is kept; try again once the keyring works): %w", err)
	}
	if purge {
		err = e.purge(ctx, account, false)
	} else {
		a.Disabled = true
		if err = e.cfg.Store.UpdateAccount(ctx, a); err == nil {
			err = e.cfg.Store.PutRunState(ctx, account, store.RunState{State: api.NotActivated.String(), Reason: "Disconnected"})
		}
	}
	if err != nil {
		if purge {
			// A removal that stopped midway is finished by the upkeep.
			e.emit(api.Event{Type: api.EventAccounts, Account: account})
		}
		return err
	}
	e.log.Info("account removed", "account", account, "purge", purge)
	e.emit(api.Event{Type: api.EventAccounts, Account: account})
	return nil
}

// Sessions implements api.Control.
func (e *Engine) Sessions(ctx context.Context, q api.SessionQuery) ([]api.Session, error) {
	return e.cfg.Store.Sessions(ctx, q)
}

// Activity implements api.Control.
func (e *Engine) Activity(ctx context.Context, q api.ActivityQuery) (api.ActivityPage, error) {
	return e.cfg.Store.Activity(ctx, q)
}

// Items implements api.Control.
func (e *Engine) Items(ctx context.Context, q api.ItemsQuery) (api.ItemsPage, error) {
	return e.cfg.Store.Items(ctx, q)
}

// Issues implements api.Control: the items that could not be synced
// and those Salesforce refused, newest first.
func (e *Engine) Issues(ctx context.Context, account string, limit int) ([]api.Issue, error) {
	issues, err := e.cfg.Store.Issues(ctx, account, limit)
	if err != nil {
		return nil, err
	}
	refused, err := e.cfg.Store.CRMIssues(ctx, account, limit)
	if err != nil || len(refused) == 0 {
		return issues, err
	}
	issues = append(issues, refused...)
	slices.SortStableFunc(issues, func(a, b api.Issue) int { return b.Time.Compare(a.Time) })
	if limit <= 0 {
		limit = api.DefaultIssueLimit
	}
	if len(issues) > limit {
		issues = issues[:limit]
	}
	return issues, nil
}

// Settings implements api.Control.
func (e *Engine) Settings(ctx context.Context) (api.Settings, error) {
	return e.currentSettings(), nil
}

// UpdateSettings implements api.Control.
func (e *Engine) UpdateSettings(ctx context.Context, s api.Settings) (api.Settings, error) {
	if s.Interval.D() < e.cfg.MinInterval {
		return api.Settings{}, fmt.Errorf("%w: the sync interval must be at least %v", api.ErrInvalid, e.cfg.MinInterval)
	}
	if s.Interval.D() > 24*time.Hour {
		return api.Settings{}, fmt.Errorf("%w: the sync interval must be at most 24 hours", api.ErrInvalid)
	}
	if s.HistoryDays < 1 || s.HistoryDays > 365 {
		return api.Settings{}, fmt.Errorf("%w: the history window must be between 1 and 365 days", api.ErrInvalid)
	}
	if len(s.Folders) == 0 {
		return api.Settings{}, fmt.Errorf("%w: choose at least one of Inbox, Sent and Calendar", api.ErrInvalid)
	}
	for _, f := range s.Folders {
		if !slices.Contains(api.AllFolders, f) {
			return api.Settings{}, fmt.Errorf("%w: unknown folder %q (use inbox, sent, calendar)", api.ErrInvalid, f)
		}
	}
	if err := checkKeepDays(s); err != nil {
		return api.Settings{}, err
	}
	cur := e.currentSettings()
	if err := checkLocked(cur, s); err != nil {
		return api.Settings{}, err
	}
	e.mu.Lock()
	userSet := userChanges(cur, s, e.userSet)
	s = keepLockedOwn(cur, s, e.user)
	e.mu.Unlock()
	s.Sources = nil
	b, _ := json.Marshal(s)
	names, _ := json.Marshal(userSet)
	if err := e.cfg.Store.PutSetting(ctx, settingsKey, string(b)); err != nil {
		return api.Settings{}, err
	}
	if err := e.cfg.Store.PutSetting(ctx, userSetKey, string(names)); err != nil {
		return api.Settings{}, err
	}
	e.mu.Lock()
	e.user, e.userSet = s, userSet
	e.settings = resolveSettings(e.policy, s, userSet)
	s = e.settings
	e.mu.Unlock()
	e.emit(api.Event{Type: api.EventSettings})
	for _, r := range e.runnerList() {
		r.settingsChanged(s.Interval.D())
	}
	return s, nil
}
