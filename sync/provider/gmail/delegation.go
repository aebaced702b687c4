package gmail

// Google Workspace domain-wide delegation (organisation mode): one service
// account reads every mailbox of a domain. For each user the service
// account asks Google's token endpoint for a token with the JWT-bearer
// grant (RFC 7523): an assertion signed RS256 with the account's key, iss
// the account's email, sub the user's address, aud the token endpoint,
// scope DelegationScopes, iat and exp an hour apart. The token reads that
// user's Gmail and primary calendar through users/me, with the same
// requests as a desktop sign-in: the scopes are the same (gmail.metadata
// and calendar.events.readonly), so nothing in the request shapes differs
// (no q on messages.list, format=metadata on messages.get).
//
// Google's token endpoint answers, and what they mean here:
//
//	unauthorized_client "Client is unauthorized to retrieve access tokens
//	  using this method, or client not authorized for any of the scopes
//	  requested."                     the domain's admin has not authorised
//	                                  the client ID for these scopes
//	invalid_grant "Invalid JWT Signature."       the key was deleted
//	invalid_grant "Invalid grant: account not found", "Robot is disabled."
//	                                  the service account is disabled or deleted
//	invalid_client, deleted_client, disabled_client   likewise
//	invalid_grant "Invalid email or User ID"     sub is not a user of the
//	                                  domain (outside it, deleted, suspended)
//	invalid_grant "Invalid JWT: Token must be a short-lived token …"
//	                                  this machine's clock is off
//
// The first four are ErrDelegationRefused (every mailbox is refused);
// the user's is a GrantGone of that mailbox only.

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"golang.org/x/oauth2/jwt"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/internal/httpapi"
)

// DelegationScopes are the scopes asked for each user: the least a sync
// needs, the same as a desktop sign-in's. The Admin console's
// domain-wide delegation entry must list both.
var DelegationScopes = []string{ScopeGmailMetadata, ScopeCalendarEvents}

// ErrDelegationRefused (errors.Is) marks Google's refusal of the service
// account itself: domain-wide delegation not granted for these scopes,
// the key deleted, the account disabled or deleted. It is an
// organisation-wide incident, not one of a mailbox. Such an error is also
// a provider.Error of class GrantGone whose reason tells an administrator
// what to do.
var ErrDelegationRefused = errors.New("domain-wide delegation refused by Google")

// maxKeyFile bounds what LoadServiceAccount reads: Google's key files are
// about 2.3 KB.
const maxKeyFile = 64 << 10

// ServiceAccount is a service account's key (from the JSON key file Google
// Cloud issues). Its String and GoString name the account, never the key.
type ServiceAccount struct {
	email, clientID, keyID, tokenURI string
	raw                              []byte // the key file, for google.JWTConfigFromJSON
}

// Email returns the service account's address (client_email).
func (k *ServiceAccount) Email() string { return k.email }

// ClientID returns the service account's client ID (its numeric unique
// ID, client_id): the one an administrator authorises for domain-wide
// delegation in the Admin console.
func (k *ServiceAccount) ClientID() string { return k.clientID }

// TokenURL returns the key's token_uri (DefaultTokenURL when it has none).
func (k *ServiceAccount) TokenURL() string { return k.tokenURI }

// String names the service account; the key stays out of logs.
func (k *ServiceAccount) String() string {
	return "service account " + k.email + " (client ID " + k.clientID + ")"
}

// GoString is String, so that %#v shows no key either.
func (k *ServiceAccount) GoString() string { return k.String() }

