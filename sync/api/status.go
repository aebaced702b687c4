package api

import "time"

// Status is the whole agent's state.
type Status struct {
	// Paused is the global pause: no account syncs while it is set.
	Paused      bool      `json:"paused"`
	PausedUntil time.Time `json:"paused_until,omitzero"` // zero: until resumed
	Interval    Duration  `json:"interval"`
	// IntervalSource says where Interval comes from (Settings.Sources).
	IntervalSource SettingSource   `json:"interval_source,omitempty"`
	Accounts       []AccountStatus `json:"accounts"`
	// Source says where the status came from: "agent" (live) or "store"
	// (read from disk because no agent runs).
	Source string `json:"source"`
	// AgentRunning is false when no agent runs: the status is what the
	// agent last saved, and no account syncs (AccountStatus.NextSync is
	// then zero: nothing is due until Inbox Sync starts).
	AgentRunning bool `json:"agent_running"`
	// PolicyPath is the administrator's policy file the agent read, when
	// there is one; PolicyProblems are its problems (the entries ignored).
	PolicyPath     string          `json:"policy_path,omitempty"`
	PolicyProblems []PolicyProblem `json:"policy_problems,omitempty"`
	// Organisation is set when the policy says the organisation runs
	// sync (activation = "organisation"): the tray, the dashboard and the
	// CLI say so instead of asking the user to activate.
	Organisation *Organisation `json:"organisation,omitempty"`
	// CRM is the CRM connection's status; nil when none was made.
	CRM *CRMStatus `json:"crm,omitempty"`
	// Index is the search index's build while items wait for it; nil
	// once every item is indexed. Searches find the waiting items too,
	// more slowly.
	Index *IndexProgress `json:"index,omitempty"`
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
	case ConnNeedsReactivation:
		return NeedsReactivation, true
	case ConnFailed:
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
	Reason      string    `json:"reason,omitempty"`
	Since       time.Time `json:"since,omitzero"` // when State was entered
	NextSync    time.Time `json:"next_sync,omitzero"`
	Paused      bool      `json:"paused"`
	PausedUntil time.Time `json:"paused_until,omitzero"`
	Rejections  int       `json:"rejections"`
	Failures    int       `json:"failures"`
	// LastSync is the newest session, whatever its outcome (it may be
	// running, or have failed); LastSuccess the newest that succeeded,
	// when the account's data was last current ("last successful sync").
	LastSync    *Session  `json:"last_sync,omitempty"`
	LastSuccess *Session  `json:"last_success,omitempty"`
	Progress    *Progress `json:"progress,omitempty"`
}

// Progress describes a running session.
type Progress struct {
	Folder Folder `json:"folder"`
	Pages  int    `json:"pages"`
	Counts
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
	Session *Session       `json:"session,omitempty"`
	Window  *WindowRequest `json:"window,omitempty"`
	// Title and Message are set for EventNotice.
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
}
