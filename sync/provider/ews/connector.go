package ews

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// Setting keys of an Exchange account (provider.Account.Settings and
// provider.ActivationRequest.Settings). None of them is secret.
const (
	// SettingURL is the EWS endpoint; in a request, an empty value asks
	// for Autodiscover.
	SettingURL = "ews_url"
	// SettingLogin repeats the login the password belongs to.
	SettingLogin = "login"
	// SettingAuth is the scheme the server chose: AuthNTLM or AuthBasic.
	SettingAuth = "auth"
)

// Options adjust a Connector. The zero value is what the shipped app uses.
type Options struct {
	// Dial replaces the network dialer. Tests use it to send every host
	// name (contoso.test, autodiscover.contoso.test …) to an emulator.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// RootCAs replaces the system trust store; nil means the system's
	// (which honours SSL_CERT_FILE). There is no way to skip the check.
	RootCAs *x509.CertPool
	// Resolver looks up Autodiscover's SRV record (default
	// net.DefaultResolver).
	Resolver Resolver
	// AutodiscoverBudget is the total time Autodiscover may take (default
	// DefaultAutodiscoverBudget).
	AutodiscoverBudget time.Duration
	// PageSize overrides MaxChangesReturned (tests, benchmarks).
	PageSize int
}

// Connector connects Exchange accounts and opens providers for them. It
// implements provider.Connector.
type Connector struct {
	opts Options
}

var _ provider.Connector = (*Connector)(nil)

// NewConnector returns a Connector.
func NewConnector(opts Options) *Connector {
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.AutodiscoverBudget <= 0 {
		opts.AutodiscoverBudget = DefaultAutodiscoverBudget
	}
	return &Connector{opts: opts}
}

func (c *Connector) transport() *http.Transport { return NewTransport(c.opts.RootCAs, c.opts.Dial) }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", api.ErrInvalid, fmt.Sprintf(format, args...))
}

// CheckRequest reports the mistakes in an activation request that can be
// found without the network: no login or one of the wrong form, no
// password, an EWS URL that is not https, or neither an EWS URL nor an
// address for Autodiscover. Connect makes the same checks first; a client
// may call it to report them before anything else. The errors match
// api.ErrInvalid.
func CheckRequest(req api.ActivationRequest) error {
	_, _, _, err := checkRequest(req)
	return err
}

