package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"text/tabwriter"
	"time"

	"github.com/inboxsync/inboxsync/internal/install"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/org"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
	"github.com/inboxsync/inboxsync/sync/policy"
)

const orgOverview = `Organisation mode: the administrator syncs every mailbox of the company from
servers, with the organisation's own app credentials; nobody activates
anything on their computer. See docs/org.md.

Usage:
  inboxsync org <verb> [flags]

Verbs:
  init          set up (or upgrade) the organisation database; safe to run again
  credentials   register the Microsoft 365 app, the Google service account or the
                Exchange on-premises service account (impersonation)
  mailboxes     add, import, list, remove, enable or disable mailboxes
  serve         run a worker; start as many as you like, on any machine
  sync          sync mailboxes now (--wait to wait for the result)
  status        each mailbox's state, last and next sync (--json, --csv)
  sessions      a mailbox's last sync sessions
  console       the admins' web console (state of every mailbox, Force sync, Enable, Disable)

Every verb finds PostgreSQL through --database URL or INBOXSYNC_DATABASE, a
libpq URL such as postgres:///inboxsync?host=/run/postgresql (unix socket) or
postgres://inboxsync@db.example.com/inboxsync (a password belongs in
~/.pgpass or PGPASSFILE, not in the URL). Every verb has --help.
`

// org runs `inboxsync org VERB`.
func (c *cli) org(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(c.out, orgOverview)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	verbs := map[string]func([]string) int{
		"init":        c.orgInit,
		"credentials": c.orgCredentials,
		"mailboxes":   c.orgMailboxes,
		"serve":       c.orgServe,
		"sync":        c.orgSync,
		"status":      c.orgStatus,
		"sessions":    c.orgSessions,
		"console":     c.orgConsole,
		"crm":         c.orgCRM,
	}
	f, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(c.errOut, "inboxsync org: unknown verb %q\n\n%s", args[0], orgOverview)
		return exitUsage
	}
	return f(args[1:])
}

// orgFlags is flags for an org verb, with --database.
func (c *cli) orgFlags(usage, about, more string) (*flag.FlagSet, *string) {
	fs := c.flags("org "+usage, about, more)
	db := fs.String("database", os.Getenv("INBOXSYNC_DATABASE"), "the organisation database, a libpq `URL` (or set INBOXSYNC_DATABASE)")
	return fs, db
}

// parseMixed is parse for verbs whose flags may come after their
// arguments ("org sessions ADDRESS --json"): afterwards fs.Args() holds
// the arguments alone.
func (c *cli) parseMixed(fs *flag.FlagSet, args []string, maxArgs int) (code int, ok bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK, false
			}
			return exitUsage, false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return c.parse(fs, append([]string{"--"}, pos...), maxArgs)
}

// orgStore opens the organisation store and runs f with it.
func (c *cli) withOrg(dbURL string, f func(ctx context.Context, st *pgstore.Store) int) int {
	return c.withOrgSized(dbURL, 0, f)
}

// withOrgSized is withOrg with a pool of at most maxConns connections.
func (c *cli) withOrgSized(dbURL string, maxConns int, f func(ctx context.Context, st *pgstore.Store) int) int {
	if dbURL == "" {
		return c.fail(errors.New("which database? Pass --database URL or set INBOXSYNC_DATABASE (for example postgres:///inboxsync?host=/run/postgresql)"))
	}
	ctx, cancel := signalContext()
	defer cancel()
	st, err := pgstore.OpenSized(ctx, dbURL, maxConns)
	if err != nil {
		return c.fail(err)
	}
	defer st.Close()
	return f(ctx, st)
}

func (c *cli) orgInit(args []string) int {
	fs, db := c.orgFlags("init [--database URL]",
		"Creates the organisation's tables in the database, and River's (the job queue), or upgrades them.\nSafe to run again, and from several machines at once.", "")
	if code, ok := c.parseMixed(fs, args, 0); !ok {
		return code
	}
	if *db == "" {
		return c.fail(errors.New("which database? Pass --database URL or set INBOXSYNC_DATABASE"))
	}
	ctx, cancel := signalContext()
	defer cancel()
	pool, err := pgstore.Connect(ctx, *db)
	if err != nil {
		return c.fail(err)
	}
	defer pool.Close()
	rep, err := pgstore.Migrate(ctx, pool)
	if err != nil {
		return c.fail(err)
	}
	if rep.From == rep.To && rep.RiverFrom == rep.RiverTo {
		fmt.Fprintf(c.out, "The organisation database is up to date (schema %d, job queue %d).\n", rep.To, rep.RiverTo)
	} else {
		fmt.Fprintf(c.out, "The organisation database is set up: schema %d → %d, job queue %d → %d.\n", rep.From, rep.To, rep.RiverFrom, rep.RiverTo)
	}
	return exitOK
}

