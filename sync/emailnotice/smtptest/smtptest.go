// Package smtptest runs a real SMTP relay in-process for tests (go-smtp's
// server): STARTTLS or implicit TLS with its own certificate authority,
// AUTH PLAIN and LOGIN, and what it received, for the notices' tests and
// the end-to-end tests of the binary. Test code only.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message the relay accepted.
type Mail struct {
	From string
	To   []string
	// Header is the parsed header; Body the decoded text body.
	Header mail.Header
	Body   string
	// Auth is the user who authenticated ("" for none), Mech the SASL
	// mechanism, TLS whether the session was encrypted.
	Auth string
	Mech string
	TLS  bool
}

// Subject returns the decoded Subject header.
func (m Mail) Subject() string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}

// Options shape the relay.
type Options struct {
	// Implicit serves TLS from the first byte (port 465 style) instead of
	// STARTTLS.
	Implicit bool
	// Plain serves no TLS at all.
	Plain bool
	// Username and Password, when set, are required (AUTH PLAIN or LOGIN).
	Username, Password string
	// Mechanisms limits the AUTH mechanisms offered (default PLAIN and
	// LOGIN).
	Mechanisms []string
}

// Server is a running relay.
type Server struct {
	Host string
	Port int
	// CAPEM is the PEM of the authority that signed its certificate;
	// CAFile the same in a file (for SSL_CERT_FILE); Pool as a pool.
	CAPEM  []byte
	CAFile string
	Pool   *x509.CertPool

	opts Options
	srv  *smtp.Server
	l    net.Listener
	addr string

	mu      sync.Mutex
	mails   []Mail
	refused map[string]bool
	arrived chan struct{}
	tlsConf *tls.Config
	stopped bool
}

// Start starts a relay on 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, refused: map[string]bool{}, arrived: make(chan struct{}, 100)}
	s.makeCerts(t)
	if err := s.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

func (s *Server) listen(addr string) error {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "relay.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = s.opts.Plain
	var (
		l   net.Listener
		err error
	)
	if s.opts.Implicit {
		l, err = tls.Listen("tcp", addr, s.tlsConf)
	} else {
		if !s.opts.Plain {
			srv.TLSConfig = s.tlsConf
		}
		l, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return err
	}
	a := l.Addr().(*net.TCPAddr)
	s.mu.Lock()
	s.srv, s.l, s.addr, s.stopped = srv, l, l.Addr().String(), false
	s.Host, s.Port = "127.0.0.1", a.Port
	s.mu.Unlock()
	go srv.Serve(l)
	return nil
}

// Stop closes the relay (connections are then refused).
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped && s.srv != nil {
		// Close the listener too: Serve may not have taken it over yet.
		s.l.Close()
		s.srv.Close()
		s.stopped = true
	}
}

// Restart listens again on the same port after Stop.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	var err error
	for range 50 { // the port may linger briefly
		if err = s.listen(addr); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("restarting the relay: %v", err)
}

// Refuse makes the relay refuse a recipient (550).
func (s *Server) Refuse(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[strings.ToLower(addr)] = true
}

// Mails returns what the relay accepted so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Wait waits until the relay holds n mails or the timeout passes, and
// returns them.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if m := s.Mails(); len(m) >= n {
			return m
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("relay got %d mails, want %d: %+v", len(s.Mails()), n, s.Mails())
		}
	}
}

// makeCerts makes an authority and a certificate for 127.0.0.1 and
// localhost signed by it.
func (s *Server) makeCerts(t testing.TB) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Inbox Sync test relay CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "relay.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	s.tlsConf = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	s.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	s.Pool = x509.NewCertPool()
	s.Pool.AddCert(caCert)
	s.CAFile = filepath.Join(t.TempDir(), "relay-ca.pem")
	if err := os.WriteFile(s.CAFile, s.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: b.s, conn: c, tls: isTLS}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	tls  bool
	user string
	mech string
	from string
	to   []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	if len(ss.s.opts.Mechanisms) > 0 {
		return ss.s.opts.Mechanisms
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) check(user, pass, mech string) error {
	if user != ss.s.opts.Username || pass != ss.s.opts.Password {
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	}
	ss.user, ss.mech = user, mech
	return nil
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error { return ss.check(user, pass, sasl.Plain) }), nil
	case sasl.Login:
		return &loginServer{check: func(u, p string) error { return ss.check(u, p, sasl.Login) }}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	refused := ss.s.refused[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if refused {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "Mailbox unavailable"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "not a message: " + err.Error()}
	}
	body, err := decodeBody(msg)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unreadable body: " + err.Error()}
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, Mail{From: ss.from, To: append([]string(nil), ss.to...), Header: msg.Header, Body: body,
		Auth: ss.user, Mech: ss.mech, TLS: isTLS || ss.tls})
	ss.s.mu.Unlock()
	select {
	case ss.s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// loginServer is the server side of SASL LOGIN: it asks for the user name,
// then the password.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 { // initial response carries the user name
			l.user = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.user, string(response))
	}
	return nil, true, errors.New("unexpected LOGIN step")
}

// decodeBody returns a single-part text message's body, decoded from its
// Content-Transfer-Encoding.
func decodeBody(msg *mail.Message) (string, error) {
	var r io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}
