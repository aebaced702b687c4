// Package auth signs users in with OAuth 2.0 for public (desktop) clients
// and keeps them signed in.
//
// It implements, provider-neutrally:
//
//   - the authorization code flow with PKCE (S256) and a random state,
//     finished through a one-shot loopback listener ([Config.SignInBrowser]);
//   - the device authorization grant for machines without a browser
//     ([Config.SignInDevice]);
//   - a [TokenSource] that refreshes access tokens and writes every rotated
//     refresh token to the keyring (secret.Store) the moment it arrives, so
//     that a crash never leaves the keyring holding a used-up token.
//
// Token endpoint errors come back as provider errors (sync/provider): an
// unusable grant (invalid_grant, interaction_required, consent or MFA
// required) is provider.ClassGrantGone, temporarily_unavailable and
// server_error are provider.ClassOffline. A provider adds its own words for
// its error codes (Microsoft's AADSTS numbers, Google's testing-mode expiry)
// through [Config.Explain].
//
// Nothing this package returns or logs contains a token, an authorization
// code or a PKCE verifier.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/provider"
)

// Endpoint holds an authorization server's URLs.
type Endpoint struct {
	AuthURL       string
	TokenURL      string
	DeviceAuthURL string
}

// Config describes one public client at one authorization server.
type Config struct {
	ClientID string
	// ClientSecret, when set, is sent with every token request
	// (client_secret). Google's desktop clients have one that the
	// installed app cannot keep confidential; Microsoft's public clients
	// have none. It is sent only in request bodies, never logged, and never
	// part of an error.
	ClientSecret string
	Endpoint     Endpoint
	Scopes       []string
	// RedirectHost is the host of the loopback redirect URI: "localhost"
	// (Microsoft; the listener takes the port on 127.0.0.1 and ::1) or
	// "127.0.0.1" (Google; the listener takes 127.0.0.1 only). Default
	// "localhost".
	RedirectHost string
	// RedirectPort, when set, is the fixed loopback port of the redirect
	// URI, for servers that match the registered redirect URI exactly
	// (Salesforce). 0 takes a free port (Microsoft, Google).
	RedirectPort int
	// RedirectPath is the path of the redirect URI; "" means "/".
	// Salesforce apps register "/callback".
	RedirectPath string
	// AuthParams are extra parameters of the authorization request
	// (prompt, login_hint, access_type, …). They replace the standard ones
	// of the same name; a name with no value (nil) removes a standard
	// parameter (Google does not know response_mode).
	AuthParams url.Values
	// NoTokenScope leaves the scope parameter out of token requests: the
	// code redemption and refreshes then carry the scopes the user
	// consented to (Google), where Microsoft wants them named again.
	NoTokenScope bool
	// HTTPClient makes the token requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Explain returns the words for the user for a token or callback error,
	// or "" for the generic ones.
	Explain func(*TokenError) string
	// OpenBrowser opens the system browser on a URL. nil means
	// pkg/browser. It is called in its own goroutine and may block.
	OpenBrowser func(ctx context.Context, url string) error
	// Sleep waits d or until ctx is done (device code polling). nil means a
	// real timer; tests pass a fast one.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time
}

func (c *Config) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Config) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d or until ctx is done, and then returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Token is the result of a sign-in or a refresh. Never log it.
type Token struct {
	AccessToken  string
	RefreshToken string
	Expiry       time.Time
	Scope        string
	// Extra holds the answer's other string fields (Salesforce's
	// instance_url, id, issued_at). They are not secrets.
	Extra map[string]string
}

// Grant is what the keyring keeps of a sign-in: the refresh token and the
// scopes granted, and optionally when the user consented and the client
// secret the grant was issued to. Its string form (Encode) is the value
// stored under secret.KeyToken.
type Grant struct {
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope,omitempty"`
	// Issued is when the user signed in (zero when unknown). Google ends
	// the grants of apps in "Testing" status 7 days after it.
	Issued time.Time `json:"issued,omitzero"`
	// ClientSecret is the client secret of the app registration the
	// grant belongs to, when it has one (Google desktop clients). It is
	// kept here, in the keyring entry that disconnecting removes, rather
	// than in the account's settings.
	ClientSecret string `json:"client_secret,omitempty"`
}

