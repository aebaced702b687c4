package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema's steps. Step i takes the schema from version i
// to version i+1 (PRAGMA user_version) and runs in one transaction with the
// version bump. Steps are only ever appended: a released step never changes.
//
// Times are INTEGER nanoseconds since the Unix epoch (UTC), NULL for the
// zero time. Lists of addresses are joined with "\n".
var migrations = [][]string{
	// 1: the first schema.
	{
		`CREATE TABLE accounts (
			id         TEXT PRIMARY KEY,
			provider   TEXT NOT NULL,
			login      TEXT NOT NULL DEFAULT '',
			email      TEXT NOT NULL DEFAULT '',
			settings   TEXT NOT NULL DEFAULT '',
			disabled   INTEGER NOT NULL DEFAULT 0,
			created_at INTEGER
		)`,
		`CREATE TABLE run_state (
			account      TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
			state        TEXT NOT NULL DEFAULT '',
			reason       TEXT NOT NULL DEFAULT '',
			rejections   INTEGER NOT NULL DEFAULT 0,
			failures     INTEGER NOT NULL DEFAULT 0,
			paused       INTEGER NOT NULL DEFAULT 0,
			paused_until INTEGER,
			last_attempt INTEGER,
			next_sync    INTEGER
		)`,
		`CREATE TABLE settings (
			key   TEXT PRIMARY KEY,
			value TEXT NOT NULL
		) WITHOUT ROWID`,
		`CREATE TABLE cursors (
			account    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
			folder     TEXT NOT NULL,
			cursor     TEXT NOT NULL,
			updated_at INTEGER,
			PRIMARY KEY (account, folder)
		) WITHOUT ROWID`,
		`CREATE TABLE items (
			id              INTEGER PRIMARY KEY,
			account         TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
			provider_id     TEXT NOT NULL,
			folder          TEXT NOT NULL,
			kind            TEXT NOT NULL,
			message_id      TEXT NOT NULL DEFAULT '',
			conversation_id TEXT NOT NULL DEFAULT '',
			subject         TEXT NOT NULL DEFAULT '',
			from_addr       TEXT NOT NULL DEFAULT '',
			to_addrs        TEXT NOT NULL DEFAULT '',
			cc_addrs        TEXT NOT NULL DEFAULT '',
			time            INTEGER,
			preview         TEXT NOT NULL DEFAULT '',
			start_time      INTEGER,
			end_time        INTEGER,
			location        TEXT NOT NULL DEFAULT '',
			organizer       TEXT NOT NULL DEFAULT '',
			attendees       TEXT NOT NULL DEFAULT '',
			hash            INTEGER NOT NULL,
			rev             INTEGER NOT NULL DEFAULT 0,
			deleted         INTEGER NOT NULL DEFAULT 0,
			first_seen      INTEGER,
			updated_at      INTEGER
		)`,
		`CREATE UNIQUE INDEX items_account_provider_id ON items(account, provider_id)`,
		`CREATE INDEX items_account_time ON items(account, time)`,
		`CREATE TABLE sessions (
			id          INTEGER PRIMARY KEY AUTOINCREMENT,
			account     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
			trigger_by  TEXT NOT NULL DEFAULT '',
			start_time  INTEGER,
			end_time    INTEGER,
			outcome     TEXT NOT NULL,
			added       INTEGER NOT NULL DEFAULT 0,
			updated     INTEGER NOT NULL DEFAULT 0,
			removed     INTEGER NOT NULL DEFAULT 0,
			error       TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX sessions_account_start ON sessions(account, start_time)`,
		`CREATE INDEX sessions_start ON sessions(start_time)`,
		`CREATE INDEX sessions_running ON sessions(outcome) WHERE outcome = 'running'`,
		`CREATE TABLE issues (
			id          INTEGER PRIMARY KEY AUTOINCREMENT,
			account     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
			provider_id TEXT NOT NULL DEFAULT '',
			folder      TEXT NOT NULL DEFAULT '',
			message     TEXT NOT NULL DEFAULT '',
			time        INTEGER
		)`,
		`CREATE INDEX issues_account ON issues(account, id)`,
	},
	// 2: items are unique per account, folder and provider id (Gmail
	// reports a message sent to oneself in both INBOX and SENT under one
	// id), and full syncs of a folder are tracked so that, when one
	// completes, the folder's items it did not list are marked deleted.
	// Existing rows keep their folder; (account, provider_id) was unique,
	// so (account, folder, provider_id) is too.
	{
		`DROP INDEX items_account_provider_id`,
		`CREATE UNIQUE INDEX items_account_folder_provider_id ON items(account, folder, provider_id)`,
		// full_sync_gen is the generation (full_syncs.gen) of the last
		// full sync of the item's folder that listed it; 0 for none.
		`ALTER TABLE items ADD COLUMN full_sync_gen INTEGER NOT NULL DEFAULT 0`,
		// One row per account and folder that ever began a full sync:
		// gen counts the folder's full syncs; active is 1 from the start
		// of one until the commit of its last page; window_from and
		// window_to (NULL: open) bound the item times it lists.
		`CREATE TABLE full_syncs (
			account     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
			folder      TEXT NOT NULL,
			gen         INTEGER NOT NULL,
			active      INTEGER NOT NULL DEFAULT 0,
			window_from INTEGER,
			window_to   INTEGER,
			started_at  INTEGER,
			PRIMARY KEY (account, folder)
		) WITHOUT ROWID`,
	},
	// 3: stop notices by email (sync/emailnotice). An incident is one stretch
	// of an account needing its user (suspended, needs re-activation),
	// from the state's start until the account syncs successfully again;
	// at most one per account is open. Its notices are the emails it
	// queued, one per recipient, kept until delivered or the incident
	// ends so that a restart neither loses nor repeats one. The CRM
	// connection has incidents too (account "@crm", not a mailbox
	// account), so account is no foreign key: DeleteAccount deletes a
	// mailbox's rows itself.
	{
		`CREATE TABLE incidents (
			id        INTEGER PRIMARY KEY AUTOINCREMENT,
			account   TEXT NOT NULL,
			state     TEXT NOT NULL,
			reason    TEXT NOT NULL DEFAULT '',
			opened_at INTEGER,
			closed_at INTEGER
		)`,
		`CREATE UNIQUE INDEX incidents_open ON incidents(account) WHERE closed_at IS NULL`,
		`CREATE TABLE notices (
			id           INTEGER PRIMARY KEY AUTOINCREMENT,
			incident     INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
			account      TEXT NOT NULL,
			kind         TEXT NOT NULL,
			recipient    TEXT NOT NULL,
			subject      TEXT NOT NULL,
			body         TEXT NOT NULL,
			created_at   INTEGER,
			state        TEXT NOT NULL DEFAULT 'pending',
			attempts     INTEGER NOT NULL DEFAULT 0,
			next_attempt INTEGER,
			last_error   TEXT NOT NULL DEFAULT '',
			done_at      INTEGER
		)`,
		`CREATE INDEX notices_pending ON notices(next_attempt) WHERE state = 'pending'`,
	},
	// 4: the CRM outbox (sync/crm, issue 11). crm_connection is the one CRM
	// connection of the agent (at most one row): while it is active, the
	// items a page adds get a crm_items row in the page's transaction. A
	// crm_items row is an item's CRM state: pending, logged (record_id,
	// object), skipped (reason) or failed (reason, retryable, attempts).
	// gen grows whenever the mailbox changes the item in a way the CRM
	// must see again, so that a run's outcome for an older version does
	// not overwrite the newer one.
	{
		`CREATE TABLE crm_connection (
			id           INTEGER PRIMARY KEY CHECK (id = 1),
			crm          TEXT NOT NULL,
			org          TEXT NOT NULL DEFAULT '',
			active       INTEGER NOT NULL DEFAULT 1,
			connected_at INTEGER,
			since        INTEGER
		)`,
		`CREATE TABLE crm_items (
			item      INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
			state     TEXT NOT NULL DEFAULT 'pending',
			gen       INTEGER NOT NULL DEFAULT 1,
			record_id TEXT NOT NULL DEFAULT '',
			object    TEXT NOT NULL DEFAULT '',
			reason    TEXT NOT NULL DEFAULT '',
			retryable INTEGER NOT NULL DEFAULT 0,
			attempts  INTEGER NOT NULL DEFAULT 0,
			saved_at  INTEGER
		)`,
		`CREATE INDEX crm_items_todo ON crm_items(state) WHERE state IN ('pending', 'failed')`,
	},
	// 5: the full-text search index (search.go); the items already stored
	// are indexed in the background (Store.BuildSearchIndex).
	searchMigration,
	// 6: an account removed with its data (Store.DeleteAccount) is marked
	// removing = 1 in the first of the short transactions that delete it,
	// and its row goes in the last: in between, and after a process killed
	// in between until the engine finishes the removal, the store treats
	// it as gone.
	{
		`ALTER TABLE accounts ADD COLUMN removing INTEGER NOT NULL DEFAULT 0`,
	},
	// 7: the CRM rules (issue 20). An item's sensitivity mark and
	// categories (Gmail: label names, "\n"-separated), which the logger's
	// keep-out and log-by-hand rules read; a CRM outcome's rule (which rule
	// logged or skipped it), people (the CRM people a logged item was
	// logged to, JSON) and the item's conversation, which the whole-thread
	// rule reads back (indexed among the logged rows, not on items, whose
	// every insert would pay for it).
	{
		`ALTER TABLE items ADD COLUMN sensitivity TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE items ADD COLUMN categories TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE crm_items ADD COLUMN rule TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE crm_items ADD COLUMN people TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE crm_items ADD COLUMN conversation_id TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX crm_items_thread ON crm_items(conversation_id) WHERE state = 'logged' AND people != ''`,
	},
}

