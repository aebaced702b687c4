package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/inboxsync/inboxsync/app"
	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/store"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const overview = `Inbox Sync keeps your mailbox's mail and meetings in your records, syncing
every 30 minutes in the background.

Usage:
  inboxsync [--home DIR]                  start Inbox Sync (or open its dashboard if it runs)
  inboxsync [--home DIR] <verb> [flags]

Verbs:
  agent        run the agent in the foreground (--no-tray for machines without a desktop)
  status       show whether sync is paused and each account's state
  pause        pause sync, for a while (--for 1h) or until resumed
  resume       resume sync
  sync         sync now (--wait to wait for the result)
  account      list, add or remove mailbox accounts
  activity     list synced mail and meetings
  sessions     list past sync sessions
  issues       list items that could not be synced
  settings     show or change the sync settings
  ui           show one window: activate, dashboard or settings
  version      print the version

Every verb has --help. Reads take --json. --home DIR (or INBOXSYNC_HOME) keeps
all state - store, settings, logs, control socket - in DIR instead of the
usual XDG directories.
`

type cli struct {
	stdin       io.Reader
	out, errOut io.Writer
	home        string
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, out: stdout, errOut: stderr}
	fs := flag.NewFlagSet("inboxsync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.home, "home", "", "keep all state in `DIR`")
	fs.Usage = func() { fmt.Fprint(stderr, overview) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	verb, rest := "", []string(nil)
	if fs.NArg() > 0 {
		verb, rest = fs.Arg(0), fs.Args()[1:]
	}
	verbs := map[string]func([]string) int{
		"":         c.start,
		"agent":    c.agent,
		"status":   c.status,
		"pause":    c.pause,
		"resume":   c.resume,
		"sync":     c.sync,
		"account":  c.account,
		"activity": c.activity,
		"sessions": c.sessions,
		"issues":   c.issues,
		"settings": c.settings,
		"ui":       c.ui,
		"version":  c.version,
		"help": func([]string) int {
			fmt.Fprint(stdout, overview)
			return exitOK
		},
	}
	f, ok := verbs[verb]
	if !ok {
		fmt.Fprintf(stderr, "inboxsync: unknown verb %q\n\n%s", verb, overview)
		return exitUsage
	}
	return f(rest)
}

// flags returns a verb's flag set, with --home and a usage text.
func (c *cli) flags(usage, about, more string) *flag.FlagSet {
	name, _, _ := strings.Cut(usage, " [")
	fs := flag.NewFlagSet("inboxsync "+name, flag.ContinueOnError)
	fs.SetOutput(c.errOut)
	fs.StringVar(&c.home, "home", c.home, "keep all state in `DIR` (or set INBOXSYNC_HOME)")
	fs.Usage = func() {
		fmt.Fprintf(c.errOut, "Usage: inboxsync %s\n\n%s\n", usage, about)
		if more != "" {
			fmt.Fprintf(c.errOut, "\n%s\n", more)
		}
		fmt.Fprintf(c.errOut, "\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a verb's flags; ok false means return code.
func (c *cli) parse(fs *flag.FlagSet, args []string, maxArgs int) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > maxArgs {
		fmt.Fprintf(c.errOut, "inboxsync: unexpected argument %q\n", fs.Arg(maxArgs))
		fs.Usage()
		return exitUsage, false
	}
	return 0, true
}

func (c *cli) paths() (app.Paths, error) { return app.ResolvePaths(c.home) }

func (c *cli) fail(err error) int {
	fmt.Fprintf(c.errOut, "inboxsync: %s\n", err)
	return exitError
}

func (c *cli) printJSON(v any) int {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return c.fail(err)
	}
	return exitOK
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// withAgent runs f connected to the running agent, with a context that
// ends on SIGINT or SIGTERM; it returns f's exit code, or the error's when
// there is no agent to talk to.
func (c *cli) withAgent(f func(ctx context.Context, cl *control.Client) int) int {
	ctx, cancel := signalContext()
	defer cancel()
	cl, code, ok := c.dial(ctx)
	if !ok {
		return code
	}
	defer cl.Close()
	return f(ctx, cl)
}

// dial connects to the running agent. Verbs that change something need it.
func (c *cli) dial(ctx context.Context) (*control.Client, int, bool) {
	p, err := c.paths()
	if err != nil {
		return nil, c.fail(err), false
	}
	cl, err := control.Dial(ctx, p.Socket)
	if errors.Is(err, engine.ErrNotRunning) {
		fmt.Fprintf(c.errOut, "inboxsync: %s\n", app.NotRunningHelp())
		return nil, exitError, false
	}
	if err != nil {
		return nil, c.fail(err), false
	}
	return cl, 0, true
}

// reader is what read verbs need: the running agent, or the store on disk
// when no agent runs.
type reader interface {
	Status(ctx context.Context) (engine.Status, error)
	Accounts(ctx context.Context) ([]store.Account, error)
	Sessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error)
	Activity(ctx context.Context, q store.ActivityQuery) ([]store.Item, error)
	Issues(ctx context.Context, account string, limit int) ([]store.Issue, error)
	Settings(ctx context.Context) (engine.Settings, error)
}

type storeReader struct{ *store.Store }

func (s storeReader) Status(ctx context.Context) (engine.Status, error) {
	return engine.StatusFromStore(ctx, s.Store)
}

func (s storeReader) Settings(ctx context.Context) (engine.Settings, error) {
	return engine.SettingsFromStore(ctx, s.Store)
}

// emptyReader answers for a home where Inbox Sync never ran.
type emptyReader struct{}

func (emptyReader) Status(context.Context) (engine.Status, error) {
	return engine.Status{Source: "store", Interval: engine.DefaultSettings().Interval, Accounts: []engine.AccountStatus{}}, nil
}
func (emptyReader) Accounts(context.Context) ([]store.Account, error) { return []store.Account{}, nil }
func (emptyReader) Sessions(context.Context, store.SessionQuery) ([]store.Session, error) {
	return []store.Session{}, nil
}
func (emptyReader) Activity(context.Context, store.ActivityQuery) ([]store.Item, error) {
	return []store.Item{}, nil
}
func (emptyReader) Issues(context.Context, string, int) ([]store.Issue, error) {
	return []store.Issue{}, nil
}
func (emptyReader) Settings(context.Context) (engine.Settings, error) {
	return engine.DefaultSettings(), nil
}

func (c *cli) reader(ctx context.Context) (reader, func(), error) {
	p, err := c.paths()
	if err != nil {
		return nil, nil, err
	}
	cl, err := control.Dial(ctx, p.Socket)
	if err == nil {
		return cl, func() { cl.Close() }, nil
	}
	if !errors.Is(err, engine.ErrNotRunning) {
		return nil, nil, err
	}
	if !p.StoreExists() {
		return emptyReader{}, func() {}, nil
	}
	st, err := store.OpenReadOnly(p.DB)
	if err != nil {
		return nil, nil, err
	}
	return storeReader{st}, func() { st.Close() }, nil
}

func (c *cli) start(args []string) int {
	p, err := c.paths()
	if err != nil {
		return c.fail(err)
	}
	ctx, cancel := signalContext()
	defer cancel()
	if cl, err := control.Dial(ctx, p.Socket); err == nil {
		defer cl.Close()
		if err := cl.OpenWindow(ctx, engine.WindowRequest{Window: "dashboard"}); err != nil {
			return c.fail(err)
		}
		fmt.Fprintln(c.out, "Inbox Sync is already running; opening its dashboard.")
		return exitOK
	}
	return c.runAgent(ctx, p, false)
}

func (c *cli) agent(args []string) int {
	fs := c.flags("agent [--no-tray]", "Runs the agent in the foreground: the sync engine, the control socket and\n(unless --no-tray) the tray icon. Stop it with Ctrl-C or SIGTERM; a running\nsync stops at its next page, keeping everything it saved.", "")
	noTray := fs.Bool("no-tray", false, "run without the tray icon (headless machines, tests)")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	p, err := c.paths()
	if err != nil {
		return c.fail(err)
	}
	ctx, cancel := signalContext()
	defer cancel()
	return c.runAgent(ctx, p, *noTray)
}

func (c *cli) runAgent(ctx context.Context, p app.Paths, noTray bool) int {
	// With the tray, RunAgent runs its loop on this goroutine: main calls
	// run, which calls this, on the main goroutine, as macOS requires.
	opts := app.AgentOptions{Stderr: c.errOut, Tray: !noTray}
	if err := app.RunAgent(ctx, p, opts); err != nil {
		return c.fail(err)
	}
	return exitOK
}

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
	if *asJSON {
		return c.printJSON(s)
	}
	c.printStatus(s, time.Now())
	return exitOK
}

func (c *cli) printStatus(s engine.Status, now time.Time) {
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
		if l := a.LastSync; l != nil {
			fmt.Fprintf(w, "  last sync:  %s, %s (%d added, %d updated, %d removed", clock(l.Start, now), l.Outcome, l.Added, l.Updated, l.Removed)
			if !l.End.IsZero() {
				fmt.Fprintf(w, ", took %s", l.End.Sub(l.Start).Round(time.Millisecond))
			}
			fmt.Fprintln(w, ")")
		} else {
			fmt.Fprintln(w, "  last sync:  never")
		}
		if !a.NextSync.IsZero() {
			fmt.Fprintf(w, "  next sync:  %s\n", clock(a.NextSync, now))
		}
		if a.Paused {
			if a.PausedUntil.IsZero() {
				fmt.Fprintln(w, "  paused until resumed")
			} else {
				fmt.Fprintf(w, "  paused until %s\n", clock(a.PausedUntil, now))
			}
		}
		fmt.Fprintf(w, "  rejections: %d of %d, failed syncs: %d of %d in a row\n", a.Rejections, engine.MaxRejections, a.Failures, engine.MaxFailures)
	}
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

func words(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d seconds", int(d/time.Second))
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

func (c *cli) pause(args []string) int {
	fs := c.flags("pause [--for DURATION] [--account A]", "Pauses sync, for all accounts or one. A running sync stops at its next page,\nkeeping what it saved. The pause survives restarts.", "")
	d := fs.Duration("for", 0, "pause for this long, e.g. 30m, 1h, 4h (default: until resumed)")
	acct := fs.String("account", "", "pause only this account")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	if *d < 0 {
		return c.fail(errors.New("--for cannot be negative"))
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		if err := cl.Pause(ctx, engine.PauseRequest{Account: *acct, For: engine.Duration(*d)}); err != nil {
			return c.fail(err)
		}
		who := "Sync is"
		if *acct != "" {
			who = fmt.Sprintf("Sync of %s is", *acct)
		}
		if *d == 0 {
			fmt.Fprintf(c.out, "%s paused until you resume it (`inboxsync resume`).\n", who)
		} else {
			fmt.Fprintf(c.out, "%s paused until %s.\n", who, time.Now().Add(*d).Local().Format("15:04"))
		}
		return exitOK
	})
}

func (c *cli) resume(args []string) int {
	fs := c.flags("resume [--account A]", "Resumes sync for all accounts, or one. Resuming an account that was\nsuspended after repeated failures re-enables it and syncs at once.", "")
	acct := fs.String("account", "", "resume only this account")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		if err := cl.Resume(ctx, *acct); err != nil {
			return c.fail(err)
		}
		fmt.Fprintln(c.out, "Sync resumed.")
		return exitOK
	})
}

func (c *cli) sync(args []string) int {
	fs := c.flags("sync [--account A] [--wait]", "Syncs now. Refused within a minute of the last attempt. With --wait, shows\nprogress and waits until the sync ends; the exit status is 1 if it failed.", "")
	acct := fs.String("account", "", "sync only this account")
	wait := fs.Bool("wait", false, "wait until the sync ends")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		if !*wait {
			if err := cl.SyncNow(ctx, *acct); err != nil {
				return c.fail(err)
			}
			fmt.Fprintln(c.out, "Sync started.")
			return exitOK
		}
		// Subscribe first so that the session's end cannot slip by.
		events, err := cl.Subscribe(ctx)
		if err != nil {
			return c.fail(err)
		}
		st, err := cl.Status(ctx)
		if err != nil {
			return c.fail(err)
		}
		if err := cl.SyncNow(ctx, *acct); err != nil {
			return c.fail(err)
		}
		pending := map[string]bool{}
		for _, a := range st.Accounts {
			if *acct != "" && a.Account != *acct {
				continue
			}
			switch a.State {
			case engine.Idle, engine.Syncing, engine.Offline, engine.Throttled, engine.Suspended:
				pending[a.Account] = true
			}
		}
		failed := false
		lastProgress := time.Time{}
		for len(pending) > 0 {
			select {
			case <-ctx.Done():
				fmt.Fprintln(c.errOut, "inboxsync: stopped waiting; the sync goes on in the background.")
				return exitError
			case ev, ok := <-events:
				if !ok {
					return c.fail(errors.New("the agent stopped before the sync ended"))
				}
				if !pending[ev.Account] {
					continue
				}
				switch ev.Type {
				case engine.EventSessionProgress:
					if p := ev.Status.Progress; p != nil && time.Since(lastProgress) > time.Second {
						lastProgress = time.Now()
						fmt.Fprintf(c.errOut, "%s: syncing %s, %d items so far\n", ev.Account, p.Folder, p.Added+p.Updated+p.Removed)
					}
				case engine.EventSessionEnded:
					delete(pending, ev.Account)
					s := ev.Session
					fmt.Fprintf(c.out, "%s: %s (%d added, %d updated, %d removed in %s)\n", ev.Account, s.Outcome, s.Added, s.Updated, s.Removed, s.End.Sub(s.Start).Round(time.Millisecond))
					if s.Outcome != "ok" {
						failed = true
						if ev.Status != nil && ev.Status.Reason != "" {
							fmt.Fprintf(c.out, "  %s\n", ev.Status.Reason)
						}
					}
				}
			}
		}
		if failed {
			return exitError
		}
		return exitOK
	})
}

func (c *cli) account(args []string) int {
	const usage = "account list [--json] | account add PROVIDER [flags] | account remove A [--purge]"
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprintf(c.errOut, "Usage: inboxsync %s\n\n  list     list the accounts\n  add      connect a mailbox (see `inboxsync account add --help`)\n  remove   disconnect an account: stop it and delete its password or sign-in\n           from the keyring; --purge also deletes its synced data\n", usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	switch args[0] {
	case "list":
		return c.accountList(args[1:])
	case "remove":
		return c.accountRemove(args[1:])
	case "add":
		return c.accountAdd(args[1:])
	}
	fmt.Fprintf(c.errOut, "inboxsync: unknown account verb %q (use list, add or remove)\n", args[0])
	return exitUsage
}

func (c *cli) accountList(args []string) int {
	fs := c.flags("account list [--json]", "Lists the mailbox accounts.", "")
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
	accts, err := r.Accounts(ctx)
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		return c.printJSON(accts)
	}
	if len(accts) == 0 {
		fmt.Fprintln(c.out, "No account yet: add one with `inboxsync account add`.")
		return exitOK
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tPROVIDER\tMAILBOX\tCONNECTED")
	for _, a := range accts {
		conn := "yes"
		if a.Disabled {
			conn = "no (disconnected)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ID, a.Provider, a.Email, conn)
	}
	tw.Flush()
	return exitOK
}

func (c *cli) accountRemove(args []string) int {
	fs := c.flags("account remove A [--purge]", "Disconnects account A: stops its sync and deletes its password or sign-in from\nthe keyring. Its synced mail and meetings are kept unless --purge is given.", "")
	purge := fs.Bool("purge", false, "also delete the account and all its synced data")
	// Accept the flag before or after the account name.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if code, ok := c.parse(fs, args, 1); !ok {
		return code
	}
	if name == "" {
		name = fs.Arg(0)
	}
	if name == "" {
		fs.Usage()
		return exitUsage
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		if err := cl.RemoveAccount(ctx, name, *purge); err != nil {
			return c.fail(err)
		}
		if *purge {
			fmt.Fprintf(c.out, "Account %s and its synced data were deleted.\n", name)
		} else {
			fmt.Fprintf(c.out, "Account %s is disconnected; its synced data is kept (use --purge to delete it).\n", name)
		}
		return exitOK
	})
}

// addFlags lets a provider add its own flags to `account add`; provider
// wiring files register them.
var addFlags = map[string]func(fs *flag.FlagSet, req *provider.ActivationRequest){}

func (c *cli) accountAdd(args []string) int {
	providers := []string{"exchange", "office365", "gmail"}
	for p := range addFlags {
		if !contains(providers, p) {
			providers = append(providers, p)
		}
	}
	sort.Strings(providers[3:])
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(c.errOut, "Usage: inboxsync account add PROVIDER [flags]\n\nPROVIDER is one of: %s\n", strings.Join(providers, ", "))
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	prov := args[0]
	var req provider.ActivationRequest
	req.Provider = prov
	fs := c.flags("account add "+prov+" [flags]", "Connects a mailbox and starts syncing it at once.", "")
	fs.StringVar(&req.Account, "account", "", "a short name for the account (default: from the mailbox address)")
	fs.StringVar(&req.Login, "login", "", "the login (user@domain or DOMAIN\\user)")
	fs.StringVar(&req.Email, "email", "", "the mailbox address, when it differs from the login")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	fs.BoolVar(&req.NoBrowser, "no-browser", false, "print the sign-in link instead of opening the browser")
	if f := addFlags[prov]; f != nil {
		f(fs, &req)
	}
	if code, ok := c.parse(fs, args[1:], 0); !ok {
		return code
	}
	if *pwStdin {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return c.fail(fmt.Errorf("reading the password: %w", err))
		}
		req.Password = strings.TrimRight(line, "\r\n")
		if req.Password == "" {
			return c.fail(errors.New("the password on standard input is empty"))
		}
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		a, err := cl.Activate(ctx, req, func(p provider.ActivationProgress) {
			fmt.Fprintln(c.out, p.Message)
			if p.URL != "" {
				fmt.Fprintf(c.out, "  %s\n", p.URL)
			}
			if p.UserCode != "" {
				fmt.Fprintf(c.out, "  code: %s\n", p.UserCode)
			}
		})
		if err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.out, "Connected %s (%s). Sync will run every %s; the first sync has started.\n", a.ID, a.Email, words(intervalOf(ctx, cl)))
		return exitOK
	})
}

func intervalOf(ctx context.Context, cl *control.Client) time.Duration {
	if s, err := cl.Settings(ctx); err == nil {
		return s.Interval.D()
	}
	return engine.DefaultSettings().Interval.D()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (c *cli) activity(args []string) int {
	fs := c.flags("activity [--account A] [--since T] [--limit N] [--search TEXT] [--json]", "Lists synced mail and meetings, newest first.", "")
	acct := fs.String("account", "", "only this account")
	since := fs.String("since", "", "only items after `T`: a date (2026-11-01), a time (2026-11-01T09:00:00Z) or an age (48h)")
	limit := fs.Int("limit", 50, "at most `N` items")
	search := fs.String("search", "", "only items whose subject, sender, recipients or preview contain `TEXT`")
	deleted := fs.Bool("deleted", false, "include items deleted from the mailbox")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	q := store.ActivityQuery{Account: *acct, Limit: *limit, Search: *search, IncludeDeleted: *deleted}
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
	ctx, cancel := signalContext()
	defer cancel()
	r, closeR, err := c.reader(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer closeR()
	items, err := r.Activity(ctx, q)
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		return c.printJSON(items)
	}
	if len(items) == 0 {
		fmt.Fprintln(c.out, "Nothing synced yet.")
		return exitOK
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACCOUNT\tFOLDER\tFROM\tSUBJECT")
	for _, it := range items {
		subject := it.Subject
		if it.Deleted {
			subject += " (deleted)"
		}
		if it.Kind == provider.Event && it.Location != "" {
			subject += " @ " + it.Location
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Time.Local().Format("2006-01-02 15:04"), it.Account, it.Folder, it.From, subject)
	}
	tw.Flush()
	return exitOK
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

func (c *cli) sessions(args []string) int {
	fs := c.flags("sessions [--account A] [--limit N] [--json]", "Lists past sync sessions, newest first.", "")
	acct := fs.String("account", "", "only this account")
	limit := fs.Int("limit", 20, "at most `N` sessions")
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
	ss, err := r.Sessions(ctx, store.SessionQuery{Account: *acct, Limit: *limit})
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
}

func (c *cli) issues(args []string) int {
	fs := c.flags("issues [--account A] [--limit N] [--json]", "Lists items that could not be synced, newest first.", "")
	acct := fs.String("account", "", "only this account")
	limit := fs.Int("limit", 50, "at most `N` issues")
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
}

func (c *cli) settings(args []string) int {
	fs := c.flags("settings [--interval D] [--history-days N] [--folders LIST] [--notifications on|off] [--json]", "Shows the sync settings, or changes those given.", "")
	interval := fs.Duration("interval", 0, "time between syncs, e.g. 30m")
	history := fs.Int("history-days", 0, "how many days of history the first sync takes")
	folders := fs.String("folders", "", "what to sync: a comma-separated list of inbox, sent, calendar")
	notes := fs.String("notifications", "", "desktop notifications: on or off")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	ctx, cancel := signalContext()
	defer cancel()
	changing := *interval != 0 || *history != 0 || *folders != "" || *notes != ""
	var s engine.Settings
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
			s.Interval = engine.Duration(*interval)
		}
		if *history != 0 {
			s.HistoryDays = *history
		}
		if *folders != "" {
			s.Folders = nil
			for _, f := range strings.Split(*folders, ",") {
				s.Folders = append(s.Folders, provider.Folder(strings.TrimSpace(strings.ToLower(f))))
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
	fmt.Fprintf(c.out, "interval:       %s\nhistory days:   %d\nfolders:        %s\nnotifications:  %s\n", s.Interval, s.HistoryDays, strings.Join(fs2, ", "), onOff[s.Notifications])
	return exitOK
}

func (c *cli) version(args []string) int {
	fs := c.flags("version [--json]", "Prints the version.", "")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	if *asJSON {
		return c.printJSON(map[string]any{"version": app.Version, "test_build": app.TestBuild})
	}
	fmt.Fprintf(c.out, "inboxsync %s\n", app.Version)
	return exitOK
}
