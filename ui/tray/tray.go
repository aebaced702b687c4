// Package tray is Inbox Sync's tray icon and menu, shown by the agent on
// fyne.io/systray directly. It does not use Fyne's app: Fyne's GL driver
// wakes 60 times a second even with no window open (fyne-io/fyne#2506), and
// this icon is up 24/7.
//
// The tray keeps no state of its own. On every engine event it re-reads
// engine.Status through the api.Control it was given and rebuilds the
// icon, the tooltip and the menu from that alone (Build), and it acts only
// through the same interface. This is Tailscale's systray pattern: a copy of
// the engine's state in the tray would drift from the engine's (a lost
// event, a restart, a change made from the CLI or a window), and then the
// menu would offer what the engine refuses. Re-reading costs one in-process
// call per event.
//
// One goroutine runs the event loop: it selects on menu clicks, on the
// engine's events and on the menu being opened (to refresh relative dates),
// so menu updates never race each other. Nothing ticks while nothing
// happens: the idle agent uses no CPU.
package tray

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Options configure the tray.
type Options struct {
	// Control is the engine, in-process.
	Control api.Control
	// Quit stops the agent (it cancels the agent's context); the tray
	// goes away once Run's context is done.
	Quit func()
	// Log receives what the tray and systray have to say.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HostChanged, when set, is told whether a panel shows the icon:
	// once soon after Run starts and again on every change (a panel
	// starting later, or going away). Without a session bus it is told
	// false once. It runs on a goroutine of the tray's.
	HostChanged func(present bool)
}

// menu is the tray as the event loop sees it: something that shows a View
// and reports clicks. systrayMenu implements it on fyne.io/systray; the
// tests use a fake.
type menu interface {
	show(View)
	clicks() <-chan click
	opened() <-chan struct{}
}

// click names the menu entry the user clicked. Slot is the account
// section's index for the per-account entries.
type click struct {
	item itemID
	slot int
}

// itemID names a menu entry.
type itemID int

const (
	itemSyncNow itemID = iota
	itemPause          // slot: the index in PauseChoices
	itemResume
	itemDashboard
	itemSettings
	itemReactivate
	itemQuit
	itemAccountSyncNow
	itemAccountReactivate
)

// loop is the tray's event loop.
type loop struct {
	c    api.Control
	quit func()
	log  *slog.Logger
	now  func() time.Time
	m    menu
	// shown is the View on screen: not a source of truth, only what maps
	// a click on an entry back to what the user saw on it.
	shown View
}

func newLoop(opts Options, m menu) *loop {
	l := &loop{c: opts.Control, quit: opts.Quit, log: opts.Log, now: opts.Now, m: m}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.quit == nil {
		l.quit = func() {}
	}
	return l
}

// run shows the state until ctx is done.
func (l *loop) run(ctx context.Context) {
	events, err := l.c.Subscribe(ctx)
	if err != nil {
		// Without events the menu still works; it refreshes when opened.
		l.log.Warn("tray: cannot follow the engine's events", "err", err)
	}
	l.refresh(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			// A burst of events (a sync's pages) needs one re-read.
			drain(events)
			l.refresh(ctx)
		case c := <-l.m.clicks():
			l.clicked(ctx, c)
			l.refresh(ctx)
		case <-l.m.opened():
			l.refresh(ctx)
		}
	}
}

func drain(events <-chan api.Event) {
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// refresh re-reads the engine's status and shows it.
func (l *loop) refresh(ctx context.Context) {
	s, err := l.c.Status(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("tray: reading the status", "err", err)
		}
		return
	}
	l.shown = Build(s, l.now())
	l.m.show(l.shown)
}

// action is what a click asks of the agent.
type action struct {
	item     itemID
	account  string
	pauseFor time.Duration
	// crm: Reactivate signs in to Salesforce again, for reason.
	crm    bool
	reason string
}

// resolve maps a click to an action using the View the user clicked in;
// ok is false for an entry that is disabled or gone there.
func resolve(v View, c click) (a action, ok bool) {
	a.item = c.item
	switch c.item {
	case itemSyncNow:
		return a, v.SyncNow.Enabled
	case itemPause:
		if c.slot < 0 || c.slot >= len(PauseChoices) {
			return a, false
		}
		a.pauseFor = PauseChoices[c.slot].For
		return a, v.Pause.Enabled && !v.Paused
	case itemResume:
		return a, v.Resume.Enabled && v.Paused
	case itemDashboard:
		return a, v.Dashboard.Enabled
	case itemSettings:
		return a, v.Settings.Enabled
	case itemReactivate:
		if v.ReactivateCRM {
			a.crm, a.reason = true, v.CRMReason
			return a, v.Reactivate.Enabled
		}
		a.account = v.ReactivateAccount
		return a, v.Reactivate.Enabled && a.account != ""
	case itemQuit:
		return a, true
	case itemAccountSyncNow, itemAccountReactivate:
		if c.slot < 0 || c.slot >= len(v.Accounts) {
			return a, false
		}
		s := v.Accounts[c.slot]
		a.account = s.Account
		if c.item == itemAccountSyncNow {
			return a, s.SyncNow.Enabled
		}
		return a, s.Reactivate.Enabled
	}
	return a, false
}

// clicked carries out a click through the Control interface.
func (l *loop) clicked(ctx context.Context, c click) {
	a, ok := resolve(l.shown, c)
	if !ok {
		l.log.Info("tray: ignoring a click on an entry that cannot act now", "item", c.item, "slot", c.slot)
		return
	}
	if a.item == itemQuit {
		l.log.Info("tray: quit")
		l.quit()
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var err error
	switch a.item {
	case itemSyncNow, itemAccountSyncNow:
		err = l.c.SyncNow(ctx, a.account)
	case itemPause:
		err = l.c.Pause(ctx, api.PauseRequest{For: api.Duration(a.pauseFor)})
	case itemResume:
		err = l.c.Resume(ctx, "")
	case itemDashboard:
		err = l.c.OpenWindow(ctx, api.WindowRequest{Window: "dashboard"})
	case itemSettings:
		err = l.c.OpenWindow(ctx, api.WindowRequest{Window: "settings"})
	case itemReactivate, itemAccountReactivate:
		if a.crm {
			err = l.c.OpenWindow(ctx, api.WindowRequest{Window: api.WindowCRMConnect, Reason: a.reason})
			break
		}
		err = l.c.OpenWindow(ctx, api.WindowRequest{Window: "activate", Account: a.account})
	}
	var tooSoon *api.TooSoonError
	switch {
	case errors.As(err, &tooSoon):
		// Sync now is refused within a minute of the last attempt; the
		// engine says so politely and so does the log.
		l.log.Info("tray: sync now refused", "account", a.account, "err", err)
	case err != nil:
		l.log.Warn("tray: menu action failed", "item", a.item, "account", a.account, "err", err)
	}
}
