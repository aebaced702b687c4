//go:build windows

package control

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// errLocked reports a lock held elsewhere.
var errLocked = errors.New("locked")

// lockOffset places the locked byte at 1 GiB, far past the end of the
// pid file (SQLite's lock bytes sit there too, on every Windows file
// system). Windows locks are mandatory: locking the file's first bytes
// would keep the next agent from reading the holder's pid (see readPid).
// A lock may cover bytes past the end of a file.
const lockOffset = 1 << 30

// lockFile takes an exclusive lock on one byte of f, past its end, without
// waiting. Like flock, it conflicts with any other handle, even in this
// process, and Windows releases it when the process exits.
func lockFile(f *os.File) error {
	ol := &windows.Overlapped{Offset: lockOffset}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return errLocked
	}
	return err
}

// unlockFile releases f's lock.
func unlockFile(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &windows.Overlapped{Offset: lockOffset})
}
