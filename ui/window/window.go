// Package window holds Inbox Sync's on-demand windows: activation, the
// dashboard and the settings. Each window is a client of the agent through
// api.Control only: it reads state when it opens, follows the agent's
// event stream for live updates (never polling), and acts through the same
// interface, so tests run the windows against a fake Control.
//
// Threading: widgets are touched only on Fyne's main goroutine. Work that
// talks to the agent runs in goroutines and hands its results back through
// base.do (fyne.Do in the real app; tests swap in a queue they drain).
package window

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"github.com/inboxsync/inboxsync/assets"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/control"
)

// Names of the windows, as `inboxsync ui <name>` and engine.WindowRequest
// spell them.
const (
	WindowActivate  = "activate"
	WindowDashboard = "dashboard"
	WindowSettings  = "settings"
	// WindowCRMConnect connects Salesforce (engine.WindowCRMConnect).
	WindowCRMConnect = api.WindowCRMConnect
)

// Options are what a window is opened with.
type Options struct {
	// Account names the account the window is about ("" for none or all).
	Account string
	// Reason says in words why the window was opened (re-activation).
	Reason string
	// Tab is the dashboard tab to show first (one of DashboardTabs; ""
	// for the overview).
	Tab string
	// Autostart is the command a login session should run to start Inbox
	// Sync (the settings window writes it into the autostart entry). Empty
	// means the running executable without arguments.
	Autostart []string
}

// Window is one of Inbox Sync's windows.
type Window interface {
	// Window returns the Fyne window.
	Window() fyne.Window
	// Start loads the window's data and follows the agent's events until
	// the window closes. It returns at once.
	Start()
	// Stop ends the window's work with the agent without touching the
	// UI, and drops UI updates still on their way: call it before quitting
	// the app other than by closing the window.
	Stop()
}

// New creates the window called name ("activate", "dashboard" or
// "settings") in a, talking to the agent through c.
func New(a fyne.App, c api.Control, name string, opts Options) (Window, error) {
	switch name {
	case WindowActivate:
		return NewActivation(a, c, opts), nil
	case WindowDashboard:
		return NewDashboard(a, c, opts), nil
	case WindowSettings:
		return NewSettings(a, c, opts), nil
	case WindowCRMConnect:
		return NewCRMConnect(a, c, opts), nil
	}
	return nil, fmt.Errorf("unknown window %q (use activate, dashboard, settings or crm-connect)", name)
}

// base is what every window shares: the agent, the Fyne window, a context
// that ends when the window closes, and the way back to the UI goroutine.
type base struct {
	ctl    api.Control
	win    fyne.Window
	ctx    context.Context
	cancel context.CancelFunc
	// do runs f on the UI goroutine unless the window is closed or
	// stopped; fyne.Do unless a test replaced it.
	do func(f func())
}

// appIcon is the application icon, which every window shows in its title
// bar and the task bar.
var appIcon = fyne.NewStaticResource(assets.AppIconID+".png", assets.AppIcon)

// wmClass is the instance part of every window's WM_CLASS on X11, as the
// desktop entry's StartupWMClass says.
const wmClass = "Inbox Sync"

// About returns the build of Inbox Sync, e.g. "0.1.0 (commit 1a2b3c4d5e6f,
// built 2026-11-27 15:04 UTC)", for the dashboard's About line; nil hides
// the line. The command sets it from install.Build.
var About func() string

func newBase(a fyne.App, c api.Control, title string) base {
	ctx, cancel := context.WithCancel(context.Background())
	if a.Icon() == nil {
		// Before the window is created: a new window takes the app's icon.
		a.SetIcon(appIcon)
	}
	if os.Getenv("RESOURCE_NAME") == "" {
		// On X11, GLFW names a window's WM_CLASS after its title unless
		// RESOURCE_NAME gives the instance part: one instance name for
		// every window lets desktops match them all to the desktop entry
		// (StartupWMClass) and show its icon in the task bar.
		os.Setenv("RESOURCE_NAME", wmClass)
	}
	w := a.NewWindow(title)
	b := base{ctl: c, win: w, ctx: ctx, cancel: cancel}
	b.do = func(f func()) {
		// Once the window is closed or stopped (the app quitting), late
		// answers from the agent are dropped: after quitting, Fyne runs
		// f at once on this goroutine, with its driver gone.
		fyne.Do(func() {
			if ctx.Err() == nil {
				f()
			}
		})
	}
	// The agent quitting ends the stream; its windows go with it.
	w.SetOnClosed(cancel)
	return b
}

