package sftest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// The OAuth 2.0 JWT bearer flow for server-to-server integration, as
// Salesforce documents it: the client POSTs grant_type=
// urn:ietf:params:oauth:grant-type:jwt-bearer and assertion=JWT to
// /services/oauth2/token; the JWT is signed RS256 with the key of a
// certificate uploaded to the app, iss is the app's consumer key, sub the
// username, aud the login host, exp within 3 minutes. The answer has
// access_token, instance_url, id, token_type and scope, no refresh
// token. Refusals are 400 {"error","error_description"}:
//
//   - an unknown consumer key: invalid_client_id "client identifier invalid";
//   - the app not installed: invalid_client "app must be installed into org";
//   - a signature no uploaded certificate verifies, a malformed JWT, an
//     algorithm other than RS256, or an exp too far ahead: invalid_grant
//     "invalid assertion";
//   - a wrong aud: invalid_grant "audience is invalid";
//   - exp past: invalid_grant "expired authorization code";
//   - sub no user's username, or a user the app is not pre-authorized for:
//     invalid_grant "user hasn't approved this consumer";
//   - sub an inactive user: invalid_grant "inactive user".

const jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// maxAssertionAhead is how far ahead an assertion's exp may be:
// Salesforce's 3 minutes, and a little for clocks.
const maxAssertionAhead = 3*time.Minute + 10*time.Second

// RegisterJWT registers the External Client App with consumerKey and
// uploads cert to it ("Use digital signatures"); another call with the
// same key adds a certificate.
func (s *Server) RegisterJWT(consumerKey string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jwtApps[consumerKey] = append(s.jwtApps[consumerKey], cert)
}

// ReplaceJWTCertificate makes cert the app's only certificate (the admin
// replaced it).
func (s *Server) ReplaceJWTCertificate(consumerKey string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jwtApps[consumerKey] = []*x509.Certificate{cert}
}

// Audience returns the aud assertions must carry.
func (s *Server) Audience() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.audience
}

// AddUser adds a Salesforce User and returns its id; preauthorized says
// whether the app is pre-authorized for the user (by profile or
// permission set).
func (s *Server) AddUser(username, email string, active, preauthorized bool) string {
	id := s.Add("User", map[string]any{"Username": username, "Email": email, "IsActive": active, "Name": username})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.preauth[id] = preauthorized
	return id
}

// SetUserActive activates or deactivates the user with username.
func (s *Server) SetUserActive(username string, active bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id := s.userByName(username); id != "" {
		s.records[id].fields["IsActive"] = active
	}
}

// SetPreauthorized pre-authorizes the app for the user with username, or
// withdraws it.
func (s *Server) SetPreauthorized(username string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id := s.userByName(username); id != "" {
		s.preauth[id] = ok
	}
}

// userByName returns the id of the User with username (Salesforce
// usernames are case-insensitive), or "". Callers hold mu.
func (s *Server) userByName(username string) string {
	for id, r := range s.records {
		if r.object != "User" {
			continue
		}
		if n, _ := r.fields["Username"].(string); n != "" && strings.EqualFold(n, username) {
			return id
		}
	}
	return ""
}

// jwtGrant answers a JWT bearer grant. Callers hold mu.
func (s *Server) jwtGrant(w http.ResponseWriter, assertion string) {
	s.counts["jwt"]++
	bad := func(code, desc string) { oauthError(w, http.StatusBadRequest, code, desc) }
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		bad("invalid_grant", "invalid assertion")
		return
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp *float64        `json:"exp"`
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		bad("invalid_grant", "invalid assertion")
		return
	}
	certs, known := s.jwtApps[claims.Iss]
	if !known {
		bad("invalid_client_id", "client identifier invalid")
		return
	}
	if s.notInstalled {
		bad("invalid_client", "app must be installed into org")
		return
	}
	if header.Alg != "RS256" {
		bad("invalid_grant", "invalid assertion")
		return
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	verified := false
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
			verified = true
			break
		}
	}
	if !verified {
		bad("invalid_grant", "invalid assertion")
		return
	}
	var aud string
	if json.Unmarshal(claims.Aud, &aud) != nil {
		var list []string
		if json.Unmarshal(claims.Aud, &list) == nil && len(list) == 1 {
			aud = list[0]
		}
	}
	if strings.TrimRight(aud, "/") != strings.TrimRight(s.audience, "/") {
		bad("invalid_grant", "audience is invalid")
		return
	}
	now := time.Now()
	switch {
	case claims.Exp == nil:
		bad("invalid_grant", "invalid assertion")
		return
	case time.Unix(int64(*claims.Exp), 0).Before(now):
		bad("invalid_grant", "expired authorization code")
		return
	case time.Unix(int64(*claims.Exp), 0).After(now.Add(maxAssertionAhead)):
		bad("invalid_grant", "invalid assertion")
		return
	}
	id := s.userByName(claims.Sub)
	if id == "" {
		bad("invalid_grant", "user hasn't approved this consumer")
		return
	}
	if active, _ := s.records[id].fields["IsActive"].(bool); !active {
		bad("invalid_grant", "inactive user")
		return
	}
	if !s.preauth[id] {
		bad("invalid_grant", "user hasn't approved this consumer")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": s.newSession(id),
		"instance_url": s.URL,
		"id":           s.URL + "/id/" + OrgID + "/" + id,
		"token_type":   "Bearer",
		"scope":        "api",
		"issued_at":    fmt.Sprint(now.UnixMilli()),
		"signature":    random(32),
	})
}

// NewKeyPair returns a new 2048-bit RSA key with a self-signed
// certificate: the certificate to upload (RegisterJWT), and a PEM file's
// content holding the key and the certificate.
func NewKeyPair(t interface{ Fatal(...any) }) (*x509.Certificate, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "Inbox Sync org"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	return cert, out
}
