package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
)

const crmOverview = `Usage: inboxsync crm <connect|status|sync|disconnect|settings> [flags]

Logs the mail and meetings Inbox Sync syncs to Salesforce, matched to Contacts
and Leads (docs/salesforce.md).

  connect salesforce   sign in to Salesforce and start logging
  status               the connection's state, API usage and items by CRM state
  sync                 log now (--wait to wait for the result)
  disconnect           stop logging and delete the Salesforce sign-in
  settings             show or change what is logged and how
`

func (c *cli) crm(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.errOut, crmOverview)
		return exitUsage
	}
	switch args[0] {
	case "connect":
		return c.crmConnect(args[1:])
	case "status":
		return c.crmStatus(args[1:])
	case "sync":
		return c.crmSync(args[1:])
	case "disconnect":
		return c.crmDisconnect(args[1:])
	case "settings":
		return c.crmSettings(args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(c.out, crmOverview)
		return exitOK
	}
	fmt.Fprintf(c.errOut, "inboxsync: unknown crm command %q\n\n%s", args[0], crmOverview)
	return exitUsage
}

func (c *cli) crmConnect(args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(c.errOut, "inboxsync: say which CRM: inboxsync crm connect salesforce")
		return exitUsage
	}
	if args[0] != api.CRMSalesforce {
		//lint:ignore ST1005 the sentence starts with the product's name, a proper noun
		return c.fail(fmt.Errorf("Inbox Sync connects to Salesforce only, not %q", args[0]))
	}
	fs := c.flags("crm connect salesforce [--login-url URL] [--client-id ID] [--client-secret S] [--no-browser] [--redirect-port N] [--api-version v64.0]",
		"Signs in to Salesforce in your browser and starts logging: the mail and meetings\n"+
			"of the mailbox's history window at once, then what each sync brings. The\n"+
			"sign-in is kept in the system keyring.",
		"Your Salesforce administrator registers Inbox Sync as an External Client App with the\n"+
			"callback URL http://localhost:PORT/callback (port 1717 unless --redirect-port),\n"+
			"PKCE and the scopes api and refresh_token (docs/salesforce.md). Values not given\n"+
			"come from config.json's \"salesforce\" section, then the admin policy's [salesforce].")
	req := api.CRMConnectRequest{CRM: api.CRMSalesforce}
	fs.StringVar(&req.LoginURL, "login-url", "", "https://login.salesforce.com (default), https://test.salesforce.com for sandboxes, or your org's My Domain `URL`")
	fs.StringVar(&req.ClientID, "client-id", "", "the consumer key (client `ID`) of your org's Inbox Sync app")
	fs.StringVar(&req.ClientSecret, "client-secret", "", "the app's consumer `secret`, only if it requires one (kept in the keyring)")
	fs.BoolVar(&req.NoBrowser, "no-browser", false, "print the sign-in link instead of opening the browser")
	fs.IntVar(&req.RedirectPort, "redirect-port", 0, "the callback's fixed `port` registered in the app (default 1717)")
	fs.StringVar(&req.APIVersion, "api-version", "", "the REST API `version` (default v64.0)")
	if code, ok := c.parse(fs, args[1:], 0); !ok {
		return code
	}
	if err := c.crmDefaults(&req); err != nil {
		return c.fail(err)
	}
	cfg := salesforce.Config{LoginURL: req.LoginURL, ClientID: req.ClientID, RedirectPort: req.RedirectPort, APIVersion: req.APIVersion}
	if err := cfg.Check(); err != nil {
		return c.fail(err)
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		st, err := cl.CRMConnect(ctx, req, func(p api.ActivationProgress) {
			fmt.Fprintln(c.out, p.Message)
			if p.URL != "" {
				fmt.Fprintf(c.out, "  %s\n", p.URL)
			}
		})
		if err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.out, "Connected to Salesforce (%s). Logging has started; see `inboxsync crm status`.\n", st.Instance)
		return exitOK
	})
}

