package provider

import (
	"context"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// This file holds the activation contract: what each provider package
// (ews, graph, gmail) implements so that the engine can connect an account
// and later open a Provider for it. It lives here, below the engine, so that
// a provider never imports the engine that drives it.

// Connector connects accounts of one provider kind and opens providers for
// them. Each provider package supplies one.
type Connector interface {
	// Connect checks the request's credentials against the mailbox (one
	// cheap call), resolves the mailbox address and returns what to keep:
	// the account's non-secret settings and the secrets for the keyring.
	// Steps that need the user are reported through progress, which may be
	// nil.
	Connect(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (Connection, error)
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
