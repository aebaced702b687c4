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
//     %LOCALAPPDATA%, with an ACL that admits the user, SYSTEM and the
//     administrators only), as private as the 0700 directory on Unix,
//     and it names its home: one agent per --home falls out of the
//     path, where a pipe would need a name derived from it;
//   - a stale socket is a file the next agent removes under the
//     single-agent lock, as on Unix.
//
// The costs: Windows before 10 1803 (out of support) cannot run the
// agent; sun_path holds 108 bytes, so the socket's path must be at most 107
// bytes (install.ResolvePaths refuses longer ones: a profile folder name over
// 57 bytes, which local accounts never have, or a deep --home); and there
// is no peer credential check (checkPeer does nothing here): the
// directory's ACL (ensurePrivateDir) is the protection. A named pipe with
// an explicit security descriptor would lift the length limit; it is the
// way out if a real installation hits it.

// errConnRefused is what connecting to a socket nobody listens on yields.
var errConnRefused error = windows.WSAECONNREFUSED

// ensurePrivateDir makes sure dir exists and gives it a protected ACL
// (inherited by the socket and the lock) that admits only the user,
// SYSTEM and the administrators: Unix's 0700, and what a directory under
// %LOCALAPPDATA% inherits anyway, now also for a --home elsewhere.
// Changing an ACL takes the right to, which a directory's owner has: a
// directory of someone else's that does not grant it is refused, as on
// Unix.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("control: creating the socket directory: %w", err)
	}
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return fmt.Errorf("control: reading your user's SID: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;OICI;FA;;;" + user.User.Sid.String() + ")(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)")
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("control: making the socket directory %s private: %w", dir, err)
	}
	return nil
}

// restrictSocket does nothing on Windows: the socket inherits the
// directory's ACL.
func restrictSocket(string) error { return nil }
