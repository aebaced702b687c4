package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"

	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// Defaults of Config.
const (
	DefaultLoginURL     = "https://login.salesforce.com"
	DefaultAPIVersion   = "v64.0"
	DefaultRedirectPort = 1717
	// DefaultBudget is the share of the org's API allocation past which
	// the connector stops and backs off.
	DefaultBudget = 0.9
)

// Scopes are the OAuth scopes the connector asks for.
var Scopes = []string{"api", "refresh_token"}

// Config is a Salesforce connection's settings (config.json, the admin
// policy's [salesforce] table, `crm connect salesforce` flags).
type Config struct {
	// LoginURL is https://login.salesforce.com, https://test.salesforce.com
	// (sandboxes) or the org's My Domain.
	LoginURL string
	// ClientID is the consumer key of the org's External Client App.
	ClientID string
	// ClientSecret, when the app requires one. It is kept in the keyring
	// with the grant, never in config files.
	ClientSecret string
	// RedirectPort is the fixed loopback port of the callback the app
	// registers: http://localhost:PORT/callback (default 1717).
	RedirectPort int
	// APIVersion is the REST API version, "v64.0".
	APIVersion string
	// Budget is the share of the org's daily API allocation (0–1) past
	// which the connector stops and backs off; default 0.9.
	Budget float64

	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits between retries; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// OpenBrowser opens the sign-in page; nil means the system browser.
	OpenBrowser func(ctx context.Context, url string) error
}

func (c *Config) defaults() {
	if c.LoginURL == "" {
		c.LoginURL = DefaultLoginURL
	}
	c.LoginURL = strings.TrimRight(c.LoginURL, "/")
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	if c.RedirectPort == 0 {
		c.RedirectPort = DefaultRedirectPort
	}
	if c.Budget <= 0 || c.Budget > 1 {
		c.Budget = DefaultBudget
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = auth.Sleep
	}
}

// Check reports a setting that cannot work, in words.
func (c Config) Check() error {
	c.defaults()
	u, err := url.Parse(c.LoginURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost"))) {
		return fmt.Errorf("%w: the Salesforce login URL %q must be an https URL like https://login.salesforce.com", api.ErrInvalid, c.LoginURL)
	}
	if strings.TrimSpace(c.ClientID) == "" {
		return fmt.Errorf("%w: the consumer key (client ID) of your org's Inbox Sync app is missing", api.ErrInvalid)
	}
	if c.RedirectPort < 1 || c.RedirectPort > 65535 {
		return fmt.Errorf("%w: the redirect port %d is not a port number", api.ErrInvalid, c.RedirectPort)
	}
	if v := strings.TrimPrefix(c.APIVersion, "v"); !strings.HasSuffix(v, ".0") || v == c.APIVersion {
		return fmt.Errorf("%w: the API version %q is not like v64.0", api.ErrInvalid, c.APIVersion)
	} else if _, err := strconv.Atoi(strings.TrimSuffix(v, ".0")); err != nil {
		return fmt.Errorf("%w: the API version %q is not like v64.0", api.ErrInvalid, c.APIVersion)
	}
	return nil
}

// RedirectURI is the callback URL to register in the org's External
// Client App: Salesforce matches it exactly.
func (c Config) RedirectURI() string {
	c.defaults()
	return "http://localhost:" + strconv.Itoa(c.RedirectPort) + "/callback"
}

func (c *Config) oauth(clientSecret string) *auth.Config {
	oc := &auth.Config{
		ClientID:     c.ClientID,
		ClientSecret: clientSecret,
		Endpoint: auth.Endpoint{
			AuthURL:  c.LoginURL + "/services/oauth2/authorize",
			TokenURL: c.LoginURL + "/services/oauth2/token",
		},
		Scopes:       Scopes,
		RedirectHost: "localhost",
		RedirectPort: c.RedirectPort,
		RedirectPath: "/callback",
		// Salesforce knows no response_mode; token requests carry no scope.
		AuthParams:   url.Values{"response_mode": nil},
		NoTokenScope: true,
		Explain:      explainOAuth,
		OpenBrowser:  c.OpenBrowser,
		Now:          c.Now,
	}
	oc.HTTPClient = c.HTTPClient
	return oc
}

