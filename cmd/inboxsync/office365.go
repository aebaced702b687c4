package main

import (
	"flag"

	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/graph"
)

// `account add office365` flags. Each one goes into the request's settings;
// empty ones fall back to the config file, then the global cloud's
// defaults (docs/office365.md).
func init() {
	addFlags["office365"] = func(fs *flag.FlagSet, req *provider.ActivationRequest) {
		set := func(key string) func(string) error {
			return func(v string) error {
				if req.Settings == nil {
					req.Settings = map[string]string{}
				}
				req.Settings[key] = v
				return nil
			}
		}
		fs.Func("client-id", "the application (client) `ID` of your organisation's app registration (required unless the config file sets it)", set(graph.SettingClientID))
		fs.Func("tenant", "`organizations` (default), common, or a tenant ID or domain", set(graph.SettingTenant))
		fs.Func("authority", "the sign-in `URL` for national clouds (default https://login.microsoftonline.com)", set(graph.SettingAuthority))
		fs.Func("graph-endpoint", "the Microsoft Graph `URL` including /v1.0, for national clouds (default https://graph.microsoft.com/v1.0)", set(graph.SettingEndpoint))
		fs.BoolFunc("device-code", "sign in with a code on another device instead of a browser here", func(v string) error {
			if v == "true" {
				return set(graph.SettingDeviceCode)("1")
			}
			return nil
		})
	}
}
