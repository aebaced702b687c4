// Package store is Inbox Sync's local activity store: one SQLite file that
// holds the accounts, the engine's per-account run state and global
// settings, the synced items with the cursor that follows them, the sync
// sessions and the per-item issues (docs/architecture.md §1).
//
// The store is built for the engine's rule that progress is atomic
// (docs/architecture.md §3): [Store.ApplyPage] commits a page of changes, its issues and
// the cursor after it in one transaction, and items are upserted by account,
// folder and provider id, so replaying a page is harmless. A full sync of a
// folder ([Store.BeginFullSync]) ends, in the transaction of its last page,
// by marking deleted the folder's items within its window that it did not
// list.
//
// The file is opened in WAL mode with synchronous=NORMAL: a committed page
// survives the process being killed at any moment. A file that is not a
// SQLite database, fails SQLite's quick_check, or was written by a newer
// version of Inbox Sync is reported ([ErrCorrupt], [ErrTooNew]) and never
// modified.
//
// All methods are safe for concurrent use. Writers are serialized inside the
// process; readers run concurrently with them.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors returned by the store. Test for them with errors.Is: the returned
// errors carry a message in plain words that names what was not found or
// which file is affected.
var (
	// ErrCorrupt means the file is not a SQLite database or fails SQLite's
	// quick_check. The file was left untouched.
	ErrCorrupt = errors.New("activity store is damaged")
	// ErrTooNew means the file was written by a newer version of Inbox Sync
	// (its schema version is higher than this build knows). The file was
	// left untouched.
	ErrTooNew = errors.New("activity store is from a newer version of Inbox Sync")
	// ErrNotFound means the account, session or file asked for does not
	// exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means AddAccount was given an ID that is already in use.
	ErrExists = errors.New("already exists")
)

// storeError is an error with its own message that matches one or more
// sentinel errors (and an optional cause) with errors.Is.
type storeError struct {
	msg  string
	errs []error
}

func (e *storeError) Error() string   { return e.msg }
func (e *storeError) Unwrap() []error { return e.errs }

// newError returns an error with message msg that matches sentinel and, if
// not nil, cause.
func newError(sentinel, cause error, msg string) error {
	errs := []error{sentinel}
	if cause != nil {
		errs = append(errs, cause)
	}
	return &storeError{msg: msg, errs: errs}
}

func notFound(format string, args ...any) error {
	return newError(ErrNotFound, nil, fmt.Sprintf(format, args...))
}

func corruptError(path string, cause error, detail string) error {
	if detail == "" && cause != nil {
		detail = cause.Error()
	}
	msg := fmt.Sprintf("the activity store %s is damaged and was left untouched; move it aside to start over", path)
	if detail != "" {
		msg = fmt.Sprintf("the activity store %s is damaged (%s) and was left untouched; move it aside to start over", path, detail)
	}
	return newError(ErrCorrupt, cause, msg)
}

func tooNewError(path string, version int) error {
	return newError(ErrTooNew, nil, fmt.Sprintf(
		"the activity store %s was written by a newer version of Inbox Sync (schema %d, this version knows up to %d); update Inbox Sync (the file was left untouched)",
		path, version, schemaVersion()))
}

