// Package engine runs the sync: one runner per account, each a small state
// machine with a schedule (DESIGN.md §3). It owns the store and the secrets
// on behalf of its clients, which reach it through sync/control.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/policy"
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
	Policy policy.Policy
	User   string
}

// Limits of DESIGN.md §3.
const (
	// MaxRejections is the number of consecutive rejections after which no
	// further login is attempted.
	MaxRejections = 6
	// MaxFailures is the number of consecutive failed sessions after which
	// the account is suspended.
	MaxFailures = 10
)

// Engine runs every account's sync. Its methods implement control.Control.
type Engine struct {
	cfg Config
	log *slog.Logger
	bus *bus

	mu       sync.Mutex
	settings Settings // effective: resolveSettings(policy, user, userSet)
	user     Settings // as the user last saved them
	userSet  []string // the names of the settings the user set
	policy   policy.Policy
	notices  NoticeTester
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
	req  provider.ActivationRequest // as it was connected, AcceptMailbox cleared
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
func loadSettings(ctx context.Context, st *store.Store) (Settings, error) {
	s := DefaultSettings()
	v, ok, err := st.Setting(ctx, settingsKey)
	if err != nil || !ok {
		return s, err
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return DefaultSettings(), fmt.Errorf("reading settings: %w", err)
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
		return nil, fmt.Errorf("%w %q", ErrUnknownAccount, id)
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

func (e *Engine) emit(ev Event) {
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
		e.emit(Event{Type: EventPause})
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

func (e *Engine) currentSettings() Settings {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.settings
	s.Folders = slices.Clone(s.Folders)
	s.Sources = maps.Clone(s.Sources)
	return s
}

// Status implements control.Control.
func (e *Engine) Status(ctx context.Context) (Status, error) {
	now := e.cfg.Clock.Now()
	paused, until := e.globalPause(now)
	cur := e.currentSettings()
	st := Status{Paused: paused, PausedUntil: until, Interval: cur.Interval, IntervalSource: cur.Sources["sync_interval"], Source: "agent", Accounts: []AccountStatus{},
		Index: e.upkeep.progress()}
	e.mu.Lock()
	if e.policy.Found {
		st.PolicyPath, st.PolicyProblems = e.policy.Path, slices.Clone(e.policy.Problems)
	}
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
		as := AccountStatus{Account: a.ID, Provider: a.Provider, Email: a.Email, State: NotActivated, Words: NotActivated.Words(), Reason: "Disconnected. Activate it again to resume syncing."}
		if last, ok, err := e.cfg.Store.LastSession(ctx, a.ID); err == nil && ok {
			as.LastSync = &last
		}
		st.Accounts = append(st.Accounts, as)
	}
	if cs, err := e.crm.status(ctx); err != nil {
		return st, err
	} else if cs.State != crm.ConnNotConnected {
		st.CRM = &cs
	}
	return st, nil
}

// Subscribe implements control.Control.
func (e *Engine) Subscribe(ctx context.Context) (<-chan Event, error) {
	return e.bus.subscribe(ctx), nil
}

// Pause implements control.Control.
func (e *Engine) Pause(ctx context.Context, req PauseRequest) error {
	if req.For < 0 {
		return fmt.Errorf("%w: a pause cannot be negative", ErrInvalid)
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
	e.emit(Event{Type: EventPause})
	for _, r := range e.runnerList() {
		r.poke()
	}
	return nil
}

// Resume implements control.Control.
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
	e.emit(Event{Type: EventPause})
	for _, r := range e.runnerList() {
		r.poke()
	}
	e.crm.poke()
	return nil
}

// SyncNow implements control.Control.
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
		return fmt.Errorf("%w: there is no active account to sync; add one first", ErrInvalid)
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

// Accounts implements control.Control.
func (e *Engine) Accounts(ctx context.Context) ([]store.Account, error) {
	return e.cfg.Store.Accounts(ctx)
}

// RemoveAccount implements control.Control.
func (e *Engine) RemoveAccount(ctx context.Context, account string, purge bool) error {
	a, err := e.cfg.Store.Account(ctx, account)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w %q", ErrUnknownAccount, account)
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
		return fmt.Errorf("the account was stopped but its password could not be deleted from the keyring: %w", err)
	}
	if purge {
		if err = e.cfg.Store.DeleteAccount(ctx, account); err == nil {
			e.reclaim(ctx)
		}
	} else {
		a.Disabled = true
		if err = e.cfg.Store.UpdateAccount(ctx, a); err == nil {
			err = e.cfg.Store.PutRunState(ctx, account, store.RunState{State: NotActivated.String(), Reason: "Disconnected"})
		}
	}
	if err != nil {
		return err
	}
	e.log.Info("account removed", "account", account, "purge", purge)
	e.emit(Event{Type: EventAccounts, Account: account})
	return nil
}

// Sessions implements control.Control.
func (e *Engine) Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	return e.cfg.Store.Sessions(ctx, q)
}

// Activity implements control.Control.
func (e *Engine) Activity(ctx context.Context, q store.ActivityQuery) (store.ActivityPage, error) {
	return e.cfg.Store.Activity(ctx, q)
}

// Items implements control.Control.
func (e *Engine) Items(ctx context.Context, q store.ItemsQuery) (store.ItemsPage, error) {
	return e.cfg.Store.Items(ctx, q)
}

// Issues implements control.Control: the items that could not be synced
// and those Salesforce refused, newest first.
func (e *Engine) Issues(ctx context.Context, account string, limit int) ([]store.Issue, error) {
	issues, err := e.cfg.Store.Issues(ctx, account, limit)
	if err != nil {
		return nil, err
	}
	refused, err := e.cfg.Store.CRMIssues(ctx, account, limit)
	if err != nil || len(refused) == 0 {
		return issues, err
	}
	issues = append(issues, refused...)
	slices.SortStableFunc(issues, func(a, b store.Issue) int { return b.Time.Compare(a.Time) })
	if limit <= 0 {
		limit = store.DefaultIssueLimit
	}
	if len(issues) > limit {
		issues = issues[:limit]
	}
	return issues, nil
}

// Settings implements control.Control.
func (e *Engine) Settings(ctx context.Context) (Settings, error) {
	return e.currentSettings(), nil
}

// UpdateSettings implements control.Control.
func (e *Engine) UpdateSettings(ctx context.Context, s Settings) (Settings, error) {
	if s.Interval.D() < e.cfg.MinInterval {
		return Settings{}, fmt.Errorf("%w: the sync interval must be at least %v", ErrInvalid, e.cfg.MinInterval)
	}
	if s.Interval.D() > 24*time.Hour {
		return Settings{}, fmt.Errorf("%w: the sync interval must be at most 24 hours", ErrInvalid)
	}
	if s.HistoryDays < 1 || s.HistoryDays > 365 {
		return Settings{}, fmt.Errorf("%w: the history window must be between 1 and 365 days", ErrInvalid)
	}
	if len(s.Folders) == 0 {
		return Settings{}, fmt.Errorf("%w: choose at least one of Inbox, Sent and Calendar", ErrInvalid)
	}
	for _, f := range s.Folders {
		if !slices.Contains(provider.AllFolders, f) {
			return Settings{}, fmt.Errorf("%w: unknown folder %q (use inbox, sent, calendar)", ErrInvalid, f)
		}
	}
	if err := checkKeepDays(s); err != nil {
		return Settings{}, err
	}
	cur := e.currentSettings()
	if err := checkLocked(cur, s); err != nil {
		return Settings{}, err
	}
	e.mu.Lock()
	userSet := userChanges(cur, s, e.userSet)
	s = keepLockedOwn(cur, s, e.user)
	e.mu.Unlock()
	s.Sources = nil
	b, _ := json.Marshal(s)
	names, _ := json.Marshal(userSet)
	if err := e.cfg.Store.PutSetting(ctx, settingsKey, string(b)); err != nil {
		return Settings{}, err
	}
	if err := e.cfg.Store.PutSetting(ctx, userSetKey, string(names)); err != nil {
		return Settings{}, err
	}
	e.mu.Lock()
	e.user, e.userSet = s, userSet
	e.settings = resolveSettings(e.policy, s, userSet)
	s = e.settings
	e.mu.Unlock()
	e.emit(Event{Type: EventSettings})
	for _, r := range e.runnerList() {
		r.settingsChanged(s.Interval.D())
	}
	return s, nil
}

// OpenWindow implements control.Control: it publishes the request for the
// part of the agent that shows windows.
func (e *Engine) OpenWindow(ctx context.Context, req WindowRequest) error {
	switch req.Window {
	case "dashboard", "activate", "settings", WindowCRMConnect:
	default:
		return fmt.Errorf("%w: unknown window %q", ErrInvalid, req.Window)
	}
	e.emit(Event{Type: EventOpenWindow, Account: req.Account, Window: &req})
	return nil
}

// Activate implements control.Control.
func (e *Engine) Activate(ctx context.Context, req provider.ActivationRequest, progress func(provider.ActivationProgress)) (store.Account, error) {
	conn, ok := e.cfg.Connectors[req.Provider]
	if !ok {
		return store.Account{}, fmt.Errorf("%w: %s accounts are not available in this build yet", ErrUnsupported, ProviderWords(req.Provider))
	}
	if progress == nil {
		progress = func(provider.ActivationProgress) {}
	}
	if err := e.checkActivationPolicy(req); err != nil {
		return store.Account{}, err
	}
	var existing *store.Account
	if req.Account != "" {
		if !validID.MatchString(req.Account) {
			return store.Account{}, fmt.Errorf("%w: an account name may hold letters, digits, '.', '_' and '-' (at most 64)", ErrInvalid)
		}
		if a, err := e.cfg.Store.Account(ctx, req.Account); err == nil {
			if a.Provider != req.Provider {
				return store.Account{}, fmt.Errorf("%w: account %q is a %s account; remove it first to use it for %s", ErrInvalid, a.Provider, ProviderWords(a.Provider), ProviderWords(req.Provider))
			}
			existing = &a
			// Re-activation keeps what the account already knows (EWS URL,
			// tenant, client ID …); what the request gives wins.
			merged := maps.Clone(a.Settings)
			if merged == nil {
				merged = map[string]string{}
			}
			maps.Copy(merged, req.Settings)
			req.Settings = merged
			if req.Login == "" {
				req.Login = a.Login
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.Account{}, err
		}
	}
	if req.Settings == nil {
		req.Settings = map[string]string{}
	}
	// What the policy locks wins over what a re-activated account kept.
	maps.Copy(req.Settings, e.lockedSettings(req.Provider))
	c, ok := e.takePending(req)
	if !ok {
		var err error
		c, err = conn.Connect(ctx, req, progress)
		if err != nil {
			return store.Account{}, err
		}
	}
	// The same-mailbox check: nothing is stored and no sync starts until
	// the mailbox is the expected one or the user accepted it.
	if err := e.checkMailbox(req, existing, c.Account.Email); err != nil {
		var mm *MailboxMismatchError
		if errors.As(err, &mm) {
			if !mm.Enforced {
				e.putPending(req, c)
			}
			e.log.Warn("activation refused: another mailbox", "provider", req.Provider, "account", req.Account, "expected", mm.Expected, "got", mm.Got, "enforced", mm.Enforced)
		}
		return store.Account{}, err
	}
	a := store.Account{ID: c.Account.ID, Provider: req.Provider, Login: c.Account.Login, Email: c.Account.Email, Settings: c.Account.Settings}
	var err error
	switch {
	case existing != nil:
		a.ID, a.CreatedAt = existing.ID, existing.CreatedAt
		if existing.Email != "" && a.Email != "" && !strings.EqualFold(existing.Email, a.Email) {
			// Accepted by the user (checkMailbox refuses it otherwise).
			e.emit(Event{Type: EventNotice, Account: a.ID, Title: "A different mailbox was connected",
				Message: fmt.Sprintf("Account %s was %s and is now %s, as you chose.", a.ID, existing.Email, a.Email)})
		}
	case req.Account != "":
		a.ID = req.Account
	default:
		a.ID = deriveID(a.Email, a.Login)
		if _, err := e.cfg.Store.Account(ctx, a.ID); err == nil {
			return store.Account{}, fmt.Errorf("%w: an account named %q already exists; choose another name with --account", ErrInvalid, a.ID)
		}
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = e.cfg.Clock.Now()
	}
	for k, v := range c.Secrets {
		if err := e.cfg.Secrets.Set(a.ID, k, v); err != nil {
			return store.Account{}, err
		}
	}
	if existing != nil {
		err = e.cfg.Store.UpdateAccount(ctx, a)
	} else {
		err = e.cfg.Store.AddAccount(ctx, a)
	}
	if err != nil {
		return store.Account{}, err
	}
	e.log.Info("account activated", "account", a.ID, "provider", a.Provider)

	e.mu.Lock()
	r := e.runners[a.ID]
	e.mu.Unlock()
	if r == nil {
		if err := e.cfg.Store.PutRunState(ctx, a.ID, store.RunState{State: Idle.String()}); err != nil {
			return store.Account{}, err
		}
		r, err = e.loadRunner(ctx, a)
		if err != nil {
			return store.Account{}, err
		}
		r.reactivated(a)
		e.mu.Lock()
		e.runners[a.ID] = r
		e.startLocked(r)
		e.mu.Unlock()
	} else {
		r.reactivated(a)
	}
	e.emit(Event{Type: EventAccounts, Account: a.ID})
	return a, nil
}

var validID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// SetMailboxPolicy changes the expected mailbox and its enforcement
// (Config.ExpectedMailbox, Config.EnforceMailbox) for the activations that
// follow, e.g. when the administrator policy is read again.
func (e *Engine) SetMailboxPolicy(expected string, enforce bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expected, e.enforce = expected, enforce
}

// checkMailbox compares the mailbox Connect resolved (got) with the
// expected one: on re-activation the account's own mailbox, always; else
// the policy's expected mailbox, the request's, or the login or email the
// user typed when it is an address (a DOMAIN\user login is not comparable).
// It returns a *MailboxMismatchError unless they are the same
// (case-insensitively) or the request accepts got and nothing enforces.
func (e *Engine) checkMailbox(req provider.ActivationRequest, existing *store.Account, got string) error {
	e.mu.Lock()
	expected, enforce := e.expected, e.enforce
	e.mu.Unlock()
	mm := &MailboxMismatchError{Got: got, Enforced: enforce}
	switch {
	case existing != nil && existing.Email != "":
		mm.Expected, mm.Account = existing.Email, existing.ID
	case expected != "":
		mm.Expected = expected
	case req.ExpectedMailbox != "":
		mm.Expected = req.ExpectedMailbox
	case isAddress(req.Email):
		mm.Expected = req.Email
	case isAddress(req.Login):
		mm.Expected = req.Login
	}
	if mm.Expected == "" || got == "" || strings.EqualFold(strings.TrimSpace(mm.Expected), strings.TrimSpace(got)) {
		return nil
	}
	if !enforce && req.AcceptMailbox != "" && strings.EqualFold(strings.TrimSpace(req.AcceptMailbox), strings.TrimSpace(got)) {
		e.log.Info("activation with another mailbox accepted by the user", "provider", req.Provider, "expected", mm.Expected, "got", got)
		return nil
	}
	return mm
}

// isAddress reports whether s looks like an email address (one '@' with
// something on each side, no backslash or space), i.e. can be compared with a
// mailbox address.
func isAddress(s string) bool {
	s = strings.TrimSpace(s)
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && !strings.ContainsAny(s, "\\ \t")
}

// pendingKey keys a refused connection by provider, account name and the
// mailbox it resolved.
func pendingKey(req provider.ActivationRequest, mailbox string) string {
	return req.Provider + "\x00" + req.Account + "\x00" + strings.ToLower(strings.TrimSpace(mailbox))
}

// putPending keeps a connection refused for its mailbox for pendingTTL,
// dropping the expired ones.
func (e *Engine) putPending(req provider.ActivationRequest, c provider.Connection) {
	now := e.cfg.Clock.Now()
	req.AcceptMailbox = ""
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, p := range e.pending {
		if now.Sub(p.at) > pendingTTL {
			delete(e.pending, k)
		}
	}
	e.pending[pendingKey(req, c.Account.Email)] = pendingConnection{req: req, conn: c, at: now}
}

// takePending returns, and forgets, the connection refused earlier for the
// same request when req accepts its mailbox now, so that "use anyway"
// needs no second sign-in. ok is false when there is none (or it is older
// than pendingTTL, or the request differs): then Connect runs again.
func (e *Engine) takePending(req provider.ActivationRequest) (provider.Connection, bool) {
	if req.AcceptMailbox == "" {
		return provider.Connection{}, false
	}
	key := pendingKey(req, req.AcceptMailbox)
	req.AcceptMailbox = ""
	now := e.cfg.Clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pending[key]
	if !ok {
		return provider.Connection{}, false
	}
	delete(e.pending, key)
	if now.Sub(p.at) > pendingTTL || !reflect.DeepEqual(p.req, req) {
		return provider.Connection{}, false
	}
	return p.conn, true
}

// deriveID makes an account name from the mailbox address or login.
func deriveID(email, login string) string {
	s := email
	if s == "" {
		s = login
	}
	if i := strings.LastIndexAny(s, `\`); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	s = strings.Map(func(r rune) rune {
		if r < 128 && validID.MatchString(string(r)) {
			return r
		}
		return '-'
	}, strings.ToLower(s))
	if s == "" {
		s = "mailbox"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// ProviderWords names a provider for people ("office365" → "Office 365").
func ProviderWords(p string) string {
	switch p {
	case "exchange":
		return "Microsoft Exchange"
	case "office365":
		return "Office 365"
	case "gmail":
		return "Gmail"
	}
	return p
}
