package main

import (
	"context"
	"fmt"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/app"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/control"
)

func (c *cli) start(args []string) int {
	p, err := c.paths()
	if err != nil {
		return c.fail(err)
	}
	ctx, cancel := signalContext()
	defer cancel()
	if cl, err := control.Dial(ctx, p.Socket); err == nil {
		defer cl.Close()
		if err := cl.OpenWindow(ctx, api.WindowRequest{Window: "dashboard"}); err != nil {
			return c.fail(err)
		}
		fmt.Fprintln(c.out, "Inbox Sync is already running; opening its dashboard.")
		return exitOK
	}
	return c.runAgent(ctx, p, false)
}

func (c *cli) agent(args []string) int {
	fs := c.flags("agent [--no-tray]", "Runs the agent in the foreground: the sync engine, the control socket and\n(unless --no-tray) the tray icon. Stop it with Ctrl-C or SIGTERM; a running\nsync stops at its next page, keeping everything it saved.", "")
	noTray := fs.Bool("no-tray", false, "run without the tray icon (headless machines, tests)")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	p, err := c.paths()
	if err != nil {
		return c.fail(err)
	}
	ctx, cancel := signalContext()
	defer cancel()
	return c.runAgent(ctx, p, *noTray)
}

func (c *cli) runAgent(ctx context.Context, p install.Paths, noTray bool) int {
	// With the tray, RunAgent runs its loop on this goroutine: main calls
	// run, which calls this, on the main goroutine, as macOS requires.
	opts := app.AgentOptions{Stderr: c.errOut, Tray: !noTray}
	if err := app.RunAgent(ctx, p, opts); err != nil {
		return c.fail(err)
	}
	return exitOK
}
