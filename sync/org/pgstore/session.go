package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// account returns the account ID of a mailbox address.
func account(address string) string { return strings.ToLower(strings.TrimSpace(address)) }

// BeginSession records the start of a session of the mailbox account
// (outcome running) and returns it with its ID. It fails with
// ErrUnknownMailbox for a mailbox the store does not hold.
func (s *Store) BeginSession(ctx context.Context, acct, trigger string, start time.Time) (api.Session, error) {
	acct = account(acct)
	sess := api.Session{Account: acct, Trigger: trigger, Start: start, Outcome: api.OutcomeRunning}
	err := s.pool.QueryRow(ctx, `INSERT INTO sessions (mailbox_id, trigger_by, start_time, outcome)
		SELECT id, $2, $3, $4 FROM mailboxes WHERE address = $1 RETURNING id`,
		acct, trigger, ts(start), api.OutcomeRunning).Scan(&sess.ID)
	if errors.Is(err, pgx.ErrNoRows) || isCode(err, codeForeignKey) {
		return api.Session{}, unknownMailbox(acct)
	}
	if err != nil {
		return api.Session{}, fmt.Errorf("recording the start of a session of %s: %w", acct, err)
	}
	return sess, nil
}

// EndSession stores sess's End, Outcome, Counts and Error in the session
// sess.ID, in one write (also while it runs, to record its progress). It
// fails for an unknown session.
func (s *Store) EndSession(ctx context.Context, sess api.Session) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET end_time = $2, outcome = $3, added = $4, updated = $5, removed = $6, error = $7
		WHERE id = $1`, sess.ID, ts(sess.End), sess.Outcome, sess.Added, sess.Updated, sess.Removed, sess.Error)
	if err != nil {
		return fmt.Errorf("recording the end of session %d: %w", sess.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("there is no session %d (its mailbox may have been removed)", sess.ID)
	}
	return nil
}

// InterruptSessions marks interrupted the sessions of the mailbox account
// still recorded running that began before before (their worker died),
// and returns how many it marked. A host calls it when it takes a
// mailbox's lock, before its own session begins.
func (s *Store) InterruptSessions(ctx context.Context, acct string, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET outcome = $3
		WHERE mailbox_id = (SELECT id FROM mailboxes WHERE address = $1) AND outcome = $4 AND start_time < $2`,
		account(acct), ts(before), api.OutcomeInterrupted, api.OutcomeRunning)
	if err != nil {
		return 0, fmt.Errorf("marking the interrupted sessions of %s: %w", account(acct), err)
	}
	return int(tag.RowsAffected()), nil
}

