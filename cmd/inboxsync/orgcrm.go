package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inboxsync/inboxsync/internal/install"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
	"github.com/inboxsync/inboxsync/sync/org"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
)

const orgCRMUsage = `Usage:
  inboxsync org crm connect salesforce --login-url URL --client-id KEY --certificate key.pem
                                       --integration-user USERNAME [--api-version v64.0]
  inboxsync org crm map ADDRESS USERNAME      (log ADDRESS's mail as that Salesforce user)
  inboxsync org crm map --clear ADDRESS
  inboxsync org crm status [--json] [ADDRESS…]

Connects the organisation to Salesforce once, server to server (OAuth 2.0 JWT bearer flow: an
External Client App with your certificate, its users pre-authorized by profile or permission set),
and shows which Salesforce user each mailbox logs as. See docs/org.md.
`

// orgCRM runs `inboxsync org crm VERB`.
func (c *cli) orgCRM(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.errOut, orgCRMUsage)
		return exitUsage
	}
	switch args[0] {
	case "connect":
		return c.orgCRMConnect(args[1:])
	case "map":
		return c.orgCRMMap(args[1:])
	case "status":
		return c.orgCRMStatus(args[1:])
	case "help", "--help", "-h":
		fmt.Fprint(c.out, orgCRMUsage)
		return exitOK
	}
	fmt.Fprintf(c.errOut, "inboxsync org crm: unknown verb %q\n\n%s", args[0], orgCRMUsage)
	return exitUsage
}

func (c *cli) orgCRMConnect(args []string) int {
	if len(args) == 0 || args[0] != "salesforce" {
		fmt.Fprint(c.errOut, "Usage: inboxsync org crm connect salesforce --login-url URL --client-id KEY --certificate key.pem --integration-user USERNAME\n\nOnly Salesforce can be connected.\n")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return exitOK
		}
		return exitUsage
	}
	fs, db := c.orgFlags("crm connect salesforce --login-url URL --client-id KEY --certificate key.pem --integration-user USERNAME [--api-version v64.0]",
		"Connects the organisation to Salesforce with the OAuth 2.0 JWT bearer flow: every mailbox's mail and\nmeetings are logged as its own Salesforce user (found by email address), with a token minted for that\nuser. In Salesforce, create an External Client App with OAuth (scope api), \"Use digital signatures\"\nwith your certificate, the JWT bearer flow enabled, and \"Admin approved users are pre-authorized\"\nwith the profiles or permission sets of the users to log for, the integration user's included.\nOnly the key file's path is stored; it must be readable by the workers' user alone, at the same\npath on every machine that runs `inboxsync org serve`.",
		"The command asks Salesforce for a token as the integration user to prove the setup.")
	var cfg salesforce.OrgConfig
	fs.StringVar(&cfg.LoginURL, "login-url", salesforce.DefaultLoginURL, "where to sign in: https://login.salesforce.com, https://test.salesforce.com (sandbox) or your My Domain `URL`")
	fs.StringVar(&cfg.ClientID, "client-id", "", "the External Client App's consumer `KEY`")
	fs.StringVar(&cfg.Certificate, "certificate", "", "PEM `FILE` with the private key of the certificate uploaded to the app (the certificate may be in it too)")
	fs.StringVar(&cfg.IntegrationUser, "integration-user", "", "the Salesforce `USERNAME` of an admin the app is pre-authorized for: it looks users up")
	fs.StringVar(&cfg.APIVersion, "api-version", salesforce.DefaultAPIVersion, "the REST API `VERSION`")
	historyDays := fs.Int("history-days", 30, "also log the mail and meetings of the last `DAYS` days synced already")
	fs.StringVar(&cfg.Audience, "audience", "", "the token's audience `URL`, when not the one the login URL implies (https://login.salesforce.com, https://test.salesforce.com for sandboxes)")
	if code, ok := c.parseMixed(fs, args[1:], 0); !ok {
		return code
	}
	if cfg.ClientID == "" || cfg.Certificate == "" || cfg.IntegrationUser == "" {
		fmt.Fprintln(c.errOut, "inboxsync: --client-id, --certificate and --integration-user are needed")
		fs.Usage()
		return exitUsage
	}
	return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
		o, err := salesforce.NewOrg(cfg, org.HTTPClient(install.Version, workerName(), 1))
		if err != nil {
			return c.fail(err)
		}
		id, err := o.Check(ctx)
		if err != nil {
			return c.fail(fmt.Errorf("nothing stored: %w", err))
		}
		active, err := o.ActiveUsers(ctx)
		if err != nil {
			return c.fail(fmt.Errorf("nothing stored: %w", err))
		}
		if err := org.SaveSalesforce(ctx, st, cfg); err != nil {
			return c.fail(err)
		}
		// The outbox: items of the last --history-days days, and every
		// item synced from now on, are logged.
		now := time.Now()
		if err := st.ConnectCRM(ctx, pgstore.CRMConnection{CRM: api.CRMSalesforce, Org: id.OrgID, ConnectedAt: now,
			Since: now.AddDate(0, 0, -*historyDays)}); err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.out, "Salesforce connected: org %s at %s, signed in as %s (user %s).\n", id.OrgID, id.InstanceURL, cfg.IntegrationUser, id.UserID)
		fmt.Fprintf(c.out, "The org has %d active users.\n", active)
		if exp := o.CertificateExpiry(); !exp.IsZero() {
			fmt.Fprintf(c.out, "The certificate expires on %s: upload a new one to the app before then.\n", exp.Local().Format("2006-01-02"))
		}
		mbs, err := st.Mailboxes(ctx, pgstore.Filter{})
		if err != nil {
			return c.fail(err)
		}
		if len(mbs) > 0 {
			m, err := c.resolve(ctx, st, o, mbs)
			if err != nil {
				return c.fail(err)
			}
			n := 0
			for _, x := range m {
				if x.OK() {
					n++
				}
			}
			fmt.Fprintf(c.out, "%d of the %d mailboxes have a Salesforce user; see inboxsync org crm status.\n", n, len(mbs))
			var enabled []string
			for _, mb := range mbs {
				if mb.State == pgstore.StateEnabled {
					enabled = append(enabled, mb.Address)
				}
			}
			if err := org.QueueCRM(ctx, st, enabled); err != nil {
				return c.fail(err)
			}
			fmt.Fprintf(c.out, "The workers log their mail and meetings of the last %d days now, and what they sync from now on.\n", *historyDays)
		}
		return exitOK
	})
}

