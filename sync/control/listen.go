//go:build !windows

package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// Listen creates the agent's unix socket at path and listens on it. The
// socket's directory is created if needed and must belong to the user with
// mode 0700 (a looser mode is tightened; a directory owned by someone else
// is refused); the socket itself gets mode 0600. A socket file left at
// path by an agent that died is removed first, so Listen must only be
// called while holding the single-agent lock (see Lock). Anything at path
// that is not a socket is left alone and Listen fails. Closing the
// listener removes the socket file.
func Listen(path string) (net.Listener, error) {
	if err := ensurePrivateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	switch fi, err := os.Lstat(path); {
	case err == nil:
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("control: %s exists and is not a socket; not replacing it", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("control: removing the stale socket: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("control: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control: listening on %s: %w", path, err)
	}
	if err := restrictSocket(path); err != nil {
		l.Close()
		return nil, fmt.Errorf("control: %w", err)
	}
	return l, nil
}
