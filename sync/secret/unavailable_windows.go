//go:build windows

package secret

import (
	"errors"
	"syscall"
)

const unavailableMessage = "Windows Credential Manager is not available, so Inbox Sync cannot store your password safely. " +
	"Sign in to Windows with your own user account (not as a service or a temporary profile) and try again."

// lockedMessage is not used on Windows: Credential Manager is never locked
// while the user is signed in.
const lockedMessage = unavailableMessage

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
