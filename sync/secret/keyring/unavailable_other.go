//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd || windows)

package keyring

// isUnavailable reports whether err means the keyring cannot be used. The
// Keychain backend reports only exit statuses of /usr/bin/security, which do
// not say so, and other platforms return keyring.ErrUnsupportedPlatform
// (classified by the caller).
func isUnavailable(error) bool { return false }

// isLocked is always false here.
func isLocked(error) bool { return false }

// describe returns err for a log line.
func describe(err error) string { return err.Error() }

// sessionBusMissing is for the Secret Service only.
func sessionBusMissing() error { return nil }
