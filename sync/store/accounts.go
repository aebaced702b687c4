package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

func encSettings(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func decSettings(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]string
	err := json.Unmarshal([]byte(s), &m)
	return m, err
}

// isForeignKey reports whether err is a violated foreign key: a row for an
// account that does not exist.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT &&
		strings.Contains(se.Error(), "FOREIGN KEY")
}

func accountNotFound(id string) error {
	return notFound("there is no account named %q", id)
}

// removingError is AddAccount's error for an ID whose removal is not
// finished.
func removingError(id string) error {
	return newError(ErrExists, nil, fmt.Sprintf("the account named %q is still being removed; add it again once its data is deleted (Inbox Sync finishes that in the background)", id))
}

// AddAccount stores a new account. It returns an error matching ErrExists if
// an account with the same ID exists or is still being removed
// (DeleteAccount).
func (s *Store) AddAccount(ctx context.Context, a api.Account) error {
	if a.ID == "" {
		return errors.New("store: an account needs an ID")
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	settings, err := encSettings(a.Settings)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var removing bool
		err := tx.QueryRowContext(ctx, "SELECT removing FROM accounts WHERE id = ?", a.ID).Scan(&removing)
		if err == nil && removing {
			return removingError(a.ID)
		}
		if err == nil {
			return newError(ErrExists, nil, fmt.Sprintf("an account named %q already exists", a.ID))
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO accounts(id, provider, login, email, settings, disabled, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Provider, a.Login, a.Email, settings, boolInt(a.Disabled), encTime(a.CreatedAt))
		return err
	})
}

// UpdateAccount replaces the stored fields of account a.ID with a's. A zero
// CreatedAt keeps the stored one. It returns an error matching ErrNotFound if
// there is no such account (or it is being removed).
func (s *Store) UpdateAccount(ctx context.Context, a api.Account) error {
	settings, err := encSettings(a.Settings)
	if err != nil {
		return err
	}
	n, err := s.exec(ctx, `UPDATE accounts SET provider = ?, login = ?, email = ?, settings = ?, disabled = ?,
			created_at = coalesce(?, created_at)
		WHERE id = ? AND removing = 0`,
		a.Provider, a.Login, a.Email, settings, boolInt(a.Disabled), encTime(a.CreatedAt), a.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return accountNotFound(a.ID)
	}
	return nil
}

const accountCols = "id, provider, login, email, settings, disabled, created_at"

func scanAccount(sc interface{ Scan(...any) error }) (api.Account, error) {
	var (
		a        api.Account
		settings string
		created  sql.NullInt64
	)
	if err := sc.Scan(&a.ID, &a.Provider, &a.Login, &a.Email, &settings, &a.Disabled, &created); err != nil {
		return api.Account{}, err
	}
	a.CreatedAt = decTime(created)
	var err error
	if a.Settings, err = decSettings(settings); err != nil {
		return api.Account{}, fmt.Errorf("account %q: settings: %w", a.ID, err)
	}
	return a, nil
}

// Account returns the account with the given ID, or an error matching
// ErrNotFound (also while it is being removed).
func (s *Store) Account(ctx context.Context, id string) (api.Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = ? AND removing = 0", id))
	if errors.Is(err, sql.ErrNoRows) {
		return api.Account{}, accountNotFound(id)
	}
	return a, err
}

