package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inboxsync/inboxsync/app"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/sync/store"
)

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
	return c.withReader(func(ctx context.Context, r reader) int {
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
	})
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

// addProvider is what `account add PROVIDER` knows of one provider. The
// provider wiring files (exchange.go, office365.go, gmail.go …) register
// theirs in addProviders.
type addProvider struct {
	// about says what `account add PROVIDER` does, for its --help.
	about string
	// flags adds the provider's own flags, which fill r.
	flags func(fs *flag.FlagSet, r *addRequest)
	// check reports the mistakes in a request that can be found on this
	// computer, before the agent is asked; req is the request as the
	// agent will see it (see storedRequest). Nil: no such check.
	check func(c *cli, req api.ActivationRequest) error
}

// addRequest is an activation request as the flags fill it.
type addRequest struct {
	api.ActivationRequest
	passwordStdin bool
}

// setting returns a flag function that sets the request's setting key.
func (r *addRequest) setting(key string) func(string) error {
	return func(v string) error {
		if r.Settings == nil {
			r.Settings = map[string]string{}
		}
		r.Settings[key] = v
		return nil
	}
}

// loginFlags adds --login, --email and --password-stdin.
func (r *addRequest) loginFlags(fs *flag.FlagSet) {
	fs.StringVar(&r.Login, "login", "", "the login (user@domain or DOMAIN\\user)")
	fs.StringVar(&r.Email, "email", "", "the mailbox address, when it differs from the login")
	fs.BoolVar(&r.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
}

// addProviders are the providers `account add` knows, by name.
var addProviders = map[string]addProvider{}

// addProviderNames lists the providers: Exchange, Office 365 and Gmail
// first, then any other (test builds), by name.
func addProviderNames() []string {
	names := []string{"exchange", "office365", "gmail"}
	var more []string
	for p := range addProviders {
		if !slices.Contains(names, p) {
			more = append(more, p)
		}
	}
	sort.Strings(more)
	return append(names, more...)
}

func (c *cli) accountAdd(args []string) int {
	providers := addProviderNames()
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(c.errOut, "Usage: inboxsync account add PROVIDER [flags]\n\nPROVIDER is one of: %s\n(`inboxsync account add PROVIDER --help` shows its flags)\n", strings.Join(providers, ", "))
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	prov := args[0]
	ap, ok := addProviders[prov]
	if !ok {
		fmt.Fprintf(c.errOut, "inboxsync: unknown provider %q (use %s)\n", prov, strings.Join(providers, ", "))
		return exitUsage
	}
	r := &addRequest{ActivationRequest: api.ActivationRequest{Provider: prov}}
	fs := c.flags("account add "+prov+" [flags]", ap.about, mailboxHelp)
	fs.StringVar(&r.Account, "account", "", "a short name for the account (default: from the mailbox address); an existing account's name activates it again")
	fs.StringVar(&r.AcceptMailbox, "accept-mailbox", "", "go on with the mailbox at `ADDRESS` although it is not the expected one (the address the refusal named)")
	if ap.flags != nil {
		ap.flags(fs, r)
	}
	if code, ok := c.parse(fs, args[1:], 0); !ok {
		return code
	}
	// The administrator's locked choice: the organisation syncs every
	// mailbox from its servers (activation = "organisation"). The running
	// agent refuses too; the file is asked first so that the answer does
	// not depend on whether an agent runs.
	if org := app.LoadPolicy().Organisation(); org != nil {
		return c.fail(&api.OrganisationError{Organisation: *org})
	}
	if r.passwordStdin {
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return c.fail(fmt.Errorf("reading the password: %w", err))
		}
		r.Password = strings.TrimRight(line, "\r\n")
	}
	req := r.ActivationRequest
	if ap.check != nil {
		if full, ok := c.storedRequest(req); ok {
			if r.passwordStdin && full.Password == "" {
				// Reported below, after the mistakes in the arguments.
				full.Password = "-"
			}
			if err := ap.check(c, full); err != nil {
				return c.fail(err)
			}
		}
	}
	if r.passwordStdin && req.Password == "" {
		return c.fail(errors.New("the password on standard input is empty"))
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		a, err := cl.Activate(ctx, req, func(p api.ActivationProgress) {
			fmt.Fprintln(c.out, p.Message)
			if p.URL != "" {
				fmt.Fprintf(c.out, "  %s\n", p.URL)
			}
			if p.UserCode != "" {
				fmt.Fprintf(c.out, "  code: %s\n", p.UserCode)
			}
		})
		var mm *api.MailboxMismatchError
		if errors.As(err, &mm) {
			return c.mailboxMismatch(mm)
		}
		if err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.out, "Connected %s (%s). Sync will run every %s; the first sync has started.\n", a.ID, a.Email, words(intervalOf(ctx, cl)))
		return exitOK
	})
}

// mailboxHelp is the part of `account add --help` about the same-mailbox
// check.
const mailboxHelp = `After sign-in the mailbox must be the expected one: the account's own on
re-activation, else the login or email you typed when it is an address (or
the one your administrator set). Otherwise nothing is saved and nothing
syncs: run the command again with --accept-mailbox ADDRESS (the mailbox the
refusal names) to sync that mailbox anyway, unless your administrator
enforces the expected mailbox.`

// mailboxMismatch prints the agent's refusal of another mailbox than the
// expected one (both addresses, in the window's words) and how to go on;
// it returns exit 1.
func (c *cli) mailboxMismatch(mm *api.MailboxMismatchError) int {
	fmt.Fprintf(c.errOut, "inboxsync: %s\n", mm)
	if mm.Enforced {
		fmt.Fprintf(c.errOut, "Nothing was changed. Sign in with the account of %s instead.\n", mm.Expected)
	} else {
		fmt.Fprintf(c.errOut, "Nothing was changed. To sync %s anyway, run the same command again with --accept-mailbox %s (or sign in with the account of %s instead).\n", mm.Got, mm.Got, mm.Expected)
	}
	return exitError
}

// storedRequest returns req as the agent will see it: activating an
// existing account again keeps its login and settings where req leaves
// them out (engine.Engine.Activate). ok is false when the store cannot be
// read, and then nothing can be judged here.
func (c *cli) storedRequest(req api.ActivationRequest) (api.ActivationRequest, bool) {
	if req.Account == "" {
		return req, true // a new account
	}
	p, err := c.paths()
	if err != nil {
		return req, false
	}
	if !p.StoreExists() {
		return req, true
	}
	st, err := store.OpenReadOnly(p.DB)
	if err != nil {
		return req, false
	}
	defer st.Close()
	a, err := st.Account(context.Background(), req.Account)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return req, true
	case err != nil || a.Provider != req.Provider:
		return req, false // the agent words it
	}
	settings := maps.Clone(a.Settings)
	if settings == nil {
		settings = map[string]string{}
	}
	maps.Copy(settings, req.Settings)
	req.Settings = settings
	if req.Login == "" {
		req.Login = a.Login
	}
	return req, true
}

func intervalOf(ctx context.Context, cl *control.Client) time.Duration {
	if s, err := cl.Settings(ctx); err == nil {
		return s.Interval.D()
	}
	return api.DefaultSettings().Interval.D()
}
