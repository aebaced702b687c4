package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// expiryMargin renews an access token this long before it expires.
const expiryMargin = 2 * time.Minute

// TokenSource hands out access tokens for one account. It reads the grant
// from the secret store on first use, refreshes when the access token is
// missing, expired or was refused, and writes each rotated refresh token to
// the secret store before it uses the new access token. Access tokens stay
// in memory only. It is safe for concurrent use; concurrent callers share
// one refresh.
type TokenSource struct {
	cfg     *Config
	secrets secret.Store
	account string

	lock    chan struct{} // a mutex that a waiting ctx can abandon
	grant   Grant         // newest known grant ("" until read)
	access  string
	expiry  time.Time
	refresh int // refreshes done, for tests and benchmarks
}

// NewTokenSource returns a TokenSource for account whose grant is stored
// in secrets under secret.KeyToken.
func NewTokenSource(cfg *Config, secrets secret.Store, account string) *TokenSource {
	return &TokenSource{cfg: cfg, secrets: secrets, account: account, lock: make(chan struct{}, 1)}
}

// Refreshes returns how many refreshes the source made.
func (s *TokenSource) Refreshes() int {
	s.lock <- struct{}{}
	defer func() { <-s.lock }()
	return s.refresh
}

// Token returns a valid access token, refreshing it when needed.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.lock }()
	if s.access != "" && s.cfg.now().Add(expiryMargin).Before(s.expiry) {
		return s.access, nil
	}
	if s.grant.RefreshToken == "" {
		v, err := s.secrets.Get(s.account, secret.KeyToken)
		switch {
		case errors.Is(err, secret.ErrNotFound):
			return "", provider.GrantGone("There is no saved sign-in for this account: sign in again.", errors.New("no token in the keyring"))
		case err != nil:
			return "", fmt.Errorf("reading the sign-in from the keyring: %w", err)
		}
		g, err := DecodeGrant(v)
		if err != nil {
			return "", provider.GrantGone("The saved sign-in is unreadable: sign in again.", err)
		}
		s.grant = g
	}
	tok, err := s.cfg.Refresh(ctx, s.grant.RefreshToken)
	if err != nil {
		return "", err
	}
	s.refresh++
	if tok.RefreshToken != s.grant.RefreshToken {
		// The rotated grant keeps when the user consented and the client
		// secret: only the token (and perhaps the scopes) changed.
		g := s.grant
		g.RefreshToken = tok.RefreshToken
		if tok.Scope != "" {
			g.Scope = tok.Scope
		}
		// Persist first: the old refresh token may already be void.
		s.grant = g
		if err := s.secrets.Set(s.account, secret.KeyToken, g.Encode()); err != nil {
			s.access = ""
			return "", fmt.Errorf("saving the renewed sign-in to the keyring: %w", err)
		}
	}
	s.access = tok.AccessToken
	s.expiry = tok.Expiry
	if s.expiry.IsZero() {
		s.expiry = s.cfg.now().Add(time.Hour)
	}
	return s.access, nil
}

// Invalidate drops access if it is the current access token (the server
// refused it), so that the next Token call refreshes.
func (s *TokenSource) Invalidate(access string) {
	s.lock <- struct{}{}
	defer func() { <-s.lock }()
	if s.access == access {
		s.access = ""
	}
}
