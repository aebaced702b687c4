package main

// `inboxsync org mailboxes`: add (addresses, a CSV file), import a group,
// list, remove, enable, disable.

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/org"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
)

func (c *cli) orgMailboxes(args []string) int {
	const usage = `Usage:
  inboxsync org mailboxes add ADDRESS… [--provider office365|gmail|exchange]
  inboxsync org mailboxes add --csv FILE          (header: address,provider)
  inboxsync org mailboxes import --group GROUP-ID (members of a Microsoft 365 group)
  inboxsync org mailboxes list [--json]
  inboxsync org mailboxes remove ADDRESS…         (deletes what was synced of them)
  inboxsync org mailboxes enable ADDRESS…         (also after "disabled due to an error")
  inboxsync org mailboxes disable ADDRESS…
`
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(c.errOut, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	verb, args := args[0], args[1:]
	switch verb {
	case "add":
		fs, db := c.orgFlags("mailboxes add ADDRESS… [--provider office365|gmail|exchange] | --csv FILE",
			"Adds mailboxes to sync. Each first syncs at a point of the next interval of its own, so that\na thousand added at once do not all sync at the same minute.", "")
		prov := fs.String("provider", org.ProviderOffice365, "the mailboxes' service: office365, gmail or exchange (on-premises)")
		csvFile := fs.String("csv", "", "read address,provider lines from `FILE` (- for standard input)")
		now := fs.Bool("now", false, "sync the new mailboxes at once instead of spreading their first syncs over the interval")
		if code, ok := c.parseMixed(fs, args, 1<<20); !ok {
			return code
		}
		var mbs []pgstore.NewMailbox
		for _, a := range fs.Args() {
			mbs = append(mbs, pgstore.NewMailbox{Address: a, Provider: *prov})
		}
		if *csvFile != "" {
			more, err := c.readMailboxCSV(*csvFile, *prov)
			if err != nil {
				return c.fail(err)
			}
			mbs = append(mbs, more...)
		}
		if len(mbs) == 0 {
			fs.Usage()
			return exitUsage
		}
		return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
			at := time.Now()
			first := func(a string) time.Time { return org.Spread(a, at, org.DefaultInterval) }
			if *now {
				first = func(string) time.Time { return at }
			}
			added, err := st.AddMailboxes(ctx, mbs, first)
			if err != nil {
				return c.fail(err)
			}
			fmt.Fprintf(c.out, "Added %d mailboxes (%d were there already).\n", len(added), len(mbs)-len(added))
			return exitOK
		})
	case "import":
		fs, db := c.orgFlags("mailboxes import --group GROUP-ID",
			"Adds the members of a Microsoft 365 group (those with a mailbox) as office365 mailboxes.\nThe app needs the GroupMember.Read.All application permission for this.", "")
		group := fs.String("group", "", "the group's object `ID`")
		if code, ok := c.parseMixed(fs, args, 0); !ok {
			return code
		}
		if *group == "" {
			fs.Usage()
			return exitUsage
		}
		return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
			app, err := (&org.Credentials{Store: st}).App(ctx)
			if err != nil {
				return c.fail(err)
			}
			addrs, err := app.GroupMembers(ctx, *group)
			if err != nil {
				return c.fail(err)
			}
			mbs := make([]pgstore.NewMailbox, len(addrs))
			for i, a := range addrs {
				mbs[i] = pgstore.NewMailbox{Address: a, Provider: org.ProviderOffice365}
			}
			now := time.Now()
			added, err := st.AddMailboxes(ctx, mbs, func(a string) time.Time { return org.Spread(a, now, org.DefaultInterval) })
			if err != nil {
				return c.fail(err)
			}
			fmt.Fprintf(c.out, "The group has %d members with a mailbox: added %d (%d were there already).\n", len(addrs), len(added), len(addrs)-len(added))
			return exitOK
		})
	case "list":
		return c.orgStatus(args)
	case "remove", "enable", "disable":
		about := map[string]string{
			"remove":  "Removes mailboxes and deletes everything synced of them.",
			"enable":  "Enables mailboxes; a mailbox disabled due to an error starts again from its counters at zero.",
			"disable": "Disables mailboxes: they keep what was synced and sync no more until enabled.",
		}[verb]
		fs, db := c.orgFlags("mailboxes "+verb+" ADDRESS…", about, "")
		if code, ok := c.parseMixed(fs, args, 1<<20); !ok {
			return code
		}
		if fs.NArg() == 0 {
			fs.Usage()
			return exitUsage
		}
		return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
			known, err := st.Mailboxes(ctx, pgstore.Filter{Addresses: fs.Args()})
			if err != nil {
				return c.fail(err)
			}
			held := map[string]bool{}
			for _, m := range known {
				held[m.Address] = true
			}
			var unknown []string
			for _, a := range fs.Args() {
				if !held[strings.ToLower(strings.TrimSpace(a))] {
					unknown = append(unknown, a)
				}
			}
			var done []string
			switch verb {
			case "remove":
				done, err = st.RemoveMailboxes(ctx, fs.Args())
			default:
				done, err = st.SetEnabled(ctx, fs.Args(), verb == "enable", time.Now())
			}
			if err != nil {
				return c.fail(err)
			}
			past := map[string]string{"remove": "Removed", "enable": "Enabled", "disable": "Disabled"}[verb]
			fmt.Fprintf(c.out, "%s %d mailboxes", past, len(done))
			if already := len(known) - len(done); already > 0 {
				fmt.Fprintf(c.out, " (%d already were)", already)
			}
			fmt.Fprintln(c.out, ".")
			if len(unknown) > 0 {
				fmt.Fprintf(c.errOut, "inboxsync: not organisation mailboxes: %s\n", strings.Join(unknown, ", "))
				return exitError
			}
			return exitOK
		})
	}
	fmt.Fprintf(c.errOut, "inboxsync org mailboxes: unknown verb %q\n\n%s", verb, usage)
	return exitUsage
}

// readMailboxCSV reads address,provider lines (a header line first).
func (c *cli) readMailboxCSV(name, defProvider string) ([]pgstore.NewMailbox, error) {
	var r io.Reader = c.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s is empty", name)
	}
	head := rows[0]
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	ai, ok := col["address"]
	if !ok {
		return nil, fmt.Errorf("%s: the first line must name the columns, with at least \"address\" (and \"provider\")", name)
	}
	pi, hasP := col["provider"]
	var mbs []pgstore.NewMailbox
	for n, row := range rows[1:] {
		if ai >= len(row) || strings.TrimSpace(row[ai]) == "" {
			return nil, fmt.Errorf("%s line %d: no address", name, n+2)
		}
		p := defProvider
		if hasP && pi < len(row) && strings.TrimSpace(row[pi]) != "" {
			p = strings.ToLower(strings.TrimSpace(row[pi]))
		}
		mbs = append(mbs, pgstore.NewMailbox{Address: strings.TrimSpace(row[ai]), Provider: p})
	}
	return mbs, nil
}
