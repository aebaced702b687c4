// Package crm is the CRM contract: what the logger (sync/crm/crmlog), the
// CRM connection (sync/crm/salesforce) and the store agree on
// (docs/architecture.md §5, issue 11). A mailbox provider reads; a CRM
// recorder writes.
//
//   - [Recorder], which a CRM connection implements (crmtest is its
//     conformance suite), with the records, results and lookups it takes
//     and returns;
//   - [Connector] and [Connection], a CRM sign-in;
//   - [Outbox], which the store implements, with its [Entry] values and the
//     [Outcome] the logger returns for each, [MaxAttempts] and the reasons
//     an item is skipped (reasons.go);
//   - [StateAfter], the connection's state after a run.
//
// It holds no logging logic, so the store links only this contract.
// The record vocabulary is Salesforce's (EmailMessage, EmailMessageRelation,
// Task, Event, Contact, Lead), the one CRM issue 11 asks for.
package crm

import (
	"context"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Person is a CRM person found by email: a Contact or an unconverted Lead.
type Person struct {
	ID string
	// Object is "Contact" or "Lead".
	Object string
	// Email is the address as the CRM holds it.
	Email string
	// AccountID is a Contact's Account ("" for Leads and Contacts without one).
	AccountID string
}

// Found is an existing record a dedup lookup returned. Which fields are
// set depends on the lookup.
type Found struct {
	ID string
	// MessageIdentifier of an EmailMessage, as stored (with or without
	// angle brackets).
	MessageIdentifier string
	// Subject of an Event or Task.
	Subject string
	// Start of an Event (zero for all-day events).
	Start time.Time
	// Date is an all-day Event's or a Task's ActivityDate (2026-01-02).
	Date string
	// AllDay is set for all-day Events.
	AllDay bool
	// WhoID of a Task.
	WhoID string
	// EmailMessageID, RelationID and RelationType of an EmailMessageRelation.
	EmailMessageID string
	RelationID     string
	RelationType   string
}

// Opportunity is an open Opportunity found by its Account.
type Opportunity struct {
	ID        string
	AccountID string
	Name      string
	// LastModified is the Opportunity's LastModifiedDate.
	LastModified time.Time
	// CloseDate is its expected close date (2026-01-02), "" when unknown.
	CloseDate string
}

// TaskKey is the person and subject a Task is looked up by.
type TaskKey struct {
	WhoID   string
	Subject string
}

// Record is a record to create (ID empty) or update (ID set). Field values
// are strings, bools, ints, time.Time (a dateTime) or nil.
type Record struct {
	Object string
	ID     string
	Fields map[string]any
}

// RecordError is the CRM's refusal of one record. It fails that record's
// item only.
type RecordError struct {
	// Code is the CRM's status code (FIELD_CUSTOM_VALIDATION_EXCEPTION …).
	Code string
	// Message is the CRM's message.
	Message string
	// Fields are the fields the error is about.
	Fields []string
	// Reason says what happened in words a salesperson understands.
	Reason string
	// Gone means the record does not exist (any more).
	Gone bool
}

// Error returns the reason.
func (e *RecordError) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	return e.Code + ": " + e.Message
}

// Result is the result of one record of a Create, Update or Delete, in the
// order of the request.
type Result struct {
	ID  string
	Err *RecordError
}

