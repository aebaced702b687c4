package org

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/ews"
	"github.com/inboxsync/inboxsync/sync/provider/gmail"
	"github.com/inboxsync/inboxsync/sync/provider/graph"
)

// Providers of organisation mode's mailboxes.
const (
	ProviderOffice365 = "office365"
	ProviderGmail     = "gmail"
	ProviderExchange  = "exchange"
)

// Microsoft is the organisation's Microsoft 365 app registration. It
// holds no secret: the certificate's key and the client secret stay in
// the files named here, which must be readable by the workers' user alone
// (on every machine a worker runs on).
type Microsoft struct {
	Tenant           string `json:"tenant"`
	ClientID         string `json:"client_id"`
	Certificate      string `json:"certificate,omitempty"`        // PEM file: key + certificate
	ClientSecretFile string `json:"client_secret_file,omitempty"` // file holding the client secret
	Authority        string `json:"authority,omitempty"`
	GraphEndpoint    string `json:"graph_endpoint,omitempty"`
}

// Google is the organisation's Google Workspace service account with
// domain-wide delegation; the key stays in the file named here.
type Google struct {
	ServiceAccount   string `json:"service_account"` // JSON key file
	TokenURL         string `json:"token_url,omitempty"`
	GmailEndpoint    string `json:"gmail_endpoint,omitempty"`
	CalendarEndpoint string `json:"calendar_endpoint,omitempty"`
}

const (
	keyMicrosoft = "credentials.microsoft"
	keyGoogle    = "credentials.google"
	keyExchange  = "credentials.exchange"
)

// store is the part of pgstore the credentials use.
type store interface {
	Setting(ctx context.Context, key string) (string, bool, error)
	SetSetting(ctx context.Context, key, value string) error
}

// SaveMicrosoft checks m (its files included: a key others can read is
// refused) and stores it; paths are made absolute.
func SaveMicrosoft(ctx context.Context, st store, m Microsoft) error {
	if (m.Certificate == "") == (m.ClientSecretFile == "") {
		return fmt.Errorf("%w: give the app's credential: --certificate FILE (recommended) or --client-secret-file FILE", api.ErrInvalid)
	}
	for _, p := range []*string{&m.Certificate, &m.ClientSecretFile} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	if _, err := m.app(nil); err != nil {
		return err
	}
	return save(ctx, st, keyMicrosoft, m)
}

// SaveGoogle checks g (its key file included) and stores it.
func SaveGoogle(ctx context.Context, st store, g Google) error {
	abs, err := filepath.Abs(g.ServiceAccount)
	if err != nil {
		return err
	}
	g.ServiceAccount = abs
	if _, err := g.delegation(nil); err != nil {
		return err
	}
	return save(ctx, st, keyGoogle, g)
}

func save(ctx context.Context, st store, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return st.SetSetting(ctx, key, string(b))
}

// LoadMicrosoft returns the stored app registration (ok false: none).
func LoadMicrosoft(ctx context.Context, st store) (Microsoft, bool, error) {
	var m Microsoft
	ok, err := load(ctx, st, keyMicrosoft, &m)
	return m, ok, err
}

// LoadGoogle returns the stored service account (ok false: none).
func LoadGoogle(ctx context.Context, st store) (Google, bool, error) {
	var g Google
	ok, err := load(ctx, st, keyGoogle, &g)
	return g, ok, err
}

func load(ctx context.Context, st store, key string, v any) (bool, error) {
	s, ok, err := st.Setting(ctx, key)
	if err != nil || !ok || s == "" {
		return false, err
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return false, fmt.Errorf("reading the stored %s: %w", key, err)
	}
	return true, nil
}

// app reads m's credential files and makes the app.
func (m Microsoft) app(hc *http.Client) (*graph.App, error) {
	cfg := graph.AppConfig{Tenant: m.Tenant, ClientID: m.ClientID, Authority: m.Authority, Endpoint: m.GraphEndpoint, HTTPClient: hc}
	var err error
	if m.Certificate != "" {
		if cfg.Certificate, err = graph.LoadCertificate(m.Certificate); err != nil {
			return nil, err
		}
	} else if cfg.ClientSecret, err = graph.LoadClientSecret(m.ClientSecretFile); err != nil {
		return nil, err
	}
	return graph.NewApp(cfg)
}

// delegation reads g's key file and makes the delegation.
func (g Google) delegation(hc *http.Client) (*gmail.Delegation, error) {
	key, err := gmail.LoadServiceAccount(g.ServiceAccount)
	if err != nil {
		return nil, err
	}
	return gmail.NewDelegation(gmail.DelegationConfig{Key: key, TokenURL: g.TokenURL, GmailEndpoint: g.GmailEndpoint,
		CalendarEndpoint: g.CalendarEndpoint, HTTPClient: hc})
}

