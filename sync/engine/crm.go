package engine

// The CRM side of the engine (docs/architecture.md §5, issue 11): one CRM connection
// per agent, run by crmRunner (crmrunner.go) with the state rules of §3.
// This file holds its settings and the Control methods.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/session"
	"github.com/inboxsync/inboxsync/sync/store"
)

// crmSettingsKey stores CRMSettings in the store's settings.
const crmSettingsKey = "crm_settings"

func loadCRMSettings(ctx context.Context, st *store.Store) (crmStored, error) {
	s := crmStored{CRMSettings: api.CRMSettings{LogEmailAs: api.AsEmailMessage}}
	v, ok, err := st.Setting(ctx, crmSettingsKey)
	if err != nil || !ok {
		return s, err
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return crmStored{CRMSettings: api.CRMSettings{LogEmailAs: api.AsEmailMessage}}, fmt.Errorf("reading the CRM settings: %w", err)
	}
	return s.clone(), nil
}

// normalizeDomains lowercases and trims domains and refuses what is not one.
func normalizeDomains(what string, ds []string) ([]string, error) {
	out := []string{}
	for _, d := range ds {
		d = strings.ToLower(strings.TrimSpace(d))
		d = strings.TrimPrefix(d, "@")
		if d == "" {
			continue
		}
		if strings.ContainsAny(d, "@ /\\,;") || !strings.Contains(d, ".") {
			return nil, fmt.Errorf("%w: %q in %s is not a domain like example.com", api.ErrInvalid, d, what)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// checkCRMSettings validates s and returns it normalized.
func checkCRMSettings(s api.CRMSettings) (api.CRMSettings, error) {
	switch s.LogEmailAs {
	case "":
		s.LogEmailAs = api.AsEmailMessage
	case api.AsEmailMessage, api.AsTask:
	default:
		return s, fmt.Errorf("%w: log emails as %q: choose email (an EmailMessage) or task", api.ErrInvalid, s.LogEmailAs)
	}
	if s.Budget < 0 || s.Budget > 1 {
		return s, fmt.Errorf("%w: the API budget must be a share between 0 and 1, like 0.9", api.ErrInvalid)
	}
	if s.RedirectPort < 0 || s.RedirectPort > 65535 {
		return s, fmt.Errorf("%w: the redirect port %d is not a port number", api.ErrInvalid, s.RedirectPort)
	}
	var err error
	if s.InternalDomains, err = normalizeDomains("the internal domains", s.InternalDomains); err != nil {
		return s, err
	}
	if s.Blocklist != nil {
		if s.Blocklist, err = normalizeDomains("the blocklist", s.Blocklist); err != nil {
			return s, err
		}
	}
	return checkCRMRules(s)
}

// CRMSettings implements api.Control: the settings in force.
func (e *Engine) CRMSettings(ctx context.Context) (api.CRMSettings, error) {
	s := e.crmPolicy(e.crm.settings())
	if s.Blocklist == nil {
		s.Blocklist = slices.Clone(crmlog.DefaultBlocklist)
	}
	return s, nil
}

// UpdateCRMSettings implements api.Control: it validates and stores s;
// the next run uses it.
func (e *Engine) UpdateCRMSettings(ctx context.Context, s api.CRMSettings) (api.CRMSettings, error) {
	s, err := checkCRMSettings(s)
	if err != nil {
		return api.CRMSettings{}, err
	}
	cur, err := e.CRMSettings(ctx)
	if err != nil {
		return api.CRMSettings{}, err
	}
	if err := e.checkCRMLocked(cur, s); err != nil {
		return api.CRMSettings{}, err
	}
	own := crmRulesOwn(e.currentPolicy(), e.crm.settings(), s)
	s = e.crmOwn(s)
	if slices.Equal(s.Blocklist, crmlog.DefaultBlocklist) {
		// The list CRMSettings showed, sent back unchanged: keep following
		// the built-in list.
		s.Blocklist = nil
	}
	s.KeepOut, s.LogByHand = nil, nil
	own.CRMSettings = s
	if err := e.crm.setSettings(ctx, own); err != nil {
		return api.CRMSettings{}, err
	}
	e.emit(api.Event{Type: api.EventSettings})
	return e.CRMSettings(ctx)
}

// CRMConnect implements api.Control: it signs in to the CRM (steps that
// need the user go to progress), saves the sign-in to the keyring, queues
// the mailbox's history window and starts logging at once.
func (e *Engine) CRMConnect(ctx context.Context, req api.CRMConnectRequest, progress func(api.ActivationProgress)) (api.CRMStatus, error) {
	if req.CRM == "" {
		req.CRM = api.CRMSalesforce
	}
	k, ok := e.cfg.CRM[req.CRM]
	if !ok {
		return api.CRMStatus{}, fmt.Errorf("%w: connecting to %q is not available in this build (Inbox Sync connects to Salesforce)", api.ErrUnsupported, req.CRM)
	}
	s := e.crm.settings()
	if req.LoginURL != "" {
		s.LoginURL = req.LoginURL
	}
	if req.ClientID != "" {
		s.ClientID = req.ClientID
	}
	if req.RedirectPort != 0 {
		s.RedirectPort = req.RedirectPort
	}
	if req.APIVersion != "" {
		s.APIVersion = req.APIVersion
	}
	checked, err := checkCRMSettings(s.CRMSettings)
	if err != nil {
		return api.CRMStatus{}, err
	}
	s.CRMSettings = checked
	s = s.clone()
	conn, err := k.Connect(ctx, crm.ConnectRequest{Settings: connectorSettings(s.CRMSettings), ClientSecret: req.ClientSecret, NoBrowser: req.NoBrowser}, progress)
	if err != nil {
		return api.CRMStatus{}, err
	}
	id, err := conn.Identity()
	if err != nil {
		return api.CRMStatus{}, err
	}
	if err := e.crm.setSettings(ctx, s); err != nil {
		return api.CRMStatus{}, err
	}
	now := e.cfg.Clock.Now()
	since := now.AddDate(0, 0, -e.currentSettings().HistoryDays)
	queued, err := e.cfg.Store.ConnectCRM(ctx, store.CRMConnection{CRM: req.CRM, Org: id.Org, ConnectedAt: now, Since: since})
	if err != nil {
		return api.CRMStatus{}, session.StoreFailure(err)
	}
	e.log.Info("CRM connected", "crm", req.CRM, "instance", id.Instance, "queued", queued)
	e.crm.connected(req.CRM, conn, id)
	e.emit(api.Event{Type: api.EventAccounts})
	return e.crm.status(ctx)
}

// CRMStatus implements api.Control.
func (e *Engine) CRMStatus(ctx context.Context) (api.CRMStatus, error) {
	return e.crm.status(ctx)
}

// CRMSync implements api.Control: it starts a logging run at once and,
// with wait, returns when it ended.
func (e *Engine) CRMSync(ctx context.Context, wait bool) (api.CRMStatus, error) {
	if err := e.crm.request(ctx, wait); err != nil {
		return api.CRMStatus{}, err
	}
	return e.crm.status(ctx)
}

// CRMDisconnect implements api.Control: it stops logging, revokes the
// sign-in, deletes its secrets and forgets what was not logged yet (the
// records already in the CRM stay, and are known again on reconnecting).
func (e *Engine) CRMDisconnect(ctx context.Context) error {
	conn := e.crm.disconnect()
	var errs []error
	if conn != nil {
		if err := conn.Disconnect(ctx); err != nil {
			errs = append(errs, fmt.Errorf("the CRM connection was stopped but its sign-in could not be deleted from the keyring: %w", err))
		}
	}
	if err := e.cfg.Store.DisconnectCRM(ctx); err != nil {
		errs = append(errs, err)
	}
	e.log.Info("CRM disconnected")
	e.emit(api.Event{Type: api.EventAccounts})
	return errors.Join(errs...)
}

// connectorSettings are the settings a Connector is given.
func connectorSettings(s api.CRMSettings) map[string]string {
	m := map[string]string{"login_url": s.LoginURL, "client_id": s.ClientID, "api_version": s.APIVersion}
	if s.RedirectPort != 0 {
		m["redirect_port"] = strconv.Itoa(s.RedirectPort)
	}
	if s.Budget != 0 {
		m["budget"] = strconv.FormatFloat(s.Budget, 'f', -1, 64)
	}
	return m
}
