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
//
// Org (org.go) is organisation mode's server-to-server connection: the
// OAuth 2.0 JWT bearer flow mints a token per user, Org.Recorder returns
// a Client that logs as that user, Users and Resolve map addresses to
// Salesforce users, and all users' clients share one Budget.
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
// use. Its access tokens come from a token source: the desktop's refresh
// token in the keyring (New, Connect), or a JWT bearer assertion per user
// for an organisation (Org.Recorder). Its API budget is a Budget: this
// process's by default, the organisation's when an Org shares one.
type Client struct {
	cfg    Config
	hc     *http.Client
	tokens tokenSource
	budget Budget

	requests  atomic.Int64
	refreshes atomic.Int64
}

// tokenSource gives a Client its access tokens.
type tokenSource interface {
	// token returns an access token and the instance URL, getting a new
	// token when there is none (counting its request on c).
	token(ctx context.Context, c *Client) (access, instance string, err error)
	// invalidate forgets access, which Salesforce refused.
	invalidate(access string)
	// identity returns who and where the tokens act.
	identity(ctx context.Context, c *Client) (Identity, error)
	// disconnect ends the sign-in.
	disconnect(ctx context.Context, c *Client) error
}

// New returns a client for the connection stored in the keyring under
// account (by Connect). It makes no request.
func New(cfg Config, secrets secret.Store, account string) (*Client, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cfg.defaults()
	return newClient(cfg, &keyringTokens{secrets: secrets, account: account}, nil), nil
}

// newClient returns a client of cfg (defaults applied) with its token
// source and budget (nil: one of its own in this process).
func newClient(cfg Config, ts tokenSource, b Budget) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	if b == nil {
		b = NewMemoryBudget()
	}
	return &Client{cfg: cfg, hc: hc, tokens: ts, budget: b}
}

// Requests returns how many API and token requests the client sent.
func (c *Client) Requests() int64 { return c.requests.Load() }

// Refreshes returns how many times the client renewed its access token.
func (c *Client) Refreshes() int64 { return c.refreshes.Load() }

// Usage returns the org's API usage and allocation from the last answer
// (0, 0 before the first, or when the budget cannot be read).
func (c *Client) Usage() (used, limit int) {
	s, err := c.budget.Load(context.Background())
	if err != nil {
		return 0, 0
	}
	return s.Used, s.Limit
}

// ThrottledUntil returns when the client will send again after the API
// budget ran out (zero when it is not waiting).
func (c *Client) ThrottledUntil() time.Time {
	s, err := c.budget.Load(context.Background())
	if err != nil || !s.Waiting(c.cfg.Now()) {
		return time.Time{}
	}
	return s.Until
}

// Identity returns the connection's instance and user. A desktop
// connection reads the keyring when the client has not yet; an
// organisation's user asks for a token when it has none.
func (c *Client) Identity() (Identity, error) {
	return c.tokens.identity(context.Background(), c)
}

// Disconnect ends the connection: on the desktop it revokes the refresh
// token at Salesforce (best effort: an unreachable server or a token
// already void does not stop it) and deletes the grant from the keyring;
// an organisation's user client forgets its access token.
func (c *Client) Disconnect(ctx context.Context) error {
	return c.tokens.disconnect(ctx, c)
}

// keyringTokens is the desktop's token source: the refresh token of the
// web server flow, kept in the keyring.
type keyringTokens struct {
	secrets secret.Store
	account string

	mu     sync.Mutex
	grant  grant
	access string
}

func (k *keyringTokens) identity(_ context.Context, _ *Client) (Identity, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadGrant(); err != nil {
		return Identity{}, err
	}
	return Identity{InstanceURL: k.grant.InstanceURL, UserID: k.grant.UserID, OrgID: k.grant.OrgID}, nil
}

// loadGrant reads the grant from the keyring once. Callers hold mu.
func (k *keyringTokens) loadGrant() error {
	if k.grant.RefreshToken != "" {
		return nil
	}
	v, err := k.secrets.Get(k.account, secret.KeyToken)
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
	k.grant = g
	return nil
}

