package main

import (
	"context"
	"fmt"
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
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STARTED\tACCOUNT\tTRIGGER\tOUTCOME\tADDED\tUPDATED\tREMOVED\tDURATION\tERROR")
		for _, s := range ss {
			dur := ""
			if !s.End.IsZero() {
				dur = s.End.Sub(s.Start).Round(time.Millisecond).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Start.Local().Format("2006-01-02 15:04:05"), s.Account, s.Trigger, s.Outcome, s.Added, s.Updated, s.Removed, dur, s.Error)
		}
		tw.Flush()
		return exitOK
	})
}