// explainOAuth words Salesforce's OAuth errors.
func explainOAuth(te *auth.TokenError) string {
	d := strings.ToLower(te.Description)
	switch {
	case strings.Contains(d, "app must be installed into org"):
		return "Your Salesforce administrator must install the Inbox Sync app in your org (Setup → External Client App Manager) before you can connect."
	case te.Code == "invalid_grant" && strings.Contains(d, "expired access/refresh token"):
		return "Salesforce no longer accepts Inbox Sync's sign-in (it expired or was revoked): sign in to Salesforce again."
	case te.Code == "invalid_grant" && strings.Contains(d, "ip restricted"):
		return "Salesforce refuses sign-ins from this network (IP restrictions): ask your Salesforce administrator."
	case te.Code == "invalid_grant":
		return "Salesforce no longer accepts Inbox Sync's sign-in: sign in to Salesforce again."
	case te.Code == "redirect_uri_mismatch":
		return "The callback URL registered in your org's Inbox Sync app differs from the one Inbox Sync uses: register it exactly."
	case te.Code == "invalid_client_id" || te.Code == "invalid_client":
		return "Salesforce does not know this consumer key (client ID): check it in your org's Inbox Sync app."
	}
	return ""
}

// classifyOAuth turns errors auth does not class as Salesforce needs: an
// app that is not installed in the org cannot be used until an admin acts,
// then the user signs in again.
func classifyOAuth(err error) error {
	var te *auth.TokenError
	if errors.As(err, &te) && strings.Contains(strings.ToLower(te.Description), "app must be installed into org") {
		return provider.GrantGone(explainOAuth(te), te)
	}
	return err
}

// grant is what the keyring keeps of a Salesforce connection, under the
// connection's account name and secret.KeyToken. Only RefreshToken and
// ClientSecret are secrets; the rest is kept with them so that one entry
// describes the connection.
type grant struct {
	V            int       `json:"v"`
	RefreshToken string    `json:"refresh_token"`
	ClientSecret string    `json:"client_secret,omitempty"`
	InstanceURL  string    `json:"instance_url"`
	UserID       string    `json:"user_id"`
	OrgID        string    `json:"org_id"`
	Issued       time.Time `json:"issued,omitzero"`
}

const grantVersion = 1

func (g grant) encode() string {
	g.V = grantVersion
	b, _ := json.Marshal(g)
	return string(b)
}

func decodeGrant(s string) (grant, error) {
	var g grant
	if err := json.Unmarshal([]byte(s), &g); err != nil || g.V != grantVersion || g.RefreshToken == "" || g.InstanceURL == "" {
		return grant{}, auth.ErrBadGrant
	}
	return g, nil
}

// Identity is who and where a connection is signed in.
type Identity struct {
	InstanceURL string `json:"instance_url"`
	UserID      string `json:"user_id"`
	OrgID       string `json:"org_id"`
}

// identity reads the user and org ids from the token answer's id URL
// (https://login.salesforce.com/id/ORGID/USERID).
func identity(extra map[string]string) (Identity, error) {
	id := Identity{InstanceURL: strings.TrimRight(extra["instance_url"], "/")}
	u, err := url.Parse(id.InstanceURL)
	if id.InstanceURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Identity{}, errors.New("the Salesforce token answer has no usable instance_url")
	}
	parts := strings.Split(strings.TrimRight(extra["id"], "/"), "/")
	if n := len(parts); n >= 3 && parts[n-3] == "id" {
		id.OrgID, id.UserID = parts[n-2], parts[n-1]
	}
	if id.UserID == "" {
		return Identity{}, errors.New("the Salesforce token answer has no user id")
	}
	return id, nil
}

// Connect signs the user in to Salesforce in the browser (web server flow
// with PKCE on the fixed callback http://localhost:PORT/callback), stores
// the grant in the keyring under account and returns a client that uses
// it. The keyring write comes before anything uses the new token.
func Connect(ctx context.Context, cfg Config, secrets secret.Store, account string, opts auth.SignInOptions) (*Client, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cfg.defaults()
	tok, err := cfg.oauth(cfg.ClientSecret).SignInBrowser(ctx, opts)
	if err != nil {
		return nil, classifyOAuth(err)
	}
	if tok.RefreshToken == "" {
		return nil, provider.Failed("Salesforce gave no refresh token: the Inbox Sync app in your org must allow the refresh_token scope.", errors.New("no refresh token in the token answer"))
	}
	id, err := identity(tok.Extra)
	if err != nil {
		return nil, provider.Failed("Salesforce's answer to the sign-in was incomplete.", err)
	}
	g := grant{RefreshToken: tok.RefreshToken, ClientSecret: cfg.ClientSecret, InstanceURL: id.InstanceURL, UserID: id.UserID, OrgID: id.OrgID, Issued: cfg.Now()}
	if err := secrets.Set(account, secret.KeyToken, g.encode()); err != nil {
		return nil, fmt.Errorf("saving the Salesforce sign-in to the keyring: %w", err)
	}
	return newClient(cfg, &keyringTokens{secrets: secrets, account: account, grant: g, access: tok.AccessToken}, nil), nil
}
