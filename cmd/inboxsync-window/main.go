// Command inboxsync-window shows one of Inbox Sync's windows and exits when
// it is closed. It is the only program of Inbox Sync that links Fyne: the
// agent starts it when the tray is clicked or an account needs the user
// (install.WindowProgram), and `inboxsync ui NAME` runs it. It talks to the
// running agent through the control socket, like the command line.
//
//	inboxsync-window [--home DIR] activate|dashboard|settings|crm-connect [--account A] [--reason TEXT] [--tab NAME]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/api"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/inboxsync/inboxsync/internal/fynelocale"
	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/ui/window"
)

// appID is Inbox Sync's application ID (as in FyneApp.toml).
const appID = "io.inboxsync.app"

// Exit codes, as the command line's.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	fynelocale.Restore()
	// The dashboard's About line: this build.
	window.About = func() string { return install.Build().String() }
	os.Exit(run(os.Args[1:], os.Stderr))
}

// request is one window to show, from the command line.
type request struct {
	home, name string
	opts       window.Options
}

// parse reads the command line; ok false means exit with code.
func parse(args []string, errOut io.Writer) (req request, code int, ok bool) {
	fs := flag.NewFlagSet("inboxsync ui", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&req.home, "home", "", "keep all state in `DIR` (or set INBOXSYNC_HOME)")
	account := fs.String("account", "", "the account the window is about (activate: sign in to it again)")
	reason := fs.String("reason", "", "why the window opens, in words (shown at the top of the activation window)")
	tab := fs.String("tab", "", "dashboard: the tab to show first ("+strings.Join(window.DashboardTabs, ", ")+")")
	fs.Usage = func() {
		fmt.Fprint(errOut, "Usage: inboxsync ui activate|dashboard|settings|crm-connect [--account A] [--reason TEXT] [--tab NAME]\n\n"+
			"Shows one Inbox Sync window and exits when it is closed. The running agent\n"+
			"starts it when you click the tray or when an account needs you to sign in again.\n"+
			"The windows are their own program, inboxsync-window, installed beside inboxsync.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// Flags may come before or after the window's name.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return req, exitOK, false
		}
		return req, exitUsage, false
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(errOut, "inboxsync: which window? (activate, dashboard, settings or crm-connect)")
		fs.Usage()
		return req, exitUsage, false
	}
	req.name = fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return req, exitOK, false
		}
		return req, exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(errOut, "inboxsync: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return req, exitUsage, false
	}
	switch req.name {
	case window.WindowActivate, window.WindowDashboard, window.WindowSettings, window.WindowCRMConnect:
	default:
		fmt.Fprintf(errOut, "inboxsync: unknown window %q (use activate, dashboard, settings or crm-connect)\n", req.name)
		return req, exitUsage, false
	}
	if *tab != "" && (req.name != window.WindowDashboard || !slices.Contains(window.DashboardTabs, strings.ToLower(*tab))) {
		fmt.Fprintf(errOut, "inboxsync: --tab is one of the dashboard's tabs: %s\n", strings.Join(window.DashboardTabs, ", "))
		return req, exitUsage, false
	}
	// Ask the OS to start Inbox Sync at login with the inboxsync program
	// beside this one, with --home when one is in use.
	autostart := []string{install.MainProgram()}
	if req.home != "" {
		autostart = append(autostart, "--home", req.home)
	}
	req.opts = window.Options{Account: *account, Reason: *reason, Tab: *tab, Autostart: autostart}
	return req, 0, true
}

func run(args []string, errOut io.Writer) int {
	req, code, ok := parse(args, errOut)
	if !ok {
		return code
	}
	p, err := install.ResolvePaths(req.home)
	if err != nil {
		fmt.Fprintf(errOut, "inboxsync: %s\n", err)
		return exitError
	}
	cl, err := control.Dial(context.Background(), p.Socket)
	if errors.Is(err, api.ErrNotRunning) {
		fmt.Fprintf(errOut, "inboxsync: %s\n", install.NotRunningHelp())
		return exitError
	}
	if err != nil {
		fmt.Fprintf(errOut, "inboxsync: %s\n", err)
		return exitError
	}
	defer cl.Close()
	return show(cl, req, errOut)
}

// show shows the window until it is closed (or SIGINT/SIGTERM).
func show(cl *control.Client, req request, errOut io.Writer) int {
	// Asked to go by a signal (a test, the session ending): end at once.
	// A window process holds nothing to save (the agent keeps every
	// state), and Fyne's own quit, which its driver starts on the same
	// signals, is not safe: in v2.7.1 its stop event can be sent on the
	// main-thread queue after the queue closed, a panic at exit (seen in
	// CI). So this handler is the only one: once the driver runs (its
	// signal goroutine starts with it), every registration for these
	// signals is dropped and this one made again. It is made before the
	// Fyne app, so that no moment of the window's life is left to the
	// runtime's default (end "by signal").
	sigs := make(chan os.Signal, 1)
	signals := []os.Signal{os.Interrupt, syscall.SIGTERM}
	signal.Notify(sigs, signals...)
	defer signal.Stop(sigs)
	var stop atomic.Pointer[func()]
	go func() {
		if _, ok := <-sigs; ok {
			if f := stop.Load(); f != nil {
				(*f)()
			}
			cl.Close()
			os.Exit(exitOK)
		}
	}()
	fyneapp.SetMetadata(fyne.AppMetadata{ID: appID, Name: "Inbox Sync", Version: install.Version,
		Migrations: map[string]bool{"fyneDo": true}})
	a := fyneapp.NewWithID(appID)
	w, err := window.New(a, cl, req.name, req.opts)
	if err != nil {
		fmt.Fprintf(errOut, "inboxsync: %s\n", err)
		return exitUsage
	}
	stopWindow := w.Stop
	stop.Store(&stopWindow)
	w.Window().SetMaster()
	w.Start()
	go fyne.Do(func() {
		// The main loop is running: Fyne's signal goroutine was
		// started before it. Ignore drops every registration (Fyne's
		// too); a signal between the two calls is ignored, not fatal (a
		// Reset here let the runtime's default end the process "by
		// signal": a failure seen in the screens e2e under load). A lost
		// signal is no harm: whoever sends one sends it again or closes
		// the window.
		signal.Ignore(signals...)
		signal.Notify(sigs, signals...)
	})
	w.Window().ShowAndRun()
	w.Stop() // before the deferred close of the connection to the agent
	return exitOK
}
