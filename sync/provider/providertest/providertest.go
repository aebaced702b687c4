// Package providertest is the conformance suite every provider must pass.
// Each provider's tests supply a Harness that opens the provider against a
// stand-in server (an httptest emulator, or the scripted mailbox) and a
// Mailbox handle through which the suite changes what that server holds.
package providertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// Mailbox changes the content and behaviour of the server behind the
// provider under test.
type Mailbox interface {
	// Add adds n items dated at to folder and returns their provider ids.
	Add(t *testing.T, folder api.Folder, n int, at time.Time) []string
	// Update changes an item so that the provider reports it again.
	Update(t *testing.T, id string)
	// Delete removes an item.
	Delete(t *testing.T, id string)
	// InvalidateCursors makes the server forget every sync state.
	InvalidateCursors(t *testing.T)
	// ChangePassword makes the server reject the provider's credentials
	// (for OAuth providers: revokes the grant).
	ChangePassword(t *testing.T)
	// ThrottleNext makes the next request answer "busy, retry after d".
	ThrottleNext(t *testing.T, d time.Duration)
}

// Harness opens a provider on a fresh, empty mailbox whose pages hold at
// most pageSize changes.
type Harness interface {
	Open(t *testing.T, pageSize int) (provider.Provider, Mailbox)
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	t.Run("FullSyncDeliversEveryItemOnce", func(t *testing.T) { testFullSync(t, h) })
	t.Run("IncrementalSyncDeliversOnlyChanges", func(t *testing.T) { testIncremental(t, h) })
	t.Run("HistoryWindowLimitsFirstSync", func(t *testing.T) { testSince(t, h) })
	t.Run("InvalidCursorAsksForResync", func(t *testing.T) { testInvalidCursor(t, h) })
	t.Run("ChangedPasswordIsRejected", func(t *testing.T) { testRejected(t, h) })
	t.Run("ThrottlingCarriesRetryAfter", func(t *testing.T) { testThrottled(t, h) })
	t.Run("CancelledContextReturns", func(t *testing.T) { testCancelled(t, h) })
}

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func opts() provider.Options {
	return provider.Options{Now: now, Since: now.AddDate(0, 0, -30)}
}

// drain follows pages until More is false and returns the changes by id
// (last one wins), how many times each id was seen, and the final cursor.
func drain(t *testing.T, p provider.Provider, folder api.Folder, cursor string) (map[string]provider.Change, map[string]int, string) {
	t.Helper()
	ctx := context.Background()
	got := map[string]provider.Change{}
	seen := map[string]int{}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("provider never finished paging")
		}
		page, err := p.Changes(ctx, folder, cursor, opts())
		if err != nil {
			t.Fatalf("Changes(%s, %q): %v", folder, cursor, err)
		}
		if page.Cursor == "" {
			t.Fatalf("Changes(%s, %q) returned an empty cursor", folder, cursor)
		}
		for _, c := range page.Changes {
			got[c.Item.ProviderID] = c
			seen[c.Item.ProviderID]++
		}
		cursor = page.Cursor
		if !page.More {
			return got, seen, cursor
		}
	}
}

func testFullSync(t *testing.T, h Harness) {
	p, mb := h.Open(t, 7)
	defer p.Close()
	ids := mb.Add(t, api.Inbox, 23, now.Add(-time.Hour))
	mb.Add(t, api.Sent, 3, now.Add(-time.Hour))
	got, seen, _ := drain(t, p, api.Inbox, "")
	if len(got) != len(ids) {
		t.Fatalf("full sync delivered %d items, want %d", len(got), len(ids))
	}
	for _, id := range ids {
		c, ok := got[id]
		if !ok {
			t.Fatalf("item %s missing from full sync", id)
		}
		if seen[id] != 1 {
			t.Errorf("item %s delivered %d times", id, seen[id])
		}
		if c.Deleted || c.Item.Folder != api.Inbox || c.Item.Subject == "" || c.Item.Time.IsZero() {
			t.Errorf("item %s incomplete: %+v", id, c)
		}
	}
}

