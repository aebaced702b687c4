package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/store"
)

// waitIndex waits until the engine's upkeep has indexed every item.
func (v *env) waitIndex() store.IndexProgress {
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
	page, err := v.e.Activity(context.Background(), store.ActivityQuery{Search: "inbox item"})
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
