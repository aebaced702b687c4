package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/browser"

	"github.com/inboxsync/inboxsync/sync/provider"
)

func init() {
	// pkg/browser copies xdg-open's output to ours; the agent has no use
	// for it.
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
}

// Prompt is a step of a sign-in that needs the user: a link to open, and
// for the device code flow the code to type there.
type Prompt struct {
	Message  string
	URL      string
	UserCode string
}

// SignInOptions tune an interactive sign-in.
type SignInOptions struct {
	// NoBrowser only reports the link; nothing is opened.
	NoBrowser bool
	// Progress receives the steps that need the user. It is called on the
	// calling goroutine, never after the sign-in returned.
	Progress func(Prompt)
	// Timeout ends a browser sign-in without an answer (default 5 minutes).
	Timeout time.Duration
}

func (o *SignInOptions) progress(p Prompt) {
	if o.Progress != nil {
		o.Progress(p)
	}
}

// DefaultTimeout is how long a browser sign-in waits for its answer.
const DefaultTimeout = 5 * time.Minute

// browserOpenTimeout bounds the wait for the browser opener (xdg-open
// blocks until the browser exits on some desktops).
const browserOpenTimeout = 20 * time.Second

// Errors of an interactive sign-in that callers may branch on. The
// returned errors wrap them with words for the user.
var (
	ErrCancelled     = errors.New("sign-in was cancelled")
	ErrTimeout       = errors.New("no answer from the browser")
	ErrStateMismatch = errors.New("the browser's answer does not belong to this sign-in")
	ErrDeclined      = errors.New("sign-in was declined")
	ErrExpired       = errors.New("the sign-in code expired")
)

// Messages of the progress steps.
const (
	MsgBrowser       = "Finish signing in in your browser"
	MsgBrowserFailed = "Could not open a browser: open this link to finish signing in"
	MsgDevice        = "To sign in, open this link on any device and enter the code"
)

// callback is what the loopback listener received.
type callback struct {
	code string
	err  error
}

// listenLoopback listens on one free port (or the fixed port, when not
// 0) on 127.0.0.1 and, unless ipv4Only or the machine has no IPv6, the
// same port on ::1 ("localhost" may resolve to either; a "127.0.0.1"
// redirect needs only the first).
func listenLoopback(ipv4Only bool, fixed int) ([]net.Listener, int, error) {
	var lastErr error
	for range 10 {
		l4, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(fixed)))
		if err != nil {
			if fixed != 0 && errors.Is(err, syscall.EADDRINUSE) {
				return nil, 0, fmt.Errorf("opening the sign-in listener: port %d is in use by another program: close it or choose another redirect port (and register it): %w", fixed, err)
			}
			return nil, 0, fmt.Errorf("opening the sign-in listener: %w", err)
		}
		port := l4.Addr().(*net.TCPAddr).Port
		if ipv4Only {
			return []net.Listener{l4}, port, nil
		}
		l6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
		if err == nil {
			return []net.Listener{l4, l6}, port, nil
		}
		if errors.Is(err, syscall.EADDRINUSE) && fixed == 0 {
			l4.Close()
			lastErr = err
			continue
		}
		// No IPv6 loopback here: 127.0.0.1 alone serves "localhost".
		return []net.Listener{l4}, port, nil
	}
	return nil, 0, fmt.Errorf("opening the sign-in listener: %w", lastErr)
}

const pageTemplate = `<!doctype html><html><head><meta charset="utf-8"><title>Inbox Sync</title>
<style>body{font-family:sans-serif;margin:4em auto;max-width:32em;color:#222}</style></head>
<body><h1>%s</h1><p>%s</p></body></html>`

func writePage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, pageTemplate, html.EscapeString(title), html.EscapeString(text))
}

