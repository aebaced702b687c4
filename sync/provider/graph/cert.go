package graph

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Certificate is a certificate credential: the X.509 certificate registered
// on the app and its private key. It never shows the key (not in errors,
// not through fmt).
type Certificate struct {
	cert    *x509.Certificate
	key     *rsa.PrivateKey
	x5tS256 string
	x5t     string
}

// String names the certificate by subject and thumbprint, never its key.
func (c *Certificate) String() string {
	return fmt.Sprintf("certificate %q (x5t#S256 %s)", c.cert.Subject.CommonName, c.x5tS256)
}

// Thumbprint returns the certificate's SHA-256 thumbprint as Entra shows it
// in x5t#S256: base64url of the SHA-256 of the DER certificate.
func (c *Certificate) Thumbprint() string { return c.x5tS256 }

// SHA1Thumbprint returns the certificate's SHA-1 thumbprint in hex, upper
// case, as the Entra admin center lists it under Certificates & secrets.
func (c *Certificate) SHA1Thumbprint() string {
	h := sha1.Sum(c.cert.Raw)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

// NotAfter returns when the certificate expires.
func (c *Certificate) NotAfter() time.Time { return c.cert.NotAfter }

// checkPrivate refuses a secret file that group or others may read.
func checkPrivate(what, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("the %s %s does not exist", what, path)
		}
		return fmt.Errorf("reading the %s: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("the %s %s is not a regular file", what, path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("the %s %s can be read by other users (mode %04o): make it readable by its owner only with: chmod 600 %s", what, path, st.Mode().Perm(), path)
	}
	return nil
}

// LoadCertificate reads a PEM file holding the private key (RSA, PKCS#1 or
// PKCS#8) and the certificate. It refuses a file that group or others can
// read (on Unix: mode & 0o077 != 0) saying so and how to fix it (chmod
// 600); no key material in any error.
func LoadCertificate(path string) (*Certificate, error) {
	if err := checkPrivate("certificate key file", path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the certificate key file: %w", err)
	}
	c, err := ParseCertificate(b)
	if err != nil {
		return nil, fmt.Errorf("the certificate key file %s: %w", path, err)
	}
	return c, nil
}

// ParseCertificate reads PEM data holding an RSA private key (PKCS#1 "RSA
// PRIVATE KEY" or PKCS#8 "PRIVATE KEY", not encrypted) and the certificate
// whose public key it matches (other certificates, a chain, are ignored).
// Its errors name what is wrong, never the key's content.
func ParseCertificate(data []byte) (*Certificate, error) {
	var key *rsa.PrivateKey
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, errors.New("a CERTIFICATE block is not a readable X.509 certificate")
			}
			certs = append(certs, c)
		case "RSA PRIVATE KEY":
			if key != nil {
				return nil, errors.New("it holds more than one private key")
			}
			if blk.Headers["Proc-Type"] != "" {
				return nil, errors.New("the private key is encrypted: store it without a passphrase (owner-only file permissions protect it)")
			}
			k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
			if err != nil {
				return nil, errors.New("the RSA PRIVATE KEY block is not a readable PKCS#1 key")
			}
			key = k
		case "PRIVATE KEY":
			if key != nil {
				return nil, errors.New("it holds more than one private key")
			}
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, errors.New("the PRIVATE KEY block is not a readable PKCS#8 key")
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("the private key is a %T key: Microsoft Entra certificate credentials need an RSA key", k)
			}
			key = rk
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted: store it without a passphrase (owner-only file permissions protect it)")
		case "EC PRIVATE KEY":
			return nil, errors.New("the private key is an EC key: Microsoft Entra certificate credentials need an RSA key")
		}
	}
	switch {
	case key == nil && len(certs) == 0:
		return nil, errors.New("it holds no PEM private key and no certificate")
	case key == nil:
		return nil, errors.New("it holds no private key (PEM \"PRIVATE KEY\" or \"RSA PRIVATE KEY\"): put the key and the certificate in one file")
	case len(certs) == 0:
		return nil, errors.New("it holds no certificate (PEM \"CERTIFICATE\"): put the key and the certificate in one file")
	}
	if key.N.BitLen() < 2048 {
		return nil, fmt.Errorf("the RSA key has %d bits: Microsoft Entra needs at least 2048", key.N.BitLen())
	}
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&key.PublicKey) {
			s256, s1 := sha256.Sum256(c.Raw), sha1.Sum(c.Raw)
			return &Certificate{cert: c, key: key,
				x5tS256: base64.RawURLEncoding.EncodeToString(s256[:]),
				x5t:     base64.RawURLEncoding.EncodeToString(s1[:])}, nil
		}
	}
	return nil, errors.New("no certificate in it matches the private key")
}

// LoadClientSecret reads a client secret from a file (same permission rule
// as LoadCertificate; a trailing newline is trimmed).
func LoadClientSecret(path string) (string, error) {
	if err := checkPrivate("client secret file", path); err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the client secret file: %w", err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("the client secret file %s is empty", path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("the client secret file %s holds more than one line: it must hold the secret's value only", path)
	}
	return s, nil
}

// assertionLifetime is how long a client assertion is valid; Microsoft
// asks for 5 to 10 minutes at most.
const assertionLifetime = 5 * time.Minute

// assertion returns a client assertion for the token endpoint tokenURL as
// Microsoft documents it (learn.microsoft.com/entra/identity-platform/
// certificate-credentials): header alg PS256, typ JWT, x5t#S256 and x5t of
// the certificate; claims aud = tokenURL, iss = sub = clientID, a fresh
// jti, nbf = iat = now, exp = now + 5 minutes.
//
// It is signed with github.com/golang-jwt/jwt/v5: x/oauth2/clientcredentials
// covers client secrets only, not certificate assertions.
func (c *Certificate) assertion(clientID, tokenURL string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	jti[6], jti[8] = jti[6]&0x0f|0x40, jti[8]&0x3f|0x80 // a version 4 UUID
	h := hex.EncodeToString(jti)
	claims := jwt.MapClaims{
		"aud": tokenURL, "iss": clientID, "sub": clientID,
		"jti": h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:],
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodPS256, claims)
	t.Header["x5t#S256"] = c.x5tS256
	t.Header["x5t"] = c.x5t
	s, err := t.SignedString(c.key)
	if err != nil {
		return "", errors.New("signing the client assertion failed")
	}
	return s, nil
}
