// Package pgstore is organisation mode's store on PostgreSQL: the
// mailboxes of an organisation, their items, cursors, full syncs, sessions
// and issues, and the organisation's non-secret settings. It implements
// session.Store (docs/architecture.md §3: a page and its cursor are one
// transaction, items are unique per mailbox + folder + provider id, a
// cursor is never ahead of its items) with pgx v5, for many workers that
// share one database; its schema and River's are applied by Migrate.
//
// The account ID session.Store speaks of is the mailbox address,
// lowercased.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotInitialised is returned by Open when the database holds no
// organisation schema, or an older one than this program's.
var ErrNotInitialised = errors.New("the organisation database is not set up (or is older than this program): run `inboxsync org init`")

// ErrUnknownMailbox matches (errors.Is) the error about a mailbox the store
// does not hold.
var ErrUnknownMailbox = errors.New("no such mailbox in the organisation")

// unknownMailbox returns an error naming address that matches
// ErrUnknownMailbox.
func unknownMailbox(address string) error {
	return fmt.Errorf("%w: %s", ErrUnknownMailbox, address)
}

// Store is the organisation store over a pgx pool. Its methods are safe for
// concurrent use, from any number of processes sharing the database.
type Store struct {
	pool *pgxpool.Pool

	// beforeCursor, when set (by a test), runs inside ApplyPage's
	// transaction after the page's items and issues were written and
	// before its cursor is; an error it returns fails the page.
	beforeCursor func(ctx context.Context) error
}

// New returns a store over an existing pool; the schema is assumed current
// (see Migrate and Open).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool returns the store's pool (River's client may share it).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the store's pool.
func (s *Store) Close() { s.pool.Close() }

// Connect opens a pool on the libpq URL or keyword/value string dsn (unix
// sockets: postgres:///db?host=/run/postgresql) and pings the server. Its
// errors name the host and the database, and never the password.
func Connect(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	return ConnectSized(ctx, dsn, 0)
}

// ConnectSized is Connect with a pool of at most maxConns connections (0:
// pgx's default, the larger of 4 and the number of CPUs, unless the URL's
// pool_max_conns says otherwise).
func ConnectSized(ctx context.Context, dsn string, maxConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("the organisation database's address is not a valid PostgreSQL URL: %s", scrub(err.Error(), passwordOf(dsn)))
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(maxConns)
	}
	where := describe(cfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %s", where, scrub(err.Error(), cfg.ConnConfig.Password))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot connect to %s: %s", where, scrub(explain(err), cfg.ConnConfig.Password))
	}
	return pool, nil
}

// Open connects to dsn (see Connect) and returns the store, after checking
// that the database's schema (this store's and River's) is the one this
// program uses: ErrNotInitialised if it is missing or older.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return OpenSized(ctx, dsn, 0)
}

// OpenSized is Open with a pool of at most maxConns connections (see
// ConnectSized).
func OpenSized(ctx context.Context, dsn string, maxConns int) (*Store, error) {
	pool, err := ConnectSized(ctx, dsn, maxConns)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return New(pool), nil
}

// describe names the database and host of c for an admin, without the
// password.
func describe(c *pgx.ConnConfig) string {
	host := c.Host
	if strings.HasPrefix(host, "/") {
		host = "the unix socket in " + host
	} else {
		host = fmt.Sprintf("host %s port %d", host, c.Port)
	}
	return fmt.Sprintf("the organisation database %q on %s (user %q)", c.Database, host, c.User)
}

// explain returns err's message, with the server's words first when it
// said why.
func explain(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message + " (" + pe.Code + ")"
	}
	return err.Error()
}

// passwordOf returns the password in a URL or keyword/value string, if
// one can be found.
func passwordOf(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			return p
		}
	}
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(f, "password="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

// scrub puts msg on one line and replaces every occurrence of the password
// in it (also URL-escaped) by "xxxxx".
func scrub(msg, password string) string {
	msg = strings.Join(strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\t' }), "; ")
	msg = strings.ReplaceAll(msg, ":; ", ": ")
	if password == "" {
		return msg
	}
	for _, p := range []string{password, url.QueryEscape(password), url.PathEscape(password)} {
		if p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}

// Times: timestamptz, NULL for the zero time.

// ts returns t as a column value: NULL for the zero time.
func ts(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// tm is the inverse of ts, in UTC.
func tm(v pgtype.Timestamptz) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.Time.UTC()
}

// isCode reports whether err is a PostgreSQL error with code.
func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// PostgreSQL error codes the store branches on.
const (
	codeUndefinedTable = "42P01"
	codeForeignKey     = "23503"
)
