package store

// The CRM outbox (docs/architecture.md §5, issue 11): each item to log has a CRM
// state, written in the transaction that stores the item, so that a crash
// at any point resumes where it stopped.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
)

// CRMConnection is the agent's CRM connection as the store knows it.
type CRMConnection struct {
	// CRM names the CRM ("salesforce").
	CRM string
	// Org identifies the CRM org or instance. Connecting to another org
	// than the last one forgets every item's CRM state (its record ids
	// belong to the other org).
	Org string
	// ConnectedAt is when the connection was made.
	ConnectedAt time.Time
	// Since is the start of the history window: the items stored before
	// the connection are logged only if their time is at or after it.
	Since time.Time
	// Active is false once the connection was disconnected.
	Active bool
}

// ConnectCRM records that the CRM connection c was made (replacing any
// earlier one) and queues the stored items of the history window: those not
// marked deleted whose time is at or after c.Since and that have no CRM
// state yet. Items outside the window are never logged. It returns the
// number of items queued.
func (s *Store) ConnectCRM(ctx context.Context, c CRMConnection) (int, error) {
	if c.CRM == "" {
		return 0, errors.New("store: a CRM connection needs a CRM")
	}
	var queued int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var org string
		err := tx.QueryRowContext(ctx, `SELECT org FROM crm_connection WHERE id = 1`).Scan(&org)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case org != c.Org:
			// Another org: the record ids are the old org's.
			if _, err := tx.ExecContext(ctx, `DELETE FROM crm_items`); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO crm_connection(id, crm, org, active, connected_at, since)
			VALUES (1, ?, ?, 1, ?, ?)
			ON CONFLICT(id) DO UPDATE SET crm = excluded.crm, org = excluded.org, active = 1,
				connected_at = excluded.connected_at, since = excluded.since`,
			c.CRM, c.Org, encTime(c.ConnectedAt), encTime(c.Since)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO crm_items(item, saved_at)
			SELECT id, ? FROM items WHERE deleted = 0 AND time IS NOT NULL AND time >= ?
				AND account NOT IN `+removingSQL+`
			ON CONFLICT(item) DO NOTHING`, encTime(c.ConnectedAt), timeNanos(c.Since))
		if err != nil {
			return err
		}
		queued, err = res.RowsAffected()
		return err
	})
	return int(queued), err
}

// DisconnectCRM ends the CRM connection: items stored from now on are not
// queued, and the states of items not logged are forgotten (a new
// connection queues its history window again). Logged items keep their
// record ids, so that connecting again to the same org logs nothing twice.
func (s *Store) DisconnectCRM(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE crm_connection SET active = 0`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM crm_items WHERE state != 'logged'`)
		return err
	})
}

// CRMConnection returns the CRM connection, active or not; ok is false
// when none was ever made.
func (s *Store) CRMConnection(ctx context.Context) (c CRMConnection, ok bool, err error) {
	var at, since sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT crm, org, active, connected_at, since FROM crm_connection WHERE id = 1`).
		Scan(&c.CRM, &c.Org, &c.Active, &at, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return CRMConnection{}, false, nil
	}
	if err != nil {
		return CRMConnection{}, false, err
	}
	c.ConnectedAt, c.Since = decTime(at), decTime(since)
	return c, true, nil
}

// CRMCounts returns the number of items in each CRM state.
func (s *Store) CRMCounts(ctx context.Context) (map[api.CRMState]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, count(*) FROM crm_items GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[api.CRMState]int{}
	for rows.Next() {
		var (
			st string
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[api.CRMState(st)] = n
	}
	return out, rows.Err()
}

// CRMFailures returns up to limit items the CRM refused, newest first,
// with the reason in words.
func (s *Store) CRMFailures(ctx context.Context, limit int) ([]api.StoredItem, error) {
	if limit <= 0 {
		limit = api.DefaultActivityLimit
	}
	items, _, err := s.queryItems(ctx, `SELECT `+aliasedItemCols+` FROM crm_items c JOIN items i ON i.id = c.item
		WHERE c.state = 'failed' AND i.account NOT IN `+removingSQL+` ORDER BY c.saved_at DESC, c.item DESC LIMIT ?`, []any{limit})
	return items, err
}

// CRMIssues returns the items of account ("" for all) the CRM refused as
// issues, newest first, at most limit (0: DefaultIssueLimit): the CRM part
// of the Issues tab. Their ID is 0: they are not rows of the issues table.
func (s *Store) CRMIssues(ctx context.Context, account string, limit int) ([]api.Issue, error) {
	if limit <= 0 {
		limit = api.DefaultIssueLimit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT items.account, items.provider_id, items.folder, items.subject,
		c.reason, c.attempts, c.saved_at
		FROM crm_items c JOIN items ON items.id = c.item
		WHERE c.state = 'failed' AND (?1 = '' OR items.account = ?1) AND items.account NOT IN `+removingSQL+`
		ORDER BY c.saved_at DESC, c.item DESC LIMIT ?2`, account, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Issue
	for rows.Next() {
		var (
			is              api.Issue
			folder, subject string
			reason          string
			attempts        int
			saved           sql.NullInt64
		)
		if err := rows.Scan(&is.Account, &is.ProviderID, &folder, &subject, &reason, &attempts, &saved); err != nil {
			return nil, err
		}
		is.Folder, is.Time = api.Folder(folder), decTime(saved)
		if subject == "" {
			subject = "(no subject)"
		}
		is.Message = fmt.Sprintf("Not logged to Salesforce: %s (“%s”, %d of %d attempts)", strings.TrimSuffix(reason, "."), subject, attempts, crm.MaxAttempts)
		out = append(out, is)
	}
	return out, rows.Err()
}