func (c *cli) orgServe(args []string) int {
	fs, db := c.orgFlags("serve [--database URL] [--concurrency N] [--policy FILE]",
		"Runs a worker: it syncs the organisation's mailboxes as jobs from the database, together with\nevery other worker (on this machine or others). Stop it with Ctrl+C or SIGTERM: running syncs stop\nat their next page and go on in another worker. Logs go to standard error.", "")
	conc := fs.Int("concurrency", org.DefaultConcurrency, "sync at most `N` mailboxes at once in this worker")
	interval := fs.Duration("interval", org.DefaultInterval, "sync each mailbox every `DURATION`")
	rescue := fs.Duration("rescue-after", org.DefaultRescueAfter, "hand a mailbox whose worker stopped answering to another worker after `DURATION`")
	history := fs.Int("history-days", 0, "a first sync reads this many `DAYS` of mail (0: all)")
	policyFile := fs.String("policy", policy.Path(runtime.GOOS, os.Getenv), "read the email notices' settings (notify, admin_email, notify_resumed, [smtp]) and the Salesforce rules ([salesforce]) from the policy `FILE`")
	noticeEvery := fs.Duration("notices-every", org.DefaultNoticeCheck, "check for email notices to send every `DURATION`")
	if code, ok := c.parseMixed(fs, args, 0); !ok {
		return code
	}
	if *interval < time.Minute {
		return c.fail(fmt.Errorf("%w: --interval must be at least a minute", api.ErrInvalid))
	}
	stopProfile, err := cpuProfile(os.Getenv("INBOXSYNC_CPUPROFILE"))
	if err != nil {
		return c.fail(err)
	}
	defer stopProfile()
	return c.withOrgSized(*db, *conc+10, func(ctx context.Context, st *pgstore.Store) int {
		log := slog.New(slog.NewTextHandler(c.errOut, nil))
		w, err := org.NewWorker(org.Config{
			Pool: st.Pool(), Store: st, Opener: &org.Credentials{Store: st, HTTPClient: org.HTTPClient(install.Version, workerName(), *conc)},
			Interval: *interval, Concurrency: *conc, RescueAfter: *rescue, HistoryDays: *history, Log: log,
			Notices: orgNotices(*policyFile, st, log), NoticeCheck: *noticeEvery,
			Salesforce: &org.Salesforce{Store: st, HTTPClient: org.HTTPClient(install.Version, workerName(), *conc)},
			CRMRules:   org.CRMRulesOf(*policyFile),
		})
		if err != nil {
			return c.fail(err)
		}
		log.Info("worker started", "pid", os.Getpid(), "concurrency", *conc, "interval", interval.String())
		if err := w.Run(ctx, 10*time.Second); err != nil {
			return c.fail(err)
		}
		log.Info("worker stopped")
		return exitOK
	})
}