// AuthCodeURL returns the authorization request URL.
func (c *Config) AuthCodeURL(redirectURI, state, challenge string) string {
	q := url.Values{
		"client_id":             {c.ClientID},
		"response_type":         {"code"},
		"redirect_uri":          {redirectURI},
		"response_mode":         {"query"},
		"scope":                 {strings.Join(c.Scopes, " ")},
		"state":                 {state},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	for k, v := range c.AuthParams {
		if v == nil {
			delete(q, k)
			continue
		}
		q[k] = v
	}
	sep := "?"
	if strings.Contains(c.Endpoint.AuthURL, "?") {
		sep = "&"
	}
	return c.Endpoint.AuthURL + sep + q.Encode()
}

// SignInBrowser runs the authorization code flow with PKCE: it listens on
// a loopback port, reports the authorization link (and opens the browser
// unless opts.NoBrowser), accepts exactly one callback carrying the right
// state, answers it with a short page, closes the listener and redeems the
// code. A wrong state, an error callback, ctx being cancelled or the
// timeout end the attempt; the port is released in every case.
func (c *Config) SignInBrowser(ctx context.Context, opts SignInOptions) (Token, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	host := c.RedirectHost
	if host == "" {
		host = "localhost"
	}
	ls, port, err := listenLoopback(host == "127.0.0.1", c.RedirectPort)
	if err != nil {
		return Token{}, err
	}
	path := c.RedirectPath
	if path == "" {
		path = "/"
	}
	redirectURI := "http://" + net.JoinHostPort(host, strconv.Itoa(port)) + path
	state := randomString(24)
	verifier := newVerifier()
	authURL := c.AuthCodeURL(redirectURI, state, Challenge(verifier))

	results := make(chan callback, 1)
	var once sync.Once
	finished := make(chan struct{})
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if r.URL.Path != path || r.Method != http.MethodGet {
				http.NotFound(w, r)
				return
			}
			if !q.Has("code") && !q.Has("error") && !q.Has("state") {
				writePage(w, http.StatusBadRequest, "Inbox Sync is waiting for the sign-in page", "This page is for the answer of the sign-in page (Microsoft, Google or Salesforce). Close this tab.")
				return
			}
			select {
			case <-finished:
				writePage(w, http.StatusGone, "This sign-in has already ended", "You can close this tab.")
				return
			default:
			}
			var cb callback
			switch {
			case q.Get("state") != state:
				cb.err = fmt.Errorf("%w: close the tab and try again", ErrStateMismatch)
				writePage(w, http.StatusBadRequest, "Sign-in failed", "This answer does not belong to the sign-in Inbox Sync started. Close this tab and try again.")
			case q.Has("error"):
				te := newTokenError(0, q.Get("error"), q.Get("error_description"), nil)
				cb.err = c.callbackError(te)
				writePage(w, http.StatusOK, "Sign-in did not finish", provider.Reason(cb.err)+" You can close this tab.")
			case q.Get("code") == "":
				cb.err = errors.New("the sign-in page answered without an authorization code")
				writePage(w, http.StatusBadRequest, "Sign-in failed", "The answer carried no authorization code. Close this tab and try again.")
			default:
				cb.code = q.Get("code")
				writePage(w, http.StatusOK, "You are signed in", "You can close this tab and return to Inbox Sync.")
			}
			once.Do(func() {
				results <- cb
				close(finished)
			})
		}),
	}
	for _, l := range ls {
		go srv.Serve(l)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		// Shutdown closes only the listeners Serve has taken up; a Serve
		// goroutine that has not started yet would hold its port open a
		// moment longer. The port is free when the sign-in returns.
		for _, l := range ls {
			l.Close()
		}
	}()

	opts.progress(Prompt{Message: MsgBrowser, URL: authURL})
	browserErr := make(chan error, 1)
	if !opts.NoBrowser {
		open := c.OpenBrowser
		if open == nil {
			open = func(_ context.Context, u string) error { return browser.OpenURL(u) }
		}
		octx, cancel := context.WithTimeout(ctx, browserOpenTimeout)
		defer cancel()
		go func() {
			errc := make(chan error, 1)
			go func() { errc <- open(octx, authURL) }()
			select {
			case err := <-errc:
				if err != nil {
					browserErr <- err
				}
			case <-octx.Done():
				// Still running: xdg-open waits for the browser on some
				// desktops. The link was reported anyway.
			}
		}()
	}

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var cb callback
	for waiting := true; waiting; {
		select {
		case cb = <-results:
			waiting = false
		case <-browserErr:
			opts.progress(Prompt{Message: MsgBrowserFailed, URL: authURL})
		case <-timer.C:
			return Token{}, fmt.Errorf("%w within %v: start the sign-in again", ErrTimeout, timeout.Round(time.Second))
		case <-ctx.Done():
			return Token{}, fmt.Errorf("%w: %w", ErrCancelled, ctx.Err())
		}
	}
	if cb.err != nil {
		return Token{}, cb.err
	}
	return c.exchange(ctx, c.tokenForm(url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {cb.code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	}))
}

// callbackError words an error= callback.
func (c *Config) callbackError(te *TokenError) error {
	reason := ""
	if c.Explain != nil {
		reason = c.Explain(te)
	}
	switch te.Code {
	case "access_denied":
		if reason == "" {
			reason = "You declined the sign-in or the permissions in the browser."
		}
		return provider.Failed(reason, fmt.Errorf("%w: %w", ErrDeclined, te))
	case "consent_required", "interaction_required", "login_required", "invalid_grant":
		return c.classify(te, 0)
	case "temporarily_unavailable", "server_error":
		if reason == "" {
			reason = "The sign-in service is busy or down: try again in a few minutes."
		}
		return provider.Failed(reason, te)
	}
	if reason == "" {
		reason = "The sign-in page returned an error."
	}
	return provider.Failed(reason, te)
}

