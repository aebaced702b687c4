//go:build windows

package secret

// The words of an UnavailableError on this platform (the keyring
// implementation is in sync/secret/keyring).

const unavailableMessage = "Windows Credential Manager is not available, so Inbox Sync cannot store your password safely. " +
	"Sign in to Windows with your own user account (not as a service or a temporary profile) and try again."

// lockedMessage is not used on Windows: Credential Manager is never locked
// while the user is signed in.
const lockedMessage = unavailableMessage