// resolve maps the mailboxes to their Salesforce users.
func (c *cli) resolve(ctx context.Context, st *pgstore.Store, o *salesforce.Org, mbs []pgstore.Mailbox) (map[string]salesforce.Mapping, error) {
	overrides, err := st.CRMMap(ctx)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, len(mbs))
	for i, m := range mbs {
		addrs[i] = m.Address
	}
	return o.Resolve(ctx, addrs, overrides)
}

func (c *cli) orgCRMMap(args []string) int {
	fs, db := c.orgFlags("crm map ADDRESS USERNAME | crm map --clear ADDRESS",
		"Makes the mailbox ADDRESS log as the Salesforce user USERNAME, whatever user has its address\n(for a mailbox whose address no Salesforce user has, or several have). --clear removes the override.", "")
	clearIt := fs.Bool("clear", false, "remove ADDRESS's override: it logs as the active user with its address again")
	if code, ok := c.parseMixed(fs, args, 2); !ok {
		return code
	}
	if (*clearIt && fs.NArg() != 1) || (!*clearIt && fs.NArg() != 2) {
		fs.Usage()
		return exitUsage
	}
	addr, user := fs.Arg(0), fs.Arg(1)
	return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
		if !*clearIt {
			// Check the user when Salesforce is connected; store anyway
			// when it is not yet.
			if o, err := org.OpenSalesforce(ctx, st, org.HTTPClient(install.Version, workerName(), 1), nil); err == nil {
				key := strings.ToLower(strings.TrimSpace(addr))
				m, err := o.Resolve(ctx, []string{key}, map[string]string{key: user})
				if err != nil {
					return c.fail(err)
				}
				if x := m[key]; !x.OK() {
					return c.fail(fmt.Errorf("%w: %s", api.ErrInvalid, x.Reason))
				}
			}
		}
		if err := st.SetCRMMapping(ctx, addr, user); err != nil {
			return c.fail(err)
		}
		if *clearIt {
			fmt.Fprintf(c.out, "%s logs as the active Salesforce user with its address again.\n", addr)
		} else {
			fmt.Fprintf(c.out, "%s logs as Salesforce user %s.\n", addr, user)
		}
		return exitOK
	})
}

