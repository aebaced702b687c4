package app

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/desktopnotice"
	"github.com/inboxsync/inboxsync/ui/tray"
)

// runWithTray runs the engine in a goroutine and the tray on the calling
// goroutine (the main one: macOS wants its UI there) until ctx is done or
// the engine stops; the tray's Quit cancels ctx. The tray goes last, once
// the engine has stopped (a running sync stops at its next page), so the
// icon stays while the agent is still at work. hostChanged hears whether
// a panel shows the icon (see tray.Options).
func runWithTray(ctx context.Context, cancel context.CancelFunc, ctl *agentControl, log *slog.Logger, hostChanged func(bool)) error {
	trayCtx, stopTray := context.WithCancel(context.Background())
	defer stopTray()
	engErr := make(chan error, 1)
	go func() {
		err := ctl.Run(ctx)
		cancel()
		engErr <- err
		stopTray()
	}()
	tray.Run(trayCtx, tray.Options{Control: ctl, Quit: cancel, Log: log, HostChanged: hostChanged})
	return <-engErr
}

// noHostGrace is how long the agent waits, once it knows that no panel
// shows its icon, before it tells the user: at login the agent may start
// before the desktop's panel does.
var noHostGrace = 5 * time.Second

// trayPresence follows whether a panel shows the tray icon. While none
// does (stock GNOME has no StatusNotifierWatcher), the agent tells the
// user once per start where Inbox Sync is (tell), and what the tray's
// icon would have shown opens as a window instead (see relayNotices).
type trayPresence struct {
	grace time.Duration
	// tell says that no panel shows the icon; it runs at most once.
	tell func()

	mu    sync.Mutex
	shown bool
	told  bool
	timer *time.Timer
}

func newTrayPresence(grace time.Duration, tell func()) *trayPresence {
	return &trayPresence{grace: grace, tell: tell}
}

// changed is tray.Options.HostChanged: present is whether a panel shows
// the icon now. With none, tell runs after the grace period unless a panel
// has appeared by then or the user was told already.
func (p *trayPresence) changed(present bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shown = present
	if present {
		if p.timer != nil {
			p.timer.Stop()
			p.timer = nil
		}
		return
	}
	if p.told || p.timer != nil {
		return
	}
	p.timer = time.AfterFunc(p.grace, func() {
		p.mu.Lock()
		p.timer = nil
		if p.shown || p.told {
			p.mu.Unlock()
			return
		}
		p.told = true
		p.mu.Unlock()
		p.tell()
	})
}

// hidden reports whether no panel is known to show the icon.
func (p *trayPresence) hidden() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.shown
}

// stop cancels a pending tell.
func (p *trayPresence) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.told = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

// noHostNotice is what the agent says when no panel shows its icon: that
// it runs, and how to reach it. home is the --home in use ("" for none),
// so that the command it gives reaches this agent.
func noHostNotice(home string) desktopnotice.Notice {
	cmd := "inboxsync"
	if home != "" {
		cmd += " --home " + shellQuote(home)
	}
	return desktopnotice.Notice{
		Title: "Inbox Sync is running",
		Message: "This desktop shows no tray icons, so Inbox Sync runs without one and keeps syncing in the background. " +
			"To open its dashboard, choose Inbox Sync in your applications menu or run `" + cmd + "` again. " +
			"When something needs you, its window opens by itself.",
	}
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	for _, r := range s {
		if !(r == '/' || r == '.' || r == '-' || r == '_' || r == '~' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	return s
}
