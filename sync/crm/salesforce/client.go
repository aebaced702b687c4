// Package salesforce is the Salesforce connection of the CRM side: OAuth
// 2.0 web server flow with PKCE, the REST API at the org's instance_url
// (SOQL queries with paging, sObject Collections), the org's API budget,
// and the crm.Recorder the Logger writes through (docs/architecture.md §5).
//
// Errors are sync/provider errors the engine classifies: a network failure
// is provider.ClassOffline; the API budget (403 REQUEST_LIMIT_EXCEEDED, or
// usage past Config.Budget of the allocation) is provider.ClassThrottled
// with back-offs of 30 minutes, 2.5, 4.5 and 6.5 hours; a sign-in that is
// gone (invalid_grant, an app not installed in the org) is
// provider.ClassGrantGone; 5xx answers and UNABLE_TO_LOCK_ROW are retried.
// Access tokens stay in memory; the refresh token lives in the keyring
// only, and a rotated one is saved there before it is used.
package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// maxAnswer bounds what is read of one answer.
const maxAnswer = 64 << 20

// Backoffs are the waits after the API budget ran out, one after another
// while it stays out; the last repeats.
var Backoffs = []time.Duration{30 * time.Minute, 150 * time.Minute, 270 * time.Minute, 390 * time.Minute}

// serverRetries are the waits before resending after a 5xx answer.
var serverRetries = []time.Duration{2 * time.Second, 8 * time.Second, 30 * time.Second}

// Client is a signed-in Salesforce connection. It is safe for concurrent
// use.
type Client struct {
	cfg     Config
	secrets secret.Store
	account string
	hc      *http.Client

	tokMu  sync.Mutex
	grant  grant
	access string

	mu        sync.Mutex
	used      int
	limit     int
	until     time.Time // throttled until
	throttles int       // consecutive back-offs

	requests  atomic.Int64
	refreshes atomic.Int64
}

// New returns a client for the connection stored in the keyring under
// account (by Connect). It makes no request.
func New(cfg Config, secrets secret.Store, account string) (*Client, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cfg.defaults()
	return newClient(cfg, secrets, account), nil
}

func newClient(cfg Config, secrets secret.Store, account string) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{cfg: cfg, secrets: secrets, account: account, hc: hc}
}

// Requests returns how many API and token requests the client sent.
func (c *Client) Requests() int64 { return c.requests.Load() }

// Refreshes returns how many times the client renewed its access token.
func (c *Client) Refreshes() int64 { return c.refreshes.Load() }

// Usage returns the org's API usage and allocation from the last answer
// (0, 0 before the first).
func (c *Client) Usage() (used, limit int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, c.limit
}

// ThrottledUntil returns when the client will send again after the API
// budget ran out (zero when it is not waiting).
func (c *Client) ThrottledUntil() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg.Now().Before(c.until) {
		return c.until
	}
	return time.Time{}
}

// Identity returns the connection's instance and user, reading the keyring
// when the client has not yet.
func (c *Client) Identity() (Identity, error) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if err := c.loadGrant(); err != nil {
		return Identity{}, err
	}
	return Identity{InstanceURL: c.grant.InstanceURL, UserID: c.grant.UserID, OrgID: c.grant.OrgID}, nil
}

// loadGrant reads the grant from the keyring once. Callers hold tokMu.
func (c *Client) loadGrant() error {
	if c.grant.RefreshToken != "" {
		return nil
	}
	v, err := c.secrets.Get(c.account, secret.KeyToken)
	switch {
	case errors.Is(err, secret.ErrNotFound):
		return provider.GrantGone("There is no saved Salesforce sign-in: connect to Salesforce again.", errors.New("no Salesforce grant in the keyring"))
	case err != nil:
		return fmt.Errorf("reading the Salesforce sign-in from the keyring: %w", err)
	}
	g, err := decodeGrant(v)
	if err != nil {
		return provider.GrantGone("The saved Salesforce sign-in is unreadable: connect to Salesforce again.", err)
	}
	c.grant = g
	return nil
}

