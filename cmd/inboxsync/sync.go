package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/sync/engine"
)

func (c *cli) sync(args []string) int {
	fs := c.flags("sync [--account A] [--wait]", "Syncs now. Refused within a minute of the last attempt. With --wait, shows\nprogress and waits until the sync ends; the exit status is 1 if it failed.", "")
	acct := fs.String("account", "", "sync only this account")
	wait := fs.Bool("wait", false, "wait until the sync ends")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		if !*wait {
			if err := cl.SyncNow(ctx, *acct); err != nil {
				return c.fail(err)
			}
			fmt.Fprintln(c.out, "Sync started.")
			return exitOK
		}
		// Subscribe first so that the session's end cannot slip by.
		events, err := cl.Subscribe(ctx)
		if err != nil {
			return c.fail(err)
		}
		st, err := cl.Status(ctx)
		if err != nil {
			return c.fail(err)
		}
		if err := cl.SyncNow(ctx, *acct); err != nil {
			return c.fail(err)
		}
		pending := map[string]bool{}
		for _, a := range st.Accounts {
			if *acct != "" && a.Account != *acct {
				continue
			}
			switch a.State {
			case engine.Idle, engine.Syncing, engine.Offline, engine.Throttled, engine.Suspended:
				pending[a.Account] = true
			}
		}
		failed := false
		lastProgress := time.Time{}
		for len(pending) > 0 {
			select {
			case <-ctx.Done():
				fmt.Fprintln(c.errOut, "inboxsync: stopped waiting; the sync goes on in the background.")
				return exitError
			case ev, ok := <-events:
				if !ok {
					return c.fail(errors.New("the agent stopped before the sync ended"))
				}
				if !pending[ev.Account] {
					continue
				}
				switch ev.Type {
				case engine.EventSessionProgress:
					if p := ev.Status.Progress; p != nil && time.Since(lastProgress) > time.Second {
						lastProgress = time.Now()
						fmt.Fprintf(c.errOut, "%s: syncing %s, %d items so far\n", ev.Account, p.Folder, p.Added+p.Updated+p.Removed)
					}
				case engine.EventSessionEnded:
					delete(pending, ev.Account)
					s := ev.Session
					fmt.Fprintf(c.out, "%s: %s (%d added, %d updated, %d removed in %s)\n", ev.Account, s.Outcome, s.Added, s.Updated, s.Removed, s.End.Sub(s.Start).Round(time.Millisecond))
					if s.Outcome != "ok" {
						failed = true
						if ev.Status != nil && ev.Status.Reason != "" {
							fmt.Fprintf(c.out, "  %s\n", ev.Status.Reason)
						}
					}
				}
			}
		}
		if failed {
			return exitError
		}
		return exitOK
	})
}
