package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Providers of organisation mode.
const (
	ProviderOffice365 = "office365"
	ProviderGmail     = "gmail"
	// ProviderExchange is Exchange on-premises, read by impersonation.
	ProviderExchange = "exchange"
)

// Providers lists the providers of organisation mode.
var Providers = []string{ProviderOffice365, ProviderGmail, ProviderExchange}

// Mailbox states (Mailbox.State, Filter.State).
const (
	StateEnabled  = "enabled"
	StateDisabled = "disabled"
	StateError    = "error"
)

// Mailbox is a mailbox of the organisation as the store holds it.
type Mailbox struct {
	Address    string    // lowercased; also the session.Store account ID
	Provider   string    // "office365" | "gmail" | "exchange"
	Enabled    bool      // the admin's switch
	State      string    // "enabled" | "disabled" | "error": !Enabled → "disabled"; Enabled && Error → "error"
	Reason     string    // words for the admin (the error's reason; may be set while enabled, e.g. "throttled")
	Rejections int       // consecutive rejected sessions
	Failures   int       // consecutive failed sessions
	LastSync   time.Time // end of the last successful session; zero: never
	LastTry    time.Time // end of the last session, any outcome; zero: never
	NextSync   time.Time // when the next session is due
	SyncAsked  time.Time // when a sync was last forced (org sync, the console); zero: never
	Items      int64     // stored, not deleted items
	Added      time.Time // when the mailbox was added
}

// NewMailbox is a mailbox to add.
type NewMailbox struct{ Address, Provider string }

// maxAddress is the longest address accepted, in bytes (RFC 5321's path).
const maxAddress = 254

// checkAddress returns address lowercased, or an error (matching
// api.ErrInvalid) saying what is wrong with it.
func checkAddress(address string) (string, error) {
	a := strings.ToLower(strings.TrimSpace(address))
	bad := func(why string) error {
		return fmt.Errorf("%w: %q is not a mailbox address: %s", api.ErrInvalid, address, why)
	}
	local, domain, ok := strings.Cut(a, "@")
	switch {
	case a == "":
		return "", fmt.Errorf("%w: an empty mailbox address", api.ErrInvalid)
	case len(a) > maxAddress:
		return "", bad("it is longer than " + strconv.Itoa(maxAddress) + " bytes")
	case strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "", bad("it contains a space or a control character")
	case !ok || strings.Contains(domain, "@"):
		return "", bad("it must have exactly one @")
	case local == "":
		return "", bad("nothing before the @")
	case !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, ".."):
		return "", bad("the domain after the @ must be a name with a dot, such as example.com")
	}
	return a, nil
}

// AddMailboxes adds the mailboxes of mbs the store does not hold yet, in one
// transaction, each with next_sync = firstSync(address) (now if firstSync
// is nil), and returns the addresses it added; mailboxes already held are
// left as they are. Addresses are checked (one @, a domain with a dot, no
// spaces, at most 254 bytes) and lowercased, and the provider must be
// office365, gmail or exchange: one bad entry fails the whole call, with an error
// naming it that matches api.ErrInvalid.
func (s *Store) AddMailboxes(ctx context.Context, mbs []NewMailbox, firstSync func(address string) time.Time) ([]string, error) {
	var (
		addrs, provs []string
		next         []pgtype.Timestamptz
		seen         = map[string]bool{}
		now          = time.Now()
	)
	for _, mb := range mbs {
		a, err := checkAddress(mb.Address)
		if err != nil {
			return nil, err
		}
		p := strings.ToLower(strings.TrimSpace(mb.Provider))
		if p != ProviderOffice365 && p != ProviderGmail && p != ProviderExchange {
			return nil, fmt.Errorf("%w: the provider of %s must be %s, %s or %s, not %q", api.ErrInvalid, a, ProviderOffice365, ProviderGmail, ProviderExchange, mb.Provider)
		}
		if seen[a] {
			continue
		}
		seen[a] = true
		at := now
		if firstSync != nil {
			at = firstSync(a)
		}
		addrs, provs, next = append(addrs, a), append(provs, p), append(next, ts(at))
	}
	if len(addrs) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `INSERT INTO mailboxes (address, provider, next_sync)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
		ON CONFLICT (address) DO NOTHING RETURNING address`, addrs, provs, next)
	if err != nil {
		return nil, fmt.Errorf("adding mailboxes: %w", err)
	}
	added, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("adding mailboxes: %w", err)
	}
	return sorted(added), nil
}

// lowerAll returns the addresses trimmed and lowercased.
func lowerAll(addresses []string) []string {
	out := make([]string, len(addresses))
	for i, a := range addresses {
		out[i] = account(a)
	}
	return out
}

