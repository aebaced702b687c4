package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/inboxsync/inboxsync/sync/api"
)

// The email notices' queue (sync/emailnotice.Queue) for many workers: an
// account (a mailbox address, or api.OrgIncidentAccount(provider)) has at
// most one open incident, enforced by a unique index, and DueNotices hands
// each due notice to one worker at a time (FOR UPDATE SKIP LOCKED, then a
// lease), so that two workers never send the same email.

// Claiming due notices.
const (
	// NoticeLease is how long a notice DueNotices handed out is kept from
	// the other workers: a worker that dies before saying how the send
	// went leaves it to be tried again after that.
	NoticeLease = 30 * time.Minute
	// noticeBatch bounds the notices one DueNotices hands out (each send
	// may take up to a minute: a batch ends well within its lease).
	noticeBatch = 10
)

// OpenIncident opens an incident for inc.Account with its notices (due at
// once), in one transaction, unless one is open already: then it returns
// that one and opened false, and queues nothing. Two workers opening the
// same account's incident at once open it once.
func (s *Store) OpenIncident(ctx context.Context, inc api.Incident, notices []api.Notice) (api.Incident, bool, error) {
	opened := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO incidents (account, state, reason, opened_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account) WHERE closed_at IS NULL DO NOTHING RETURNING id`,
			inc.Account, inc.State, inc.Reason, ts(inc.OpenedAt)).Scan(&inc.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			cur, ok, err := openIncident(ctx, tx, inc.Account)
			if err == nil && !ok {
				err = fmt.Errorf("the incident of %s was closed while it was opened", inc.Account)
			}
			inc = cur
			return err
		}
		if err != nil {
			return err
		}
		opened = true
		inc.ClosedAt = time.Time{}
		return insertNotices(ctx, tx, inc, notices)
	})
	if err != nil {
		return api.Incident{}, false, fmt.Errorf("opening the incident of %s: %w", inc.Account, err)
	}
	return inc, opened, nil
}

// OpenIncidentOf returns the account's open incident, if any.
func (s *Store) OpenIncidentOf(ctx context.Context, account string) (api.Incident, bool, error) {
	inc, ok, err := openIncident(ctx, s.pool, account)
	if err != nil {
		return api.Incident{}, false, fmt.Errorf("reading the incident of %s: %w", account, err)
	}
	return inc, ok, nil
}

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func openIncident(ctx context.Context, q rowQuerier, account string) (api.Incident, bool, error) {
	var (
		inc    api.Incident
		opened pgtype.Timestamptz
	)
	err := q.QueryRow(ctx, `SELECT id, account, state, reason, opened_at FROM incidents WHERE account = $1 AND closed_at IS NULL`, account).
		Scan(&inc.ID, &inc.Account, &inc.State, &inc.Reason, &opened)
	if errors.Is(err, pgx.ErrNoRows) {
		return api.Incident{}, false, nil
	}
	inc.OpenedAt = tm(opened)
	return inc, err == nil, err
}

// OpenIncidentAccounts returns the accounts with an open incident, sorted.
func (s *Store) OpenIncidentAccounts(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT account FROM incidents WHERE closed_at IS NULL ORDER BY account`)
	if err != nil {
		return nil, fmt.Errorf("reading the open incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reading the open incidents: %w", err)
	}
	return out, nil
}

// CloseIncident ends an incident at the given time: its notices not yet
// delivered are dropped, and resumed (e.g. "Sync resumed") are queued,
// once: when another worker closed it first, nothing is queued.
func (s *Store) CloseIncident(ctx context.Context, inc api.Incident, at time.Time, resumed []api.Notice) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE incidents SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL`, inc.ID, ts(at))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE notices SET state = $3, done_at = $2, next_attempt = NULL WHERE incident = $1 AND state = $4`,
			inc.ID, ts(at), api.NoticeDropped, api.NoticePending); err != nil {
			return err
		}
		return insertNotices(ctx, tx, inc, resumed)
	})
	if err != nil {
		return fmt.Errorf("closing the incident of %s: %w", inc.Account, err)
	}
	return nil
}

