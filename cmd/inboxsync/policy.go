package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/inboxsync/inboxsync/app"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/sync/crm/crmlog"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/policy"
)

const policyAbout = `Shows every setting the administrator's policy may set: its effective value
and where it comes from - default (built in), policy (the policy's default),
user (changed by you: settings, or the configuration file), or locked (set by
your administrator; cannot be changed) - and the policy file's problems with
their line numbers (those entries are ignored).

The policy is /etc/inboxsync/policy.toml on Linux,
%ProgramData%\InboxSync\policy.toml on Windows and /Library/Application
Support/InboxSync/policy.toml on macOS; INBOXSYNC_POLICY points elsewhere.
The agent reads it again within seconds of a change. With the agent running,
this shows what the agent applies; without, what the file says.`

// policyRow is one setting as `policy show` prints it.
type policyRow struct {
	Setting string            `json:"setting"`
	Value   string            `json:"value"`
	Source  api.SettingSource `json:"source"`
	About   string            `json:"about"`
}

// policyReport is what `policy show --json` prints.
type policyReport struct {
	Path     string              `json:"path"`
	Found    bool                `json:"found"`
	Agent    bool                `json:"agent"`
	Settings []policyRow         `json:"settings"`
	Problems []api.PolicyProblem `json:"problems"`
}

func (c *cli) policy(args []string) int {
	if len(args) == 0 || args[0] != "show" {
		fs := c.flags("policy show [--json]", policyAbout, "")
		if code, ok := c.parse(fs, args, 0); !ok {
			return code
		}
		fs.Usage()
		return exitUsage
	}
	fs := c.flags("policy show [--json]", policyAbout, "")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := c.parse(fs, args[1:], 0); !ok {
		return code
	}
	ctx, cancel := signalContext()
	defer cancel()
	rep, err := c.policyReport(ctx)
	if err != nil {
		return c.fail(err)
	}
	if *asJSON {
		return c.printJSON(rep)
	}
	switch {
	case !rep.Found:
		fmt.Fprintf(c.out, "No administrator policy (%s does not exist).\n\n", rep.Path)
	case rep.Agent:
		fmt.Fprintf(c.out, "Administrator policy: %s (as the running agent applies it)\n\n", rep.Path)
	default:
		fmt.Fprintf(c.out, "Administrator policy: %s (Inbox Sync is not running: as the file says)\n\n", rep.Path)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tFROM")
	for _, r := range rep.Settings {
		v := r.Value
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Setting, v, r.Source)
	}
	tw.Flush()
	if len(rep.Problems) > 0 {
		fmt.Fprintf(c.out, "\nProblems in %s (these entries are ignored):\n", rep.Path)
		for _, p := range rep.Problems {
			fmt.Fprintf(c.out, "  %s\n", p)
		}
	}
	return exitOK
}

// policyReport resolves every setting: from the running agent's policy
// and settings when it runs, else from the file, the configuration file
// and the stored settings.
func (c *cli) policyReport(ctx context.Context) (policyReport, error) {
	p, err := c.paths()
	if err != nil {
		return policyReport{}, err
	}
	pol := app.LoadPolicy()
	var settings api.Settings
	var crmSettings api.CRMSettings
	agent := false
	if cl, err := control.Dial(ctx, p.Socket); err == nil {
		defer cl.Close()
		if pol, err = cl.Policy(ctx); err != nil {
			return policyReport{}, err
		}
		if settings, err = cl.Settings(ctx); err != nil {
			return policyReport{}, err
		}
		if crmSettings, err = cl.CRMSettings(ctx); err != nil {
			return policyReport{}, err
		}
		agent = true
	} else if !errors.Is(err, api.ErrNotRunning) {
		return policyReport{}, err
	} else {
		r, closeR, err := c.reader(ctx)
		if err != nil {
			return policyReport{}, err
		}
		defer closeR()
		if settings, err = r.Settings(ctx); err != nil {
			return policyReport{}, err
		}
	}
	user := map[string]string{}
	for _, prov := range []string{"office365", "gmail"} {
		d, err := app.ProviderDefaults(p, api.Policy{}, prov)
		if err != nil {
			return policyReport{}, err
		}
		table := policy.Table(prov)
		for k, v := range d {
			user[table+"."+k] = v
		}
	}
	rep := policyReport{Path: pol.Path, Found: pol.Found, Agent: agent, Problems: pol.Problems}
	if rep.Problems == nil {
		rep.Problems = []api.PolicyProblem{}
	}
	for _, name := range policy.Names() {
		v, src := policy.Resolve(pol, name, "", user[name])
		if s, ok := settings.Sources[name]; ok && agent {
			// The agent's own resolution, with the user's settings.
			v, src = engine.SettingText(settings, name), s
		} else if cv, ok := engine.CRMSettingText(crmSettings, name); ok && agent && src != api.SourceLocked && cv != v &&
			!(name == "salesforce.blocklist" && cv == strings.Join(crmlog.DefaultBlocklist, ",")) {
			// A CRM setting in force that is neither the policy's nor
			// the default: the user's own (crm settings).
			v, src = cv, api.SourceUser
		}
		if name == "google.client_secret" && v != "" {
			v = "(hidden)"
		}
		rep.Settings = append(rep.Settings, policyRow{Setting: name, Value: v, Source: src, About: policy.Description(name)})
	}
	return rep, nil
}
