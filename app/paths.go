// Package app is the composition root: it finds where state lives, wires
// the store, the keyring, the engine and the control server into the
// agent, and keeps one agent per home.
package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Paths says where Inbox Sync keeps its state.
type Paths struct {
	// Home is the --home directory, or "" for the XDG layout.
	Home   string
	DB     string // the activity store
	LogDir string // size-rotated logs
	RunDir string // owner-only directory of the control socket and lock
	Socket string
	Lock   string
}

// maxSocketPath is the longest unix socket path Linux accepts (108 bytes
// including the terminating NUL).
const maxSocketPath = 107

// ResolvePaths returns the paths for home (from --home or INBOXSYNC_HOME),
// or the XDG directories when home is "". It creates nothing.
func ResolvePaths(home string) (Paths, error) {
	if home == "" {
		home = os.Getenv("INBOXSYNC_HOME")
	}
	var p Paths
	if home != "" {
		abs, err := filepath.Abs(home)
		if err != nil {
			return p, err
		}
		p = Paths{Home: abs, DB: filepath.Join(abs, "inboxsync.db"), LogDir: filepath.Join(abs, "logs"), RunDir: filepath.Join(abs, "run")}
	} else {
		userHome, err := os.UserHomeDir()
		if err != nil {
			return p, fmt.Errorf("cannot find your home directory (set --home): %w", err)
		}
		data := xdg("XDG_DATA_HOME", filepath.Join(userHome, ".local", "share"))
		state := xdg("XDG_STATE_HOME", filepath.Join(userHome, ".local", "state"))
		run := filepath.Join(state, "inboxsync", "run")
		if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
			run = filepath.Join(rt, "inboxsync")
		}
		p = Paths{DB: filepath.Join(data, "inboxsync", "inboxsync.db"), LogDir: filepath.Join(state, "inboxsync", "logs"), RunDir: run}
	}
	p.Socket = filepath.Join(p.RunDir, "control.sock")
	p.Lock = filepath.Join(p.RunDir, "agent.lock")
	if len(p.Socket) > maxSocketPath {
		return p, fmt.Errorf("the state directory path is too long for a control socket (%d characters, at most %d): choose a shorter --home", len(p.Socket), maxSocketPath)
	}
	return p, nil
}

func xdg(env, def string) string {
	if v := os.Getenv(env); filepath.IsAbs(v) {
		return v
	}
	return def
}

// Ensure creates the directories the agent writes to, owner-only.
func (p Paths) Ensure() error {
	for _, d := range []string{filepath.Dir(p.DB), p.LogDir, p.RunDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	return nil
}

// StoreExists reports whether an activity store has been created.
func (p Paths) StoreExists() bool {
	_, err := os.Stat(p.DB)
	return !errors.Is(err, os.ErrNotExist)
}
