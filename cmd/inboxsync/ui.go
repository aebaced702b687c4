package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/inboxsync/inboxsync/app"
	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/ui/window"
)

// appID is Inbox Sync's application ID (as in FyneApp.toml).
const appID = "io.inboxsync.app"

// ui runs one window in its own Fyne process; it exits when the window
// closes. The agent starts it on demand, so the agent itself never keeps a
// GL driver awake (DESIGN.md §2).
func (c *cli) ui(args []string) int {
	fs := c.flags("ui activate|dashboard|settings [--account A] [--reason TEXT] [--tab NAME]",
		"Shows one Inbox Sync window and exits when it is closed. The running agent\nstarts it when you click the tray or when an account needs you to sign in again.", "")
	account := fs.String("account", "", "the account the window is about (activate: sign in to it again)")
	reason := fs.String("reason", "", "why the window opens, in words (shown at the top of the activation window)")
	tab := fs.String("tab", "", "dashboard: the tab to show first ("+strings.Join(window.DashboardTabs, ", ")+")")
	// Flags may come before or after the window's name.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(c.errOut, "inboxsync: which window? (activate, dashboard or settings)")
		fs.Usage()
		return exitUsage
	}
	name := fs.Arg(0)
	if code, ok := c.parse(fs, fs.Args()[1:], 0); !ok {
		return code
	}
	switch name {
	case window.WindowActivate, window.WindowDashboard, window.WindowSettings, window.WindowCRMConnect:
	default:
		fmt.Fprintf(c.errOut, "inboxsync: unknown window %q (use activate, dashboard, settings or crm-connect)\n", name)
		return exitUsage
	}
	if *tab != "" && (name != window.WindowDashboard || !slices.Contains(window.DashboardTabs, strings.ToLower(*tab))) {
		fmt.Fprintf(c.errOut, "inboxsync: --tab is one of the dashboard's tabs: %s\n", strings.Join(window.DashboardTabs, ", "))
		return exitUsage
	}

	// Ask the OS to keep the same command for autostart: this program,
	// with --home when one is in use.
	p, err := c.paths()
	if err != nil {
		return c.fail(err)
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "inboxsync"
	}
	autostart := []string{exe}
	if p.Home != "" {
		autostart = append(autostart, "--home", p.Home)
	}
	opts := window.Options{Account: *account, Reason: *reason, Tab: *tab, Autostart: autostart}
	return c.withAgent(func(_ context.Context, cl *control.Client) int {
		return runWindow(cl, name, opts)
	})
}

// runWindow shows the window until it is closed (or SIGINT/SIGTERM).
func runWindow(cl *control.Client, name string, opts window.Options) int {
	fyneapp.SetMetadata(fyne.AppMetadata{ID: appID, Name: "Inbox Sync", Version: app.Version,
		Migrations: map[string]bool{"fyneDo": true}})
	a := fyneapp.NewWithID(appID)
	w, err := window.New(a, cl, name, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "inboxsync: %s\n", err)
		return exitUsage
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; ok {
			// Stop first: nothing may touch the window once the
			// driver is gone.
			w.Stop()
			fyne.Do(a.Quit)
		}
	}()
	w.Window().SetMaster()
	w.Start()
	w.Window().ShowAndRun()
	w.Stop() // before the deferred close of the connection to the agent
	return exitOK
}
