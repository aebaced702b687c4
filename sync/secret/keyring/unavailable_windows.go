//go:build windows

package keyring

import (
	"errors"
	"syscall"
)

// errorNoSuchLogonSession is ERROR_NO_SUCH_LOGON_SESSION: the process has
// no logon session with a credential store (a service, a batch job).
const errorNoSuchLogonSession = syscall.Errno(1312)

// isUnavailable reports whether err means Credential Manager cannot be used.
func isUnavailable(err error) bool { return errors.Is(err, errorNoSuchLogonSession) }

// isLocked is always false on Windows.
func isLocked(error) bool { return false }

// describe returns err for a log line.
func describe(err error) string { return err.Error() }

// sessionBusMissing is for the Secret Service only.
func sessionBusMissing() error { return nil }
