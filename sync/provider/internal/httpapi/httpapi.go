// Package httpapi is the HTTP layer the REST providers (graph, gmail)
// share: requests with a bearer token, at most a fixed number in flight,
// one renewal of the token when the server refuses it, answers read whole
// up to a bound, transport failures as provider.ClassOffline, and the
// checks of endpoint URLs and settings. What an error answer means stays
// with each provider.
package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/inboxsync/inboxsync/sync/api"

	"github.com/inboxsync/inboxsync/sync/provider"
)

// MaxAnswer bounds what is read of one answer.
const MaxAnswer = 64 << 20

// Tokens hands out access tokens; *auth.TokenSource implements it.
type Tokens interface {
	Token(ctx context.Context) (string, error)
	Invalidate(access string)
}

// StaticToken is a token source for one access token (a Connect's first
// request after sign-in); Invalidate does nothing.
type StaticToken string

// Token returns t.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// Invalidate does nothing: there is no other token.
func (t StaticToken) Invalidate(string) {}

// Client sends one mailbox's requests. Its methods are safe for
// concurrent use.
type Client struct {
	hc       *http.Client
	tokens   Tokens
	sem      chan struct{}
	requests atomic.Int64
}

// NewClient returns a Client that sends through hc (nil:
// http.DefaultClient) with tokens, at most maxInFlight requests at once.
func NewClient(hc *http.Client, tokens Tokens, maxInFlight int) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{hc: hc, tokens: tokens, sem: make(chan struct{}, maxInFlight)}
}

// Requests returns how many HTTP requests the client sent.
func (c *Client) Requests() int64 { return c.requests.Load() }

// CloseIdle closes the idle connections of the client's transport.
func (c *Client) CloseIdle() {
	if t, ok := c.hc.Transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// Request is one call.
type Request struct {
	// Service names the server in error text ("Microsoft Graph", "Gmail").
	Service string
	// Method is the HTTP method; "" means GET.
	Method string
	URL    string
	// Body is sent with every attempt; nil for none.
	Body []byte
	// Header is added to each attempt's request, besides Authorization.
	Header http.Header
	// Wait, when set, is called before each attempt (pacing).
	Wait func(ctx context.Context) error
	// Refused, when set, is asked about every 200 answer: true means the
	// server refused the token all the same (a batch whose parts answered
	// 401), which the first attempt treats as a 401.
	Refused func(Answer) bool
}

// Answer is a server's answer, read whole.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends r with the bearer token, holding one of the in-flight places
// for all its attempts. A 401 answer (or a Refused one) to the first
// attempt invalidates the token and sends r once more with a new one. It
// returns the last answer whatever its status, for the caller to classify;
// the error is ctx's when ctx ended, the token source's, or
// provider.ClassOffline when the server could not be reached or its
// answer not read.
func (c *Client) Do(ctx context.Context, r Request) (Answer, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return Answer{}, ctx.Err()
	}
	defer func() { <-c.sem }()
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	for attempt := 0; ; attempt++ {
		if r.Wait != nil {
			if err := r.Wait(ctx); err != nil {
				return Answer{}, err
			}
		}
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return Answer{}, err
		}
		var body io.Reader
		if r.Body != nil {
			body = bytes.NewReader(r.Body)
		}
		req, err := http.NewRequestWithContext(ctx, method, r.URL, body)
		if err != nil {
			return Answer{}, err
		}
		for k, vs := range r.Header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		c.requests.Add(1)
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return Answer{}, ctx.Err()
			}
			return Answer{}, provider.Offline(fmt.Errorf("reaching %s: %w", r.Service, StripURL(err)))
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer))
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return Answer{}, ctx.Err()
			}
			return Answer{}, provider.Offline(fmt.Errorf("reading %s's answer: %w", r.Service, err))
		}
		a := Answer{Status: resp.StatusCode, Header: resp.Header, Body: b}
		refused := a.Status == http.StatusUnauthorized
		if a.Status == http.StatusOK && r.Refused != nil {
			refused = r.Refused(a)
		}
		if refused && attempt == 0 {
			c.tokens.Invalidate(tok)
			continue
		}
		return a, nil
	}
}

// StripURL keeps a transport error's operation and cause without the URL
// (links are long and say nothing useful in a log).
func StripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// CheckURL checks a URL setting (what names it in the error): https, or
// http on a loopback address only (tests), with no user, query or
// fragment. It returns the URL without trailing slashes; the error wraps
// api.ErrInvalid.
func CheckURL(what, s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: the %s %q is not a URL like https://host/path", api.ErrInvalid, what, s)
	}
	if u.Scheme != "https" {
		ip := net.ParseIP(u.Hostname())
		if u.Scheme != "http" || ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("%w: the %s must be an https URL", api.ErrInvalid, what)
		}
	}
	return strings.TrimRight(s, "/"), nil
}

// Setting returns the value of key in explicit, else in defaults (both
// trimmed of white space), else def.
func Setting(explicit, defaults map[string]string, key, def string) string {
	if v := strings.TrimSpace(explicit[key]); v != "" {
		return v
	}
	if v := strings.TrimSpace(defaults[key]); v != "" {
		return v
	}
	return def
}

// Base checks an API base URL given to a provider's New (what names it in
// the error): http or https, with a host and no query. It returns the URL
// without trailing slashes and its parsed form.
func Base(what, s string) (string, *url.URL, error) {
	base := strings.TrimRight(s, "/")
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" {
		return "", nil, fmt.Errorf("the %s %q is not an http(s) URL", what, s)
	}
	return base, u, nil
}

// Excerpt returns a server's error message for an error's text: at most
// 200 bytes, with "…" where it was cut.
func Excerpt(m string) string {
	if len(m) > 200 {
		return m[:200] + "…"
	}
	return m
}
