package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/store"
)

func (c *cli) export(args []string) int {
	fs := c.flags("export [--account A] [--since T] [--until T] [--folders LIST] [--format csv|json|ics] [--out FILE]",
		"Writes synced mail and meetings to a file (or the standard output), oldest stored first.",
		`Formats:
  csv   RFC 4180, UTF-8, a header row; columns: `+strings.Join(api.CSVColumns, ", ")+`
        (times RFC 3339 in UTC, lists of addresses joined with "; ")
  json  an array of the items, the same objects as activity --json lists
  ics   iCalendar (RFC 5545) of the meetings only
Items deleted from the mailbox are left out. A progress line goes to the
standard error.`)
	acct := fs.String("account", "", "only this account")
	since := fs.String("since", "", "only items at or after `T`: a date (2026-11-01), a time (2026-11-01T09:00:00Z) or an age (48h)")
	until := fs.String("until", "", "only items before `T` (same forms as --since)")
	folders := fs.String("folders", "", "only these folders: a comma-separated `LIST` of inbox, sent, calendar")
	format := fs.String("format", "", "csv, json or ics (default: from the --out file's extension, else csv)")
	out := fs.String("out", "", "write to `FILE` (replaced only once the export is complete); default the standard output")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	q := api.ItemsQuery{Account: *acct}
	now := time.Now()
	for _, b := range []struct {
		flag, v string
		t       *time.Time
	}{{"--since", *since, &q.Since}, {"--until", *until, &q.Until}} {
		if b.v == "" {
			continue
		}
		t, err := parseSince(b.v, now)
		if err != nil {
			return c.fail(errors.New(strings.Replace(err.Error(), "--since", b.flag, 1)))
		}
		*b.t = t
	}
	if *folders != "" {
		for _, f := range strings.Split(*folders, ",") {
			f := api.Folder(strings.TrimSpace(strings.ToLower(f)))
			if !slices.Contains(api.AllFolders, f) {
				return c.fail(fmt.Errorf("--folders: unknown folder %q (use inbox, sent, calendar)", f))
			}
			q.Folders = append(q.Folders, f)
		}
	}
	if *format == "" {
		*format = api.FormatCSV
		if ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(*out)), "."); slices.Contains(api.ExportFormats, ext) {
			*format = ext
		}
	}
	if !slices.Contains(api.ExportFormats, *format) {
		return c.fail(fmt.Errorf("--format %q: use csv, json or ics", *format))
	}
	if *out != "" {
		abs, err := filepath.Abs(*out)
		if err != nil {
			return c.fail(fmt.Errorf("--out %s: %w", *out, err))
		}
		*out = abs
	}
	return c.withReader(func(ctx context.Context, r reader) int {
		var n int
		var err error
		if *out == "" {
			n, err = exportToStdout(ctx, r.Items, q, *format, c.out, c.progressLine())
		} else {
			// The agent (or, when none runs, the store read here) writes
			// the file.
			progress := c.progressLine()
			n, err = r.Export(ctx, api.ExportRequest{Query: q, Format: *format, Path: *out}, func(p api.ExportProgress) { progress(p.Items) })
		}
		if err != nil {
			return c.fail(err)
		}
		where := "the standard output"
		if *out != "" {
			where = *out
		}
		fmt.Fprintf(c.errOut, "\rExported %s items to %s.\n", thousands(n), where)
		return exitOK
	})
}

// progressLine returns a progress callback that rewrites one line on the
// standard error, at most 5 times a second.
func (c *cli) progressLine() func(int) {
	var last time.Time
	return func(n int) {
		if time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(c.errOut, "\rExporting… %s items", thousands(n))
	}
}

// exportToStdout runs store.Export into stdout, paging through items.
func exportToStdout(ctx context.Context, items func(context.Context, api.ItemsQuery) (api.ItemsPage, error), q api.ItemsQuery, format string, stdout io.Writer, progress func(int)) (int, error) {
	w := bufio.NewWriterSize(stdout, 64<<10)
	n, err := store.Export(ctx, items, q, format, w, progress)
	if err == nil {
		err = w.Flush()
	}
	return n, err
}
