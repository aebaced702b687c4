package crm

import (
	"fmt"
	"time"

	"github.com/inboxsync/inboxsync/sync/provider"
)

// ConnState is the state of a CRM connection, as `crm status` and the
// dashboard's CRM tile show it.
type ConnState int

// The states of a CRM connection.
const (
	// ConnNotConnected: no CRM connection is set up.
	ConnNotConnected ConnState = iota
	// ConnConnected: signed in, idle between runs.
	ConnConnected
	// ConnLogging: a run is under way.
	ConnLogging
	// ConnThrottled: the API budget is used up; Status.NextRun says when the
	// next run starts.
	ConnThrottled
	// ConnNeedsReactivation: the sign-in is gone ("Sign in to Salesforce
	// again"); mailbox sync goes on.
	ConnNeedsReactivation
	// ConnFailed: runs keep failing (Status.Reason says why).
	ConnFailed
)

var connStateNames = [...]string{"not-connected", "connected", "logging", "throttled", "needs-reactivation", "failed"}

// String returns the name used in JSON and logs.
func (s ConnState) String() string {
	if s < 0 || int(s) >= len(connStateNames) {
		return fmt.Sprintf("conn-state(%d)", int(s))
	}
	return connStateNames[s]
}

// MarshalText writes the name.
func (s ConnState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name.
func (s *ConnState) UnmarshalText(b []byte) error {
	for i, n := range connStateNames {
		if n == string(b) {
			*s = ConnState(i)
			return nil
		}
	}
	return fmt.Errorf("unknown CRM connection state %q", b)
}

// StateAfter returns the state a run that ended with err leaves the
// connection in (DESIGN.md §3 applied to the CRM side): nil and offline
// (retried later) leave it connected, a throttled run waits, a grant that
// is gone needs re-activation, anything else is a failure (the engine
// suspends after 10 in a row).
func StateAfter(err error) ConnState {
	if err == nil {
		return ConnConnected
	}
	switch provider.Classify(err) {
	case provider.ClassOffline:
		return ConnConnected
	case provider.ClassThrottled:
		return ConnThrottled
	case provider.ClassGrantGone:
		return ConnNeedsReactivation
	}
	return ConnFailed
}

// Status is what `crm status --json` prints about the CRM connection.
type Status struct {
	State ConnState `json:"state"`
	// Reason is the last problem in words ("Salesforce API limit nearly
	// used up; will retry at 16:30").
	Reason string `json:"reason,omitempty"`
	// Instance is the org's instance URL, User the signed-in user's id.
	Instance string `json:"instance,omitempty"`
	User     string `json:"user,omitempty"`
	// APIUsed and APILimit are the org's API usage from the last answer.
	APIUsed  int `json:"api_used"`
	APILimit int `json:"api_limit"`
	// Counts are the items by CRM state.
	Counts map[State]int `json:"counts"`
	// Requests is how many requests the last run made.
	Requests int64     `json:"requests"`
	LastRun  time.Time `json:"last_run,omitzero"`
	NextRun  time.Time `json:"next_run,omitzero"`
}