// Recorder is a connection to a CRM that the Logger writes through.
//
// Every method may return a classified sync/provider error that stops the
// run: provider.ClassOffline (network), provider.ClassThrottled (the API
// budget: RetryAfter says how long), provider.ClassGrantGone (the sign-in
// is gone: the CRM connection needs re-activation), or any other for a
// failure. A record-level refusal is not such an error: it comes back in
// that record's Result.
type Recorder interface {
	// FindPeople returns the Contacts and unconverted Leads whose email is
	// one of addrs (compared case-insensitively). The Logger passes at
	// most MaxAddressesPerLookup addresses.
	FindPeople(ctx context.Context, addrs []string) ([]Person, error)
	// FindEmailMessages returns the EmailMessages whose MessageIdentifier
	// is one of ids, exactly as given (the Logger passes both the
	// bracketed and the bare form).
	FindEmailMessages(ctx context.Context, ids []string) ([]Found, error)
	// FindEmailRelations returns the EmailMessageRelations of the given
	// EmailMessages.
	FindEmailRelations(ctx context.Context, emailIDs []string) ([]Found, error)
	// FindEvents returns the connected user's Events with one of subjects.
	FindEvents(ctx context.Context, subjects []string) ([]Found, error)
	// FindTasks returns the Tasks whose WhoId and Subject are those of one
	// of keys (and perhaps others: the Logger compares).
	FindTasks(ctx context.Context, keys []TaskKey) ([]Found, error)
	// FindOpportunities returns the open Opportunities (IsClosed false)
	// of the given Accounts. The Logger asks once per batch about all the
	// batch's Accounts it has not asked about yet.
	FindOpportunities(ctx context.Context, accountIDs []string) ([]Opportunity, error)
	// Create creates records; Update updates them (ID set); Delete deletes
	// records by id. Each returns one Result per record, in order.
	Create(ctx context.Context, recs []Record) ([]Result, error)
	Update(ctx context.Context, recs []Record) ([]Result, error)
	Delete(ctx context.Context, ids []string) ([]Result, error)
}

// MaxAttempts is how many failed attempts an item gets before the outbox
// stops offering it (it stays in the Issues tab).
const MaxAttempts = 5

// Entry is one item the outbox hands to the Logger.
type Entry struct {
	// Key identifies the item in the outbox (opaque to the Logger).
	Key string
	// Item is the item as the store holds it.
	Item api.Item
	// Deleted is set when the mailbox removed the item (or cancelled the
	// meeting).
	Deleted bool
	// State is the item's CRM state so far ("" when it has none).
	State api.CRMState
	// RecordID and Object are the CRM record the item was logged as, when
	// it already was (a changed meeting is updated; a changed email is not),
	// or the record a failed attempt created but could not complete.
	RecordID string
	Object   string
	// Attempts is how many attempts failed so far.
	Attempts int
	// Thread are the CRM people the other logged items of the item's
	// conversation (same mailbox, same Item.ConversationID) were logged
	// to, each once: what the whole-thread rule logs a reply to. Nil when
	// the item has no conversation or none of it was logged.
	Thread []Person
}

// Outcome is what the Logger did with one Entry; the outbox stores it
// with the item.
type Outcome struct {
	Key   string
	State api.CRMState
	// RecordID and Object are set for Logged, and for Failed when the
	// record exists but could not be completed (a relation failed).
	RecordID string
	Object   string
	// Reason says why an item was skipped or failed, or a note on a
	// logged one ("Deleted in the mailbox; left in Salesforce").
	Reason string
	// Rule names the rule that logged or skipped the item (Rule…
	// constants in reasons.go); "" keeps the rule stored before.
	Rule string
	// People are the CRM people a Logged item was logged to (its
	// relations, its Who): the outbox keeps them for the whole-thread
	// rule. Nil keeps the people stored before (a re-offered logged item).
	People []Person
	// Retryable is set for Failed items worth another attempt.
	Retryable bool
	// Err is the error behind a failure, for logs (not stored).
	Err error `json:"-"`
}

// Outbox is what the store implements: the CRM state of each item,
// written in the same transaction as the item.
type Outbox interface {
	// Pending returns up to limit entries to handle, oldest first: items
	// without a CRM state (synced since the connection was made, or in
	// the history window), Pending ones (a logged meeting that changed or
	// was deleted), and retryable Failed ones under MaxAttempts.
	Pending(ctx context.Context, limit int) ([]Entry, error)
	// Save stores the outcomes in one transaction. A Failed outcome
	// counts one more attempt.
	Save(ctx context.Context, outcomes []Outcome) error
}
