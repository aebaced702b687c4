package main

import (
	"flag"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider/ews"
)

// `account add exchange`: a login and a password, and --ews-url for
// servers Autodiscover cannot find. The connector's own checks (an https
// URL, a login of the right form …) run here too, before the agent is
// asked.
func init() {
	addProviders["exchange"] = addProvider{
		about: "Connects a Microsoft Exchange (on-premises) mailbox with its login and password,\n" +
			"and starts syncing it at once. Inbox Sync finds the server by Autodiscover from\n" +
			"the address's domain unless --ews-url gives it. The password is read from\n" +
			"standard input (--password-stdin) and kept in the system keyring only.",
		flags: func(fs *flag.FlagSet, r *addRequest) {
			r.loginFlags(fs)
			fs.Func("ews-url", "the Exchange Web Services `URL`, https://host/EWS/Exchange.asmx (default: found by Autodiscover from the address's domain)", r.setting(ews.SettingURL))
		},
		check: func(_ *cli, req api.ActivationRequest) error { return ews.CheckRequest(req) },
	}
}
