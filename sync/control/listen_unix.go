//go:build unix

package control

import (
	"fmt"
	"os"
	"syscall"
)

// errConnRefused is what connecting to a socket nobody listens on yields.
var errConnRefused error = syscall.ECONNREFUSED

// ensurePrivateDir makes sure dir exists, belongs to the user and has mode
// 0700.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("control: creating the socket directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("control: %s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("control: the socket directory %s belongs to uid %d, not to you (uid %d); refusing to use it", dir, st.Uid, os.Getuid())
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("control: making the socket directory private: %w", err)
		}
	}
	return nil
}

// restrictSocket makes the socket file owner-only. The directory is
// already private, so nobody else could reach the socket before this.
func restrictSocket(path string) error {
	return os.Chmod(path, 0o600)
}
