package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Items returns a page of the stored items q selects that are not marked
// deleted, in the order they were first stored (q.After and the page's
// Next page through them).
func (s *Store) Items(ctx context.Context, q api.ItemsQuery) (api.ItemsPage, error) {
	if q.Limit <= 0 {
		q.Limit = api.DefaultItemsLimit
	}
	q.Limit = min(q.Limit, api.MaxItemsLimit)
	args := []any{q.After}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var sb strings.Builder
	sb.WriteString(`SELECT i.id, m.address, i.provider_id, i.folder, i.kind, i.message_id, i.conversation_id, i.subject,
		i.from_addr, i.to_addrs, i.cc_addrs, i.time, i.preview, i.start_time, i.end_time, i.location, i.organizer,
		i.attendees, i.sensitivity, i.categories, i.first_seen, i.updated_at
		FROM items i JOIN mailboxes m ON m.id = i.mailbox_id WHERE i.id > $1 AND NOT i.deleted`)
	if q.Account != "" {
		sb.WriteString(" AND i.mailbox_id = (SELECT id FROM mailboxes WHERE address = " + arg(account(q.Account)) + ")")
	}
	if !q.Since.IsZero() {
		sb.WriteString(" AND i.time >= " + arg(ts(q.Since)))
	}
	if !q.Until.IsZero() {
		sb.WriteString(" AND i.time < " + arg(ts(q.Until)))
	}
	if q.Kind != "" {
		sb.WriteString(" AND i.kind = " + arg(string(q.Kind)))
	}
	if len(q.Folders) > 0 {
		fs := make([]string, len(q.Folders))
		for i, f := range q.Folders {
			fs[i] = string(f)
		}
		sb.WriteString(" AND i.folder = ANY(" + arg(fs) + "::text[])")
	}
	sb.WriteString(" ORDER BY i.id LIMIT " + arg(q.Limit))
	rows, err := s.pool.Query(ctx, sb.String(), args...)
	if err != nil {
		return api.ItemsPage{}, fmt.Errorf("reading items: %w", err)
	}
	var last int64
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (api.StoredItem, error) {
		var (
			it                            api.StoredItem
			folder, kind                  string
			t, start, end, first, updated pgtype.Timestamptz
		)
		err := r.Scan(&last, &it.Account, &it.ProviderID, &folder, &kind, &it.MessageID, &it.ConversationID, &it.Subject,
			&it.From, &it.To, &it.Cc, &t, &it.Preview, &start, &end, &it.Location, &it.Organizer,
			&it.Attendees, &it.Sensitivity, &it.Categories, &first, &updated)
		it.Folder, it.Kind = api.Folder(folder), api.Kind(kind)
		it.Time, it.Start, it.End, it.FirstSeen, it.UpdatedAt = tm(t), tm(start), tm(end), tm(first), tm(updated)
		it.To, it.Cc, it.Attendees, it.Categories = nilIfEmpty(it.To), nilIfEmpty(it.Cc), nilIfEmpty(it.Attendees), nilIfEmpty(it.Categories)
		return it, err
	})
	if err != nil {
		return api.ItemsPage{}, fmt.Errorf("reading items: %w", err)
	}
	page := api.ItemsPage{Items: items}
	if page.Items == nil {
		page.Items = []api.StoredItem{}
	}
	if len(items) == q.Limit {
		page.Next = last
	}
	return page, nil
}

func nilIfEmpty(a []string) []string {
	if len(a) == 0 {
		return nil
	}
	return a
}
