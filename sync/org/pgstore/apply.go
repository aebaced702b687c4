package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// contentHash is the hash of everything the store keeps of an item of
// folder, the desktop store's (api.ContentHash) with times as stored here:
// microseconds.
func contentHash(it *api.Item, folder api.Folder) int64 {
	return api.ContentHash(it, folder, func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.Truncate(time.Microsecond).UnixMicro()
	})
}

// joinAddrs joins a list of addresses for an array parameter; "\n" cannot
// be part of an address. The SQL splits it again (lines()).
func joinAddrs(a []string) string { return strings.Join(a, "\n") }

// itemRows are items as columns, the parameters of one statement over
// unnest().
type itemRows struct {
	folder, pid, kind, mid, cid, subject, from, to, cc []string
	time, start, end                                   []pgtype.Timestamptz
	preview, location, organizer, attendees            []string
	sensitivity, categories                            []string
	hash                                               []int64
	deleted                                            []bool
	gen                                                []int64
}

// grow makes room for n more rows.
func (r *itemRows) grow(n int) {
	for _, col := range []*[]string{&r.folder, &r.pid, &r.kind, &r.mid, &r.cid, &r.subject, &r.from, &r.to, &r.cc,
		&r.preview, &r.location, &r.organizer, &r.attendees, &r.sensitivity, &r.categories} {
		*col = slices.Grow(*col, n)
	}
	r.time, r.start, r.end = slices.Grow(r.time, n), slices.Grow(r.start, n), slices.Grow(r.end, n)
	r.hash, r.deleted, r.gen = slices.Grow(r.hash, n), slices.Grow(r.deleted, n), slices.Grow(r.gen, n)
}

func (r *itemRows) add(it *api.Item, folder api.Folder, hash int64, deleted bool, gen int64) {
	r.folder = append(r.folder, string(folder))
	r.pid = append(r.pid, it.ProviderID)
	r.kind = append(r.kind, string(it.Kind))
	r.mid = append(r.mid, it.MessageID)
	r.cid = append(r.cid, it.ConversationID)
	r.subject = append(r.subject, it.Subject)
	r.from = append(r.from, it.From)
	r.to = append(r.to, joinAddrs(it.To))
	r.cc = append(r.cc, joinAddrs(it.Cc))
	r.time = append(r.time, ts(it.Time))
	r.preview = append(r.preview, it.Preview)
	r.start = append(r.start, ts(it.Start))
	r.end = append(r.end, ts(it.End))
	r.location = append(r.location, it.Location)
	r.organizer = append(r.organizer, it.Organizer)
	r.attendees = append(r.attendees, joinAddrs(it.Attendees))
	r.sensitivity = append(r.sensitivity, it.Sensitivity)
	r.categories = append(r.categories, joinAddrs(it.Categories))
	r.hash = append(r.hash, hash)
	r.deleted = append(r.deleted, deleted)
	r.gen = append(r.gen, gen)
}

// args returns the rows' columns after the mailbox id and now ($1, $2).
func (r *itemRows) args(mailbox int64, now time.Time) []any {
	return []any{mailbox, ts(now), r.folder, r.pid, r.kind, r.mid, r.cid, r.subject, r.from, r.to, r.cc, r.time,
		r.preview, r.start, r.end, r.location, r.organizer, r.attendees, r.hash, r.deleted, r.gen,
		r.sensitivity, r.categories}
}

// unnestItems is the FROM clause over itemRows.args.
const unnestItems = `unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
	$10::text[], $11::text[], $12::timestamptz[], $13::text[], $14::timestamptz[], $15::timestamptz[], $16::text[],
	$17::text[], $18::text[], $19::int8[], $20::bool[], $21::int8[], $22::text[], $23::text[])
	AS u(folder, pid, kind, mid, cid, subject, from_addr, to_addrs, cc_addrs, time, preview, start_time, end_time,
	location, organizer, attendees, hash, deleted, gen, sensitivity, categories)`

// lines turns a "\n"-joined list back into an array.
func lines(col string) string {
	return "coalesce(string_to_array(nullif(" + col + ", ''), E'\\n'), '{}')"
}