// grantVersion tags the stored form so it can change later.
const grantVersion = 1

type storedGrant struct {
	V int `json:"v"`
	Grant
}

// Encode returns the keyring form of g.
func (g Grant) Encode() string {
	b, _ := json.Marshal(storedGrant{V: grantVersion, Grant: g})
	return string(b)
}

// ErrBadGrant means a stored grant could not be read.
var ErrBadGrant = errors.New("the stored sign-in is unreadable")

// DecodeGrant reads the keyring form written by Grant.Encode.
func DecodeGrant(s string) (Grant, error) {
	var sg storedGrant
	if err := json.Unmarshal([]byte(s), &sg); err != nil || sg.V != grantVersion || sg.RefreshToken == "" {
		return Grant{}, ErrBadGrant
	}
	return sg.Grant, nil
}

// TokenError is an OAuth error answer (RFC 6749 §5.2, RFC 8628 §3.5), from
// the token endpoint or an authorization callback. Its fields never carry
// secrets: they are the server's error code and description.
type TokenError struct {
	// Code is the OAuth error code ("invalid_grant", …).
	Code string
	// Description is the server's error_description, shortened.
	Description string
	// Codes are the server's numeric error codes (Microsoft's
	// error_codes, also parsed from "AADSTS<n>" in the description).
	Codes []int
	// Status is the HTTP status (0 for a callback).
	Status int

	retryAfter time.Duration
}

// Error returns the code and the first line of the description.
func (e *TokenError) Error() string {
	s := e.Code
	if s == "" {
		s = "error"
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// HasCode reports whether n is among e's numeric codes.
func (e *TokenError) HasCode(n int) bool {
	for _, c := range e.Codes {
		if c == n {
			return true
		}
	}
	return false
}

var aadstsRe = regexp.MustCompile(`AADSTS(\d+)`)

// firstLine returns s up to its first line break, at most 300 bytes.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.TrimSpace(s)
}

// newTokenError builds a TokenError from the parts of an error answer.
func newTokenError(status int, code, desc string, codes []int) *TokenError {
	e := &TokenError{Code: code, Description: firstLine(desc), Status: status, Codes: codes}
	if len(e.Codes) == 0 {
		for _, m := range aadstsRe.FindAllStringSubmatch(desc, 3) {
			if n, err := strconv.Atoi(m[1]); err == nil {
				e.Codes = append(e.Codes, n)
			}
		}
	}
	return e
}

// classify turns a token endpoint error into a provider error.
func (c *Config) classify(te *TokenError, retryAfter time.Duration) error {
	reason := ""
	if c.Explain != nil {
		reason = c.Explain(te)
	}
	switch te.Code {
	case "invalid_grant", "interaction_required", "consent_required", "login_required", "mfa_required":
		if reason == "" {
			reason = "The sign-in is no longer valid: sign in again."
		}
		return provider.GrantGone(reason, te)
	case "temporarily_unavailable", "server_error":
		return provider.Offline(te)
	case "invalid_client", "unauthorized_client":
		if reason == "" {
			reason = "The sign-in service does not accept this app's client ID: check the client ID and tenant."
		}
		return provider.Failed(reason, te)
	}
	switch {
	case te.Status == http.StatusTooManyRequests:
		if retryAfter <= 0 {
			retryAfter = time.Minute
		}
		return provider.Throttled(retryAfter, te)
	case te.Status >= 500:
		return provider.Offline(te)
	}
	if reason == "" {
		reason = "The sign-in service answered with an error."
	}
	return provider.Failed(reason, te)
}

// tokenResponse is the token endpoint's answer, success or error.
type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	Scope        string          `json:"scope"`
	TokenType    string          `json:"token_type"`

	Error       string `json:"error"`
	Description string `json:"error_description"`
	ErrorCodes  []int  `json:"error_codes"`
}

