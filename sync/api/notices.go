package api

import "time"

// Incident is one stretch of an account needing someone: from the moment
// it was found suspended or needing re-activation (on the desktop), or
// disabled due to an error (in organisation mode), until it syncs
// successfully again. Stop notices are sent once per incident. Every
// store of email notices (the desktop's SQLite store, the organisation's
// PostgreSQL store) keeps incidents of this shape.
type Incident struct {
	ID      int64  `json:"id"`
	Account string `json:"account"`
	// State is the state that opened it ("suspended",
	// "needs-reactivation"); Reason is the engine's words for it.
	State    string    `json:"state"`
	Reason   string    `json:"reason,omitempty"`
	OpenedAt time.Time `json:"opened_at"`
	ClosedAt time.Time `json:"closed_at,omitzero"`
}

// CRMIncidentAccount is the account key of the CRM connection's
// incidents: not a mailbox account (account names cannot hold '@' first).
const CRMIncidentAccount = "@crm"

// Notice states.
const (
	NoticePending = "pending"
	NoticeSent    = "sent"
	// NoticeDropped: not sent because its incident ended first.
	NoticeDropped = "dropped"
)

// Notice is one email queued for one recipient.
type Notice struct {
	ID       int64  `json:"id"`
	Incident int64  `json:"incident"`
	Account  string `json:"account"`
	// Kind is "stopped" or "resumed".
	Kind        string    `json:"kind"`
	Recipient   string    `json:"recipient"`
	Subject     string    `json:"subject"`
	Body        string    `json:"body"`
	CreatedAt   time.Time `json:"created_at"`
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	DoneAt      time.Time `json:"done_at,omitzero"`
}

// OrgIncidentPrefix starts the account key of an organisation-wide
// incident in organisation mode: "@org:office365" is the refusal of the
// organisation's Microsoft 365 app credentials, whatever the number of
// mailboxes it stops.
const OrgIncidentPrefix = "@org:"

// OrgIncidentAccount returns the account key of provider's
// organisation-wide incident.
func OrgIncidentAccount(provider string) string { return OrgIncidentPrefix + provider }
