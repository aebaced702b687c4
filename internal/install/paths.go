// Package install says which build of Inbox Sync this is and where its
// parts live: the version and commit stamped at build time, the two
// programs installed side by side, and the folders of a home (store,
// logs, control socket). Both programs link it; it links nothing of
// Inbox Sync's, so the window program gets these facts without the
// agent's machinery.
package install

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Paths says where Inbox Sync keeps its state.
type Paths struct {
	// Home is the --home directory, or "" for the system's per-user
	// directories.
	Home   string
	DB     string // the activity store
	LogDir string // size-rotated logs
	RunDir string // owner-only directory of the control socket and lock
	Socket string
	Lock   string
}

// ResolvePaths returns the paths for home (from --home or INBOXSYNC_HOME),
// or this system's per-user directories when home is "" (see
// defaultPaths). It creates nothing.
func ResolvePaths(home string) (Paths, error) {
	if home == "" {
		home = os.Getenv("INBOXSYNC_HOME")
	}
	if home == "" {
		return defaultPaths(runtime.GOOS, os.Getenv, os.UserHomeDir)
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return Paths{}, err
	}
	return withSocket(Paths{Home: abs, DB: filepath.Join(abs, "inboxsync.db"), LogDir: filepath.Join(abs, "logs"), RunDir: filepath.Join(abs, "run")},
		runtime.GOOS, filepath.Join)
}

// defaultPaths is where Inbox Sync keeps its state without --home on the
// system goos, reading the environment through getenv and the user's home
// directory through userHome. It is a pure function of those so that every
// system's layout is tested on any system:
//
//   - Windows: %LOCALAPPDATA%\InboxSync holds the store, logs\ and run\
//     (the control socket and the lock). Local, not Roaming: the store and
//     the socket belong to this machine.
//   - macOS: ~/Library/Application Support/InboxSync holds the store and
//     run/; the logs go to ~/Library/Logs/InboxSync, where macOS keeps
//     applications' logs and Console.app shows them to the user (and to
//     whoever helps them).
//   - Linux and the other Unix systems: the XDG base directories,
//     $XDG_DATA_HOME/inboxsync/inboxsync.db, $XDG_STATE_HOME/inboxsync/logs
//     and $XDG_RUNTIME_DIR/inboxsync (or $XDG_STATE_HOME/inboxsync/run when
//     there is no runtime directory).
//
// Relative values of those variables are ignored, as the XDG specification
// asks.
func defaultPaths(goos string, getenv func(string) string, userHome func() (string, error)) (Paths, error) {
	join := joinFor(goos)
	home := homeFor(goos, userHome, "your home directory")
	env := func(name string) string {
		if v := getenv(name); isAbsFor(goos, v) {
			return v
		}
		return ""
	}
	var p Paths
	switch goos {
	case "windows":
		local := env("LOCALAPPDATA")
		if local == "" {
			h, err := home()
			if err != nil {
				return p, err
			}
			local = join(h, "AppData", "Local")
		}
		dir := join(local, "InboxSync")
		p = Paths{DB: join(dir, "inboxsync.db"), LogDir: join(dir, "logs"), RunDir: join(dir, "run")}
	case "darwin", "ios":
		h, err := home()
		if err != nil {
			return p, err
		}
		dir := join(h, "Library", "Application Support", "InboxSync")
		p = Paths{DB: join(dir, "inboxsync.db"), LogDir: join(h, "Library", "Logs", "InboxSync"), RunDir: join(dir, "run")}
	default:
		data, state := env("XDG_DATA_HOME"), env("XDG_STATE_HOME")
		if data == "" || state == "" {
			h, err := home()
			if err != nil {
				return p, err
			}
			if data == "" {
				data = join(h, ".local", "share")
			}
			if state == "" {
				state = join(h, ".local", "state")
			}
		}
		run := join(state, "inboxsync", "run")
		if rt := env("XDG_RUNTIME_DIR"); rt != "" {
			run = join(rt, "inboxsync")
		}
		p = Paths{DB: join(data, "inboxsync", "inboxsync.db"), LogDir: join(state, "inboxsync", "logs"), RunDir: run}
	}
	return withSocket(p, goos, join)
}