// isCorruptCode reports whether err is a SQLite error saying the file is not
// a database or is malformed.
func isCorruptCode(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// sqliteHeader is the magic string every SQLite database file starts with.
var sqliteHeader = []byte("SQLite format 3\x00")

// busyTimeout is how long a statement waits for a lock held by another
// connection or process, in milliseconds.
const busyTimeout = 5000

// maxConns bounds the connection pool. Each connection has its own page
// cache; WAL lets the readers run beside the one writer.
const maxConns = 4

// maxIdle is how long an unused connection is kept: long enough for a sync's
// burst of pages, short enough that the agent gives the page caches back
// between syncs.
const maxIdle = 5 * time.Minute

func newPool(db *sql.DB) {
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(maxIdle)
}

// Store is an open activity store. Create it with Open or OpenReadOnly.
type Store struct {
	db       *sql.DB
	path     string
	readOnly bool

	// wmu serializes the writers of this process, so that they queue in Go
	// instead of polling SQLite's busy handler.
	wmu sync.Mutex

	// Statements of ApplyPage, prepared once (nil in a read-only store).
	insertOneStmt  *sql.Stmt
	insertManyStmt *sql.Stmt
	updateStmt     *sql.Stmt
	deleteStmt     *sql.Stmt
	existingStmt   *sql.Stmt
	issueStmt      *sql.Stmt
	cursorStmt     *sql.Stmt
	acctStmt       *sql.Stmt
	stampStmt      *sql.Stmt
	fullSyncStmt   *sql.Stmt
	sweepStmt      *sql.Stmt
	endFullStmt    *sql.Stmt
}

// Path returns the path of the store's file.
func (s *Store) Path() string { return s.path }

// Close closes the store. On the last close SQLite checkpoints the WAL into
// the main file and removes the -wal and -shm files.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.insertOneStmt, s.insertManyStmt, s.updateStmt,
		s.deleteStmt, s.existingStmt, s.issueStmt, s.cursorStmt, s.acctStmt,
		s.stampStmt, s.fullSyncStmt, s.sweepStmt, s.endFullStmt} {
		if st != nil {
			st.Close()
		}
	}
	if err := s.db.Close(); err != nil {
		return err
	}
	if !s.readOnly {
		// Best effort: without the mark the next Open checks every page.
		markClean(s.path)
	}
	return nil
}

// Files returns the paths of the files that make up the store at path: the
// database, SQLite's write-ahead log and its index (-wal, -shm) or rollback
// journal (-journal), and the mark of a clean close. Some of them exist only
// at times.
func Files(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + "-journal", markPath(path)}
}

// dsn returns a "file:" URI for path with the given query parameters.
func dsn(path string, params ...string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: file:///C:/…
	}
	u := url.URL{Scheme: "file", Path: p} // escapes '?', '#', '%' and spaces
	s := u.String()
	if len(params) > 0 {
		s += "?" + strings.Join(params, "&")
	}
	return s
}

// Open opens the activity store at path, creating the file if it is missing
// (its directory must exist), and brings its schema up to date.
//
// A new file is made with mode 0600, before SQLite would make it 0644:
// SQLite gives its -wal and -shm files the database's mode, so they are
// owner-only too. The modes of existing files are left to the caller (the
// agent tightens them at start, see Files).
//
// An existing file is checked before anything is written to it: a file that
// is not a SQLite database or fails SQLite's quick_check returns an error
// matching ErrCorrupt, and one written by a newer version of Inbox Sync an
// error matching ErrTooNew; in both cases the file is left exactly as it was.
//
// Sessions still marked "running" — left by a process that was killed — are
// marked "interrupted", ending at the last time the store knows the
// session's account made progress (or at the session's start).
func Open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("activity store %s: %w", path, err)
	}
	path = abs
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		dir := filepath.Dir(path)
		if di, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("cannot create the activity store %s: %w", path, err)
		} else if !di.IsDir() {
			return nil, fmt.Errorf("cannot create the activity store %s: %s is not a directory", path, dir)
		}
		// SQLite takes an empty file for a new database.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("cannot create the activity store %s: %w", path, err)
		}
		f.Close()
	case err != nil:
		return nil, fmt.Errorf("activity store %s: %w", path, err)
	case fi.IsDir():
		return nil, fmt.Errorf("activity store %s is a directory", path)
	case fi.Size() > 0:
		if err := check(path, !closedCleanly(path)); err != nil {
			return nil, err
		}
	}
	// The file changes from here on: a process killed before Close must
	// leave no mark of a clean close.
	if err := os.Remove(markPath(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("activity store %s: %w", path, err)
	}

	db, err := sql.Open("sqlite", dsn(path,
		// A new file gives the pages of removed items back to the disk
		// (Store.Reclaim); on an older file it takes effect at its next
		// VACUUM (Store.Compact).
		fmt.Sprintf("_pragma=auto_vacuum(%d)", autoVacuumIncremental),
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout),
		"_pragma=foreign_keys(1)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=temp_store(MEMORY)",
		// Checkpoint every 4000 pages (16 MB) of log rather than every 1000:
		// pages of items dirty the same index pages, which a checkpoint then
		// writes once instead of several times.
		"_pragma=wal_autocheckpoint(4000)",
		"_txlock=immediate",
	))
	if err != nil {
		return nil, fmt.Errorf("activity store %s: %w", path, err)
	}
	newPool(db)
	s := &Store{db: db, path: path}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// init converts the file to WAL, migrates it, marks interrupted sessions
