package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Incident is one stretch of an account needing its user (api.Incident,
// shared with the organisation's store).
type Incident = api.Incident

// CRMIncidentAccount is the account key of the CRM connection's
// incidents: not a mailbox account (account names cannot hold '@').
const CRMIncidentAccount = api.CRMIncidentAccount

// Notice states.
const (
	NoticePending = api.NoticePending
	NoticeSent    = api.NoticeSent
	// NoticeDropped: not sent because its incident ended first.
	NoticeDropped = api.NoticeDropped
)

// Notice is one email queued for one recipient (api.Notice).
type Notice = api.Notice

// OpenIncident opens an incident for inc.Account with its notices (due at
// once), in one transaction, unless one is open already: then it returns
// that one and opened false, and queues nothing.
func (s *Store) OpenIncident(ctx context.Context, inc Incident, notices []Notice) (Incident, bool, error) {
	opened := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		cur, ok, err := openIncident(ctx, tx, inc.Account)
		if err != nil || ok {
			inc = cur
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO incidents(account, state, reason, opened_at) VALUES (?, ?, ?, ?)`,
			inc.Account, inc.State, inc.Reason, encTime(inc.OpenedAt))
		if err != nil {
			return err
		}
		if inc.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		opened = true
		return insertNotices(ctx, tx, inc, notices)
	})
	return inc, opened, err
}

// OpenIncidentOf returns the account's open incident, if any.
func (s *Store) OpenIncidentOf(ctx context.Context, account string) (Incident, bool, error) {
	return openIncident(ctx, s.db, account)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func openIncident(ctx context.Context, q querier, account string) (Incident, bool, error) {
	var (
		inc    Incident
		opened sql.NullInt64
	)
	err := q.QueryRowContext(ctx, `SELECT id, account, state, reason, opened_at FROM incidents WHERE account = ? AND closed_at IS NULL`, account).
		Scan(&inc.ID, &inc.Account, &inc.State, &inc.Reason, &opened)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, false, nil
	}
	inc.OpenedAt = decTime(opened)
	return inc, err == nil, err
}

// CloseIncident ends an incident at the given time: its notices not yet
// delivered are dropped, and resumed (e.g. "Sync resumed") are queued.
func (s *Store) CloseIncident(ctx context.Context, inc Incident, at time.Time, resumed []Notice) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET closed_at = ? WHERE id = ? AND closed_at IS NULL`, encTime(at), inc.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notices SET state = ?, done_at = ?, next_attempt = NULL WHERE incident = ? AND state = ?`,
			NoticeDropped, encTime(at), inc.ID, NoticePending); err != nil {
			return err
		}
		return insertNotices(ctx, tx, inc, resumed)
	})
}

func insertNotices(ctx context.Context, tx *sql.Tx, inc Incident, notices []Notice) error {
	for _, n := range notices {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notices(incident, account, kind, recipient, subject, body, created_at, next_attempt)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, inc.ID, inc.Account, n.Kind, n.Recipient, n.Subject, n.Body,
			encTime(n.CreatedAt), encTime(n.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

const noticeCols = `SELECT id, incident, account, kind, recipient, subject, body, created_at, state, attempts, next_attempt, last_error, done_at FROM notices`

// DueNotices returns the pending notices whose next attempt is at or
// before now, oldest first.
func (s *Store) DueNotices(ctx context.Context, now time.Time) ([]Notice, error) {
	return s.notices(ctx, noticeCols+` WHERE state = 'pending' AND next_attempt <= ? ORDER BY next_attempt, id`, encTime(now))
}

// Notices returns the newest notices of account ("" for all), newest
// first, at most limit (0: 100).
func (s *Store) Notices(ctx context.Context, account string, limit int) ([]Notice, error) {
	if limit <= 0 {
		limit = 100
	}
	if account == "" {
		return s.notices(ctx, noticeCols+` ORDER BY id DESC LIMIT ?`, limit)
	}
	return s.notices(ctx, noticeCols+` WHERE account = ? ORDER BY id DESC LIMIT ?`, account, limit)
}

// NextNoticeAttempt returns when the earliest pending notice is due; ok is
// false when none is pending.
func (s *Store) NextNoticeAttempt(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT min(next_attempt) FROM notices WHERE state = 'pending'`).Scan(&next)
	return decTime(next), err == nil && next.Valid, err
}

func (s *Store) notices(ctx context.Context, query string, args ...any) ([]Notice, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		var (
			n                     Notice
			created, next, doneAt sql.NullInt64
		)
		if err := rows.Scan(&n.ID, &n.Incident, &n.Account, &n.Kind, &n.Recipient, &n.Subject, &n.Body, &created,
			&n.State, &n.Attempts, &next, &n.LastError, &doneAt); err != nil {
			return nil, err
		}
		n.CreatedAt, n.NextAttempt, n.DoneAt = decTime(created), decTime(next), decTime(doneAt)
		out = append(out, n)
	}
	return out, rows.Err()
}

// NoticeDelivered marks a notice sent at the given time.
func (s *Store) NoticeDelivered(ctx context.Context, id int64, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE notices SET state = ?, attempts = attempts + 1, done_at = ?, next_attempt = NULL, last_error = '' WHERE id = ? AND state = ?`,
		NoticeSent, encTime(at), id, NoticePending)
	return err
}

// NoticeFailed records a failed attempt to send a pending notice, the
// error in words, and when to try again. It also adds an issue to the
// notice's account (the dashboard's Issues tab) saying so.
func (s *Store) NoticeFailed(ctx context.Context, n Notice, at, next time.Time, problem, issue string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notices SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ? AND state = ?`,
			encTime(next), problem, n.ID, NoticePending)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return err
		}
		// The folder column names where the problem is: an email notice.
		// A CRM incident's problem goes to the first mailbox account's
		// list (issues belong to an account).
		_, err = tx.ExecContext(ctx, `INSERT INTO issues(account, provider_id, folder, message, time)
			SELECT id, '', 'email notice', ?, ? FROM accounts
			WHERE removing = 0 AND (id = ? OR (? = ? AND id = (SELECT min(id) FROM accounts WHERE removing = 0)))`,
			issue, encTime(at), n.Account, n.Account, CRMIncidentAccount)
		return err
	})
}

// LastOKSession returns the newest session of account that ended "ok".
func (s *Store) LastOKSession(ctx context.Context, account string) (api.Session, bool, error) {
	var (
		sess       api.Session
		start, end sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `SELECT id, account, trigger_by, start_time, end_time, outcome, added, updated, removed, error
		FROM sessions WHERE account = ? AND outcome = 'ok' ORDER BY start_time DESC, id DESC LIMIT 1`, account).
		Scan(&sess.ID, &sess.Account, &sess.Trigger, &start, &end, &sess.Outcome, &sess.Added, &sess.Updated, &sess.Removed, &sess.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Session{}, false, nil
	}
	sess.Start, sess.End = decTime(start), decTime(end)
	return sess, err == nil, err
}
