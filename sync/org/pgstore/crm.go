package pgstore

// The organisation's CRM outbox (crm.Outbox): which items are logged,
// skipped or failed, and which wait. See migrations/005_crm_outbox.sql for
// why most of the state is derived from the items themselves.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// CRMConnection is the organisation's CRM connection as the store knows
// it: logging runs only while it is active.
type CRMConnection struct {
	CRM         string    `json:"crm"`
	Org         string    `json:"org"`
	ConnectedAt time.Time `json:"connected_at"`
	// Since is the start of the history window: items stored before the
	// connection are logged only if their time is at or after it.
	Since  time.Time `json:"since"`
	Active bool      `json:"active"`
}

const keyCRMConnection = "crm.connection"

// ConnectCRM records the organisation's CRM connection. Connecting to
// another org than the last one forgets every CRM state (the record ids
// are the other org's).
func (s *Store) ConnectCRM(ctx context.Context, c CRMConnection) error {
	if c.CRM == "" {
		return errors.New("pgstore: a CRM connection needs a CRM")
	}
	c.Active = true
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var old string
		err := tx.QueryRow(ctx, "SELECT value FROM settings WHERE key = $1 FOR UPDATE", keyCRMConnection).Scan(&old)
		if err == nil {
			var prev CRMConnection
			if json.Unmarshal([]byte(old), &prev) == nil && prev.Org != c.Org {
				if _, err := tx.Exec(ctx, "DELETE FROM crm_items"); err != nil {
					return err
				}
			}
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, keyCRMConnection, string(b))
		return err
	})
}

// DisconnectCRM marks the connection inactive and forgets the states of
// items not logged (a new connection decides them again).
func (s *Store) DisconnectCRM(ctx context.Context) error {
	c, ok, err := s.CRMConnection(ctx)
	if err != nil || !ok {
		return err
	}
	c.Active = false
	b, _ := json.Marshal(c)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE settings SET value = $2 WHERE key = $1", keyCRMConnection, string(b)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM crm_items WHERE state <> 'logged'")
		return err
	})
}

// CRMConnection returns the CRM connection; ok is false when none was
// ever made.
func (s *Store) CRMConnection(ctx context.Context) (c CRMConnection, ok bool, err error) {
	v, ok, err := s.Setting(ctx, keyCRMConnection)
	if err != nil || !ok {
		return c, false, err
	}
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return c, false, fmt.Errorf("reading the CRM connection: %w", err)
	}
	return c, true, nil
}

// Outbox returns the CRM outbox of one mailbox (all mailboxes for "").
// now stamps the saved outcomes (nil: time.Now).
func (s *Store) Outbox(mailbox string, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{s: s, mailbox: account(mailbox), now: now}
}

// Outbox is the organisation store's crm.Outbox for one mailbox (or all).
type Outbox struct {
	s       *Store
	mailbox string
	now     func() time.Time
}

var _ crm.Outbox = (*Outbox)(nil)

// outboxKey names an item and the version of it an entry was read at.
func outboxKey(item int64, rev int, deleted bool) string {
	d := "0"
	if deleted {
		d = "1"
	}
	return strconv.FormatInt(item, 10) + "." + strconv.Itoa(rev) + "." + d
}

func parseOutboxKey(k string) (item int64, rev int, deleted bool, err error) {
	parts := strings.Split(k, ".")
	if len(parts) == 3 && (parts[2] == "0" || parts[2] == "1") {
		item, err = strconv.ParseInt(parts[0], 10, 64)
		if err == nil {
			rev, err = strconv.Atoi(parts[1])
		}
		if err == nil {
			return item, rev, parts[2] == "1", nil
		}
	}
	return 0, 0, false, fmt.Errorf("pgstore: %q is not an outbox key", k)
}