// and prepares the statements.
func (s *Store) init() error {
	ctx := context.Background()
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
		return s.openErr(err)
	}
	if err := s.migrate(ctx); err != nil {
		return s.openErr(err)
	}
	if err := s.markInterrupted(ctx); err != nil {
		return s.openErr(err)
	}
	return s.prepare(ctx)
}

func (s *Store) openErr(err error) error {
	var se *storeError
	if errors.As(err, &se) {
		return err
	}
	if isCorruptCode(err) {
		return corruptError(s.path, err, "")
	}
	return fmt.Errorf("activity store %s: %w", s.path, err)
}

// OpenReadOnly opens an existing activity store for reading only, without
// migrating it: for the command line, which may read while an agent writes
// (or while none runs). It returns an error matching ErrNotFound if the file
// does not exist or was never set up, ErrTooNew if a newer version wrote it
// and ErrCorrupt if it is not a SQLite database. It does not run the full
// quick_check Open runs, and the writing methods of the returned store fail.
//
// The database is never written. When no agent has the file open, SQLite
// may leave an empty -wal and a -shm file next to it, which the agent's next
// Open takes over.
func OpenReadOnly(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("activity store %s: %w", path, err)
	}
	path = abs
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && fi.Size() == 0) {
		return nil, notFound("the activity store %s does not exist yet; it is created when Inbox Sync first starts", path)
	}
	if err != nil {
		return nil, fmt.Errorf("activity store %s: %w", path, err)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path,
		"mode=ro",
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout),
	))
	if err != nil {
		return nil, fmt.Errorf("activity store %s: %w", path, err)
	}
	newPool(db)
	s := &Store{db: db, path: path, readOnly: true}
	v, err := userVersion(context.Background(), db)
	if err == nil {
		switch {
		case v == 0:
			err = notFound("the activity store %s has not been set up yet; it is set up when Inbox Sync first starts", path)
		case v > schemaVersion():
			err = tooNewError(path, v)
		case v < schemaVersion():
			err = fmt.Errorf("the activity store %s was written by an older version of Inbox Sync; start Inbox Sync once to upgrade it", path)
		}
	}
	if err != nil {
		db.Close()
		return nil, s.openErr(err)
	}
	return s, nil
}

// checkHeader returns an ErrCorrupt error unless the file at path starts
// with the SQLite header.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("activity store %s: %w", path, err)
	}
	defer f.Close()
	buf := make([]byte, 100) // the database header
	if _, err := io.ReadFull(f, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return corruptError(path, nil, "too short to be a database")
		}
		return fmt.Errorf("activity store %s: %w", path, err)
	}
	if !bytes.Equal(buf[:len(sqliteHeader)], sqliteHeader) {
		return corruptError(path, nil, "not a SQLite database")
	}
	return nil
}

