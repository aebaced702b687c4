package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/sync/engine"
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
  export       write synced mail and meetings to a CSV, JSON or iCalendar file
  sessions     list past sync sessions
  issues       list items that could not be synced
  settings     show or change the sync settings
  policy       show the administrator's policy: each setting and where it comes from
  notify       email notices when sync stops: send a test, set the relay's password
  crm          log mail and meetings to Salesforce: connect, status, sync, disconnect, settings
  ui           show one window: activate, dashboard or settings
  org          organisation mode: sync every mailbox of the company from servers
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
		"export":   c.export,
		"sessions": c.sessions,
		"issues":   c.issues,
		"settings": c.settings,
		"policy":   c.policy,
		"notify":   c.notify,
		"crm":      c.crm,
		"org":      c.org,
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

func (c *cli) paths() (install.Paths, error) { return install.ResolvePaths(c.home) }

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

// withReader runs f with what read verbs read (see reader): the running
// agent, or the store on disk when none runs; the context ends on SIGINT
// or SIGTERM.
func (c *cli) withReader(f func(ctx context.Context, r reader) int) int {
	ctx, cancel := signalContext()
	defer cancel()
	r, closeR, err := c.reader(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer closeR()
	return f(ctx, r)
}

// dial connects to the running agent. Verbs that change something need it.
func (c *cli) dial(ctx context.Context) (*control.Client, int, bool) {
	p, err := c.paths()
	if err != nil {
		return nil, c.fail(err), false
	}
	cl, err := control.Dial(ctx, p.Socket)
	if errors.Is(err, api.ErrNotRunning) {
		fmt.Fprintf(c.errOut, "inboxsync: %s\n", install.NotRunningHelp())
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
	Status(ctx context.Context) (api.Status, error)
	Accounts(ctx context.Context) ([]api.Account, error)
	Sessions(ctx context.Context, q api.SessionQuery) ([]api.Session, error)
	Activity(ctx context.Context, q api.ActivityQuery) (api.ActivityPage, error)
	Items(ctx context.Context, q api.ItemsQuery) (api.ItemsPage, error)
	Export(ctx context.Context, req api.ExportRequest, progress func(api.ExportProgress)) (int, error)
	Issues(ctx context.Context, account string, limit int) ([]api.Issue, error)
	Settings(ctx context.Context) (api.Settings, error)
	CRMStatus(ctx context.Context) (api.CRMStatus, error)
}

type storeReader struct{ *store.Store }

func (s storeReader) CRMStatus(ctx context.Context) (api.CRMStatus, error) {
	return engine.CRMStatusFromStore(ctx, s.Store)
}

func (emptyReader) CRMStatus(context.Context) (api.CRMStatus, error) { return api.CRMStatus{}, nil }

func (s storeReader) Export(ctx context.Context, req api.ExportRequest, progress func(api.ExportProgress)) (int, error) {
	return store.ExportFile(ctx, s.Store.Items, req, progress)
}

func (s storeReader) Status(ctx context.Context) (api.Status, error) {
	return engine.StatusFromStore(ctx, s.Store)
}

func (s storeReader) Settings(ctx context.Context) (api.Settings, error) {
	return engine.SettingsFromStore(ctx, s.Store)
}

// emptyReader answers for a home where Inbox Sync never ran.
type emptyReader struct{}

func (emptyReader) Status(context.Context) (api.Status, error) {
	return api.Status{Source: "store", Interval: api.DefaultSettings().Interval, Accounts: []api.AccountStatus{}}, nil
}
func (emptyReader) Accounts(context.Context) ([]api.Account, error) { return []api.Account{}, nil }
func (emptyReader) Sessions(context.Context, api.SessionQuery) ([]api.Session, error) {
	return []api.Session{}, nil
}
func (emptyReader) Activity(_ context.Context, q api.ActivityQuery) (api.ActivityPage, error) {
	return api.ActivityPage{Items: []api.StoredItem{}, Offset: q.Offset}, nil
}
func (emptyReader) Items(context.Context, api.ItemsQuery) (api.ItemsPage, error) {
	return api.ItemsPage{Items: []api.StoredItem{}}, nil
}
func (e emptyReader) Export(ctx context.Context, req api.ExportRequest, progress func(api.ExportProgress)) (int, error) {
	return store.ExportFile(ctx, e.Items, req, progress)
}
func (emptyReader) Issues(context.Context, string, int) ([]api.Issue, error) {
	return []api.Issue{}, nil
}
func (emptyReader) Settings(context.Context) (api.Settings, error) {
	return api.DefaultSettings(), nil
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
	if !errors.Is(err, api.ErrNotRunning) {
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
