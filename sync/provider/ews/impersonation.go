package ews

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inboxsync/inboxsync/sync/provider"
)

// Organisation mode reads every Exchange on-premises mailbox of a company
// with one service account that holds Exchange's ApplicationImpersonation
// role: each request names the mailbox in the ExchangeImpersonation SOAP
// header (ConnectingSID/PrimarySmtpAddress) and in the X-AnchorMailbox HTTP
// header, which Exchange routes by ("Impersonation and EWS in Exchange",
// "How to: Identify the account to impersonate", learn.microsoft.com).

// ErrServiceAccountRefused (errors.Is) marks Exchange refusing the service
// account's own sign-in (HTTP 401: a changed or expired password, a locked
// or disabled account): a problem of the organisation, not of a mailbox.
// Such an error is a provider.Error of class Rejected with the reason in
// words.
var ErrServiceAccountRefused = errors.New("the Exchange service account was refused")

// ErrMailboxRefused (errors.Is) marks Exchange refusing to let the service
// account read one mailbox (ErrorImpersonateUserDenied,
// ErrorImpersonationDenied, ErrorNonExistentMailbox). Such an error is a
// provider.Error of class GrantGone, with the reason in words.
var ErrMailboxRefused = errors.New("the Exchange server refused impersonating the mailbox")

// DefaultRetryRefused is how long an Impersonation whose password Exchange
// refused waits before it tries the same password again: each try is a
// failed sign-in that counts towards the account's lockout in Active
// Directory, so 2,000 mailboxes must not try it 2,000 times.
const DefaultRetryRefused = 30 * time.Minute

