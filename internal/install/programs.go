package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Inbox Sync is two programs installed side by side: inboxsync (the agent
// with its tray, and the command line) and inboxsync-window (the Fyne
// windows). The command line links no GUI toolkit, so every command starts
// quickly, and the agent starts a window program only while a window is
// open (docs/architecture.md §2).
const (
	// MainProgramName is the command-line and agent program.
	MainProgramName = "inboxsync"
	// WindowProgramName is the window program.
	WindowProgramName = "inboxsync-window"
)

// exeSuffix is what program files end with on this OS.
func exeSuffix(goos string) string {
	if goos == "windows" {
		return ".exe"
	}
	return ""
}

// sibling returns the path of the program name in the directory of the
// running program.
func sibling(name string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding where Inbox Sync is installed: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	return filepath.Join(filepath.Dir(self), name+exeSuffix(runtime.GOOS)), nil
}

// WindowProgram returns the path of the window program, which is installed
// beside this one, or an error in words when it is missing.
func WindowProgram() (string, error) {
	path, err := sibling(WindowProgramName)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("cannot show Inbox Sync's windows: the program %s is missing (it belongs beside %s; install Inbox Sync again)",
			path, MainProgramName+exeSuffix(runtime.GOOS))
	}
	return path, nil
}

// MainProgram returns the path of the inboxsync program beside this one
// (what a window registers to start at login), or just its name when
// there is none beside it.
func MainProgram() string {
	path, err := sibling(MainProgramName)
	if err != nil {
		return MainProgramName
	}
	if _, err := os.Stat(path); err != nil {
		return MainProgramName
	}
	return path
}