// LoadServiceAccount reads a JSON key file ("type": "service_account"). On
// Unix it refuses a file that group or others can read, saying so and how
// to fix it (chmod 600). No error carries key material.
func LoadServiceAccount(path string) (*ServiceAccount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the service account key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading the service account key file: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%w: %s is a directory, not a service account key file", api.ErrInvalid, path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: the service account key file %s can be read by other users of this machine (mode %04o); it holds a private key: make it readable by its owner only (chmod 600 %s)",
			api.ErrInvalid, path, st.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading the service account key file: %w", err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%w: %s is too large to be a service account key file (Google's are about 2 KB)", api.ErrInvalid, path)
	}
	k, err := ParseServiceAccount(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseServiceAccount reads a JSON key file's content (for a key kept
// elsewhere than in a file). No error carries key material.
func ParseServiceAccount(data []byte) (*ServiceAccount, error) {
	var kf struct {
		Type         string          `json:"type"`
		PrivateKeyID string          `json:"private_key_id"`
		PrivateKey   string          `json:"private_key"`
		ClientEmail  string          `json:"client_email"`
		ClientID     string          `json:"client_id"`
		TokenURI     string          `json:"token_uri"`
		Installed    json.RawMessage `json:"installed"`
		Web          json.RawMessage `json:"web"`
	}
	if err := json.Unmarshal(data, &kf); err != nil {
		// The JSON error is not repeated: it may quote the file.
		return nil, fmt.Errorf("%w: this is not a service account key file: it is not JSON (download the key again: Google Cloud console, IAM & Admin → Service accounts → the account → Keys → Add key → JSON)", api.ErrInvalid)
	}
	switch {
	case kf.Type == "service_account":
	case kf.Installed != nil || kf.Web != nil:
		return nil, fmt.Errorf("%w: this is an OAuth client file (client_secret_….json), not a service account key: organisation mode needs the JSON key of a service account with domain-wide delegation (docs/gmail.md)", api.ErrInvalid)
	case kf.Type == "authorized_user":
		return nil, fmt.Errorf("%w: this is a user's sign-in (gcloud auth application-default login), not a service account key: organisation mode needs the JSON key of a service account with domain-wide delegation (docs/gmail.md)", api.ErrInvalid)
	case kf.Type == "external_account" || kf.Type == "impersonated_service_account":
		return nil, fmt.Errorf("%w: this is a %s credential configuration, which Inbox Sync does not support: it needs the JSON key of a service account with domain-wide delegation", api.ErrInvalid, strings.ReplaceAll(kf.Type, "_", " "))
	case kf.Type == "":
		return nil, fmt.Errorf("%w: this JSON file is not a service account key file (it has no \"type\": \"service_account\")", api.ErrInvalid)
	default:
		return nil, fmt.Errorf("%w: this is a credentials file of type %q, not a service account key (\"type\": \"service_account\")", api.ErrInvalid, httpapi.Excerpt(kf.Type))
	}
	if at := strings.IndexByte(kf.ClientEmail, '@'); at <= 0 || at == len(kf.ClientEmail)-1 || strings.ContainsAny(kf.ClientEmail, " \t\r\n") {
		return nil, fmt.Errorf("%w: the service account key file has no valid client_email", api.ErrInvalid)
	}
	if kf.ClientID == "" || strings.Trim(kf.ClientID, "0123456789") != "" {
		return nil, fmt.Errorf("%w: the service account key file of %s has no numeric client_id", api.ErrInvalid, kf.ClientEmail)
	}
	if err := checkPrivateKey(kf.PrivateKey); err != nil {
		return nil, fmt.Errorf("%w: the private_key of the service account key file of %s %s: download a new key", api.ErrInvalid, kf.ClientEmail, err)
	}
	tokenURI := kf.TokenURI
	if tokenURI == "" {
		tokenURI = DefaultTokenURL
	}
	tokenURI, err := httpapi.CheckURL("token_uri of the service account key", tokenURI)
	if err != nil {
		return nil, err
	}
	if _, err := google.JWTConfigFromJSON(data); err != nil {
		return nil, fmt.Errorf("%w: the service account key file of %s cannot be used", api.ErrInvalid, kf.ClientEmail)
	}
	return &ServiceAccount{email: kf.ClientEmail, clientID: kf.ClientID, keyID: kf.PrivateKeyID, tokenURI: tokenURI, raw: data}, nil
}

// checkPrivateKey checks that s is an RSA private key in PEM (PKCS#8, as
// Google issues, or PKCS#1); its error says what is wrong in words only.
func checkPrivateKey(s string) error {
	if s == "" {
		return errors.New("is missing")
	}
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return errors.New("is not a PEM-encoded key")
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		if _, ok := k.(*rsa.PrivateKey); ok {
			return nil
		}
		return errors.New("is not an RSA key")
	}
	if _, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return nil
	}
	return errors.New("cannot be read as an RSA private key")
}

