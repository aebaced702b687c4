package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// Cursor returns the cursor stored for account's folder, or "" if none is.
func (s *Store) Cursor(ctx context.Context, account string, folder api.Folder) (string, error) {
	var c string
	err := s.db.QueryRowContext(ctx, "SELECT cursor FROM cursors WHERE account = ? AND folder = ?", account, string(folder)).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return c, err
}

// Cursors returns the cursors stored for account, by folder.
func (s *Store) Cursors(ctx context.Context, account string) (map[api.Folder]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT folder, cursor FROM cursors WHERE account = ?", account)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[api.Folder]string{}
	for rows.Next() {
		var f, c string
		if err := rows.Scan(&f, &c); err != nil {
			return nil, err
		}
		out[api.Folder(f)] = c
	}
	return out, rows.Err()
}

// DeleteCursor forgets the cursor of account's folder, so that the next sync
// of the folder starts over. The folder's items are kept. Deleting a cursor
// that is not stored is not an error.
func (s *Store) DeleteCursor(ctx context.Context, account string, folder api.Folder) error {
	_, err := s.exec(ctx, "DELETE FROM cursors WHERE account = ? AND folder = ?", account, string(folder))
	return err
}

// The statements of ApplyPage.
const (
	insertItemCols = `account, provider_id, folder, kind, message_id, conversation_id, subject,
		from_addr, to_addrs, cc_addrs, time, preview, start_time, end_time, location, organizer, attendees,
		sensitivity, categories, hash, first_seen, updated_at, full_sync_gen`
	// The folder is part of an item's key, so it is never updated. gens
	// only grow, so max() stamps the running full sync's generation and
	// keeps the stored one when 0 (no full sync) is passed.
	updateItemSQL = `UPDATE items SET kind = ?, message_id = ?, conversation_id = ?, subject = ?,
		from_addr = ?, to_addrs = ?, cc_addrs = ?, time = ?, preview = ?, start_time = ?, end_time = ?,
		location = ?, organizer = ?, attendees = ?, sensitivity = ?, categories = ?, hash = ?, rev = rev + 1, deleted = 0, updated_at = ?,
		full_sync_gen = max(full_sync_gen, ?)
		WHERE account = ? AND folder = ? AND provider_id = ?`
	deleteItemSQL = `UPDATE items SET deleted = 1, updated_at = ? WHERE account = ? AND folder = ? AND provider_id = ?`
	existingSQL   = `SELECT provider_id, hash, deleted FROM items
		WHERE account = ? AND folder = ? AND provider_id IN (SELECT value FROM json_each(?))`
	issueSQL  = `INSERT INTO issues(account, provider_id, folder, message, time) VALUES (?, ?, ?, ?, ?)`
	cursorSQL = `INSERT INTO cursors(account, folder, cursor, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(account, folder) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`
	accountExistsSQL = `SELECT 1 FROM accounts WHERE id = ? AND removing = 0`
	// stampSQL records that the running full sync (?1) listed the stored
	// items among the JSON array ?4 unchanged.
	stampSQL = `UPDATE items SET full_sync_gen = ?1
		WHERE account = ?2 AND folder = ?3 AND provider_id IN (SELECT value FROM json_each(?4)) AND full_sync_gen != ?1`
	fullSyncSQL = `SELECT gen, window_from, window_to FROM full_syncs WHERE account = ? AND folder = ? AND active = 1`
	// sweepSQL marks deleted the items of a folder inside the window
	// (?5, ?6; NULL is open) that the full sync ?4 did not list. Items
	// without a time are never inside a window.
	sweepSQL = `UPDATE items SET deleted = 1, updated_at = ?1
		WHERE account = ?2 AND folder = ?3 AND deleted = 0 AND full_sync_gen != ?4
		AND time IS NOT NULL AND (?5 IS NULL OR time >= ?5) AND (?6 IS NULL OR time < ?6)`
	endFullSyncSQL = `UPDATE full_syncs SET active = 0 WHERE account = ? AND folder = ?`
)

