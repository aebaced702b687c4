package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Removing an account with its data (DeleteAccount) in short batches.

// purgeFixture fills the store at path with accounts work (60 items: 40
// indexed, 20 waiting for the index) and home (15: 10 and 5), all queued
// for the CRM, with a session, an issue and a run state each.
func purgeFixture(t *testing.T, path string) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range []string{"work", "home"} {
		if err := s.AddAccount(ctx, api.Account{ID: a, Provider: "scripted", CreatedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", Org: "org", ConnectedAt: t0, Since: t0.AddDate(-1, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	sizes := map[string][2]int{"work": {40, 20}, "home": {10, 5}}
	for _, a := range []string{"work", "home"} {
		page := addPage(a+"-a", sizes[a][0], "c1")
		page.Issues = []api.ItemIssue{{ProviderID: "x", Message: "m"}}
		if _, err := s.ApplyPage(ctx, a, api.Inbox, page, t0); err != nil {
			t.Fatal(err)
		}
		sess, err := s.BeginSession(ctx, a, "schedule", t0)
		if err != nil {
			t.Fatal(err)
		}
		sess.Outcome = "ok"
		if err := s.EndSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if err := s.PutRunState(ctx, a, RunState{State: "idle"}); err != nil {
			t.Fatal(err)
		}
	}
	buildAll(t, s)
	for _, a := range []string{"work", "home"} {
		if _, err := s.ApplyPage(ctx, a, api.Inbox, addPage(a+"-b", sizes[a][1], "c2"), t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, s, "SELECT count(*) FROM crm_items"); n != 75 {
		t.Fatalf("%d outbox rows, want 75", n)
	}
	return s
}

// countRows returns the number query counts.
func countRows(t *testing.T, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkGone checks that nothing of account work is left, not even its
// row, and that home kept its 15 items (plus extra added by the test)
// and everything else.
func checkGone(t *testing.T, s *Store, homeItems int) {
	t.Helper()
	for _, table := range append([]string{"items"}, accountTables...) {
		if n := countRows(t, s, "SELECT count(*) FROM "+table+" WHERE account = 'work'"); n != 0 {
			t.Errorf("%s: %d rows of the removed account left", table, n)
		}
	}
	if n := countRows(t, s, "SELECT count(*) FROM accounts WHERE id = 'work'"); n != 0 {
		t.Error("the removed account's row is left")
	}
	if n := countRows(t, s, "SELECT count(*) FROM items WHERE account = 'home'"); n != homeItems {
		t.Errorf("home has %d items, want %d", n, homeItems)
	}
	for _, table := range []string{"sessions", "issues", "run_state"} {
		if n := countRows(t, s, "SELECT count(*) FROM "+table+" WHERE account = 'home'"); n == 0 {
			t.Errorf("%s: home's rows are gone", table)
		}
	}
	// Every outbox row is an item's, home's all kept.
	if n := countRows(t, s, "SELECT count(*) FROM crm_items WHERE item NOT IN (SELECT id FROM items)"); n != 0 {
		t.Errorf("%d outbox rows of removed items left", n)
	}
	if n := countRows(t, s, "SELECT count(*) FROM crm_items c JOIN items i ON i.id = c.item WHERE i.account = 'home'"); n < 15 {
		t.Errorf("home has %d outbox rows, want at least 15", n)
	}
	checkIndex(t, s)
	if p, err := s.PendingRemovals(context.Background()); err != nil || len(p) != 0 {
		t.Errorf("PendingRemovals = %v, %v", p, err)
	}
}

// checkHidden checks that, while its removal is pending, account work is
// gone for every reader and writer, whatever of it is left in the file.
func checkHidden(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	accts, err := s.Accounts(ctx)
	if err != nil || len(accts) != 1 || accts[0].ID != "home" {
		t.Errorf("Accounts = %+v, %v; want home only", accts, err)
	}
	if _, err := s.Account(ctx, "work"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Account(work) = %v, want ErrNotFound", err)
	}
	if err := s.UpdateAccount(ctx, api.Account{ID: "work", Provider: "scripted"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateAccount(work) = %v, want ErrNotFound", err)
	}
	if p, err := s.PendingRemovals(ctx); err != nil || !slices.Equal(p, []string{"work"}) {
		t.Errorf("PendingRemovals = %v, %v; want [work]", p, err)
	}
	err = s.AddAccount(ctx, api.Account{ID: "work", Provider: "gmail"})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "still being removed") {
		t.Errorf("AddAccount(work) during its removal = %v", err)
	}
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, addPage("late", 1, "c3"), t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("ApplyPage(work) = %v, want ErrNotFound", err)
	}
	onlyHome := func(what string, items []api.StoredItem) {
		t.Helper()
		for _, it := range items {
			if it.Account != "home" {
				t.Errorf("%s shows an item of %s", what, it.Account)
				return
			}
		}
		if len(items) == 0 && what != "activity of work" {
			t.Errorf("%s shows nothing", what)
		}
	}
	home := countRows(t, s, "SELECT count(*) FROM items WHERE account = 'home'")
	// The whole activity, and a search matching every item (through the
	// index and in the items waiting for it).
	for _, q := range []api.ActivityQuery{{Limit: 1000}, {Search: "Quarterly", Limit: 1000}} {
		p, err := s.Activity(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		onlyHome(fmt.Sprintf("activity %+v", q), p.Items)
		if p.Total != home {
			t.Errorf("activity %+v: total %d, want home's %d", q, p.Total, home)
		}
	}
	if p, err := s.Activity(ctx, api.ActivityQuery{Account: "work"}); err != nil || len(p.Items) != 0 || p.Total != 0 {
		t.Errorf("activity of work: %d items, total %d, %v", len(p.Items), p.Total, err)
	}
	ip, err := s.Items(ctx, api.ItemsQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	onlyHome("export", ip.Items)
	if n, err := s.CountItems(ctx, "work"); err != nil || n != 0 {
		t.Errorf("CountItems(work) = %d, %v", n, err)
	}
	if all, err := s.CountItems(ctx, ""); err != nil || all != home {
		t.Errorf("CountItems() = %d, %v: counts the removed account's items", all, err)
	}
	pending, err := s.Outbox(nil).Pending(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pending {
		if strings.HasPrefix(e.Item.ProviderID, "work-") {
			t.Fatalf("the CRM outbox still offers %s of the removed account", e.Item.ProviderID)
		}
	}
	if len(pending) == 0 {
		t.Error("the CRM outbox offers nothing of home")
	}
	if is, err := s.Issues(ctx, "work", 10); err != nil || len(is) != 0 {
		t.Errorf("issues of work: %+v, %v", is, err)
	}
	if ss, err := s.Sessions(ctx, api.SessionQuery{Account: "work", Limit: 10}); err != nil || len(ss) != 0 {
		t.Errorf("sessions of work: %+v, %v", ss, err)
	}
}

// TestPurgeInBatches removes an account 10 items per batch: each batch is
// its own transaction (a second connection, as another process would,
// sees the items go batch by batch and commits its own page between two
// batches), the account is gone for everyone from the first one on, and
// at the end nothing of it is left — items, search index entries, CRM
// outbox rows — while the other account keeps everything.
func TestPurgeInBatches(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	s := purgeFixture(t, path)
	defer s.Close()
	other, err := Open(path) // another writer with its own connections
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	var sizes []int
	testHookPurgeBatch = func(_ context.Context, n int) error {
		sizes = append(sizes, n)
		if len(sizes) == 1 {
			checkHidden(t, s)
		}
		left := countRows(t, other, "SELECT count(*) FROM items WHERE account = 'work'")
		if want := 60 - 10*len(sizes); left != max(want, 0) {
			t.Errorf("after batch %d the other connection sees %d items of work, want %d", len(sizes), left, want)
		}
		// The other writer commits between two batches: no write
		// transaction is open (it would wait busy_timeout, 5 s).
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		start := time.Now()
		if _, err := other.ApplyPage(wctx, "home", api.Inbox, addPage(fmt.Sprintf("between-%d", len(sizes)), 1, "c"), t0); err != nil {
			t.Errorf("another writer between batches %d and %d: %v", len(sizes), len(sizes)+1, err)
		} else if d := time.Since(start); d > time.Second {
			t.Errorf("another writer between batches waited %v", d)
		}
		return nil
	}
	defer func() { testHookPurgeBatch = nil }()
	if err := s.DeleteAccount(ctx, "work", 10); err != nil {
		t.Fatal(err)
	}
	if want := []int{10, 10, 10, 10, 10, 10, 0}; !slices.Equal(sizes, want) {
		t.Errorf("batches %v, want %v", sizes, want)
	}
	checkGone(t, s, 15+len(sizes))

	// The ID can be used again, starting from nothing.
	if err := s.AddAccount(ctx, api.Account{ID: "work", Provider: "gmail"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountItems(ctx, "work"); n != 0 {
		t.Errorf("%d items survived", n)
	}
	if c, _ := s.Cursor(ctx, "work", api.Inbox); c != "" {
		t.Errorf("cursor survived: %q", c)
	}
}

// TestPurgeInterruptedIsFinished stops a removal after its second batch,
// as a killed process would: the account stays hidden, across a reopen,
// until DeleteAccount finishes it; then nothing of it is left and its free
// pages go back to the disk.
func TestPurgeInterruptedIsFinished(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	s := purgeFixture(t, path)
	crash := errors.New("killed")
	batches := 0
	testHookPurgeBatch = func(context.Context, int) error {
		if batches++; batches == 2 {
			return crash
		}
		return nil
	}
	err := s.DeleteAccount(ctx, "work", 10)
	testHookPurgeBatch = nil
	if !errors.Is(err, crash) {
		t.Fatalf("DeleteAccount = %v, want the hook's error", err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := countRows(t, s, "SELECT count(*) FROM items WHERE account = 'work'"); n != 40 {
		t.Fatalf("%d items of work after 2 batches of 10, want 40", n)
	}
	checkHidden(t, s)
	if v := deleteMerge(t, s); v != "0" {
		t.Errorf("the search index's deletemerge is %q during the removal, want 0", v)
	}
	if err := s.ContinueRemoval(ctx, "work", 10); err != nil {
		t.Fatal(err)
	}
	checkGone(t, s, 15)
	if v := deleteMerge(t, s); v != "10" {
		t.Errorf("the search index's deletemerge is %q after the removal, want 10", v)
	}

	size := func() int64 {
		if _, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	if free, _ := s.FreeBytes(ctx); free == 0 {
		t.Fatal("no free pages after the removal")
	}
	if n, err := s.Reclaim(ctx); err != nil || n == 0 {
		t.Fatalf("Reclaim = %d, %v", n, err)
	}
	if free, _ := s.FreeBytes(ctx); free != 0 {
		t.Errorf("%d free bytes left after Reclaim", free)
	}
	if after := size(); after >= before {
		t.Errorf("the file went from %d to %d bytes", before, after)
	}
	checkIndex(t, s) // the merged index
	// Finishing twice, or an account that never was, is told apart.
	if err := s.DeleteAccount(ctx, "work", 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteAccount of a removed account = %v, want ErrNotFound", err)
	}
}

// deleteMerge returns the search index's deletemerge setting ("" for
// FTS5's default).
func deleteMerge(t *testing.T, s *Store) string {
	t.Helper()
	var v string
	err := s.db.QueryRow("SELECT v FROM search_config WHERE k = 'deletemerge'").Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return v
}

// TestPurgeNeverTouchesANewAccount finishes a removal that another caller
// already finished, after the ID was used again: the new account's items
// and rows stay.
func TestPurgeNeverTouchesANewAccount(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, addPage("old", 30, "c"), t0); err != nil {
		t.Fatal(err)
	}
	// A second removal of the same account, stalled after its first
	// (marking) transaction while the first one finishes and the ID is
	// added again with new items.
	if _, err := s.exec(ctx, "UPDATE accounts SET removing = 1 WHERE id = 'work'"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccount(ctx, "work", 7); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAccount(ctx, api.Account{ID: "work", Provider: "gmail"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, addPage("new", 5, "c"), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRunState(ctx, "work", RunState{State: "idle"}); err != nil {
		t.Fatal(err)
	}
	// The stalled removal's batches and last transaction.
	if n, err := s.exec(ctx, purgeSQL, "work", 7); err != nil || n != 0 {
		t.Fatalf("a stale batch removed %d items, %v", n, err)
	}
	if err := s.finishRemoval(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Account(ctx, "work"); err != nil {
		t.Errorf("the new account: %v", err)
	}
	if n, _ := s.CountItems(ctx, "work"); n != 5 {
		t.Errorf("the new account has %d items, want 5", n)
	}
	if rs, _ := s.RunState(ctx, "work"); rs.State != "idle" {
		t.Errorf("the new account's run state: %+v", rs)
	}
	// Finishing a removal that was listed pending before the ID was
	// added again (the upkeep's case) touches nothing either.
	if err := s.ContinueRemoval(ctx, "work", 7); !errors.Is(err, ErrNotFound) {
		t.Errorf("ContinueRemoval of a live account = %v, want ErrNotFound", err)
	}
	if n, _ := s.CountItems(ctx, "work"); n != 5 {
		t.Errorf("the new account has %d items after ContinueRemoval, want 5", n)
	}
	if accts, _ := s.Accounts(ctx); len(accts) != 1 {
		t.Errorf("Accounts = %+v", accts)
	}
}

// TestKilledWhilePurging kills a process removing an account (20 items a
// batch) again and again: after each kill the account is either whole
// (killed before the first transaction) or hidden, the other account and
// the search index are intact, and the next process finishes the removal.
func TestKilledWhilePurging(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	s := purgeFixture(t, path)
	for p := range 2 {
		if _, err := s.ApplyPage(ctx, "work", api.Inbox, realisticPage(p, 120, scriptedID), t0); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	killWork(t, "purge", path, 40, func(s *Store) {
		checkIndex(t, s)
		if n := countRows(t, s, "SELECT count(*) FROM items WHERE account = 'home'"); n != 15 {
			t.Fatalf("home has %d items, want 15", n)
		}
		if _, err := s.Account(ctx, "work"); err == nil {
			if n := countRows(t, s, "SELECT count(*) FROM items WHERE account = 'work'"); n != 300 {
				t.Fatalf("work is still an account but has %d items, want 300", n)
			}
		} else if p, _ := s.PendingRemovals(ctx); len(p) != 0 {
			checkHidden(t, s)
		}
	})
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkGone(t, s, 15)
}
