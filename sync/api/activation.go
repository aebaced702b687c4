package api

import "errors"

// ErrInvalid marks a request that cannot succeed as given (a missing login,
// an http:// URL, a malformed client ID). Connectors wrap it with a sentence
// for people; the engine and the control socket pass it on unchanged.
var ErrInvalid = errors.New("invalid request")

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
