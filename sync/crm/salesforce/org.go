package salesforce

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// OrgConfig is an organisation's server-to-server Salesforce connection:
// an External Client App with a certificate ("Use digital signatures"),
// its users pre-authorized by profile or permission set, and the OAuth 2.0
// JWT bearer flow. The JSON form holds no secret: the key stays in the
// file Certificate names.
type OrgConfig struct {
	// LoginURL is where tokens are asked for: https://login.salesforce.com,
	// https://test.salesforce.com (sandboxes) or the org's My Domain.
	LoginURL string `json:"login_url"`
	// ClientID is the External Client App's consumer key (the JWT's iss).
	ClientID string `json:"client_id"`
	// Certificate is the PEM file holding the RSA private key whose
	// certificate is uploaded to the app (the certificate may be in the
	// file too). Only its owner may read it.
	Certificate string `json:"certificate"`
	// IntegrationUser is the username of the admin user that looks Users
	// up; it must be pre-authorized too.
	IntegrationUser string `json:"integration_user"`
	// APIVersion is the REST API version, "v64.0" by default.
	APIVersion string `json:"api_version,omitempty"`
	// Audience is the JWT's aud; empty: derived from LoginURL (Audience).
	Audience string `json:"audience,omitempty"`
	// Budget is the share of the org's daily API allocation past which
	// every user's client stops and backs off; default 0.9.
	Budget float64 `json:"budget,omitempty"`

	// APIBudget keeps the budget state all users share; nil: one in this
	// process. Organisation mode keeps it in PostgreSQL.
	APIBudget Budget `json:"-"`
	// TokenLifetime is how long a user's access token is used before a
	// new one is minted (Salesforce says nothing of a token's expiry; the
	// org's session timeout is 15 minutes at least); default 14 minutes.
	// A token Salesforce refuses earlier (INVALID_SESSION_ID) is replaced
	// at once.
	TokenLifetime time.Duration `json:"-"`
	// Now is the clock of token lifetimes and back-offs (nil: time.Now).
	// Assertions are always stamped with the real time: a server checks
	// them.
	Now func() time.Time `json:"-"`
	// Sleep waits between retries (nil: a real timer).
	Sleep func(ctx context.Context, d time.Duration) error `json:"-"`
}

// DefaultTokenLifetime is OrgConfig.TokenLifetime's default.
const DefaultTokenLifetime = 14 * time.Minute

// assertionLifetime is how long a JWT assertion is valid: Salesforce
// wants exp within 3 minutes; a little less leaves room for clock skew.
const assertionLifetime = 150 * time.Second

// refusalMemory is how long a refusal of the app (org-wide) is answered
// from memory, so that thousands of users do not each ask the token
// endpoint; userRefusalMemory is the same for one user.
const (
	refusalMemory     = 30 * time.Second
	userRefusalMemory = time.Minute
)

// jwtBearer is RFC 7523's grant type.
const jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// ErrOrgRefused (errors.Is) marks a refusal of the organisation's app
// itself at Salesforce's token endpoint: an unknown consumer key, a
// signature the uploaded certificate does not verify, a wrong audience,
// the app not installed. It stops every user: one incident for the
// organisation, not one per mailbox. Such an error is also a
// provider.Error of class GrantGone with words for an administrator.
var ErrOrgRefused = errors.New("the organisation's Salesforce app was refused")

// UserProblem says why one Salesforce user's mailbox logs nothing.
type UserProblem int

// The problems of one user.
const (
	// UserNotApproved: Salesforce answered invalid_grant "user hasn't
	// approved this consumer": the app is not pre-authorized for the
	// user's profile or permission sets (or no user has that username).
	UserNotApproved UserProblem = iota + 1
	// UserInactive: the Salesforce user is inactive (or frozen).
	UserInactive
	// UserUnknown: no active Salesforce user has the mailbox's address,
	// or the username mapped to it does not exist.
	UserUnknown
	// UserAmbiguous: several active Salesforce users have the address.
	UserAmbiguous
	// UserRefused: another refusal of this user by the token endpoint.
	UserRefused
)