// schemaVersion is the schema version this build writes.
func schemaVersion() int { return len(migrations) }

// migrate runs the missing migration steps, each in its own transaction.
func (s *Store) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateStep(ctx)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep runs the next missing step, if any. The version is read
// inside the transaction, so two processes opening the same new file
// cannot both run a step.
func (s *Store) migrateStep(ctx context.Context) (done bool, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		v, err := userVersion(ctx, tx)
		if err != nil {
			return err
		}
		if v > schemaVersion() {
			return tooNewError(s.path, v)
		}
		if v == schemaVersion() {
			done = true
			return nil
		}
		for _, stmt := range migrations[v] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration to schema %d: %w", v+1, err)
			}
		}
		// PRAGMA takes no parameters; v+1 is an int.
		_, err = tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1))
		return err
	})
	return done, err
}

// markInterrupted ends the sessions a killed process left "running". A
// session ends at the latest of its start, its last recorded end and the
// last time a cursor of its account was stored.
func (s *Store) markInterrupted(ctx context.Context) error {
	_, err := s.exec(ctx, `UPDATE sessions SET outcome = 'interrupted',
		end_time = nullif(max(
			coalesce(start_time, 0),
			coalesce(end_time, 0),
			coalesce((SELECT max(c.updated_at) FROM cursors c WHERE c.account = sessions.account), 0)), 0)
		WHERE outcome = 'running'`)
	return err
}