// pendingSQL selects the items to hand to the logger, oldest first:
//   - items without a CRM state, not deleted, in the history window or
//     stored since the connection;
//   - pending ones, and failed ones worth another attempt;
//   - items changed since their state was decided (another rev, or
//     deleted/undeleted), unless nothing is left to do: a skipped item
//     that is now deleted, or an Event deleted in Salesforce.
//
// %s selects the mailbox ($1, empty for all), $2 since, $3 connected_at, $4 max attempts, $5 the
// Event-gone reason, $6 limit.
const pendingSQL = `SELECT i.id, i.rev, i.deleted, m.address, coalesce(c.state, ''), coalesce(c.record_id, ''),
	coalesce(c.object, ''), coalesce(c.attempts, 0),
	i.provider_id, i.folder, i.kind, i.message_id, i.conversation_id, i.subject, i.from_addr, i.to_addrs, i.cc_addrs,
	i.time, i.preview, i.start_time, i.end_time, i.location, i.organizer, i.attendees, i.sensitivity, i.categories
	FROM items i JOIN mailboxes m ON m.id = i.mailbox_id
	LEFT JOIN crm_items c ON c.item = i.id
	WHERE %s AND (
		(c.item IS NULL AND NOT i.deleted AND (i.time >= $2 OR i.first_seen >= $3))
		OR c.state = 'pending'
		OR (c.state = 'failed' AND c.retryable AND c.attempts < $4 AND c.item_rev = i.rev AND c.item_deleted = i.deleted)
		OR ((c.item_rev <> i.rev OR c.item_deleted <> i.deleted)
			AND NOT (c.state = 'skipped' AND (i.deleted OR c.reason = $5))))
	ORDER BY c.state = 'failed', i.time NULLS FIRST, i.id
	LIMIT $6`

// Pending returns up to limit entries to log, oldest first (see pendingSQL),
// each with the people its conversation's logged items were logged to.
func (o *Outbox) Pending(ctx context.Context, limit int) ([]crm.Entry, error) {
	if limit <= 0 {
		return nil, nil
	}
	c, ok, err := o.s.CRMConnection(ctx)
	if err != nil || !ok || !c.Active {
		return nil, err
	}
	// One mailbox's items through its index; all mailboxes' otherwise
	// (an OR of the two would scan every mailbox's items each time).
	which := "i.mailbox_id = (SELECT id FROM mailboxes WHERE address = $1)"
	if o.mailbox == "" {
		which = "$1 = ''"
	}
	rows, err := o.s.pool.Query(ctx, fmt.Sprintf(pendingSQL, which), o.mailbox, ts(c.Since), ts(c.ConnectedAt), crm.MaxAttempts, crm.ReasonEventGone, limit)
	if err != nil {
		return nil, fmt.Errorf("reading the CRM outbox: %w", err)
	}
	var mailboxes []string
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crm.Entry, error) {
		var (
			e               crm.Entry
			id              int64
			rev             int
			mailbox         string
			state           string
			folder, kind    string
			tm0, start, end pgtype.Timestamptz
			it              = &e.Item
			deleted         bool
		)
		err := r.Scan(&id, &rev, &deleted, &mailbox, &state, &e.RecordID, &e.Object, &e.Attempts,
			&it.ProviderID, &folder, &kind, &it.MessageID, &it.ConversationID, &it.Subject, &it.From, &it.To, &it.Cc,
			&tm0, &it.Preview, &start, &end, &it.Location, &it.Organizer, &it.Attendees, &it.Sensitivity, &it.Categories)
		e.Key, e.Deleted, e.State = outboxKey(id, rev, deleted), deleted, api.CRMState(state)
		it.Folder, it.Kind = api.Folder(folder), api.Kind(kind)
		it.Time, it.Start, it.End = tm(tm0), tm(start), tm(end)
		it.To, it.Cc, it.Attendees, it.Categories = nilIfEmpty(it.To), nilIfEmpty(it.Cc), nilIfEmpty(it.Attendees), nilIfEmpty(it.Categories)
		mailboxes = append(mailboxes, mailbox)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the CRM outbox: %w", err)
	}
	return out, o.threads(ctx, out, mailboxes)
}