// DelegationConfig configures domain-wide delegation.
type DelegationConfig struct {
	// Key is the service account's key (required).
	Key *ServiceAccount
	// TokenURL is the token endpoint: the key's token_uri when empty
	// (tests, private endpoints).
	TokenURL string
	// GmailEndpoint is the Gmail API base URL (DefaultGmailEndpoint when
	// empty).
	GmailEndpoint string
	// CalendarEndpoint is the Calendar API base URL
	// (DefaultCalendarEndpoint when empty).
	CalendarEndpoint string
	// HTTPClient makes every request, the token requests too (nil:
	// http.DefaultClient).
	HTTPClient *http.Client
	// PageSize, Batch: as Options.
	PageSize int
	Batch    int
	// Quota paces each mailbox's Gmail requests in quota units a second
	// (0: DefaultQuota; negative: no pacing).
	Quota float64
	// Now is the clock of the calendar window and of Retry-After dates
	// (nil: time.Now). Token lifetimes are measured in real time, as the
	// assertions are dated.
	Now func() time.Time
}

// tokenMargin is how long before its expiry a cached token is renewed.
const tokenMargin = 5 * time.Minute

// Delegation hands out providers for the users of a domain. It is safe for
// concurrent use and caches each user's access token until shortly before
// it expires.
type Delegation struct {
	cfg DelegationConfig
	jwt *jwt.Config // the template; Subject is set per user

	mu    sync.Mutex
	users map[string]*userTokens // by lower-case address
}

// NewDelegation checks cfg and returns a Delegation.
func NewDelegation(cfg DelegationConfig) (*Delegation, error) {
	if cfg.Key == nil {
		return nil, errors.New("gmail: domain-wide delegation needs a service account key")
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = cfg.Key.tokenURI
	}
	var err error
	if cfg.TokenURL, err = httpapi.CheckURL("token URL", cfg.TokenURL); err != nil {
		return nil, err
	}
	if cfg.GmailEndpoint == "" {
		cfg.GmailEndpoint = DefaultGmailEndpoint
	}
	if cfg.CalendarEndpoint == "" {
		cfg.CalendarEndpoint = DefaultCalendarEndpoint
	}
	if _, _, err := httpapi.Base("Gmail endpoint", cfg.GmailEndpoint); err != nil {
		return nil, err
	}
	if _, _, err := httpapi.Base("Calendar endpoint", cfg.CalendarEndpoint); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	switch {
	case cfg.Quota == 0:
		cfg.Quota = DefaultQuota
	case cfg.Quota < 0:
		cfg.Quota = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	jc, err := google.JWTConfigFromJSON(cfg.Key.raw, DelegationScopes...)
	if err != nil {
		return nil, fmt.Errorf("%w: the key of %s cannot be used", api.ErrInvalid, cfg.Key.email)
	}
	// The assertion's aud is the token URL; exp stays iat + 1 h (setting
	// Expires would make it 10 s longer than Google allows).
	jc.TokenURL = cfg.TokenURL
	return &Delegation{cfg: cfg, jwt: jc, users: map[string]*userTokens{}}, nil
}

// Key returns the service account.
func (d *Delegation) Key() *ServiceAccount { return d.cfg.Key }

// checkUser checks a mailbox address given for sub.
func checkUser(user string) error {
	at := strings.IndexByte(user, '@')
	if len(user) > 254 || at <= 0 || at != strings.LastIndexByte(user, '@') || at == len(user)-1 ||
		strings.ContainsFunc(user, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("%w: %q is not a mailbox address (user@domain)", api.ErrInvalid, httpapi.Excerpt(user))
	}
	return nil
}

// tokens returns user's token source, made on first use.
func (d *Delegation) tokens(user string) (*userTokens, error) {
	user = strings.TrimSpace(user)
	if err := checkUser(user); err != nil {
		return nil, err
	}
	key := strings.ToLower(user)
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.users[key]
	if t == nil {
		if len(d.users) >= 4096 {
			d.sweep()
		}
		t = &userTokens{d: d, user: user, fetching: make(chan struct{}, 1)}
		d.users[key] = t
	}
	return t, nil
}

// sweep forgets the users whose tokens expired; d.mu is held.
func (d *Delegation) sweep() {
	now := time.Now()
	for k, t := range d.users {
		t.mu.Lock()
		gone := t.access == "" || now.After(t.expiry)
		t.mu.Unlock()
		if gone && len(t.fetching) == 0 {
			delete(d.users, k)
		}
	}
}

// Mailbox returns a provider.Provider reading user's Gmail and primary
// calendar with the service account's token for user.
func (d *Delegation) Mailbox(user string) (*Provider, error) {
	t, err := d.tokens(user)
	if err != nil {
		return nil, err
	}
	p, err := New(Options{GmailEndpoint: d.cfg.GmailEndpoint, CalendarEndpoint: d.cfg.CalendarEndpoint, HTTPClient: d.cfg.HTTPClient,
		Tokens: t, PageSize: d.cfg.PageSize, Batch: d.cfg.Batch, Quota: d.cfg.Quota, Now: d.cfg.Now})
	if err != nil {
		return nil, err
	}
	p.delegated = d.cfg.Key
	return p, nil
}

// Check gets a token for user: it verifies the key and the delegation (at
// `org credentials` time). Its errors are Token's.
func (d *Delegation) Check(ctx context.Context, user string) error {
	t, err := d.tokens(user)
	if err != nil {
		return err
	}
	_, err = t.Token(ctx)
	return err
}

// userTokens is one user's token source (httpapi.Tokens): the cached
// token, and one request for a new one at a time.
type userTokens struct {
	d        *Delegation
	user     string
	fetching chan struct{} // held while a token is asked for

	mu     sync.Mutex
	access string
	expiry time.Time
}

// cached returns the cached token when it is good for longer than the
// margin.
func (t *userTokens) cached() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access != "" && time.Until(t.expiry) > tokenMargin {
		return t.access
	}
	return ""
}

