package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/control"
)

const syncAbout = `Syncs now. Refused within a minute of the last attempt.

With --wait, it shows progress and follows each account until its sync is
done: through a server that asks Inbox Sync to wait (throttling) and through
retries while the network is down, as long as they come within --timeout.
The exit status is 0 when every account synced, and 1 when a sync failed, an
account needs to be activated again or is suspended, or the wait ran out of
time (the sync then goes on in the background).`

// defaultSyncTimeout is how long `sync --wait` waits at most.
const defaultSyncTimeout = 10 * time.Minute

func (c *cli) sync(args []string) int {
	fs := c.flags("sync [--account A] [--wait [--timeout D]]", syncAbout, "")
	acct := fs.String("account", "", "sync only this account")
	wait := fs.Bool("wait", false, "wait until the sync is done")
	timeout := fs.Duration("timeout", defaultSyncTimeout, "with --wait, stop waiting after this long, e.g. 30s, 5m")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	timeoutSet := false
	fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
	if timeoutSet && !*wait {
		fmt.Fprintln(c.errOut, "inboxsync: --timeout goes with --wait")
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintln(c.errOut, "inboxsync: --timeout must be positive")
		return exitUsage
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		if !*wait {
			if err := cl.SyncNow(ctx, *acct); err != nil {
				return c.fail(err)
			}
			fmt.Fprintln(c.out, "Sync started.")
			return exitOK
		}
		return c.syncWait(ctx, cl, *acct, *timeout)
	})
}

// followed is one account that `sync --wait` follows, over the sessions
// of its sync: a session that ends throttled or offline is followed by a
// retry session, and the sync is done when a session ends otherwise.
type followed struct {
	account  string
	start    time.Time // the first followed session's start
	counts   api.Counts
	sessions int
	seen     map[int64]bool // session IDs already taken into account
	retryAt  time.Time      // set while waiting for a retry session
	done     bool
	ok       bool
}

func (f *followed) finish(ok bool) {
	f.done, f.ok = true, ok
}

// syncWait requests a sync of one account (or all) and follows it to its
// final outcome, or until timeout.
func (c *cli) syncWait(ctx context.Context, cl *control.Client, account string, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	// Subscribe first, so that no session's end can slip by unseen.
	events, err := cl.Subscribe(ctx)
	if err != nil {
		return c.fail(err)
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return c.fail(err)
	}
	// A session that ended before this moment is not the one we asked for.
	requested := time.Now()

	var follow []*followed
	byName := map[string]*followed{}
	failed := false
	// request asks for one account's sync and starts following it. A sync
	// refused as too soon is followed all the same when the engine will
	// retry the account by itself (throttled or offline).
	request := func(name string) error {
		err := cl.SyncNow(ctx, name)
		a, known := findAccount(st, name)
		if err != nil && !(errors.Is(err, api.ErrTooSoon) && known && retryPending(a)) {
			return err
		}
		f := &followed{account: name, seen: map[int64]bool{}}
		follow = append(follow, f)
		byName[name] = f
		if err != nil {
			c.awaitRetry(f, a, time.Until(a.NextSync), deadline)
		}
		return nil
	}
	if account != "" {
		if err := request(account); err != nil {
			return c.fail(err)
		}
	} else {
		type refusal struct {
			account api.AccountStatus
			err     error
		}
		var refused []refusal
		for _, a := range st.Accounts {
			if a.State == api.NotActivated {
				continue // disconnected: nothing to sync
			}
			if err := request(a.Account); err != nil {
				refused = append(refused, refusal{a, err})
			}
		}
		if len(follow) == 0 {
			switch len(refused) {
			case 0:
				// No account to sync: the engine says so in its words.
				err := cl.SyncNow(ctx, "")
				if err == nil {
					err = errors.New("there is no account to sync")
				}
				return c.fail(err)
			case 1:
				return c.fail(refused[0].err)
			}
		}
		// Paused accounts and accounts synced a moment ago are noted; one
		// that needs to be activated again makes the sync fail.
		for _, r := range refused {
			fmt.Fprintf(c.out, "%s: not synced: %s\n", r.account.Account, r.err)
			failed = failed || r.account.State.NeedsAttention()
		}
		if len(follow) == 0 {
			return exitError
		}
	}

	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var lastSeq uint64
	lastProgress := time.Time{}
	for pending(follow) > 0 {
		select {
		case <-ctx.Done():
			fmt.Fprintln(c.errOut, "inboxsync: stopped waiting; the sync goes on in the background.")
			return exitError
		case <-timer.C:
			for _, f := range follow {
				if f.done {
					continue
				}
				if !f.retryAt.IsZero() {
					fmt.Fprintf(c.out, "%s: not done: waiting to try again at %s\n", f.account, clock(f.retryAt, time.Now()))
				} else {
					fmt.Fprintf(c.out, "%s: not done: still syncing\n", f.account)
				}
			}
			fmt.Fprintf(c.errOut, "inboxsync: stopped waiting after %s (--timeout); the sync goes on in the background: see `inboxsync status`.\n", timeout)
			return exitError
		case ev, ok := <-events:
			if !ok {
				return c.fail(errors.New("the agent stopped before the sync was done"))
			}
			if lastSeq != 0 && ev.Seq != lastSeq+1 {
				// Events were lost: catch up from the status.
				if s, err := cl.Status(ctx); err == nil {
					for _, a := range s.Accounts {
						if f := byName[a.Account]; f != nil && !f.done && a.LastSync != nil && a.State != api.Syncing {
							c.sessionEnded(f, *a.LastSync, a, requested, deadline)
						}
					}
				}
			}
			lastSeq = ev.Seq
			f := byName[ev.Account]
			if f == nil || f.done {
				continue
			}
			switch ev.Type {
			case api.EventSessionProgress:
				if ev.Status == nil || ev.Status.Progress == nil {
					continue
				}
				if p := ev.Status.Progress; time.Since(lastProgress) > time.Second {
					lastProgress = time.Now()
					fmt.Fprintf(c.errOut, "%s: syncing %s, %d items so far\n", ev.Account, p.Folder, f.counts.Added+f.counts.Updated+f.counts.Removed+p.Added+p.Updated+p.Removed)
				}
			case api.EventSessionEnded:
				if ev.Session != nil && ev.Status != nil {
					c.sessionEnded(f, *ev.Session, *ev.Status, requested, deadline)
				}
			case api.EventState:
				// Between sessions only a pause or a disconnection stops
				// the retry from coming; a running session reports either
				// through its end.
				if f.retryAt.IsZero() {
					continue
				}
				switch ev.To {
				case api.Paused:
					fmt.Fprintf(c.out, "%s: not done: sync was paused before it could try again; it goes on when you resume it\n", f.account)
					f.finish(false)
				case api.NotActivated:
					fmt.Fprintf(c.out, "%s: not done: the account was disconnected\n", f.account)
					f.finish(false)
				}
			}
		}
	}
	for _, f := range follow {
		failed = failed || !f.ok
	}
	if failed {
		return exitError
	}
	return exitOK
}

