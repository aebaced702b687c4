package gmail_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/session"
	"github.com/inboxsync/inboxsync/sync/store"
)

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// TestGmailMarksReachTheStore: through session.Run and the SQLite store,
// as the desktop runs it, a label on a synced message (added between two
// sessions) reaches the stored item's Categories, and the item counts
// Updated.
func TestGmailMarksReachTheStore(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	acct := e.connect(t)
	st, err := store.Open(filepath.Join(t.TempDir(), "activity.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.AddAccount(ctx, api.Account{ID: "mail", Provider: "gmail"}); err != nil {
		t.Fatal(err)
	}
	ids := e.g.Add(labels[api.Inbox], 2, now.Add(-time.Hour))
	e.g.AddUserLabel(ids[0], "Private")
	run := func() api.Counts {
		t.Helper()
		res, err := session.Run(ctx, session.Input{
			Account: "mail", Trigger: "manual", Store: st, Clock: fixedClock(now), HistoryDays: 30,
			Folders: []api.Folder{api.Inbox},
			Open:    func(ctx context.Context) (provider.Provider, error) { return e.conn.Open(ctx, acct, e.mem) },
		})
		if err != nil || res.Session.Outcome != api.OutcomeOK {
			t.Fatalf("session: %+v, %v", res.Session, err)
		}
		return res.Session.Counts
	}
	stored := func() map[string]api.StoredItem {
		t.Helper()
		pg, err := st.Items(ctx, api.ItemsQuery{Account: "mail"})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]api.StoredItem{}
		for _, it := range pg.Items {
			m[it.ProviderID] = it
		}
		return m
	}
	if c := run(); c.Added != 2 {
		t.Fatalf("first session counts %+v", c)
	}
	items := stored()
	if !slices.Equal(items[ids[0]].Categories, []string{"Private"}) || items[ids[1]].Categories != nil || items[ids[0]].ConversationID == "" {
		t.Fatalf("stored after the first session: %+v", items)
	}
	e.g.AddUserLabel(ids[1], "Salesforce")
	if c := run(); c.Updated != 1 || c.Added != 0 {
		t.Fatalf("second session counts %+v", c)
	}
	if got := stored()[ids[1]].Categories; !slices.Equal(got, []string{"Salesforce"}) {
		t.Fatalf("stored categories %q", got)
	}
}