// Token returns user's access token, asking Google for one when none is
// cached or it expires within the margin. Its errors are classified (see
// the file comment).
func (t *userTokens) Token(ctx context.Context) (string, error) {
	if a := t.cached(); a != "" {
		return a, nil
	}
	select {
	case t.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-t.fetching }()
	if a := t.cached(); a != "" { // another request fetched it meanwhile
		return a, nil
	}
	tok, err := t.d.fetch(ctx, t.user)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	t.access = tok.AccessToken
	t.expiry = tok.Expiry
	if t.expiry.IsZero() {
		t.expiry = time.Now().Add(time.Hour)
	}
	t.mu.Unlock()
	return tok.AccessToken, nil
}

// Invalidate forgets access (Google refused it): the next Token asks for
// a new one.
func (t *userTokens) Invalidate(access string) {
	t.mu.Lock()
	if t.access == access {
		t.access = ""
	}
	t.mu.Unlock()
}

// ctxTransport sends the token request with the caller's context (the
// jwt package's request has none) and keeps the transport's error, which
// the jwt package flattens into text.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
	err  error
}

func (c *ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r.WithContext(c.ctx))
	if err != nil {
		c.err = err
	}
	return resp, err
}

// fetch asks Google's token endpoint for user's token.
func (d *Delegation) fetch(ctx context.Context, user string) (*oauth2.Token, error) {
	jc := *d.jwt
	jc.Subject = user
	base := d.cfg.HTTPClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	tr := &ctxTransport{ctx: ctx, base: base}
	hc := &http.Client{Transport: tr, Timeout: d.cfg.HTTPClient.Timeout}
	tok, err := jc.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc)).Token()
	if err == nil {
		if tok.AccessToken == "" {
			return nil, provider.Failed("Google's token endpoint sent an answer without an access token.", errors.New("no access_token"))
		}
		return tok, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if tr.err != nil {
		return nil, provider.Offline(fmt.Errorf("reaching Google's token endpoint: %w", httpapi.StripURL(tr.err)))
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return nil, d.refusal(user, re)
	}
	// A local failure (the key) or an unreadable answer; the jwt
	// package's text carries neither the key nor a token.
	return nil, provider.Failed("Inbox Sync could not get a token for "+user+" from Google with "+d.cfg.Key.String()+".", errors.New(httpapi.Excerpt(err.Error())))
}

