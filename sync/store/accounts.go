package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Account is one mailbox the agent syncs.
type Account struct {
	// ID is the short name chosen by the user or derived from the address,
	// e.g. "work".
	ID string `json:"id"`
	// Provider is "exchange", "office365", "gmail" or "scripted".
	Provider string `json:"provider"`
	// Login is what the user signs in with, if it is not the email.
	Login string `json:"login,omitempty"`
	// Email is the mailbox's primary address once known.
	Email string `json:"email,omitempty"`
	// Settings are non-secret provider settings (ews_url, tenant,
	// client_id, …). Secrets never go here.
	Settings map[string]string `json:"settings,omitempty"`
	// Disabled means disconnected: the runner is stopped and the secrets are
	// deleted, the data is kept.
	Disabled bool `json:"disabled"`
	// CreatedAt is when the account was added; AddAccount sets it to the
	// current time when it is zero.
	CreatedAt time.Time `json:"created_at"`
}

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

// AddAccount stores a new account. It returns an error matching ErrExists if
// an account with the same ID exists.
func (s *Store) AddAccount(ctx context.Context, a Account) error {
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
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM accounts WHERE id = ?", a.ID).Scan(&one)
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
// there is no such account.
func (s *Store) UpdateAccount(ctx context.Context, a Account) error {
	settings, err := encSettings(a.Settings)
	if err != nil {
		return err
	}
	n, err := s.exec(ctx, `UPDATE accounts SET provider = ?, login = ?, email = ?, settings = ?, disabled = ?,
			created_at = coalesce(?, created_at)
		WHERE id = ?`,
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

func scanAccount(sc interface{ Scan(...any) error }) (Account, error) {
	var (
		a        Account
		settings string
		created  sql.NullInt64
	)
	if err := sc.Scan(&a.ID, &a.Provider, &a.Login, &a.Email, &settings, &a.Disabled, &created); err != nil {
		return Account{}, err
	}
	a.CreatedAt = decTime(created)
	var err error
	if a.Settings, err = decSettings(settings); err != nil {
		return Account{}, fmt.Errorf("account %q: settings: %w", a.ID, err)
	}
	return a, nil
}

// Account returns the account with the given ID, or an error matching
// ErrNotFound.
func (s *Store) Account(ctx context.Context, id string) (Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, accountNotFound(id)
	}
	return a, err
}

// Accounts returns all accounts, ordered by CreatedAt, then ID.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+accountCols+" FROM accounts ORDER BY created_at, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAccount deletes the account and everything stored for it: items,
// cursors, sessions, issues and run state. It returns an error matching
// ErrNotFound if there is no such account.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"items", "cursors", "full_syncs", "sessions", "issues", "notices", "incidents", "run_state"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE account = ?", id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM accounts WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return accountNotFound(id)
		}
		return nil
	})
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
