package gmail

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/internal/httpapi"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// Keys of the account settings (provider.Account.Settings and
// ActivationRequest.Settings), the same as config.json's gmail keys.
const (
	SettingClientID         = "client_id"
	SettingClientSecret     = "client_secret" // request and defaults only: kept in the keyring, never in the settings
	SettingAuthURL          = "auth_url"
	SettingTokenURL         = "token_url"
	SettingGmailEndpoint    = "gmail_endpoint"
	SettingCalendarEndpoint = "calendar_endpoint"
)

// Connector connects Gmail and Google Workspace accounts. It implements
// provider.Connector.
type Connector struct {
	// Defaults returns settings used where an activation request leaves
	// them empty (the config file's client ID and client secret); nil for
	// none.
	Defaults func() (map[string]string, error)
	// HTTPClient makes all requests (nil: http.DefaultClient).
	HTTPClient *http.Client
	// OpenBrowser replaces pkg/browser (tests).
	OpenBrowser func(ctx context.Context, url string) error
	// PageSize is the page size (0: DefaultPageSize).
	PageSize int
	// Batch reads messages through the batch endpoint, this many a
	// request (0: one request per message; see Options.Batch).
	Batch int
	// Quota is the pace of Gmail requests in quota units a second
	// (0: DefaultQuota; negative: no pacing, for tests and benchmarks).
	Quota float64
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Secrets, when set, lets a re-activation (a request naming an
	// existing account) reuse the client secret kept with the account's
	// grant when neither the request nor the defaults give one: a client
	// secret passed once with --client-secret is then not asked again.
	Secrets secret.Store
}

var _ provider.Connector = (*Connector)(nil)

// Settings are an account's resolved settings.
type Settings struct {
	ClientID         string
	ClientSecret     string
	AuthURL          string
	TokenURL         string
	GmailEndpoint    string
	CalendarEndpoint string
}

// store returns the settings to keep with the account: everything but the
// client secret, which goes to the keyring with the grant.
func (s Settings) store() map[string]string {
	return map[string]string{
		SettingClientID: s.ClientID, SettingAuthURL: s.AuthURL, SettingTokenURL: s.TokenURL,
		SettingGmailEndpoint: s.GmailEndpoint, SettingCalendarEndpoint: s.CalendarEndpoint,
	}
}

var (
	// The lengths are checked apart: a counted repetition compiles into
	// that many copies, which every start of the binary (the CLI's too)
	// paid for at package initialisation.
	clientIDRe     = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	clientSecretRe = regexp.MustCompile(`^[\x21-\x7e]+$`)
)

// ResolveSettings merges explicit settings over defaults, applies Google's
// endpoints where none is given and checks them.
func ResolveSettings(explicit, defaults map[string]string) (Settings, error) {
	get := func(k, def string) string { return httpapi.Setting(explicit, defaults, k, def) }
	s := Settings{
		ClientID: get(SettingClientID, ""), ClientSecret: get(SettingClientSecret, ""),
		AuthURL: get(SettingAuthURL, DefaultAuthURL), TokenURL: get(SettingTokenURL, DefaultTokenURL),
		GmailEndpoint: get(SettingGmailEndpoint, DefaultGmailEndpoint), CalendarEndpoint: get(SettingCalendarEndpoint, DefaultCalendarEndpoint),
	}
	if s.ClientID == "" {
		return s, fmt.Errorf("%w: Gmail needs the client ID of an OAuth client (Desktop app) registered in Google Cloud: pass --client-id, or set gmail.client_id in the config file (see docs/gmail.md)", api.ErrInvalid)
	}
	if len(s.ClientID) > 200 || !clientIDRe.MatchString(s.ClientID) {
		return s, fmt.Errorf("%w: the client ID %q does not look like a Google OAuth client ID (…apps.googleusercontent.com)", api.ErrInvalid, s.ClientID)
	}
	if s.ClientSecret != "" && (len(s.ClientSecret) > 200 || !clientSecretRe.MatchString(s.ClientSecret)) {
		// The value is not repeated: it may be a real secret.
		return s, fmt.Errorf("%w: the client secret has characters a Google client secret does not have", api.ErrInvalid)
	}
	var err error
	for _, f := range []struct {
		what string
		v    *string
	}{{"authorization URL", &s.AuthURL}, {"token URL", &s.TokenURL}, {"Gmail endpoint", &s.GmailEndpoint}, {"Calendar endpoint", &s.CalendarEndpoint}} {
		if *f.v, err = httpapi.CheckURL(f.what, *f.v); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (c *Connector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// AuthConfig returns the OAuth configuration for s; issued is when the
// grant in use was given (zero when unknown), for the words of an expired
// grant.
func (c *Connector) AuthConfig(s Settings, issued time.Time) *auth.Config {
	return &auth.Config{
		ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		Endpoint: auth.Endpoint{AuthURL: s.AuthURL, TokenURL: s.TokenURL},
		Scopes:   Scopes, RedirectHost: "127.0.0.1", NoTokenScope: true,
		// Google returns a refresh token only with offline access and,
		// for a user who consented before, only when asked to consent
		// again: a re-activation must always get one.
		AuthParams:  url.Values{"access_type": {"offline"}, "prompt": {"consent"}, "response_mode": nil},
		HTTPClient:  c.HTTPClient,
		Explain:     explainer(issued, c.now),
		OpenBrowser: c.OpenBrowser,
		Now:         c.Now,
	}
}

func (c *Connector) defaults() (map[string]string, error) {
	if c.Defaults == nil {
		return nil, nil
	}
	return c.Defaults()
}

// Connect implements provider.Connector: it signs the user in with Google
// in the browser, checks that both permissions were granted, reads the
// Gmail profile for the mailbox address and one calendar event (both APIs
// must be enabled in the client's project) and returns the settings and
// the grant to keep.
func (c *Connector) Connect(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (provider.Connection, error) {
	defs, err := c.defaults()
	if err != nil {
		return provider.Connection{}, fmt.Errorf("reading the Gmail defaults: %w", err)
	}
	s, err := ResolveSettings(req.Settings, defs)
	if err != nil {
		return provider.Connection{}, err
	}
	if s.ClientSecret == "" && c.Secrets != nil && req.Account != "" {
		if v, err := c.Secrets.Get(req.Account, secret.KeyToken); err == nil {
			if g, err := auth.DecodeGrant(v); err == nil {
				s.ClientSecret = g.ClientSecret
			}
		}
	}
	ac := c.AuthConfig(s, time.Time{})
	if hint := firstNonEmpty(req.Email, req.Login); hint != "" {
		ac.AuthParams.Set("login_hint", hint)
	}
	opts := auth.SignInOptions{NoBrowser: req.NoBrowser, Progress: func(p auth.Prompt) {
		if progress != nil {
			progress(api.ActivationProgress{Message: p.Message, URL: p.URL, UserCode: p.UserCode})
		}
	}}
	tok, err := ac.SignInBrowser(ctx, opts)
	if err != nil {
		return provider.Connection{}, err
	}
	if tok.RefreshToken == "" {
		return provider.Connection{}, provider.Failed("Google did not grant offline access, so Inbox Sync could not keep you signed in: sign in again.", errors.New("no refresh token in the answer"))
	}
	if tok.Scope != "" {
		if missing := auth.MissingScopes(tok.Scope, Scopes); len(missing) > 0 {
			return provider.Connection{}, provider.Failed(missingPermission(missing[0]), fmt.Errorf("the granted scopes lack %s", strings.Join(missing, " ")))
		}
	}
	p, err := New(Options{GmailEndpoint: s.GmailEndpoint, CalendarEndpoint: s.CalendarEndpoint, HTTPClient: c.HTTPClient, Tokens: httpapi.StaticToken(tok.AccessToken)})
	if err != nil {
		return provider.Connection{}, err
	}
	defer p.Close()
	pr, err := p.Profile(ctx)
	if err != nil {
		return provider.Connection{}, fmt.Errorf("reading your Gmail profile: %w", err)
	}
	// One event, so that a Calendar API left disabled in the client's
	// project shows now rather than as failed syncs later.
	if err := p.checkCalendar(ctx); err != nil {
		return provider.Connection{}, fmt.Errorf("reading your Google calendar: %w", err)
	}
	g := auth.Grant{RefreshToken: tok.RefreshToken, Scope: tok.Scope, Issued: c.now().UTC(), ClientSecret: s.ClientSecret}
	return provider.Connection{
		Account: provider.Account{ID: req.Account, Login: pr.EmailAddress, Email: pr.EmailAddress, Settings: s.store()},
		Secrets: map[string]string{secret.KeyToken: g.Encode()},
	}, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// Open implements provider.Connector: a provider whose tokens come from the
// grant in the keyring, with every rotation written back at once.
func (c *Connector) Open(ctx context.Context, acct provider.Account, secrets secret.Store) (provider.Provider, error) {
	defs, err := c.defaults()
	if err != nil {
		return nil, fmt.Errorf("reading the Gmail defaults: %w", err)
	}
	// Only the client secret may come from the defaults: the rest was
	// resolved and stored at activation.
	s, err := ResolveSettings(acct.Settings, map[string]string{SettingClientSecret: defs[SettingClientSecret]})
	if err != nil {
		return nil, provider.Failed("The account's Gmail settings are incomplete: activate it again.", err)
	}
	var issued time.Time
	if v, err := secrets.Get(acct.ID, secret.KeyToken); err == nil {
		if g, err := auth.DecodeGrant(v); err == nil {
			issued = g.Issued
			if g.ClientSecret != "" {
				s.ClientSecret = g.ClientSecret
			}
		}
	}
	// A missing or unreadable grant is reported by the token source on the
	// first request, as for Office 365.
	ts := auth.NewTokenSource(c.AuthConfig(s, issued), secrets, acct.ID)
	quota := c.Quota
	switch {
	case quota == 0:
		quota = DefaultQuota
	case quota < 0:
		quota = 0
	}
	return New(Options{GmailEndpoint: s.GmailEndpoint, CalendarEndpoint: s.CalendarEndpoint, HTTPClient: c.HTTPClient,
		Tokens: ts, PageSize: c.PageSize, Batch: c.Batch, Quota: quota, Now: c.Now})
}
