package session_test

// These tests are a second host of the session function, beside the
// desktop runner (sync/engine): they call session.Run directly, as an
// organisation-mode worker will, on the scripted provider and the SQLite
// store, with no engine, state machine or schedule around it.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/crashtest"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
	"github.com/inboxsync/inboxsync/sync/session"
	"github.com/inboxsync/inboxsync/sync/store"
)

var t0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

// clock is a clock standing still at t.
type clock struct{ t time.Time }

func (c clock) Now() time.Time { return c.t }

// host is the test host: one account "work" in a SQLite store, synced
// from a scripted mailbox.
type host struct {
	t  *testing.T
	st *store.Store
	mb *scripted.Mailbox

	mu      sync.Mutex
	asked   []string // "folder cursor" of each Changes call
	started []api.Session
	pages   []api.Progress
}

func newHost(t *testing.T, path string, mb *scripted.Mailbox) *host {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.AddAccount(context.Background(), api.Account{ID: "work", Provider: "scripted"}); err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	h := &host{t: t, st: st, mb: mb}
	mb.SetHook(func(folder api.Folder, cursor string) error {
		h.mu.Lock()
		h.asked = append(h.asked, string(folder)+" "+cursor)
		h.mu.Unlock()
		return nil
	})
	return h
}

// mailbox returns the test's mailbox: 25 messages in Inbox, 5 in Sent, 3
// events, 10 changes a page. Its items' ids are stable, so that a child
// process and its parent build the same one.
func mailbox() *scripted.Mailbox {
	mb := scripted.New()
	mb.SetPageSize(10)
	mb.Add(api.Inbox, 25, t0.Add(-48*time.Hour))
	mb.Add(api.Sent, 5, t0.Add(-24*time.Hour))
	mb.Add(api.Calendar, 3, t0.Add(24*time.Hour))
	return mb
}

// input is the session's input on this host; change adjusts it.
func (h *host) input(trigger string) session.Input {
	return session.Input{
		Account: "work", Trigger: trigger,
		Open:  func(context.Context) (provider.Provider, error) { return h.mb.Provider(""), nil },
		Store: h.st, Clock: clock{t0}, Now: t0, HistoryDays: 30,
		Started: func(s api.Session) {
			h.mu.Lock()
			h.started = append(h.started, s)
			h.mu.Unlock()
		},
		Progress: func(p api.Progress) {
			h.mu.Lock()
			h.pages = append(h.pages, p)
			h.mu.Unlock()
		},
	}
}

func (h *host) run(in session.Input) (session.Result, error) {
	h.mu.Lock()
	h.asked, h.started, h.pages = nil, nil, nil
	h.mu.Unlock()
	return session.Run(context.Background(), in)
}

// stored returns the account's stored items, failing on any stored twice.
func (h *host) stored() map[string]api.StoredItem {
	h.t.Helper()
	out := map[string]api.StoredItem{}
	q := api.ItemsQuery{Account: "work", Limit: 100}
	for {
		p, err := h.st.Items(context.Background(), q)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, it := range p.Items {
			k := string(it.Folder) + "/" + it.ProviderID
			if _, dup := out[k]; dup {
				h.t.Fatalf("%s is stored twice", k)
			}
			out[k] = it
		}
		if p.Next == 0 {
			return out
		}
		q.After = p.Next
	}
}

// lastSession returns the newest recorded session.
func (h *host) lastSession() api.Session {
	h.t.Helper()
	s, ok, err := h.st.LastSession(context.Background(), "work")
	if err != nil || !ok {
		h.t.Fatalf("no session recorded: %v", err)
	}
	return s
}

