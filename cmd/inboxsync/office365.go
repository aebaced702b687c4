package main

import (
	"flag"

	"github.com/inboxsync/inboxsync/app"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider/graph"
)

// `account add office365` flags. Each one goes into the request's settings;
// empty ones fall back to the config file, then the global cloud's
// defaults (docs/office365.md). The settings are checked here as the
// connector checks them, before the agent is asked.
func init() {
	addProviders["office365"] = addProvider{
		about: "Connects an Office 365 mailbox through Microsoft Graph and starts syncing it at\n" +
			"once. You sign in on Microsoft's page in your browser (or with a code on another\n" +
			"device: --device-code); Inbox Sync keeps the sign-in in the system keyring, never\n" +
			"a password.",
		flags: func(fs *flag.FlagSet, r *addRequest) {
			fs.StringVar(&r.Login, "login", "", "your sign-in name, filled in on Microsoft's sign-in page")
			fs.BoolVar(&r.NoBrowser, "no-browser", false, "print the sign-in link instead of opening the browser")
			fs.Func("client-id", "the application (client) `ID` of your organisation's app registration (required unless the config file sets it)", r.setting(graph.SettingClientID))
			fs.Func("tenant", "`organizations` (default), common, or a tenant ID or domain", r.setting(graph.SettingTenant))
			fs.Func("authority", "the sign-in `URL` for national clouds (default https://login.microsoftonline.com)", r.setting(graph.SettingAuthority))
			fs.Func("graph-endpoint", "the Microsoft Graph `URL` including /v1.0, for national clouds (default https://graph.microsoft.com/v1.0)", r.setting(graph.SettingEndpoint))
			fs.BoolFunc("device-code", "sign in with a code on another device instead of a browser here", func(v string) error {
				if v == "true" {
					return r.setting(graph.SettingDeviceCode)("1")
				}
				return nil
			})
		},
		check: func(c *cli, req api.ActivationRequest) error {
			defaults, err := office365Defaults(c)
			if err != nil {
				return err
			}
			_, err = graph.ResolveSettings(req.Settings, defaults)
			return err
		},
	}
}

// office365Defaults reads the office365 section of the configuration file
// over the policy's [office365] table, as the agent does at each
// activation.
func office365Defaults(c *cli) (map[string]string, error) { return providerDefaults(c, "office365") }

// providerDefaults reads what an activation of prov leaves empty: the
// configuration file's section over the policy's table.
func providerDefaults(c *cli, prov string) (map[string]string, error) {
	p, err := c.paths()
	if err != nil {
		return nil, err
	}
	return app.ProviderDefaults(p, app.LoadPolicy(), prov)
}
