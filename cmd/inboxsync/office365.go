package main

import (
	"flag"

	"github.com/inboxsync/inboxsync/app"
	"github.com/inboxsync/inboxsync/sync/provider"
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
		check: func(c *cli, req provider.ActivationRequest) error {
			defaults, err := office365Defaults(c)
			if err != nil {
				return err
			}
			_, err = graph.ResolveSettings(req.Settings, defaults)
			return err
		},
	}
}

// office365Defaults reads the office365 section of the configuration file,
// as the agent does at each activation.
func office365Defaults(c *cli) (map[string]string, error) {
	p, err := c.paths()
	if err != nil {
		return nil, err
	}
	path, err := app.ConfigPath(p)
	if err != nil {
		return nil, err
	}
	conf, err := app.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	o := conf.Office365
	return map[string]string{
		graph.SettingClientID: o.ClientID, graph.SettingTenant: o.Tenant,
		graph.SettingAuthority: o.Authority, graph.SettingEndpoint: o.GraphEndpoint,
	}, nil
}
