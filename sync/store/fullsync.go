package store

// Full syncs of a folder: the window a full listing covers, and the
// generation that marks what it listed, so that its last page can mark the
// rest deleted.

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// intersect returns the part of w inside o.
func intersect(w, o provider.Window) provider.Window {
	if !o.From.IsZero() && (w.From.IsZero() || o.From.After(w.From)) {
		w.From = o.From
	}
	if !o.To.IsZero() && (w.To.IsZero() || o.To.Before(w.To)) {
		w.To = o.To
	}
	return w
}

func sameWindow(w, o provider.Window) bool { return w.From.Equal(o.From) && w.To.Equal(o.To) }

// fullSync is the state of a folder's running full sync.
type fullSync struct {
	gen    int64
	window provider.Window
}

// activeFullSync returns the full sync of account's folder that has begun
// and whose last page is not stored yet, if any.
func activeFullSync(ctx context.Context, stmt *sql.Stmt, account string, folder api.Folder) (fs fullSync, ok bool, err error) {
	var from, to sql.NullInt64
	err = stmt.QueryRowContext(ctx, account, string(folder)).Scan(&fs.gen, &from, &to)
	if errors.Is(err, sql.ErrNoRows) {
		return fullSync{}, false, nil
	}
	if err != nil {
		return fullSync{}, false, err
	}
	fs.window = provider.Window{From: decTime(from), To: decTime(to)}
	return fs, true, nil
}

// BeginFullSync records that a full sync of account's folder begins: a
// listing of the folder's items within w, from an empty cursor, like the
// first sync or the resync after the provider refused the cursor. In the
// same transaction it forgets the folder's cursor (so that the listing is
// what the next call asks for) and ends any full sync of the folder that
// had begun before.
//
// The pages [Store.ApplyPage] stores for the folder from now on record
// which stored items the full sync listed (changed or not), or named in an
// issue; in the transaction of its last page (More false) the folder's
// items within the window that it did not list are marked deleted and
// counted as Removed. The record is in the items themselves, so it
// survives the process being killed between pages: a sync resumed from the
// stored cursor completes the same full sync. A full sync that never
// reaches its last page (paused, failed, begun again) marks nothing
// deleted.
//
// w must be the span of item times the provider lists (or a part of it):
// items outside it are never marked deleted, since a full sync does not
// list them. The account must exist (ErrNotFound otherwise).
func (s *Store) BeginFullSync(ctx context.Context, account string, folder api.Folder, w provider.Window, now time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.StmtContext(ctx, s.acctStmt).QueryRowContext(ctx, account).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return accountNotFound(account)
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM cursors WHERE account = ? AND folder = ?", account, string(folder)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO full_syncs(account, folder, gen, active, window_from, window_to, started_at)
			VALUES (?, ?, 1, 1, ?, ?, ?)
			ON CONFLICT(account, folder) DO UPDATE SET gen = gen + 1, active = 1,
				window_from = excluded.window_from, window_to = excluded.window_to, started_at = excluded.started_at`,
			account, string(folder), encTime(w.From), encTime(w.To), encTime(now))
		return err
	})
}

// ContinueFullSync reports whether a full sync of account's folder has
// begun and not completed, and if so narrows its window to the part inside
// w. A session (sync/session) calls it when it goes on from a stored
// cursor, with the window of the current session: the provider lists
// either the window of the session that began the full sync or, if it
// ignores the cursor's, the current one, so only their intersection may be
// taken as listed in full. It writes nothing when no full sync runs or the
// window is already inside w.
func (s *Store) ContinueFullSync(ctx context.Context, account string, folder api.Folder, w provider.Window) (bool, error) {
	if s.readOnly {
		return false, errReadOnly
	}
	fs, ok, err := activeFullSync(ctx, s.fullSyncStmt, account, folder)
	if err != nil || !ok {
		return false, err
	}
	if sameWindow(intersect(fs.window, w), fs.window) {
		return true, nil
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		fs, ok, err = activeFullSync(ctx, tx.StmtContext(ctx, s.fullSyncStmt), account, folder)
		if err != nil || !ok {
			return err
		}
		nw := intersect(fs.window, w)
		_, err = tx.ExecContext(ctx, `UPDATE full_syncs SET window_from = ?, window_to = ? WHERE account = ? AND folder = ?`,
			encTime(nw.From), encTime(nw.To), account, string(folder))
		return err
	})
	return ok, err
}

// FullSyncWindow returns the window of the full sync of account's folder
// that has begun and not completed; ok is false if none has.
func (s *Store) FullSyncWindow(ctx context.Context, account string, folder api.Folder) (w provider.Window, ok bool, err error) {
	var from, to sql.NullInt64
	err = s.db.QueryRowContext(ctx, fullSyncSQL, account, string(folder)).Scan(new(int64), &from, &to)
	if errors.Is(err, sql.ErrNoRows) {
		return provider.Window{}, false, nil
	}
	if err != nil {
		return provider.Window{}, false, err
	}
	return provider.Window{From: decTime(from), To: decTime(to)}, true, nil
}