// seconds reads a JSON number or numeric string (some servers quote
// expires_in and interval).
func seconds(raw json.RawMessage) int {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// ParseTokenResponse decodes a token endpoint answer of the given HTTP
// status. It returns the token, or a *TokenError, or a decoding error.
func ParseTokenResponse(status int, contentType string, body []byte) (Token, *TokenError, error) {
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		mt, _, _ := mime.ParseMediaType(contentType)
		if status != http.StatusOK {
			return Token{}, newTokenError(status, "", http.StatusText(status)+" ("+mt+")", nil), nil
		}
		return Token{}, nil, fmt.Errorf("reading the token answer: %w", err)
	}
	if tr.Error != "" || status != http.StatusOK {
		return Token{}, newTokenError(status, tr.Error, tr.Description, tr.ErrorCodes), nil
	}
	if tr.AccessToken == "" {
		return Token{}, nil, errors.New("the token answer has no access token")
	}
	if tt := strings.ToLower(tr.TokenType); tt != "" && tt != "bearer" {
		return Token{}, nil, fmt.Errorf("the token answer has token type %q, want Bearer", tr.TokenType)
	}
	t := Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, Scope: tr.Scope}
	var all map[string]any
	if json.Unmarshal(body, &all) == nil {
		for k, v := range all {
			switch k {
			case "access_token", "refresh_token", "id_token", "signature", "scope", "token_type", "expires_in":
				continue // secrets, or fields read above
			}
			if s, ok := v.(string); ok {
				if t.Extra == nil {
					t.Extra = map[string]string{}
				}
				t.Extra[k] = s
			}
		}
	}
	if n := seconds(tr.ExpiresIn); n > 0 {
		t.Expiry = time.Now().Add(time.Duration(n) * time.Second)
	}
	return t, nil, nil
}

// maxBody bounds what is read of a token endpoint answer.
const maxBody = 1 << 20

// postToken posts form to the token endpoint and returns the token or a
// classified error. Token endpoint errors are returned as *TokenError
// wrapped in provider errors; raw is set when the caller wants the bare
// *TokenError (device polling).
func (c *Config) postToken(ctx context.Context, u string, form url.Values) (Token, *TokenError, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Token{}, nil, ctx.Err()
		}
		return Token{}, nil, provider.Offline(fmt.Errorf("reaching the sign-in service: %w", redactURLError(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return Token{}, nil, ctx.Err()
		}
		return Token{}, nil, provider.Offline(fmt.Errorf("reading the sign-in service's answer: %w", err))
	}
	tok, te, err := ParseTokenResponse(resp.StatusCode, resp.Header.Get("Content-Type"), body)
	if te != nil {
		te.retryAfter = retryAfter(resp.Header.Get("Retry-After"), c.now())
	}
	return tok, te, err
}

// redactURLError drops the URL from a *url.Error: token requests carry
// no secrets in their URLs, but device and refresh forms do in bodies, and
// keeping only the operation and cause is enough for logs.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// RetryAfterHeader parses a Retry-After header (seconds or an HTTP date)
// relative to now; 0 when absent or unreadable.
func RetryAfterHeader(v string, now time.Time) time.Duration { return retryAfter(v, now) }

func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// exchange posts form and classifies any error.
func (c *Config) exchange(ctx context.Context, form url.Values) (Token, error) {
	tok, te, err := c.postToken(ctx, c.Endpoint.TokenURL, form)
	if err != nil {
		return Token{}, err
	}
	if te != nil {
		return Token{}, c.classify(te, te.retryAfter)
	}
	return tok, nil
}

// tokenForm completes the form of a token request with the client's
// credentials and, unless NoTokenScope, the scopes.
func (c *Config) tokenForm(form url.Values) url.Values {
	form.Set("client_id", c.ClientID)
	if c.ClientSecret != "" {
		form.Set("client_secret", c.ClientSecret)
	}
	if !c.NoTokenScope {
		form.Set("scope", strings.Join(c.Scopes, " "))
	}
	return form
}

// Refresh redeems a refresh token. The answer may carry a new refresh
// token (rotation); when it does not, the old one stays valid and is
// returned in the Token.
func (c *Config) Refresh(ctx context.Context, refreshToken string) (Token, error) {
	form := c.tokenForm(url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	})
	tok, err := c.exchange(ctx, form)
	if err != nil {
		return Token{}, err
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refreshToken
	}
	return tok, nil
}
