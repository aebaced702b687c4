package app

import (
	"github.com/inboxsync/inboxsync/internal/install"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/ews"
)

// Exchange on-premises accounts: EWS with a login and a password.
func init() {
	connectors["exchange"] = func(install.Paths) provider.Connector {
		return policyDefaulted{Connector: ews.NewConnector(ews.Options{}), name: "exchange"}
	}
}
