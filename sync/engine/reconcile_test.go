package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/crashtest"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
	"github.com/inboxsync/inboxsync/sync/store"
)

const day = 24 * time.Hour

// deleted returns the ids of account work's items marked deleted, sorted.
func (v *env) deleted() []string {
	v.t.Helper()
	page, err := v.st.Activity(context.Background(), api.ActivityQuery{Account: "work", IncludeDeleted: true, Limit: 1 << 20})
	if err != nil {
		v.t.Fatal(err)
	}
	out := []string{}
	for _, it := range page.Items {
		if it.Deleted {
			out = append(out, it.ProviderID)
		}
	}
	sort.Strings(out)
	return out
}

func (v *env) remove(ids ...string) {
	v.t.Helper()
	for _, id := range ids {
		if err := v.mb.Remove(id); err != nil {
			v.t.Fatal(err)
		}
	}
}

// A laptop closed over a holiday comes back to a refused cursor (Gmail's
// history 404, Graph's 410, EWS's invalid sync state): mail deleted or
// moved out of a folder meanwhile, of which no history is left, is marked
// deleted when the full resync completes, and counted as removed; nothing
// else is.
func TestResyncMarksItemsGoneDuringTheGapDeleted(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	if s := v.session(); s.Added != 33 {
		t.Fatalf("first sync: %+v", s)
	}
	v.remove("inbox-3", "inbox-17", "sent-1", "calendar-2")
	if err := v.mb.Delete("inbox-20"); err != nil { // a deletion whose history expires too
		t.Fatal(err)
	}
	if err := v.mb.Update("inbox-4"); err != nil {
		t.Fatal(err)
	}
	v.mb.Add(api.Inbox, 2, t0.Add(5*day))
	v.mb.InvalidateCursors()
	v.clock.Advance(9 * day)
	s := v.session()
	if s.Outcome != "ok" || s.Added != 2 || s.Updated != 1 || s.Removed != 5 {
		t.Fatalf("resync session %+v; want ok, 2 added, 1 updated, 5 removed", s)
	}
	if got, want := v.deleted(), []string{"calendar-2", "inbox-17", "inbox-20", "inbox-3", "sent-1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("deleted after the resync: %v, want %v", got, want)
	}
	if n := v.items(); n != 30 {
		t.Fatalf("store holds %d live items, want 30", n)
	}
	// The next sync runs from the new cursors and finds nothing to do.
	v.clock.Advance(interval)
	if s := v.session(); s.Outcome != "ok" || s.Counts != (api.Counts{}) {
		t.Fatalf("sync after the resync: %+v", s)
	}
	// An item that comes back is no longer deleted.
	v.mb.Add(api.Inbox, 1, t0)
	v.clock.Advance(interval)
	if s := v.session(); s.Added != 1 || s.Removed != 0 {
		t.Fatalf("sync after an add: %+v", s)
	}
}

