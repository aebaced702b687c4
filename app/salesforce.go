package app

import (
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// crmConnectors are the CRM connectors linked into this build, by name.
func crmConnectors(secrets secret.Store) map[string]crm.Connector {
	return map[string]crm.Connector{engine.CRMSalesforce: &salesforce.Connector{Secrets: secrets}}
}