// Outbox returns the store's CRM outbox. now stamps the saved outcomes.
func (s *Store) Outbox(now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{s: s, now: now}
}

// Outbox is the store's crm.Outbox: the items to log and their outcomes.
type Outbox struct {
	s   *Store
	now func() time.Time
}

var _ crm.Outbox = (*Outbox)(nil)

// outboxKey is an Entry's key: the item's row id and the generation of its
// CRM state the entry was read at.
func outboxKey(item, gen int64) string {
	return strconv.FormatInt(item, 10) + "." + strconv.FormatInt(gen, 10)
}

func parseOutboxKey(k string) (item, gen int64, err error) {
	a, b, ok := strings.Cut(k, ".")
	if ok {
		item, err = strconv.ParseInt(a, 10, 64)
		if err == nil {
			gen, err = strconv.ParseInt(b, 10, 64)
		}
	}
	if !ok || err != nil {
		return 0, 0, fmt.Errorf("store: %q is not an outbox key", k)
	}
	return item, gen, nil
}

// Pending returns up to limit entries to log, oldest item first: the
// pending ones, then the failed ones worth another attempt (retryable and
// under crm.MaxAttempts attempts). The items of an account being removed
// (DeleteAccount) are never offered.
func (o *Outbox) Pending(ctx context.Context, limit int) ([]crm.Entry, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := o.s.db.QueryContext(ctx, `SELECT c.item, c.gen, c.state, c.record_id, c.object, c.attempts,
		items.account, items.provider_id, items.folder, items.kind, items.message_id, items.conversation_id, items.subject,
		items.from_addr, items.to_addrs, items.cc_addrs, items.time, items.preview, items.start_time,
		items.end_time, items.location, items.organizer, items.attendees, items.sensitivity, items.categories,
		items.deleted
		FROM crm_items c JOIN items ON items.id = c.item
		WHERE (c.state = 'pending' OR (c.state = 'failed' AND c.retryable = 1 AND c.attempts < ?))
			AND items.account NOT IN `+removingSQL+`
		ORDER BY c.state = 'failed', items.time, c.item LIMIT ?`, crm.MaxAttempts, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		out      []crm.Entry
		accounts []string
		items    []int64
	)
	for rows.Next() {
		var (
			e                                        crm.Entry
			item, gen                                int64
			account, state, folder, kind, to, cc, at string
			cat                                      string
			tm, start, end                           sql.NullInt64
			it                                       = &e.Item
		)
		if err := rows.Scan(&item, &gen, &state, &e.RecordID, &e.Object, &e.Attempts,
			&account, &it.ProviderID, &folder, &kind, &it.MessageID, &it.ConversationID, &it.Subject,
			&it.From, &to, &cc, &tm, &it.Preview, &start, &end, &it.Location, &it.Organizer, &at,
			&it.Sensitivity, &cat, &e.Deleted); err != nil {
			return nil, err
		}
		e.Key, e.State = outboxKey(item, gen), api.CRMState(state)
		it.Folder, it.Kind = api.Folder(folder), api.Kind(kind)
		it.To, it.Cc, it.Attendees, it.Categories = splitAddrs(to), splitAddrs(cc), splitAddrs(at), splitAddrs(cat)
		it.Time, it.Start, it.End = decTime(tm), decTime(start), decTime(end)
		out = append(out, e)
		accounts, items = append(accounts, account), append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return out, o.threads(ctx, out, accounts, items)
}

// threads fills each entry's Thread: the people the other logged items of
// its mailbox and conversation were logged to.
func (o *Outbox) threads(ctx context.Context, entries []crm.Entry, accounts []string, items []int64) error {
	type conv struct{ account, id string }
	want := map[conv]bool{}
	var ids []string
	for i, e := range entries {
		if c := (conv{accounts[i], e.Item.ConversationID}); c.id != "" && !want[c] {
			want[c] = true
			ids = append(ids, c.id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	rows, err := o.s.db.QueryContext(ctx, `SELECT items.account, c.conversation_id, c.item, c.people
		FROM crm_items c JOIN items ON items.id = c.item
		WHERE c.state = 'logged' AND c.people != ''
			AND c.conversation_id IN (SELECT value FROM json_each(?))`, string(b))
	if err != nil {
		return err
	}
	defer rows.Close()
	type logged struct {
		item   int64
		people []crm.Person
	}
	found := map[conv][]logged{}
	for rows.Next() {
		var (
			c      conv
			item   int64
			people string
		)
		if err := rows.Scan(&c.account, &c.id, &item, &people); err != nil {
			return err
		}
		if !want[c] {
			continue
		}
		var ps []crm.Person
		if err := json.Unmarshal([]byte(people), &ps); err != nil {
			return fmt.Errorf("store: the CRM people of item %d: %w", item, err)
		}
		found[c] = append(found[c], logged{item, ps})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range entries {
		seen := map[string]bool{}
		for _, l := range found[conv{accounts[i], entries[i].Item.ConversationID}] {
			if l.item == items[i] {
				continue
			}
			for _, p := range l.people {
				if !seen[p.ID] {
					seen[p.ID] = true
					entries[i].Thread = append(entries[i].Thread, p)
				}
			}
		}
	}
	return nil
}

// peopleJSON is the people column of an outcome: "" when it has none.
func peopleJSON(ps []crm.Person) (string, error) {
	if len(ps) == 0 {
		return "", nil
	}
	b, err := json.Marshal(ps)
	return string(b), err
}

// Save stores outcomes in one transaction. A Failed outcome counts one
// more attempt; a Logged one clears the attempts. A Failed outcome without
// a record keeps the record the item was logged as.
//
// When the mailbox changed the item after Pending read it (the key's
// generation is old), the outcome is not stored, except its record: the
// item stays pending, and the next run updates that record (a meeting) or
// keeps it (a mail) instead of creating another.
func (o *Outbox) Save(ctx context.Context, outcomes []crm.Outcome) error {
	now := encTime(o.now())
	return o.s.write(ctx, func(tx *sql.Tx) error {
		save, err := tx.PrepareContext(ctx, `UPDATE crm_items SET state = ?1,
			record_id = CASE WHEN ?1 = 'failed' AND ?2 = '' THEN record_id ELSE ?2 END,
			object = CASE WHEN ?1 = 'failed' AND ?2 = '' THEN object ELSE ?3 END,
			reason = ?4, retryable = ?5,
			attempts = CASE ?1 WHEN 'failed' THEN attempts + 1 WHEN 'logged' THEN 0 ELSE attempts END,
			saved_at = ?6,
			rule = CASE WHEN ?9 = '' THEN rule ELSE ?9 END,
			conversation_id = (SELECT conversation_id FROM items WHERE id = ?7),
			people = CASE WHEN ?1 != 'logged' THEN '' WHEN ?10 = '' THEN people ELSE ?10 END
			WHERE item = ?7 AND gen = ?8`)
		if err != nil {
			return err
		}
		defer save.Close()
		for _, oc := range outcomes {
			item, gen, err := parseOutboxKey(oc.Key)
			if err != nil {
				return err
			}
			switch oc.State {
			case api.CRMPending, api.CRMLogged, api.CRMSkipped, api.CRMFailed:
			default:
				return fmt.Errorf("store: outcome %s has no CRM state", oc.Key)
			}
			people, err := peopleJSON(oc.People)
			if err != nil {
				return err
			}
			res, err := save.ExecContext(ctx, string(oc.State), oc.RecordID, oc.Object, oc.Reason,
				boolInt(oc.Retryable), now, item, gen, oc.Rule, people)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n > 0 || oc.RecordID == "" {
				if err != nil {
					return err
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE crm_items SET record_id = ?, object = ? WHERE item = ?`,
				oc.RecordID, oc.Object, item); err != nil {
				return err
			}
		}
		return nil
	})
}

// crmNeverRequeued are the skip reasons a change of the item does not
// undo: an Event deleted in Salesforce is never created again. A change
// may undo every other (a new attendee may match, a mail that came back
// can be logged, a mail marked for Salesforce or no longer private).
var crmNeverRequeued = []any{crm.ReasonEventGone}

// The statements ApplyPage runs while a CRM connection is active; ?2 is
// the account, ?3 the folder, ?4 a JSON array of provider ids.
const (
	crmActiveSQL  = `SELECT 1 FROM crm_connection WHERE id = 1 AND active = 1`
	crmPageItems  = `SELECT id FROM items WHERE account = ?2 AND folder = ?3 AND provider_id IN (SELECT value FROM json_each(?4))`
	crmEnqueueSQL = `INSERT INTO crm_items(item, saved_at)
		SELECT id, ?1 FROM items WHERE account = ?2 AND folder = ?3 AND deleted = 0
			AND provider_id IN (SELECT value FROM json_each(?4))
		ON CONFLICT(item) DO NOTHING`
	// A changed item is handed to the logger again: a meeting's Event is
	// updated; a logged mail is not (an EmailMessage cannot be edited),
	// but the logger notes a mail marked private after it was logged; a
	// skipped one may now be marked for Salesforce or match someone.
	crmChangedSQL = `UPDATE crm_items SET state = 'pending', gen = gen + 1, saved_at = ?1
		WHERE item IN (` + crmPageItems + `)
		AND (state IN ('pending', 'failed', 'logged') OR (state = 'skipped' AND reason != ?5))`
	// A removed item is handed to the logger again when it was logged (to
	// delete a meeting's Event or note that it stays) or is not yet.
	crmRemovedSQL = `UPDATE crm_items SET state = 'pending', gen = gen + 1, saved_at = ?1
		WHERE item IN (` + crmPageItems + `) AND state IN ('pending', 'failed', 'logged')`
	// After a full sync's sweep: the items it marked deleted at ?1.
	crmSweptSQL = `UPDATE crm_items SET state = 'pending', gen = gen + 1, saved_at = ?1
		WHERE item IN (SELECT id FROM items WHERE account = ?2 AND folder = ?3 AND deleted = 1 AND updated_at = ?1)
		AND state IN ('pending', 'failed', 'logged')`
)

// crmChanges collects, per folder, the provider ids of what a page did.
type crmChanges struct {
	added, changed, removed map[api.Folder][]string
}

func (c *crmChanges) note(m *map[api.Folder][]string, f api.Folder, id string) {
	if *m == nil {
		*m = map[api.Folder][]string{}
	}
	(*m)[f] = append((*m)[f], id)
}

// apply writes the CRM states of a page's changes in the page's
// transaction, if a CRM connection is active.
func (c *crmChanges) apply(ctx context.Context, tx *sql.Tx, account string, now any) error {
	if c.added == nil && c.changed == nil && c.removed == nil {
		return nil
	}
	var one int
	if err := tx.QueryRowContext(ctx, crmActiveSQL).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	for _, step := range []struct {
		ids   map[api.Folder][]string
		query string
		extra []any
	}{
		{c.added, crmEnqueueSQL, nil},
		{c.changed, crmChangedSQL, crmNeverRequeued},
		{c.removed, crmRemovedSQL, nil},
	} {
		for f, ids := range step.ids {
			b, err := json.Marshal(ids)
			if err != nil {
				return err
			}
			args := append([]any{now, account, string(f), string(b)}, step.extra...)
			if _, err := tx.ExecContext(ctx, step.query, args...); err != nil {
				return fmt.Errorf("queueing items for the CRM: %w", err)
			}
		}
	}
	return nil
}

// crmSwept re-queues, if a CRM connection is active, the items a full
// sync's sweep marked deleted at now.
func crmSwept(ctx context.Context, tx *sql.Tx, account string, folder api.Folder, now any) error {
	var one int
	if err := tx.QueryRowContext(ctx, crmActiveSQL).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, crmSweptSQL, now, account, string(folder))
	return err
}
