package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/control"
)

func (c *cli) pause(args []string) int {
	fs := c.flags("pause [--for DURATION] [--account A]", "Pauses sync, for all accounts or one. A running sync stops at its next page,\nkeeping what it saved. The pause survives restarts.", "")
	d := fs.Duration("for", 0, "pause for this long, e.g. 30m, 1h, 4h (default: until resumed)")
	acct := fs.String("account", "", "pause only this account")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	if *d < 0 {
		return c.fail(errors.New("--for cannot be negative"))
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		if err := cl.Pause(ctx, api.PauseRequest{Account: *acct, For: api.Duration(*d)}); err != nil {
			return c.fail(err)
		}
		who := "Sync is"
		if *acct != "" {
			who = fmt.Sprintf("Sync of %s is", *acct)
		}
		if *d == 0 {
			fmt.Fprintf(c.out, "%s paused until you resume it (`inboxsync resume`).\n", who)
		} else {
			fmt.Fprintf(c.out, "%s paused until %s.\n", who, time.Now().Add(*d).Local().Format("15:04"))
		}
		return exitOK
	})
}

func (c *cli) resume(args []string) int {
	fs := c.flags("resume [--account A]", "Resumes sync for all accounts, or one. Resuming an account that was\nsuspended after repeated failures re-enables it and syncs at once.", "")
	acct := fs.String("account", "", "resume only this account")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		if err := cl.Resume(ctx, *acct); err != nil {
			return c.fail(err)
		}
		fmt.Fprintln(c.out, "Sync resumed.")
		return exitOK
	})
}