// UserError (errors.As) is a refusal of ONE Salesforce user: that user's
// mailbox logs nothing, with Reason, and the others go on. The client's
// errors carry it inside a provider.Error of class GrantGone.
type UserError struct {
	Username string
	Problem  UserProblem
	// Reason is the sentence for the admin.
	Reason string
	// Err is Salesforce's answer, when there was one.
	Err error
}

func (e *UserError) Error() string {
	if e.Err != nil {
		return e.Reason + " (" + e.Err.Error() + ")"
	}
	return e.Reason
}

// Unwrap returns Salesforce's answer.
func (e *UserError) Unwrap() error { return e.Err }

// TokenError is an error answer of Salesforce's token endpoint.
type TokenError struct {
	Status      int
	Code        string // "invalid_grant", "invalid_client_id" …
	Description string // "user hasn't approved this consumer" …
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("token endpoint: %d %s: %s", e.Status, e.Code, excerpt(e.Description))
}

// Org is an organisation's Salesforce connection: one client per user
// (Recorder), each with tokens minted for that user, all sharing one API
// budget. It is safe for concurrent use.
type Org struct {
	cfg    OrgConfig
	base   Config // of the users' clients
	key    *rsa.PrivateKey
	cert   *x509.Certificate
	aud    string
	hc     *http.Client
	budget Budget

	mu           sync.Mutex
	clients      map[string]*Client // by lowercased username
	refused      error
	refusedUntil time.Time
}

// NewOrg checks cfg, reads the key file (refusing one that others can
// read) and returns the organisation's connection. It sends nothing:
// Check asks for a token.
func NewOrg(cfg OrgConfig, hc *http.Client) (*Org, error) {
	base := Config{LoginURL: cfg.LoginURL, ClientID: cfg.ClientID, APIVersion: cfg.APIVersion, Budget: cfg.Budget, HTTPClient: hc, Now: cfg.Now, Sleep: cfg.Sleep}
	if err := base.Check(); err != nil {
		return nil, err
	}
	base.defaults()
	if strings.TrimSpace(cfg.IntegrationUser) == "" {
		return nil, fmt.Errorf("%w: the integration user (the Salesforce username of an admin the app is pre-authorized for) is missing", api.ErrInvalid)
	}
	if cfg.Certificate == "" {
		return nil, fmt.Errorf("%w: the key file (PEM: the private key of the certificate uploaded to the External Client App) is missing", api.ErrInvalid)
	}
	key, cert, err := LoadKey(cfg.Certificate)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", api.ErrInvalid, err)
	}
	if cfg.Audience == "" {
		cfg.Audience = Audience(base.LoginURL)
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	b := cfg.APIBudget
	if b == nil {
		b = NewMemoryBudget()
	}
	cfg.LoginURL, cfg.APIVersion, cfg.Budget = base.LoginURL, base.APIVersion, base.Budget
	return &Org{cfg: cfg, base: base, key: key, cert: cert, aud: cfg.Audience, hc: hc, budget: b, clients: map[string]*Client{}}, nil
}

// Config returns the connection's settings with their defaults.
func (o *Org) Config() OrgConfig { return o.cfg }

// CertificateExpiry returns when the certificate in the key file expires
// (zero when the file holds the key alone).
func (o *Org) CertificateExpiry() time.Time {
	if o.cert == nil {
		return time.Time{}
	}
	return o.cert.NotAfter
}

// Budget returns the API budget every user's client shares.
func (o *Org) Budget() Budget { return o.budget }

// Audience returns the JWT audience Salesforce expects for a login URL:
// https://test.salesforce.com for test.salesforce.com and sandbox My
// Domains (NAME--SANDBOX.sandbox.my.salesforce.com, or the older
// NAME--SANDBOX.my.salesforce.com), https://login.salesforce.com for
// login.salesforce.com and production My Domains (*.my.salesforce.com),
// and the login URL itself for any other host (an Experience Cloud site).
func Audience(loginURL string) string {
	u, err := url.Parse(strings.TrimRight(loginURL, "/"))
	if err != nil {
		return loginURL
	}
	h := strings.ToLower(u.Hostname())
	switch {
	case h == "test.salesforce.com" || strings.HasSuffix(h, ".sandbox.my.salesforce.com") ||
		(strings.HasSuffix(h, ".my.salesforce.com") && strings.Contains(h, "--")):
		return "https://test.salesforce.com"
	case h == "login.salesforce.com" || strings.HasSuffix(h, ".my.salesforce.com"):
		return "https://login.salesforce.com"
	}
	return strings.TrimRight(loginURL, "/")
}

