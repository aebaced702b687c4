package ews_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/ews"
	"github.com/inboxsync/inboxsync/sync/provider/ews/ewstest"
	"github.com/inboxsync/inboxsync/sync/session"
	"github.com/inboxsync/inboxsync/sync/store"
)

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// TestEWSMarksReachTheStore: through session.Run and the SQLite store, a
// category set on a synced message between two sessions reaches the
// stored item, which counts Updated.
func TestEWSMarksReachTheStore(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, ewstest.Config{})
	st, err := store.Open(filepath.Join(t.TempDir(), "activity.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.AddAccount(ctx, api.Account{ID: "onprem", Provider: "exchange"}); err != nil {
		t.Fatal(err)
	}
	ids := srv.Add(api.Sent, 2, now.Add(-time.Hour))
	run := func() api.Counts {
		t.Helper()
		res, err := session.Run(ctx, session.Input{
			Account: "onprem", Trigger: "manual", Store: st, Clock: fixedClock(now), HistoryDays: 30,
			Folders: []api.Folder{api.Sent},
			Open:    func(context.Context) (provider.Provider, error) { return newProvider(t, srv, ews.AuthNTLM), nil },
		})
		if err != nil || res.Session.Outcome != api.OutcomeOK {
			t.Fatalf("session: %+v, %v", res.Session, err)
		}
		return res.Session.Counts
	}
	if c := run(); c.Added != 2 {
		t.Fatalf("first session counts %+v", c)
	}
	if err := srv.SetCategories(ids[1], "Don't log"); err != nil {
		t.Fatal(err)
	}
	if c := run(); c.Updated != 1 || c.Added != 0 {
		t.Fatalf("second session counts %+v", c)
	}
	pg, err := st.Items(ctx, api.ItemsQuery{Account: "onprem"})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range pg.Items {
		want := []string(nil)
		if it.ProviderID == ids[1] {
			want = []string{"Don't log"}
		}
		if !slices.Equal(it.Categories, want) {
			t.Errorf("stored %s: categories %q, want %q", it.ProviderID, it.Categories, want)
		}
	}
	if len(pg.Items) != 2 {
		t.Errorf("%d items stored", len(pg.Items))
	}
}
