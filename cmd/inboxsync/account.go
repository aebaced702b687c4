package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/provider"
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
