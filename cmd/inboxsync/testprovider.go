//go:build testprovider

package main

import (
	"errors"
	"flag"
	"path/filepath"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Test builds add `account add scripted --mailbox FILE`.
func init() {
	addProviders["scripted"] = addProvider{
		about: "Connects a scripted mailbox, a JSON file that plays a mail server (test builds\nonly), and starts syncing it at once.",
		flags: func(fs *flag.FlagSet, r *addRequest) {
			r.loginFlags(fs)
			fs.Func("mailbox", "the scripted mailbox's JSON `FILE` (test builds only)", func(s string) error {
				abs, err := filepath.Abs(s)
				r.Settings = map[string]string{"mailbox": abs}
				return err
			})
		},
		check: func(_ *cli, req api.ActivationRequest) error {
			if req.Settings["mailbox"] == "" {
				return errors.New("a scripted account needs --mailbox FILE")
			}
			return nil
		},
	}
}
