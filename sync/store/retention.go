package store

// Retention: removing the items older than the user keeps them, and giving
// the pages they held back to the disk.

import (
	"context"
	"fmt"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"
)

// waitingForCRMSQL is the condition, on a row of items, of an item the CRM
// has not recorded yet: its outbox row (crm.go) is pending, or failed in a
// way a later run retries (under crm.MaxAttempts). Such an item is never
// pruned, however old: this is the one place that decides it. Items logged,
// skipped or failed for good are pruned like the others (their outbox rows
// go with them).
var waitingForCRMSQL = fmt.Sprintf(`EXISTS (SELECT 1 FROM crm_items c WHERE c.item = items.id
		AND (c.state = 'pending' OR (c.state = 'failed' AND c.retryable = 1 AND c.attempts < %d)))`, crm.MaxAttempts)

// pruneSQL removes up to ?3 items of account ?1 older than ?2: mail whose
// time, events whose end (or, without an end, time) is before it. Items
// without a time are never pruned. It walks the (account, time) index: an
// event ends after it starts.
var pruneSQL = deleteItemsSQL(`account = ?1 AND time < ?2
		AND (kind != 'event' OR coalesce(end_time, time) < ?2)
		AND NOT (`+waitingForCRMSQL+`)`, "?3")

// deleteItemsSQL is the statement that removes up to limit (a parameter)
// items matching the condition where: one batch of a pruning or of an
// account's removal (DeleteAccount), a short write transaction. The
// triggers of search.go take the items out of the search index and their
// CRM outbox rows go with them (ON DELETE CASCADE), in the same
// transaction.
func deleteItemsSQL(where, limit string) string {
	return `DELETE FROM items WHERE id IN (SELECT id FROM items WHERE ` + where + ` LIMIT ` + limit + `)`
}

// PruneOld removes up to batch items of account older than before (see
// pruneSQL) in one short write transaction, and returns how many it
// removed; call it until it returns less than batch. The items leave the
// search index in the same transaction. Items the CRM still waits for are
// kept.
func (s *Store) PruneOld(ctx context.Context, account string, before time.Time, batch int) (int, error) {
	n, err := s.exec(ctx, pruneSQL, account, timeNanos(before), max(batch, 1))
	if err != nil {
		return 0, fmt.Errorf("removing old items of %s: %w", account, err)
	}
	return int(n), nil
}

// Auto-vacuum modes (PRAGMA auto_vacuum).
const autoVacuumIncremental = 2

// reclaimStep is the number of free pages one incremental vacuum gives
// back (4 MB): a short write transaction.
const reclaimStep = 1000

// Reclaim gives the file's free pages back to the disk, reclaimStep pages
// per write transaction, so that the file shrinks after items were removed.
// First it merges the search index in short steps (mergeSearchIndex), which
// frees the pages of the removed items' entries. A file created before
// Inbox Sync did this cannot shrink until it was compacted once
// (CanReclaim, Compact); Reclaim only merges the index then. It returns the
// number of bytes given back.
func (s *Store) Reclaim(ctx context.Context) (int64, error) {
	if err := s.mergeSearchIndex(ctx); err != nil {
		return 0, err
	}
	ok, err := s.CanReclaim(ctx)
	if err != nil || !ok {
		return 0, err
	}
	var freed int64
	for {
		free, size, err := s.freePages(ctx)
		if err != nil || free == 0 {
			return freed, err
		}
		// PRAGMA takes no parameters; reclaimStep is a constant.
		if _, err := s.exec(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", reclaimStep)); err != nil {
			return freed, fmt.Errorf("shrinking the activity store: %w", err)
		}
		after, _, err := s.freePages(ctx)
		if err != nil {
			return freed, err
		}
		if after >= free {
			return freed, nil // nothing more it can give back
		}
		freed += (free - after) * size
	}
}

// freePages returns the number of free pages in the file and the page size.
func (s *Store) freePages(ctx context.Context) (free, size int64, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT freelist_count, page_size FROM pragma_freelist_count, pragma_page_size").Scan(&free, &size)
	return free, size, err
}

// CanReclaim reports whether the file gives its free pages back to the
// disk (incremental auto-vacuum): every store created by this version, and
// older ones once compacted.
func (s *Store) CanReclaim(ctx context.Context) (bool, error) {
	var mode int
	err := s.db.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode)
	return mode == autoVacuumIncremental, err
}

// FreeBytes returns how much of the file is free pages.
func (s *Store) FreeBytes(ctx context.Context) (int64, error) {
	free, size, err := s.freePages(ctx)
	return free * size, err
}

// Compact rewrites the whole file once (VACUUM) so that it can shrink from
// then on (incremental auto-vacuum) and gives its free pages back. It holds
// the store for as long as it takes (seconds for a million items), and
// needs as much free disk as the file's size; the engine runs it only for
// a file created before Inbox Sync did this, and only when it has space
// to give back.
func (s *Store) Compact(ctx context.Context) error {
	if s.readOnly {
		return errReadOnly
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// VACUUM cannot run inside a transaction; one connection does both, so
	// that the mode it sets is the one VACUUM applies.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, q := range []string{fmt.Sprintf("PRAGMA auto_vacuum = %d", autoVacuumIncremental), "VACUUM"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("compacting the activity store: %w", err)
		}
	}
	return nil
}
