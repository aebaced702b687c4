//go:build testprovider

package app

import (
	"os"
	"time"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/emailnotice"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
)

// This file exists only in test builds (-tags testprovider): it links the
// scripted provider so that end-to-end tests can drive the real binary,
// and lets them shorten the engine's limits through the environment.
func init() {
	file := scripted.NewFileConnector()
	connectors["scripted"] = func(install.Paths) provider.Connector { return file }
	noticeTuning = func(s *emailnotice.Service) {
		if d, err := time.ParseDuration(os.Getenv("INBOXSYNC_TEST_NOTICE_POLL")); err == nil {
			s.Poll = d
		}
		if d, err := time.ParseDuration(os.Getenv("INBOXSYNC_TEST_NOTICE_RETRY")); err == nil {
			emailnotice.Retry = []time.Duration{d}
		}
	}
	engineTuning = func(c *engine.Config) {
		c.MinInterval = time.Second
		if d, err := time.ParseDuration(os.Getenv("INBOXSYNC_TEST_MIN_SYNC_GAP")); err == nil {
			c.MinSyncGap = d
		}
		if d, err := time.ParseDuration(os.Getenv("INBOXSYNC_TEST_WALL_CHECK")); err == nil {
			c.WallCheck = d
		}
	}
}