// sessionEnded takes a session's end into account: done, or waiting for
// the retry the engine scheduled.
func (c *cli) sessionEnded(f *followed, s api.Session, st api.AccountStatus, requested, deadline time.Time) {
	if s.End.IsZero() || s.End.Before(requested) || f.seen[s.ID] {
		return // still running, an earlier session, or already counted
	}
	f.seen[s.ID] = true
	if f.sessions == 0 {
		f.start = s.Start
	}
	f.sessions++
	f.counts.Add(s.Counts)
	f.retryAt = time.Time{}
	switch s.Outcome {
	case "throttled", "offline":
		if retryPending(st) {
			// The engine's delay, not what is left of it when the event
			// arrives here.
			c.awaitRetry(f, st, st.NextSync.Sub(s.End), deadline)
			return
		}
		// Paused or disconnected in the meantime: no retry will come.
	}
	retries := ""
	switch n := f.sessions - 1; n {
	case 0:
	case 1:
		retries = ", after 1 retry"
	default:
		retries = fmt.Sprintf(", after %d retries", n)
	}
	fmt.Fprintf(c.out, "%s: %s (%d added, %d updated, %d removed in %s%s)\n", f.account, s.Outcome, f.counts.Added, f.counts.Updated, f.counts.Removed, s.End.Sub(f.start).Round(time.Millisecond), retries)
	if s.Outcome == "ok" {
		f.finish(true)
		return
	}
	if st.Reason != "" {
		fmt.Fprintf(c.out, "  %s\n", st.Reason)
	}
	f.finish(false)
}

// awaitRetry notes that the account waits for the engine's next attempt,
// due in wait at st.NextSync, and says so; an attempt due after the
// deadline is not waited for.
func (c *cli) awaitRetry(f *followed, st api.AccountStatus, wait time.Duration, deadline time.Time) {
	why, next := waitWords(st.State)
	if st.NextSync.After(deadline) {
		fmt.Fprintf(c.out, "%s: not done: %s; %s at %s, after the --timeout; the sync goes on in the background\n", f.account, why, next, clock(st.NextSync, time.Now()))
		f.finish(false)
		return
	}
	f.retryAt = st.NextSync
	fmt.Fprintf(c.errOut, "%s: %s; %s in %s\n", f.account, why, next, words(max(wait, time.Second)))
}

// waitWords says why an account waits, and what it does next.
func waitWords(s api.State) (why, next string) {
	if s == api.Throttled {
		return "the mail server asked us to wait", "continuing"
	}
	return "offline (can't reach the mail server)", "retrying"
}

// retryPending reports whether the engine will try the account again by
// itself: it is throttled or offline with a retry scheduled.
func retryPending(a api.AccountStatus) bool {
	return (a.State == api.Throttled || a.State == api.Offline) && !a.NextSync.IsZero()
}

func findAccount(st api.Status, name string) (api.AccountStatus, bool) {
	for _, a := range st.Accounts {
		if a.Account == name {
			return a, true
		}
	}
	return api.AccountStatus{}, false
}

func pending(fs []*followed) int {
	n := 0
	for _, f := range fs {
		if !f.done {
			n++
		}
	}
	return n
}