// token returns an access token and the instance URL, refreshing when
// there is no access token (Salesforce gives no expiry: a token is used
// until a call answers INVALID_SESSION_ID).
func (k *keyringTokens) token(ctx context.Context, c *Client) (string, string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadGrant(); err != nil {
		return "", "", err
	}
	if k.access != "" {
		return k.access, k.grant.InstanceURL, nil
	}
	c.requests.Add(1)
	tok, err := c.cfg.oauth(k.grant.ClientSecret).Refresh(ctx, k.grant.RefreshToken)
	if err != nil {
		return "", "", classifyOAuth(err)
	}
	c.refreshes.Add(1)
	g := k.grant
	if id, err := identity(tok.Extra); err == nil {
		g.InstanceURL = id.InstanceURL
	}
	if tok.RefreshToken != g.RefreshToken || g.InstanceURL != k.grant.InstanceURL {
		g.RefreshToken = tok.RefreshToken
		// Save first: after a rotation the old refresh token is void, and a
		// crash must not leave the keyring holding it.
		if err := k.secrets.Set(k.account, secret.KeyToken, g.encode()); err != nil {
			return "", "", fmt.Errorf("saving the renewed Salesforce sign-in to the keyring: %w", err)
		}
		k.grant = g
	}
	k.access = tok.AccessToken
	return k.access, k.grant.InstanceURL, nil
}

func (k *keyringTokens) disconnect(ctx context.Context, c *Client) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.loadGrant(); err == nil {
		form := url.Values{"token": {k.grant.RefreshToken}}
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
	k.grant, k.access = grant{}, ""
	if err := k.secrets.Delete(k.account, secret.KeyToken); err != nil {
		return fmt.Errorf("deleting the Salesforce sign-in from the keyring: %w", err)
	}
	return nil
}

func (k *keyringTokens) invalidate(access string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.access == access {
		k.access = ""
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

// throttledErr returns the budget error for a wait until t.
func (c *Client) throttledErr(until time.Time, cause error) error {
	return &provider.Error{
		Class:      provider.ClassThrottled,
		RetryAfter: until.Sub(c.cfg.Now()),
		Reason:     "Salesforce API limit nearly used up; will retry at " + until.Local().Format("15:04"),
		Err:        cause,
	}
}

// note records an answer's budget figures in the budget, which starts a
// back-off past the org's share (BudgetState.Note). A budget that cannot
// be written does not fail the answer: the next gate reads it again.
func (c *Client) note(ctx context.Context, h http.Header) {
	used, limit, ok := limitInfo(h)
	if !ok {
		return
	}
	now := c.cfg.Now()
	c.budget.Update(ctx, func(s *BudgetState) { s.Note(now, used, limit, c.cfg.Budget) })
}

// gate refuses to send while a back-off runs.
func (c *Client) gate(ctx context.Context) error {
	s, err := c.budget.Load(ctx)
	if err != nil {
		return fmt.Errorf("reading the Salesforce API budget: %w", err)
	}
	if s.Waiting(c.cfg.Now()) {
		return c.throttledErr(s.Until, fmt.Errorf("api-usage %d/%d", s.Used, s.Limit))
	}
	return nil
}

// exceeded records a REQUEST_LIMIT_EXCEEDED answer and returns the
// budget error.
func (c *Client) exceeded(ctx context.Context) error {
	now := c.cfg.Now()
	var until time.Time
	if err := c.budget.Update(ctx, func(s *BudgetState) { until = s.Exceeded(now) }); err != nil {
		until = now.Add(Backoffs[0])
	}
	return c.throttledErr(until, errors.New("REQUEST_LIMIT_EXCEEDED"))
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
		if err := c.gate(ctx); err != nil {
			return err
		}
		access, instance, err := c.tokens.token(ctx, c)
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
		c.note(ctx, resp.Header)
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
				c.tokens.invalidate(access)
				continue
			}
			return provider.Rejected("Salesforce refused the session even after signing in again.", fmt.Errorf("%s: %s", e.ErrorCode, e.Message))
		case st == http.StatusForbidden && parseErrors(b).ErrorCode == "REQUEST_LIMIT_EXCEEDED":
			return c.exceeded(ctx)
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
