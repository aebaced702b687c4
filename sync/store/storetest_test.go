package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/session"
	"github.com/inboxsync/inboxsync/sync/session/storetest"
)

// The SQLite store is the desktop's session store.
var _ session.Store = (*Store)(nil)

// sqliteHarness opens SQLite stores for the session store suite.
type sqliteHarness struct{}

func (sqliteHarness) Open(t *testing.T, accounts ...string) storetest.Store {
	return openTemp(t, accounts...)
}

// FailNextPage fails the next page through the hook inside ApplyPage's
// transaction, after its items and issues are written: the suite then
// sees whether the rollback took all of them.
func (sqliteHarness) FailNextPage(t *testing.T, _ storetest.Store) {
	testHookBeforeCursor = func(context.Context) error {
		testHookBeforeCursor = nil
		return errors.New("the page fails before its cursor is written")
	}
	t.Cleanup(func() { testHookBeforeCursor = nil })
}

func (sqliteHarness) ConnectCRM(t *testing.T, s storetest.Store, now time.Time) {
	if _, err := s.(*Store).ConnectCRM(context.Background(), CRMConnection{CRM: "salesforce", Org: "00D1", ConnectedAt: now, Since: now}); err != nil {
		t.Fatal(err)
	}
}

func (sqliteHarness) Outbox(_ *testing.T, s storetest.Store) crm.Outbox {
	return s.(*Store).Outbox(nil)
}

func TestSessionStore(t *testing.T) {
	storetest.Run(t, sqliteHarness{})
}