// Recorder returns the client that logs as the Salesforce user username:
// it implements crm.Recorder (and crm.Connection), and every record it
// creates is owned by that user. The client is made once per user and
// kept; it mints its first token at its first request. Its errors are
// the client's, and for the token: a *UserError (errors.As) when only
// this user is refused, ErrOrgRefused (errors.Is) when the app is.
func (o *Org) Recorder(username string) (*Client, error) {
	username = strings.TrimSpace(username)
	if username == "" {
		return nil, fmt.Errorf("%w: a Salesforce username is needed", api.ErrInvalid)
	}
	k := strings.ToLower(username)
	o.mu.Lock()
	defer o.mu.Unlock()
	if c := o.clients[k]; c != nil {
		return c, nil
	}
	c := newClient(o.base, &userTokens{org: o, username: username}, o.budget)
	o.clients[k] = c
	return c, nil
}

// Check mints a token for the integration user, proving the setup (the
// consumer key, the certificate, the audience, the user's
// pre-authorization), and returns who and where that user is. A refusal
// of the integration user is ErrOrgRefused: nothing can be looked up.
func (o *Org) Check(ctx context.Context) (Identity, error) {
	c, err := o.integration()
	if err != nil {
		return Identity{}, err
	}
	id, err := c.tokens.identity(ctx, c)
	return id, integrationErr(err)
}

// integrationErr turns a refusal of the integration user, which stops
// every lookup, into an org-wide one.
func integrationErr(err error) error {
	var ue *UserError
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	// Not wrapping ue: errors.As(err, *UserError) must stay false for an
	// org-wide error.
	cause := ue.Err
	if cause == nil {
		cause = errors.New(ue.Reason)
	}
	return &provider.Error{Class: provider.ClassGrantGone, Reason: "The integration user cannot sign in: " + ue.Reason, Err: fmt.Errorf("%w: %w", ErrOrgRefused, cause)}
}

// integration returns the integration user's client.
func (o *Org) integration() (*Client, error) { return o.Recorder(o.cfg.IntegrationUser) }

// remembered returns the app's refusal while it is remembered.
func (o *Org) remembered(now time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.refused != nil && now.Before(o.refusedUntil) {
		return o.refused
	}
	return nil
}

func (o *Org) remember(err error, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refused, o.refusedUntil = err, now.Add(refusalMemory)
}

