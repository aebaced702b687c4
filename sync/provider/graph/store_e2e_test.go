package graph_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
	"github.com/inboxsync/inboxsync/sync/session"
	"github.com/inboxsync/inboxsync/sync/store"
)

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// TestGraphMarksReachTheStore: through session.Run and the SQLite store,
// a category and a sensitivity set on synced items between two sessions
// reach the stored items, which count Updated.
func TestGraphMarksReachTheStore(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	acct := e.connect(t)
	st, err := store.Open(filepath.Join(t.TempDir(), "activity.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.AddAccount(ctx, api.Account{ID: "work", Provider: "office365"}); err != nil {
		t.Fatal(err)
	}
	mail := e.graph.Add(graphtest.Inbox, 2, now.Add(-time.Hour))
	ev := e.graph.Add(graphtest.Calendar, 1, now.AddDate(0, 0, 1))
	e.graph.SetCategories(mail[0], "Private")
	run := func() api.Counts {
		t.Helper()
		res, err := session.Run(ctx, session.Input{
			Account: "work", Trigger: "manual", Store: st, Clock: fixedClock(now), HistoryDays: 30,
			Open: func(ctx context.Context) (provider.Provider, error) { return e.conn.Open(ctx, acct, e.mem) },
		})
		if err != nil || res.Session.Outcome != api.OutcomeOK {
			t.Fatalf("session: %+v, %v", res.Session, err)
		}
		return res.Session.Counts
	}
	stored := func() map[string]api.StoredItem {
		t.Helper()
		pg, err := st.Items(ctx, api.ItemsQuery{Account: "work"})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]api.StoredItem{}
		for _, it := range pg.Items {
			m[it.ProviderID] = it
		}
		return m
	}
	if c := run(); c.Added != 3 {
		t.Fatalf("first session counts %+v", c)
	}
	if got := stored()[mail[0]].Categories; !slices.Equal(got, []string{"Private"}) {
		t.Fatalf("stored categories %q", got)
	}
	e.graph.SetCategories(mail[1], "Salesforce")
	e.graph.SetSensitivity(ev[0], "private")
	if c := run(); c.Updated != 2 || c.Added != 0 {
		t.Fatalf("second session counts %+v", c)
	}
	items := stored()
	if !slices.Equal(items[mail[1]].Categories, []string{"Salesforce"}) || items[ev[0]].Sensitivity != api.SensitivityPrivate {
		t.Fatalf("stored after marking: %+v / %+v", items[mail[1]].Item, items[ev[0]].Item)
	}
}