// A full resync lists only its window (the history window for mail, 14
// days back to 60 ahead for the calendar): stored items older than the
// window, which it does not list, stay as they are.
func TestResyncKeepsItemsOutsideTheWindow(t *testing.T) {
	v := newEnv(t)
	old := v.mb.Add(api.Inbox, 4, t0.Add(-25*day))
	oldEvent := v.mb.Add(api.Calendar, 1, t0.Add(-5*day))
	farEvent := v.mb.Add(api.Calendar, 1, t0.Add(58*day))
	v.activate("pw")
	if s := v.session(); s.Added != 39 {
		t.Fatalf("first sync: %+v", s)
	}
	// Ten days later the mail window starts at t0-20d and the calendar's
	// at t0-4d: the old mail and the old event are outside; the far event
	// is still inside.
	v.remove("inbox-2", farEvent[0])
	v.mb.InvalidateCursors()
	v.clock.Advance(10 * day)
	s := v.session()
	if s.Outcome != "ok" || s.Removed != 2 || s.Added != 0 {
		t.Fatalf("resync session %+v; want ok with the 2 removed items only", s)
	}
	if got, want := v.deleted(), []string{farEvent[0], "inbox-2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("deleted %v, want %v (items older than the window kept)", got, want)
	}
	page, err := v.e.Activity(context.Background(), api.ActivityQuery{Account: "work", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, it := range page.Items {
		present[it.ProviderID] = true
	}
	for _, id := range append(old, oldEvent...) {
		if !present[id] {
			t.Errorf("item %s, older than the resync's window, is gone", id)
		}
	}
}

// A resync stopped by a pause marks nothing deleted; resumed, it goes on
// from its cursor (the same full sync) and then marks what is gone.
func TestResyncInterruptedByPauseMarksNothing(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.remove("inbox-3", "inbox-24")
	v.mb.InvalidateCursors()
	paused := false
	v.mb.SetHook(func(folder api.Folder, cursor string) error {
		// The user pauses while the second page of the Inbox listing
		// is fetched.
		if folder == api.Inbox && strings.Contains(cursor, ":F:") && !paused {
			paused = true
			go v.e.Pause(context.Background(), api.PauseRequest{})
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	})
	v.clock.Advance(interval)
	s := v.session()
	if s.Outcome != "stopped" || s.Removed != 0 {
		t.Fatalf("paused resync: %+v; want stopped with nothing removed", s)
	}
	if got := v.deleted(); len(got) != 0 {
		t.Fatalf("an unfinished resync marked %v deleted", got)
	}
	cursor, _ := v.st.Cursor(context.Background(), "work", api.Inbox)
	if !strings.Contains(cursor, ":F:") {
		t.Fatalf("cursor %q; want one inside the listing", cursor)
	}
	v.mb.SetHook(nil)
	if err := v.e.Resume(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	s = v.session()
	if s.Outcome != "ok" || s.Removed != 2 || s.Added != 0 {
		t.Fatalf("resumed resync: %+v; want ok with 2 removed", s)
	}
	if got, want := v.deleted(), []string{"inbox-24", "inbox-3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("deleted %v, want %v", got, want)
	}
	if n := v.items(); n != 31 {
		t.Fatalf("%d live items, want 31", n)
	}
}

// reconcileEnv names the store file the child of
// TestResyncKilledMidwayResumes syncs into.
const reconcileEnv = "INBOXSYNC_ENGINE_RECONCILE_CHILD"

// gapRemoved are the items removed, without history, while the cursors of
// the reconciliation crash test expire.
var gapRemoved = []string{"calendar-1", "inbox-150", "inbox-3", "inbox-90", "sent-2"}

// gapMailbox is the mailbox of the reconciliation crash test, the same in
// the child and in the parent: 200 Inbox items, 20 Sent, 5 events. With
// gap, it is the mailbox after the gap: items removed and cursors refused.
func gapMailbox(delay time.Duration, gap bool) *scripted.Mailbox {
	mb := crashMailbox(delay)
	if gap {
		for _, id := range gapRemoved {
			if err := mb.Remove(id); err != nil {
				panic(err)
			}
		}
		mb.InvalidateCursors()
	}
	return mb
}

// TestReconcileCrashChild is the child process of
// TestResyncKilledMidwayResumes: after a first sync it removes items,
// invalidates the cursors, and runs the resync slowly, printing "resync
// page N" after each of its committed pages until it is killed.
func TestReconcileCrashChild(t *testing.T) {
	path := os.Getenv(reconcileEnv)
	if path == "" {
		t.Skip("only run as the child of TestResyncKilledMidwayResumes")
	}
	v := &env{t: t, clock: newFakeClock(t0), path: path, sec: secrettest.NewMemory(),
		conn: scripted.NewConnector(), mb: gapMailbox(0, false)}
	v.conn.Register("mb", v.mb)
	v.start()
	v.activate("")
	if s := v.session(); s.Outcome != "ok" || s.Added != 225 {
		t.Fatalf("first sync: %+v", s)
	}
	for _, id := range gapRemoved {
		if err := v.mb.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	v.mb.InvalidateCursors()
	v.mb.SetPageDelay(50 * time.Millisecond)
	v.clock.Advance(interval)
	v.printPages("resync page")
}

// TestResyncKilledMidwayResumes kills (SIGKILL) a process in the middle of
// a full resync, then starts the engine again on the same store: the
// resumed session completes the same full sync from its cursor, and the end
// state is right — the items removed during the gap are marked deleted,
// and none of those the killed process had already seen listed.
func TestResyncKilledMidwayResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	// The child prints resync pages only once the first sync is over.
	crashtest.KillAfter(t, "TestReconcileCrashChild", reconcileEnv+"="+path, "resync page", 5)

	v := &env{t: t, clock: newFakeClock(t0.Add(interval)), path: path, sec: secrettest.NewMemory(),
		conn: scripted.NewConnector(), mb: gapMailbox(0, true)}
	v.conn.Register("mb", v.mb)
	// What the killed process left: the Inbox mid-listing, nothing
	// marked deleted yet.
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	cursor, _ := st.Cursor(context.Background(), "work", api.Inbox)
	_, running, _ := st.FullSyncWindow(context.Background(), "work", api.Inbox)
	// Read before the engine starts: its resume session begins at once
	// and may complete the sweep before a read after the start.
	v.st = st
	left := v.deleted()
	st.Close()
	if !strings.Contains(cursor, ":F:") || !running {
		t.Fatalf("the kill did not land inside the Inbox listing: cursor %q, full sync running %v", cursor, running)
	}
	if len(left) != 0 {
		t.Fatalf("the killed process marked %v deleted before its resync completed", left)
	}

	v.start()
	t.Cleanup(func() {
		v.stop()
		v.st.Close()
	})
	s := v.session()
	if s.Trigger != "resume" || s.Outcome != "ok" || s.Added != 0 || s.Removed != len(gapRemoved) {
		t.Fatalf("resumed resync: %+v; want resume, ok, nothing added, %d removed", s, len(gapRemoved))
	}
	if got := v.deleted(); !reflect.DeepEqual(got, gapRemoved) {
		t.Fatalf("deleted after the resumed resync: %v, want %v", got, gapRemoved)
	}
	if n := v.items(); n != 225-len(gapRemoved) {
		t.Fatalf("%d live items, want %d", n, 225-len(gapRemoved))
	}
}
