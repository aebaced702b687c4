package ews

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/go-ntlmssp"

	"github.com/inboxsync/inboxsync/sync/provider"
)

// Auth schemes, as kept in an account's "auth" setting.
const (
	// AuthNTLM is NTLMv2 over HTTP/1.1 (connection-based: the handshake
	// authenticates the TCP connection, which is then kept alive).
	AuthNTLM = "ntlm"
	// AuthBasic is HTTP Basic, sent only over https.
	AuthBasic = "basic"
)

// Reasons shown to the user.
const (
	reasonRejected   = "The Exchange server refused the password."
	reasonUntrusted  = "The Exchange server's certificate isn't trusted by this computer, so Inbox Sync did not send your password. Ask your administrator to install your organisation's certificate authority in the system trust store."
	reasonWrongName  = "The Exchange server's certificate isn't trusted: it was issued for a different server name than the one in the EWS URL."
	reasonNoAuth     = "The Exchange server asks for a sign-in method Inbox Sync does not support (only NTLM and Basic are supported)."
	reasonNotHTTPS   = "The Exchange server does not speak https at this address."
	defaultThrottle  = time.Minute
	maxResponseBytes = 64 << 20
)

// NewTransport returns the HTTP/1.1-only transport the provider uses. NTLM
// authenticates a connection, which HTTP/2's multiplexing breaks, so HTTP/2
// stays off. roots nil means the system trust store (which honours
// SSL_CERT_FILE and SSL_CERT_DIR on Unix); there is deliberately no way to
// skip certificate checks. dial nil means the ordinary network dialer;
// tests pass one that maps host names to an emulator.
func NewTransport(roots *x509.CertPool, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   20 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     false,
	}
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	return t
}

// authTransport adds credentials to every request. With a known scheme it
// authenticates directly (Basic preemptively; NTLM through go-ntlmssp,
// which first tries the already-authenticated connection). With no scheme
// it lets the server's WWW-Authenticate challenge choose, preferring NTLM,
// and remembers what was used.
type authTransport struct {
	base            http.RoundTripper
	login, password string
	scheme          string

	mu     sync.Mutex
	chosen string
	// sent counts requests that carried credentials (Basic, or an NTLM
	// AUTHENTICATE message): each is a login attempt as far as Active
	// Directory's lockout counter is concerned.
	sent atomic.Int64
}

var errInsecure = errors.New("refusing to send credentials over plain http")

func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, errInsecure
	}
	req = req.Clone(req.Context())
	switch a.scheme {
	case AuthBasic:
		req.SetBasicAuth(a.login, a.password)
		a.sent.Add(1)
		return a.base.RoundTrip(req)
	case AuthNTLM:
		req.SetBasicAuth(a.login, a.password)
		return ntlmssp.Negotiator{RoundTripper: recorder{a}}.RoundTrip(req)
	}
	req.SetBasicAuth(a.login, a.password)
	return ntlmssp.Negotiator{RoundTripper: recorder{a}, AllowBasicAuth: true}.RoundTrip(req)
}

// Chosen returns the scheme the server's challenge led to, or "".
func (a *authTransport) Chosen() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.scheme != "" {
		return a.scheme
	}
	return a.chosen
}

// recorder notes which scheme went out on the wire.
type recorder struct{ a *authTransport }

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	h := req.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	switch {
	case scheme == "Basic":
		r.a.mu.Lock()
		r.a.chosen = AuthBasic
		r.a.mu.Unlock()
		r.a.sent.Add(1)
	case scheme == "NTLM" || scheme == "Negotiate":
		r.a.mu.Lock()
		r.a.chosen = AuthNTLM
		r.a.mu.Unlock()
		// A Type 3 (AUTHENTICATE) message is long; Type 1 is ~40 bytes.
		if len(token) > 100 {
			r.a.sent.Add(1)
		}
	}
	return r.a.base.RoundTrip(req)
}

// client sends SOAP requests to one EWS endpoint.
type client struct {
	url  string
	host string
	auth *authTransport
	hc   *http.Client
	// requests counts HTTP exchanges started by call (handshake legs not
	// included).
	requests atomic.Int64
	// imp is the service account's impersonation this client belongs to
	// (nil on the desktop); as is the mailbox it impersonates ("" for the
	// service account's own calls).
	imp *Impersonation
	as  string
	// probe: this client's session was let through to try a refused
	// password again.
	probe bool
}

