package org

import (
	"fmt"
	"testing"
	"time"
)

// TestSpreadFillsTheInterval: 2,000 mailboxes added at once first sync
// over the whole interval, no minute holding more than twice its share,
// each at a point fixed by its address.
func TestSpreadFillsTheInterval(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	const n, interval = 2000, 30 * time.Minute
	perMinute := map[int]int{}
	for i := range n {
		a := fmt.Sprintf("user%04d@example.com", i)
		at := Spread(a, now, interval)
		if at.Before(now) || !at.Before(now.Add(interval)) {
			t.Fatalf("%s first syncs at %s, outside the interval", a, at)
		}
		if again := Spread(a, now, interval); !again.Equal(at) {
			t.Fatalf("%s: %s then %s", a, at, again)
		}
		perMinute[int(at.Sub(now)/time.Minute)]++
	}
	share := n / int(interval/time.Minute)
	if len(perMinute) != 30 {
		t.Fatalf("first syncs in %d of 30 minutes", len(perMinute))
	}
	for m, c := range perMinute {
		if c > 2*share {
			t.Errorf("minute %d holds %d first syncs, share %d", m, c, share)
		}
	}
}
