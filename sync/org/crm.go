package org

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
)

// SettingSalesforce is the organisation setting holding the org's
// Salesforce connection (salesforce.OrgConfig as JSON: URLs, the consumer
// key, the key file's path, the integration user; never the key).
const SettingSalesforce = "crm.salesforce"

// SaveSalesforce checks cfg (its key file included: one others can read
// is refused) and stores it; the key file's path is made absolute.
func SaveSalesforce(ctx context.Context, st store, cfg salesforce.OrgConfig) error {
	if cfg.Certificate == "" {
		return fmt.Errorf("%w: give the key file: --certificate FILE", api.ErrInvalid)
	}
	abs, err := filepath.Abs(cfg.Certificate)
	if err != nil {
		return err
	}
	cfg.Certificate = abs
	o, err := salesforce.NewOrg(cfg, nil)
	if err != nil {
		return err
	}
	return save(ctx, st, SettingSalesforce, o.Config())
}

// LoadSalesforce returns the stored Salesforce connection (ok false:
// none).
func LoadSalesforce(ctx context.Context, st store) (salesforce.OrgConfig, bool, error) {
	var c salesforce.OrgConfig
	ok, err := load(ctx, st, SettingSalesforce, &c)
	return c, ok, err
}

// ErrNoSalesforce is OpenSalesforce's error when the organisation has not
// connected Salesforce.
var ErrNoSalesforce = errors.New("the organisation has not connected Salesforce: run inboxsync org crm connect salesforce")

// OpenSalesforce returns the organisation's Salesforce connection from
// the stored settings, its API budget kept in b (nil: in this process).
func OpenSalesforce(ctx context.Context, st store, hc *http.Client, b salesforce.Budget) (*salesforce.Org, error) {
	cfg, ok, err := LoadSalesforce(ctx, st)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNoSalesforce
	}
	cfg.APIBudget = b
	return salesforce.NewOrg(cfg, hc)
}
