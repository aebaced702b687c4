package secret

import "errors"

// ErrNotFound is returned by Store.Get when no secret is stored under the
// account and key (test with errors.Is).
var ErrNotFound = errors.New("secret not found in the keyring")

// ErrUnavailable matches, through errors.Is, every *UnavailableError: the
// system keyring cannot be used at all right now.
var ErrUnavailable = errors.New("the system keyring is not available")

// ErrCorrupt is returned (wrapped: test with errors.Is) by Store.Get when a
// large secret's stored parts do not add up: a part is missing or the
// checksum does not match. The value is lost; the user must sign in again
// (a Set replaces it).
var ErrCorrupt = errors.New("the secret stored in the keyring is damaged")

// UnavailableError says that there is no usable keyring: on Linux no Secret
// Service on the session bus, no session bus at all, or a keyring that is
// locked and could not be unlocked. It matches ErrUnavailable.
//
// Message is written for the user; Error adds the underlying error for
// logs. Neither ever contains a secret.
type UnavailableError struct {
	// Locked is true when the Secret Service runs but its keyring is locked
	// and unlocking it failed or was refused (for example no unlock prompt
	// can be shown), or it has no default keyring yet and creating one was
	// refused the same way.
	Locked bool
	// Err is the underlying error from the keyring library, for logs.
	Err error
}

// Message returns what the user should read: what is wrong and what to do.
func (e *UnavailableError) Message() string {
	if e.Locked {
		return lockedMessage
	}
	return unavailableMessage
}

// Error returns Message followed by the underlying error, in parentheses.
func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return e.Message()
	}
	return e.Message() + " (details: " + e.Err.Error() + ")"
}

// Unwrap returns the underlying error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }
