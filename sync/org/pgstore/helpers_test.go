package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/session"
	"github.com/inboxsync/inboxsync/sync/session/storetest"
)

// The organisation store is a session store.
var _ session.Store = (*Store)(nil)

// newStore returns a store over a new, migrated database, closed when t
// ends.
func newStore(t testing.TB) *Store {
	t.Helper()
	url := pgtest.New(t)
	ctx := context.Background()
	pool, err := Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return New(pool)
}

// addRaw adds mailboxes by their account IDs as given, without the
// address checks of AddMailboxes (the session suite names its accounts
// "work" and "home").
func addRaw(t testing.TB, s *Store, accounts ...string) {
	t.Helper()
	for _, a := range accounts {
		if _, err := s.pool.Exec(context.Background(),
			"INSERT INTO mailboxes (address, provider, next_sync) VALUES ($1, 'office365', now())", a); err != nil {
			t.Fatal(err)
		}
	}
}

// pgHarness opens PostgreSQL stores for the session store suite.
type pgHarness struct{}

func (pgHarness) Open(t *testing.T, accounts ...string) storetest.Store {
	s := newStore(t)
	addRaw(t, s, accounts...)
	// Whatever the suite did, each mailbox's count of live items is
	// still the count of its items not deleted.
	t.Cleanup(func() { checkLiveItems(t, s) })
	return s
}

// checkLiveItems fails t unless every mailbox's live_items is the number
// of its items not marked deleted.
func checkLiveItems(t testing.TB, s *Store) {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT m.address, m.live_items,
		(SELECT count(*) FROM items i WHERE i.mailbox_id = m.id AND NOT i.deleted) FROM mailboxes m`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a          string
			kept, real int64
		)
		if err := rows.Scan(&a, &kept, &real); err != nil {
			t.Fatal(err)
		}
		if kept != real {
			t.Errorf("mailbox %s counts %d live items; it has %d", a, kept, real)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// FailNextPage fails the next page through the store's hook inside
// ApplyPage's transaction, after its items and issues are written.
func (pgHarness) FailNextPage(t *testing.T, st storetest.Store) {
	s := st.(*Store)
	s.beforeCursor = func(context.Context) error {
		s.beforeCursor = nil
		return errors.New("the page fails before its cursor is written")
	}
	t.Cleanup(func() { s.beforeCursor = nil })
}

// ConnectCRM makes the organisation's CRM connection active from now on.
func (pgHarness) ConnectCRM(t *testing.T, st storetest.Store, now time.Time) {
	if err := st.(*Store).ConnectCRM(context.Background(), CRMConnection{CRM: "salesforce", Org: "00D", ConnectedAt: now, Since: now}); err != nil {
		t.Fatal(err)
	}
}

// Outbox returns the outbox of every mailbox.
func (pgHarness) Outbox(t *testing.T, st storetest.Store) crm.Outbox {
	return st.(*Store).Outbox("", func() time.Time { return t0 })
}

var _ storetest.CRMHarness = pgHarness{}

func TestSessionStore(t *testing.T) {
	storetest.Run(t, pgHarness{})
}

var t0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