func TestPagesAndCursors(t *testing.T) {
	h := newHost(t, filepath.Join(t.TempDir(), "store.db"), mailbox())
	res, err := h.run(h.input("schedule"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped || res.Session.Outcome != api.OutcomeOK || res.Session.Counts != (api.Counts{Added: 33}) {
		t.Fatalf("first session: %+v; want ok, 33 added", res)
	}
	if len(h.started) != 1 || h.started[0].ID != res.Session.ID || h.started[0].Outcome != api.OutcomeRunning {
		t.Fatalf("Started saw %+v; want the running session %d once", h.started, res.Session.ID)
	}
	// Inbox 3 pages, Sent 1, Calendar 1; the progress grows page by page.
	if len(h.pages) != 5 || h.pages[4].Pages != 5 || h.pages[4].Counts != res.Session.Counts || h.pages[0].Folder != api.Inbox || h.pages[4].Folder != api.Calendar {
		t.Fatalf("progress: %+v", h.pages)
	}
	if got := h.lastSession(); got.ID != res.Session.ID || got.Outcome != api.OutcomeOK || got.Counts != res.Session.Counts || !got.End.Equal(t0) {
		t.Fatalf("recorded session %+v; want %+v", got, res.Session)
	}
	if n := len(h.stored()); n != 33 {
		t.Fatalf("%d items stored, want 33", n)
	}
	cursors, err := h.st.Cursors(context.Background(), "work")
	if err != nil || len(cursors) != 3 {
		t.Fatalf("cursors %v, %v; want one per folder", cursors, err)
	}

	// The next session asks each folder from its stored cursor and gets
	// only the changes.
	ids := h.mb.Add(api.Inbox, 2, t0.Add(-time.Hour))
	if err := h.mb.Update(ids[0]); err != nil {
		t.Fatal(err)
	}
	event := slices.Sorted(maps.Keys(h.stored()))[0] // "calendar/…" sorts first
	if err := h.mb.Delete(strings.TrimPrefix(event, "calendar/")); err != nil {
		t.Fatal(err)
	}
	res, err = h.run(h.input("manual"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Session.Counts != (api.Counts{Added: 2, Removed: 1}) {
		t.Fatalf("second session counts %+v; want 2 added (one of them changed since), 1 removed", res.Session.Counts)
	}
	want := []string{"inbox " + cursors[api.Inbox], "sent " + cursors[api.Sent], "calendar " + cursors[api.Calendar]}
	if !slices.Equal(h.asked, want) {
		t.Fatalf("second session asked %q; want each folder once from its cursor %q", h.asked, want)
	}

	// Folders limits the session to those folders.
	in := h.input("manual")
	in.Folders = []api.Folder{api.Sent}
	if _, err := h.run(in); err != nil {
		t.Fatal(err)
	}
	if len(h.asked) != 1 || !strings.HasPrefix(h.asked[0], "sent ") {
		t.Fatalf("a Sent-only session asked %q", h.asked)
	}
}

// TestErrorClasses checks that every way a session can fail comes back
// classified, as the engine's rules (and a worker's) need it, and is
// recorded with its outcome.
func TestErrorClasses(t *testing.T) {
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, c := range []struct {
		name    string
		fail    []error // the next Changes calls' errors
		open    error   // Open's error
		class   provider.Class
		outcome string
		retry   time.Duration
		reason  string
	}{
		{name: "offline", fail: []error{provider.Offline(netErr)}, class: provider.ClassOffline, outcome: api.OutcomeOffline},
		{name: "unclassified network error", fail: []error{netErr}, class: provider.ClassOffline, outcome: api.OutcomeOffline},
		{name: "throttled", fail: []error{provider.Throttled(90*time.Second, errors.New("429"))}, class: provider.ClassThrottled, outcome: api.OutcomeThrottled, retry: 90 * time.Second},
		{name: "rejected", fail: []error{provider.Rejected("The password was refused.", errors.New("401"))}, class: provider.ClassRejected, outcome: api.OutcomeRejected, reason: "The password was refused."},
		{name: "grant gone", fail: []error{provider.GrantGone("Sign in again.", errors.New("invalid_grant"))}, class: provider.ClassGrantGone, outcome: api.OutcomeGrantGone, reason: "Sign in again."},
		{name: "failed", fail: []error{provider.Failed("The server broke.", errors.New("500"))}, class: provider.ClassFailed, outcome: api.OutcomeFailed, reason: "The server broke."},
		{name: "unclassified error", fail: []error{errors.New("something odd")}, class: provider.ClassFailed, outcome: api.OutcomeFailed},
		// A cursor refused right after the resync began is no longer the
		// cursor's fault: the session fails.
		{name: "cursor refused twice", fail: []error{provider.CursorInvalid(errors.New("410")), provider.CursorInvalid(errors.New("410"))}, class: provider.ClassFailed, outcome: api.OutcomeFailed},
		{name: "open refused", open: provider.Rejected("The password was refused.", errors.New("401")), class: provider.ClassRejected, outcome: api.OutcomeRejected, reason: "The password was refused."},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHost(t, filepath.Join(t.TempDir(), "store.db"), mailbox())
			// A first session stores cursors, so that the failing one is
			// an incremental session (where a cursor can be refused).
			if _, err := h.run(h.input("schedule")); err != nil {
				t.Fatal(err)
			}
			before := len(h.stored())
			h.mb.Add(api.Inbox, 1, t0)
			h.mb.FailNext(c.fail...)
			in := h.input("schedule")
			if c.open != nil {
				in.Open = func(context.Context) (provider.Provider, error) { return nil, c.open }
			}
			res, err := h.run(in)
			if err == nil {
				t.Fatalf("session ended %+v without an error", res)
			}
			if res.Class != c.class {
				t.Errorf("class %s, want %s", res.Class, c.class)
			}
			if res.Session.Outcome != c.outcome || res.RetryAfter != c.retry || res.Reason != c.reason || res.Session.Error == "" {
				t.Errorf("result %+v; want outcome %s, retry after %s, reason %q, the error in words", res, c.outcome, c.retry, c.reason)
			}
			if got := h.lastSession(); got.ID != res.Session.ID || got.Outcome != c.outcome || got.Error != err.Error() {
				t.Errorf("recorded %+v; want outcome %s and the error", got, c.outcome)
			}
			if n := len(h.stored()); n != before {
				t.Errorf("%d items stored after the failure, %d before", n, before)
			}
		})
	}

	t.Run("cursor refused once resyncs", func(t *testing.T) {
		h := newHost(t, filepath.Join(t.TempDir(), "store.db"), mailbox())
		if _, err := h.run(h.input("schedule")); err != nil {
			t.Fatal(err)
		}
		gone := h.mb.Add(api.Inbox, 1, t0)
		if _, err := h.run(h.input("schedule")); err != nil {
			t.Fatal(err)
		}
		// Removed without a trace while the cursor went stale: only the
		// resync's full listing can tell.
		if err := h.mb.Remove(gone[0]); err != nil {
			t.Fatal(err)
		}
		h.mb.InvalidateCursors()
		res, err := h.run(h.input("schedule"))
		if err != nil || res.Session.Outcome != api.OutcomeOK {
			t.Fatalf("session after a refused cursor: %+v, %v; want ok", res, err)
		}
		if res.Session.Removed != 1 || res.Session.Added != 0 {
			t.Fatalf("the resync counted %+v; want the one item it did not list removed, nothing added twice", res.Session.Counts)
		}
		if !slices.Contains(h.asked, "inbox ") {
			t.Fatalf("no folder was listed again from no cursor: %q", h.asked)
		}
	})

	t.Run("store failure", func(t *testing.T) {
		h := newHost(t, filepath.Join(t.TempDir(), "store.db"), mailbox())
		in := h.input("schedule")
		in.Account = "nobody"
		res, err := h.run(in)
		if err == nil || res.Class != provider.ClassFailed || res.Session.Outcome != api.OutcomeFailed ||
			!strings.Contains(res.Reason, "activity store") {
			t.Fatalf("a session the store cannot record: %+v, %v; want failed, in the store's words", res, err)
		}
		if len(h.started) != 1 || h.started[0].ID != 0 || len(h.asked) != 0 {
			t.Fatalf("started %+v, asked %q; want Started told of an unrecorded session, the mailbox never asked", h.started, h.asked)
		}
	})
}

// TestStopAtPageBoundary stops a session after two pages, as a pause
// does, then lets the next one finish.
func TestStopAtPageBoundary(t *testing.T) {
	h := newHost(t, filepath.Join(t.TempDir(), "store.db"), mailbox())
	in := h.input("schedule")
	in.Stop = func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.pages) == 2
	}
	res, err := h.run(in)
	if err != nil || !res.Stopped || res.Session.Outcome != api.OutcomeStopped || res.Session.Added != 20 {
		t.Fatalf("stopped session: %+v, %v; want stopped after 2 pages (20 items)", res, err)
	}
	if n := len(h.stored()); n != 20 {
		t.Fatalf("%d items kept, want the 20 of the pages before the stop", n)
	}
	res, err = h.run(h.input("resume"))
	if err != nil || res.Session.Added != 13 {
		t.Fatalf("next session: %+v, %v; want the 13 items left", res, err)
	}
	if h.asked[0] == "inbox " {
		t.Fatalf("the next session started Inbox over: %q", h.asked)
	}

	// A cancelled context (the host quitting) stops the same way.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err = session.Run(ctx, h.input("schedule"))
	if err != nil || !res.Stopped || h.lastSession().Outcome != api.OutcomeStopped {
		t.Fatalf("session with a cancelled context: %+v, %v; want stopped and recorded", res, err)
	}
}