// crmDefaults fills what req leaves empty from config.json's salesforce
// section over the policy's [salesforce] table.
func (c *cli) crmDefaults(req *api.CRMConnectRequest) error {
	d, err := providerDefaults(c, api.CRMSalesforce)
	if err != nil {
		return err
	}
	if req.LoginURL == "" {
		req.LoginURL = d[salesforce.SettingLoginURL]
	}
	if req.ClientID == "" {
		req.ClientID = d[salesforce.SettingClientID]
	}
	if req.APIVersion == "" {
		req.APIVersion = d[salesforce.SettingAPIVersion]
	}
	if req.RedirectPort == 0 && d[salesforce.SettingRedirectPort] != "" {
		n, err := strconv.Atoi(d[salesforce.SettingRedirectPort])
		if err != nil {
			return fmt.Errorf("the configured Salesforce redirect port %q is not a number", d[salesforce.SettingRedirectPort])
		}
		req.RedirectPort = n
	}
	return nil
}

func (c *cli) crmStatus(args []string) int {
	fs := c.flags("crm status [--json]", "Shows the Salesforce connection's state, the org's API usage, the items by CRM\nstate (logged, skipped, failed, pending) and the last and next run. Without a\nrunning agent it shows what the agent last saved.", "")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	return c.withReader(func(ctx context.Context, r reader) int {
		st, err := r.CRMStatus(ctx)
		if err != nil {
			return c.fail(err)
		}
		if *asJSON {
			return c.printJSON(st)
		}
		printCRMStatus(c.out, st, time.Now())
		return exitOK
	})
}

// crmStateWords says a CRM connection's state for people.
func crmStateWords(s api.ConnState) string {
	switch s {
	case api.ConnNotConnected:
		return "not connected"
	case api.ConnConnected:
		return "connected"
	case api.ConnLogging:
		return "logging"
	case api.ConnThrottled:
		return "waiting for the API budget"
	case api.ConnNeedsReactivation:
		return "needs you to sign in to Salesforce again"
	case api.ConnFailed:
		return "stopped after repeated failures"
	}
	return s.String()
}

func printCRMStatus(w io.Writer, st api.CRMStatus, now time.Time) {
	if st.State == api.ConnNotConnected {
		fmt.Fprintln(w, "Salesforce: not connected. Connect with `inboxsync crm connect salesforce`.")
		return
	}
	fmt.Fprintf(w, "Salesforce: %s\n", crmStateWords(st.State))
	if st.Reason != "" {
		fmt.Fprintf(w, "  %s\n", st.Reason)
	}
	if st.Instance != "" {
		fmt.Fprintf(w, "  org:        %s (user %s)\n", st.Instance, st.User)
	}
	if st.APILimit > 0 {
		fmt.Fprintf(w, "  API usage:  %d of %d requests today (%d%%)\n", st.APIUsed, st.APILimit, st.APIUsed*100/st.APILimit)
	}
	fmt.Fprintf(w, "  items:      %d logged, %d skipped, %d failed, %d pending\n",
		st.Counts[api.CRMLogged], st.Counts[api.CRMSkipped], st.Counts[api.CRMFailed], st.Counts[api.CRMPending])
	if !st.LastRun.IsZero() {
		fmt.Fprintf(w, "  last run:   %s (%d requests)\n", clock(st.LastRun, now), st.Requests)
	}
	if !st.NextRun.IsZero() {
		fmt.Fprintf(w, "  next run:   %s\n", clock(st.NextRun, now))
	}
}

func (c *cli) crmSync(args []string) int {
	fs := c.flags("crm sync [--wait]", "Logs to Salesforce now what is waiting, and re-enables logging stopped after\nrepeated failures.", "")
	wait := fs.Bool("wait", false, "wait until the run ends and show the result")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		st, err := cl.CRMSync(ctx, *wait)
		if err != nil {
			return c.fail(err)
		}
		if !*wait {
			fmt.Fprintln(c.out, "Logging to Salesforce has started.")
			return exitOK
		}
		printCRMStatus(c.out, st, time.Now())
		if st.State == api.ConnNeedsReactivation || st.State == api.ConnFailed {
			return exitError
		}
		return exitOK
	})
}

func (c *cli) crmDisconnect(args []string) int {
	fs := c.flags("crm disconnect", "Stops logging to Salesforce and deletes the sign-in from the keyring. The records\nalready in Salesforce stay; connecting the same org again logs nothing twice.", "")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		if err := cl.CRMDisconnect(ctx); err != nil {
			return c.fail(err)
		}
		fmt.Fprintln(c.out, "Disconnected from Salesforce.")
		return exitOK
	})
}

