// Package autostart turns starting Inbox Sync when the user signs in on
// and off, on Linux and the BSDs, Windows and macOS.
package autostart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/inboxsync/inboxsync/assets"
)

// Starting at login, behind the settings window's "Start Inbox Sync when I
// sign in":
//
//   - Linux and the BSDs: an XDG autostart entry,
//     $XDG_CONFIG_HOME/autostart/io.inboxsync.app.desktop, the application's
//     own desktop entry (assets.DesktopEntry) with Exec running this
//     program;
//   - Windows: the value "Inbox Sync" of
//     HKCU\Software\Microsoft\Windows\CurrentVersion\Run, the command line;
//   - macOS: the LaunchAgent ~/Library/LaunchAgents/io.inboxsync.app.plist,
//     run once at login (RunAtLoad, no KeepAlive: Quit stays quit).
//
// Each is an autostarter; the logic of all three is tested on any system
// (the registry through a fake runKey).
//
// It is its own package rather than part of the window code or of app:
// the settings window is its only user today, but starting at login is
// about the operating system, not about a window, and app wires the
// agent (engine, providers, tray), which a window process has no use for.

// autostarter turns starting Inbox Sync at login on and off.
type autostarter interface {
	// Enabled reports whether Inbox Sync starts at login.
	Enabled() (bool, error)
	// Set makes the login session run command, the program and its
	// arguments (on; command must not be empty), or nothing (off).
	Set(on bool, command []string) error
}

// ErrUnsupported says plainly that this system can't do it yet.
var ErrUnsupported = errors.New("starting Inbox Sync at login is not supported on this system yet; start it yourself after you sign in")

// appID names the desktop entry and the LaunchAgent.
const appID = "io.inboxsync.app"

// runValueName is the name of the Windows Run value.
const runValueName = "Inbox Sync"

// systemAutostarter returns this system's autostarter, or
// ErrUnsupported.
func systemAutostarter() (autostarter, error) {
	switch runtime.GOOS {
	case "windows":
		return runKeyAutostart{key: openRunKey(), name: runValueName}, nil
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("cannot find your home directory: %w", err)
		}
		return launchAgent{path: filepath.Join(home, "Library", "LaunchAgents", appID+".plist"), label: appID}, nil
	case "ios", "android", "js", "wasip1", "plan9":
		return nil, ErrUnsupported
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("cannot find your home directory: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return xdgAutostart{dir: filepath.Join(dir, "autostart")}, nil
}

// Supported reports whether this system can start Inbox Sync at
// login.
func Supported() bool {
	_, err := systemAutostarter()
	return !errors.Is(err, ErrUnsupported)
}

// Enabled reports whether Inbox Sync starts at login; false when
// that can't be told.
func Enabled() bool {
	a, err := systemAutostarter()
	if err != nil {
		return false
	}
	on, err := a.Enabled()
	return err == nil && on
}

// Set makes the login session run command (on) or stops it (off).
func Set(on bool, command []string) error {
	a, err := systemAutostarter()
	if err != nil {
		if !on && errors.Is(err, ErrUnsupported) {
			return nil
		}
		return err
	}
	if on && len(command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("could not find the Inbox Sync program: %w", err)
		}
		command = []string{exe}
	}
	return a.Set(on, command)
}

// Errors of Set name what failed in the user's words.
func errStart(err error) error {
	return fmt.Errorf("could not make Inbox Sync start at login: %w", err)
}

func errStop(err error) error {
	return fmt.Errorf("could not stop Inbox Sync from starting at login: %w", err)
}

// writeFileAtomic writes b to path through a temporary file in the same
// directory, creating the directory if needed.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// removeFiles removes paths; missing ones are fine.
func removeFiles(paths ...string) error {
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// pathExists reports whether path exists; an error other than "does not
// exist" is returned.
func pathExists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	}
	return false, err
}

