// Package secret is the contract for an account's secrets (passwords,
// OAuth refresh tokens): the Store interface, its well-known keys and its
// errors. It links nothing: the desktop's implementation, the operating
// system's keyring, is sync/secret/keyring; tests use secrettest's memory
// store; a server (organisation mode) keeps no per-user secrets at all.
//
// No error produced by an implementation may contain a secret.
package secret

// Store keeps accounts' secrets (the desktop: in the OS keyring).
//
// Implementations are safe for concurrent use. Account and key must be
// non-empty; key must not contain '/' or '#' (those separate the parts of a
// keyring user name).
type Store interface {
	// Get returns the secret stored under account and key, or an error
	// matching ErrNotFound when there is none.
	Get(account, key string) (string, error)
	// Set stores value under account and key, replacing any previous value.
	Set(account, key, value string) error
	// Delete removes the secret stored under account and key. It returns
	// nil when there is none.
	Delete(account, key string) error
	// DeleteAccount removes every well-known secret (KeyPassword, KeyToken)
	// of account, chunks included. It returns nil when there is none.
	DeleteAccount(account string) error
}

// Well-known keys. DeleteAccount removes exactly these.
const (
	// KeyPassword is the key of an account's password (Exchange on-premises).
	KeyPassword = "password"
	// KeyToken is the key of an account's OAuth token (refresh token and
	// whatever the auth package keeps with it).
	KeyToken = "oauth-token"
)