// cpuProfile writes a CPU profile of the process to the file name until
// stop is called; "" profiles nothing. It is a measuring aid
// (INBOXSYNC_CPUPROFILE, used by sync/org/internal/benchorg), not a flag.
func cpuProfile(name string) (stop func(), err error) {
	if name == "" {
		return func() {}, nil
	}
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func (c *cli) orgSync(args []string) int {
	fs, db := c.orgFlags("sync ADDRESS…|--all [--wait]",
		"Syncs mailboxes now (at most once a minute per mailbox), in whichever worker is free.", "")
	all := fs.Bool("all", false, "every enabled mailbox")
	wait := fs.Bool("wait", false, "wait until each has synced, and say how it went")
	timeout := fs.Duration("timeout", 30*time.Minute, "with --wait, give up after `DURATION`")
	if code, ok := c.parseMixed(fs, args, 1<<20); !ok {
		return code
	}
	if (fs.NArg() == 0) == !*all {
		fs.Usage()
		return exitUsage
	}
	return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
		addrs := fs.Args()
		if *all {
			mbs, err := st.Mailboxes(ctx, pgstore.Filter{State: "enabled"})
			if err != nil {
				return c.fail(err)
			}
			addrs = addrs[:0]
			for _, m := range mbs {
				addrs = append(addrs, m.Address)
			}
		}
		asked := time.Now()
		var queued []string
		code := exitOK
		for _, a := range addrs {
			mb, err := st.Mailbox(ctx, a)
			if err != nil {
				fmt.Fprintf(c.errOut, "inboxsync: %s: %s\n", a, err)
				code = exitError
				continue
			}
			if mb.State != "enabled" {
				fmt.Fprintf(c.errOut, "inboxsync: %s is %s: enable it first (inboxsync org mailboxes enable %s)\n", mb.Address, stateWords(mb.State), mb.Address)
				code = exitError
				continue
			}
			ok, notBefore, err := st.RequestSync(ctx, mb.Address, asked)
			if err != nil {
				return c.fail(err)
			}
			if !ok {
				fmt.Fprintf(c.errOut, "inboxsync: %s synced on request less than a minute ago; ask again after %s\n", mb.Address, notBefore.Local().Format("15:04:05"))
				code = exitError
				continue
			}
			queued = append(queued, mb.Address)
		}
		if len(queued) == 0 {
			return code
		}
		if err := org.Enqueue(ctx, st.Pool(), queued); err != nil {
			return c.fail(err)
		}
		if !*wait {
			fmt.Fprintf(c.out, "Asked for a sync of %d mailboxes.\n", len(queued))
			return code
		}
		fmt.Fprintf(c.errOut, "Waiting for %d mailboxes to sync…\n", len(queued))
		if !c.waitOrgSync(ctx, st, queued, asked, *timeout) {
			code = exitError
		}
		return code
	})
}

// waitOrgSync waits until each address has a session started at or after
// asked that ended, and prints how each went; false if one failed or the
// wait timed out.
func (c *cli) waitOrgSync(ctx context.Context, st *pgstore.Store, addrs []string, asked time.Time, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	pending := map[string]bool{}
	for _, a := range addrs {
		pending[a] = true
	}
	good := true
	told := map[string]bool{}
	for len(pending) > 0 {
		for a := range pending {
			mb, err := st.Mailbox(ctx, a)
			if err != nil {
				c.fail(err)
				return false
			}
			switch {
			case !mb.LastSync.Before(asked):
				fmt.Fprintf(c.out, "%s: synced (%d items)\n", a, mb.Items)
			case mb.LastTry.Before(asked):
				continue // not tried yet
			case mb.State == pgstore.StateEnabled && time.Until(mb.NextSync) < 2*time.Minute && mb.NextSync.Before(deadline):
				// Throttled or offline for a moment: it goes on by itself.
				if !told[a] {
					fmt.Fprintf(c.errOut, "%s: %s\n", a, mb.Reason)
					told[a] = true
				}
				continue
			default:
				good = false
				fmt.Fprintf(c.out, "%s: not synced: %s\n", a, mb.Reason)
			}
			delete(pending, a)
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(c.errOut, "inboxsync: %d mailboxes had not synced after %s: is a worker (inboxsync org serve) running?\n", len(pending), timeout)
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
		}
	}
	return good
}

// workerName names this worker: host/pid.
func workerName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// stateWords are the admin statuses.
func stateWords(state string) string {
	switch state {
	case "enabled":
		return "Enabled"
	case "disabled":
		return "Disabled"
	case "error":
		return "Disabled due to an error"
	}
	return state
}

