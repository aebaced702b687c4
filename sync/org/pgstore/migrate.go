package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// The store's migrations: migrations/NNN_name.sql, step NNN takes the
// schema from version NNN-1 to NNN. Steps are only ever appended.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one step of the store's schema.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the store's steps in order; it panics on a badly
// named file (a build mistake the tests catch).
func migrations() []migration {
	entries, err := migrationFS.ReadDir("migrations")
	if err != nil {
		panic(err)
	}
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("pgstore: migration file " + e.Name() + " is not named NNN_name.sql")
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			panic(err)
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			panic(fmt.Sprintf("pgstore: migration %d is missing", i+1))
		}
	}
	return out
}

// SchemaVersion is the version of the store's schema this program uses.
var SchemaVersion = len(migrations())

// migrateLock is the key of the advisory lock Migrate holds, so that two
// processes migrating at once run one after the other.
const migrateLock int64 = 0x1b0c5_0001

// MigrateReport says what Migrate found and left: the store's schema
// version and River's, before and after (0: none).
type MigrateReport struct {
	From, To  int
	RiverFrom int
	RiverTo   int
}

// Migrate brings the database up to this program's schema: River's
// migrations (all of them, up to this River's current version) and then
// the store's own, each of its steps in one transaction with the bump of
// schema_version. It is idempotent, and safe when several processes run it
// at once: they queue on an advisory lock, held on a connection of its own
// for the length of the migration. A database whose store schema is newer
// than this program's is refused and left as it is.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (MigrateReport, error) {
	var rep MigrateReport
	lockConn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return rep, fmt.Errorf("cannot connect to %s to set it up: %s", describe(pool.Config().ConnConfig), scrub(explain(err), pool.Config().ConnConfig.Password))
	}
	defer lockConn.Close(context.WithoutCancel(ctx))
	if _, err := lockConn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return rep, fmt.Errorf("waiting for another process setting up the organisation database: %w", err)
	}
	// Closing the connection releases the lock too; unlocking first lets a
	// waiting process go on at once.
	defer lockConn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock) //nolint:errcheck

	rep.From, err = schemaVersion(ctx, pool)
	if err != nil {
		return rep, err
	}
	if rep.From > SchemaVersion {
		return rep, fmt.Errorf("the organisation database has schema version %d, newer than this program's %d: use the newer program", rep.From, SchemaVersion)
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return rep, fmt.Errorf("setting up River's job tables: %w", err)
	}
	rep.RiverFrom, err = riverVersion(ctx, migrator)
	if err != nil {
		return rep, err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return rep, fmt.Errorf("setting up River's job tables (from version %d): %w", rep.RiverFrom, err)
	}
	rep.RiverTo, err = riverVersion(ctx, migrator)
	if err != nil {
		return rep, err
	}
	rep.To = rep.From
	for _, m := range migrations()[rep.From:] {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_version (version) VALUES ($1)", m.version)
			return err
		})
		if err != nil {
			return rep, fmt.Errorf("setting up the organisation schema, step %d (%s): %s", m.version, m.name, explain(err))
		}
		rep.To = m.version
	}
	return rep, nil
}

// schemaVersion returns the store's schema version in the database, 0 if
// it has none.
func schemaVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var v *int
	err := q.QueryRow(ctx, "SELECT max(version) FROM schema_version").Scan(&v)
	switch {
	case isCode(err, codeUndefinedTable):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("reading the organisation schema's version: %s", explain(err))
	case v == nil:
		return 0, nil
	}
	return *v, nil
}

// riverVersion returns the newest of River's migrations applied, 0 if none.
func riverVersion(ctx context.Context, m *rivermigrate.Migrator[pgx.Tx]) (int, error) {
	vs, err := m.ExistingVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading River's schema version: %w", err)
	}
	v := 0
	for _, x := range vs {
		v = max(v, x.Version)
	}
	return v, nil
}

// riverCurrent returns the newest River migration this program knows.
func riverCurrent(m *rivermigrate.Migrator[pgx.Tx]) int {
	v := 0
	for _, x := range m.AllVersions() {
		v = max(v, x.Version)
	}
	return v
}

// checkSchema returns ErrNotInitialised unless the store's schema and
// River's are the ones this program uses.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	v, err := schemaVersion(ctx, pool)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return fmt.Errorf("the organisation database has schema version %d, newer than this program's %d: use the newer program", v, SchemaVersion)
	}
	if v < SchemaVersion {
		return ErrNotInitialised
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	rv, err := riverVersion(ctx, migrator)
	if err != nil {
		return err
	}
	if rv < riverCurrent(migrator) {
		return ErrNotInitialised
	}
	return nil
}