// threads fills each entry's Thread: the people the other logged items of
// its mailbox and conversation were logged to.
func (o *Outbox) threads(ctx context.Context, entries []crm.Entry, mailboxes []string) error {
	var addrs, convs []string
	seen := map[[2]string]bool{}
	for i, e := range entries {
		k := [2]string{mailboxes[i], e.Item.ConversationID}
		if k[1] != "" && !seen[k] {
			seen[k] = true
			addrs, convs = append(addrs, k[0]), append(convs, k[1])
		}
	}
	if len(convs) == 0 {
		return nil
	}
	rows, err := o.s.pool.Query(ctx, `SELECT m.address, c.conversation_id, c.item, c.people
		FROM unnest($1::text[], $2::text[]) AS k(address, conv)
		JOIN mailboxes m ON m.address = k.address
		JOIN crm_items c ON c.mailbox_id = m.id AND c.conversation_id = k.conv
		WHERE c.state = 'logged' AND c.people <> ''`, addrs, convs)
	if err != nil {
		return fmt.Errorf("reading the CRM threads: %w", err)
	}
	type logged struct {
		item   int64
		people []crm.Person
	}
	found := map[[2]string][]logged{}
	for rows.Next() {
		var (
			k      [2]string
			item   int64
			people string
		)
		if err := rows.Scan(&k[0], &k[1], &item, &people); err != nil {
			rows.Close()
			return err
		}
		var ps []crm.Person
		if err := json.Unmarshal([]byte(people), &ps); err != nil {
			rows.Close()
			return fmt.Errorf("pgstore: the CRM people of item %d: %w", item, err)
		}
		found[k] = append(found[k], logged{item, ps})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range entries {
		self, _, _, _ := parseOutboxKey(entries[i].Key)
		have := map[string]bool{}
		for _, l := range found[[2]string{mailboxes[i], entries[i].Item.ConversationID}] {
			if l.item == self {
				continue
			}
			for _, p := range l.people {
				if !have[p.ID] {
					have[p.ID] = true
					entries[i].Thread = append(entries[i].Thread, p)
				}
			}
		}
	}
	return nil
}

// saveSQL stores an outcome for the version of the item its key names. A
// Failed outcome counts one more attempt and keeps the record a failed
// attempt made when it names none; an outcome without a rule or people
// keeps those stored.
const saveSQL = `INSERT INTO crm_items AS c (item, mailbox_id, item_rev, item_deleted, state, record_id, object,
		reason, rule, people, retryable, attempts, saved_at, conversation_id)
	SELECT i.id, i.mailbox_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $4 = 'failed' THEN 1 ELSE 0 END, $11,
		i.conversation_id
	FROM items i WHERE i.id = $1
	ON CONFLICT (item) DO UPDATE SET item_rev = excluded.item_rev, item_deleted = excluded.item_deleted,
		conversation_id = excluded.conversation_id,
		state = excluded.state,
		record_id = CASE WHEN excluded.state = 'failed' AND excluded.record_id = '' THEN c.record_id ELSE excluded.record_id END,
		object = CASE WHEN excluded.state = 'failed' AND excluded.record_id = '' THEN c.object ELSE excluded.object END,
		reason = excluded.reason,
		rule = CASE WHEN excluded.rule = '' THEN c.rule ELSE excluded.rule END,
		people = CASE WHEN excluded.state <> 'logged' THEN '' WHEN excluded.people = '' THEN c.people ELSE excluded.people END,
		retryable = excluded.retryable,
		attempts = CASE excluded.state WHEN 'failed' THEN c.attempts + 1 WHEN 'logged' THEN 0 ELSE c.attempts END,
		saved_at = excluded.saved_at`

// Save stores outcomes in one transaction. An outcome for an older
// version of the item (the mailbox changed it while the run logged it) is
// stored for that version: the item is offered again, with the record
// the run made, so the next run updates or keeps it instead of making
// another.
func (o *Outbox) Save(ctx context.Context, outcomes []crm.Outcome) error {
	now := ts(o.now())
	b := &pgx.Batch{}
	for _, oc := range outcomes {
		item, rev, deleted, err := parseOutboxKey(oc.Key)
		if err != nil {
			return err
		}
		switch oc.State {
		case api.CRMPending, api.CRMLogged, api.CRMSkipped, api.CRMFailed:
		default:
			return fmt.Errorf("pgstore: outcome %s has no CRM state", oc.Key)
		}
		people := ""
		if len(oc.People) > 0 {
			p, err := json.Marshal(oc.People)
			if err != nil {
				return err
			}
			people = string(p)
		}
		b.Queue(saveSQL, item, rev, deleted, string(oc.State), oc.RecordID, oc.Object, oc.Reason, oc.Rule, people, oc.Retryable, now)
	}
	if b.Len() == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, o.s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("saving CRM outcomes: %w", err)
	}
	return nil
}

// CRMCounts returns how many items of a mailbox ("" all) are in each CRM
// state; pending counts the items waiting (derived ones included).
func (s *Store) CRMCounts(ctx context.Context, mailbox string) (map[api.CRMState]int, error) {
	var only []string
	if mailbox != "" {
		only = []string{mailbox}
	}
	by, err := s.CRMCountsFor(ctx, only)
	if err != nil {
		return nil, err
	}
	out := map[api.CRMState]int{}
	for _, m := range by {
		for st, n := range m {
			out[st] += n
		}
	}
	return out, nil
}