// xdgAutostart is the XDG autostart entry in dir (the autostart directory
// of $XDG_CONFIG_HOME).
type xdgAutostart struct{ dir string }

// legacyAutostartName is the autostart entry's file name before it was
// named after the application ID; it is still recognized and removed.
const legacyAutostartName = "inboxsync.desktop"

func (x xdgAutostart) path() string { return filepath.Join(x.dir, appID+".desktop") }

// Enabled implements autostarter.
func (x xdgAutostart) Enabled() (bool, error) {
	for _, p := range []string{x.path(), filepath.Join(x.dir, legacyAutostartName)} {
		if ok, err := pathExists(p); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// Set implements autostarter.
func (x xdgAutostart) Set(on bool, command []string) error {
	if !on {
		if err := removeFiles(x.path(), filepath.Join(x.dir, legacyAutostartName)); err != nil {
			return errStop(err)
		}
		return nil
	}
	entry, err := autostartEntry(assets.DesktopEntry, command)
	if err != nil {
		return errStart(err)
	}
	if err := writeFileAtomic(x.path(), []byte(entry)); err != nil {
		return errStart(err)
	}
	if err := removeFiles(filepath.Join(x.dir, legacyAutostartName)); err != nil {
		return errStart(err)
	}
	return nil
}

// autostartEntry turns the application's desktop entry into the autostart
// entry that runs command: its Exec key runs command, and
// X-GNOME-Autostart-enabled=true is added; the rest (name, icon, comment)
// stays the application's.
func autostartEntry(app string, command []string) (string, error) {
	if len(command) == 0 {
		return "", errors.New("no command to run")
	}
	quoted := make([]string, len(command))
	for i, a := range command {
		quoted[i] = execQuote(a)
	}
	exec := "Exec=" + strings.Join(quoted, " ")
	lines := strings.Split(strings.TrimRight(app, "\n"), "\n")
	var out []string
	inMain, sawExec, added := false, false, false
	endMain := func() {
		// At the end of the group's keys, before the blank lines
		// that end it.
		end := len(out)
		for end > 0 && strings.TrimSpace(out[end-1]) == "" {
			end--
		}
		keys := []string{"X-GNOME-Autostart-enabled=true"}
		if !sawExec {
			keys = []string{exec, keys[0]}
		}
		out = slices.Insert(out, end, keys...)
		added = true
	}
	for _, l := range lines {
		if g, ok := strings.CutPrefix(strings.TrimSpace(l), "["); ok && strings.HasSuffix(g, "]") {
			if inMain {
				endMain()
			}
			inMain = g == "Desktop Entry]"
			out = append(out, l)
			continue
		}
		if inMain {
			key, _, _ := strings.Cut(l, "=")
			switch strings.TrimSpace(key) {
			case "Exec":
				if sawExec {
					continue
				}
				sawExec = true
				l = exec
			case "TryExec", "X-GNOME-Autostart-enabled", "Hidden":
				continue
			}
		}
		out = append(out, l)
	}
	if inMain {
		endMain()
	}
	if !added {
		return "", errors.New("the application's desktop entry has no [Desktop Entry] group")
	}
	return strings.Join(out, "\n") + "\n", nil
}

// execQuote quotes an argument of a desktop entry's Exec key as the
// Desktop Entry Specification asks: inside double quotes, escape `"`, '`',
// '$' and '\'; '%' is doubled everywhere. The key's value is then escaped
// once more as a string, which doubles the backslashes and writes
// newlines, tabs and carriage returns as \n, \t and \r.
func execQuote(a string) string {
	a = strings.ReplaceAll(a, "%", "%%")
	if a != "" && !strings.ContainsAny(a, " \t\n\r\"'\\><~|&;$*?#()`") {
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
		case '\n':
			b.WriteString(`\n`)
			continue
		case '\t':
			b.WriteString(`\t`)
			continue
		case '\r':
			b.WriteString(`\r`)
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// launchAgent is the macOS LaunchAgent at path (in ~/Library/LaunchAgents)
// with label. launchd loads the agents of that directory at login and,
// with RunAtLoad, starts the program once; without KeepAlive it does not
// start it again when the user quits. Set writes or removes the file only:
// it never calls launchctl, because unloading the job would stop the agent
// that launchd started at this login; the change takes effect at the next
// login.
type launchAgent struct{ path, label string }

// Enabled implements autostarter.
func (l launchAgent) Enabled() (bool, error) { return pathExists(l.path) }

// Set implements autostarter.
func (l launchAgent) Set(on bool, command []string) error {
	if !on {
		if err := removeFiles(l.path); err != nil {
			return errStop(err)
		}
		return nil
	}
	if len(command) == 0 {
		return errStart(errors.New("no command to run"))
	}
	if err := writeFileAtomic(l.path, launchAgentPlist(l.label, command)); err != nil {
		return errStart(err)
	}
	return nil
}

// launchAgentPlist is the property list of a LaunchAgent that runs command
// once per login, in the user's graphical (Aqua) session.
func launchAgentPlist(label string, command []string) []byte {
	var b bytes.Buffer
	str := func(indent, s string) {
		b.WriteString(indent + "<string>")
		xml.EscapeText(&b, []byte(s))
		b.WriteString("</string>\n")
	}
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
`)
	str("\t", label)
	b.WriteString("\t<key>ProgramArguments</key>\n\t<array>\n")
	for _, a := range command {
		str("\t\t", a)
	}
	b.WriteString(`	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>LimitLoadToSessionType</key>
	<string>Aqua</string>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`)
	return b.Bytes()
}

// runKey is the little of a registry key that runKeyAutostart needs:
// HKCU\Software\Microsoft\Windows\CurrentVersion\Run on Windows
// (openRunKey), a map in the tests.
type runKey interface {
	// Get returns the string value name; ok is false when there is none.
	Get(name string) (value string, ok bool, err error)
	// Put sets the string value name.
	Put(name, value string) error
	// Delete removes the value name; a missing value is not an error.
	Delete(name string) error
}

// runKeyAutostart is the Windows Run value name of key: Windows runs its
// command line when the user signs in.
type runKeyAutostart struct {
	key  runKey
	name string
}

// Enabled implements autostarter.
func (r runKeyAutostart) Enabled() (bool, error) {
	_, ok, err := r.key.Get(r.name)
	return ok, err
}

// Set implements autostarter.
func (r runKeyAutostart) Set(on bool, command []string) error {
	if !on {
		if err := r.key.Delete(r.name); err != nil {
			return errStop(err)
		}
		return nil
	}
	if len(command) == 0 {
		return errStart(errors.New("no command to run"))
	}
	if err := r.key.Put(r.name, windowsCommandLine(command)); err != nil {
		return errStart(err)
	}
	return nil
}

// windowsCommandLine joins args into a command line that
// CommandLineToArgvW (and Go's os.Args on Windows) splits back into args.
// The program is always quoted, as the Run key wants for paths with
// spaces ("C:\Program Files\…"); other arguments only when they need it.
func windowsCommandLine(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i > 0 && a != "" && !strings.ContainsAny(a, " \t\n\v\"") {
			b.WriteString(a)
			continue
		}
		b.WriteByte('"')
		slashes := 0
		for _, r := range a {
			switch r {
			case '\\':
				slashes++
				continue
			case '"':
				// Backslashes before a quote are doubled, and the
				// quote escaped.
				b.WriteString(strings.Repeat(`\`, 2*slashes+1))
			default:
				b.WriteString(strings.Repeat(`\`, slashes))
			}
			slashes = 0
			b.WriteRune(r)
		}
		// Backslashes before the closing quote are doubled.
		b.WriteString(strings.Repeat(`\`, 2*slashes))
		b.WriteByte('"')
	}
	return b.String()
}