// token returns an access token and the instance URL, refreshing when
// there is no access token (Salesforce gives no expiry: a token is used
// until a call answers INVALID_SESSION_ID).
func (c *Client) token(ctx context.Context) (string, string, error) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if err := c.loadGrant(); err != nil {
		return "", "", err
	}
	if c.access != "" {
		return c.access, c.grant.InstanceURL, nil
	}
	c.requests.Add(1)
	tok, err := c.cfg.oauth(c.grant.ClientSecret).Refresh(ctx, c.grant.RefreshToken)
	if err != nil {
		return "", "", classifyOAuth(err)
	}
	c.refreshes.Add(1)
	g := c.grant
	if id, err := identity(tok.Extra); err == nil {
		g.InstanceURL = id.InstanceURL
	}
	if tok.RefreshToken != g.RefreshToken || g.InstanceURL != c.grant.InstanceURL {
		g.RefreshToken = tok.RefreshToken
		// Save first: after a rotation the old refresh token is void, and a
		// crash must not leave the keyring holding it.
		if err := c.secrets.Set(c.account, secret.KeyToken, g.encode()); err != nil {
			return "", "", fmt.Errorf("saving the renewed Salesforce sign-in to the keyring: %w", err)
		}
		c.grant = g
	}
	c.access = tok.AccessToken
	return c.access, c.grant.InstanceURL, nil
}

// Disconnect ends the connection: it revokes the refresh token at
// Salesforce (best effort: an unreachable server or a token already void
// does not stop it) and deletes the grant from the keyring.
func (c *Client) Disconnect(ctx context.Context) error {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if err := c.loadGrant(); err == nil {
		form := url.Values{"token": {c.grant.RefreshToken}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.LoginURL+"/services/oauth2/revoke", strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			c.requests.Add(1)
			if resp, err := c.hc.Do(req); err == nil {
				io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
				resp.Body.Close()
			}
		}
	}
	c.grant, c.access = grant{}, ""
	if err := c.secrets.Delete(c.account, secret.KeyToken); err != nil {
		return fmt.Errorf("deleting the Salesforce sign-in from the keyring: %w", err)
	}
	return nil
}

func (c *Client) invalidate(access string) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if c.access == access {
		c.access = ""
	}
}

// apiError is Salesforce's error answer: [{"message","errorCode","fields"}].
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

func parseErrors(body []byte) apiError {
	var list []apiError
	if json.Unmarshal(body, &list) == nil && len(list) > 0 {
		list[0].Message = excerpt(list[0].Message)
		return list[0]
	}
	var one apiError
	json.Unmarshal(body, &one)
	one.Message = excerpt(one.Message)
	return one
}

func excerpt(m string) string {
	if len(m) > 200 {
		return m[:200] + "…"
	}
	return m
}

// limitInfo reads Sforce-Limit-Info: api-usage=N/M.
func limitInfo(h http.Header) (used, limit int, ok bool) {
	// "api-usage=25/5000; per-app-api-usage=17/250(appName=…)"
	parts := strings.FieldsFunc(h.Get("Sforce-Limit-Info"), func(r rune) bool { return r == ';' || r == ',' })
	for _, part := range parts {
		v, found := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !found {
			continue
		}
		a, b, _ := strings.Cut(v, "/")
		n, err1 := strconv.Atoi(a)
		m, err2 := strconv.Atoi(b)
		if err1 == nil && err2 == nil && m > 0 {
			return n, m, true
		}
	}
	return 0, 0, false
}

// throttled returns the budget error for a wait until t.
func (c *Client) throttledErr(until time.Time, cause error) error {
	return &provider.Error{
		Class:      provider.ClassThrottled,
		RetryAfter: until.Sub(c.cfg.Now()),
		Reason:     "Salesforce API limit nearly used up; will retry at " + until.Local().Format("15:04"),
		Err:        cause,
	}
}

