package api

import "fmt"

// State is an account runner's state (docs/architecture.md §3).
type State int

// The eight states of an account.
const (
	// NotActivated: no usable credentials yet, or the account was disconnected.
	NotActivated State = iota
	// Idle: waiting for the next sync at AccountStatus.NextSync.
	Idle
	// Syncing: a session is running.
	Syncing
	// Paused: no sync until AccountStatus.PausedUntil, or until resumed.
	Paused
	// Offline: the network is down; retrying after 1, 2, 4 … minutes.
	Offline
	// Throttled: waiting as long as the server asked.
	Throttled
	// NeedsReactivation: the mailbox keeps rejecting us or the grant is
	// gone; no further login attempt until the user re-activates.
	NeedsReactivation
	// Suspended: stopped after 10 consecutive failed sessions.
	Suspended
)

var stateNames = [...]string{"not-activated", "idle", "syncing", "paused", "offline", "throttled", "needs-reactivation", "suspended"}

var stateWords = [...]string{"Not activated", "Up to date", "Syncing", "Paused", "Offline", "Waiting for the server", "Needs re-activation", "Suspended"}

// String returns the state's stable name, used in the store, logs and JSON.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return stateNames[s]
}

// Words returns the state in words for people.
func (s State) Words() string {
	if s < 0 || int(s) >= len(stateWords) {
		return s.String()
	}
	return stateWords[s]
}

// NeedsAttention reports whether the user must act for sync to go on.
func (s State) NeedsAttention() bool { return s == NeedsReactivation || s == Suspended }

// ParseState is the inverse of State.String.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	return NotActivated, fmt.Errorf("unknown state %q", name)
}

// MarshalText encodes the state as its name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a state name.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Limits of docs/architecture.md §3.
const (
	// MaxRejections is the number of consecutive rejections after which no
	// further login is attempted.
	MaxRejections = 6
	// MaxFailures is the number of consecutive failed sessions after which
	// the account is suspended.
	MaxFailures = 10
)

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