// Accounts returns all accounts, ordered by CreatedAt, then ID. Accounts
// being removed (DeleteAccount) are not among them.
func (s *Store) Accounts(ctx context.Context) ([]api.Account, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE removing = 0 ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// accountTables are the tables other than items with rows of an account
// (incidents and notices have no foreign key, see schema step 3).
var accountTables = []string{"cursors", "full_syncs", "sessions", "issues", "notices", "incidents", "run_state"}

// removingSQL is the list of the accounts being removed, for a condition
// "account NOT IN removingSQL" of the reads that must not show their
// items while DeleteAccount removes them.
const removingSQL = `(SELECT id FROM accounts WHERE removing = 1)`

// purgeSQL removes up to ?2 items of account ?1, only while ?1 is being
// removed: a removal that another caller already finished never touches
// the items of an account added again under the same ID.
var purgeSQL = deleteItemsSQL(`account = ?1 AND EXISTS (SELECT 1 FROM accounts WHERE id = ?1 AND removing = 1)`, "?2")

// testHookPurgeBatch, when set by a test, runs after each of
// DeleteAccount's batches has committed, with the number of items the
// batch removed; an error stops the removal there, as a killed process
// would.
var testHookPurgeBatch func(ctx context.Context, n int) error

// DeleteAccount deletes the account and everything stored for it: items
// (with their search index entries and CRM outbox rows), cursors, sessions,
// issues, notices and run state. It returns an error matching ErrNotFound
// if there is no such account.
//
// It never holds the store for long: a first short transaction marks the
// account as being removed and deletes its rows other than items — from
// then on Account, Accounts, ApplyPage, the activity, the export and the
// CRM outbox treat it as gone, and AddAccount refuses its ID — then up to
// batch items go per write transaction, as PruneOld removes them, and a
// last transaction deletes the account's row. Other writers (another
// account's sync) commit between the batches. If the removal stops midway
// (an error, a cancelled ctx, the process killed), the account stays
// marked: PendingRemovals lists it and ContinueRemoval (or DeleteAccount)
// finishes it.
//
// While the batches run, the search index keeps the removed items' entries
// as deleted (searchDeleteMergeOff) instead of rewriting, within a batch's
// transaction, each large part of the index where they pass 10 %; Reclaim
// then rewrites those parts in short steps and gives the freed pages back
// to the disk.
func (s *Store) DeleteAccount(ctx context.Context, id string, batch int) error {
	return s.removeAccount(ctx, id, batch, false)
}

// ContinueRemoval finishes the removal of account id that DeleteAccount
// began (see PendingRemovals), in the same short transactions. Unlike
// DeleteAccount it never begins one: it returns an error matching
// ErrNotFound if no removal of id is pending, e.g. because another caller
// finished it and the ID was added again since.
func (s *Store) ContinueRemoval(ctx context.Context, id string, batch int) error {
	return s.removeAccount(ctx, id, batch, true)
}

// removeAccount is DeleteAccount, or ContinueRemoval if pending.
func (s *Store) removeAccount(ctx context.Context, id string, batch int, pending bool) error {
	batch = max(batch, 1)
	mark := "UPDATE accounts SET removing = 1 WHERE id = ?"
	if pending {
		mark += " AND removing = 1"
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, mark, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 && pending {
			return notFound("no removal of an account named %q is pending", id)
		} else if n == 0 {
			return accountNotFound(id)
		}
		if _, err := tx.ExecContext(ctx, searchDeleteMergeOff); err != nil {
			return err
		}
		return deleteAccountRows(ctx, tx, id)
	})
	if err != nil {
		return err
	}
	for {
		n, err := s.exec(ctx, purgeSQL, id, batch)
		if err != nil {
			return fmt.Errorf("removing the items of %s: %w", id, err)
		}
		if testHookPurgeBatch != nil {
			if err := testHookPurgeBatch(ctx, int(n)); err != nil {
				return err
			}
		}
		if n < int64(batch) {
			break
		}
		// A writer the batch's commit woke (another account's sync)
		// takes the store before the next batch does.
		runtime.Gosched()
	}
	return s.finishRemoval(ctx, id)
}

// finishRemoval is DeleteAccount's last transaction: it deletes the rows
// of account id, once its items are gone, if its removal is still
// pending.
func (s *Store) finishRemoval(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var removing bool
		err := tx.QueryRowContext(ctx, "SELECT removing FROM accounts WHERE id = ?", id).Scan(&removing)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !removing) {
			// Another caller finished this removal (and the ID may be in
			// use again): nothing of it is left.
			return nil
		}
		if err != nil {
			return err
		}
		if err := deleteAccountRows(ctx, tx, id); err != nil {
			return err
		}
		var others int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM accounts WHERE removing = 1 AND id != ?", id).Scan(&others); err != nil {
			return err
		}
		if others == 0 {
			if _, err := tx.ExecContext(ctx, searchDeleteMergeOn); err != nil {
				return err
			}
		}
		// Nothing adds items to an account being removed (ApplyPage
		// refuses it); any left would go with the row (ON DELETE CASCADE).
		_, err = tx.ExecContext(ctx, "DELETE FROM accounts WHERE id = ?", id)
		return err
	})
}

