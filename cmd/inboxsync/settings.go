package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/inboxsync/inboxsync/sync/api"
)

func (c *cli) settings(args []string) int {
	fs := c.flags("settings [--interval D] [--history-days N] [--keep-days N] [--folders LIST] [--notifications on|off] [--json]", "Shows the sync settings, or changes those given.", "")
	interval := fs.Duration("interval", 0, "time between syncs, e.g. 30m")
	history := fs.Int("history-days", 0, "how many days of history the first sync takes")
	folders := fs.String("folders", "", "what to sync: a comma-separated list of inbox, sent, calendar")
	notes := fs.String("notifications", "", "desktop notifications: on or off")
	keep := fs.Int("keep-days", 0, "keep synced items for `N` days (mail by its time, meetings by their end), then remove them; 0 keeps everything (default 365)")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	ctx, cancel := signalContext()
	defer cancel()
	keepSet := false
	fs.Visit(func(f *flag.Flag) { keepSet = keepSet || f.Name == "keep-days" })
	changing := *interval != 0 || *history != 0 || *folders != "" || *notes != "" || keepSet
	var s api.Settings
	if !changing {
		r, closeR, err := c.reader(ctx)
		if err != nil {
			return c.fail(err)
		}
		defer closeR()
		if s, err = r.Settings(ctx); err != nil {
			return c.fail(err)
		}
	} else {
		cl, code, ok := c.dial(ctx)
		if !ok {
			return code
		}
		defer cl.Close()
		var err error
		if s, err = cl.Settings(ctx); err != nil {
			return c.fail(err)
		}
		if *interval != 0 {
			s.Interval = api.Duration(*interval)
		}
		if *history != 0 {
			s.HistoryDays = *history
		}
		if keepSet {
			s.KeepDays = *keep
		}
		if *folders != "" {
			s.Folders = nil
			for _, f := range strings.Split(*folders, ",") {
				s.Folders = append(s.Folders, api.Folder(strings.TrimSpace(strings.ToLower(f))))
			}
		}
		switch *notes {
		case "":
		case "on":
			s.Notifications = true
		case "off":
			s.Notifications = false
		default:
			return c.fail(errors.New("--notifications takes on or off"))
		}
		if s, err = cl.UpdateSettings(ctx, s); err != nil {
			return c.fail(err)
		}
	}
	if *asJSON {
		return c.printJSON(s)
	}
	fs2 := make([]string, len(s.Folders))
	for i, f := range s.Folders {
		fs2[i] = string(f)
	}
	onOff := map[bool]string{true: "on", false: "off"}
	from := func(name string) string {
		switch s.Sources[name] {
		case api.SourceLocked:
			return "  (" + api.LockedWords + ")"
		case api.SourcePolicy:
			return "  (your administrator's default)"
		}
		return ""
	}
	keepWords := fmt.Sprint(s.KeepDays)
	if s.KeepDays == 0 {
		keepWords = "0 (keep everything)"
	}
	fmt.Fprintf(c.out, "interval:       %s%s\nhistory days:   %d%s\nkeep days:      %s\nfolders:        %s%s\nnotifications:  %s\n",
		s.Interval, from("sync_interval"), s.HistoryDays, from("history_days"), keepWords, strings.Join(fs2, ", "), from("folders"), onOff[s.Notifications])
	return exitOK
}