// crashEnv names the store file the child of TestKilledMidSessionResumes
// syncs into.
const crashEnv = "INBOXSYNC_SESSION_CRASH_CHILD"

// crashMailbox is the crash test's mailbox, the same in the child and in
// the parent: 200 messages in Inbox, 5 in Sent, 3 events, 10 changes a
// page.
func crashMailbox() *scripted.Mailbox {
	mb := mailbox()
	mb.Add(api.Inbox, 175, t0.Add(-72*time.Hour))
	return mb
}

// TestCrashChild is the child of TestKilledMidSessionResumes: it runs a
// slow session and prints "page N" after each stored page until killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("only run as the child of TestKilledMidSessionResumes")
	}
	mb := crashMailbox()
	mb.SetPageDelay(30 * time.Millisecond)
	h := newHost(t, path, mb)
	in := h.input("schedule")
	in.Progress = func(p api.Progress) { fmt.Printf("page %d\n", p.Pages) }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // never outlive a lost parent
	defer cancel()
	session.Run(ctx, in)
	t.Fatal("the parent did not kill this process")
}

// TestKilledMidSessionResumes kills (SIGKILL) a process in the middle of a
// session, then runs the next session on the same store: it goes on from
// the committed cursor, and in the end every item is stored once.
func TestKilledMidSessionResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "store.db")
	crashtest.KillAfter(t, "TestCrashChild", crashEnv+"="+path, "page", 4)

	// Opening the store marks the killed session interrupted.
	h := newHost(t, path, crashMailbox())
	killed := h.lastSession()
	if killed.Outcome != api.OutcomeInterrupted || killed.End.IsZero() {
		t.Fatalf("the killed session reads %+v; want interrupted, with an end", killed)
	}
	before := len(h.stored())
	cursor, err := h.st.Cursor(context.Background(), "work", api.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if before < 40 || before >= 208 || cursor == "" {
		t.Fatalf("the killed process left %d items, cursor %q; want at least its 4 pages, not all, and their cursor", before, cursor)
	}

	res, err := h.run(h.input("resume"))
	if err != nil || res.Session.Outcome != api.OutcomeOK {
		t.Fatalf("resumed session: %+v, %v", res, err)
	}
	if h.asked[0] != "inbox "+cursor {
		t.Fatalf("the resumed session first asked %q; want Inbox from the committed cursor %q", h.asked[0], cursor)
	}
	items := h.stored()
	if len(items) != 208 {
		t.Fatalf("%d items stored after the resume; want all 208, each once", len(items))
	}
	if res.Session.Counts != (api.Counts{Added: 208 - before}) {
		t.Fatalf("the resume counted %+v; want exactly the %d items the killed process had not stored", res.Session.Counts, 208-before)
	}
}