// check verifies, without writing anything, that the file at path is a
// SQLite database this version can use: the header, the schema version
// and, when full, SQLite's quick_check of each ordinary table (see
// closed.go for when Open asks for it).
//
// When no -wal (or -journal) file with content exists the file is opened
// with immutable=1, which makes SQLite read it without locks and without
// creating a -wal or -shm file; when one exists (a process died, or one is
// running) the file is opened read-only with the usual locking, so that the
// log is read too.
func check(path string, full bool) error {
	if err := checkHeader(path); err != nil {
		return err
	}
	params := []string{"mode=ro", fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout)}
	if !nonEmpty(path+"-wal") && !nonEmpty(path+"-journal") {
		params = append(params, "immutable=1")
	}
	db, err := sql.Open("sqlite", dsn(path, params...))
	if err != nil {
		return fmt.Errorf("activity store %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()

	v, err := userVersion(ctx, db)
	if err != nil {
		if isCorruptCode(err) {
			return corruptError(path, err, "")
		}
		return fmt.Errorf("activity store %s: %w", path, err)
	}
	if v > schemaVersion() {
		return tooNewError(path, v)
	}
	// quick_check table by table, the ordinary tables only: the tables
	// behind the search index are checked as B-trees like the others,
	// but FTS5's own check of the index's contents, which a plain
	// quick_check runs too, is skipped — it read every entry of the index
	// and took 1.4 s of the 2.3 s a start-up spent checking a million
	// items.
	if !full {
		return nil
	}
	if testHookFullCheck != nil {
		testHookFullCheck()
	}
	tables, err := ordinaryTables(ctx, db)
	if err != nil {
		if isCorruptCode(err) {
			return corruptError(path, err, "")
		}
		return fmt.Errorf("activity store %s: %w", path, err)
	}
	var problems []string
	for _, table := range tables {
		p, err := quickCheck(ctx, db, table)
		if err != nil {
			if isCorruptCode(err) {
				return corruptError(path, err, "")
			}
			return fmt.Errorf("activity store %s: %w", path, err)
		}
		problems = append(problems, p...)
	}
	if len(problems) > 0 {
		detail := "quick_check: " + problems[0]
		if len(problems) > 1 {
			detail += fmt.Sprintf(", and %d more problems", len(problems)-1)
		}
		return corruptError(path, nil, detail)
	}
	return nil
}

// nonEmpty reports whether the file at path exists and is not empty.
func nonEmpty(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Size() > 0
}

func userVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

// errReadOnly is returned by the writing methods of a store opened with
// OpenReadOnly.
var errReadOnly = errors.New("the activity store was opened read-only")

// write runs f in one immediate transaction, serialized with the process's
// other writers.
func (s *Store) write(ctx context.Context, f func(tx *sql.Tx) error) error {
	if s.readOnly {
		return errReadOnly
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// exec runs one writing statement, serialized with the process's other
// writers, and returns the number of rows it changed.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	if s.readOnly {
		return 0, errReadOnly
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Time encoding: times are stored as INTEGER nanoseconds since the Unix
// epoch, UTC; the zero time is stored as NULL. Times outside the range an
// int64 of nanoseconds covers (years 1678 to 2262) are clamped to it.

var (
	minTime = time.Unix(0, -1<<63)
	maxTime = time.Unix(0, 1<<63-1)
)

// timeNanos returns t as nanoseconds since the epoch, clamped; 0 for the
// zero time (use encTime for the column value).
func timeNanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minTime):
		return minTime.UnixNano()
	case t.After(maxTime):
		return maxTime.UnixNano()
	}
	return t.UnixNano()
}

// encTime returns the column value for t: NULL for the zero time.
func encTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return timeNanos(t)
}

// decTime is the inverse of encTime.
func decTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// testHookFullCheck, when set by a test, is called when Open checks every
// page of a file.
var testHookFullCheck func()

// ordinaryTables lists the tables of db that are not virtual.
func ordinaryTables(ctx context.Context, db *sql.DB) ([]string, error) {
	return queryStrings(ctx, db, "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name")
}

// queryStrings returns the one text column of the rows of query.
func queryStrings(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// quickCheck runs SQLite's quick_check of table and its indexes and
// returns the problems it reports.
func quickCheck(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	msgs, err := queryStrings(ctx, db, `PRAGMA quick_check("`+strings.ReplaceAll(table, `"`, `""`)+`")`)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, msg := range msgs {
		if msg == "ok" {
			continue
		}
		// A row may hold several lines, the first naming the database.
		for _, line := range strings.Split(msg, "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "***") {
				problems = append(problems, line)
			}
		}
	}
	return problems, nil
}