// RemoveMailboxes deletes the mailboxes and everything stored of them
// (items, cursors, full syncs, sessions, issues: ON DELETE CASCADE; their
// email notices' incidents and notices), and returns the addresses it
// removed (not the unknown ones).
func (s *Store) RemoveMailboxes(ctx context.Context, addresses []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `WITH gone AS (DELETE FROM mailboxes WHERE address = ANY($1::text[]) RETURNING address),
		incidents AS (DELETE FROM incidents WHERE account IN (SELECT address FROM gone))
		SELECT address FROM gone`, lowerAll(addresses))
	if err != nil {
		return nil, fmt.Errorf("removing mailboxes: %w", err)
	}
	removed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("removing mailboxes: %w", err)
	}
	return sorted(removed), nil
}

// SetEnabled switches the mailboxes on or off. Enabling also clears the
// error, the counters and the reason and sets next_sync = now. It returns
// the addresses it changed: not the unknown ones, and not those already
// as asked (switched off; or switched on without an error, counters or
// reason).
func (s *Store) SetEnabled(ctx context.Context, addresses []string, enabled bool, now time.Time) ([]string, error) {
	q, args := `UPDATE mailboxes SET enabled = false WHERE address = ANY($1::text[]) AND enabled RETURNING address`,
		[]any{lowerAll(addresses)}
	if enabled {
		q = `UPDATE mailboxes SET enabled = true, error = false, rejections = 0, failures = 0, reason = '', next_sync = $2
			WHERE address = ANY($1::text[]) AND (NOT enabled OR error OR rejections <> 0 OR failures <> 0 OR reason <> '')
			RETURNING address`
		args = append(args, ts(now))
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("switching mailboxes on or off: %w", err)
	}
	changed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("switching mailboxes on or off: %w", err)
	}
	return sorted(changed), nil
}

// Filter selects mailboxes; the zero Filter selects all.
type Filter struct {
	State     string   // "enabled", "disabled", "error"; "" any
	Addresses []string // these only; empty: any
}

const mailboxCols = `SELECT m.address, m.provider, m.enabled, m.error, m.reason, m.rejections, m.failures,
	m.last_sync, m.last_try, m.next_sync, m.added, m.live_items, m.sync_asked
	FROM mailboxes m `

func scanMailbox(r pgx.CollectableRow) (Mailbox, error) {
	var (
		mb                     Mailbox
		isErr                  bool
		last, try, next, added pgtype.Timestamptz
		asked                  pgtype.Timestamptz
	)
	err := r.Scan(&mb.Address, &mb.Provider, &mb.Enabled, &isErr, &mb.Reason, &mb.Rejections, &mb.Failures,
		&last, &try, &next, &added, &mb.Items, &asked)
	mb.LastSync, mb.LastTry, mb.NextSync, mb.Added, mb.SyncAsked = tm(last), tm(try), tm(next), tm(added), tm(asked)
	mb.State = state(mb.Enabled, isErr)
	return mb, err
}