// TokenError is an error answer of Google's token endpoint to a service
// account's assertion. Its fields come from the server and carry no
// secret.
type TokenError struct {
	Status      int
	Code        string // error: invalid_grant, unauthorized_client, …
	Description string // error_description
}

// Error returns the status, code and description.
func (e *TokenError) Error() string {
	s := "Google's token endpoint answered " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + httpapi.Excerpt(e.Description)
	}
	return s
}

// refusal classifies the token endpoint's error answer for user.
func (d *Delegation) refusal(user string, re *oauth2.RetrieveError) error {
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.Unmarshal(re.Body, &body)
	te := &TokenError{Status: re.Response.StatusCode, Code: body.Error, Description: body.Description}
	k := d.cfg.Key
	refused := func(reason string) error {
		return provider.GrantGone(reason, fmt.Errorf("%w: %w", ErrDelegationRefused, te))
	}
	desc := strings.ToLower(te.Description)
	switch {
	case te.Status == http.StatusTooManyRequests || te.Status == http.StatusServiceUnavailable:
		d := auth.RetryAfterHeader(re.Response.Header.Get("Retry-After"), d.cfg.Now())
		if d <= 0 {
			d = backoffFirst
		}
		return provider.Throttled(d, te)
	case te.Status >= 500:
		return provider.Offline(te)
	case te.Code == "unauthorized_client":
		return refused("Google does not let " + k.String() + " act for the users of the domain: in the Google Admin console, Security → API controls → Domain-wide delegation, add client ID " + k.clientID +
			" with the scopes " + strings.Join(DelegationScopes, ",") + " (both scopes; a change usually applies within minutes, at worst within 24 hours).")
	case te.Code == "invalid_client" || te.Code == "deleted_client" || te.Code == "disabled_client":
		return refused("Google does not accept " + k.String() + ": it was disabled or deleted in Google Cloud. Enable it, or create a service account with domain-wide delegation and install its key.")
	case te.Code == "invalid_grant" && strings.Contains(desc, "invalid jwt signature"):
		return refused("Google refused the key of " + k.String() + " (key ID " + k.keyID + "): it was deleted or replaced in Google Cloud (IAM & Admin → Service accounts → Keys). Create a new JSON key and install it.")
	case te.Code == "invalid_grant" && (strings.Contains(desc, "account not found") || strings.Contains(desc, "robot is disabled") || strings.Contains(desc, "account has been deleted")):
		return refused("Google says " + k.String() + " is disabled or deleted in Google Cloud (IAM & Admin → Service accounts): enable it, or create a new one with domain-wide delegation and install its key.")
	case te.Code == "invalid_grant" && strings.Contains(desc, "invalid jwt"):
		// iat/exp out of Google's window, audience: this machine's
		// clock or the token URL, not the account.
		return provider.Failed("Google refused the service account's request as wrongly dated: check that this server's clock is right (NTP), and the token URL.", te)
	case te.Code == "invalid_grant":
		return provider.GrantGone("Google refused to let "+k.String()+" act for "+user+": the address is not a user of the Google Workspace domain, or the user was deleted or suspended. Check the address in the Google Admin console (Directory → Users).", te)
	case te.Code == "invalid_scope":
		return provider.Failed("Google refused the scopes Inbox Sync asks for.", te)
	case te.Code == "admin_policy_enforced":
		return provider.GrantGone("A policy of the Google Workspace domain does not let "+k.String()+" read "+user+"'s mailbox (Admin console, Security → API controls).", te)
	}
	return provider.Failed("Google's token endpoint refused the service account's request.", te)
}
