package emailnotice

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/wneessen/go-mail"
)

// SMTPConfig is the mail relay notices go through (the policy's [smtp]).
type SMTPConfig struct {
	Host string
	Port int
	// TLS is "starttls" (default), "implicit" or "none" (only for a relay
	// on this machine; the policy refuses it otherwise).
	TLS      string
	Username string
	From     string
	// PasswordFile is where organisation mode reads the relay's password
	// (the policy's smtp.password_file); the desktop uses its keyring.
	PasswordFile string
}

// SMTP sends notices through a relay with go-mail: STARTTLS or implicit
// TLS, AUTH PLAIN or LOGIN when a username is set.
type SMTP struct {
	Config func() SMTPConfig
	// Password returns the relay password (from the keyring); it is asked
	// only when a username is set.
	Password func() (string, error)
	// TLSConfig, when set, replaces the system's (tests trust their own
	// certificate authority with it).
	TLSConfig *tls.Config
	// Timeout bounds the connection and each command (30 s when 0).
	Timeout time.Duration
}

// Send implements Sender. Its error says in words what went wrong: the
// relay's name not found, not reachable, the secure connection failing,
// the login refused, or the recipient refused. It never holds the
// password.
func (s SMTP) Send(ctx context.Context, m Message) error {
	cfg := s.Config()
	if cfg.Host == "" {
		return errors.New("no mail relay is set (the policy's [smtp] host)")
	}
	from := cfg.From
	if from == "" {
		from = "inboxsync@" + cfg.Host
	}
	msg := mail.NewMsg()
	if err := msg.From(from); err != nil {
		return fmt.Errorf("the sender address %q is not valid", from)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("the address %q is not valid", m.To)
	}
	msg.Subject(m.Subject)
	msg.SetGenHeader(mail.HeaderXMailer, "Inbox Sync")
	msg.SetBodyString(mail.TypeTextPlain, m.Body)

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	port := cfg.Port
	if port == 0 {
		port = 587
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(timeout)}
	tlsConf := s.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsConf = tlsConf.Clone()
	tlsConf.ServerName = cfg.Host
	switch cfg.TLS {
	case "implicit":
		opts = append(opts, mail.WithSSL(), mail.WithTLSConfig(tlsConf))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithTLSConfig(tlsConf))
	}
	if cfg.Username != "" {
		pw, err := s.Password()
		if err != nil {
			return fmt.Errorf("the mail relay's password is not set: run `inboxsync notify password --stdin` (%v)", err)
		}
		opts = append(opts, mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin),
			mail.WithUsername(cfg.Username), mail.WithPassword(pw))
	}
	c, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("the mail relay settings are not usable: %v", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return explain(err, cfg, m.To)
	}
	return nil
}

// explain words an SMTP failure for people.
func explain(err error, cfg SMTPConfig, to string) error {
	relay := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var sendErr *mail.SendError
	text := err.Error()
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("the mail relay's name %s was not found (DNS)", cfg.Host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("the mail relay %s refused the connection (is it running, and is the port right?)", relay)
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return fmt.Errorf("the secure connection to the mail relay %s failed: its certificate is not trusted (%v)", relay, certErr0(err))
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Errorf("the mail relay %s did not answer in time", relay)
	case errors.As(err, &sendErr) && sendErr.Reason == mail.ErrSMTPRcptTo:
		return fmt.Errorf("the mail relay refused the recipient %s (%s)", to, lastLine(text))
	case errors.As(err, &sendErr) && sendErr.Reason == mail.ErrSMTPMailFrom:
		return fmt.Errorf("the mail relay refused the sender %s (%s)", cfg.From, lastLine(text))
	case strings.Contains(text, "535") || strings.Contains(strings.ToLower(text), "authentication failed") || strings.Contains(strings.ToLower(text), "auth"):
		if strings.Contains(text, "does not support SMTP AUTH") {
			return fmt.Errorf("the mail relay %s does not accept a login; remove username from the policy's [smtp] table", relay)
		}
		return fmt.Errorf("the mail relay %s refused the user name or password (%s)", relay, lastLine(text))
	case strings.Contains(strings.ToLower(text), "starttls"):
		return fmt.Errorf("the mail relay %s does not offer a secure connection (STARTTLS); ask for one, or use tls = \"implicit\" on port 465", relay)
	case strings.Contains(strings.ToLower(text), "tls"):
		return fmt.Errorf("the secure connection to the mail relay %s failed (%s)", relay, lastLine(text))
	}
	return fmt.Errorf("sending through the mail relay %s failed (%s)", relay, lastLine(text))
}

func certErr0(err error) string {
	var unknownAuth x509.UnknownAuthorityError
	if errors.As(err, &unknownAuth) {
		return "signed by an unknown authority"
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return "issued for another name"
	}
	return lastLine(err.Error())
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// lastLine keeps the most specific part of a wrapped error's text.
func lastLine(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return strings.TrimSpace(s[i+2:])
	}
	return s
}
