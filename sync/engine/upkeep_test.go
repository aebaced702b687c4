package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// waitIndex waits until the engine's upkeep has indexed every item.
func (v *env) waitIndex() api.IndexProgress {
	v.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := v.st.SearchIndexProgress(context.Background())
		if err != nil {
			v.t.Fatal(err)
		}
		s, err := v.e.Status(context.Background())
		if err != nil {
			v.t.Fatal(err)
		}
		if p.Ready() && s.Index == nil {
			return p
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("the items were not indexed within 10 s: %+v, status %+v", p, s.Index)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUpkeepIndexesEachSync checks that the items each session stored
// reach the search index without anyone asking.
func TestUpkeepIndexesEachSync(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	if s := v.session(); s.Added != 33 {
		t.Fatalf("first session %+v", s)
	}
	if p := v.waitIndex(); p.Done != 33 {
		t.Fatalf("indexed %d items, want 33", p.Done)
	}
	page, err := v.e.Activity(context.Background(), api.ActivityQuery{Search: "inbox item"})
	if err != nil || page.Total != 25 {
		t.Fatalf("search: %d items, %v", page.Total, err)
	}
	v.mb.Add("inbox", 2, t0)
	v.clock.Advance(interval)
	if s := v.session(); s.Added != 2 {
		t.Fatalf("second session %+v", s)
	}
	if p := v.waitIndex(); p.Done != 35 {
		t.Fatalf("indexed %d items, want 35", p.Done)
	}
}

// TestUpkeepPrunesOldItems checks that items older than KeepDays go once
// a day, and at once when KeepDays changes, and that KeepDays is checked.
func TestUpkeepPrunesOldItems(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	if s := v.session(); s.Added != 33 {
		t.Fatalf("first session %+v", s)
	}
	v.waitIndex()
	ctx := context.Background()
	s, _ := v.e.Settings(ctx)
	if s.KeepDays != 365 {
		t.Fatalf("default KeepDays %d", s.KeepDays)
	}
	for _, bad := range []int{-1, 29, 36501} {
		s.KeepDays = bad
		if _, err := v.e.UpdateSettings(ctx, s); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("KeepDays %d: %v", bad, err)
		}
	}
	// A year and more later every item is old; the daily pass removes
	// them (the meetings ended a day after t0, so they are older too).
	v.clock.Advance(400 * 24 * time.Hour)
	v.session() // the sync due while the machine "slept"
	v.waitItems(0)

	// Items of a second sync, kept for 30 days: a change of KeepDays
	// prunes at once, and 0 keeps everything.
	v.mb.Add("inbox", 3, v.clock.Now().Add(-60*24*time.Hour))
	v.mb.Add("inbox", 2, v.clock.Now().Add(-time.Hour))
	v.clock.Advance(interval)
	v.session()
	if n := v.items(); n < 5 {
		t.Fatalf("%d items after the sync", n)
	}
	s.KeepDays = 0
	if _, err := v.e.UpdateSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	kept := v.items()
	s.KeepDays = 30
	if _, err := v.e.UpdateSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	v.waitItems(kept - 3)
}

// waitItems waits until account work holds n items.
func (v *env) waitItems(n int) {
	v.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for v.items() != n {
		if time.Now().After(deadline) {
			v.t.Fatalf("%d items, want %d", v.items(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestUpkeepFinishesAnInterruptedPurge leaves the store as a process
// killed during `account remove --purge` leaves it (the account marked
// removing, part of its items deleted) and starts the engine: the account
// is not started, the upkeep deletes the rest, and the name can be used
// again for an account that starts from nothing.
func TestUpkeepFinishesAnInterruptedPurge(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	if s := v.session(); s.Added != 33 {
		t.Fatalf("first session %+v", s)
	}
	v.waitIndex()
	v.stop()
	v.st.Close()
	// A busy timeout as the store's own: a fresh connection to a WAL
	// database can meet a lock for a moment (CI saw SQLITE_BUSY here).
	raw, err := sql.Open("sqlite", "file:"+v.path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		"UPDATE accounts SET removing = 1 WHERE id = 'work'",
		"DELETE FROM items WHERE id IN (SELECT id FROM items WHERE account = 'work' LIMIT 10)",
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string) int {
		var n int
		if err := raw.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	v.start()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := v.st.PendingRemovals(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("removal of %v not finished within 10 s", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := count("SELECT count(*) FROM items WHERE account = 'work'"); n != 0 {
		t.Fatalf("%d items of the removed account left", n)
	}
	if n := count("SELECT count(*) FROM accounts"); n != 0 {
		t.Fatalf("%d accounts left", n)
	}
	if accts, err := v.e.Accounts(ctx); err != nil || len(accts) != 0 {
		t.Fatalf("Accounts = %+v, %v", accts, err)
	}
	v.activate("pw")
	if s := v.session(); s.Added != 33 {
		t.Fatalf("the account added again: first session %+v, want 33 items added", s)
	}
}
