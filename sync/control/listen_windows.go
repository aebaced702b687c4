//go:build windows

package control

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// errConnRefused is what connecting to a socket nobody listens on yields.
var errConnRefused error = windows.WSAECONNREFUSED

// ensurePrivateDir makes sure dir exists. On Windows the directory (under
// the user's profile) inherits an ACL that admits only the user and the
// system; Unix modes do not apply.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("control: creating the socket directory: %w", err)
	}
	return nil
}

// restrictSocket does nothing on Windows: the socket inherits the
// directory's ACL.
func restrictSocket(string) error { return nil }