// CRMStanding is how a mailbox's last CRM run went.
type CRMStanding struct {
	User     string    // the Salesforce username it logged as ("" none)
	Reason   string    // why it logged nothing or stopped, in words ("" fine)
	LastRun  time.Time // when the run started
	Requests int64     // the Salesforce API requests it took
}

// SaveCRMStanding records the mailbox's last CRM run.
func (s *Store) SaveCRMStanding(ctx context.Context, address string, st CRMStanding) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO crm_mailboxes (mailbox_id, username, reason, last_run, requests)
		SELECT id, $2, $3, $4, $5 FROM mailboxes WHERE address = $1
		ON CONFLICT (mailbox_id) DO UPDATE SET username = excluded.username, reason = excluded.reason,
			last_run = excluded.last_run, requests = excluded.requests`,
		account(address), st.User, st.Reason, ts(st.LastRun), st.Requests)
	if err != nil {
		return fmt.Errorf("recording the CRM run of %s: %w", address, err)
	}
	if tag.RowsAffected() == 0 {
		return unknownMailbox(account(address))
	}
	return nil
}

// CRMStandings returns the last CRM run of each mailbox that had one, by
// address.
func (s *Store) CRMStandings(ctx context.Context) (map[string]CRMStanding, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.address, c.username, c.reason, c.last_run, c.requests
		FROM crm_mailboxes c JOIN mailboxes m ON m.id = c.mailbox_id`)
	if err != nil {
		return nil, fmt.Errorf("reading the CRM runs: %w", err)
	}
	defer rows.Close()
	out := map[string]CRMStanding{}
	for rows.Next() {
		var (
			a  string
			st CRMStanding
			at pgtype.Timestamptz
		)
		if err := rows.Scan(&a, &st.User, &st.Reason, &at, &st.Requests); err != nil {
			return nil, err
		}
		st.LastRun = tm(at)
		out[a] = st
	}
	return out, rows.Err()
}

// CRMCountsFor returns CRMCounts for each of the addresses (a page of the
// console's table; nil: every mailbox), by address, in one statement.
// Mailboxes without items are left out.
func (s *Store) CRMCountsFor(ctx context.Context, addresses []string) (map[string]map[api.CRMState]int, error) {
	out := map[string]map[api.CRMState]int{}
	c, ok, err := s.CRMConnection(ctx)
	if err != nil || !ok || (addresses != nil && len(addresses) == 0) {
		return out, err
	}
	var only []string // NULL: every mailbox
	if addresses != nil {
		only = lowerAll(addresses)
	}
	rows, err := s.pool.Query(ctx, `SELECT m.address, coalesce(c.state, 'pending'), count(*)
		FROM mailboxes m JOIN items i ON i.mailbox_id = m.id LEFT JOIN crm_items c ON c.item = i.id
		WHERE ($3::text[] IS NULL OR m.address = ANY($3::text[]))
			AND (c.item IS NOT NULL OR (NOT i.deleted AND (i.time >= $1 OR i.first_seen >= $2)))
		GROUP BY 1, 2`, ts(c.Since), ts(c.ConnectedAt), only)
	if err != nil {
		return nil, fmt.Errorf("counting CRM states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a, st string
			n     int
		)
		if err := rows.Scan(&a, &st, &n); err != nil {
			return nil, err
		}
		if out[a] == nil {
			out[a] = map[api.CRMState]int{}
		}
		out[a][api.CRMState(st)] = n
	}
	return out, rows.Err()
}

// CRMStandingOf returns the mailbox's last CRM run; ok is false when it
// had none.
func (s *Store) CRMStandingOf(ctx context.Context, address string) (st CRMStanding, ok bool, err error) {
	var at pgtype.Timestamptz
	err = s.pool.QueryRow(ctx, `SELECT c.username, c.reason, c.last_run, c.requests
		FROM crm_mailboxes c JOIN mailboxes m ON m.id = c.mailbox_id WHERE m.address = $1`, account(address)).
		Scan(&st.User, &st.Reason, &at, &st.Requests)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("reading the CRM run of %s: %w", address, err)
	}
	st.LastRun = tm(at)
	return st, true, nil
}