// close closes the window unless it is closed already.
func (b *base) close() {
	if b.ctx.Err() == nil {
		b.win.Close()
	}
}

// Window implements Window.
func (b *base) Window() fyne.Window { return b.win }

// Stop implements Window.
func (b *base) Stop() { b.cancel() }

// follow subscribes to the agent's events and calls reload (in this
// goroutine, not the UI's) for each burst of events that want matches.
// Bursts are coalesced: a reload covers every event queued before it.
// It also calls reload once at the start.
func (b *base) follow(want func(api.Event) bool, reload func(ctx context.Context)) {
	events, err := b.ctl.Subscribe(b.ctx)
	reload(b.ctx)
	if err != nil {
		return
	}
	for ev := range events {
		need := want(ev)
	drain:
		for {
			select {
			case more, ok := <-events:
				if !ok {
					break drain
				}
				need = need || want(more)
			default:
				break drain
			}
		}
		if need {
			reload(b.ctx)
		}
	}
	if b.ctx.Err() == nil {
		// The agent quit: its windows go with it.
		b.do(b.close)
	}
}

// plain turns an error from the agent into words for people.
func plain(err error) string {
	if err == nil {
		return ""
	}
	var tooSoon *api.TooSoonError
	switch {
	case errors.As(err, &tooSoon):
		return sentence(fmt.Sprintf("A sync ran less than a minute ago. Try again in %s.", durationWords(tooSoon.Wait.Round(time.Second))))
	case errors.Is(err, context.Canceled):
		return "Cancelled."
	case errors.Is(err, context.DeadlineExceeded):
		return "Timed out: the server did not answer in time. Check your network and try again."
	case errors.Is(err, api.ErrNotRunning), errors.Is(err, control.ErrClientClosed):
		return "Inbox Sync is not running. Start it and try again."
	}
	msg := err.Error()
	// The agent's sentinels prefix the useful part: drop them.
	for _, s := range []error{api.ErrInvalid, api.ErrUnsupported, api.ErrUnknownAccount} {
		msg = strings.TrimPrefix(msg, s.Error()+": ")
	}
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "x509:") || strings.Contains(low, "certificate signed by unknown authority"):
		return "The server's certificate is not trusted by this computer. Ask your IT team, or check the EWS URL."
	case strings.Contains(low, "no such host"):
		return "Server not found. Check the address (or the EWS URL) and your network."
	case strings.Contains(low, "i/o timeout") || strings.Contains(low, "deadline exceeded"):
		return "Timed out: the server did not answer in time. Check your network and try again."
	case strings.Contains(low, "connection refused"):
		return "The server refused the connection. Check the address and try again."
	}
	return sentence(msg)
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// durationWords says d in words: "40 seconds", "30 minutes", "an hour",
// "2 hours", "3 days".
func durationWords(d time.Duration) string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d < time.Minute:
		return plural(int(d/time.Second), "second")
	case d < time.Hour || d%time.Hour != 0 && d < 2*time.Hour:
		return plural(int(d.Round(time.Minute)/time.Minute), "minute")
	case d < 48*time.Hour:
		return plural(int(d.Round(time.Hour)/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

// everyWords says how often sync runs: "every 30 minutes", "every hour".
func everyWords(d time.Duration) string {
	if d == time.Hour {
		return "every hour"
	}
	return "every " + durationWords(d)
}

// when formats t for people, relative to now: "14:05 (in 12 minutes)",
// "yesterday 09:30", "2025-03-01 09:30 (3 days ago)".
func when(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	local, n := t.Local(), now.Local()
	abs := local.Format("15:04")
	y1, m1, d1 := local.Date()
	y2, m2, d2 := n.Date()
	if y1 != y2 || m1 != m2 || d1 != d2 {
		abs = local.Format("Mon 2 Jan 15:04")
	}
	d := t.Sub(now)
	switch {
	case d > 30*time.Second:
		return fmt.Sprintf("%s (in %s)", abs, durationWords(d.Round(time.Minute)))
	case d < -30*time.Second:
		return fmt.Sprintf("%s (%s ago)", abs, durationWords((-d).Round(time.Minute)))
	}
	return abs + " (just now)"
}
