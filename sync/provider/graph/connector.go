package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/internal/httpapi"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// Keys of the account settings (provider.Account.Settings and
// ActivationRequest.Settings).
const (
	SettingClientID   = "client_id"
	SettingTenant     = "tenant"
	SettingAuthority  = "authority"
	SettingEndpoint   = "graph_endpoint"
	SettingDeviceCode = "device_code" // "1": device code flow (request only)
)

// Defaults of the settings for the global cloud.
const (
	DefaultTenant    = "organizations"
	DefaultAuthority = "https://login.microsoftonline.com"
)

// Scopes are the delegated permissions asked for.
var Scopes = []string{"offline_access", "User.Read", "Mail.Read", "Calendars.Read"}

// Connector connects Office 365 accounts. It implements provider.Connector.
type Connector struct {
	// Defaults returns settings used where an activation request leaves
	// them empty (the config file's client ID and tenant); nil for none.
	Defaults func() (map[string]string, error)
	// HTTPClient makes all requests (nil: http.DefaultClient).
	HTTPClient *http.Client
	// OpenBrowser replaces pkg/browser (tests).
	OpenBrowser func(ctx context.Context, url string) error
	// PageSize is the Graph page size (0: DefaultPageSize).
	PageSize int
}

var _ provider.Connector = (*Connector)(nil)

// Settings are an account's resolved settings.
type Settings struct {
	ClientID  string
	Tenant    string
	Authority string
	Endpoint  string
}

func (s Settings) store() map[string]string {
	return map[string]string{SettingClientID: s.ClientID, SettingTenant: s.Tenant, SettingAuthority: s.Authority, SettingEndpoint: s.Endpoint}
}

var (
	tenantRe   = regexp.MustCompile(`^(organizations|common|consumers|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$`)
	clientIDRe = regexp.MustCompile(`^[A-Za-z0-9._-]+$`) // at most 128: checked apart (see gmail's)
)

// ResolveSettings merges explicit settings over defaults, applies the
// global cloud's defaults and checks them.
func ResolveSettings(explicit, defaults map[string]string) (Settings, error) {
	get := func(k, def string) string { return httpapi.Setting(explicit, defaults, k, def) }
	s := Settings{
		ClientID: get(SettingClientID, ""), Tenant: get(SettingTenant, DefaultTenant),
		Authority: get(SettingAuthority, DefaultAuthority), Endpoint: get(SettingEndpoint, DefaultEndpoint),
	}
	if s.ClientID == "" {
		return s, fmt.Errorf("%w: Office 365 needs the client ID of your organisation's app registration: pass --client-id, or set office365.client_id in the config file (see docs/office365.md)", api.ErrInvalid)
	}
	if len(s.ClientID) > 128 || !clientIDRe.MatchString(s.ClientID) {
		return s, fmt.Errorf("%w: the client ID %q does not look like an application (client) ID", api.ErrInvalid, s.ClientID)
	}
	if !tenantRe.MatchString(s.Tenant) {
		return s, fmt.Errorf("%w: the tenant must be organizations, common, a tenant ID or a domain name, not %q", api.ErrInvalid, s.Tenant)
	}
	var err error
	if s.Authority, err = httpapi.CheckURL("authority", s.Authority); err != nil {
		return s, err
	}
	if s.Endpoint, err = httpapi.CheckURL("Graph endpoint", s.Endpoint); err != nil {
		return s, err
	}
	return s, nil
}

// AuthConfig returns the OAuth configuration for s.
func (c *Connector) AuthConfig(s Settings) *auth.Config {
	base := s.Authority + "/" + url.PathEscape(s.Tenant) + "/oauth2/v2.0/"
	return &auth.Config{
		ClientID: s.ClientID,
		Endpoint: auth.Endpoint{AuthURL: base + "authorize", TokenURL: base + "token", DeviceAuthURL: base + "devicecode"},
		Scopes:   Scopes, RedirectHost: "localhost",
		AuthParams:  url.Values{"prompt": {"select_account"}},
		HTTPClient:  c.HTTPClient,
		Explain:     Explain,
		OpenBrowser: c.OpenBrowser,
	}
}

func (c *Connector) defaults() (map[string]string, error) {
	if c.Defaults == nil {
		return nil, nil
	}
	return c.Defaults()
}

// Connect implements provider.Connector: it signs the user in (browser, or
// device code when Settings["device_code"] is "1"), reads /me for the
// mailbox address and returns the settings and the grant to keep.
func (c *Connector) Connect(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (provider.Connection, error) {
	defs, err := c.defaults()
	if err != nil {
		return provider.Connection{}, fmt.Errorf("reading the Office 365 defaults: %w", err)
	}
	s, err := ResolveSettings(req.Settings, defs)
	if err != nil {
		return provider.Connection{}, err
	}
	ac := c.AuthConfig(s)
	if req.Login != "" {
		ac.AuthParams.Set("login_hint", req.Login)
	}
	opts := auth.SignInOptions{NoBrowser: req.NoBrowser, Progress: func(p auth.Prompt) {
		if progress != nil {
			progress(api.ActivationProgress{Message: p.Message, URL: p.URL, UserCode: p.UserCode})
		}
	}}
	var tok auth.Token
	if req.Settings[SettingDeviceCode] == "1" {
		tok, err = ac.SignInDevice(ctx, opts)
	} else {
		tok, err = ac.SignInBrowser(ctx, opts)
	}
	if err != nil {
		return provider.Connection{}, err
	}
	if tok.RefreshToken == "" {
		return provider.Connection{}, provider.Failed("Microsoft did not grant offline access, so Inbox Sync could not keep you signed in.", errors.New("no refresh token in the answer"))
	}
	p, err := New(Options{Endpoint: s.Endpoint, HTTPClient: c.HTTPClient, Tokens: httpapi.StaticToken(tok.AccessToken)})
	if err != nil {
		return provider.Connection{}, err
	}
	defer p.Close()
	me, err := p.Me(ctx)
	if err != nil {
		return provider.Connection{}, fmt.Errorf("reading your profile from Microsoft Graph: %w", err)
	}
	if me.Address() == "" {
		return provider.Connection{}, provider.Failed("Microsoft Graph did not say which mailbox you signed in to.", errors.New("/me has no mail or userPrincipalName"))
	}
	return provider.Connection{
		Account: provider.Account{ID: req.Account, Login: me.UserPrincipalName, Email: me.Address(), Settings: s.store()},
		Secrets: map[string]string{secret.KeyToken: auth.Grant{RefreshToken: tok.RefreshToken, Scope: tok.Scope}.Encode()},
	}, nil
}

// Open implements provider.Connector: a provider whose tokens come from the
// grant in the keyring, with every rotation written back at once.
func (c *Connector) Open(ctx context.Context, acct provider.Account, secrets secret.Store) (provider.Provider, error) {
	s, err := ResolveSettings(acct.Settings, nil)
	if err != nil {
		return nil, provider.Failed("The account's Office 365 settings are incomplete: activate it again.", err)
	}
	ts := auth.NewTokenSource(c.AuthConfig(s), secrets, acct.ID)
	return New(Options{Endpoint: s.Endpoint, HTTPClient: c.HTTPClient, Tokens: ts, PageSize: c.PageSize})
}