// deviceResponse is the device authorization endpoint's answer.
type deviceResponse struct {
	DeviceCode      string          `json:"device_code"`
	UserCode        string          `json:"user_code"`
	VerificationURI string          `json:"verification_uri"`
	VerificationURL string          `json:"verification_url"` // Google's spelling
	ExpiresIn       json.RawMessage `json:"expires_in"`
	Interval        json.RawMessage `json:"interval"`
	Message         string          `json:"message"`

	Error       string `json:"error"`
	Description string `json:"error_description"`
	ErrorCodes  []int  `json:"error_codes"`
}

// ParseDeviceResponse decodes a device authorization answer.
func ParseDeviceResponse(status int, body []byte) (code, userCode, verifyURL string, expires, interval time.Duration, te *TokenError, err error) {
	var dr deviceResponse
	if jerr := json.Unmarshal(body, &dr); jerr != nil {
		if status != http.StatusOK {
			return "", "", "", 0, 0, newTokenError(status, "", http.StatusText(status), nil), nil
		}
		return "", "", "", 0, 0, nil, fmt.Errorf("reading the device code answer: %w", jerr)
	}
	if dr.Error != "" || status != http.StatusOK {
		return "", "", "", 0, 0, newTokenError(status, dr.Error, dr.Description, dr.ErrorCodes), nil
	}
	verifyURL = dr.VerificationURI
	if verifyURL == "" {
		verifyURL = dr.VerificationURL
	}
	if dr.DeviceCode == "" || dr.UserCode == "" || verifyURL == "" {
		return "", "", "", 0, 0, nil, errors.New("the device code answer lacks a code or link")
	}
	expires = time.Duration(seconds(dr.ExpiresIn)) * time.Second
	if expires <= 0 {
		expires = 15 * time.Minute
	}
	interval = time.Duration(seconds(dr.Interval)) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	return dr.DeviceCode, dr.UserCode, verifyURL, expires, interval, nil, nil
}

// SignInDevice runs the device authorization grant (RFC 8628): it reports
// the link and the code, then polls the token endpoint at the server's
// interval (slower after slow_down) until the user finished, declined, or
// the code expired.
func (c *Config) SignInDevice(ctx context.Context, opts SignInOptions) (Token, error) {
	form := url.Values{"client_id": {c.ClientID}, "scope": {strings.Join(c.Scopes, " ")}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint.DeviceAuthURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Token{}, fmt.Errorf("%w: %w", ErrCancelled, ctx.Err())
		}
		return Token{}, provider.Offline(fmt.Errorf("reaching the sign-in service: %w", redactURLError(err)))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return Token{}, provider.Offline(fmt.Errorf("reading the sign-in service's answer: %w", err))
	}
	deviceCode, userCode, verifyURL, expires, interval, te, err := ParseDeviceResponse(resp.StatusCode, body)
	if err != nil {
		return Token{}, err
	}
	if te != nil {
		return Token{}, c.classify(te, 0)
	}
	opts.progress(Prompt{Message: MsgDevice, URL: verifyURL, UserCode: userCode})

	deadline := c.now().Add(expires)
	poll := url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id":   {c.ClientID},
		"device_code": {deviceCode},
	}
	for {
		if err := c.sleep(ctx, interval); err != nil {
			return Token{}, fmt.Errorf("%w: %w", ErrCancelled, err)
		}
		tok, te, err := c.postToken(ctx, c.Endpoint.TokenURL, poll)
		if err != nil {
			if ctx.Err() != nil {
				return Token{}, fmt.Errorf("%w: %w", ErrCancelled, ctx.Err())
			}
			return Token{}, err
		}
		if te == nil {
			return tok, nil
		}
		switch te.Code {
		case "authorization_pending":
		case "slow_down":
			interval += 5 * time.Second
		case "expired_token", "code_expired":
			return Token{}, provider.Failed("The sign-in code expired before the sign-in finished: start again.", fmt.Errorf("%w: %w", ErrExpired, te))
		case "authorization_declined", "access_denied":
			return Token{}, provider.Failed("The sign-in was declined.", fmt.Errorf("%w: %w", ErrDeclined, te))
		case "bad_verification_code":
			return Token{}, provider.Failed("The sign-in service did not recognise the device code: start again.", te)
		default:
			return Token{}, c.classify(te, te.retryAfter)
		}
		if !c.now().Before(deadline) {
			return Token{}, provider.Failed("The sign-in code expired before the sign-in finished: start again.", ErrExpired)
		}
	}
}
