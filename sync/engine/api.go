package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/policy"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/store"
)

// This file holds the values the engine exchanges with its clients (the
// tray, the windows and the CLI, through sync/control). None of them may
// carry a secret, except ActivationRequest.Password on its way in.

// Status is the whole agent's state.
type Status struct {
	// Paused is the global pause: no account syncs while it is set.
	Paused      bool      `json:"paused"`
	PausedUntil time.Time `json:"paused_until,omitzero"` // zero: until resumed
	Interval    Duration  `json:"interval"`
	// IntervalSource says where Interval comes from (Settings.Sources).
	IntervalSource policy.Source   `json:"interval_source,omitempty"`
	Accounts       []AccountStatus `json:"accounts"`
	// Source says where the status came from: "agent" (live) or "store"
	// (read from disk because no agent runs).
	Source string `json:"source"`
	// PolicyPath is the administrator's policy file the agent read, when
	// there is one; PolicyProblems are its problems (the entries ignored).
	PolicyPath     string           `json:"policy_path,omitempty"`
	PolicyProblems []policy.Problem `json:"policy_problems,omitempty"`
	// CRM is the CRM connection's status; nil when none was made.
	CRM *crm.Status `json:"crm,omitempty"`
	// Index is the search index's build while items wait for it; nil
	// once every item is indexed. Searches find the waiting items too,
	// more slowly.
	Index *store.IndexProgress `json:"index,omitempty"`
}

// CRMAttention returns the state a CRM connection that needs the user
// shows as in the tray, like a mailbox's: NeedsReactivation when its
// sign-in is gone, Suspended when logging stopped after repeated failures;
// ok is false when it needs nothing.
func (s Status) CRMAttention() (State, bool) {
	if s.CRM == nil {
		return Idle, false
	}
	switch s.CRM.State {
	case crm.ConnNeedsReactivation:
		return NeedsReactivation, true
	case crm.ConnFailed:
		return Suspended, true
	}
	return Idle, false
}

// Worst returns the state that most needs the user's eye across all
// accounts, for a single tray icon. NotActivated when there is no account.
func (s Status) Worst() State {
	rank := map[State]int{Idle: 0, Syncing: 1, Paused: 2, Throttled: 3, Offline: 4, NotActivated: 5, Suspended: 6, NeedsReactivation: 7}
	if len(s.Accounts) == 0 {
		return NotActivated
	}
	worst := s.Accounts[0].State
	for _, a := range s.Accounts[1:] {
		if rank[a.State] > rank[worst] {
			worst = a.State
		}
	}
	if c, ok := s.CRMAttention(); ok && rank[c] > rank[worst] {
		worst = c
	}
	return worst
}

// AccountStatus is one account's state.
type AccountStatus struct {
	Account  string `json:"account"`
	Provider string `json:"provider"`
	Email    string `json:"email,omitempty"`
	State    State  `json:"state"`
	// Words is the state in words for people.
	Words string `json:"words"`
	// Reason says in plain words why the account needs attention, or what
	// went wrong last.
	Reason      string         `json:"reason,omitempty"`
	Since       time.Time      `json:"since,omitzero"` // when State was entered
	NextSync    time.Time      `json:"next_sync,omitzero"`
	Paused      bool           `json:"paused"`
	PausedUntil time.Time      `json:"paused_until,omitzero"`
	Rejections  int            `json:"rejections"`
	Failures    int            `json:"failures"`
	LastSync    *store.Session `json:"last_sync,omitempty"`
	Progress    *Progress      `json:"progress,omitempty"`
}

// Progress describes a running session.
type Progress struct {
	Folder provider.Folder `json:"folder"`
	Pages  int             `json:"pages"`
	store.Counts
}

// EventType names what an Event reports.
type EventType string

// Event types.
const (
	// EventState: an account changed state (From, To, Status).
	EventState EventType = "state"
	// EventSessionStarted, EventSessionProgress, EventSessionEnded: a sync
	// session's life (Session, and Status.Progress while it runs).
	EventSessionStarted  EventType = "session-started"
	EventSessionProgress EventType = "session-progress"
	EventSessionEnded    EventType = "session-ended"
	// EventAccounts: an account was added, re-activated or removed.
	EventAccounts EventType = "accounts"
	// EventPause: the global pause changed.
	EventPause EventType = "pause"
	// EventSettings: the settings changed.
	EventSettings EventType = "settings"
	// EventOpenWindow: someone asked the agent to show a window.
	EventOpenWindow EventType = "open-window"
	// EventNotice: something the user should be told (a desktop notice).
	EventNotice EventType = "notice"
	// EventCRM: the CRM connection changed state (Message: the reason).
	EventCRM EventType = "crm"
)

// WindowCRMConnect is the window that signs in to the CRM ("Sign in to
// Salesforce again" when WindowRequest.Reason says why).
const WindowCRMConnect = "crm-connect"

