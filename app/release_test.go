package app

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// The agent releases its binary's pages once after start-up and after each
// sync session, never while a session runs.
func TestReleaseWhenIdle(t *testing.T) {
	const settle = 20 * time.Millisecond
	events := make(chan api.Event)
	var calls, running atomic.Int32 // running: what the engine's status says
	done := make(chan struct{})
	go func() {
		releaseWhenIdle(events, settle, func() bool { return running.Load() > 0 }, func() bool { calls.Add(1); return true })
		close(done)
	}()
	start := func(account string) {
		running.Add(1)
		events <- api.Event{Type: api.EventSessionStarted, Account: account}
	}
	end := func(account string) {
		running.Add(-1)
		events <- api.Event{Type: api.EventSessionEnded, Account: account}
	}
	waitCalls := func(want int32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for calls.Load() < want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := calls.Load(); got != want {
			t.Fatalf("%d releases, want %d", got, want)
		}
	}
	waitCalls(1) // after start-up

	// Two overlapping sessions: nothing while either runs.
	start("a")
	start("b")
	end("a")
	time.Sleep(10 * settle)
	if got := calls.Load(); got != 1 {
		t.Fatalf("%d releases while a session still ran, want 1", got)
	}
	events <- api.Event{Type: api.EventState, Account: "b"} // other events change nothing
	end("b")
	waitCalls(2)
	time.Sleep(10 * settle)
	if got := calls.Load(); got != 2 {
		t.Fatalf("%d releases with nothing happening, want 2", got)
	}
	close(events)
	<-done
}

// When releasing fails (not Linux, no /proc), it is not tried again.
func TestReleaseWhenIdleStopsOnFailure(t *testing.T) {
	events := make(chan api.Event)
	done := make(chan struct{})
	go func() {
		releaseWhenIdle(events, time.Millisecond, func() bool { return false }, func() bool { return false })
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("releaseWhenIdle kept going after release failed")
	}
}