// Credentials opens mailboxes with the organisation's stored credentials.
// It implements Opener. The credential files are read once, when first
// needed.
type Credentials struct {
	// Store holds the credentials' settings.
	Store store
	// HTTPClient makes every request to Microsoft and Google (nil:
	// http.DefaultClient).
	HTTPClient *http.Client

	// EWSRootCAs and EWSDial replace the system trust store and the
	// dialer for Exchange (tests; nil in the product).
	EWSRootCAs *x509.CertPool
	EWSDial    func(ctx context.Context, network, addr string) (net.Conn, error)
	// EWSResolver looks up Autodiscover's SRV records (nil:
	// net.DefaultResolver).
	EWSResolver ews.Resolver

	mu    sync.Mutex
	app   *graph.App
	deleg *gmail.Delegation
	imp   *ews.Impersonation
	ex    Exchange // the settings imp was made from
}

var _ Opener = (*Credentials)(nil)

// Open implements Opener.
func (c *Credentials) Open(ctx context.Context, mb pgstore.Mailbox) (provider.Provider, error) {
	switch mb.Provider {
	case ProviderOffice365:
		app, err := c.microsoft(ctx)
		if err != nil {
			return nil, err
		}
		return app.Mailbox(mb.Address)
	case ProviderGmail:
		d, err := c.google(ctx)
		if err != nil {
			return nil, err
		}
		return d.Mailbox(mb.Address)
	case ProviderExchange:
		im, err := c.exchange(ctx)
		if err != nil {
			return nil, err
		}
		return im.Mailbox(ctx, mb.Address)
	}
	return nil, provider.Failed(fmt.Sprintf("This build cannot sync %s mailboxes.", mb.Provider), nil)
}

// OrganisationWide implements Opener.
func (c *Credentials) OrganisationWide(err error) bool {
	return errors.Is(err, graph.ErrAppRefused) || errors.Is(err, gmail.ErrDelegationRefused) ||
		errors.Is(err, ews.ErrServiceAccountRefused) || errors.Is(err, errNoCredentials)
}

// errNoCredentials: the organisation has not registered credentials for a
// mailbox's provider.
var errNoCredentials = errors.New("no credentials")

// CheckGoogle asks Google for a token as user, to check the delegation.
func (c *Credentials) CheckGoogle(ctx context.Context, user string) error {
	d, err := c.google(ctx)
	if err != nil {
		return err
	}
	return d.Check(ctx, user)
}

// App returns the Microsoft app (for `org mailboxes import --group`).
func (c *Credentials) App(ctx context.Context) (*graph.App, error) { return c.microsoft(ctx) }

func (c *Credentials) microsoft(ctx context.Context) (*graph.App, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.app != nil {
		return c.app, nil
	}
	m, ok, err := LoadMicrosoft(ctx, c.Store)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, provider.Failed("The organisation has no Microsoft 365 app registered: run `inboxsync org credentials microsoft`.", errNoCredentials)
	}
	if c.app, err = m.app(c.HTTPClient); err != nil {
		return nil, provider.Failed("The organisation's Microsoft 365 credentials can't be used: "+err.Error(), errors.Join(errNoCredentials, err))
	}
	return c.app, nil
}

func (c *Credentials) google(ctx context.Context) (*gmail.Delegation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deleg != nil {
		return c.deleg, nil
	}
	g, ok, err := LoadGoogle(ctx, c.Store)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, provider.Failed("The organisation has no Google Workspace service account registered: run `inboxsync org credentials google`.", errNoCredentials)
	}
	if c.deleg, err = g.delegation(c.HTTPClient); err != nil {
		return nil, provider.Failed("The organisation's Google Workspace credentials can't be used: "+err.Error(), errors.Join(errNoCredentials, err))
	}
	return c.deleg, nil
}

// HTTPClient returns the client a worker running concurrency sessions
// makes its requests with: its User-Agent names the program, its version
// and the worker (host and process), so that an administrator reading
// Microsoft's or Google's logs, or a proxy's, can tell which worker asked.
//
// It keeps a connection open for every request the sessions may have in
// flight at once (each session up to graph.MaxInFlight, all to the same
// host), where http.DefaultTransport keeps 2 per host: with more, each
// request over the second would open a new TLS connection, whose
// handshake costs more CPU than the request, on both sides.
func HTTPClient(version, worker string, concurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(concurrency, 1) * graph.MaxInFlight
	t.MaxIdleConns = max(t.MaxIdleConns, 2*t.MaxIdleConnsPerHost)
	return &http.Client{Transport: userAgent{base: t, value: "InboxSync/" + version + " (organisation worker " + worker + ")"}}
}

type userAgent struct {
	base  http.RoundTripper
	value string
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.value)
	return u.base.RoundTrip(r)
}
