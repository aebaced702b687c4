//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd || windows)

package secret

import "runtime"

// The words of an UnavailableError on this platform (the keyring
// implementation is in sync/secret/keyring).

// unavailableMessage depends on the platform; go-keyring supports macOS
// here (the Keychain) and nothing else.
var unavailableMessage = func() string {
	if runtime.GOOS == "darwin" {
		return "The macOS Keychain is not available, so Inbox Sync cannot store your password safely. " +
			"Unlock your login keychain in the Keychain Access app (or log out and log in again) and try again."
	}
	return "This system has no keyring that Inbox Sync can use, so it cannot store your password safely. " +
		"Install and unlock a supported keyring and try again."
}()

// lockedMessage is the same: the Keychain's errors do not tell locked from
// missing.
var lockedMessage = unavailableMessage
