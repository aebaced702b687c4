package app

import (
	"context"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// crmConnectors are the CRM connectors linked into this build, by name.
func crmConnectors(p install.Paths, secrets secret.Store) map[string]crm.Connector {
	return map[string]crm.Connector{api.CRMSalesforce: crmDefaulted{
		Connector: &salesforce.Connector{Secrets: secrets},
		defaults:  func() (map[string]string, error) { return ProviderDefaults(p, currentPolicy(), api.CRMSalesforce) },
	}}
}

// crmDefaulted fills the settings a connection leaves empty from
// config.json's salesforce section over the policy's [salesforce] table, as
// `crm connect` does, so that the window and re-activation need them typed
// no more than the CLI.
type crmDefaulted struct {
	crm.Connector
	defaults func() (map[string]string, error)
}

func (c crmDefaulted) fill(settings map[string]string) (map[string]string, error) {
	d, err := c.defaults()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range d {
		out[k] = v
	}
	for k, v := range settings {
		if v != "" {
			out[k] = v
		}
	}
	return out, nil
}

// Connect implements crm.Connector.
func (c crmDefaulted) Connect(ctx context.Context, req crm.ConnectRequest, progress func(api.ActivationProgress)) (crm.Connection, error) {
	s, err := c.fill(req.Settings)
	if err != nil {
		return nil, err
	}
	req.Settings = s
	return c.Connector.Connect(ctx, req, progress)
}

// Open implements crm.Connector.
func (c crmDefaulted) Open(settings map[string]string) (crm.Connection, error) {
	s, err := c.fill(settings)
	if err != nil {
		return nil, err
	}
	return c.Connector.Open(s)
}