// checkRequest checks req and returns its login, mailbox address and EWS
// URL ("" for Autodiscover), trimmed.
func checkRequest(req api.ActivationRequest) (login, email, ewsURL string, err error) {
	login = strings.TrimSpace(req.Login)
	if login == "" {
		return "", "", "", invalid(`an Exchange account needs a login (user@domain or DOMAIN\user)`)
	}
	if strings.Contains(login, `\`) {
		dom, user, _ := strings.Cut(login, `\`)
		if dom == "" || user == "" || strings.Contains(user, `\`) {
			return "", "", "", invalid(`the login %q is not of the form DOMAIN\user`, login)
		}
	}
	if req.Password == "" {
		return "", "", "", invalid("an Exchange account needs a password (on the command line: --password-stdin)")
	}
	email = strings.TrimSpace(req.Email)
	if email == "" && strings.Contains(login, "@") && !strings.Contains(login, `\`) {
		email = login
	}
	ewsURL = strings.TrimSpace(req.Settings[SettingURL])
	switch {
	case ewsURL != "":
		if err := checkURL(ewsURL); err != nil {
			return "", "", "", invalid("%v", err)
		}
	case email == "":
		return "", "", "", invalid(`to find your Exchange server, Inbox Sync needs your email address: sign in with name@company.com as the login (or give --email), or enter the EWS URL (under More ▾, or with --ews-url)`)
	}
	return login, email, ewsURL, nil
}

// Connect checks the login and password against the mailbox and returns
// the account to keep. The EWS URL comes from req.Settings["ews_url"] or,
// when that is empty, from Autodiscover on the address's domain. The
// credentials are checked with one ResolveNames call, which also yields the
// mailbox's primary SMTP address; only after it succeeded is the password
// handed back for the keyring.
func (c *Connector) Connect(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (provider.Connection, error) {
	if progress == nil {
		progress = func(api.ActivationProgress) {}
	}
	login, email, ewsURL, err := checkRequest(req)
	if err != nil {
		return provider.Connection{}, err
	}
	tr := c.transport()
	defer tr.CloseIdleConnections()

	if ewsURL == "" {
		progress(api.ActivationProgress{Message: fmt.Sprintf("Looking for the Exchange server of %s (Autodiscover)…", domainOf(email))})
		actx, cancel := context.WithTimeout(ctx, c.opts.AutodiscoverBudget)
		ad := &autodiscoverer{login: login, password: req.Password, base: tr, resolver: c.opts.Resolver}
		d, err := ad.discover(actx, email)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return provider.Connection{}, ctx.Err()
			}
			return provider.Connection{}, err
		}
		ewsURL = d.URL
		progress(api.ActivationProgress{Message: fmt.Sprintf("Autodiscover found the Exchange server: %s (via %s)", d.URL, d.Via), URL: d.URL})
	}

	cl := newClient(ewsURL, login, req.Password, req.Settings[SettingAuth], tr)
	primary, err := c.resolve(ctx, cl, login, email)
	if err != nil {
		return provider.Connection{}, err
	}
	if email != "" && !strings.EqualFold(email, primary) {
		progress(api.ActivationProgress{Message: fmt.Sprintf("The mailbox's primary address is %s (you entered %s).", primary, email)})
	}
	scheme := cl.auth.Chosen()
	if scheme == "" {
		scheme = AuthNTLM
	}
	return provider.Connection{
		Account: provider.Account{
			ID:       req.Account,
			Login:    login,
			Email:    primary,
			Settings: map[string]string{SettingURL: ewsURL, SettingLogin: login, SettingAuth: scheme},
		},
		Secrets: map[string]string{secret.KeyPassword: req.Password},
	}, nil
}

// resolve makes the one authenticated call of Connect: ResolveNames of the
// address (or the login's user name) in the directory. It proves the
// password (a 401 otherwise) and returns the primary SMTP address, which
// GetFolder could not tell without a second call.
func (c *Connector) resolve(ctx context.Context, cl *client, login, email string) (string, error) {
	entry := email
	if entry == "" {
		entry = login
		if _, user, ok := strings.Cut(login, `\`); ok {
			entry = user
		}
	}
	env, err := cl.call(ctx, resolveNamesRequest(entry))
	if err != nil {
		return "", err
	}
	if env.Body.ResolveNames == nil || len(env.Body.ResolveNames.Messages) == 0 {
		return "", provider.Failed("The Exchange server's answer could not be read.", errors.New("ResolveNames: no response message"))
	}
	m := env.Body.ResolveNames.Messages[0]
	switch m.Code {
	case codeNoError, codeNameMultipleResults:
	case codeNameNoResults:
		if email != "" {
			return email, nil
		}
		return "", invalid("the password is right, but the mailbox address could not be found in the directory: sign in with your email address as the login (or give --email)")
	default:
		return "", cl.classify(codeError(m.Code, m.Text, m.MessageXML, http.StatusOK))
	}
	var smtp []string
	for _, r := range m.Resolutions {
		if r.Mailbox.Address != "" && (r.Mailbox.RoutingType == "" || strings.EqualFold(r.Mailbox.RoutingType, "SMTP")) {
			smtp = append(smtp, r.Mailbox.Address)
		}
	}
	for _, a := range smtp {
		if email != "" && strings.EqualFold(a, email) {
			return a, nil
		}
	}
	if len(smtp) == 1 {
		return smtp[0], nil
	}
	if email != "" {
		return email, nil
	}
	return "", invalid("the password is right, but %q matches several mailboxes: sign in with your email address as the login (or give --email)", entry)
}

// Open returns a provider for a stored account. It makes no network call.
// A password missing from the keyring needs the user, so it is reported as
// provider.GrantGone (straight to re-activation, no login attempts).
func (c *Connector) Open(ctx context.Context, acct provider.Account, secrets secret.Store) (provider.Provider, error) {
	pw, err := secrets.Get(acct.ID, secret.KeyPassword)
	if errors.Is(err, secret.ErrNotFound) {
		return nil, provider.GrantGone("The Exchange password is missing from the keyring; connect the account again.", err)
	}
	if err != nil {
		return nil, err
	}
	login := acct.Login
	if login == "" {
		login = acct.Settings[SettingLogin]
	}
	return New(Config{
		URL:       acct.Settings[SettingURL],
		Login:     login,
		Password:  pw,
		Auth:      acct.Settings[SettingAuth],
		PageSize:  c.opts.PageSize,
		Transport: c.transport(),
	})
}
