package window

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Starting at login: on Linux (and the BSDs) an XDG autostart entry,
// $XDG_CONFIG_HOME/autostart/inboxsync.desktop; elsewhere not yet.

// errAutostartUnsupported says plainly that this system can't do it yet.
var errAutostartUnsupported = errors.New("starting Inbox Sync at login is not supported on this system yet; start it yourself after you sign in")

// autostartSupported reports whether this system can start Inbox Sync at
// login.
func autostartSupported() bool {
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "android", "js", "wasip1", "plan9":
		return false
	}
	return true
}

// autostartPath is the XDG autostart entry's path.
func autostartPath() (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find your home directory: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "autostart", "inboxsync.desktop"), nil
}

// autostartEnabled reports whether the autostart entry exists.
func autostartEnabled() bool {
	if !autostartSupported() {
		return false
	}
	p, err := autostartPath()
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// setAutostart writes (on) or removes (off) the autostart entry that runs
// command.
func setAutostart(on bool, command []string) error {
	if !autostartSupported() {
		if on {
			return errAutostartUnsupported
		}
		return nil
	}
	p, err := autostartPath()
	if err != nil {
		return err
	}
	if !on {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("could not stop Inbox Sync from starting at login: %w", err)
		}
		return nil
	}
	if len(command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("could not find the Inbox Sync program: %w", err)
		}
		command = []string{exe}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("could not make Inbox Sync start at login: %w", err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(desktopEntry(command)), 0o644); err != nil {
		return fmt.Errorf("could not make Inbox Sync start at login: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("could not make Inbox Sync start at login: %w", err)
	}
	return nil
}

// desktopEntry is the autostart entry that runs command.
func desktopEntry(command []string) string {
	quoted := make([]string, len(command))
	for i, a := range command {
		quoted[i] = execQuote(a)
	}
	return "[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=Inbox Sync\n" +
		"Comment=Keeps your mailbox's mail and meetings in your records\n" +
		"Exec=" + strings.Join(quoted, " ") + "\n" +
		"Icon=inboxsync\n" +
		"Terminal=false\n" +
		"X-GNOME-Autostart-enabled=true\n"
}

// execQuote quotes an argument of a desktop entry's Exec key as the
// Desktop Entry Specification asks: inside double quotes, escape `"`, '`',
// '$' and '\'; '%' is doubled everywhere. The key's value is then escaped
// once more as a string, which doubles the backslashes.
func execQuote(a string) string {
	a = strings.ReplaceAll(a, "%", "%%")
	if a != "" && !strings.ContainsAny(a, " \t\n\"'\\><~|&;$*?#()`") {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range a {
		switch r {
		case '"', '`', '$':
			b.WriteString(`\\`)
		case '\\':
			b.WriteString(`\\\`)
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
