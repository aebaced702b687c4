package org

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/ews"
)

// Exchange is the organisation's Exchange on-premises service account,
// which holds the ApplicationImpersonation role (docs/org.md). It holds no
// secret: the password stays in the file PasswordFile names (readable by
// the workers' user alone) or in the environment value PasswordEnv names,
// on every worker machine.
type Exchange struct {
	// Login is DOMAIN\user or user@domain.
	Login        string `json:"login"`
	PasswordFile string `json:"password_file,omitempty"`
	PasswordEnv  string `json:"password_env,omitempty"`
	// URL is the EWS endpoint of every mailbox; empty: Autodiscover per
	// mailbox.
	URL string `json:"ews_url,omitempty"`
	// Auth is "ntlm", "basic" or empty (the server's challenge chooses).
	Auth string `json:"auth,omitempty"`
}

// SaveExchange checks e (its password file or environment value
// included: a file others can read is refused) and stores it; the file's
// path is made absolute.
func SaveExchange(ctx context.Context, st store, e Exchange) error {
	e.Login = strings.TrimSpace(e.Login)
	e.Auth = strings.ToLower(strings.TrimSpace(e.Auth))
	if (e.PasswordFile == "") == (e.PasswordEnv == "") {
		return fmt.Errorf("%w: give the service account's password as --password-file FILE or --password-env NAME (never on the command line)", api.ErrInvalid)
	}
	if e.PasswordFile != "" {
		abs, err := filepath.Abs(e.PasswordFile)
		if err != nil {
			return err
		}
		e.PasswordFile = abs
	}
	if e.PasswordEnv != "" && os.Getenv(e.PasswordEnv) == "" {
		// The workers may have it (a systemd EnvironmentFile) while this
		// shell has not: check the rest only.
		if _, err := ews.NewImpersonation(ews.ImpersonationConfig{Login: e.Login, Password: "-", URL: e.URL, Auth: e.Auth}); err != nil {
			return fmt.Errorf("%w: %w", api.ErrInvalid, err)
		}
	} else if _, err := e.impersonation(nil); err != nil {
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	}
	return save(ctx, st, keyExchange, e)
}

// LoadExchange returns the stored service account (ok false: none).
func LoadExchange(ctx context.Context, st store) (Exchange, bool, error) {
	var e Exchange
	ok, err := load(ctx, st, keyExchange, &e)
	return e, ok, err
}

// source words where the password is kept.
func (e Exchange) source() string {
	if e.PasswordFile != "" {
		return "the file " + e.PasswordFile
	}
	return "the environment value " + e.PasswordEnv + " of every worker"
}

// password reads the service account's password. No error holds it.
func (e Exchange) password() (string, error) {
	if e.PasswordEnv != "" {
		v, ok := os.LookupEnv(e.PasswordEnv)
		v = strings.TrimRight(v, "\r\n")
		if !ok || v == "" {
			return "", fmt.Errorf("the environment value %s, which should hold the Exchange service account's password, is not set for this process", e.PasswordEnv)
		}
		return v, nil
	}
	path := e.PasswordFile
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("the Exchange service account's password file %s does not exist", path)
	case err != nil:
		return "", fmt.Errorf("cannot read the Exchange service account's password file %s: %w", path, errors.Unwrap(err))
	case !st.Mode().IsRegular():
		return "", fmt.Errorf("the Exchange service account's password file %s is not a regular file", path)
	case runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0:
		return "", fmt.Errorf("the Exchange service account's password file %s can be read by other users (mode %04o): make it readable by the workers' user only with: chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the Exchange service account's password file %s: %w", path, errors.Unwrap(err))
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimRight(pw, "\r")
	if pw == "" {
		return "", fmt.Errorf("the Exchange service account's password file %s is empty", path)
	}
	return pw, nil
}

// impersonation reads the password and makes the Impersonation (c may be
// nil: defaults).
func (e Exchange) impersonation(c *Credentials) (*ews.Impersonation, error) {
	pw, err := e.password()
	if err != nil {
		return nil, err
	}
	cfg := ews.ImpersonationConfig{Login: e.Login, Password: pw, PasswordSource: e.source(), URL: e.URL, Auth: e.Auth}
	if c != nil {
		cfg.RootCAs, cfg.Dial, cfg.Resolver = c.EWSRootCAs, c.EWSDial, c.EWSResolver
		if c.HTTPClient != nil {
			if ua, ok := c.HTTPClient.Transport.(userAgent); ok {
				cfg.UserAgent = ua.value
			}
		}
	}
	return ews.NewImpersonation(cfg)
}

// exchange returns the service account's Impersonation, made once and kept
// (with its Autodiscover answers) for the worker's life. The password is
// read again at each call: when the admin put a new one in the file, it
// is used from the next mailbox on.
func (c *Credentials) exchange(ctx context.Context) (*ews.Impersonation, error) {
	e, ok, err := LoadExchange(ctx, c.Store)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, provider.Failed("The organisation has no Exchange service account registered: run `inboxsync org credentials exchange`.", errNoCredentials)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.imp != nil && c.ex == e {
		pw, err := e.password()
		if err != nil {
			return nil, provider.Failed("The organisation's Exchange service account can't be used: "+err.Error(), errors.Join(errNoCredentials, err))
		}
		c.imp.SetPassword(pw)
		return c.imp, nil
	}
	im, err := e.impersonation(c)
	if err != nil {
		return nil, provider.Failed("The organisation's Exchange service account can't be used: "+err.Error(), errors.Join(errNoCredentials, err))
	}
	c.imp, c.ex = im, e
	return im, nil
}

// CheckExchange proves the stored service account: with user, its right to
// impersonate user (and Autodiscover for user when no URL is set); without,
// its password at the stored URL. It says what it could not check.
func (c *Credentials) CheckExchange(ctx context.Context, user string) (checked string, err error) {
	im, err := c.exchange(ctx)
	if err != nil {
		return "", err
	}
	switch {
	case user != "":
		return "the password and the right to impersonate " + user, im.Check(ctx, user)
	}
	e, _, err := LoadExchange(ctx, c.Store)
	if err != nil {
		return "", err
	}
	if e.URL == "" {
		return "", nil
	}
	return "the password", im.CheckLogin(ctx)
}
