//go:build windows

package control

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// On Windows the control API uses an AF_UNIX socket too (Windows 10 1803
// and later; Go's net package supports it), not a named pipe:
//
//   - one code path on every system: net.Listen("unix") and net.Dial, the
//     same server, client, protocol and tests, and no dependency (pipes
//     would need go-winio or our own overlapped I/O on x/sys/windows);
//   - the socket is a file in the user's own directory (under
//     %LOCALAPPDATA%, whose ACL admits the user, SYSTEM and the
//     administrators only), so it is as private as the 0700 directory on
//     Unix, and it names its home: one agent per --home falls out of the
//     path, where a pipe would need a name derived from it;
//   - a stale socket is a file the next agent removes under the
//     single-agent lock, as on Unix.
//
// The costs: Windows before 10 1803 (out of support) cannot run the
// agent; sun_path holds 108 bytes, so the socket's path must be at most 107
// bytes (app.ResolvePaths refuses longer ones: a profile folder name over
// 57 bytes, which local accounts never have, or a deep --home); and there
// is no peer credential check (checkPeer does nothing here): the
// directory's ACL is the protection. A named pipe with an explicit
// security descriptor would lift the length limit; it is the way out if a
// real installation hits it.

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
