package install

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// ConfigPath returns where the configuration file is read:
// <home>/config.json with a home directory (--home or INBOXSYNC_HOME),
// else the system's per-user configuration directory (see
// defaultConfigPath).
func ConfigPath(p Paths) (string, error) {
	if p.Home != "" {
		return filepath.Join(p.Home, "config.json"), nil
	}
	if home := os.Getenv("INBOXSYNC_HOME"); home != "" {
		abs, err := filepath.Abs(home)
		return filepath.Join(abs, "config.json"), err
	}
	return defaultConfigPath(runtime.GOOS, os.Getenv, os.UserHomeDir)
}

// defaultConfigPath is where the configuration file is read without
// --home on the system goos, reading the environment through getenv and
// the user's home directory through userHome; a pure function of those,
// like defaultPaths, whose per-system layout it follows:
//
//   - Windows: %APPDATA%\InboxSync\config.json (or
//     <home>\AppData\Roaming\InboxSync\… without an absolute %APPDATA%).
//     Roaming, unlike the store: settings follow the user to other
//     machines.
//   - macOS: ~/Library/Application Support/InboxSync/config.json, beside
//     the store.
//   - Linux and the other Unix systems: $XDG_CONFIG_HOME/inboxsync/config.json,
//     or ~/.config/inboxsync/config.json when XDG_CONFIG_HOME is unset or
//     empty. A relative $XDG_CONFIG_HOME is an error, as in
//     os.UserConfigDir.
func defaultConfigPath(goos string, getenv func(string) string, userHome func() (string, error)) (string, error) {
	join := joinFor(goos)
	home := homeFor(goos, userHome, "the configuration directory")
	switch goos {
	case "windows":
		dir := getenv("APPDATA")
		if !isAbsFor(goos, dir) {
			h, err := home()
			if err != nil {
				return "", err
			}
			dir = join(h, "AppData", "Roaming")
		}
		return join(dir, "InboxSync", "config.json"), nil
	case "darwin", "ios":
		h, err := home()
		if err != nil {
			return "", err
		}
		return join(h, "Library", "Application Support", "InboxSync", "config.json"), nil
	default:
		dir := getenv("XDG_CONFIG_HOME")
		if dir != "" && !isAbsFor(goos, dir) {
			return "", fmt.Errorf("cannot find the configuration directory: $XDG_CONFIG_HOME (%s) is a relative path", dir)
		}
		if dir == "" {
			h, err := home()
			if err != nil {
				return "", err
			}
			dir = join(h, ".config")
		}
		return join(dir, "inboxsync", "config.json"), nil
	}
}