// Mailboxes returns the mailboxes f selects, ordered by address, each with
// its count of stored items.
func (s *Store) Mailboxes(ctx context.Context, f Filter) ([]Mailbox, error) {
	var (
		where []string
		args  []any
	)
	switch f.State {
	case "":
	case StateEnabled:
		where = append(where, "m.enabled AND NOT m.error")
	case StateDisabled:
		where = append(where, "NOT m.enabled")
	case StateError:
		where = append(where, "m.enabled AND m.error")
	default:
		return nil, fmt.Errorf("%w: unknown mailbox state %q (use %s, %s or %s)", api.ErrInvalid, f.State, StateEnabled, StateDisabled, StateError)
	}
	if len(f.Addresses) > 0 {
		args = append(args, lowerAll(f.Addresses))
		where = append(where, "m.address = ANY($1::text[])")
	}
	q := mailboxCols
	if len(where) > 0 {
		q += "WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.pool.Query(ctx, q+" ORDER BY m.address", args...)
	if err != nil {
		return nil, fmt.Errorf("reading mailboxes: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanMailbox)
	if err != nil {
		return nil, fmt.Errorf("reading mailboxes: %w", err)
	}
	return out, nil
}

// Mailbox returns the mailbox address; ErrUnknownMailbox if the store does
// not hold it.
func (s *Store) Mailbox(ctx context.Context, address string) (Mailbox, error) {
	a := account(address)
	rows, err := s.pool.Query(ctx, mailboxCols+"WHERE m.address = $1", a)
	if err != nil {
		return Mailbox{}, fmt.Errorf("reading mailbox %s: %w", a, err)
	}
	mb, err := pgx.CollectExactlyOneRow(rows, scanMailbox)
	if errors.Is(err, pgx.ErrNoRows) {
		return Mailbox{}, unknownMailbox(a)
	}
	if err != nil {
		return Mailbox{}, fmt.Errorf("reading mailbox %s: %w", a, err)
	}
	return mb, nil
}

// Standing is what a session's end changes of a mailbox.
type Standing struct {
	Rejections, Failures int
	Error                bool   // disabled due to an error
	Reason               string // words for the admin
	NextSync             time.Time
	LastTry              time.Time
	LastSync             time.Time // zero: unchanged
}

// SaveStanding stores st as the mailbox's standing; ErrUnknownMailbox if
// the store does not hold it.
func (s *Store) SaveStanding(ctx context.Context, address string, st Standing) error {
	a := account(address)
	tag, err := s.pool.Exec(ctx, `UPDATE mailboxes SET rejections = $2, failures = $3, error = $4, reason = $5,
		next_sync = $6, last_try = $7, last_sync = coalesce($8, last_sync) WHERE address = $1`,
		a, st.Rejections, st.Failures, st.Error, st.Reason, ts(st.NextSync), ts(st.LastTry), ts(st.LastSync))
	if err != nil {
		return fmt.Errorf("saving the standing of %s: %w", a, err)
	}
	if tag.RowsAffected() == 0 {
		return unknownMailbox(a)
	}
	return nil
}

// Due is a mailbox whose session is due.
type Due struct {
	Address, Provider string
	NextSync          time.Time
}

// DueBefore returns up to limit enabled mailboxes without an error whose
// next_sync is at or before before, earliest first.
func (s *Store) DueBefore(ctx context.Context, before time.Time, limit int) ([]Due, error) {
	rows, err := s.pool.Query(ctx, `SELECT address, provider, next_sync FROM mailboxes
		WHERE enabled AND NOT error AND next_sync <= $1 ORDER BY next_sync, address LIMIT $2`, ts(before), limit)
	if err != nil {
		return nil, fmt.Errorf("reading the mailboxes due: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Due, error) {
		var (
			d    Due
			next pgtype.Timestamptz
		)
		err := r.Scan(&d.Address, &d.Provider, &next)
		d.NextSync = tm(next)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the mailboxes due: %w", err)
	}
	return out, nil
}

// MinSyncRequestInterval is the least time between two forced syncs of a
// mailbox (RequestSync).
const MinSyncRequestInterval = time.Minute

// RequestSync records a forced sync of the mailbox: if the last one was
// asked less than a minute before now it returns ok = false and when the
// next may be asked; otherwise it sets next_sync = now and returns
// ok = true. ErrUnknownMailbox if the store does not hold it.
func (s *Store) RequestSync(ctx context.Context, address string, now time.Time) (ok bool, notBefore time.Time, err error) {
	a := account(address)
	// One statement: the update when the last request is not within the
	// minute before now, and the last request's time either way (the
	// row is locked by the update's attempt, so two requests at once take
	// turns as they did in a transaction).
	var asked pgtype.Timestamptz
	err = s.pool.QueryRow(ctx, `WITH m AS (SELECT id, sync_asked FROM mailboxes WHERE address = $1 FOR UPDATE),
		u AS (UPDATE mailboxes SET sync_asked = $2, next_sync = $2 FROM m WHERE mailboxes.id = m.id
			AND NOT (m.sync_asked IS NOT NULL AND m.sync_asked <= $2 AND $2 < m.sync_asked + $3::interval) RETURNING 1)
		SELECT m.sync_asked, EXISTS (SELECT 1 FROM u) FROM m`, a, ts(now), MinSyncRequestInterval).Scan(&asked, &ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, time.Time{}, unknownMailbox(a)
	}
	if err != nil {
		return false, time.Time{}, fmt.Errorf("asking for a sync of %s: %w", a, err)
	}
	if !ok {
		notBefore = asked.Time.UTC().Add(MinSyncRequestInterval)
	}
	return ok, notBefore, nil
}

// Setting returns the organisation setting key (JSON text); ok is false if
// it is not set.
func (s *Store) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.pool.QueryRow(ctx, "SELECT value FROM settings WHERE key = $1", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading the organisation setting %s: %w", key, err)
	}
	return v, true, nil
}

// SetSetting stores value (JSON text) as the organisation setting key.
// Settings are not secret: never put a key, secret or token in one.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	if key == "" {
		return fmt.Errorf("%w: an organisation setting needs a name", api.ErrInvalid)
	}
	if !json.Valid([]byte(value)) {
		return fmt.Errorf("%w: the organisation setting %s is not valid JSON", api.ErrInvalid, key)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value)
	if err != nil {
		return fmt.Errorf("saving the organisation setting %s: %w", key, err)
	}
	return nil
}

// sorted sorts a and returns it.
func sorted(a []string) []string {
	slices.Sort(a)
	return a
}
