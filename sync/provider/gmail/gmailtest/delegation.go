package gmailtest

// Service accounts and Google Workspace domain-wide delegation: the token
// endpoint's JWT-bearer grant (RFC 7523) as Google answers it, the Admin
// console's delegation entries, and service-account JSON keys for tests.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// GrantTypeJWTBearer is the grant type of a service account's token
// request (RFC 7523).
const GrantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Google's token endpoint answers, word for word where Google's are known.
const (
	msgUnauthorizedClient = "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
	msgBadSignature       = "Invalid JWT Signature."
	msgAccountNotFound    = "Invalid grant: account not found"
	msgBadUser            = "Invalid email or User ID"
	msgBadTime            = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	msgBadAudience        = "Invalid JWT: Failed audience check."
)

// clockSkew is how far iat may be in the future and exp in the past.
const clockSkew = 5 * time.Minute

// serviceAccount is a registered service account.
type serviceAccount struct {
	email, clientID string
	keys            map[string]*rsa.PublicKey // by key id
	disabled        bool
}

// ServiceAccountKey is a service account's key as Google Cloud issues it:
// JSON is the key file's content (with the private key as PKCS#8 PEM).
type ServiceAccountKey struct {
	Email    string
	ClientID string
	KeyID    string
	JSON     []byte
	public   *rsa.PublicKey
}

// keyFile is the JSON key file's layout.
type keyFile struct {
	Type                    string `json:"type"`
	ProjectID               string `json:"project_id"`
	PrivateKeyID            string `json:"private_key_id"`
	PrivateKey              string `json:"private_key"`
	ClientEmail             string `json:"client_email"`
	ClientID                string `json:"client_id"`
	AuthURI                 string `json:"auth_uri"`
	TokenURI                string `json:"token_uri"`
	AuthProviderX509CertURL string `json:"auth_provider_x509_cert_url"`
	ClientX509CertURL       string `json:"client_x509_cert_url"`
	UniverseDomain          string `json:"universe_domain"`
}

// NewServiceAccountKey makes a service-account JSON key for email and
// clientID (the service account's numeric unique ID) whose token_uri is
// tokenURI: a fresh 2048-bit RSA key, PKCS#8 PEM inside the JSON, and a
// random private_key_id, as Google's files have.
func NewServiceAccountKey(email, clientID, tokenURI string) (*ServiceAccountKey, error) {
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return newKey(email, clientID, tokenURI, pk)
}

// sharedKey is the RSA key of the service accounts NewServiceAccount
// makes: generating one takes long under the race detector, and each
// account's key ID (which is what DeleteKey deletes) is its own.
var sharedKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func newKey(email, clientID, tokenURI string, pk *rsa.PrivateKey) (*ServiceAccountKey, error) {
	der, err := x509.MarshalPKCS8PrivateKey(pk)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 20)
	rand.Read(id)
	_, domain, _ := strings.Cut(email, "@")
	project, _, _ := strings.Cut(domain, ".")
	kf := keyFile{
		Type: "service_account", ProjectID: project, PrivateKeyID: fmt.Sprintf("%x", id),
		PrivateKey:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		ClientEmail: email, ClientID: clientID,
		AuthURI: "https://accounts.google.com/o/oauth2/auth", TokenURI: tokenURI,
		AuthProviderX509CertURL: "https://www.googleapis.com/oauth2/v1/certs",
		ClientX509CertURL:       "https://www.googleapis.com/robot/v1/metadata/x509/" + strings.ReplaceAll(email, "@", "%40"),
		UniverseDomain:          "googleapis.com",
	}
	b, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return nil, err
	}
	return &ServiceAccountKey{Email: email, ClientID: clientID, KeyID: kf.PrivateKeyID, JSON: append(b, '\n'), public: &pk.PublicKey}, nil
}

// WriteFile writes the key into dir as Google Cloud's download would be
// named, readable by its owner only (0600), and returns its path.
func (k *ServiceAccountKey) WriteFile(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "project-"+k.KeyID[:12]+".json")
	if err := os.WriteFile(p, k.JSON, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// NewServiceAccount creates a service account named name in the emulated
// Google Cloud project with one key, registers the key, and returns it.
// Its delegation is not authorised yet: see AuthorizeDelegation. The
// accounts it makes share one RSA key (each has its own key ID); use
// NewServiceAccountKey and RegisterKey for a key of one's own.
func (s *Server) NewServiceAccount(t testing.TB, name string) *ServiceAccountKey {
	t.Helper()
	n, _ := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(20), nil))
	pk, err := sharedKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := newKey(name+"@inboxsync-test.iam.gserviceaccount.com", fmt.Sprintf("1%020d", n), s.TokenURL(), pk)
	if err != nil {
		t.Fatal(err)
	}
	s.RegisterKey(k)
	return k
}

