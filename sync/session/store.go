package session

import (
	"context"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// Store is what a session needs from the activity store: sessions, folder
// cursors, full syncs and pages of changes. The desktop's SQLite store
// (sync/store) implements it, and so must any other (organisation mode's
// PostgreSQL); storetest is the suite that checks an implementation.
//
// Three rules make a session safe to stop, kill or replay at any moment
// (docs/architecture.md §3):
//
//   - a page and the cursor after it are one transaction: either both are
//     stored or neither is;
//   - items are upserted, unique per account + folder + provider id, so a
//     page stored twice changes nothing the second time;
//   - a stored cursor is never ahead of the stored items: Cursor returns
//     the cursor of the last page whose items are all stored.
//
// Every method may be called with a context that is never cancelled: the
// session does not abandon a page it fetched half-way through its write.
type Store interface {
	// BeginSession records the start of a session of account (outcome
	// api.OutcomeRunning) and returns it with its ID, which grows with
	// every session. It fails if the store holds no such account.
	BeginSession(ctx context.Context, account, trigger string, start time.Time) (api.Session, error)

	// EndSession stores sess's End, Outcome, Counts and Error in the
	// session sess.ID, in one write. It fails for an unknown session.
	EndSession(ctx context.Context, sess api.Session) error

	// Cursor returns the cursor stored with the last page of account's
	// folder, or "" if there is none (the folder was never synced, or a
	// full sync began since).
	Cursor(ctx context.Context, account string, folder api.Folder) (string, error)

	// BeginFullSync records, in one transaction, that a full listing of
	// account's folder begins (the first sync, or a resync after the
	// provider refused the cursor): it forgets the folder's cursor and
	// remembers w, the span of item times the listing covers. From then
	// on ApplyPage notes each item of the folder a page lists (changed or
	// not, or named in an issue); the transaction of the listing's last
	// page marks deleted the folder's items inside w that were not listed.
	// The note is durable: a session resumed from the cursor after a kill
	// completes the same full sync. A full sync that never reaches its last
	// page marks nothing. Items outside w are never marked deleted. It
	// fails for an unknown account.
	BeginFullSync(ctx context.Context, account string, folder api.Folder, w provider.Window, now time.Time) error

	// ContinueFullSync reports whether a full sync of account's folder has
	// begun and not completed, and if so narrows its window to the part
	// inside w (the window of the session going on with it, which may have
	// moved since). It writes nothing when no full sync runs.
	ContinueFullSync(ctx context.Context, account string, folder api.Folder, w provider.Window) (bool, error)

	// ApplyPage stores page, a page of changes of account's folder, its
	// item issues and page.Cursor, all in one transaction, and returns what
	// it changed: new items count as Added; items whose content changed,
	// or that were marked deleted, as Updated; unchanged items count
	// nothing. A deletion marks deleted the item of that folder only (the
	// same provider id in another folder stays) and counts as Removed;
	// deleting an unknown or deleted item counts nothing. An item or issue
	// without a Folder belongs to folder. now is the time recorded with the
	// items, issues and cursor.
	//
	// Issues are recorded as given, one per entry (issues are a log, not
	// upserted).
	//
	// A store that logs to a CRM (an active CRM connection: see sync/crm's
	// Outbox) queues, in the same transaction, the items the page added,
	// the changes and removals the CRM must see again; a page that fails
	// queues nothing.
	//
	// It fails for an unknown account, an empty page.Cursor and a change without a provider id; on any error
	// nothing of the page is stored.
	ApplyPage(ctx context.Context, account string, folder api.Folder, page provider.Page, now time.Time) (api.Counts, error)
}
