package main

import (
	"flag"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider/gmail"
)

// `account add gmail` flags. Each one goes into the request's settings;
// empty ones fall back to the config file's gmail section, then Google's
// endpoints (docs/gmail.md). The settings are checked here as the
// connector checks them, before the agent is asked.
func init() {
	addProviders["gmail"] = addProvider{
		about: "Connects a Gmail or Google Workspace mailbox through the Gmail and Google\n" +
			"Calendar APIs and starts syncing it at once. You sign in with Google in your\n" +
			"browser and allow two read-only permissions (mail headers and labels, calendar\n" +
			"events); Inbox Sync keeps the sign-in and the client secret in the system\n" +
			"keyring, never a password. The OAuth client (Desktop app) is your\n" +
			"organisation's own, registered in Google Cloud: see docs/gmail.md.",
		flags: func(fs *flag.FlagSet, r *addRequest) {
			fs.BoolVar(&r.NoBrowser, "no-browser", false, "print the sign-in link instead of opening the browser")
			fs.Func("client-id", "the OAuth client `ID` (Desktop app), …apps.googleusercontent.com (required unless the config file sets it)", r.setting(gmail.SettingClientID))
			fs.Func("client-secret", "the OAuth client's `secret` (default: the config file's, or the one kept with the account's sign-in)", r.setting(gmail.SettingClientSecret))
			fs.Func("auth-url", "Google's authorization `URL` (default "+gmail.DefaultAuthURL+")", r.setting(gmail.SettingAuthURL))
			fs.Func("token-url", "Google's token `URL` (default "+gmail.DefaultTokenURL+")", r.setting(gmail.SettingTokenURL))
			fs.Func("gmail-endpoint", "the Gmail API `URL` including /gmail/v1 (default "+gmail.DefaultGmailEndpoint+")", r.setting(gmail.SettingGmailEndpoint))
			fs.Func("calendar-endpoint", "the Google Calendar API `URL` including /calendar/v3 (default "+gmail.DefaultCalendarEndpoint+")", r.setting(gmail.SettingCalendarEndpoint))
		},
		check: func(c *cli, req api.ActivationRequest) error {
			defaults, err := gmailDefaults(c)
			if err != nil {
				return err
			}
			_, err = gmail.ResolveSettings(req.Settings, defaults)
			return err
		},
	}
}

// gmailDefaults reads the gmail section of the configuration file over
// the policy's [google] table, as the agent does at each activation.
func gmailDefaults(c *cli) (map[string]string, error) { return providerDefaults(c, "gmail") }
