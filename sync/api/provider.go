package api

import "time"

// Folder names one synced collection of an account. Providers map these to
// their own identifiers (EWS distinguished folder ids, Graph well-known
// folder names, Gmail labels).
type Folder string

// The folders synced in wave 1 (docs/architecture.md §1).
const (
	Inbox    Folder = "inbox"
	Sent     Folder = "sent"
	Calendar Folder = "calendar"
)

// AllFolders lists the wave-1 folders in the order the engine syncs them.
var AllFolders = []Folder{Inbox, Sent, Calendar}

// Kind says whether an item is a mail message or a calendar event.
type Kind string

// Item kinds.
const (
	KindMail  Kind = "mail"
	KindEvent Kind = "event"
)

// Item is one message or calendar event as the store keeps it. Only the
// fields listed in docs/architecture.md §1 are kept: never bodies, never attachments.
type Item struct {
	// ProviderID is the provider's stable identifier of the item; the store
	// keeps items unique per account, Folder and ProviderID (Gmail gives a
	// message sent to oneself the same id in Inbox and Sent).
	ProviderID     string    `json:"provider_id"`
	Folder         Folder    `json:"folder"`
	Kind           Kind      `json:"kind"`
	MessageID      string    `json:"message_id,omitempty"` // RFC 5322 Message-ID
	ConversationID string    `json:"conversation_id,omitempty"`
	Subject        string    `json:"subject"`
	From           string    `json:"from,omitempty"`
	To             []string  `json:"to,omitempty"`
	Cc             []string  `json:"cc,omitempty"`
	Time           time.Time `json:"time"` // received (or sent) time; for events the start
	Preview        string    `json:"preview,omitempty"`

	// Event fields, set when Kind is KindEvent.
	Start     time.Time `json:"start,omitzero"`
	End       time.Time `json:"end,omitzero"`
	Location  string    `json:"location,omitempty"`
	Organizer string    `json:"organizer,omitempty"`
	Attendees []string  `json:"attendees,omitempty"`

	// Sensitivity is the mailbox's sensitivity mark, lower-case: one of
	// SensitivityPrivate, SensitivityConfidential, SensitivityPersonal, or
	// "" (normal, or the provider has none: Gmail).
	Sensitivity string `json:"sensitivity,omitempty"`
	// Categories are the item's categories (Exchange, Office 365) or the
	// names of its user labels (Gmail), as the user sees them. The CRM
	// rules read them ("Private", "Salesforce").
	Categories []string `json:"categories,omitempty"`
}

// Sensitivity marks of an item (Item.Sensitivity); "" is normal.
const (
	SensitivityPersonal     = "personal"
	SensitivityPrivate      = "private"
	SensitivityConfidential = "confidential"
)

// ItemIssue is a problem with one item that did not stop the sync: the item
// could not be read or converted and was skipped.
type ItemIssue struct {
	ProviderID string `json:"provider_id"`
	Folder     Folder `json:"folder"`
	Message    string `json:"message"`
}
