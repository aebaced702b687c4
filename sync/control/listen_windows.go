//go:build windows

package control

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// On Windows the control API is a named pipe, not an AF_UNIX socket.
//
// The socket came first (one code path with Unix), but Wine, where CI
// runs the Windows programs, has no AF_UNIX sockets at all (listen fails
// with WSAEAFNOSUPPORT), and a pipe is also the better Windows design:
//
//   - the pipe's own security descriptor admits the user's SID only (not
//     even SYSTEM or the administrators), where the socket relied on the
//     ACL of its directory;
//   - each end checks the other: the agent asks the system for the
//     connecting process (GetNamedPipeClientProcessId) and refuses it
//     unless its token's user is the agent's, as SO_PEERCRED does on
//     Linux; the client checks the server's process the same way
//     (GetNamedPipeServerProcessId), so a pipe created first by another
//     user under the agent's name gets nothing from the CLI;
//   - it works on every Windows 10 and 11, and there is no 108-byte
//     sun_path limit and no stale file to remove after a crash;
//   - the JSON line protocol, the server and the client are unchanged:
//     go-winio's pipes are net.Listener and net.Conn.
//
// The pipe's name is derived from the user's SID and the socket path the
// other systems use (…\run\control.sock), so one agent per --home and per
// user still falls out of the path: \\.\pipe\inboxsync-<32 hex digits>.
// Nothing is written at that path; its directory holds the agent lock.

// errConnRefused is what connecting to a socket nobody listens on yields;
// a pipe nobody serves is "not found" (fs.ErrNotExist) instead.
var errConnRefused error = windows.WSAECONNREFUSED

// pipeNameFor derives the pipe's name from a user's SID and a socket path
// (case-insensitive, as Windows paths are).
func pipeNameFor(sid, path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	sum := sha256.Sum256([]byte(sid + "\x00" + strings.ToLower(filepath.Clean(path))))
	return `\\.\pipe\inboxsync-` + hex.EncodeToString(sum[:16])
}

// currentUserSID returns the SID of the user this process runs as.
func currentUserSID() (*windows.SID, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("control: reading your user's SID: %w", err)
	}
	return user.User.Sid.Copy()
}

// Listen creates the agent's named pipe for the socket path path (see
// PipeName) and listens on it. The pipe admits only the user's SID, and
// the server refuses any client whose process runs as someone else
// (checkPeer). path's directory is created with a protected ACL (the
// user, SYSTEM and the administrators) for the agent lock beside it.
// When the pipe already exists — an agent of this home runs, or another
// program took the name — Listen fails and says so; it is only called
// while holding the single-agent lock (see Lock).
func Listen(path string) (net.Listener, error) {
	if err := ensurePrivateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	sid, err := currentUserSID()
	if err != nil {
		return nil, err
	}
	name := pipeNameFor(sid.String(), path)
	// Protected DACL, one entry: the user, full access.
	l, err := listenPipe(name, "D:P(A;;GA;;;"+sid.String()+")")
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) ||
			errors.Is(err, windows.ERROR_ALREADY_EXISTS) || errors.Is(err, windows.ERROR_FILE_EXISTS) {
			return nil, fmt.Errorf("control: the named pipe %s for %s already exists (another program holds it); not listening: %w", name, path, err)
		}
		return nil, fmt.Errorf("control: listening on the named pipe %s: %w", name, err)
	}
	return l, nil
}

// ensurePrivateDir makes sure dir exists and gives it a protected ACL
// (inherited by the lock file) that admits only the user, SYSTEM and the
// administrators: Unix's 0700, and what a directory under %LOCALAPPDATA%
// inherits anyway, now also for a --home elsewhere. Changing an ACL
// takes the right to, which a directory's owner has: a directory of
// someone else's that does not grant it is refused, as on Unix.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("control: creating the run directory: %w", err)
	}
	sid, err := currentUserSID()
	if err != nil {
		return err
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;OICI;FA;;;" + sid.String() + ")(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)")
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("control: making the run directory %s private: %w", dir, err)
	}
	return nil
}