// domainList reads a comma-separated list of domains.
func domainList(s string) []string {
	out := []string{}
	for _, d := range strings.Split(s, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

const crmSettingsMore = `The CRM rules (docs/salesforce.md "Rules"):
  --keep-out      mail or meetings with one of these categories (Outlook) or labels
                  (Gmail) never reach Salesforce; items marked Private or
                  Confidential never do either. Marking an item after it was logged
                  leaves it in Salesforce (delete it there).
  --log-category  mail or meetings with one of these categories or labels are logged
                  even with --auto off, or when the sender writes from a free-mail
                  address such as gmail.com (if they are a Contact or Lead).
  --auto          on: log everything whose people are Contacts or Leads; off: only
                  what you mark with a --log-category.
  --threads       on: once a message of a conversation is logged, its later replies
                  are logged to the same people, even a colleague's.
  --opportunity   single-open: relate logged items to the Account's open Opportunity
                  when it has exactly one; most-recent: to its open Opportunity
                  changed last; off: to the Account only.
  --create-leads  on: a person on an item you marked for Salesforce who is no
                  Contact or Lead yet becomes a new Lead (off by default: it can
                  create duplicates).
Lists are comma-separated; "default" brings back the standard list, "" means none.
Settings your administrator locked cannot be changed ("Set by your administrator").`

// categoryFlag reads a --keep-out or --log-category value: "default" is
// nil (the standard list), "" the empty list.
func categoryFlag(v string) []string {
	if strings.EqualFold(strings.TrimSpace(v), "default") {
		return nil
	}
	out := []string{}
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// onOffFlag reads an on/off flag's value.
func onOffFlag(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "yes":
		return true, nil
	case "off", "false", "no":
		return false, nil
	}
	return false, fmt.Errorf("--%s takes on or off, not %q", name, v)
}

func (c *cli) crmSettings(args []string) int {
	fs := c.flags("crm settings [--internal-domains D,…] [--blocklist D,…|default] [--log-email-as email|task] [--remove-deleted-events on|off] [--budget 0.9] "+
		"[--keep-out \"Private,Don't log\"|default] [--log-category Salesforce[,…]|default] [--auto on|off] [--threads on|off] "+
		"[--opportunity off|single-open|most-recent] [--create-leads on|off] [--json]",
		"Shows or changes what is logged to Salesforce and how. Without flags it shows the\nsettings.", crmSettingsMore)
	internal := fs.String("internal-domains", "", "your company's other mail `domains`, comma-separated (\"\" for none; the mailbox's own domain always is)")
	block := fs.String("blocklist", "", "`domains` left out before matching, comma-separated (\"yahoo.*\" for every yahoo.X; \"default\" for the free-mail list)")
	logAs := fs.String("log-email-as", "", "log mail as an `email` (EmailMessage, Enhanced Email) or a task (for orgs without Enhanced Email)")
	remove := fs.String("remove-deleted-events", "", "`on`: delete the Salesforce Event of a meeting cancelled or deleted in the mailbox; off: leave it")
	budget := fs.Float64("budget", 0, "the `share` of the org's daily API allocation past which logging waits (0.9)")
	keepOut := fs.String("keep-out", "", "`categories` or labels that keep mail and meetings out of Salesforce, comma-separated (\"default\": Private, Don't log)")
	byHand := fs.String("log-category", "", "`categories` or labels that log an item by hand, comma-separated (\"default\": Salesforce)")
	auto := fs.String("auto", "", "`on`: log what involves your Contacts and Leads; off: only items marked with a --log-category")
	threads := fs.String("threads", "", "`on`: log the later replies of a logged conversation to the same people; off: judge each message alone")
	opp := fs.String("opportunity", "", "relate logged items to the Account's open Opportunity: off, single-open (when it has exactly one) or most-recent (`choice`)")
	leads := fs.String("create-leads", "", "`on`: make a new Lead of an unknown person on an item marked for Salesforce; off (default)")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	onOff := map[string]*string{"remove-deleted-events": remove, "auto": auto, "threads": threads, "create-leads": leads}
	bools := map[string]bool{}
	for name, v := range onOff {
		if !set[name] {
			continue
		}
		b, err := onOffFlag(name, *v)
		if err != nil {
			fmt.Fprintf(c.errOut, "inboxsync: %s\n", err)
			return exitUsage
		}
		bools[name] = b
	}
	return c.withAgent(func(ctx context.Context, cl *control.Client) int {
		s, err := cl.CRMSettings(ctx)
		if err != nil {
			return c.fail(err)
		}
		changed := false
		for name := range set {
			if name != "json" && name != "home" {
				changed = true
			}
		}
		if set["internal-domains"] {
			s.InternalDomains = domainList(*internal)
		}
		if set["blocklist"] {
			if strings.TrimSpace(*block) == "default" {
				s.Blocklist = nil
			} else {
				s.Blocklist = domainList(*block)
			}
		}
		if set["log-email-as"] {
			s.LogEmailAs = *logAs
		}
		if set["remove-deleted-events"] {
			s.RemoveDeletedEvents = bools["remove-deleted-events"]
		}
		if set["budget"] {
			s.Budget = *budget
		}
		if set["keep-out"] {
			s.KeepOut = categoryFlag(*keepOut)
		}
		if set["log-category"] {
			s.LogByHand = categoryFlag(*byHand)
		}
		if set["auto"] {
			s.Auto = bools["auto"]
		}
		if set["threads"] {
			s.Threads = bools["threads"]
		}
		if set["opportunity"] {
			s.Opportunity = *opp
		}
		if set["create-leads"] {
			s.CreateLeads = bools["create-leads"]
		}
		if changed {
			if s, err = cl.UpdateCRMSettings(ctx, s); err != nil {
				return c.fail(err)
			}
		}
		if *asJSON {
			return c.printJSON(s)
		}
		pol, err := cl.Policy(ctx)
		if err != nil {
			return c.fail(err)
		}
		printCRMSettings(c.out, s, pol)
		return exitOK
	})
}

// crmOppWords says an opportunity choice for people.
func crmOppWords(v string) string {
	switch v {
	case api.OppOff:
		return "off (the Account only)"
	case api.OppSingleOpen:
		return "single-open (the Account's one open Opportunity)"
	case api.OppMostRecent:
		return "most-recent (the Account's open Opportunity changed last)"
	}
	return v
}

func printCRMSettings(w io.Writer, s api.CRMSettings, pol api.Policy) {
	onOff := map[bool]string{true: "on", false: "off"}
	none := func(l []string) string {
		if len(l) == 0 {
			return "(none)"
		}
		return strings.Join(l, ", ")
	}
	locked := func(name string) string {
		if pol.IsLocked("salesforce." + name) {
			return "  (" + api.LockedWords + ")"
		}
		return ""
	}
	budget := s.Budget
	if budget == 0 {
		budget = salesforce.DefaultBudget
	}
	fmt.Fprintf(w, "log email as:           %s%s\n", s.LogEmailAs, locked("log_email_as"))
	fmt.Fprintf(w, "remove deleted events:  %s%s\n", onOff[s.RemoveDeletedEvents], locked("remove_deleted_events"))
	fmt.Fprintf(w, "API budget:             %g%% of the org's daily allocation\n", budget*100)
	fmt.Fprintf(w, "internal domains:       %s (and each mailbox's own)%s\n", none(s.InternalDomains), locked("internal_domains"))
	fmt.Fprintf(w, "blocklist:              %s%s\n", none(s.Blocklist), locked("blocklist"))
	fmt.Fprintf(w, "automatic logging:      %s%s\n", onOff[s.Auto], locked("auto_log"))
	fmt.Fprintf(w, "keep out:               %s (and items marked Private or Confidential)%s\n", none(s.KeepOut), locked("keep_out_categories"))
	fmt.Fprintf(w, "log by hand:            %s%s\n", none(s.LogByHand), locked("log_categories"))
	fmt.Fprintf(w, "whole threads:          %s%s\n", onOff[s.Threads], locked("threads"))
	fmt.Fprintf(w, "opportunities:          %s%s\n", crmOppWords(s.Opportunity), locked("opportunity"))
	fmt.Fprintf(w, "create Leads:           %s%s\n", onOff[s.CreateLeads], locked("create_leads"))
}