// insertCols is the number of parameters of one inserted item.
const insertCols = 23

// insertBatch is the number of items one multi-row INSERT stores: one
// statement per item costs more than the b-tree work of storing it.
const insertBatch = 32

// insertSQL returns an INSERT of n items.
func insertSQL(n int) string {
	one := "(" + strings.Repeat("?, ", insertCols-1) + "?)"
	return "INSERT INTO items(" + insertItemCols + ") VALUES " + strings.Repeat(one+", ", n-1) + one
}

// prepare prepares the statements of ApplyPage.
func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.insertOneStmt, insertSQL(1)},
		{&s.insertManyStmt, insertSQL(insertBatch)},
		{&s.updateStmt, updateItemSQL},
		{&s.deleteStmt, deleteItemSQL},
		{&s.existingStmt, existingSQL},
		{&s.issueStmt, issueSQL},
		{&s.cursorStmt, cursorSQL},
		{&s.acctStmt, accountExistsSQL},
		{&s.stampStmt, stampSQL},
		{&s.fullSyncStmt, fullSyncSQL},
		{&s.sweepStmt, sweepSQL},
		{&s.endFullStmt, endFullSyncSQL},
	} {
		st, err := s.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return s.openErr(err)
		}
		*p.stmt = st
	}
	return nil
}

// testHookBeforeCursor, when set by a test, runs inside ApplyPage's
// transaction after the items and issues were written and before the
// cursor is; an error it returns fails the page.
var testHookBeforeCursor func(ctx context.Context) error

// joinAddrs joins a list of addresses for a column; "\n" cannot be part of
// an address.
func joinAddrs(a []string) string { return strings.Join(a, "\n") }

func splitAddrs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// contentHash is the hash of everything the store keeps of an item, in the
// encoding stored (times as clamped nanoseconds), with folder for an item
// without one.
func contentHash(it *api.Item, folder api.Folder) int64 {
	return api.ContentHash(it, folder, timeNanos)
}

// itemKey identifies a stored item of an account.
type itemKey struct {
	folder api.Folder
	id     string
}

// itemState is what ApplyPage knows of a stored item.
type itemState struct {
	hash    int64
	deleted bool
	pending bool // inserted by a batch not yet executed
}

