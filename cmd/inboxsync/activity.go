package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

func (c *cli) activity(args []string) int {
	fs := c.flags("activity [--account A] [--since T] [--limit N] [--offset N] [--search TEXT] [--json]",
		"Lists synced mail and meetings, newest first.", api.SearchHelp)
	acct := fs.String("account", "", "only this account")
	since := fs.String("since", "", "only items after `T`: a date (2026-11-01), a time (2026-11-01T09:00:00Z) or an age (48h)")
	limit := fs.Int("limit", 50, "at most `N` items")
	offset := fs.Int("offset", 0, "skip the first `N` items (the next page: --offset 50)")
	search := fs.String("search", "", "only items that match `TEXT` (see above)")
	deleted := fs.Bool("deleted", false, "include items deleted from the mailbox")
	asJSON := fs.Bool("json", false, `print JSON: {"items": [...], "offset": N, "total": N, "total_capped": true when there are more than total}`)
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	q := api.ActivityQuery{Account: *acct, Limit: *limit, Offset: *offset, Search: *search, IncludeDeleted: *deleted}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			return c.fail(err)
		}
		q.Since = t
	}
	if *limit < 1 {
		return c.fail(errors.New("--limit must be at least 1"))
	}
	if *offset < 0 {
		return c.fail(errors.New("--offset cannot be negative"))
	}
	return c.withReader(func(ctx context.Context, r reader) int {
		page, err := r.Activity(ctx, q)
		if err != nil {
			return c.fail(err)
		}
		if *asJSON {
			return c.printJSON(page)
		}
		if len(page.Items) == 0 {
			switch {
			case *search != "":
				fmt.Fprintf(c.out, "Nothing matches %q.\n", *search)
			case *offset > 0:
				fmt.Fprintln(c.out, "No more items.")
			default:
				fmt.Fprintln(c.out, "Nothing synced yet.")
			}
			return exitOK
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		withCRM := slices.ContainsFunc(page.Items, func(it api.StoredItem) bool { return it.CRM != nil })
		if withCRM {
			fmt.Fprintln(tw, "TIME\tACCOUNT\tFOLDER\tFROM\tSUBJECT\tSALESFORCE")
		} else {
			fmt.Fprintln(tw, "TIME\tACCOUNT\tFOLDER\tFROM\tSUBJECT")
		}
		for _, it := range page.Items {
			subject := it.Subject
			if it.Deleted {
				subject += " (deleted)"
			}
			if it.Kind == api.KindEvent && it.Location != "" {
				subject += " @ " + it.Location
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s", it.Time.Local().Format("2006-01-02 15:04"), it.Account, it.Folder, itemFrom(it), subject)
			if withCRM {
				fmt.Fprintf(tw, "\t%s", crmWords(it.CRM))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		if last := page.Offset + len(page.Items); last < page.Total || page.TotalCapped {
			of := thousands(page.Total)
			if page.TotalCapped {
				// An exact count costs a second at a million items
				// (README: BenchmarkActivityCount); the count stops at
				// TotalCap.
				of = "more than " + thousands(page.Total)
			}
			fmt.Fprintf(c.errOut, "Items %d-%d of %s; the next ones: --offset %d\n", page.Offset+1, last, of, last)
		}
		return exitOK
	})
}

// itemFrom is who an item is from, for the FROM column: a mail's sender,
// a meeting's organizer (providers store it as Organizer; a meeting has
// no sender of its own).
func itemFrom(it api.StoredItem) string {
	if it.From == "" && it.Kind == api.KindEvent {
		return it.Organizer
	}
	return it.From
}

// crmWords says an item's CRM state in the activity list, with the rule
// that logged or skipped it: "logged 02s… (marked for Salesforce)",
// "skipped (kept out): marked Private".
func crmWords(c *api.CRMItem) string {
	if c == nil {
		return "-"
	}
	rule := ""
	if w := api.CRMRuleWords(c.Rule); w != "" {
		rule = " (" + w + ")"
	}
	switch {
	case c.State == api.CRMLogged:
		return "logged " + c.RecordID + rule
	case c.Reason != "":
		return string(c.State) + rule + ": " + c.Reason
	}
	return string(c.State) + rule
}

// parseSince reads a date, an RFC 3339 time or an age like 48h.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: give a date (2026-11-01), a time (2026-11-01T09:00:00Z) or an age (48h)", s)
}