// The statements of ApplyPage.
var (
	insertItemsSQL = `INSERT INTO items (mailbox_id, folder, provider_id, kind, message_id, conversation_id, subject,
		from_addr, to_addrs, cc_addrs, time, preview, start_time, end_time, location, organizer, attendees,
		sensitivity, categories, hash, deleted, full_sync_gen, first_seen, updated_at)
		SELECT $1, u.folder, u.pid, u.kind, u.mid, u.cid, u.subject, u.from_addr, ` + lines("u.to_addrs") + `, ` +
		lines("u.cc_addrs") + `, u.time, u.preview, u.start_time, u.end_time, u.location, u.organizer, ` +
		lines("u.attendees") + `, u.sensitivity, ` + lines("u.categories") + `, u.hash, u.deleted, u.gen, $2, $2
		FROM ` + unnestItems
	// The folder is part of an item's key, so it is never updated.
	// Generations only grow: greatest() stamps the running full sync's and
	// keeps the stored one when 0 (no full sync) is passed.
	updateItemsSQL = `UPDATE items i SET kind = u.kind, message_id = u.mid, conversation_id = u.cid,
		subject = u.subject, from_addr = u.from_addr, to_addrs = ` + lines("u.to_addrs") + `, cc_addrs = ` +
		lines("u.cc_addrs") + `, time = u.time, preview = u.preview, start_time = u.start_time,
		end_time = u.end_time, location = u.location, organizer = u.organizer, attendees = ` + lines("u.attendees") + `,
		sensitivity = u.sensitivity, categories = ` + lines("u.categories") + `, hash = u.hash, rev = i.rev + 1, deleted = u.deleted, updated_at = $2,
		full_sync_gen = greatest(i.full_sync_gen, u.gen)
		FROM ` + unnestItems + `
		WHERE i.mailbox_id = $1 AND i.folder = u.folder AND i.provider_id = u.pid`
	markDeletedSQL = `UPDATE items i SET deleted = true, updated_at = $2
		FROM unnest($3::text[], $4::text[]) AS u(folder, pid)
		WHERE i.mailbox_id = $1 AND i.folder = u.folder AND i.provider_id = u.pid`
	existingSQL = `SELECT i.folder, i.provider_id, i.hash, i.deleted
		FROM unnest($2::text[], $3::text[]) AS k(folder, pid)
		JOIN items i ON i.folder = k.folder AND i.provider_id = k.pid
		WHERE i.mailbox_id = (SELECT id FROM mailboxes WHERE address = $1)`
	fullSyncSQL = `SELECT f.gen, f.window_from, f.window_to FROM full_syncs f JOIN mailboxes m ON m.id = f.mailbox_id
		WHERE m.address = $1 AND f.folder = $2 AND f.active`
	issuesSQL = `INSERT INTO issues (mailbox_id, provider_id, folder, message, time)
		SELECT $1, u.pid, u.folder, u.msg, $2
		FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u(pid, folder, msg, n) ORDER BY u.n`
	// stampSQL records that the running full sync ($4) listed the stored
	// items among $3 unchanged.
	stampSQL = `UPDATE items SET full_sync_gen = $4
		WHERE mailbox_id = $1 AND folder = $2 AND provider_id = ANY($3::text[]) AND full_sync_gen <> $4`
	// sweepSQL marks deleted the items of a folder inside the window ($5,
	// $6; NULL is open) that the full sync $4 did not list. Items without a
	// time are never inside a window.
	// It takes them off the mailbox's count of live items and returns how
	// many it marked.
	sweepSQL = `WITH swept AS (UPDATE items SET deleted = true, updated_at = $2
		WHERE mailbox_id = $1 AND folder = $3 AND NOT deleted AND full_sync_gen <> $4
		AND time IS NOT NULL AND ($5::timestamptz IS NULL OR time >= $5) AND ($6::timestamptz IS NULL OR time < $6)
		RETURNING 1), n AS (SELECT count(*) AS n FROM swept)
		UPDATE mailboxes SET live_items = live_items - n.n FROM n WHERE id = $1 RETURNING n.n`
	// liveSQL adds $2 to the mailbox's count of live items.
	liveSQL        = `UPDATE mailboxes SET live_items = live_items + $2 WHERE id = $1`
	endFullSyncSQL = `UPDATE full_syncs SET active = false WHERE mailbox_id = $1 AND folder = $2`
	// emptyPageSQL stores the cursor of a page without changes or issues
	// in one statement, unless the folder's full sync runs (its last page
	// sweeps): then, or for an unknown mailbox, it stores nothing.
	emptyPageSQL = `INSERT INTO cursors (mailbox_id, folder, cursor, updated_at)
		SELECT m.id, $2, $3, $4 FROM mailboxes m
		WHERE m.address = $1 AND NOT EXISTS (SELECT 1 FROM full_syncs f WHERE f.mailbox_id = m.id AND f.folder = $2 AND f.active)
		ON CONFLICT (mailbox_id, folder) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`
	cursorSQL = `INSERT INTO cursors (mailbox_id, folder, cursor, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (mailbox_id, folder) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`
)

// itemKey identifies an item of a mailbox.
type itemKey struct {
	folder api.Folder
	id     string
}

// itemState is what ApplyPage knows of an item the page touches.
type itemState struct {
	stored      bool // the row existed before the page
	wasDeleted  bool // its deleted flag before the page
	hash        int64
	deleted     bool
	content     *api.Item // the content to write; nil: none
	contentSeen bool      // content must be written (insert or update)
}

