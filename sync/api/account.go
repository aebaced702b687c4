package api

import "time"

// Account is one mailbox the agent syncs.
type Account struct {
	// ID is the short name chosen by the user or derived from the address,
	// e.g. "work".
	ID string `json:"id"`
	// Provider is "exchange", "office365", "gmail" or "scripted".
	Provider string `json:"provider"`
	// Login is what the user signs in with, if it is not the email.
	Login string `json:"login,omitempty"`
	// Email is the mailbox's primary address once known.
	Email string `json:"email,omitempty"`
	// Settings are non-secret provider settings (ews_url, tenant,
	// client_id, …). Secrets never go here.
	Settings map[string]string `json:"settings,omitempty"`
	// Disabled means disconnected: the runner is stopped and the secrets are
	// deleted, the data is kept.
	Disabled bool `json:"disabled"`
	// CreatedAt is when the account was added; AddAccount sets it to the
	// current time when it is zero.
	CreatedAt time.Time `json:"created_at"`
}
