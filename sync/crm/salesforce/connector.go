package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// The settings of a Salesforce connection (crm.ConnectRequest.Settings,
// config.json's and the admin policy's salesforce keys).
const (
	SettingLoginURL     = "login_url"
	SettingClientID     = "client_id"
	SettingRedirectPort = "redirect_port"
	SettingAPIVersion   = "api_version"
	SettingBudget       = "budget"
)

// SecretAccount is the keyring account the connection's grant is saved
// under; mailbox account names cannot contain ':'.
const SecretAccount = "crm:salesforce"

// Connector makes and opens Salesforce connections: crm.Connector.
type Connector struct {
	Secrets secret.Store
	// HTTPClient, OpenBrowser and Timeout are passed on (nil and zero:
	// the defaults).
	HTTPClient  *http.Client
	OpenBrowser func(ctx context.Context, url string) error
	Timeout     time.Duration
}

var _ crm.Connector = (*Connector)(nil)

// ConfigFrom reads a Config from connection settings.
func ConfigFrom(settings map[string]string) (Config, error) {
	c := Config{LoginURL: settings[SettingLoginURL], ClientID: settings[SettingClientID], APIVersion: settings[SettingAPIVersion]}
	if p := strings.TrimSpace(settings[SettingRedirectPort]); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return Config{}, fmt.Errorf("%w: the redirect port %q is not a number", api.ErrInvalid, p)
		}
		c.RedirectPort = n
	}
	if b := strings.TrimSpace(settings[SettingBudget]); b != "" {
		f, err := strconv.ParseFloat(b, 64)
		if err != nil || f <= 0 || f > 1 {
			return Config{}, fmt.Errorf("%w: the API budget %q must be a share between 0 and 1, like 0.9", api.ErrInvalid, b)
		}
		c.Budget = f
	}
	return c, nil
}

func (k *Connector) config(settings map[string]string) (Config, error) {
	c, err := ConfigFrom(settings)
	if err != nil {
		return Config{}, err
	}
	c.HTTPClient, c.OpenBrowser = k.HTTPClient, k.OpenBrowser
	return c, c.Check()
}

// Connect implements crm.Connector: the browser sign-in of Connect.
func (k *Connector) Connect(ctx context.Context, req crm.ConnectRequest, progress func(api.ActivationProgress)) (crm.Connection, error) {
	cfg, err := k.config(req.Settings)
	if err != nil {
		return nil, err
	}
	cfg.ClientSecret = req.ClientSecret
	opts := auth.SignInOptions{NoBrowser: req.NoBrowser, Timeout: k.Timeout, Progress: func(p auth.Prompt) {
		if progress != nil {
			progress(api.ActivationProgress{Message: p.Message, URL: p.URL, UserCode: p.UserCode})
		}
	}}
	c, err := Connect(ctx, cfg, k.Secrets, SecretAccount, opts)
	if err != nil {
		return nil, err
	}
	return connection{c}, nil
}

// Open implements crm.Connector.
func (k *Connector) Open(settings map[string]string) (crm.Connection, error) {
	cfg, err := k.config(settings)
	if err != nil {
		return nil, err
	}
	c, err := New(cfg, k.Secrets, SecretAccount)
	if err != nil {
		return nil, err
	}
	return connection{c}, nil
}

// connection is a Client as a crm.Connection.
type connection struct{ *Client }

// Identity implements crm.Connection.
func (c connection) Identity() (crm.Identity, error) {
	id, err := c.Client.Identity()
	if err != nil {
		return crm.Identity{}, err
	}
	return crm.Identity{Instance: id.InstanceURL, User: id.UserID, Org: id.OrgID}, nil
}
