package app

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sync"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/api"
)

// windowLauncher shows the windows the agent is asked for: each is its own
// inboxsync-window process (WindowProgram), so the agent never links or
// keeps Fyne's GL driver awake (docs/architecture.md §2). It keeps at most one window per (window, account):
// re-activation requests may arrive many times for the same account, and
// the user must see exactly one window.
type windowLauncher struct {
	log *slog.Logger
	// home is passed on as --home ("" for the XDG layout).
	home string
	// headless is set where no window can be shown; requests are logged.
	headless bool
	// spawn starts a window process with args and returns a function that
	// waits for it to exit.
	spawn func(args []string) (wait func() error, err error)

	mu      sync.Mutex
	running map[windowKey]bool
	// onExit, when set, is called after a window process was reaped.
	onExit func(windowKey)
}

// windowKey identifies a window for de-duplication.
type windowKey struct{ window, account string }

// newWindowLauncher returns the launcher of the agent for paths. Window
// processes inherit the environment; their output goes to logOut.
func newWindowLauncher(paths install.Paths, log *slog.Logger, logOut io.Writer) *windowLauncher {
	l := &windowLauncher{log: log, home: paths.Home, headless: headless(), running: map[windowKey]bool{}}
	if !l.headless {
		// Say at start, not only when a window is first needed, that
		// the installation lacks its window program.
		if _, err := install.WindowProgram(); err != nil {
			log.Error("no window can be shown", "err", err)
		}
	}
	l.spawn = func(args []string) (func() error, error) {
		exe, err := install.WindowProgram()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(exe, args...)
		cmd.Stdout, cmd.Stderr = logOut, logOut
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return cmd.Wait, nil
	}
	return l
}

// headless reports whether there is no desktop to show windows on.
func headless() bool {
	switch runtime.GOOS {
	case "windows", "darwin":
		return false
	}
	return os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == ""
}

// Open shows the window req asks for, unless the same window (for the
// same account) is already open. It does not block.
func (l *windowLauncher) Open(req api.WindowRequest) {
	key := windowKey{req.Window, req.Account}
	if l.headless {
		l.log.Info("window requested, but there is no display to show it on", "window", req.Window, "account", req.Account)
		return
	}
	l.mu.Lock()
	if l.running[key] {
		l.mu.Unlock()
		l.log.Info("window already open", "window", req.Window, "account", req.Account)
		return
	}
	l.running[key] = true
	l.mu.Unlock()

	var args []string
	if l.home != "" {
		args = append(args, "--home", l.home)
	}
	args = append(args, req.Window)
	if req.Account != "" {
		args = append(args, "--account", req.Account)
	}
	if req.Reason != "" {
		args = append(args, "--reason", req.Reason)
	}
	wait, err := l.spawn(args)
	if err != nil {
		l.exited(key)
		l.log.Warn("could not open a window", "window", req.Window, "account", req.Account, "err", err)
		return
	}
	l.log.Info("window opened", "window", req.Window, "account", req.Account)
	// Reap the child; only then may the same window open again.
	go func() {
		err := wait()
		if err != nil {
			l.log.Warn("window ended with an error", "window", req.Window, "account", req.Account, "err", err)
		}
		l.exited(key)
	}()
}

func (l *windowLauncher) exited(key windowKey) {
	l.mu.Lock()
	delete(l.running, key)
	l.mu.Unlock()
	if l.onExit != nil {
		l.onExit(key)
	}
}