// withSocket fills in the socket and lock paths of p's RunDir and checks
// that the socket's path fits a unix socket address on goos.
func withSocket(p Paths, goos string, join func(...string) string) (Paths, error) {
	p.Socket = join(p.RunDir, "control.sock")
	p.Lock = join(p.RunDir, "agent.lock")
	if max := maxSocketPath(goos); len(p.Socket) > max {
		return p, fmt.Errorf("the state directory path is too long for a control socket (%s is %d bytes, at most %d): choose a shorter --home", p.Socket, len(p.Socket), max)
	}
	return p, nil
}

// maxSocketPath is the longest unix socket path, in bytes, that goos
// accepts: sun_path holds 108 bytes with the terminating NUL on Linux and
// on Windows (AF_UNIX, Windows 10 1803 and later), 104 on macOS and the
// BSDs.
func maxSocketPath(goos string) int {
	switch goos {
	case "linux", "android", "windows":
		return 107
	}
	return 103
}

// homeFor returns a function that asks userHome for the user's home
// directory and requires an absolute path for goos; its error says that
// what (the directory being looked for) cannot be found and that --home
// sets it instead.
func homeFor(goos string, userHome func() (string, error), what string) func() (string, error) {
	return func() (string, error) {
		h, err := userHome()
		if err == nil && !isAbsFor(goos, h) {
			err = fmt.Errorf("%q is not an absolute path", h)
		}
		if err != nil {
			return "", fmt.Errorf("cannot find %s (set --home): %w", what, err)
		}
		return h, nil
	}
}

// joinFor returns goos's path join: filepath.Join for this system, and a
// plain join with goos's separator for another one (the tests of other
// systems' layouts).
func joinFor(goos string) func(...string) string {
	if goos == runtime.GOOS {
		return filepath.Join
	}
	sep := "/"
	if goos == "windows" {
		sep = `\`
	}
	return func(elem ...string) string {
		var b strings.Builder
		for i, e := range elem {
			if i > 0 {
				b.WriteString(sep)
			}
			if i < len(elem)-1 {
				e = strings.TrimRight(e, "/"+sep)
			}
			b.WriteString(e)
		}
		return b.String()
	}
}

// isAbsFor reports whether p is an absolute path on goos: filepath.IsAbs
// for this system; for Windows on another system a drive letter and a
// separator (C:\…) or a UNC path (\\server\…).
func isAbsFor(goos, p string) bool {
	switch {
	case goos == runtime.GOOS:
		return filepath.IsAbs(p)
	case goos == "windows":
		if strings.HasPrefix(p, `\\`) {
			return true
		}
		return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
			('a' <= p[0]|0x20 && p[0]|0x20 <= 'z')
	default:
		return strings.HasPrefix(p, "/")
	}
}

// Ensure creates the directories the agent writes to (the store's, the
// logs' and the control socket's), owner-only, and tightens each one that
// already exists with a looser mode to PrivateDir (see Tighten); it
// returns those it tightened, for the agent's log. Folders above them are
// the user's and are left as they are.
func (p Paths) Ensure() ([]Tightened, error) {
	var done []Tightened
	for _, d := range []string{filepath.Dir(p.DB), p.LogDir, p.RunDir} {
		if err := os.MkdirAll(d, PrivateDir); err != nil {
			return done, fmt.Errorf("creating %s: %w", d, err)
		}
		t, ok, err := Tighten(d, PrivateDir)
		if err != nil {
			return done, err
		}
		if ok {
			done = append(done, t)
		}
	}
	return done, nil
}

// StoreExists reports whether an activity store has been created.
func (p Paths) StoreExists() bool {
	_, err := os.Stat(p.DB)
	return !errors.Is(err, os.ErrNotExist)
}
