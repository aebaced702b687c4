package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The orders of a MailboxPage (PageQuery.Sort).
const (
	SortAddress  = "address"
	SortProvider = "provider"
	SortState    = "state"
	SortLastSync = "last_sync"
	SortNextSync = "next_sync"
	SortItems    = "items"
)

// sortSQL is each order's ORDER BY, address last so that pages are stable.
var sortSQL = map[string]string{
	SortAddress:  "m.address %s",
	SortProvider: "m.provider %s, m.address",
	SortState:    "(CASE WHEN NOT m.enabled THEN 1 WHEN m.error THEN 2 ELSE 0 END) %s, m.address",
	SortLastSync: "m.last_sync %s NULLS LAST, m.address",
	SortNextSync: "m.next_sync %s, m.address",
	SortItems:    "m.live_items %s, m.address",
}

// PageQuery selects a page of mailboxes for the web console.
type PageQuery struct {
	State  string // StateEnabled, StateDisabled, StateError; "" any
	Search string // part of the address, case-insensitive; "" any
	Sort   string // Sort…; "" is SortAddress
	Desc   bool
	Offset int
	Limit  int // 0: 50; at most 500
}

// MailboxPage is a page of mailboxes with the counts of the whole
// selection.
type MailboxPage struct {
	Mailboxes []Mailbox
	// Total is how many mailboxes the query selects (all pages).
	Total int
	// States counts every mailbox of the organisation by state, whatever
	// the query.
	States map[string]int
}

// likePattern returns s as a LIKE pattern matching any address containing
// it.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(strings.TrimSpace(s))) + "%"
}

// MailboxPage returns the page of mailboxes q selects, in its order.
func (s *Store) MailboxPage(ctx context.Context, q PageQuery) (MailboxPage, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	q.Offset = max(q.Offset, 0)
	order, ok := sortSQL[q.Sort]
	if q.Sort == "" {
		order, ok = sortSQL[SortAddress], true
	}
	if !ok {
		return MailboxPage{}, fmt.Errorf("%w: unknown order %q", api.ErrInvalid, q.Sort)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch q.State {
	case "":
	case StateEnabled:
		where = append(where, "m.enabled AND NOT m.error")
	case StateDisabled:
		where = append(where, "NOT m.enabled")
	case StateError:
		where = append(where, "m.enabled AND m.error")
	default:
		return MailboxPage{}, fmt.Errorf("%w: unknown mailbox state %q (use %s, %s or %s)", api.ErrInvalid, q.State, StateEnabled, StateDisabled, StateError)
	}
	if strings.TrimSpace(q.Search) != "" {
		where = append(where, `m.address LIKE `+arg(likePattern(q.Search))+` ESCAPE '\'`)
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	// One statement: the page, the selection's total and the states of
	// all (a window count over the selection, a scalar subquery for the
	// states).
	query := `SELECT m.address, m.provider, m.enabled, m.error, m.reason, m.rejections, m.failures,
		m.last_sync, m.last_try, m.next_sync, m.added, m.live_items, count(*) OVER ()
		FROM mailboxes m ` + cond + ` ORDER BY ` + fmt.Sprintf(order, dir) +
		` LIMIT ` + arg(q.Limit) + ` OFFSET ` + arg(q.Offset)
	page := MailboxPage{States: map[string]int{StateEnabled: 0, StateDisabled: 0, StateError: 0}}
	b := &pgx.Batch{}
	b.Queue(query, args...)
	b.Queue(`SELECT count(*) FILTER (WHERE enabled AND NOT error), count(*) FILTER (WHERE NOT enabled),
		count(*) FILTER (WHERE enabled AND error) FROM mailboxes`)
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		return MailboxPage{}, fmt.Errorf("reading mailboxes: %w", err)
	}
	page.Mailboxes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Mailbox, error) {
		var (
			mb                     Mailbox
			isErr                  bool
			last, try, next, added pgtype.Timestamptz
		)
		err := r.Scan(&mb.Address, &mb.Provider, &mb.Enabled, &isErr, &mb.Reason, &mb.Rejections, &mb.Failures,
			&last, &try, &next, &added, &mb.Items, &page.Total)
		mb.LastSync, mb.LastTry, mb.NextSync, mb.Added = tm(last), tm(try), tm(next), tm(added)
		mb.State = state(mb.Enabled, isErr)
		return mb, err
	})
	if err != nil {
		return MailboxPage{}, fmt.Errorf("reading mailboxes: %w", err)
	}
	var en, dis, er int
	if err := res.QueryRow().Scan(&en, &dis, &er); err != nil {
		return MailboxPage{}, fmt.Errorf("counting mailboxes: %w", err)
	}
	page.States[StateEnabled], page.States[StateDisabled], page.States[StateError] = en, dis, er
	if len(page.Mailboxes) == 0 && q.Offset > 0 {
		// Past the end: the total is still wanted for the pager.
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM mailboxes m `+cond, args[:len(args)-2]...).Scan(&page.Total); err != nil {
			return MailboxPage{}, fmt.Errorf("counting mailboxes: %w", err)
		}
	}
	return page, nil
}

// state returns a mailbox's state from its switch and error flag.
func state(enabled, isErr bool) string {
	switch {
	case !enabled:
		return StateDisabled
	case isErr:
		return StateError
	}
	return StateEnabled
}

// AdminAction is what an admin did in the web console.
type AdminAction struct {
	At      time.Time
	Admin   string // who: the admin's name, or "localhost" without sign-in
	Action  string // "sign-in", "sync", "enable", "disable", …
	Mailbox string // the mailbox acted on, if any
	Remote  string // the browser's address
	Outcome string // what came of it, in words
}

// RecordAdminAction stores a.
func (s *Store) RecordAdminAction(ctx context.Context, a AdminAction) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_actions (at, admin, action, mailbox, remote, outcome)
		VALUES ($1, $2, $3, $4, $5, $6)`, ts(a.At), a.Admin, a.Action, a.Mailbox, a.Remote, a.Outcome)
	if err != nil {
		return fmt.Errorf("recording what %s did: %w", a.Admin, err)
	}
	return nil
}

// AdminActions returns the newest actions, newest first: all (mailbox "")
// or those on one mailbox; at most limit (0: 50).
func (s *Store) AdminActions(ctx context.Context, mailbox string, limit int) ([]AdminAction, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.pool.Query(ctx, `SELECT at, admin, action, mailbox, remote, outcome FROM admin_actions
		WHERE $1 = '' OR mailbox = $1 ORDER BY at DESC, id DESC LIMIT $2`, account(mailbox), limit)
	if err != nil {
		return nil, fmt.Errorf("reading the admins' actions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AdminAction, error) {
		var (
			a  AdminAction
			at pgtype.Timestamptz
		)
		err := r.Scan(&at, &a.Admin, &a.Action, &a.Mailbox, &a.Remote, &a.Outcome)
		a.At = tm(at)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the admins' actions: %w", err)
	}
	return out, nil
}
