package app

import (
	"github.com/inboxsync/inboxsync/internal/install"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/graph"
)

// Office 365 syncs through Microsoft Graph (sync/provider/graph). Its
// defaults (client ID, tenant, national cloud) come from the configuration
// file, read at each activation so that editing it needs no restart.
func init() {
	connectors["office365"] = func(p install.Paths) provider.Connector {
		return &graph.Connector{Defaults: func() (map[string]string, error) { return office365Defaults(p) }}
	}
}

// office365Defaults reads the office365 section of the configuration file
// of the agent's home (--home, INBOXSYNC_HOME or XDG; see ConfigPath) over
// the policy's [office365] table.
func office365Defaults(p install.Paths) (map[string]string, error) {
	return ProviderDefaults(p, currentPolicy(), "office365")
}