func insertNotices(ctx context.Context, tx pgx.Tx, inc api.Incident, notices []api.Notice) error {
	for _, n := range notices {
		if _, err := tx.Exec(ctx, `INSERT INTO notices (incident, account, kind, recipient, subject, body, created_at, next_attempt)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, inc.ID, inc.Account, n.Kind, n.Recipient, n.Subject, n.Body, ts(n.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

const noticeCols = `n.id, n.incident, n.account, n.kind, n.recipient, n.subject, n.body, n.created_at, n.state, n.attempts, n.next_attempt, n.last_error, n.done_at`

func scanNotice(r pgx.CollectableRow) (api.Notice, error) {
	var (
		n                     api.Notice
		created, next, doneAt pgtype.Timestamptz
	)
	err := r.Scan(&n.ID, &n.Incident, &n.Account, &n.Kind, &n.Recipient, &n.Subject, &n.Body, &created,
		&n.State, &n.Attempts, &next, &n.LastError, &doneAt)
	n.CreatedAt, n.NextAttempt, n.DoneAt = tm(created), tm(next), tm(doneAt)
	return n, err
}

// DueNotices takes the pending notices whose next attempt is at or before
// now, oldest first, at most 10: each is kept from the other workers for
// NoticeLease (its next attempt moves to now + NoticeLease until
// NoticeDelivered or NoticeFailed says how it went). Rows another worker
// is taking at the same moment are skipped, not waited for.
func (s *Store) DueNotices(ctx context.Context, now time.Time) ([]api.Notice, error) {
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id, next_attempt FROM notices WHERE state = 'pending' AND next_attempt <= $1
			ORDER BY next_attempt, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE notices n SET next_attempt = $2 FROM due WHERE n.id = due.id
		RETURNING `+noticeCols+`, due.next_attempt`, ts(now), ts(now.Add(NoticeLease)), noticeBatch)
	if err != nil {
		return nil, fmt.Errorf("taking the due email notices: %w", err)
	}
	type claimed struct {
		n   api.Notice
		due time.Time
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		var (
			c                          claimed
			created, next, doneAt, due pgtype.Timestamptz
		)
		err := r.Scan(&c.n.ID, &c.n.Incident, &c.n.Account, &c.n.Kind, &c.n.Recipient, &c.n.Subject, &c.n.Body, &created,
			&c.n.State, &c.n.Attempts, &next, &c.n.LastError, &doneAt, &due)
		c.n.CreatedAt, c.n.NextAttempt, c.n.DoneAt, c.due = tm(created), tm(next), tm(doneAt), tm(due)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("taking the due email notices: %w", err)
	}
	slices.SortFunc(got, func(a, b claimed) int {
		if c := a.due.Compare(b.due); c != 0 {
			return c
		}
		return int(a.n.ID - b.n.ID)
	})
	out := make([]api.Notice, len(got))
	for i, c := range got {
		out[i] = c.n
	}
	return out, nil
}

// Notices returns the newest notices of account ("" for all), newest
// first, at most limit (0: 100).
func (s *Store) Notices(ctx context.Context, account string, limit int) ([]api.Notice, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT `+noticeCols+` FROM notices n WHERE $1 = '' OR n.account = $1 ORDER BY n.id DESC LIMIT $2`, account, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the email notices: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanNotice)
	if err != nil {
		return nil, fmt.Errorf("reading the email notices: %w", err)
	}
	return out, nil
}

// NoticeDelivered marks a pending notice sent at the given time.
func (s *Store) NoticeDelivered(ctx context.Context, id int64, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE notices SET state = $3, attempts = attempts + 1, done_at = $2, next_attempt = NULL, last_error = ''
		WHERE id = $1 AND state = $4`, id, ts(at), api.NoticeSent, api.NoticePending)
	if err != nil {
		return fmt.Errorf("recording the delivery of email notice %d: %w", id, err)
	}
	return nil
}

// NoticeFailed records a failed attempt to send a pending notice, the
// error in words, and when to try again. A mailbox's notice also adds
// issue to the mailbox's issues; an organisation incident's has no
// mailbox to add it to.
func (s *Store) NoticeFailed(ctx context.Context, n api.Notice, at, next time.Time, problem, issue string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE notices SET attempts = attempts + 1, next_attempt = $2, last_error = $3 WHERE id = $1 AND state = $4`,
			n.ID, ts(next), problem, api.NoticePending)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO issues (mailbox_id, provider_id, folder, message, time)
			SELECT id, '', 'email notice', $2, $3 FROM mailboxes WHERE address = $1`, n.Account, issue, ts(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("recording a failed email notice to %s: %w", n.Recipient, err)
	}
	return nil
}

// LastOKSession returns the newest session of account that ended ok. For
// api.OrgIncidentAccount(provider) it is the newest of all that
// provider's mailboxes: the organisation's credentials worked then.
func (s *Store) LastOKSession(ctx context.Context, acct string) (api.Session, bool, error) {
	where, arg := "m.address = $1", account(acct)
	if p, ok := strings.CutPrefix(acct, api.OrgIncidentPrefix); ok {
		where, arg = "m.provider = $1", p
	}
	var (
		sess       api.Session
		start, end pgtype.Timestamptz
	)
	err := s.pool.QueryRow(ctx, `SELECT s.id, m.address, s.trigger_by, s.start_time, s.end_time, s.outcome, s.added, s.updated, s.removed, s.error
		FROM sessions s JOIN mailboxes m ON m.id = s.mailbox_id WHERE `+where+` AND s.outcome = $2
		ORDER BY s.start_time DESC, s.id DESC LIMIT 1`, arg, api.OutcomeOK).
		Scan(&sess.ID, &sess.Account, &sess.Trigger, &start, &end, &sess.Outcome, &sess.Added, &sess.Updated, &sess.Removed, &sess.Error)
	if errors.Is(err, pgx.ErrNoRows) {
		return api.Session{}, false, nil
	}
	if err != nil {
		return api.Session{}, false, fmt.Errorf("reading the last successful sync of %s: %w", acct, err)
	}
	sess.Start, sess.End = tm(start), tm(end)
	return sess, true, nil
}
