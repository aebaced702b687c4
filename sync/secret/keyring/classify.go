package keyring

import (
	"errors"
	"fmt"

	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/zalando/go-keyring"
)

// describedError is an error for UnavailableError.Err whose text names
// D-Bus errors (describe); it unwraps to the keyring library's error.
type describedError struct{ err error }

func (d describedError) Error() string { return describe(d.err) }
func (d describedError) Unwrap() error { return d.err }

// newUnavailable wraps err, the reason the keyring cannot be used.
func newUnavailable(err error) *secret.UnavailableError {
	return &secret.UnavailableError{Locked: isLocked(err), Err: describedError{err}}
}

// classify turns an error from go-keyring into this package's errors. op,
// account and key only give context; the value never appears in it.
func classify(op, account, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return secret.ErrNotFound
	case errors.Is(err, keyring.ErrUnsupportedPlatform), isUnavailable(err):
		return newUnavailable(err)
	}
	return fmt.Errorf("secret: keyring %s of %s/%s failed: %w", op, account, key, err)
}
