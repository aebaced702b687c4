package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
)

func TestPruneOld(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work", "home")
	cutoff := t0
	mail := func(id string, at time.Time) provider.Change {
		return add(with(testItem(id, 0), func(it *api.Item) { it.Time = at }))
	}
	event := func(id string, start, end time.Time) provider.Change {
		return add(api.Item{ProviderID: id, Folder: api.Calendar, Kind: api.KindEvent, Subject: "meeting " + id,
			Time: start, Start: start, End: end})
	}
	var page provider.Page
	page.Cursor = "c"
	for i := range 25 {
		page.Changes = append(page.Changes, mail(fmt.Sprint("old", i), cutoff.Add(-time.Duration(i+1)*time.Hour)))
	}
	page.Changes = append(page.Changes, mail("new", cutoff.Add(time.Hour)), mail("edge", cutoff), mail("notime", time.Time{}))
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0); err != nil {
		t.Fatal(err)
	}
	cal := provider.Page{Cursor: "c", Changes: []provider.Change{
		event("ended", cutoff.Add(-3*time.Hour), cutoff.Add(-2*time.Hour)),
		event("spans", cutoff.Add(-3*time.Hour), cutoff.Add(time.Hour)), // ends after the cutoff: kept
		event("noend", cutoff.Add(-3*time.Hour), time.Time{}),
	}}
	if _, err := s.ApplyPage(ctx, "work", api.Calendar, cal, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyPage(ctx, "home", api.Inbox, provider.Page{Cursor: "c", Changes: []provider.Change{mail("h-old", cutoff.Add(-time.Hour))}}, t0); err != nil {
		t.Fatal(err)
	}
	buildAll(t, s)
	// Marked deleted or not, old is old.
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, provider.Page{Cursor: "d", Changes: []provider.Change{del("old3")}}, t0); err != nil {
		t.Fatal(err)
	}

	var batches []int
	for {
		n, err := s.PruneOld(ctx, "work", cutoff, 10)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, n)
		checkIndex(t, s)
		if n < 10 {
			break
		}
	}
	if fmt.Sprint(batches) != "[10 10 7]" { // 25 old mails, the ended event and the one without an end
		t.Errorf("batches %v", batches)
	}
	left := state(t, s, "work")
	for _, want := range []string{"new", "edge", "notime", "calendar/spans"} {
		if _, ok := left[want]; !ok {
			t.Errorf("%s was pruned", want)
		}
	}
	if len(left) != 4 {
		t.Errorf("left %d items: %v", len(left), left)
	}
	if len(state(t, s, "home")) != 1 {
		t.Error("the other account's item was pruned")
	}
	if got, _ := s.Activity(ctx, api.ActivityQuery{Search: "numbers", IncludeDeleted: true}); got.Total != 4 {
		t.Errorf("search after the pruning finds %d items, want 4", got.Total)
	}
}

// TestReclaimShrinksTheFile removes most items and checks that the file
// gives their space back, for a new store and for one from before
// (compacted once first).
func TestReclaimShrinksTheFile(t *testing.T) {
	ctx := context.Background()
	for _, old := range []bool{false, true} {
		t.Run(map[bool]string{false: "new store", true: "older store"}[old], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "inboxsync.db")
			if old {
				writeSchema2(t, path, 0)
			}
			s, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if ok, err := s.CanReclaim(ctx); err != nil || ok == old {
				t.Fatalf("CanReclaim = %v, %v", ok, err)
			}
			if err := s.AddAccount(ctx, api.Account{ID: "big", Provider: "scripted"}); err != nil {
				t.Fatal(err)
			}
			for p := range 10 {
				if _, err := s.ApplyPage(ctx, "big", api.Inbox, realisticPage(p, 500, scriptedID), t0); err != nil {
					t.Fatal(err)
				}
			}
			buildAll(t, s)
			size := func() int64 {
				s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				return fi.Size()
			}
			full := size()
			if err := s.DeleteAccount(ctx, "big", 100); err != nil {
				t.Fatal(err)
			}
			if old {
				if n, err := s.Reclaim(ctx); err != nil || n != 0 {
					t.Fatalf("Reclaim before Compact: %d, %v", n, err)
				}
				if err := s.Compact(ctx); err != nil {
					t.Fatal(err)
				}
				if ok, _ := s.CanReclaim(ctx); !ok {
					t.Fatal("still cannot reclaim after Compact")
				}
			}
			if _, err := s.Reclaim(ctx); err != nil {
				t.Fatal(err)
			}
			if after := size(); after > full/4 {
				t.Errorf("the file went from %d to %d bytes", full, after)
			}
			checkIndex(t, s)
		})
	}
}

// TestPruneKeepsWhatTheCRMWaitsFor prunes old items some of which the CRM
// has not recorded yet: those stay.
func TestPruneKeepsWhatTheCRMWaitsFor(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	var page provider.Page
	page.Cursor = "c"
	states := []string{"none", "pending", "failed-retry", "failed-final", "logged", "skipped"}
	for i, st := range states {
		page.Changes = append(page.Changes, add(with(testItem(st, i), func(it *api.Item) { it.Time = t0.Add(-time.Hour) })))
	}
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0); err != nil {
		t.Fatal(err)
	}
	for _, st := range states[1:] {
		state, retryable := st, 0
		switch st {
		case "failed-retry":
			state, retryable = "failed", 1
		case "failed-final": // retryable, but out of attempts
			state, retryable = "failed", 1
		}
		attempts := 1
		if st == "failed-final" {
			attempts = crm.MaxAttempts
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO crm_items(item, state, retryable, attempts)
			SELECT id, ?, ?, ? FROM items WHERE provider_id = ?`, state, retryable, attempts, st); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.PruneOld(ctx, "work", t0, 100); err != nil || n != 4 {
		t.Fatalf("pruned %d, %v; want 4", n, err)
	}
	left := state(t, s, "work")
	if _, ok := left["pending"]; !ok || len(left) != 2 {
		t.Errorf("left %v, want pending and failed-retry", left)
	}
	if _, ok := left["failed-retry"]; !ok {
		t.Errorf("left %v, want pending and failed-retry", left)
	}
	var rows int
	s.db.QueryRowContext(ctx, "SELECT count(*) FROM crm_items").Scan(&rows)
	if rows != 2 {
		t.Errorf("%d outbox rows left, want 2", rows)
	}
}
