package control

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// ErrAgentRunning is returned by Lock when another process holds the lock.
var ErrAgentRunning = errors.New("another Inbox Sync agent is already running for this home")

// LockFile is the held single-agent lock of one home. The operating system
// releases it when the process exits, however it exits, so a lock left by
// a crashed agent never blocks the next one.
type LockFile struct {
	path string

	mu sync.Mutex
	f  *os.File
}

// Lock takes the single-agent lock at path without waiting, creating the
// file (mode 0600, and its directory, mode 0700, if missing). When another
// process, or another Lock in this process, holds it, the error matches
// ErrAgentRunning and names the holder's pid when known. The holder's pid
// is written to the file for that purpose only: the lock itself is the
// kernel's.
func Lock(path string) (*LockFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control: creating the lock's directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("control: opening the lock file: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			if pid := readPid(path); pid > 0 {
				return nil, fmt.Errorf("%w (pid %d)", ErrAgentRunning, pid)
			}
			return nil, ErrAgentRunning
		}
		return nil, fmt.Errorf("control: locking %s: %w", path, err)
	}
	// Best effort: the mode and the pid only help.
	f.Chmod(0o600)
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &LockFile{path: path, f: f}, nil
}

// Path returns the lock file's path.
func (l *LockFile) Path() string { return l.path }

// Release gives the lock up. The file stays (removing it would let two
// processes lock two different files). Calling Release again does nothing.
func (l *LockFile) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := unlockFile(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// readPid reads the holder's pid from the lock file; 0 if unknown.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil {
		return 0
	}
	return pid
}