// tokenAnswer is the token endpoint's answer to a JWT bearer grant.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
	Scope       string `json:"scope"`
	ExpiresIn   any    `json:"expires_in"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// assertion signs the JWT bearer assertion for username: RS256, iss the
// consumer key, sub the username, aud the login host, exp within 3
// minutes (Salesforce's "OAuth 2.0 JWT Bearer Flow for Server-to-Server
// Integration").
func (o *Org) assertion(username string) (string, error) {
	claims := jwt.MapClaims{
		"iss": o.cfg.ClientID,
		"sub": username,
		"aud": o.aud,
		"exp": time.Now().Add(assertionLifetime).Unix(),
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(o.key)
}

// mint asks the token endpoint for an access token for username.
func (o *Org) mint(ctx context.Context, username string) (tokenAnswer, error) {
	signed, err := o.assertion(username)
	if err != nil {
		return tokenAnswer{}, fmt.Errorf("signing the Salesforce sign-in: %w", err)
	}
	form := url.Values{"grant_type": {jwtBearer}, "assertion": {signed}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.base.LoginURL+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return tokenAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := o.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return tokenAnswer{}, ctx.Err()
		}
		return tokenAnswer{}, provider.Offline(fmt.Errorf("reaching Salesforce's sign-in: %w", stripURL(err)))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return tokenAnswer{}, provider.Offline(fmt.Errorf("reading Salesforce's sign-in answer: %w", err))
	}
	var a tokenAnswer
	jerr := json.Unmarshal(b, &a)
	switch {
	case resp.StatusCode >= 500:
		//lint:ignore ST1005 the sentence starts with the service's name, a proper noun
		return tokenAnswer{}, provider.Throttled(time.Minute, fmt.Errorf("Salesforce's sign-in answered %d", resp.StatusCode))
	case resp.StatusCode != http.StatusOK || a.Error != "":
		return tokenAnswer{}, o.refusal(username, &TokenError{Status: resp.StatusCode, Code: a.Error, Description: a.Description})
	case jerr != nil || a.AccessToken == "":
		return tokenAnswer{}, provider.Failed("Salesforce's answer to the sign-in could not be read.", fmt.Errorf("token answer: status %d, %d bytes", resp.StatusCode, len(b)))
	}
	return a, nil
}

// refusal words a token endpoint's refusal of username: a *UserError
// when it concerns that user alone, ErrOrgRefused when it concerns the
// app (every user).
func (o *Org) refusal(username string, te *TokenError) error {
	d := strings.ToLower(te.Description)
	user := func(p UserProblem, reason string) error {
		return &provider.Error{Class: provider.ClassGrantGone, Reason: reason, Err: &UserError{Username: username, Problem: p, Reason: reason, Err: te}}
	}
	org := func(reason string) error {
		return &provider.Error{Class: provider.ClassGrantGone, Reason: reason, Err: fmt.Errorf("%w: %w", ErrOrgRefused, te)}
	}
	switch {
	case te.Code == "invalid_client_id" || strings.Contains(d, "client identifier invalid"):
		return org(fmt.Sprintf("Salesforce does not know the consumer key %s: copy it from the External Client App (Settings → OAuth Settings → Consumer Key) and connect again.", o.cfg.ClientID))
	case strings.Contains(d, "app must be installed"):
		return org("The Inbox Sync External Client App is not installed in the Salesforce org: install it (Setup → External Client App Manager), then connect again.")
	case strings.Contains(d, "audience"):
		return org(fmt.Sprintf("Salesforce refused the sign-in's audience %s: use --login-url https://test.salesforce.com (or the sandbox's My Domain) for a sandbox, https://login.salesforce.com or the My Domain for production.", o.aud))
	case strings.Contains(d, "invalid assertion") || strings.Contains(d, "signature") || strings.Contains(d, "certificate"):
		return org(fmt.Sprintf("Salesforce could not verify Inbox Sync's signed sign-in: the certificate uploaded to the External Client App (Use digital signatures) must be the one whose private key is in %s.", o.cfg.Certificate))
	case strings.Contains(d, "expired"):
		return org("Salesforce found Inbox Sync's signed sign-in expired: check this computer's clock.")
	case te.Code == "invalid_client" || te.Code == "unauthorized_client" || te.Code == "unsupported_grant_type" || te.Code == "invalid_request":
		return org("Salesforce refused the organisation's External Client App: " + plainOr(te.Description, te.Code) + ".")
	case strings.Contains(d, "hasn't approved") || strings.Contains(d, "has not approved"):
		return user(UserNotApproved, fmt.Sprintf("Salesforce user %s may not use the Inbox Sync app: pre-authorize the app for the user's profile or a permission set of theirs (External Client App → Policies), or check the username.", username))
	case strings.Contains(d, "inactive") || strings.Contains(d, "frozen"):
		return user(UserInactive, fmt.Sprintf("Salesforce user %s is inactive or frozen: this mailbox logs nothing until the user is active again.", username))
	}
	return user(UserRefused, fmt.Sprintf("Salesforce refused a sign-in as user %s: %s.", username, plainOr(te.Description, te.Code)))
}

func plainOr(a, b string) string {
	if a != "" {
		return excerpt(a)
	}
	return b
}

// userTokens is an organisation user's token source: access tokens
// minted with the JWT bearer flow, kept for TokenLifetime.
type userTokens struct {
	org      *Org
	username string

	mu           sync.Mutex
	access       string
	id           Identity
	expiry       time.Time
	refused      error
	refusedUntil time.Time
}

func (u *userTokens) token(ctx context.Context, c *Client) (string, string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := c.cfg.Now()
	if u.access != "" && now.Before(u.expiry) {
		return u.access, u.id.InstanceURL, nil
	}
	if err := u.org.remembered(now); err != nil {
		return "", "", err
	}
	if u.refused != nil && now.Before(u.refusedUntil) {
		return "", "", u.refused
	}
	c.requests.Add(1)
	a, err := u.org.mint(ctx, u.username)
	if err != nil {
		switch {
		case errors.Is(err, ErrOrgRefused):
			u.org.remember(err, now)
		case isUserError(err):
			u.refused, u.refusedUntil = err, now.Add(userRefusalMemory)
		}
		return "", "", err
	}
	id, err := identity(map[string]string{"instance_url": a.InstanceURL, "id": a.ID})
	if err != nil {
		return "", "", provider.Failed("Salesforce's answer to the sign-in was incomplete.", err)
	}
	c.refreshes.Add(1)
	u.refused = nil
	u.access, u.id = a.AccessToken, id
	u.expiry = now.Add(u.org.cfg.TokenLifetime)
	return u.access, u.id.InstanceURL, nil
}

func isUserError(err error) bool {
	var ue *UserError
	return errors.As(err, &ue)
}

func (u *userTokens) invalidate(access string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.access == access {
		u.access = ""
	}
}

func (u *userTokens) identity(ctx context.Context, c *Client) (Identity, error) {
	if _, _, err := u.token(ctx, c); err != nil {
		return Identity{}, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.id, nil
}

// disconnect forgets the access token: the organisation's app stays.
func (u *userTokens) disconnect(context.Context, *Client) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.access, u.expiry = "", time.Time{}
	return nil
}

// LoadKey reads a PEM file holding an RSA private key (PKCS#1 "RSA
// PRIVATE KEY" or PKCS#8 "PRIVATE KEY", not encrypted) and, optionally,
// the certificate uploaded to the External Client App (it must match the
// key). It refuses a file that group or others can read (on Unix: mode &
// 0o077 != 0), saying how to fix it; no error shows key material.
func LoadKey(path string) (*rsa.PrivateKey, *x509.Certificate, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("the key file %s does not exist", path)
	case err != nil:
		return nil, nil, fmt.Errorf("reading the key file: %w", err)
	case !st.Mode().IsRegular():
		return nil, nil, fmt.Errorf("the key file %s is not a regular file", path)
	case runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0:
		return nil, nil, fmt.Errorf("the key file %s can be read by other users (mode %04o): make it readable by its owner only with: chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the key file: %w", err)
	}
	key, cert, err := parseKey(b)
	if err != nil {
		return nil, nil, fmt.Errorf("the key file %s: %w", path, err)
	}
	return key, cert, nil
}

func parseKey(data []byte) (*rsa.PrivateKey, *x509.Certificate, error) {
	var key *rsa.PrivateKey
	var certs []*x509.Certificate
	const encrypted = "the private key is encrypted: store it without a passphrase (owner-only file permissions protect it)"
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		var k any
		var err error
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, nil, errors.New("a CERTIFICATE block is not a readable X.509 certificate")
			}
			certs = append(certs, c)
			continue
		case "RSA PRIVATE KEY":
			if blk.Headers["Proc-Type"] != "" {
				return nil, nil, errors.New(encrypted)
			}
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, nil, errors.New(encrypted)
		case "EC PRIVATE KEY":
			return nil, nil, errors.New("the private key is an EC key: Salesforce's JWT bearer flow signs with RS256, an RSA key")
		default:
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("the %s block is not a readable key", blk.Type)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, nil, fmt.Errorf("the private key is a %T key: Salesforce's JWT bearer flow signs with RS256, an RSA key", k)
		}
		if key != nil {
			return nil, nil, errors.New("it holds more than one private key")
		}
		key = rk
	}
	if key == nil {
		return nil, nil, errors.New("it holds no PEM private key (\"PRIVATE KEY\" or \"RSA PRIVATE KEY\")")
	}
	if key.N.BitLen() < 2048 {
		return nil, nil, fmt.Errorf("the RSA key has %d bits: use 2048 at least", key.N.BitLen())
	}
	if len(certs) == 0 {
		return key, nil, nil
	}
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&key.PublicKey) {
			return key, c, nil
		}
	}
	return nil, nil, errors.New("no certificate in it matches the private key")
}
