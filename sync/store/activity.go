package store

// Reading the activity: the query the CLI, the dashboard and the control
// API share.

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// ActivityQuery selects items for Activity. It travels over the control
// socket as JSON.
type ActivityQuery struct {
	// Account limits the items to one account; "" means all accounts.
	Account string `json:"account,omitempty"`
	// Since, if not zero, limits the items to those with Time at or after
	// it.
	Since time.Time `json:"since,omitzero"`
	// Limit is the most items returned; 0 (or less) means 100.
	Limit int `json:"limit,omitempty"`
	// Search, if not empty, keeps the items whose subject, sender,
	// recipients or preview contain it, case-insensitively (ASCII letters).
	Search string `json:"search,omitempty"`
	// IncludeDeleted includes the items marked deleted.
	IncludeDeleted bool `json:"include_deleted,omitempty"`
}

// DefaultActivityLimit is the number of items Activity returns when the
// query has no Limit.
const DefaultActivityLimit = 100

const itemCols = `id, account, provider_id, folder, kind, message_id, conversation_id, subject, from_addr,
	to_addrs, cc_addrs, time, preview, start_time, end_time, location, organizer, attendees, deleted,
	first_seen, updated_at`

// crmCols are an item's CRM state (crm_items AS c, perhaps LEFT JOINed:
// NULL when the item has none).
const crmCols = `c.state, c.record_id, c.object, c.reason, c.attempts`

// escapeLike escapes s for a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string { return likeEscaper.Replace(s) }

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Activity returns stored items, newest first (by Item.Time; items without a
// time last), filtered by q.
func (s *Store) Activity(ctx context.Context, q ActivityQuery) ([]Item, error) {
	if q.Limit <= 0 {
		q.Limit = DefaultActivityLimit
	}
	if q.Account != "" {
		items, _, err := s.activity(ctx, q)
		return items, err
	}
	// Across accounts: one query per account, each walking its (account,
	// time) index, merged here.
	rows, err := s.db.QueryContext(ctx, "SELECT id FROM accounts")
	if err != nil {
		return nil, err
	}
	var accounts []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		accounts = append(accounts, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	type ranked struct {
		Item
		rowid int64
	}
	var all []ranked
	for _, a := range accounts {
		q.Account = a
		items, ids, err := s.activity(ctx, q)
		if err != nil {
			return nil, err
		}
		for i := range items {
			all = append(all, ranked{items[i], ids[i]})
		}
	}
	slices.SortStableFunc(all, func(a, b ranked) int {
		// Newest first; the zero time (no time) last.
		switch {
		case a.Time.IsZero() != b.Time.IsZero():
			if a.Time.IsZero() {
				return 1
			}
			return -1
		case !a.Time.Equal(b.Time):
			return b.Time.Compare(a.Time)
		case a.rowid != b.rowid:
			if a.rowid > b.rowid {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Account, b.Account)
	})
	if len(all) > q.Limit {
		all = all[:q.Limit]
	}
	out := make([]Item, len(all))
	for i := range all {
		out[i] = all[i].Item
	}
	return out, nil
}

// activity runs q for one account and also returns the items' row ids.
func (s *Store) activity(ctx context.Context, q ActivityQuery) ([]Item, []int64, error) {
	var (
		sb   strings.Builder
		args = []any{q.Account}
	)
	// arg adds a parameter and returns its placeholder.
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("?%d", len(args))
	}
	sb.WriteString("SELECT " + itemCols + ", " + crmCols + " FROM items LEFT JOIN crm_items c ON c.item = items.id WHERE account = ?1")
	if !q.IncludeDeleted {
		sb.WriteString(" AND deleted = 0")
	}
	if !q.Since.IsZero() {
		sb.WriteString(" AND time >= " + arg(timeNanos(q.Since)))
	}
	if q.Search != "" {
		p := arg("%" + escapeLike(q.Search) + "%")
		sb.WriteString(" AND (")
		for i, col := range []string{"subject", "from_addr", "to_addrs", "cc_addrs", "preview"} {
			if i > 0 {
				sb.WriteString(" OR ")
			}
			sb.WriteString(col + " LIKE " + p + ` ESCAPE '\'`)
		}
		sb.WriteString(")")
	}
	sb.WriteString(" ORDER BY time DESC, id DESC LIMIT " + arg(q.Limit))
	query := sb.String()
	return s.queryItemIDs(ctx, query, args...)
}

// queryItems runs a query that selects itemCols and crmCols.
func (s *Store) queryItems(ctx context.Context, query string, args ...any) ([]Item, error) {
	items, _, err := s.queryItemIDs(ctx, query, args...)
	return items, err
}

// queryItemIDs runs a query that selects itemCols and crmCols, and also
// returns the items' row ids.
func (s *Store) queryItemIDs(ctx context.Context, query string, args ...any) ([]Item, []int64, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		items []Item
		ids   []int64
	)
	for rows.Next() {
		var (
			it                                   Item
			id                                   int64
			folder, kind, to, cc, attendees      string
			tm, start, end, firstSeen, updatedAt sql.NullInt64
			crmState, record, object, reason     sql.NullString
			attempts                             sql.NullInt64
		)
		if err := rows.Scan(&id, &it.Account, &it.ProviderID, &folder, &kind, &it.MessageID, &it.ConversationID,
			&it.Subject, &it.From, &to, &cc, &tm, &it.Preview, &start, &end, &it.Location, &it.Organizer,
			&attendees, &it.Deleted, &firstSeen, &updatedAt, &crmState, &record, &object, &reason, &attempts); err != nil {
			return nil, nil, err
		}
		it.Folder, it.Kind = provider.Folder(folder), provider.Kind(kind)
		it.To, it.Cc, it.Attendees = splitAddrs(to), splitAddrs(cc), splitAddrs(attendees)
		it.Time, it.Start, it.End = decTime(tm), decTime(start), decTime(end)
		it.FirstSeen, it.UpdatedAt = decTime(firstSeen), decTime(updatedAt)
		if crmState.Valid {
			it.CRM = &CRMState{State: crm.State(crmState.String), RecordID: record.String, Object: object.String,
				Reason: reason.String, Attempts: int(attempts.Int64)}
		}
		items = append(items, it)
		ids = append(ids, id)
	}
	return items, ids, rows.Err()
}

// CountItems returns the number of items of account not marked deleted;
// account "" counts all accounts' items.
func (s *Store) CountItems(ctx context.Context, account string) (int, error) {
	var n int
	var err error
	if account == "" {
		err = s.db.QueryRowContext(ctx, "SELECT count(*) FROM items WHERE deleted = 0").Scan(&n)
	} else {
		err = s.db.QueryRowContext(ctx, "SELECT count(*) FROM items WHERE account = ? AND deleted = 0", account).Scan(&n)
	}
	return n, err
}
