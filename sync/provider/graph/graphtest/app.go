package graphtest

// The Microsoft identity platform's token endpoint for the OAuth 2.0 client
// credentials grant of one registered app: a client secret, or a client
// assertion (RFC 7523) signed with a registered certificate — checked as
// Entra ID documents it (learn.microsoft.com/entra/identity-platform/
// certificate-credentials): alg RS256 or PS256, x5t#S256 (or x5t) naming a
// registered certificate, aud = the token URL, iss = sub = the client ID,
// exp in the future, nbf not in the future, a jti used once. The scope must
// be a resource's "/.default". Error answers carry error, error_description
// with an AADSTS code, and error_codes, like Entra's.

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Application permissions (app roles of Microsoft Graph).
const (
	RoleMailReadBasicAll     = "Mail.ReadBasic.All"
	RoleMailRead             = "Mail.Read"
	RoleCalendarsRead        = "Calendars.Read"
	RoleGroupMemberReadAll   = "GroupMember.Read.All"
	clientAssertionTypeJWT   = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	defaultAppTokenLifetime  = time.Hour
	graphResource            = "https://graph.microsoft.com"
	aadstsAppNotFound        = 700016
	aadstsSecretInvalid      = 7000215
	aadstsSecretExpired      = 7000222
	aadstsCertNotRegistered  = 700027
	aadstsNoCredential       = 7000218
	aadstsMissingPrincipal   = 7000229
	aadstsAssertionTimeRange = 700024
	aadstsInvalidJWT         = 50027
	aadstsInvalidScope       = 70011
	aadstsTenantNotFound     = 90002
	aadstsUnsupportedGrant   = 70003
)

// DefaultRoles are the roles a registration gets when it names none: the
// least privileges organisation mode needs.
var DefaultRoles = []string{RoleMailReadBasicAll, RoleCalendarsRead, RoleGroupMemberReadAll}

// AppRegistration is the app registered in the emulated tenant.
type AppRegistration struct {
	// Tenant is the tenant ID (a GUID); TenantDomain another accepted name
	// of it ("contoso.onmicrosoft.com").
	Tenant, TenantDomain string
	ClientID             string
	// Secret is the client secret; "" accepts none.
	Secret string
	// Certificates are the certificates uploaded to the registration.
	Certificates []*x509.Certificate
	// Roles are the application permissions granted (nil: DefaultRoles).
	Roles []string
	// TokenLifetime is the access tokens' lifetime (0: one hour).
	TokenLifetime time.Duration
}

type appToken struct {
	expires time.Time
}

// RegisterApp registers the app whose client credentials the token
// endpoint accepts, with consent granted.
func (s *Server) RegisterApp(reg AppRegistration) {
	if reg.Roles == nil {
		reg.Roles = DefaultRoles
	}
	if reg.TokenLifetime <= 0 {
		reg.TokenLifetime = defaultAppTokenLifetime
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app, s.consent, s.secretOld = &reg, true, false
}

// SetNow replaces the emulator's clock for app tokens and assertions (nil:
// time.Now).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

func (s *Server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// WithdrawConsent removes the app from the tenant (its service principal
// and the admin consent): the token endpoint refuses it as Entra does
// (invalid_client, AADSTS7000229) and tokens already issued answer 401.
func (s *Server) WithdrawConsent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.consent = false
	clear(s.tokens)
}

// ExpireSecret makes the client secret expired (AADSTS7000222).
func (s *Server) ExpireSecret() {
	s.mu.Lock()
	s.secretOld = true
	s.mu.Unlock()
}

// TokenURL returns the token endpoint of tenant.
func (s *Server) TokenURL(tenant string) string {
	return s.URL + "/" + tenant + "/oauth2/v2.0/token"
}

// TokenRequests returns how many client credentials token requests arrived.
func (s *Server) TokenRequests() int64 { return s.tokenReqs.Load() }

// isAppToken reports whether tok is a live app token.
func (s *Server) isAppToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	return ok && s.clock().Before(t.expires)
}

// hasRole reports whether the registered app holds one of roles.
func (s *Server) hasRole(roles ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return false
	}
	for _, r := range roles {
		if slices.Contains(s.app.Roles, r) {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// tokenError writes an Entra ID token endpoint error.
func tokenError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	now := time.Now().UTC()
	json.NewEncoder(w).Encode(map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, randomHex(8), randomHex(8), now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          randomHex(16),
		"correlation_id":    randomHex(16),
	})
}

