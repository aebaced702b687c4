package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/app"
	"github.com/inboxsync/inboxsync/sync/api"
)

func (c *cli) status(args []string) int {
	fs := c.flags("status [--json]", "Shows whether sync is paused and, per account: its state, the last sync\n(time, outcome, counts), the next sync, and the consecutive rejections and\nfailures. Without a running agent it shows what the agent last saved.", "")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	ctx, cancel := signalContext()
	defer cancel()
	r, closeR, err := c.reader(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer closeR()
	s, err := r.Status(ctx)
	if err != nil {
		return c.fail(err)
	}
	if s.Source != "agent" {
		// No agent: the policy as the file says (the agent applies the
		// same within seconds of a change).
		s.Organisation = app.LoadPolicy().Organisation()
	}
	if *asJSON {
		return c.printJSON(s)
	}
	c.printStatus(s, time.Now())
	return exitOK
}

func (c *cli) printStatus(s api.Status, now time.Time) {
	w := c.out
	switch {
	case s.Source != "agent":
		fmt.Fprintln(w, "Inbox Sync is not running (showing what it last saved).")
	case s.Paused && s.PausedUntil.IsZero():
		fmt.Fprintln(w, "Inbox Sync is running. Sync is paused until you resume it.")
	case s.Paused:
		fmt.Fprintf(w, "Inbox Sync is running. Sync is paused until %s.\n", clock(s.PausedUntil, now))
	default:
		fmt.Fprintf(w, "Inbox Sync is running. Sync runs every %s.\n", words(s.Interval.D()))
	}
	defer printPolicyProblems(w, s)
	if s.Index != nil {
		fmt.Fprintf(w, "Search index: indexing %s of %s items (searches read the rest meanwhile, more slowly).\n",
			thousands(s.Index.Done), thousands(s.Index.Done+s.Index.Left))
	}
	if org := s.Organisation; org != nil && len(s.Accounts) == 0 {
		fmt.Fprintf(w, "No mailbox is connected on this computer: %s\n", lowerFirst(org.Words()))
		return
	} else if org != nil {
		fmt.Fprintln(w, org.Words())
	}
	if len(s.Accounts) == 0 {
		fmt.Fprintln(w, "No account yet: add one with `inboxsync account add`.")
		return
	}
	for _, a := range s.Accounts {
		fmt.Fprintf(w, "\n%s (%s%s): %s\n", a.Account, a.Provider, ifSet(", ", a.Email), a.Words)
		if a.Reason != "" {
			fmt.Fprintf(w, "  %s\n", a.Reason)
		}
		if a.Progress != nil {
			fmt.Fprintf(w, "  syncing %s: %d pages, %d added, %d updated, %d removed so far\n", a.Progress.Folder, a.Progress.Pages, a.Progress.Added, a.Progress.Updated, a.Progress.Removed)
		}
		// "last successful sync" is when the data was current; a failed
		// try after it is named as such.
		ok, l := a.LastSuccess, a.LastSync
		if ok != nil {
			fmt.Fprintf(w, "  last successful sync: %s (%d added, %d updated, %d removed, took %s)\n",
				clock(ok.Start, now), ok.Added, ok.Updated, ok.Removed, ok.End.Sub(ok.Start).Round(time.Millisecond))
		} else {
			fmt.Fprintln(w, "  last successful sync: never")
		}
		if l != nil && l.Failed() && (ok == nil || ok.When().Before(l.When())) {
			fmt.Fprintf(w, "  last try:   %s failed (%s)", clock(l.Start, now), l.Outcome)
			if l.Error != "" {
				fmt.Fprintf(w, ": %s", l.Error)
			}
			fmt.Fprintln(w)
		}
		switch {
		case s.Source != "agent" && !a.Paused && a.State != api.NotActivated && !a.State.NeedsAttention():
			fmt.Fprintln(w, "  next sync:  when Inbox Sync starts — run `inboxsync`")
		case !a.NextSync.IsZero():
			fmt.Fprintf(w, "  next sync:  %s\n", clock(a.NextSync, now))
		}
		if a.Paused {
			if a.PausedUntil.IsZero() {
				fmt.Fprintln(w, "  paused until resumed")
			} else {
				fmt.Fprintf(w, "  paused until %s\n", clock(a.PausedUntil, now))
			}
		}
		fmt.Fprintf(w, "  rejections: %d of %d, failed syncs: %d of %d in a row\n", a.Rejections, api.MaxRejections, a.Failures, api.MaxFailures)
	}
	if s.CRM != nil {
		fmt.Fprintln(w)
		printCRMStatus(w, *s.CRM, now)
	}
}

// printPolicyProblems lists the policy's problems, if any.
func printPolicyProblems(w io.Writer, s api.Status) {
	if len(s.PolicyProblems) == 0 {
		return
	}
	fmt.Fprintf(w, "\nThe administrator's policy %s has problems (those entries are ignored; see `inboxsync policy show`):\n", s.PolicyPath)
	for _, p := range s.PolicyProblems {
		fmt.Fprintf(w, "  %s\n", p)
	}
}

// lowerFirst returns s with its first letter in lower case.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// thousands formats n with a comma between thousands: 120,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func ifSet(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// clock formats t for people, relative to now.
func clock(t, now time.Time) string {
	local := t.Local()
	abs := local.Format("2006-01-02 15:04")
	if local.Format(time.DateOnly) == now.Local().Format(time.DateOnly) {
		abs = local.Format("15:04")
	}
	d := t.Sub(now)
	switch {
	case d > 30*time.Second:
		return fmt.Sprintf("%s (in %s)", abs, words(d))
	case d < -30*time.Second:
		return fmt.Sprintf("%s (%s ago)", abs, words(-d))
	}
	return abs + " (now)"
}

// words says d for people: "1 second", "40 seconds", "3 minutes" ….
func words(d time.Duration) string {
	switch {
	case d < time.Minute-time.Second/2: // 59.6 s is a minute
		s := int(d.Round(time.Second) / time.Second)
		if s <= 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", s)
	case d < 2*time.Hour:
		m := int(d.Round(time.Minute) / time.Minute)
		if m == 1 {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", m)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Round(time.Hour)/time.Hour))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}