// RegisterKey registers k's public key for its service account (created
// on first use).
func (s *Server) RegisterKey(k *ServiceAccountKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[k.Email]
	if a == nil {
		a = &serviceAccount{email: k.Email, clientID: k.ClientID, keys: map[string]*rsa.PublicKey{}}
		s.accounts[k.Email] = a
	}
	a.keys[k.KeyID] = k.public
}

// AuthorizeDelegation is the Admin console's Security → API controls →
// Domain-wide delegation entry: the service account whose client ID is
// clientID may act for the domain's users with these scopes (and no
// others). It replaces an entry already there; no scopes removes it.
func (s *Server) AuthorizeDelegation(clientID string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(scopes) == 0 {
		delete(s.delegation, clientID)
		return
	}
	s.delegation[clientID] = slices.Clone(scopes)
}

// DeleteKey deletes a service account key: assertions it signs answer
// invalid_grant "Invalid JWT Signature.".
func (s *Server) DeleteKey(keyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		delete(a.keys, keyID)
	}
}

// DisableServiceAccount disables a service account: its assertions answer
// invalid_grant "Invalid grant: account not found", as Google answers for
// a disabled or deleted one.
func (s *Server) DisableServiceAccount(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[email]; a != nil {
		a.disabled = true
	}
}

// Assertions returns how many JWT-bearer grants for subject (a user's
// address; "" for the service account itself) were answered with a token.
func (s *Server) Assertions(subject string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assertions[strings.ToLower(subject)]
}

// jwtHeader and jwtClaims are the parts of an assertion that are checked.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

type jwtClaims struct {
	Iss   string `json:"iss"`
	Sub   string `json:"sub"`
	Prn   string `json:"prn"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

// jwtBearer answers the JWT-bearer grant; s.mu is held. The checks, in
// order: a readable assertion; a known, enabled service account (iss);
// the signature with one of its keys (the header's kid); aud the token
// endpoint; iat and exp at most an hour apart around now; a scope; the
// subject a user of the domain; and, for a subject, every scope in the
// Admin console's delegation entry for the account's client ID.
func (s *Server) jwtBearer(w http.ResponseWriter, assertion string) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: not a JWS compact serialization.")
		return
	}
	var h jwtHeader
	var c jwtClaims
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: the assertion could not be decoded.")
		return
	}
	a := s.accounts[c.Iss]
	if a == nil || a.disabled {
		oauthError(w, http.StatusBadRequest, "invalid_grant", msgAccountNotFound)
		return
	}
	if h.Alg != "RS256" {
		oauthError(w, http.StatusBadRequest, "invalid_grant", msgBadSignature)
		return
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	ok := false
	for kid, pub := range a.keys {
		if (h.Kid == "" || h.Kid == kid) && rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
			ok = true
			break
		}
	}
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_grant", msgBadSignature)
		return
	}
	if c.Aud != s.TokenURL() {
		oauthError(w, http.StatusBadRequest, "invalid_grant", msgBadAudience)
		return
	}
	now := time.Now()
	iat, exp := time.Unix(c.Iat, 0), time.Unix(c.Exp, 0)
	if c.Iat == 0 || c.Exp == 0 || exp.Sub(iat) > time.Hour || !exp.After(iat) || iat.After(now.Add(clockSkew)) || exp.Before(now.Add(-clockSkew)) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", msgBadTime)
		return
	}
	scopes := strings.Fields(c.Scope)
	if len(scopes) == 0 {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
		return
	}
	sub := c.Sub
	if sub == "" {
		sub = c.Prn
	}
	g := &grant{scope: strings.Join(scopes, " ")}
	if sub == "" {
		g.robot = true
	} else {
		g.box = s.userLocked(sub)
		if g.box == nil {
			oauthError(w, http.StatusBadRequest, "invalid_grant", msgBadUser)
			return
		}
		allowed := s.delegation[a.clientID]
		for _, sc := range scopes {
			if !slices.Contains(allowed, sc) {
				oauthError(w, http.StatusUnauthorized, "unauthorized_client", msgUnauthorizedClient)
				return
			}
		}
	}
	s.assertions[strings.ToLower(sub)]++
	at := "ya29.c." + random()
	s.access[at] = g
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "expires_in": max(int(s.AccessLifetime/time.Second)-1, 1), "token_type": "Bearer"})
}
