package app

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// rotatingFile is an io.Writer that appends to a log file and, when it
// grows past max bytes, renames it to .1 (shifting older ones up to keep
// files) and starts a new one.
type rotatingFile struct {
	mu   sync.Mutex
	path string
	max  int64
	keep int
	f    *os.File
	size int64
}

func openRotating(path string, max int64, keep int) (*rotatingFile, error) {
	r := &rotatingFile{path: path, max: max, keep: keep}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, st.Size()
	return nil
}

// files returns the paths of the log and of every older one it keeps.
func (r *rotatingFile) files() []string {
	paths := []string{r.path}
	for i := 1; i <= r.keep; i++ {
		paths = append(paths, fmt.Sprintf("%s.%d", r.path, i))
	}
	return paths
}

func (r *rotatingFile) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	if r.size > 0 && r.size+int64(len(b)) > r.max {
		r.rotate()
	}
	n, err := r.f.Write(b)
	r.size += int64(n)
	return n, err
}

// rotate shifts log → log.1 → … → log.keep; a failure keeps writing to the
// current file rather than losing lines.
func (r *rotatingFile) rotate() {
	for i := r.keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", r.path, i), fmt.Sprintf("%s.%d", r.path, i+1))
	}
	old := r.f
	if err := os.Rename(r.path, r.path+".1"); err != nil {
		return
	}
	if err := r.open(); err != nil {
		r.f = old
		return
	}
	old.Close()
}

func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// logPath is the agent's log file in dir.
func logPath(dir string) string { return filepath.Join(dir, "inboxsync.log") }
