//go:build testprovider

package main

import (
	"flag"
	"path/filepath"

	"github.com/inboxsync/inboxsync/sync/provider"
)

// Test builds add `account add scripted --mailbox FILE`.
func init() {
	addFlags["scripted"] = func(fs *flag.FlagSet, req *provider.ActivationRequest) {
		fs.Func("mailbox", "the scripted mailbox's JSON `FILE` (test builds only)", func(s string) error {
			abs, err := filepath.Abs(s)
			req.Settings = map[string]string{"mailbox": abs}
			return err
		})
	}
}