// ApplyPage stores a page of folder's changes for account, the page's
// issues and the cursor after it, all in one transaction: either all of it
// is stored or, on any error, none of it.
//
// Items are unique per account, folder and ProviderID (Gmail gives a
// message sent to oneself one id in Inbox and Sent: the store keeps it in
// each), so applying a page twice is harmless. A change whose item is new
// counts as Added; one whose content differs from the stored item's, or
// whose item was marked deleted, counts as Updated (and the item is no
// longer deleted); one whose content is unchanged counts nothing and
// leaves the row as it is. A deletion marks the stored item of its folder
// deleted, and only that one, and counts as Removed; deleting an unknown or
// already deleted item counts nothing. Changes apply in order, so an item
// may appear more than once in a page. An item or issue without a Folder
// gets folder. now is recorded as the items' FirstSeen/UpdatedAt, the
// issues' Time and the cursor's update time.
//
// While a full sync of folder runs (see [Store.BeginFullSync]) the page's
// items of folder are recorded as listed by it, and when page.More is
// false the full sync completes: the folder's items within its window that
// it did not list are marked deleted, counted as Removed, in the same
// transaction.
//
// The account must exist (ErrNotFound otherwise) and page.Cursor must not be
// empty.
func (s *Store) ApplyPage(ctx context.Context, account string, folder api.Folder, page provider.Page, now time.Time) (api.Counts, error) {
	if s.readOnly {
		return api.Counts{}, errReadOnly
	}
	if page.Cursor == "" {
		return api.Counts{}, fmt.Errorf("store: the page of %s/%s has no cursor", account, folder)
	}
	// The ids of the page by folder: nearly always the page's folder only.
	type folderIDs struct {
		folder api.Folder
		ids    []string
	}
	groups := []folderIDs{{folder: folder, ids: make([]string, 0, len(page.Changes))}}
	for i := range page.Changes {
		it := &page.Changes[i].Item
		if it.ProviderID == "" {
			return api.Counts{}, fmt.Errorf("store: change %d of the page of %s/%s has no provider id", i, account, folder)
		}
		f := it.Folder
		if f == "" {
			f = folder
		}
		g := 0
		for g < len(groups) && groups[g].folder != f {
			g++
		}
		if g == len(groups) {
			groups = append(groups, folderIDs{folder: f})
		}
		groups[g].ids = append(groups[g].ids, it.ProviderID)
	}
	idsJSON := make([]string, len(groups))
	for i, g := range groups {
		b, err := json.Marshal(g.ids)
		if err != nil {
			return api.Counts{}, err
		}
		idsJSON[i] = string(b)
	}
	nowN := encTime(now)
	var counts api.Counts
	err := s.write(ctx, func(tx *sql.Tx) error {
		counts = api.Counts{}
		var one int
		if err := tx.StmtContext(ctx, s.acctStmt).QueryRowContext(ctx, account).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return accountNotFound(account)
			}
			return err
		}
		fs, full, err := activeFullSync(ctx, tx.StmtContext(ctx, s.fullSyncStmt), account, folder)
		if err != nil {
			return err
		}
		known := make(map[itemKey]*itemState, len(page.Changes))
		for i, g := range groups {
			if err := existingItems(ctx, tx.StmtContext(ctx, s.existingStmt), account, g.folder, idsJSON[i], len(g.ids), known); err != nil {
				return err
			}
		}
		// stamp is the generation new and changed items of folder get;
		// listed collects the stored items of folder listed unchanged.
		var (
			stamp  int64
			listed []string
		)
		if full {
			stamp = fs.gen
		}

		// New items wait in pending until a batch is full.
		var (
			pending     = make([]any, 0, insertBatch*insertCols)
			pendingKeys = make([]itemKey, 0, insertBatch)
			one1, many  *sql.Stmt
		)
		flush := func(all bool) error {
			switch {
			case len(pendingKeys) == insertBatch:
				if many == nil {
					many = tx.StmtContext(ctx, s.insertManyStmt)
				}
				if _, err := many.ExecContext(ctx, pending...); err != nil {
					return err
				}
			case all:
				for i := range pendingKeys {
					if one1 == nil {
						one1 = tx.StmtContext(ctx, s.insertOneStmt)
					}
					if _, err := one1.ExecContext(ctx, pending[i*insertCols:(i+1)*insertCols]...); err != nil {
						return err
					}
				}
			default:
				return nil
			}
			for _, k := range pendingKeys {
				known[k].pending = false
			}
			pending, pendingKeys = pending[:0], pendingKeys[:0]
			return nil
		}

		var (
			upd, del *sql.Stmt
			chg      crmChanges
		)
		for i := range page.Changes {
			ch := &page.Changes[i]
			it := &ch.Item
			f := it.Folder
			if f == "" {
				f = folder
			}
			key := itemKey{f, it.ProviderID}
			st := known[key]
			if st != nil && st.pending {
				// The item was added earlier in this page: store it
				// before changing it.
				if err := flush(true); err != nil {
					return err
				}
			}
			if ch.Deleted {
				if st == nil || st.deleted {
					continue
				}
				if del == nil {
					del = tx.StmtContext(ctx, s.deleteStmt)
				}
				if _, err := del.ExecContext(ctx, nowN, account, string(f), it.ProviderID); err != nil {
					return err
				}
				st.deleted = true
				counts.Removed++
				chg.note(&chg.removed, f, it.ProviderID)
				continue
			}
			var gen int64
			if f == folder {
				gen = stamp
			}
			hash := contentHash(it, f)
			switch {
			case st == nil:
				pending = append(pending, account, it.ProviderID, string(f), string(it.Kind), it.MessageID,
					it.ConversationID, it.Subject, it.From, joinAddrs(it.To), joinAddrs(it.Cc), encTime(it.Time),
					it.Preview, encTime(it.Start), encTime(it.End), it.Location, it.Organizer,
					joinAddrs(it.Attendees), it.Sensitivity, joinAddrs(it.Categories), hash, nowN, nowN, gen)
				pendingKeys = append(pendingKeys, key)
				known[key] = &itemState{hash: hash, pending: true}
				counts.Added++
				chg.note(&chg.added, f, it.ProviderID)
				if err := flush(false); err != nil {
					return err
				}
			case st.hash != hash || st.deleted:
				if upd == nil {
					upd = tx.StmtContext(ctx, s.updateStmt)
				}
				if _, err := upd.ExecContext(ctx, string(it.Kind), it.MessageID, it.ConversationID,
					it.Subject, it.From, joinAddrs(it.To), joinAddrs(it.Cc), encTime(it.Time), it.Preview,
					encTime(it.Start), encTime(it.End), it.Location, it.Organizer, joinAddrs(it.Attendees),
					it.Sensitivity, joinAddrs(it.Categories), hash, nowN, gen, account, string(f), it.ProviderID); err != nil {
					return err
				}
				st.hash, st.deleted = hash, false
				counts.Updated++
				chg.note(&chg.changed, f, it.ProviderID)
			case gen != 0:
				listed = append(listed, it.ProviderID)
			}
		}
		if err := flush(true); err != nil {
			return err
		}

		if len(page.Issues) > 0 {
			ins := tx.StmtContext(ctx, s.issueStmt)
			for _, is := range page.Issues {
				f := is.Folder
				if f == "" {
					f = folder
				}
				if _, err := ins.ExecContext(ctx, account, is.ProviderID, string(f), is.Message, nowN); err != nil {
					return err
				}
				// An item the full sync could not read is still in the
				// folder.
				if full && f == folder && is.ProviderID != "" {
					listed = append(listed, is.ProviderID)
				}
			}
		}
		if len(listed) > 0 {
			b, err := json.Marshal(listed)
			if err != nil {
				return err
			}
			if _, err := tx.StmtContext(ctx, s.stampStmt).ExecContext(ctx, stamp, account, string(folder), string(b)); err != nil {
				return err
			}
		}
		if full && !page.More {
			res, err := tx.StmtContext(ctx, s.sweepStmt).ExecContext(ctx, nowN, account, string(folder), fs.gen,
				encTime(fs.window.From), encTime(fs.window.To))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			counts.Removed += int(n)
			if n > 0 {
				if err := crmSwept(ctx, tx, account, folder, nowN); err != nil {
					return err
				}
			}
			if _, err := tx.StmtContext(ctx, s.endFullStmt).ExecContext(ctx, account, string(folder)); err != nil {
				return err
			}
		}
		// The CRM states go in the items' transaction (issue 11).
		if err := chg.apply(ctx, tx, account, nowN); err != nil {
			return err
		}
		if testHookBeforeCursor != nil {
			if err := testHookBeforeCursor(ctx); err != nil {
				return err
			}
		}
		_, err = tx.StmtContext(ctx, s.cursorStmt).ExecContext(ctx, account, string(folder), page.Cursor, nowN)
		return err
	})
	if err != nil {
		return api.Counts{}, err
	}
	return counts, nil
}

// existingItems adds to known the stored state of the items of account's
// folder among the JSON array of ids (n of them).
func existingItems(ctx context.Context, stmt *sql.Stmt, account string, folder api.Folder, idsJSON string, n int, known map[itemKey]*itemState) error {
	if n == 0 {
		return nil
	}
	rows, err := stmt.QueryContext(ctx, account, string(folder), idsJSON)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			st itemState
		)
		if err := rows.Scan(&id, &st.hash, &st.deleted); err != nil {
			return err
		}
		known[itemKey{folder, id}] = &st
	}
	return rows.Err()
}
