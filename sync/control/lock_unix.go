//go:build unix

package control

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errLocked reports a lock held elsewhere.
var errLocked = errors.New("locked")

// lockFile takes an exclusive flock on f without waiting. flock locks
// belong to the open file description, so a second open of the same file,
// even in this process, conflicts.
func lockFile(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return errLocked
		default:
			return err
		}
	}
}

// unlockFile releases f's flock.
func unlockFile(f *os.File) error {
	return unix.Flock(int(f.Fd()), unix.LOCK_UN)
}