// ApplyPage stores page, a page of changes of the mailbox acct's folder,
// its item issues and page.Cursor, all in one transaction, and returns what
// it changed (see session.Store). The transaction is two round trips: it
// begins and reads what the store holds of the page's items in the first,
// works out the changes in order, and writes them in the second: one
// statement each for the new items, the changed ones, the deletions and
// the issues (over unnest), then the full sync's stamps and sweep, the
// cursor last, and the commit.
//
// It fails with ErrUnknownMailbox for a mailbox the store does not hold,
// and for an empty cursor or a change without a provider id; on any error
// nothing of the page is stored.
func (s *Store) ApplyPage(ctx context.Context, acct string, folder api.Folder, page provider.Page, now time.Time) (api.Counts, error) {
	acct = account(acct)
	if page.Cursor == "" {
		return api.Counts{}, fmt.Errorf("the page of %s/%s has no cursor", acct, folder)
	}
	n := len(page.Changes)
	folders, pids := make([]string, n), make([]string, n)
	for i := range page.Changes {
		it := &page.Changes[i].Item
		if it.ProviderID == "" {
			return api.Counts{}, fmt.Errorf("change %d of the page of %s/%s has no provider id", i, acct, folder)
		}
		f := it.Folder
		if f == "" {
			f = folder
		}
		folders[i], pids[i] = string(f), it.ProviderID
	}
	if n == 0 && len(page.Issues) == 0 && s.beforeCursor == nil {
		// Nothing changed (most pages of a no-change cycle): the cursor
		// alone, one statement instead of a transaction of five. An
		// unknown mailbox or a running full sync takes the long way.
		tag, err := s.pool.Exec(ctx, emptyPageSQL, acct, string(folder), page.Cursor, ts(now))
		if err == nil && tag.RowsAffected() == 1 {
			return api.Counts{}, nil
		}
	}
	var counts api.Counts
	err := s.pipelinedTx(ctx, func(tx *pgxpool.Conn) error {
		counts = api.Counts{}
		// Round trip 1: BEGIN, the mailbox, its folder's full sync, the
		// stored state of the page's items.
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		// The mailbox's row is locked for the page: items have no
		// foreign key (schema 8), so this is what keeps the mailbox from
		// being removed under the page.
		b.Queue("SELECT id FROM mailboxes WHERE address = $1 FOR KEY SHARE", acct)
		b.Queue(fullSyncSQL, acct, string(folder))
		if n > 0 {
			b.Queue(existingSQL, acct, folders, pids)
		}
		br := tx.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
		var mailbox int64
		if err := br.QueryRow().Scan(&mailbox); err != nil {
			br.Close()
			if errors.Is(err, pgx.ErrNoRows) {
				return unknownMailbox(acct)
			}
			return err
		}
		var (
			full     bool
			gen      int64
			from, to pgtype.Timestamptz
		)
		switch err := br.QueryRow().Scan(&gen, &from, &to); {
		case err == nil:
			full = true
		case !errors.Is(err, pgx.ErrNoRows):
			br.Close()
			return err
		}
		known := make(map[itemKey]*itemState, n)
		if n > 0 {
			rows, err := br.Query()
			if err != nil {
				br.Close()
				return err
			}
			for rows.Next() {
				var (
					f, id string
					st    = itemState{stored: true}
				)
				if err := rows.Scan(&f, &id, &st.hash, &st.deleted); err != nil {
					rows.Close()
					br.Close()
					return err
				}
				st.wasDeleted = st.deleted
				known[itemKey{api.Folder(f), id}] = &st
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				br.Close()
				return err
			}
		}
		if err := br.Close(); err != nil {
			return err
		}

		// The changes, in order, on what is known.
		var stamp int64
		if full {
			stamp = gen
		}
		var listed []string
		order := make([]itemKey, 0, n)
		for i := range page.Changes {
			ch := &page.Changes[i]
			key := itemKey{api.Folder(folders[i]), pids[i]}
			st := known[key]
			if ch.Deleted {
				if st == nil || st.deleted {
					continue
				}
				st.deleted = true
				counts.Removed++
				continue
			}
			hash := contentHash(&ch.Item, key.folder)
			switch {
			case st == nil:
				st = &itemState{}
				known[key] = st
				order = append(order, key)
				counts.Added++
				st.hash, st.deleted, st.content, st.contentSeen = hash, false, &ch.Item, true
			case st.hash != hash || st.deleted:
				if st.stored && !st.contentSeen {
					order = append(order, key)
				}
				counts.Updated++
				st.hash, st.deleted, st.content, st.contentSeen = hash, false, &ch.Item, true
			}
			if full && key.folder == folder {
				listed = append(listed, key.id)
			}
		}
		// The items the page writes carry the generation already: only
		// the unchanged ones need its stamp.
		listed = slices.DeleteFunc(listed, func(id string) bool { return known[itemKey{folder, id}].contentSeen })
		// Round trip 2: the writes, the cursor last.
		var ins, upd itemRows
		var delFolders, delIDs []string
		live := 0 // the change of the mailbox's live items
		stored := 0
		for _, key := range order {
			if known[key].stored {
				stored++
			}
		}
		ins.grow(len(order) - stored)
		upd.grow(stored)
		for _, key := range order {
			st := known[key]
			var g int64
			if key.folder == folder {
				g = stamp
			}
			if st.stored {
				upd.add(st.content, key.folder, st.hash, st.deleted, g)
			} else {
				ins.add(st.content, key.folder, st.hash, st.deleted, g)
			}
		}
		for key, st := range known {
			switch {
			case st.stored && !st.contentSeen && st.deleted && !st.wasDeleted:
				delFolders, delIDs = append(delFolders, string(key.folder)), append(delIDs, key.id)
			}
			switch {
			case !st.stored && st.contentSeen && !st.deleted, st.stored && st.wasDeleted && !st.deleted:
				live++
			case st.stored && !st.wasDeleted && st.deleted:
				live--
			}
		}
		b = &pgx.Batch{}
		if len(ins.pid) > 0 {
			b.Queue(insertItemsSQL, ins.args(mailbox, now)...)
		}
		if len(upd.pid) > 0 {
			b.Queue(updateItemsSQL, upd.args(mailbox, now)...)
		}
		if len(delIDs) > 0 {
			b.Queue(markDeletedSQL, mailbox, ts(now), delFolders, delIDs)
		}
		if len(page.Issues) > 0 {
			var ipid, ifolder, imsg []string
			for _, is := range page.Issues {
				f := is.Folder
				if f == "" {
					f = folder
				}
				ipid, ifolder, imsg = append(ipid, is.ProviderID), append(ifolder, string(f)), append(imsg, is.Message)
				// An item the full sync could not read is still in the
				// folder.
				if full && f == folder && is.ProviderID != "" {
					listed = append(listed, is.ProviderID)
				}
			}
			b.Queue(issuesSQL, mailbox, ts(now), ipid, ifolder, imsg)
		}
		if len(listed) > 0 {
			b.Queue(stampSQL, mailbox, string(folder), listed, stamp)
		}
		if live != 0 {
			b.Queue(liveSQL, mailbox, live)
		}
		sweep := -1
		if full && !page.More {
			sweep = b.Len()
			b.Queue(sweepSQL, mailbox, ts(now), string(folder), gen, from, to)
			b.Queue(endFullSyncSQL, mailbox, string(folder))
		}
		hook := s.beforeCursor
		if hook == nil {
			b.Queue(cursorSQL, mailbox, string(folder), page.Cursor, ts(now))
			b.Queue("COMMIT")
		}
		br = tx.SendBatch(ctx, b)
		for i := range b.Len() {
			if hook == nil && i == b.Len()-1 {
				if err := commitResult(br.Exec()); err != nil {
					br.Close()
					return err
				}
				continue
			}
			if i == sweep {
				var swept int
				if err := br.QueryRow().Scan(&swept); err != nil {
					br.Close()
					return err
				}
				counts.Removed += swept
				continue
			}
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		if err := br.Close(); err != nil {
			return err
		}
		if hook != nil {
			if err := hook(ctx); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, cursorSQL, mailbox, string(folder), page.Cursor, ts(now)); err != nil {
				return err
			}
			return commitResult(tx.Exec(ctx, "COMMIT"))
		}
		return nil
	})
	if errors.Is(err, ErrUnknownMailbox) {
		return api.Counts{}, err
	}
	if isCode(err, codeForeignKey) {
		return api.Counts{}, unknownMailbox(acct)
	}
	if err != nil {
		return api.Counts{}, fmt.Errorf("storing a page of %s/%s: %w", acct, folder, err)
	}
	return counts, nil
}

// pipelinedTx runs f on a connection of the pool. f begins a transaction
// and commits it itself, in the batches of its statements (BEGIN first in
// the first, COMMIT last in the last), so that a transaction costs no
// round trips of its own. When f fails, what it began is rolled back.
func (s *Store) pipelinedTx(ctx context.Context, f func(conn *pgxpool.Conn) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	err = f(conn)
	if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
		// Not idle: a transaction is open, failed or not. A connection
		// that cannot roll back is closed by Release (pgxpool destroys
		// one released inside a transaction).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		conn.Exec(rctx, "ROLLBACK")
	}
	return err
}

// commitResult checks the answer to a COMMIT: PostgreSQL answers the
// COMMIT of a failed transaction with ROLLBACK, and no error.
func commitResult(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.String() != "COMMIT" {
		return errors.New("the transaction was rolled back")
	}
	return err
}