// token is POST /{tenant}/oauth2/v2.0/token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.tokenReqs.Add(1)
	if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		tokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	s.mu.Lock()
	app, consent, secretOld := s.app, s.consent, s.secretOld
	now := s.clock()
	s.mu.Unlock()
	tenant := r.PathValue("tenant")
	switch {
	case app == nil || (tenant != app.Tenant && !strings.EqualFold(tenant, app.TenantDomain)):
		tokenError(w, http.StatusBadRequest, "invalid_request", aadstsTenantNotFound, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	case f.Get("grant_type") != "client_credentials":
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", aadstsUnsupportedGrant, "The provided request must include a 'grant_type' input parameter of a supported type.")
		return
	case f.Get("client_id") != app.ClientID:
		tokenError(w, http.StatusBadRequest, "unauthorized_client", aadstsAppNotFound, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", f.Get("client_id"), tenant))
		return
	}
	if scope := f.Get("scope"); scope != graphResource+"/.default" && scope != s.URL+"/.default" {
		tokenError(w, http.StatusBadRequest, "invalid_scope", aadstsInvalidScope, fmt.Sprintf("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid. The client credentials flow needs the resource's /.default scope.", scope))
		return
	}
	secret, assertion := f.Get("client_secret"), f.Get("client_assertion")
	switch {
	case secret == "" && assertion == "":
		tokenError(w, http.StatusUnauthorized, "invalid_client", aadstsNoCredential, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	case secret != "" && assertion != "":
		tokenError(w, http.StatusBadRequest, "invalid_request", 90015, "Requested query string is too long. Only one client credential may be sent.")
		return
	case secret != "":
		if app.Secret == "" || secret != app.Secret {
			tokenError(w, http.StatusUnauthorized, "invalid_client", aadstsSecretInvalid, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID))
			return
		}
		if secretOld {
			tokenError(w, http.StatusUnauthorized, "invalid_client", aadstsSecretExpired, fmt.Sprintf("The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app.", app.ClientID))
			return
		}
	default:
		if f.Get("client_assertion_type") != clientAssertionTypeJWT {
			tokenError(w, http.StatusBadRequest, "invalid_request", 900023, "Specified client_assertion_type is not supported.")
			return
		}
		if code, desc := s.checkAssertion(assertion, app, now, s.TokenURL(tenant)); code != 0 {
			tokenError(w, http.StatusUnauthorized, "invalid_client", code, desc)
			return
		}
	}
	if !consent {
		tokenError(w, http.StatusUnauthorized, "invalid_client", aadstsMissingPrincipal, fmt.Sprintf("The client application %s is missing service principal in the tenant %s.", app.ClientID, app.Tenant))
		return
	}
	access := "eyJ0eXAiOiJKV1QiLCJhcHAiOnRydWV9." + randomHex(24)
	s.mu.Lock()
	s.tokens[access] = appToken{expires: now.Add(app.TokenLifetime)}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	json.NewEncoder(w).Encode(map[string]any{
		"token_type": "Bearer", "expires_in": int(app.TokenLifetime / time.Second),
		"ext_expires_in": int(app.TokenLifetime / time.Second), "access_token": access,
	})
}

// Thumbprint returns the x5t#S256 of a certificate: base64url of the
// SHA-256 of its DER encoding.
func Thumbprint(c *x509.Certificate) string {
	h := sha256.Sum256(c.Raw)
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func thumbprintSHA1(c *x509.Certificate) string {
	h := sha1.Sum(c.Raw)
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// checkAssertion verifies a client assertion; it returns the AADSTS code
// and words of a refusal, or 0.
func (s *Server) checkAssertion(assertion string, app *AppRegistration, now time.Time, tokenURL string) (int, string) {
	var cert *x509.Certificate
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256", "PS256"}), jwt.WithoutClaimsValidation())
	claims := jwt.MapClaims{}
	_, err := parser.ParseWithClaims(assertion, claims, func(t *jwt.Token) (any, error) {
		s256, _ := t.Header["x5t#S256"].(string)
		s1, _ := t.Header["x5t"].(string)
		for _, c := range app.Certificates {
			if (s256 != "" && s256 == Thumbprint(c)) || (s256 == "" && s1 != "" && s1 == thumbprintSHA1(c)) {
				cert = c
				return c.PublicKey, nil
			}
		}
		return nil, fmt.Errorf("no registered certificate")
	})
	switch {
	case cert == nil && err != nil && strings.Contains(err.Error(), "no registered certificate"):
		return aadstsCertNotRegistered, fmt.Sprintf("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", app.ClientID)
	case cert == nil && err != nil:
		return aadstsInvalidJWT, "JWT token is invalid or malformed."
	case err != nil:
		return aadstsCertNotRegistered, "Client assertion contains an invalid signature. [Reason - The key was found but the signature did not verify.]"
	}
	str := func(k string) string { v, _ := claims[k].(string); return v }
	num := func(k string) (time.Time, bool) {
		v, ok := claims[k].(float64)
		return time.Unix(int64(v), 0), ok
	}
	aud := str("aud")
	if aud == "" {
		if l, ok := claims["aud"].([]any); ok && len(l) == 1 {
			aud, _ = l[0].(string)
		}
	}
	switch {
	case aud != tokenURL:
		return aadstsInvalidJWT, "The audience claim of the client assertion does not match the token endpoint."
	case str("iss") != app.ClientID || str("sub") != app.ClientID:
		return aadstsInvalidJWT, "The issuer and subject claims of the client assertion must be the client ID."
	case str("jti") == "":
		return aadstsInvalidJWT, "The client assertion has no jti claim."
	}
	exp, ok := num("exp")
	if !ok || !now.Before(exp) {
		return aadstsAssertionTimeRange, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid to: %s.", now.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339))
	}
	if nbf, ok := num("nbf"); ok && now.Add(5*time.Minute).Before(nbf) {
		return aadstsAssertionTimeRange, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from: %s.", now.UTC().Format(time.RFC3339), nbf.UTC().Format(time.RFC3339))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jtis[str("jti")] {
		return aadstsInvalidJWT, "The client assertion was already used: its jti must be unique."
	}
	s.jtis[str("jti")] = true
	return 0, ""
}