// ImpersonationConfig configures an Impersonation.
type ImpersonationConfig struct {
	// Login is the service account, DOMAIN\user or user@domain.
	Login string
	// Password is the service account's password.
	Password string
	// PasswordSource says in words where the password is kept ("the file
	// /etc/inboxsync/exchange-password"), for the reason shown when
	// Exchange refuses it.
	PasswordSource string
	// Auth is AuthNTLM or AuthBasic; empty lets the server's challenge
	// choose (NTLM preferred).
	Auth string
	// URL is the EWS endpoint of every mailbox; empty runs Autodiscover
	// once per mailbox, with the service account's credentials, and keeps
	// what it found for the Impersonation's life.
	URL string
	// RootCAs and Dial are NewTransport's: nil means the system trust
	// store and the ordinary dialer. Each mailbox's provider (and each
	// Autodiscover run) has a transport of its own: an NTLM handshake
	// authenticates one connection, and the legs of concurrent
	// handshakes on a shared pool could cross connections, which Exchange
	// answers with 401 — a false refusal of the service account.
	RootCAs *x509.CertPool
	Dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	// UserAgent, when set, is every request's User-Agent.
	UserAgent string
	// Resolver looks up Autodiscover's SRV record (nil: net.DefaultResolver).
	Resolver Resolver
	// AutodiscoverBudget is the time one mailbox's Autodiscover may take
	// (DefaultAutodiscoverBudget when 0).
	AutodiscoverBudget time.Duration
	// PageSize and BatchSize are as in Config.
	PageSize, BatchSize int
	// RetryRefused is how long a refused password is not tried again
	// (DefaultRetryRefused when 0); a new password (SetPassword) is tried
	// at once.
	RetryRefused time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Impersonation is a service account reading mailboxes by impersonation.
// It is safe for concurrent use; each of its providers is for one session
// (sequential requests) and has its own connections.
type Impersonation struct {
	cfg ImpersonationConfig

	mu       sync.Mutex
	password string
	urls     map[string]string // mailbox → EWS URL found by Autodiscover
	refused  time.Time         // when Exchange last refused the password; zero: not refused
	cause    error             // what it answered then

	discoveries atomic.Int64
}

// NewImpersonation checks cfg (a login of the right form, a password, an
// https URL when one is given) and returns the Impersonation. It makes no
// network call.
func NewImpersonation(cfg ImpersonationConfig) (*Impersonation, error) {
	cfg.Login = strings.TrimSpace(cfg.Login)
	if err := checkLogin(cfg.Login); err != nil {
		return nil, err
	}
	if cfg.Password == "" {
		return nil, fmt.Errorf("the Exchange service account %s has no password", cfg.Login)
	}
	cfg.URL = strings.TrimSpace(cfg.URL)
	if cfg.URL != "" {
		if err := checkURL(cfg.URL); err != nil {
			return nil, err
		}
	}
	switch cfg.Auth {
	case "", AuthNTLM, AuthBasic:
	default:
		return nil, fmt.Errorf("the Exchange sign-in method must be %s or %s, not %q", AuthNTLM, AuthBasic, cfg.Auth)
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.AutodiscoverBudget <= 0 {
		cfg.AutodiscoverBudget = DefaultAutodiscoverBudget
	}
	if cfg.RetryRefused <= 0 {
		cfg.RetryRefused = DefaultRetryRefused
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Impersonation{cfg: cfg, password: cfg.Password, urls: map[string]string{}}, nil
}

// transport returns a new transport (see ImpersonationConfig.RootCAs).
func (im *Impersonation) transport() http.RoundTripper {
	var t http.RoundTripper = NewTransport(im.cfg.RootCAs, im.cfg.Dial)
	if im.cfg.UserAgent != "" {
		t = userAgent{base: t, value: im.cfg.UserAgent}
	}
	return t
}

// userAgent sets the User-Agent of every request.
type userAgent struct {
	base  http.RoundTripper
	value string
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.value)
	return u.base.RoundTrip(r)
}

func (u userAgent) CloseIdleConnections() { closeIdle(u.base) }

func closeIdle(t http.RoundTripper) {
	if c, ok := t.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// checkLogin accepts DOMAIN\user and user@domain.
func checkLogin(login string) error {
	switch {
	case login == "":
		return errors.New(`the Exchange service account needs a login: DOMAIN\user or user@domain`)
	case strings.Contains(login, `\`):
		dom, user, _ := strings.Cut(login, `\`)
		if dom == "" || user == "" || strings.Contains(user, `\`) {
			return fmt.Errorf(`the login %q is not of the form DOMAIN\user`, login)
		}
	case !strings.Contains(login, "@"):
		return fmt.Errorf(`the login %q must be DOMAIN\user or user@domain`, login)
	}
	return nil
}

// Login returns the service account's login.
func (im *Impersonation) Login() string { return im.cfg.Login }

// SetPassword replaces the password (the admin put a new one in its file):
// when it differs, a refusal of the old one is forgotten and the next
// request tries the new one at once.
func (im *Impersonation) SetPassword(pw string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if pw == "" || pw == im.password {
		return
	}
	im.password = pw
	im.refused, im.cause = time.Time{}, nil
}

// Discoveries returns how many Autodiscover runs the Impersonation made.
func (im *Impersonation) Discoveries() int64 { return im.discoveries.Load() }

// Mailbox returns a provider reading the mailbox address (its primary SMTP
// address) as the service account. Without a fixed URL it runs
// Autodiscover for the address the first time. Its errors: the service
// account refused (ErrServiceAccountRefused, for RetryRefused after a
// refusal, without asking Exchange again), Autodiscover finding nothing (a
// plain failure with what it tried), offline.
func (im *Impersonation) Mailbox(ctx context.Context, address string) (*Provider, error) {
	address = strings.TrimSpace(address)
	if address == "" || !strings.Contains(address, "@") {
		return nil, provider.Failed(fmt.Sprintf("%q is not a mailbox address.", address), nil)
	}
	probe, err := im.gate()
	if err != nil {
		return nil, err
	}
	u, err := im.ewsURL(ctx, address)
	if err != nil {
		return nil, err
	}
	p := im.provider(u, address)
	p.c.probe = probe
	return p, nil
}

func (im *Impersonation) provider(u, address string) *Provider {
	im.mu.Lock()
	pw := im.password
	im.mu.Unlock()
	pageSize, batchSize := im.cfg.PageSize, im.cfg.BatchSize
	if pageSize <= 0 || pageSize > DefaultPageSize {
		pageSize = DefaultPageSize
	}
	if batchSize <= 0 {
		batchSize = DefaultBatchSize
	}
	c := newClient(u, im.cfg.Login, pw, im.cfg.Auth, im.transport())
	c.imp, c.as = im, address
	return &Provider{c: c, pageSize: pageSize, batchSize: batchSize}
}

// Check proves the set-up for one mailbox: the service account's password,
// the EWS URL (Autodiscover when none is fixed) and the right to
// impersonate address, with one impersonated ResolveNames call.
func (im *Impersonation) Check(ctx context.Context, address string) error {
	p, err := im.Mailbox(ctx, address)
	if err != nil {
		return err
	}
	env, err := p.c.call(ctx, resolveNamesRequest(address))
	if err != nil {
		return err
	}
	if env.Body.ResolveNames == nil {
		return provider.Failed("The Exchange server's answer could not be read.", errors.New("ResolveNames: no response"))
	}
	return nil
}

// CheckLogin proves the service account's password at the fixed URL with
// one ResolveNames call of its own login, impersonating nobody.
func (im *Impersonation) CheckLogin(ctx context.Context) error {
	if im.cfg.URL == "" {
		return errors.New("checking the service account alone needs the EWS URL")
	}
	probe, err := im.gate()
	if err != nil {
		return err
	}
	p := im.provider(im.cfg.URL, "")
	p.c.probe = probe
	entry := im.cfg.Login
	if _, user, ok := strings.Cut(entry, `\`); ok {
		entry = user
	}
	_, err = p.c.call(ctx, resolveNamesRequest(entry))
	return err
}

// ewsURL returns the EWS URL of address: the fixed one, the one found
// before, or Autodiscover's.
func (im *Impersonation) ewsURL(ctx context.Context, address string) (string, error) {
	if im.cfg.URL != "" {
		return im.cfg.URL, nil
	}
	key := strings.ToLower(address)
	im.mu.Lock()
	u, ok := im.urls[key]
	pw := im.password
	im.mu.Unlock()
	if ok {
		return u, nil
	}
	im.discoveries.Add(1)
	actx, cancel := context.WithTimeout(ctx, im.cfg.AutodiscoverBudget)
	defer cancel()
	t := im.transport()
	defer closeIdle(t)
	ad := &autodiscoverer{login: im.cfg.Login, password: pw, base: t, resolver: im.cfg.Resolver}
	d, err := ad.discover(actx, address)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if ad.unauthorized > 0 {
			// Nothing was found and an endpoint refused the password:
			// the likely cause is the service account's, and going on
			// would try the password at every endpoint for every
			// mailbox.
			return "", im.refuse(fmt.Errorf("autodiscover for %s: %w", address, err))
		}
		return "", err
	}
	im.mu.Lock()
	im.urls[key] = d.URL
	im.mu.Unlock()
	return d.URL, nil
}

// gate returns the refusal while the refused password must not be tried
// again. After RetryRefused it lets one session through as the probe
// (probe true) and holds the others for another period.
func (im *Impersonation) gate() (probe bool, err error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.refused.IsZero() {
		return false, nil
	}
	now := im.cfg.Now()
	if now.Sub(im.refused) < im.cfg.RetryRefused {
		return false, im.refusalLocked(im.cause)
	}
	im.refused = now
	return true, nil
}

// held returns the refusal when a request must not go out: the password
// was refused and the request is not the probe's.
func (im *Impersonation) held(probe bool) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.refused.IsZero() || probe {
		return nil
	}
	return im.refusalLocked(im.cause)
}

// refuse records that Exchange refused the password and returns the error.
func (im *Impersonation) refuse(cause error) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.refused, im.cause = im.cfg.Now(), cause
	return im.refusalLocked(cause)
}

// accepted records that Exchange accepted the service account.
func (im *Impersonation) accepted() {
	im.mu.Lock()
	im.refused, im.cause = time.Time{}, nil
	im.mu.Unlock()
}

func (im *Impersonation) refusalLocked(cause error) error {
	where := im.cfg.PasswordSource
	if where == "" {
		where = "its file or environment value"
	}
	reason := fmt.Sprintf("Exchange refused the password of the service account %s: it may have been changed or have expired, or the account is locked or disabled. Put the current password in %s; sync goes on by itself (the old password is tried again every %s at most, so as not to lock the account).",
		im.cfg.Login, where, humanWait(im.cfg.RetryRefused))
	if cause == nil {
		cause = errors.New("HTTP 401")
	}
	return provider.Rejected(reason, fmt.Errorf("%w: %w", ErrServiceAccountRefused, cause))
}

func humanWait(d time.Duration) string {
	if d%time.Minute == 0 && d < 2*time.Hour {
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return d.String()
}

// classify words the errors of an impersonated mailbox for the admin.
func (c *client) classify(err error) error {
	var ce *codeErr
	if err == nil || c.as == "" || !errors.As(err, &ce) {
		return err
	}
	login := c.auth.login
	var reason string
	switch ce.code {
	case "ErrorImpersonateUserDenied":
		reason = fmt.Sprintf("Exchange does not let the service account %s impersonate %s (ErrorImpersonateUserDenied): the mailbox is outside the management scope of its ApplicationImpersonation role assignment. Add it to the scope (docs/org.md, Exchange on-premises).", login, c.as)
	case "ErrorImpersonationDenied":
		reason = fmt.Sprintf("Exchange refused impersonation by the service account %s for %s (ErrorImpersonationDenied): the account has no ApplicationImpersonation role assignment that covers this mailbox (New-ManagementRoleAssignment -Role ApplicationImpersonation, docs/org.md).", login, c.as)
	case "ErrorNonExistentMailbox":
		reason = fmt.Sprintf("Exchange has no mailbox for %s (ErrorNonExistentMailbox): the address is not a mailbox's primary SMTP address in this Exchange organisation, or the mailbox was removed or moved to Exchange Online (add those with --provider office365).", c.as)
	default:
		return err
	}
	return provider.GrantGone(reason, fmt.Errorf("%w: %w", ErrMailboxRefused, ce))
}

// withImpersonation adds the ExchangeImpersonation header naming address
// to a request made by envelope.
func withImpersonation(body []byte, address string) []byte {
	h := `<soap:Header><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>` + esc(address) +
		`</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`
	return bytes.Replace(body, []byte(`<soap:Header>`), []byte(h), 1)
}
