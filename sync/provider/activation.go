package provider

import (
	"context"
	"errors"

	"github.com/inboxsync/inboxsync/sync/secret"
)

// This file holds the activation contract: what each provider package
// (ews, graph, gmail) implements so that the engine can connect an account
// and later open a Provider for it. It lives here, below the engine, so that
// a provider never imports the engine that drives it.

// ErrInvalid marks a request that cannot succeed as given (a missing login,
// an http:// URL, a malformed client ID). Connectors wrap it with a sentence
// for people; the engine and the control socket pass it on unchanged.
var ErrInvalid = errors.New("invalid request")

// Connector connects accounts of one provider kind and opens providers for
// them. Each provider package supplies one.
type Connector interface {
	// Connect checks the request's credentials against the mailbox (one
	// cheap call), resolves the mailbox address and returns what to keep:
	// the account's non-secret settings and the secrets for the keyring.
	// Steps that need the user are reported through progress, which may be
	// nil.
	Connect(ctx context.Context, req ActivationRequest, progress func(ActivationProgress)) (Connection, error)
	// Open returns a provider for a stored account, reading its secrets
	// (and saving any the provider renews, such as rotated refresh tokens).
	Open(ctx context.Context, acct Account, secrets secret.Store) (Provider, error)
}

// Account is what a provider knows of a stored account.
type Account struct {
	// ID is the account's short name, the key of its secrets. Connect may
	// leave it empty: the engine derives one from the mailbox address.
	ID string
	// Login is what the user signs in with, if it is not the email.
	Login string
	// Email is the mailbox's primary address.
	Email string
	// Settings are non-secret provider settings (ews_url, tenant,
	// client_id, …). Secrets never go here.
	Settings map[string]string
}

// Connection is a successful Connect: the account to store and the secrets
// to put in the keyring.
type Connection struct {
	Account Account
	Secrets map[string]string
}

// ActivationRequest connects an account for the first time or again.
type ActivationRequest struct {
	// Provider is "exchange", "office365", "gmail" (or "scripted" in test
	// builds).
	Provider string `json:"provider"`
	// Account is the account's short name. For re-activation it names the
	// existing account; for a new one it may be empty (derived from the
	// mailbox address).
	Account  string            `json:"account,omitempty"`
	Login    string            `json:"login,omitempty"`
	Email    string            `json:"email,omitempty"`
	Settings map[string]string `json:"settings,omitempty"`
	// Password travels from the window or CLI to the agent only, and from
	// there only to the keyring.
	Password string `json:"password,omitempty"`
	// NoBrowser asks a browser flow to only show the link.
	NoBrowser bool `json:"no_browser,omitempty"`
	// ExpectedMailbox is the address the signed-in mailbox must have (an
	// administrator's expected_mailbox). Empty: the login or email the
	// user typed, when it is an address. Connectors ignore it; the engine
	// compares it with the mailbox Connect resolved.
	ExpectedMailbox string `json:"expected_mailbox,omitempty"`
	// AcceptMailbox lets activation go on when the resolved mailbox is not
	// the expected one: the user saw the mismatch and chose this address
	// ("Use this mailbox anyway", --accept-mailbox). It must equal the
	// resolved address (case-insensitively) to have an effect, and has
	// none when the mailbox is enforced.
	AcceptMailbox string `json:"accept_mailbox,omitempty"`
}

// ActivationProgress is a step of an activation that needs the user, e.g.
// "finish signing in in your browser" with the link.
type ActivationProgress struct {
	Message  string `json:"message"`
	URL      string `json:"url,omitempty"`
	UserCode string `json:"user_code,omitempty"`
}