// backOff starts the next back-off. Callers hold mu.
func (c *Client) backOff() time.Time {
	d := Backoffs[min(c.throttles, len(Backoffs)-1)]
	c.throttles++
	c.until = c.cfg.Now().Add(d)
	return c.until
}

// note records an answer's budget figures and reports whether the org
// is past the budget, which starts a back-off.
func (c *Client) note(h http.Header) {
	used, limit, ok := limitInfo(h)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used, c.limit = used, limit
	if float64(used) >= c.cfg.Budget*float64(limit) {
		if !c.cfg.Now().Before(c.until) {
			c.backOff()
		}
		return
	}
	c.throttles = 0
}

// gate refuses to send while a back-off runs.
func (c *Client) gate() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg.Now().Before(c.until) {
		return c.throttledErr(c.until, fmt.Errorf("api-usage %d/%d", c.used, c.limit))
	}
	return nil
}

// call sends one API request to path (relative to
// /services/data/vNN.0/, or absolute from /services/) and decodes a 2xx
// answer into out. It renews the session once on INVALID_SESSION_ID,
// retries 5xx answers, and turns every other answer into a classified
// error.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	renewed := false
	retries := 0
	for {
		if err := c.gate(); err != nil {
			return err
		}
		access, instance, err := c.token(ctx)
		if err != nil {
			return err
		}
		u := instance + path
		if !strings.HasPrefix(path, "/services/") {
			u = instance + "/services/data/" + c.cfg.APIVersion + "/" + path
		}
		var rd io.Reader
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		c.requests.Add(1)
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return provider.Offline(fmt.Errorf("reaching Salesforce: %w", stripURL(err)))
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return provider.Offline(fmt.Errorf("reading Salesforce's answer: %w", err))
		}
		c.note(resp.Header)
		st := resp.StatusCode
		switch {
		case st >= 200 && st < 300:
			if out == nil || len(b) == 0 {
				return nil
			}
			if err := json.Unmarshal(b, out); err != nil {
				return provider.Failed("Salesforce's answer could not be read.", fmt.Errorf("decoding %s %s: %w", method, path, err))
			}
			return nil
		case st == http.StatusUnauthorized:
			e := parseErrors(b)
			if !renewed {
				renewed = true
				c.invalidate(access)
				continue
			}
			return provider.Rejected("Salesforce refused the session even after signing in again.", fmt.Errorf("%s: %s", e.ErrorCode, e.Message))
		case st == http.StatusForbidden && parseErrors(b).ErrorCode == "REQUEST_LIMIT_EXCEEDED":
			c.mu.Lock()
			until := c.until
			if !c.cfg.Now().Before(until) {
				until = c.backOff()
			}
			c.mu.Unlock()
			return c.throttledErr(until, errors.New("REQUEST_LIMIT_EXCEEDED"))
		case st >= 500:
			if retries < len(serverRetries) {
				if err := c.cfg.Sleep(ctx, serverRetries[retries]); err != nil {
					return err
				}
				retries++
				continue
			}
			e := parseErrors(b)
			wait := auth.RetryAfterHeader(resp.Header.Get("Retry-After"), c.cfg.Now())
			if wait <= 0 {
				wait = time.Minute
			}
			//lint:ignore ST1005 the sentence starts with the service's name, a proper noun
			return provider.Throttled(wait, fmt.Errorf("Salesforce answered %d %s after %d attempts", st, e.ErrorCode, retries+1))
		default:
			e := parseErrors(b)
			return provider.Failed("Salesforce refused a request: "+plainMessage(e.ErrorCode, e.Message), fmt.Errorf("%s %s: %d %s", method, path, st, e.ErrorCode))
		}
	}
}

// plainMessage words an API-level error.
func plainMessage(code, msg string) string {
	switch code {
	case "API_DISABLED_FOR_ORG":
		return "the API is not enabled for your Salesforce edition or user."
	case "INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY":
		return "your Salesforce user lacks the permission for this."
	case "INVALID_TYPE":
		return "this org does not have the object (is Enhanced Email on?): " + msg
	}
	if msg == "" {
		return code
	}
	return msg
}

func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