func newClient(ewsURL, login, password, scheme string, base http.RoundTripper) *client {
	u, _ := url.Parse(ewsURL)
	host := ewsURL
	if u != nil {
		host = u.Host
	}
	at := &authTransport{base: base, login: login, password: password, scheme: scheme}
	return &client{
		url:  ewsURL,
		host: host,
		auth: at,
		hc: &http.Client{
			Transport: at,
			// EWS never redirects a POST in a way we should follow blindly.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (c *client) close() {
	if t, ok := c.auth.base.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// call posts a SOAP request and returns the decoded envelope, or a
// classified error (docs/architecture.md §3).
func (c *client) call(ctx context.Context, body []byte) (*soapEnvelope, error) {
	if c.imp != nil {
		// A session under way when another's request was refused sends
		// the password no more: each try counts towards the lockout.
		if err := c.imp.held(c.probe); err != nil {
			return nil, err
		}
	}
	if c.as != "" {
		body = withImpersonation(body, c.as)
	}
	c.requests.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, provider.Failed("The EWS URL is not valid.", err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	if c.as != "" {
		// Exchange routes an impersonated request to the mailbox's server
		// by this header (Microsoft: "Impersonation and EWS in Exchange").
		req.Header.Set("X-AnchorMailbox", c.as)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	env, err := c.interpret(resp, data)
	if c.imp != nil && resp.StatusCode != http.StatusUnauthorized {
		c.imp.accepted()
	}
	return env, c.classify(err)
}

func (c *client) interpret(resp *http.Response, data []byte) (*soapEnvelope, error) {
	status := resp.StatusCode
	switch {
	case status == http.StatusOK:
		env, err := parseEnvelope(data)
		if err != nil {
			return nil, provider.Failed("The Exchange server's answer could not be read.", err)
		}
		if env.Body.Fault != nil {
			return nil, faultError(env.Body.Fault, status)
		}
		return env, nil
	case status == http.StatusUnauthorized:
		cause := fmt.Errorf("HTTP 401 from %s", c.host)
		if c.auth.Chosen() == "" {
			return nil, provider.Failed(reasonNoAuth, fmt.Errorf("%w (WWW-Authenticate: %s)", cause, strings.Join(resp.Header.Values("Www-Authenticate"), ", ")))
		}
		if c.imp != nil {
			return nil, c.imp.refuse(cause)
		}
		return nil, provider.Rejected(reasonRejected, cause)
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests || status == http.StatusInternalServerError:
		if env, err := parseEnvelope(data); err == nil && env.Body.Fault != nil {
			return nil, faultError(env.Body.Fault, status)
		}
		if status == http.StatusInternalServerError {
			return nil, provider.Failed("The Exchange server answered with an internal error (HTTP 500).", fmt.Errorf("HTTP 500 from %s", c.host))
		}
		return nil, provider.Throttled(retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("HTTP %d from %s", status, c.host))
	case status == http.StatusForbidden:
		return nil, provider.Failed("The Exchange server does not allow this account to use Exchange Web Services (HTTP 403).", fmt.Errorf("HTTP 403 from %s", c.host))
	case status == http.StatusNotFound:
		return nil, provider.Failed("There is no Exchange Web Services endpoint at "+c.url+" (HTTP 404); check the EWS URL.", fmt.Errorf("HTTP 404 from %s", c.host))
	case status >= 300 && status < 400:
		return nil, provider.Failed(fmt.Sprintf("The EWS URL redirects elsewhere (%s); enter the final address as the EWS URL.", resp.Header.Get("Location")), fmt.Errorf("HTTP %d from %s", status, c.host))
	}
	return nil, provider.Failed(fmt.Sprintf("The Exchange server answered with an error (HTTP %d).", status), fmt.Errorf("HTTP %d from %s", status, c.host))
}

// retryAfter reads a Retry-After header (seconds or an HTTP date).
func retryAfter(h string) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return defaultThrottle
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
		return time.Second
	}
	return defaultThrottle
}

// faultError classifies a SOAP fault.
func faultError(f *soapFault, status int) error {
	code := f.Detail.ResponseCode
	if code == "" {
		code = f.Code
		if i := strings.LastIndexByte(code, ':'); i >= 0 {
			code = code[i+1:]
		}
	}
	msg := strings.TrimSpace(f.Detail.Message)
	if msg == "" {
		msg = strings.TrimSpace(f.String)
	}
	return codeError(code, msg, f.Detail.MessageXML, status)
}

// codeErr is an EWS response code that is not NoError, as the cause of a
// classified error.
type codeErr struct {
	code, msg string
	status    int
}

func (e *codeErr) Error() string { return fmt.Sprintf("EWS %s (HTTP %d): %s", e.code, e.status, e.msg) }

// codeError classifies an EWS response code that is not NoError.
func codeError(code, msg string, mx messageXML, status int) error {
	cause := &codeErr{code: code, msg: msg, status: status}
	switch code {
	case codeServerBusy:
		d := mx.backOff()
		if d <= 0 {
			d = defaultThrottle
		}
		return provider.Throttled(d, cause)
	case codeInvalidSyncStateData:
		return provider.CursorInvalid(cause)
	case "ErrorNonExistentMailbox", "ErrorMailboxMoveInProgress", "ErrorMailboxStoreUnavailable":
		return provider.Failed("The Exchange server could not open the mailbox.", cause)
	case "ErrorAccessDenied":
		return provider.Failed("The Exchange server denied access to the mailbox.", cause)
	}
	return provider.Failed("The Exchange server answered with an error.", cause)
}

// transportError classifies a failed HTTP exchange.
func transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &host):
		return provider.Failed(reasonWrongName, err)
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &verify):
		return provider.Failed(reasonUntrusted, err)
	case errors.Is(err, errInsecure):
		return provider.Failed("The EWS URL must start with https://.", err)
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return provider.Failed(reasonNotHTTPS, err)
	}
	return provider.Offline(err)
}