// Sessions returns sessions (of q.Account, or of all mailboxes), newest
// (latest start) first; at most q.Limit, 50 if 0.
func (s *Store) Sessions(ctx context.Context, q api.SessionQuery) ([]api.Session, error) {
	if q.Limit <= 0 {
		q.Limit = api.DefaultSessionLimit
	}
	const cols = `SELECT s.id, m.address, s.trigger_by, s.start_time, s.end_time, s.outcome, s.added, s.updated, s.removed, s.error
		FROM sessions s JOIN mailboxes m ON m.id = s.mailbox_id `
	var (
		rows pgx.Rows
		err  error
	)
	if q.Account == "" {
		rows, err = s.pool.Query(ctx, cols+"ORDER BY s.start_time DESC, s.id DESC LIMIT $1", q.Limit)
	} else {
		rows, err = s.pool.Query(ctx, cols+"WHERE m.address = $1 ORDER BY s.start_time DESC, s.id DESC LIMIT $2", account(q.Account), q.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("reading sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (api.Session, error) {
		var (
			sess       api.Session
			start, end pgtype.Timestamptz
		)
		err := r.Scan(&sess.ID, &sess.Account, &sess.Trigger, &start, &end, &sess.Outcome, &sess.Added, &sess.Updated, &sess.Removed, &sess.Error)
		sess.Start, sess.End = tm(start), tm(end)
		return sess, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading sessions: %w", err)
	}
	return out, nil
}

// Issues returns the newest issues of the mailbox account ("" means all),
// newest first; limit 0 (or less) means 100.
func (s *Store) Issues(ctx context.Context, acct string, limit int) ([]api.Issue, error) {
	if limit <= 0 {
		limit = api.DefaultIssueLimit
	}
	const cols = `SELECT i.id, m.address, i.provider_id, i.folder, i.message, i.time
		FROM issues i JOIN mailboxes m ON m.id = i.mailbox_id `
	var (
		rows pgx.Rows
		err  error
	)
	if acct == "" {
		rows, err = s.pool.Query(ctx, cols+"ORDER BY i.id DESC LIMIT $1", limit)
	} else {
		rows, err = s.pool.Query(ctx, cols+"WHERE m.address = $1 ORDER BY i.id DESC LIMIT $2", account(acct), limit)
	}
	if err != nil {
		return nil, fmt.Errorf("reading issues: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (api.Issue, error) {
		var (
			is     api.Issue
			folder string
			t      pgtype.Timestamptz
		)
		err := r.Scan(&is.ID, &is.Account, &is.ProviderID, &folder, &is.Message, &t)
		is.Folder, is.Time = api.Folder(folder), tm(t)
		return is, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading issues: %w", err)
	}
	return out, nil
}

// Cursor returns the cursor stored with the last page of the mailbox's
// folder, or "" if there is none.
func (s *Store) Cursor(ctx context.Context, acct string, folder api.Folder) (string, error) {
	var c string
	err := s.pool.QueryRow(ctx, `SELECT c.cursor FROM cursors c JOIN mailboxes m ON m.id = c.mailbox_id
		WHERE m.address = $1 AND c.folder = $2`, account(acct), string(folder)).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the cursor of %s/%s: %w", account(acct), folder, err)
	}
	return c, nil
}

// BeginFullSync records, in one transaction, that a full listing of the
// mailbox's folder within w begins: it forgets the folder's cursor and
// starts a new generation of the folder's full sync (see session.Store).
// It is one statement (its parts commit together). It fails with
// ErrUnknownMailbox for a mailbox the store does not hold.
func (s *Store) BeginFullSync(ctx context.Context, acct string, folder api.Folder, w provider.Window, now time.Time) error {
	acct = account(acct)
	var id int64
	err := s.pool.QueryRow(ctx, `WITH m AS (SELECT id FROM mailboxes WHERE address = $1),
		forget AS (DELETE FROM cursors c USING m WHERE c.mailbox_id = m.id AND c.folder = $2)
		INSERT INTO full_syncs (mailbox_id, folder, gen, active, window_from, window_to, started_at)
		SELECT m.id, $2, 1, true, $3, $4, $5 FROM m
		ON CONFLICT (mailbox_id, folder) DO UPDATE SET gen = full_syncs.gen + 1, active = true,
			window_from = excluded.window_from, window_to = excluded.window_to, started_at = excluded.started_at
		RETURNING mailbox_id`, acct, string(folder), ts(w.From), ts(w.To), ts(now)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) || isCode(err, codeForeignKey) {
		return unknownMailbox(acct)
	}
	if err != nil {
		return fmt.Errorf("beginning a full sync of %s/%s: %w", acct, folder, err)
	}
	return nil
}

// ContinueFullSync reports whether a full sync of the mailbox's folder has
// begun and not completed, and if so narrows its window to the part inside
// w. It writes nothing when no full sync runs. It is one statement: a
// bound of NULL is open, and greatest() and least() ignore NULLs, so
// they intersect the windows as the store contract asks.
func (s *Store) ContinueFullSync(ctx context.Context, acct string, folder api.Folder, w provider.Window) (bool, error) {
	acct = account(acct)
	tag, err := s.pool.Exec(ctx, `UPDATE full_syncs f SET window_from = greatest(f.window_from, $3), window_to = least(f.window_to, $4)
		FROM mailboxes m WHERE m.id = f.mailbox_id AND m.address = $1 AND f.folder = $2 AND f.active`,
		acct, string(folder), ts(w.From), ts(w.To))
	if err != nil {
		return false, fmt.Errorf("continuing the full sync of %s/%s: %w", acct, folder, err)
	}
	return tag.RowsAffected() > 0, nil
}
