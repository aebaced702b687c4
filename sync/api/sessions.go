package api

import (
	"time"
)

// Session outcomes. The store sets running and interrupted; the session
// function (sync/session) sets the others when a session ends.
const (
	// OutcomeRunning is the outcome of a session that has not ended.
	OutcomeRunning = "running"
	// OutcomeInterrupted is the outcome Open gives a session left running
	// by a process that was killed.
	OutcomeInterrupted = "interrupted"
	// OutcomeOK is the outcome of a session that synced every folder.
	OutcomeOK = "ok"
	// OutcomeStopped is the outcome of a session stopped at a page
	// boundary (a pause, the agent quitting), keeping every page before it.
	OutcomeStopped = "stopped"
	// OutcomeOffline, OutcomeThrottled, OutcomeRejected, OutcomeGrantGone
	// and OutcomeFailed name the error class that ended the session
	// (docs/architecture.md §3).
	OutcomeOffline   = "offline"
	OutcomeThrottled = "throttled"
	OutcomeRejected  = "rejected"
	OutcomeGrantGone = "grant-gone"
	OutcomeFailed    = "failed"
)

// Session is one sync session of an account.
type Session struct {
	// ID identifies the session; it grows with every session.
	ID int64 `json:"id"`
	// Account is the ID of the account synced.
	Account string `json:"account"`
	// Trigger says what started the session: "schedule", "manual",
	// "catch-up", "activation", "retry" or "resume" (the first session
	// after a process died mid-session).
	Trigger string `json:"trigger"`
	// Start is when the session began.
	Start time.Time `json:"start"`
	// End is when the session ended; zero while it runs.
	End time.Time `json:"end,omitzero"`
	// Outcome is "running" until the session ends, then "ok", "failed",
	// "offline", "throttled", "rejected", "grant-gone", "stopped" or
	// "interrupted".
	Outcome string `json:"outcome"`
	// Counts are what the session changed.
	Counts
	// Error is the error that ended the session, in words.
	Error string `json:"error,omitempty"`
}

// Failed reports whether the session ended without syncing, for a reason
// the user should hear of (offline, throttled, refused, failed,
// interrupted): not while it runs, not when it succeeded, and not when a
// pause stopped it.
func (s Session) Failed() bool {
	switch s.Outcome {
	case OutcomeOK, OutcomeRunning, OutcomeStopped:
		return false
	}
	return true
}

// When is when the session ended, or began while it runs.
func (s Session) When() time.Time {
	if !s.End.IsZero() {
		return s.End
	}
	return s.Start
}

// SessionQuery selects sessions. It travels over the control socket as
// JSON.
type SessionQuery struct {
	// Account limits the sessions to one account; "" means all accounts.
	Account string `json:"account,omitempty"`
	// Limit is the most sessions returned; 0 (or less) means 50.
	Limit int `json:"limit,omitempty"`
}

// DefaultSessionLimit is the number of sessions Sessions returns when the
// query has no Limit.
const DefaultSessionLimit = 50

// Issue is a stored problem with one item that did not stop a sync.
type Issue struct {
	// ID identifies the issue; it grows with every issue.
	ID int64 `json:"id"`
	// Account is the ID of the account the item belongs to.
	Account string `json:"account"`
	ItemIssue
	// Time is when the issue was stored.
	Time time.Time `json:"time"`
}

// DefaultIssueLimit is the number of issues Issues returns when limit is 0.
const DefaultIssueLimit = 100