// orgMailboxJSON is one mailbox in `org status --json`.
type orgMailboxJSON struct {
	Address    string     `json:"address"`
	Provider   string     `json:"provider"`
	State      string     `json:"state"`
	Reason     string     `json:"reason"`
	LastSync   *time.Time `json:"last_sync"`
	NextSync   *time.Time `json:"next_sync"`
	Items      int64      `json:"items"`
	Rejections int        `json:"rejections"`
	Failures   int        `json:"failures"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (c *cli) orgStatus(args []string) int {
	fs, db := c.orgFlags("status [--state enabled|disabled|error] [--json|--csv] [ADDRESS…]",
		"Shows each mailbox's state (Enabled, Disabled, Disabled due to an error) with the reason, the last\nsuccessful sync, the next sync and the number of synced items; and any problem with the\norganisation's credentials.", "")
	state := fs.String("state", "", "only mailboxes in this `STATE`: enabled, disabled or error")
	asJSON := fs.Bool("json", false, "print JSON")
	asCSV := fs.Bool("csv", false, "print CSV (the admin's export)")
	if code, ok := c.parseMixed(fs, args, 1<<20); !ok {
		return code
	}
	switch *state {
	case "", "enabled", "disabled", "error":
	default:
		return c.fail(fmt.Errorf("%w: --state must be enabled, disabled or error, not %q", api.ErrInvalid, *state))
	}
	return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
		mbs, err := st.Mailboxes(ctx, pgstore.Filter{State: *state, Addresses: fs.Args()})
		if err != nil {
			return c.fail(err)
		}
		var incidents []org.Incident
		for _, p := range pgstore.Providers {
			inc, ok, err := org.OpenIncident(ctx, st, p)
			if err != nil {
				return c.fail(err)
			}
			if ok {
				incidents = append(incidents, inc)
			}
		}
		rows := make([]orgMailboxJSON, len(mbs))
		for i, m := range mbs {
			rows[i] = orgMailboxJSON{Address: m.Address, Provider: m.Provider, State: m.State, Reason: m.Reason,
				LastSync: timePtr(m.LastSync), NextSync: timePtr(m.NextSync), Items: m.Items, Rejections: m.Rejections, Failures: m.Failures}
			if m.State != "enabled" {
				rows[i].NextSync = nil
			}
		}
		switch {
		case *asJSON:
			if incidents == nil {
				incidents = []org.Incident{}
			}
			return c.printJSON(map[string]any{"mailboxes": rows, "incidents": incidents})
		case *asCSV:
			w := csv.NewWriter(c.out)
			w.Write([]string{"address", "provider", "state", "reason", "last_sync", "next_sync", "items", "rejections", "failures"})
			for _, r := range rows {
				w.Write([]string{r.Address, r.Provider, r.State, r.Reason, csvTime(r.LastSync), csvTime(r.NextSync),
					fmt.Sprint(r.Items), fmt.Sprint(r.Rejections), fmt.Sprint(r.Failures)})
			}
			w.Flush()
			if err := w.Error(); err != nil {
				return c.fail(err)
			}
			return exitOK
		}
		for _, inc := range incidents {
			fmt.Fprintf(c.out, "PROBLEM since %s: %s\n\n", inc.Since.Local().Format("2006-01-02 15:04"), inc.Reason)
		}
		if len(rows) == 0 {
			fmt.Fprintln(c.out, "No mailboxes. Add some with: inboxsync org mailboxes add ADDRESS…")
			return exitOK
		}
		counts := map[string]int{}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ADDRESS\tPROVIDER\tSTATE\tLAST SYNC\tNEXT SYNC\tITEMS\tREASON")
		for _, r := range rows {
			counts[r.State]++
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Address, r.Provider, stateWords(r.State), textTime(r.LastSync, "never"), textTime(r.NextSync, "-"), r.Items, r.Reason)
		}
		tw.Flush()
		fmt.Fprintf(c.out, "\n%d mailboxes: %d enabled, %d disabled, %d disabled due to an error.\n", len(rows), counts["enabled"], counts["disabled"], counts["error"])
		return exitOK
	})
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func textTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Local().Format("2006-01-02 15:04")
}

func (c *cli) orgSessions(args []string) int {
	fs, db := c.orgFlags("sessions ADDRESS [--limit N] [--json]", "Lists a mailbox's last sync sessions, newest first, with what each changed.", "")
	limit := fs.Int("limit", 20, "at most `N` sessions")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parseMixed(fs, args, 1); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
		mb, err := st.Mailbox(ctx, fs.Arg(0))
		if err != nil {
			return c.fail(err)
		}
		ss, err := st.Sessions(ctx, api.SessionQuery{Account: mb.Address, Limit: *limit})
		if err != nil {
			return c.fail(err)
		}
		if *asJSON {
			if ss == nil {
				ss = []api.Session{}
			}
			return c.printJSON(ss)
		}
		if len(ss) == 0 {
			fmt.Fprintf(c.out, "%s has not synced yet.\n", mb.Address)
			return exitOK
		}
		writeSessions(c.out, ss, false)
		return exitOK
	})
}
