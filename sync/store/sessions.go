package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// BeginSession records the start of a session of account and returns it,
// with its ID and outcome "running". It returns an error matching
// ErrNotFound if there is no such account.
func (s *Store) BeginSession(ctx context.Context, account, trigger string, start time.Time) (api.Session, error) {
	sess := api.Session{Account: account, Trigger: trigger, Start: start, Outcome: api.OutcomeRunning}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO sessions(account, trigger_by, start_time, outcome) VALUES (?, ?, ?, ?)",
			account, trigger, encTime(start), api.OutcomeRunning)
		if err != nil {
			return err
		}
		sess.ID, err = res.LastInsertId()
		return err
	})
	if isForeignKey(err) {
		return api.Session{}, accountNotFound(account)
	}
	if err != nil {
		return api.Session{}, err
	}
	return sess, nil
}

// EndSession stores sess's End, Outcome, Counts and Error in the session
// with sess.ID. It may also be called while the session runs (Outcome
// "running") to record its progress so far. It returns an error matching
// ErrNotFound if there is no such session.
func (s *Store) EndSession(ctx context.Context, sess api.Session) error {
	n, err := s.exec(ctx, `UPDATE sessions SET end_time = ?, outcome = ?, added = ?, updated = ?, removed = ?, error = ?
		WHERE id = ?`,
		encTime(sess.End), sess.Outcome, sess.Added, sess.Updated, sess.Removed, sess.Error, sess.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("there is no session %d", sess.ID)
	}
	return nil
}

// Sessions returns sessions, newest (latest Start) first.
func (s *Store) Sessions(ctx context.Context, q api.SessionQuery) ([]api.Session, error) {
	if q.Limit <= 0 {
		q.Limit = api.DefaultSessionLimit
	}
	if q.Account == "" {
		return s.sessions(ctx, "", q.Limit)
	}
	return s.sessions(ctx, "WHERE account = ?", q.Limit, q.Account)
}

// sessions reads the sessions where selects (with its args), newest
// first, at most limit.
func (s *Store) sessions(ctx context.Context, where string, limit int, args ...any) ([]api.Session, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, account, trigger_by, start_time, end_time, outcome, added, updated, removed, error FROM sessions "+
		where+" ORDER BY start_time DESC, id DESC LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Session
	for rows.Next() {
		var (
			sess       api.Session
			start, end sql.NullInt64
		)
		if err := rows.Scan(&sess.ID, &sess.Account, &sess.Trigger, &start, &end, &sess.Outcome,
			&sess.Added, &sess.Updated, &sess.Removed, &sess.Error); err != nil {
			return nil, err
		}
		sess.Start, sess.End = decTime(start), decTime(end)
		out = append(out, sess)
	}
	return out, rows.Err()
}

// LastSession returns the newest session of account (ended or running);
// account "" means any account. ok is false if there is none.
func (s *Store) LastSession(ctx context.Context, account string) (sess api.Session, ok bool, err error) {
	list, err := s.Sessions(ctx, api.SessionQuery{Account: account, Limit: 1})
	if err != nil || len(list) == 0 {
		return api.Session{}, false, err
	}
	return list[0], true, nil
}

// LastSuccessfulSession returns account's newest session that succeeded
// (outcome "ok"); ok is false when none did.
func (s *Store) LastSuccessfulSession(ctx context.Context, account string) (sess api.Session, ok bool, err error) {
	list, err := s.sessions(ctx, "WHERE account = ? AND outcome = ?", 1, account, api.OutcomeOK)
	if err != nil || len(list) == 0 {
		return api.Session{}, false, err
	}
	return list[0], true, nil
}

// Issues returns the newest issues of account ("" means all accounts),
// newest first; limit 0 (or less) means 100.
func (s *Store) Issues(ctx context.Context, account string, limit int) ([]api.Issue, error) {
	if limit <= 0 {
		limit = api.DefaultIssueLimit
	}
	const cols = "SELECT id, account, provider_id, folder, message, time FROM issues"
	var (
		rows *sql.Rows
		err  error
	)
	if account == "" {
		rows, err = s.db.QueryContext(ctx, cols+" ORDER BY id DESC LIMIT ?", limit)
	} else {
		rows, err = s.db.QueryContext(ctx, cols+" WHERE account = ? ORDER BY id DESC LIMIT ?", account, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Issue
	for rows.Next() {
		var (
			is     api.Issue
			folder string
			tm     sql.NullInt64
		)
		if err := rows.Scan(&is.ID, &is.Account, &is.ProviderID, &folder, &is.Message, &tm); err != nil {
			return nil, err
		}
		is.Folder, is.Time = api.Folder(folder), decTime(tm)
		out = append(out, is)
	}
	return out, rows.Err()
}
