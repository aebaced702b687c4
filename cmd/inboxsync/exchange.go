package main

import (
	"flag"

	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/ews"
)

// `account add exchange` takes --ews-url for servers Autodiscover cannot
// find; the value goes to the request's settings, where the connector
// checks that it is https.
func init() {
	addFlags["exchange"] = func(fs *flag.FlagSet, req *provider.ActivationRequest) {
		fs.Func("ews-url", "the Exchange Web Services `URL`, https://host/EWS/Exchange.asmx (default: found by Autodiscover from the address's domain)", func(s string) error {
			if req.Settings == nil {
				req.Settings = map[string]string{}
			}
			req.Settings[ews.SettingURL] = s
			return nil
		})
	}
}