// Event is one entry of the engine's event stream. Events never carry
// secrets.
type Event struct {
	Seq     uint64         `json:"seq"`
	Time    time.Time      `json:"time"`
	Type    EventType      `json:"type"`
	Account string         `json:"account,omitempty"`
	From    State          `json:"from,omitempty"`
	To      State          `json:"to,omitempty"`
	Status  *AccountStatus `json:"status,omitempty"`
	Session *store.Session `json:"session,omitempty"`
	Window  *WindowRequest `json:"window,omitempty"`
	// Title and Message are set for EventNotice.
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
}

// Settings are the user's preferences.
type Settings struct {
	// Interval between syncs (default 30 minutes).
	Interval Duration `json:"interval"`
	// HistoryDays is the first sync's history window (default 30).
	HistoryDays int `json:"history_days"`
	// Folders to sync (default Inbox, Sent, Calendar).
	Folders []provider.Folder `json:"folders"`
	// Notifications turns desktop notifications on or off.
	Notifications bool `json:"notifications"`
	// Sources says where each setting's value comes from ("default",
	// "user", "policy", "locked"), by its policy name (sync_interval,
	// history_days, folders, notifications). The engine fills it in;
	// UpdateSettings ignores it. A "locked" setting cannot be changed.
	Sources map[string]policy.Source `json:"sources,omitempty"`
	// KeepDays is how long items stay in the store (mail by its time,
	// meetings by their end); 0 keeps them all. Default 365.
	KeepDays int `json:"keep_days"`
}

// DefaultSettings are the settings of a new installation.
func DefaultSettings() Settings {
	return Settings{
		Interval:      Duration(30 * time.Minute),
		HistoryDays:   30,
		Folders:       append([]provider.Folder(nil), provider.AllFolders...),
		Notifications: true,
		KeepDays:      365,
	}
}

// NoticeDelivery is the outcome of a test notice for one address: Error
// says in words why it failed, "" when the relay took it.
type NoticeDelivery struct {
	To    string `json:"to"`
	Error string `json:"error,omitempty"`
}

// NoticeTester sends test notices (sync/notices.Service in the agent).
type NoticeTester interface {
	Test(ctx context.Context) ([]NoticeDelivery, error)
}

// PauseRequest pauses the whole agent (Account "") or one account, for a
// while (For > 0) or until resumed (For == 0).
type PauseRequest struct {
	Account string   `json:"account,omitempty"`
	For     Duration `json:"for,omitempty"`
}

// WindowRequest asks the agent to show a window.
type WindowRequest struct {
	Window  string `json:"window"` // "dashboard", "activate", "settings", "crm-connect"
	Account string `json:"account,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Errors the engine returns that callers branch on. They survive the
// control socket: the client maps them back by code.
var (
	ErrUnknownAccount = errors.New("no such account")
	ErrInvalid        = provider.ErrInvalid
	ErrUnsupported    = errors.New("not available in this build")
	ErrTooSoon        = errors.New("a sync ran less than a minute ago")
	ErrNotRunning     = errors.New("the agent is not running")
	// ErrMailboxMismatch: the mailbox the sign-in resolved is not the
	// expected one (see MailboxMismatchError).
	ErrMailboxMismatch = errors.New("the signed-in mailbox is not the expected one")
)

// MailboxMismatchError stops an activation whose signed-in mailbox is not
// the expected one, before anything is stored or synced. It matches
// ErrMailboxMismatch. The activation goes on when it is sent again with
// ActivationRequest.AcceptMailbox = Got, unless Enforced.
type MailboxMismatchError struct {
	// Expected is the mailbox the user works in: the account's mailbox
	// on re-activation, else the administrator's expected mailbox, else
	// the login or address the user typed.
	Expected string
	// Got is the mailbox the provider resolved after sign-in.
	Got string
	// Account names the existing account on re-activation, else "".
	Account string
	// Enforced means the mailbox cannot be accepted anyway (an
	// administrator's enforce_mailbox).
	Enforced bool
}

// Error names both mailboxes and says what is at stake, in words.
func (e *MailboxMismatchError) Error() string {
	var b strings.Builder
	if e.Account != "" {
		fmt.Fprintf(&b, "You signed in to the mailbox %s, but account %s syncs %s: ", e.Got, e.Account, e.Expected)
	} else {
		fmt.Fprintf(&b, "You signed in to the mailbox %s, but the expected mailbox is %s: ", e.Got, e.Expected)
	}
	b.WriteString("sync would run against a different mailbox than the one you work in.")
	if e.Enforced {
		fmt.Fprintf(&b, " Your administrator allows only %s: sign in with that account.", e.Expected)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrMailboxMismatch) true.
func (e *MailboxMismatchError) Is(target error) bool { return target == ErrMailboxMismatch }

// TooSoonError refuses a sync requested within the minimum gap of the
// last attempt. It matches ErrTooSoon.
type TooSoonError struct{ Wait time.Duration }

// Error says how long to wait, in words.
func (e *TooSoonError) Error() string {
	secs := int(e.Wait.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return fmt.Sprintf("a sync ran less than a minute ago; try again in %d seconds", secs)
}

// Is makes errors.Is(err, ErrTooSoon) true.
func (e *TooSoonError) Is(target error) bool { return target == ErrTooSoon }

// Duration is a time.Duration that reads and writes JSON as "30m0s".
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText encodes as time.Duration.String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes time.ParseDuration's format.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
