package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// The modes of what the agent keeps in its home. The activity store holds
// the metadata of the user's mail and meetings and the logs name accounts
// and correspondents: nobody else on the machine may read them, even when
// --home points at a folder someone made readable to others.
const (
	PrivateFile fs.FileMode = 0o600
	PrivateDir  fs.FileMode = 0o700
)

// Tightened is a file or directory whose permissions Tighten narrowed.
type Tightened struct {
	Path     string
	Was, Now fs.FileMode
}

// Tighten takes away every permission bit of path that perm lacks (a file
// given PrivateFile ends at most 0600, a directory given PrivateDir at most
// 0700; no bit is ever added) and reports whether it changed anything. A
// path that does not exist is left alone. Symbolic links are followed, as
// everything that opens the path follows them.
//
// On Windows it does nothing: files there are guarded by access control
// lists (a user's profile folders are private to them), and os.Chmod only
// sets or clears the read-only attribute.
func Tighten(path string, perm fs.FileMode) (Tightened, bool, error) {
	if runtime.GOOS == "windows" {
		return Tightened{}, false, nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Tightened{}, false, nil
	}
	if err != nil {
		return Tightened{}, false, err
	}
	was := fi.Mode().Perm()
	now := was & perm
	if now == was {
		return Tightened{}, false, nil
	}
	if err := os.Chmod(path, now); err != nil {
		return Tightened{}, false, fmt.Errorf("making %s private: %w", path, err)
	}
	return Tightened{Path: path, Was: was, Now: now}, true, nil
}

// TightenAll tightens each path to perm (see Tighten) and returns those it
// changed; it goes on past an error and returns the first.
func TightenAll(perm fs.FileMode, paths ...string) ([]Tightened, error) {
	var done []Tightened
	var first error
	for _, p := range paths {
		t, ok, err := Tighten(p, perm)
		if ok {
			done = append(done, t)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return done, first
}
