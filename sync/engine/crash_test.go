package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/crashtest"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
	"github.com/inboxsync/inboxsync/sync/store"
)

// crashEnv names the store file the child of TestCrashMidSessionResumesAtStart
// syncs into.
const crashEnv = "INBOXSYNC_ENGINE_CRASH_CHILD"

// crashMailbox is the mailbox of the crash test, the same in the child and
// in the parent (the scripted mailbox gives items stable ids).
func crashMailbox(delay time.Duration) *scripted.Mailbox {
	mb := scripted.New()
	mb.SetPageSize(10)
	mb.SetPageDelay(delay)
	mb.Add(api.Inbox, 200, t0.Add(-48*time.Hour))
	mb.Add(api.Sent, 20, t0.Add(-48*time.Hour))
	mb.Add(api.Calendar, 5, t0.Add(24*time.Hour))
	return mb
}

// TestCrashChild is the child process of TestCrashMidSessionResumesAtStart:
// it activates an account, whose first sync runs slowly, and prints
// "page N" after each committed page until it is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("only run as the child of TestCrashMidSessionResumesAtStart")
	}
	v := &env{t: t, clock: newFakeClock(t0), path: path, sec: secrettest.NewMemory(),
		conn: scripted.NewConnector(), mb: crashMailbox(50 * time.Millisecond)}
	v.conn.Register("mb", v.mb)
	v.start()
	v.activate("")
	v.printPages("page")
}

// printPages is the end of a crash child: it prints "<prefix> N" after each
// committed page of the running session until the parent kills it.
func (v *env) printPages(prefix string) {
	deadline := time.After(20 * time.Second) // never outlive a lost parent
	for {
		select {
		case ev := <-v.events:
			if ev.Type == api.EventSessionProgress {
				fmt.Printf("%s %d\n", prefix, ev.Status.Progress.Pages)
			}
		case <-deadline:
			v.t.Fatal("the parent did not kill this process")
		}
	}
}

// TestCrashMidSessionResumesAtStart kills (SIGKILL) a process during the
// first sync after an activation, then starts the engine again on the same
// store with the clock standing still: the rest is fetched at once, from
// the committed cursor, in a session triggered "resume", and the killed
// session reads "interrupted", not "running". Before, the restarted agent
// waited for the next interval (30 minutes).
func TestCrashMidSessionResumesAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	crashtest.KillAfter(t, "TestCrashChild", crashEnv+"="+path, "page", 4)

	// What the killed process committed, read before an engine starts
	// (the resume begins at once).
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	before, err := st.CountItems(context.Background(), "work")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	v := &env{t: t, clock: newFakeClock(t0), path: path, sec: secrettest.NewMemory(),
		conn: scripted.NewConnector(), mb: crashMailbox(0)}
	v.conn.Register("mb", v.mb)
	v.start()
	t.Cleanup(func() {
		v.stop()
		v.st.Close()
	})
	if before < 40 || before >= 225 {
		t.Fatalf("the killed process committed %d items; want at least its 4 pages and not all", before)
	}
	// The clock does not move: only a resume at start-up can sync now.
	s := v.session()
	if s.Trigger != "resume" || s.Outcome != "ok" {
		t.Fatalf("first session after the crash: %+v; want trigger resume, outcome ok", s)
	}
	if n := v.items(); n != 225 {
		t.Fatalf("store holds %d items after the resume, want 225", n)
	}
	if s.Added != 225-before {
		t.Fatalf("the resume added %d items; want the %d the killed process had not stored (it resumed from the cursor)", s.Added, 225-before)
	}
	sessions, err := v.e.Sessions(context.Background(), api.SessionQuery{Account: "work"})
	if err != nil || len(sessions) != 2 {
		t.Fatalf("sessions: %+v %v", sessions, err)
	}
	if k := sessions[1]; k.Trigger != "activation" || k.Outcome != api.OutcomeInterrupted || k.End.IsZero() {
		t.Fatalf("the killed session reads %+v; want activation, interrupted, with an end", k)
	}
	if st := v.status(); st.State != api.Idle || !st.NextSync.Equal(t0.Add(interval)) {
		t.Fatalf("after the resume: %s, next sync %v; want idle, next at %v", st.State, st.NextSync, t0.Add(interval))
	}
	v.quiet()
}
