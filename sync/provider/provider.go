// Package provider defines what the sync engine needs from a mailbox
// provider (Exchange over EWS, Office 365 over Microsoft Graph, Gmail), the
// shape of the changes a provider yields, and the error classes that decide
// how the engine reacts to a failure.
//
// A provider is stateless between calls: everything it must remember between
// syncs lives in the opaque cursor it returns with each page, and the engine
// stores that cursor in the same transaction as the page's items. A provider
// therefore never has to worry about partial progress: if the process dies
// after a page was committed, the next call starts from that page's cursor.
package provider

import (
	"context"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Change is one entry of a page: an item added or changed (Deleted false,
// Item filled in), or an item removed from the mailbox (Deleted true; only
// Item.ProviderID and Item.Folder are meaningful).
type Change struct {
	Item    api.Item `json:"item"`
	Deleted bool     `json:"deleted,omitempty"`
}

// Page is one batch of changes in one folder and the cursor that follows it.
// The engine commits Changes, Issues and Cursor in one transaction, so a
// provider must only return a cursor that is valid once exactly these
// changes are stored.
type Page struct {
	Changes []Change
	Issues  []api.ItemIssue
	// Cursor is the opaque position after this page. The next call for the
	// folder passes it back. It must not be empty.
	Cursor string
	// More is true when the provider has further pages ready now; when false
	// the folder is up to date and the next call happens at the next sync.
	More bool
}

// Options are the per-sync settings the engine passes to each call.
type Options struct {
	// Since limits a first sync (empty cursor) to items newer than this time:
	// the history window. Providers ignore it when a cursor is given.
	Since time.Time
	// Now is the engine's clock, for the calendar window around it
	// (CalendarWindow).
	Now time.Time
}

// Window is a span of item times: what a full listing of a folder covers
// (the history window for mail, the calendar window for events), from From
// (inclusive) to To (exclusive). A zero bound is open.
type Window struct {
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
}

// Contains reports whether t is inside w. The zero time is inside no
// window: an item without a time is never taken for deleted.
func (w Window) Contains(t time.Time) bool {
	return !t.IsZero() && (w.From.IsZero() || !t.Before(w.From)) && (w.To.IsZero() || t.Before(w.To))
}

// Provider reads changes from one account's mailbox.
//
// Every method must honour ctx: when it is cancelled the call returns
// promptly with ctx.Err() (wrapped or not). Errors should be *Error values
// (see Classify) so that the engine can tell a network outage from a
// rejected password; an unclassified error counts as ClassFailed.
type Provider interface {
	// Folders returns the folders this account can sync, a subset of
	// AllFolders.
	Folders() []api.Folder

	// Changes returns the next page of changes in folder after cursor.
	//
	// An empty cursor starts a full sync of the folder, limited to
	// opts.Since. A cursor the server no longer accepts (Graph 410 Gone or
	// syncStateNotFound, EWS ErrorInvalidSyncStateData, Gmail history 404)
	// is reported as ClassCursorInvalid; the engine then drops the cursor
	// and calls again with an empty one. Items already stored are kept, and
	// replaying them is harmless because the store upserts by Folder and
	// ProviderID. When a sync from an empty cursor reaches its last page
	// (More false), the engine marks deleted the folder's stored items
	// within the window it lists (opts.Since on for mail, the calendar
	// window for events) that it did not return, changed or not, or name
	// in an ItemIssue: a full listing must therefore return every item of
	// the folder within that window.
	Changes(ctx context.Context, folder api.Folder, cursor string, opts Options) (Page, error)

	// Close releases connections. The engine calls it when the account's
	// runner stops.
	Close() error
}
