package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func (c *cli) issues(args []string) int {
	fs := c.flags("issues [--account A] [--limit N] [--json]", "Lists items that could not be synced, newest first.", "")
	acct := fs.String("account", "", "only this account")
	limit := fs.Int("limit", 50, "at most `N` issues")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	return c.withReader(func(ctx context.Context, r reader) int {
		is, err := r.Issues(ctx, *acct, *limit)
		if err != nil {
			return c.fail(err)
		}
		if *asJSON {
			return c.printJSON(is)
		}
		if len(is) == 0 {
			fmt.Fprintln(c.out, "No item issues.")
			return exitOK
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tACCOUNT\tFOLDER\tITEM\tPROBLEM")
		for _, i := range is {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Time.Local().Format("2006-01-02 15:04"), i.Account, i.Folder, i.ProviderID, i.Message)
		}
		tw.Flush()
		return exitOK
	})
}
