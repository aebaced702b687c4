package crm

import (
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// StateAfter returns the state a run that ended with err leaves the
// connection in (docs/architecture.md §3 applied to the CRM side): nil and offline
// (retried later) leave it connected, a throttled run waits, a grant that
// is gone needs re-activation, anything else is a failure (the engine
// suspends after 10 in a row).
func StateAfter(err error) api.ConnState {
	if err == nil {
		return api.ConnConnected
	}
	switch provider.Classify(err) {
	case provider.ClassOffline:
		return api.ConnConnected
	case provider.ClassThrottled:
		return api.ConnThrottled
	case provider.ClassGrantGone:
		return api.ConnNeedsReactivation
	}
	return api.ConnFailed
}
