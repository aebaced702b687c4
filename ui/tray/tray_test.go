package tray

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/assets"
	"github.com/inboxsync/inboxsync/sync/api"
)

// fakeControl is an engine that answers Status from a field and records
// the tray's requests. Requests change the status like the engine would
// and send an event.
type fakeControl struct {
	api.Control // the methods the tray must not call panic

	mu      sync.Mutex
	status  api.Status
	calls   []string
	syncErr error
	events  chan api.Event
}

func newFakeControl(s api.Status) *fakeControl {
	return &fakeControl{status: s, events: make(chan api.Event, 16)}
}

func (f *fakeControl) record(call string) {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
}

func (f *fakeControl) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeControl) set(change func(*api.Status)) {
	f.mu.Lock()
	change(&f.status)
	f.mu.Unlock()
	f.events <- api.Event{Type: api.EventState}
}

func (f *fakeControl) Status(context.Context) (api.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.status
	s.Accounts = append([]api.AccountStatus(nil), s.Accounts...)
	return s, nil
}

func (f *fakeControl) Subscribe(ctx context.Context) (<-chan api.Event, error) {
	out := make(chan api.Event)
	go func() {
		defer close(out)
		for {
			select {
			case ev := <-f.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func (f *fakeControl) Pause(_ context.Context, req api.PauseRequest) error {
	f.record("pause " + req.For.String())
	f.set(func(s *api.Status) {
		s.Paused = true
		if req.For > 0 {
			s.PausedUntil = now.Add(req.For.D())
		}
		for i := range s.Accounts {
			s.Accounts[i].State = api.Paused
		}
	})
	return nil
}

func (f *fakeControl) Resume(_ context.Context, account string) error {
	f.record("resume " + account)
	f.set(func(s *api.Status) {
		s.Paused, s.PausedUntil = false, time.Time{}
		for i := range s.Accounts {
			s.Accounts[i].State = api.Idle
		}
	})
	return nil
}

func (f *fakeControl) SyncNow(_ context.Context, account string) error {
	f.record("sync " + account)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncErr
}

func (f *fakeControl) OpenWindow(_ context.Context, req api.WindowRequest) error {
	f.record("open " + req.Window + " " + req.Account)
	return nil
}

// fakeMenu records what the loop shows and lets the test click.
type fakeMenu struct {
	shown  chan View
	click  chan click
	open   chan struct{}
	latest View
}

func newFakeMenu() *fakeMenu {
	return &fakeMenu{shown: make(chan View, 64), click: make(chan click), open: make(chan struct{})}
}

func (m *fakeMenu) show(v View)             { m.shown <- v }
func (m *fakeMenu) clicks() <-chan click    { return m.click }
func (m *fakeMenu) opened() <-chan struct{} { return m.open }

// await returns the first View shown from now on that satisfies ok.
func (m *fakeMenu) await(t *testing.T, what string, ok func(View) bool) View {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case v := <-m.shown:
			m.latest = v
			if ok(v) {
				return v
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s; last shown: %+v", what, m.latest)
		}
	}
}

// syncBuffer is a log sink the loop's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startLoop(t *testing.T, c *fakeControl) (*fakeMenu, *syncBuffer, <-chan struct{}, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	m := newFakeMenu()
	logs := &syncBuffer{}
	quit := make(chan struct{})
	var once sync.Once
	l := newLoop(Options{
		Control: c,
		Quit:    func() { once.Do(func() { close(quit) }) },
		Log:     slog.New(slog.NewTextHandler(logs, nil)),
		Now:     func() time.Time { return now },
	}, m)
	done := make(chan struct{})
	go func() { l.run(ctx); close(done) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the loop did not stop with its context")
		}
	}
	t.Cleanup(stop)
	return m, logs, quit, stop
}

func TestLoopPausesAndResumes(t *testing.T) {
	c := newFakeControl(api.Status{Accounts: []api.AccountStatus{acct("work", api.Idle, last("14:01", "14:02"), next("14:32"))}})
	m, _, _, _ := startLoop(t, c)
	m.await(t, "the idle icon", func(v View) bool { return v.Icon == assets.TrayIdle })

	m.click <- click{itemPause, 0}
	v := m.await(t, "the paused state", func(v View) bool { return v.Paused })
	want(t, v.Icon, assets.TrayPaused)
	want(t, v.Status, "Paused until 14:35. Last sync 14:02")

	m.click <- click{item: itemResume}
	m.await(t, "sync again", func(v View) bool { return !v.Paused && v.Icon == assets.TrayIdle })
	want(t, c.Calls(), []string{"pause 30m0s", "resume "})
}

func TestLoopFollowsTheEngine(t *testing.T) {
	c := newFakeControl(api.Status{})
	m, _, _, _ := startLoop(t, c)
	m.await(t, "not activated", func(v View) bool { return v.Icon == assets.TrayNotActivated })
	// An account is added from the CLI: the tray learns it from the event.
	c.set(func(s *api.Status) { s.Accounts = []api.AccountStatus{acct("work", api.Syncing)} })
	m.await(t, "syncing", func(v View) bool { return v.Icon == assets.TraySyncing })
	c.set(func(s *api.Status) { s.Accounts[0].State = api.NeedsReactivation })
	v := m.await(t, "needs attention", func(v View) bool { return v.Icon == assets.TrayAttention })
	want(t, v.Reactivate, Item{"Re-activate…", true})

	m.click <- click{item: itemReactivate}
	m.click <- click{item: itemDashboard}
	m.click <- click{item: itemSettings}
	m.click <- click{item: itemSyncNow} // disabled: the engine would refuse
	m.open <- struct{}{}                // a refresh, and a sync point
	want(t, c.Calls(), []string{"open activate work", "open dashboard ", "open settings "})
}

func TestLoopSurvivesSyncNowRefused(t *testing.T) {
	c := newFakeControl(api.Status{Accounts: []api.AccountStatus{
		acct("work", api.Idle, last("14:04", "14:04")), acct("home", api.Idle),
	}})
	c.syncErr = &api.TooSoonError{Wait: 40 * time.Second}
	m, logs, quit, _ := startLoop(t, c)
	m.await(t, "two accounts", func(v View) bool { return len(v.Accounts) == 2 })

	m.click <- click{item: itemSyncNow}
	m.click <- click{itemAccountSyncNow, 1}
	m.open <- struct{}{}
	want(t, c.Calls(), []string{"sync ", "sync home"})
	if !strings.Contains(logs.String(), "sync now refused") || !strings.Contains(logs.String(), "try again in 40 seconds") {
		t.Errorf("the refusal is not logged:\n%s", logs)
	}
	m.click <- click{item: itemQuit}
	select {
	case <-quit:
	case <-time.After(5 * time.Second):
		t.Fatal("Quit did not call the agent's quit")
	}
}

func TestLoopStopsWithItsContext(t *testing.T) {
	c := newFakeControl(api.Status{Accounts: []api.AccountStatus{acct("work", api.Idle)}})
	m, _, _, stop := startLoop(t, c)
	m.await(t, "a first view", func(View) bool { return true })
	stop()
	if got := len(c.Calls()); got != 0 {
		t.Errorf("the tray acted on its own: %v", c.Calls())
	}
}