// deleteAccountRows deletes the rows of account id in accountTables.
func deleteAccountRows(ctx context.Context, tx *sql.Tx, id string) error {
	for _, table := range accountTables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE account = ?", id); err != nil {
			return err
		}
	}
	return nil
}

// PendingRemovals returns the IDs of the accounts whose removal
// (DeleteAccount) began but did not finish, e.g. because the process was
// killed; ContinueRemoval finishes each.
func (s *Store) PendingRemovals(ctx context.Context) ([]string, error) {
	return queryStrings(ctx, s.db, "SELECT id FROM accounts WHERE removing = 1 ORDER BY id")
}

// RunState is the engine's persisted per-account state: it survives
// restarts.
type RunState struct {
	// State is the engine's state name, e.g. "idle", "needs-reactivation".
	State string `json:"state"`
	// Reason says in words why the account is in State, if that needs
	// saying.
	Reason string `json:"reason,omitempty"`
	// Rejections counts consecutive rejected sync attempts.
	Rejections int `json:"rejections"`
	// Failures counts consecutive failed sessions.
	Failures int `json:"failures"`
	// Paused is true while the account is paused.
	Paused bool `json:"paused"`
	// PausedUntil is when a pause ends; zero means until resumed.
	PausedUntil time.Time `json:"paused_until,omitzero"`
	// LastAttempt is when the last sync attempt started.
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// NextSync is when the next sync is due.
	NextSync time.Time `json:"next_sync,omitzero"`
}

// RunState returns the run state saved for account, or the zero RunState
// (and no error) if none was saved.
func (s *Store) RunState(ctx context.Context, account string) (RunState, error) {
	var (
		rs                      RunState
		pausedUntil, last, next sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `SELECT state, reason, rejections, failures, paused, paused_until, last_attempt, next_sync
		FROM run_state WHERE account = ?`, account).
		Scan(&rs.State, &rs.Reason, &rs.Rejections, &rs.Failures, &rs.Paused, &pausedUntil, &last, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return RunState{}, nil
	}
	if err != nil {
		return RunState{}, err
	}
	rs.PausedUntil, rs.LastAttempt, rs.NextSync = decTime(pausedUntil), decTime(last), decTime(next)
	return rs, nil
}

// PutRunState saves the run state of account, replacing the saved one. It
// returns an error matching ErrNotFound if there is no such account.
func (s *Store) PutRunState(ctx context.Context, account string, rs RunState) error {
	_, err := s.exec(ctx, `INSERT INTO run_state(account, state, reason, rejections, failures, paused, paused_until, last_attempt, next_sync)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(account) DO UPDATE SET state = excluded.state, reason = excluded.reason,
			rejections = excluded.rejections, failures = excluded.failures, paused = excluded.paused,
			paused_until = excluded.paused_until, last_attempt = excluded.last_attempt, next_sync = excluded.next_sync`,
		account, rs.State, rs.Reason, rs.Rejections, rs.Failures, boolInt(rs.Paused),
		encTime(rs.PausedUntil), encTime(rs.LastAttempt), encTime(rs.NextSync))
	if isForeignKey(err) {
		return accountNotFound(account)
	}
	return err
}

// Setting returns the global setting key; ok is false if it is not set.
func (s *Store) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return value, true, nil
}

// PutSetting sets the global setting key to value.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO settings(key, value) VALUES (?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// DeleteSetting removes the global setting key; removing a setting that is
// not set is not an error.
func (s *Store) DeleteSetting(ctx context.Context, key string) error {
	_, err := s.exec(ctx, "DELETE FROM settings WHERE key = ?", key)
	return err
}
