//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package secret

// The words of an UnavailableError on this platform (the keyring
// implementation is in sync/secret/keyring).

const unavailableMessage = "The system keyring is not available, so Inbox Sync cannot store your password safely. " +
	"Install and unlock a Secret Service keyring (on Debian/Ubuntu: sudo apt install gnome-keyring, then log in again)."

const lockedMessage = "The system keyring is locked, so Inbox Sync cannot read or store your password. " +
	"Unlock it (log out and log in again, or unlock the \"Login\" keyring in the Passwords and Keys app) and try again. " +
	"If no keyring is installed, install one (on Debian/Ubuntu: sudo apt install gnome-keyring, then log in again)."