// orgCRMRow is a line of `org crm status --json`.
type orgCRMRow struct {
	Address  string `json:"address"`
	Username string `json:"username,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	Override bool   `json:"override,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// The mailbox's items by CRM state, and its last logging run.
	Logged    int        `json:"logged"`
	Skipped   int        `json:"skipped"`
	Failed    int        `json:"failed"`
	Pending   int        `json:"pending"`
	LastRun   *time.Time `json:"last_run,omitempty"`
	RunReason string     `json:"run_reason,omitempty"`
}

func (c *cli) orgCRMStatus(args []string) int {
	fs, db := c.orgFlags("crm status [--json] [ADDRESS…]",
		"Lists each mailbox's Salesforce user (the active user with its address, or the one mapped to it with\n`org crm map`) or the reason it has none: such a mailbox logs nothing.", "")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parseMixed(fs, args, 1<<20); !ok {
		return code
	}
	return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
		o, err := org.OpenSalesforce(ctx, st, org.HTTPClient(install.Version, workerName(), 1), nil)
		if err != nil {
			return c.fail(err)
		}
		mbs, err := st.Mailboxes(ctx, pgstore.Filter{Addresses: fs.Args()})
		if err != nil {
			return c.fail(err)
		}
		m, err := c.resolve(ctx, st, o, mbs)
		if err != nil {
			return c.fail(err)
		}
		counts, err := st.CRMCountsFor(ctx, nil)
		if err != nil {
			return c.fail(err)
		}
		runs, err := st.CRMStandings(ctx)
		if err != nil {
			return c.fail(err)
		}
		budget, err := org.Budget(st).Load(ctx)
		if err != nil {
			return c.fail(err)
		}
		rows := make([]orgCRMRow, 0, len(mbs))
		for _, mb := range mbs {
			x := m[mb.Address]
			n := counts[mb.Address]
			r := orgCRMRow{Address: mb.Address, Username: x.User.Username, UserID: x.User.ID, Override: x.Override, Reason: x.Reason,
				Logged: n[api.CRMLogged], Skipped: n[api.CRMSkipped], Failed: n[api.CRMFailed], Pending: n[api.CRMPending]}
			if run, ok := runs[mb.Address]; ok {
				at := run.LastRun.UTC()
				r.LastRun, r.RunReason = &at, run.Reason
			}
			rows = append(rows, r)
		}
		slices.SortFunc(rows, func(a, b orgCRMRow) int { return strings.Compare(a.Address, b.Address) })
		type apiUse struct {
			Used  int        `json:"used"`
			Limit int        `json:"limit"`
			Until *time.Time `json:"waiting_until,omitempty"`
		}
		use := apiUse{Used: budget.Used, Limit: budget.Limit}
		if budget.Waiting(time.Now()) {
			u := budget.Until.UTC()
			use.Until = &u
		}
		if *asJSON {
			return c.printJSON(map[string]any{"mailboxes": rows, "api": use, "checked": time.Now().UTC()})
		}
		if len(rows) == 0 {
			fmt.Fprintln(c.out, "No mailboxes. Add some with: inboxsync org mailboxes add ADDRESS…")
			return exitOK
		}
		tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ADDRESS\tSALESFORCE USER\tLOGGED\tSKIPPED\tFAILED\tWAITING\tREASON")
		none := 0
		for _, r := range rows {
			user := r.Username
			switch {
			case user == "":
				user, none = "-", none+1
			case r.Override:
				user += " (mapped)"
			}
			reason := r.Reason
			if reason == "" {
				reason = r.RunReason
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.Address, user, r.Logged, r.Skipped, r.Failed, r.Pending, reason)
		}
		tw.Flush()
		fmt.Fprintf(c.out, "\n%d mailboxes: %d log as their Salesforce user, %d log nothing.\n", len(rows), len(rows)-none, none)
		if use.Limit > 0 {
			fmt.Fprintf(c.out, "Salesforce API use today: %d of %d (%.0f %%).", use.Used, use.Limit, 100*float64(use.Used)/float64(use.Limit))
			if use.Until != nil {
				fmt.Fprintf(c.out, " Logging waits until %s.", use.Until.Local().Format("15:04"))
			}
			fmt.Fprintln(c.out)
		}
		return exitOK
	})
}
