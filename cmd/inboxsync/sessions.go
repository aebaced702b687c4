package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

func (c *cli) sessions(args []string) int {
	fs := c.flags("sessions [--account A] [--limit N] [--json]", "Lists past sync sessions, newest first.", "")
	acct := fs.String("account", "", "only this account")
	limit := fs.Int("limit", 20, "at most `N` sessions")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	return c.withReader(func(ctx context.Context, r reader) int {
		ss, err := r.Sessions(ctx, api.SessionQuery{Account: *acct, Limit: *limit})
		if err != nil {
			return c.fail(err)
		}
		if *asJSON {
			return c.printJSON(ss)
		}
		if len(ss) == 0 {
			fmt.Fprintln(c.out, "No sync has run yet.")
			return exitOK
		}
		writeSessions(c.out, ss, true)
		return exitOK
	})
}

// writeSessions prints sessions as a table, with an ACCOUNT column when
// withAccount (the org verb lists one mailbox's).
func writeSessions(w io.Writer, ss []api.Session, withAccount bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	acct := func(s string) string {
		if withAccount {
			return s + "\t"
		}
		return ""
	}
	fmt.Fprintln(tw, "STARTED\t"+acct("ACCOUNT")+"TRIGGER\tOUTCOME\tADDED\tUPDATED\tREMOVED\tDURATION\tERROR")
	for _, s := range ss {
		dur := ""
		if !s.End.IsZero() {
			dur = s.End.Sub(s.Start).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Start.Local().Format("2006-01-02 15:04:05"), acct(s.Account),
			s.Trigger, s.Outcome, s.Added, s.Updated, s.Removed, dur, s.Error)
	}
	tw.Flush()
}
