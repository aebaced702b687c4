package app

import (
	"errors"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// fakeSpawner records the window processes started and lets the test end
// each one.
type fakeSpawner struct {
	mu      sync.Mutex
	started [][]string
	exits   []chan error
	fail    error
}

func (s *fakeSpawner) spawn(args []string) (func() error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	exit := make(chan error, 1)
	s.started = append(s.started, args)
	s.exits = append(s.exits, exit)
	return func() error { return <-exit }, nil
}

func (s *fakeSpawner) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.started)
}

func (s *fakeSpawner) args(i int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started[i]
}

// exit ends the i-th process.
func (s *fakeSpawner) exit(i int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exits[i] <- err
}

func newTestLauncher(s *fakeSpawner) (*windowLauncher, chan windowKey) {
	reaped := make(chan windowKey, 16)
	l := &windowLauncher{
		log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		home:    "/tmp/home",
		spawn:   s.spawn,
		running: map[windowKey]bool{},
		onExit:  func(k windowKey) { reaped <- k },
	}
	return l, reaped
}

func waitReaped(t *testing.T, reaped chan windowKey, want windowKey) {
	t.Helper()
	select {
	case k := <-reaped:
		if k != want {
			t.Fatalf("reaped %v, want %v", k, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%v was not reaped", want)
	}
}

func TestWindowLauncherOnePerAccount(t *testing.T) {
	s := &fakeSpawner{}
	l, reaped := newTestLauncher(s)
	reason := "Your mailbox rejected the last 6 sync attempts"

	// Re-activation requests for one account arrive many times, some at
	// once: exactly one window.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Open(api.WindowRequest{Window: "activate", Account: "work", Reason: reason})
		}()
	}
	wg.Wait()
	if n := s.count(); n != 1 {
		t.Fatalf("%d activation windows for one account, want 1", n)
	}
	want := []string{"--home", "/tmp/home", "activate", "--account", "work", "--reason", reason}
	if got := s.args(0); !slices.Equal(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}

	// Another account, and other windows, open alongside.
	l.Open(api.WindowRequest{Window: "activate", Account: "home"})
	l.Open(api.WindowRequest{Window: "dashboard"})
	l.Open(api.WindowRequest{Window: "dashboard"})
	l.Open(api.WindowRequest{Window: "settings"})
	if n := s.count(); n != 4 {
		t.Fatalf("%d windows, want 4", n)
	}
	if got, want := s.args(2), []string{"--home", "/tmp/home", "dashboard"}; !slices.Equal(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}

	// Once the window is closed (and reaped), the next request opens one
	// again.
	l.Open(api.WindowRequest{Window: "activate", Account: "work"})
	if n := s.count(); n != 4 {
		t.Fatalf("a second window opened while the first is open (%d)", n)
	}
	s.exit(0, nil)
	waitReaped(t, reaped, windowKey{"activate", "work"})
	l.Open(api.WindowRequest{Window: "activate", Account: "work"})
	if n := s.count(); n != 5 {
		t.Fatalf("no window after the first closed (%d)", n)
	}

	// A window that fails is reaped too.
	s.exit(2, errors.New("exit status 1"))
	waitReaped(t, reaped, windowKey{"dashboard", ""})
	l.Open(api.WindowRequest{Window: "dashboard"})
	if n := s.count(); n != 6 {
		t.Fatalf("no dashboard after the failed one (%d)", n)
	}
}

func TestWindowLauncherSpawnFails(t *testing.T) {
	s := &fakeSpawner{fail: errors.New("no such file")}
	l, reaped := newTestLauncher(s)
	l.Open(api.WindowRequest{Window: "dashboard"})
	waitReaped(t, reaped, windowKey{"dashboard", ""})
	s.mu.Lock()
	s.fail = nil
	s.mu.Unlock()
	l.Open(api.WindowRequest{Window: "dashboard"})
	if n := s.count(); n != 1 {
		t.Fatalf("a failed start blocks the window: %d started", n)
	}
}

func TestWindowLauncherHeadless(t *testing.T) {
	s := &fakeSpawner{}
	l, _ := newTestLauncher(s)
	l.headless = true
	l.Open(api.WindowRequest{Window: "activate", Account: "work"})
	if n := s.count(); n != 0 {
		t.Fatalf("a headless agent started %d windows", n)
	}
}

func TestWindowLauncherXDGHome(t *testing.T) {
	s := &fakeSpawner{}
	l, _ := newTestLauncher(s)
	l.home = ""
	l.Open(api.WindowRequest{Window: "settings"})
	if got, want := s.args(0), []string{"settings"}; !slices.Equal(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}
}

func TestHeadless(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("always a desktop here")
	}
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	if !headless() {
		t.Error("no DISPLAY and no WAYLAND_DISPLAY is not headless")
	}
	t.Setenv("WAYLAND_DISPLAY", "wayland-0")
	if headless() {
		t.Error("WAYLAND_DISPLAY set is headless")
	}
}