func testIncremental(t *testing.T, h Harness) {
	p, mb := h.Open(t, 5)
	defer p.Close()
	ids := mb.Add(t, api.Inbox, 8, now.Add(-time.Hour))
	_, _, cursor := drain(t, p, api.Inbox, "")

	got, _, cursor := drain(t, p, api.Inbox, cursor)
	if len(got) != 0 {
		t.Fatalf("no-change sync delivered %d changes", len(got))
	}
	added := mb.Add(t, api.Inbox, 2, now.Add(-time.Minute))
	mb.Update(t, ids[0])
	mb.Delete(t, ids[1])
	got, _, _ = drain(t, p, api.Inbox, cursor)
	for _, id := range added {
		if c, ok := got[id]; !ok || c.Deleted {
			t.Errorf("new item %s not delivered: %+v", id, c)
		}
	}
	if c, ok := got[ids[0]]; !ok || c.Deleted {
		t.Errorf("updated item %s not delivered: %+v", ids[0], c)
	}
	if c, ok := got[ids[1]]; !ok || !c.Deleted {
		t.Errorf("deleted item %s not reported deleted: %+v", ids[1], c)
	}
	for id := range got {
		if id != ids[0] && id != ids[1] && id != added[0] && id != added[1] {
			t.Errorf("unchanged item %s delivered again", id)
		}
	}
}

func testSince(t *testing.T, h Harness) {
	p, mb := h.Open(t, 10)
	defer p.Close()
	old := mb.Add(t, api.Inbox, 3, now.AddDate(0, 0, -90))
	recent := mb.Add(t, api.Inbox, 4, now.Add(-time.Hour))
	got, _, _ := drain(t, p, api.Inbox, "")
	for _, id := range old {
		if _, ok := got[id]; ok {
			t.Errorf("item %s older than the history window was delivered", id)
		}
	}
	for _, id := range recent {
		if _, ok := got[id]; !ok {
			t.Errorf("recent item %s missing", id)
		}
	}
}

func testInvalidCursor(t *testing.T, h Harness) {
	p, mb := h.Open(t, 10)
	defer p.Close()
	ids := mb.Add(t, api.Inbox, 4, now.Add(-time.Hour))
	_, _, cursor := drain(t, p, api.Inbox, "")
	mb.InvalidateCursors(t)
	_, err := p.Changes(context.Background(), api.Inbox, cursor, opts())
	if got := provider.Classify(err); err == nil || got != provider.ClassCursorInvalid {
		t.Fatalf("stale cursor: got error %v (class %v), want class cursor-invalid", err, got)
	}
	got, _, _ := drain(t, p, api.Inbox, "")
	if len(got) != len(ids) {
		t.Fatalf("resync after invalid cursor delivered %d items, want %d", len(got), len(ids))
	}
}

func testRejected(t *testing.T, h Harness) {
	p, mb := h.Open(t, 10)
	defer p.Close()
	mb.Add(t, api.Inbox, 1, now.Add(-time.Hour))
	mb.ChangePassword(t)
	_, err := p.Changes(context.Background(), api.Inbox, "", opts())
	// Password providers answer ClassRejected; OAuth providers, whose
	// grant dies with the password, answer ClassGrantGone.
	if got := provider.Classify(err); err == nil || (got != provider.ClassRejected && got != provider.ClassGrantGone) {
		t.Fatalf("after a password change: got %v (class %v), want class rejected or grant-gone", err, got)
	}
	if provider.Reason(err) == "" {
		t.Errorf("rejection has no reason for the user: %v", err)
	}
}

func testThrottled(t *testing.T, h Harness) {
	p, mb := h.Open(t, 10)
	defer p.Close()
	mb.Add(t, api.Inbox, 1, now.Add(-time.Hour))
	mb.ThrottleNext(t, 3*time.Second)
	_, err := p.Changes(context.Background(), api.Inbox, "", opts())
	if got := provider.Classify(err); err == nil || got != provider.ClassThrottled {
		t.Fatalf("throttled call: got %v (class %v), want class throttled", err, got)
	}
	if d := provider.RetryAfter(err); d < 3*time.Second {
		t.Errorf("RetryAfter = %v, want at least 3s", d)
	}
	if got, _, _ := drain(t, p, api.Inbox, ""); len(got) != 1 {
		t.Errorf("after throttling ended: %d items, want 1", len(got))
	}
}

func testCancelled(t *testing.T, h Harness) {
	p, mb := h.Open(t, 10)
	defer p.Close()
	mb.Add(t, api.Inbox, 1, now.Add(-time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := p.Changes(ctx, api.Inbox, "", opts())
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Changes with a cancelled context succeeded")
		}
		if !errors.Is(err, context.Canceled) {
			t.Logf("note: cancelled call returned %v (not wrapping context.Canceled)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Changes ignored a cancelled context")
	}
}
