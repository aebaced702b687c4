package autostart

import (
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/assets"
)

// TestXDGAutostart: the entry is the application's desktop entry with Exec
// running the command, quoted, and X-GNOME-Autostart-enabled; off removes
// it, and the entry of older versions too.
func TestXDGAutostart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "autostart")
	var a autostarter = xdgAutostart{dir: dir}
	if on, err := a.Enabled(); on || err != nil {
		t.Fatalf("Enabled before Set: %v, %v", on, err)
	}
	if err := a.Set(true, []string{"/opt/Inbox Sync/inboxsync", "--home", `/home/ann/100% "mine"`}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "io.inboxsync.app.desktop"))
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	want := strings.Replace(assets.DesktopEntry, "Exec=inboxsync\n",
		`Exec="/opt/Inbox Sync/inboxsync" --home "/home/ann/100%% \\"mine\\""`+"\n", 1)
	want = strings.TrimRight(want, "\n") + "\nX-GNOME-Autostart-enabled=true\n"
	if got != want {
		t.Errorf("entry:\n%s\nwant:\n%s", got, want)
	}
	if on, err := a.Enabled(); !on || err != nil {
		t.Fatalf("Enabled after Set(true): %v, %v", on, err)
	}
	if err := a.Set(false, nil); err != nil {
		t.Fatal(err)
	}
	if on, err := a.Enabled(); on || err != nil {
		t.Fatalf("Enabled after Set(false): %v, %v", on, err)
	}
	if err := a.Set(false, nil); err != nil {
		t.Fatalf("Set(false) twice: %v", err)
	}

	// The entry of older versions counts as on, and goes.
	legacy := filepath.Join(dir, "inboxsync.desktop")
	if err := os.WriteFile(legacy, []byte("[Desktop Entry]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if on, _ := a.Enabled(); !on {
		t.Error("the older entry does not count")
	}
	if err := a.Set(true, []string{"/usr/bin/inboxsync"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(legacy); !errors.Is(err, os.ErrNotExist) {
		t.Error("Set(true) left the older entry (two agents at login)")
	}
	os.WriteFile(legacy, []byte("[Desktop Entry]\n"), 0o644)
	a.Set(false, nil)
	if on, _ := a.Enabled(); on {
		t.Error("Set(false) left the older entry")
	}
}

// TestAutostartEntry: only the [Desktop Entry] group's Exec changes;
// TryExec, Hidden and an existing X-GNOME-Autostart-enabled go; an entry
// without Exec gets one; other groups stay as they are.
func TestAutostartEntry(t *testing.T) {
	app := "# comment\n[Desktop Entry]\nName=Inbox Sync\nTryExec=inboxsync\nExec=inboxsync %u\nHidden=true\nX-GNOME-Autostart-enabled=false\n\n[Desktop Action Pause]\nName=Pause\nExec=inboxsync pause\n"
	got, err := autostartEntry(app, []string{"/usr/bin/inboxsync"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# comment\n[Desktop Entry]\nName=Inbox Sync\nExec=/usr/bin/inboxsync\nX-GNOME-Autostart-enabled=true\n\n[Desktop Action Pause]\nName=Pause\nExec=inboxsync pause\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	got, err = autostartEntry("[Desktop Entry]\nName=Inbox Sync\n", []string{"inboxsync"})
	if err != nil || got != "[Desktop Entry]\nName=Inbox Sync\nExec=inboxsync\nX-GNOME-Autostart-enabled=true\n" {
		t.Errorf("entry without Exec: %q, %v", got, err)
	}
	if _, err := autostartEntry("Name=x\n", []string{"inboxsync"}); err == nil {
		t.Error("an entry without [Desktop Entry] was accepted")
	}
	if _, err := autostartEntry(assets.DesktopEntry, nil); err == nil {
		t.Error("an empty command was accepted")
	}
}

// TestExecQuoteMore: the cases TestExecQuote (settings_test.go) leaves
// out: backticks, quotes, and the string escapes of control characters.
func TestExecQuoteMore(t *testing.T) {
	for in, want := range map[string]string{
		"--home": "--home",
		"a`b$c":  "\"a\\\\`b\\\\$c\"",
		`C:\x`:   `"C:\\\\x"`,
		"a\nb":   `"a\nb"`,
		"a\tb":   `"a\tb"`,
		"it's":   `"it's"`,
		"~/x":    `"~/x"`,
	} {
		if got := execQuote(in); got != want {
			t.Errorf("execQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestLaunchAgent: the plist runs the command once at login, without
// KeepAlive, and is well-formed XML whatever the arguments hold.
func TestLaunchAgent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Library", "LaunchAgents", "io.inboxsync.app.plist")
	var a autostarter = launchAgent{path: path, label: "io.inboxsync.app"}
	if on, err := a.Enabled(); on || err != nil {
		t.Fatalf("Enabled before Set: %v, %v", on, err)
	}
	cmd := []string{"/Applications/Inbox Sync.app/Contents/MacOS/inboxsync", "--home", "/Users/ann/R&D <mail>"}
	if err := a.Set(true, cmd); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `<?xml version="1.0" encoding="UTF-8"?>`+"\n<!DOCTYPE plist") {
		t.Errorf("no plist header:\n%s", b)
	}
	if strings.Contains(string(b), "KeepAlive") {
		t.Error("KeepAlive would restart the agent after Quit")
	}
	// Read it back as a plist dictionary: keys and their values in order.
	var doc struct {
		Dict struct {
			Items []struct {
				XMLName xml.Name
				Text    string   `xml:",chardata"`
				Strings []string `xml:"string"`
			} `xml:",any"`
		} `xml:"dict"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b)
	}
	got := map[string]string{}
	var args []string
	items := doc.Dict.Items
	for i := 0; i+1 < len(items); i += 2 {
		if items[i].XMLName.Local != "key" {
			t.Fatalf("item %d is <%s>, want <key>", i, items[i].XMLName.Local)
		}
		k, v := items[i].Text, items[i+1]
		switch v.XMLName.Local {
		case "array":
			args = v.Strings
		case "string":
			got[k] = v.Text
		default:
			got[k] = v.XMLName.Local
		}
	}
	if got["Label"] != "io.inboxsync.app" || got["RunAtLoad"] != "true" || got["LimitLoadToSessionType"] != "Aqua" {
		t.Errorf("plist keys %v", got)
	}
	if strings.Join(args, "|") != strings.Join(cmd, "|") {
		t.Errorf("ProgramArguments %q, want %q", args, cmd)
	}
	if on, err := a.Enabled(); !on || err != nil {
		t.Fatalf("Enabled after Set(true): %v, %v", on, err)
	}
	if err := a.Set(false, nil); err != nil {
		t.Fatal(err)
	}
	if on, err := a.Enabled(); on || err != nil {
		t.Fatalf("Enabled after Set(false): %v, %v", on, err)
	}
	if err := a.Set(false, nil); err != nil {
		t.Fatalf("Set(false) twice: %v", err)
	}
	if err := a.Set(true, nil); err == nil {
		t.Error("an empty command was accepted")
	}
}

// fakeRunKey is a registry key in memory.
type fakeRunKey struct {
	values map[string]string
	err    error // every call fails with it when set
}

func (k *fakeRunKey) Get(name string) (string, bool, error) {
	if k.err != nil {
		return "", false, k.err
	}
	v, ok := k.values[name]
	return v, ok, nil
}

func (k *fakeRunKey) Put(name, value string) error {
	if k.err != nil {
		return k.err
	}
	k.values[name] = value
	return nil
}

func (k *fakeRunKey) Delete(name string) error {
	if k.err != nil {
		return k.err
	}
	delete(k.values, name)
	return nil
}

// TestRunKeyAutostart: the "Inbox Sync" value holds the quoted command
// line; off deletes it and nothing else; registry errors reach the user.
func TestRunKeyAutostart(t *testing.T) {
	key := &fakeRunKey{values: map[string]string{"OneDrive": `"C:\Program Files\OneDrive\OneDrive.exe" /background`}}
	var a autostarter = runKeyAutostart{key: key, name: "Inbox Sync"}
	if on, err := a.Enabled(); on || err != nil {
		t.Fatalf("Enabled before Set: %v, %v", on, err)
	}
	if err := a.Set(true, []string{`C:\Program Files\Inbox Sync\inboxsync.exe`}); err != nil {
		t.Fatal(err)
	}
	if v := key.values["Inbox Sync"]; v != `"C:\Program Files\Inbox Sync\inboxsync.exe"` {
		t.Errorf("Run value %s", v)
	}
	if err := a.Set(true, []string{`C:\Users\Ann\inboxsync.exe`, "--home", `D:\Inbox Sync\`}); err != nil {
		t.Fatal(err)
	}
	if v := key.values["Inbox Sync"]; v != `"C:\Users\Ann\inboxsync.exe" --home "D:\Inbox Sync\\"` {
		t.Errorf("Run value %s", v)
	}
	if on, err := a.Enabled(); !on || err != nil {
		t.Fatalf("Enabled after Set(true): %v, %v", on, err)
	}
	if err := a.Set(false, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := key.values["Inbox Sync"]; ok || len(key.values) != 1 {
		t.Errorf("values after Set(false): %v", key.values)
	}
	if on, err := a.Enabled(); on || err != nil {
		t.Fatalf("Enabled after Set(false): %v, %v", on, err)
	}
	if err := a.Set(true, nil); err == nil {
		t.Error("an empty command was accepted")
	}

	key.err = errors.New("Access is denied.")
	if _, err := a.Enabled(); err == nil {
		t.Error("Enabled hid a registry error")
	}
	if err := a.Set(true, []string{`C:\x.exe`}); err == nil || !strings.Contains(err.Error(), "start at login: Access is denied.") {
		t.Errorf("Set(true) with a failing registry: %v", err)
	}
	if err := a.Set(false, nil); err == nil || !strings.Contains(err.Error(), "stop Inbox Sync from starting at login") {
		t.Errorf("Set(false) with a failing registry: %v", err)
	}
}

// TestWindowsCommandLine: CommandLineToArgvW's rules for quotes and
// backslashes.
func TestWindowsCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{`C:\inboxsync.exe`}, `"C:\inboxsync.exe"`},
		{[]string{`C:\a b\x.exe`, "--home", `C:\h`}, `"C:\a b\x.exe" --home C:\h`},
		{[]string{`x.exe`, ""}, `"x.exe" ""`},
		{[]string{`x.exe`, `a"b`}, `"x.exe" "a\"b"`},
		{[]string{`x.exe`, `a\"b c`}, `"x.exe" "a\\\"b c"`},
		{[]string{`x.exe`, `C:\a b\`}, `"x.exe" "C:\a b\\"`},
		{[]string{`x.exe`, `C:\a\\b c`}, `"x.exe" "C:\a\\b c"`},
	} {
		if got := windowsCommandLine(tc.args); got != tc.want {
			t.Errorf("windowsCommandLine(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}

func TestExecQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/usr/bin/inboxsync", "/usr/bin/inboxsync"},
		{"/opt/Inbox Sync/inboxsync", `"/opt/Inbox Sync/inboxsync"`},
		{"50%", "50%%"},
		{`a"b`, `"a\\"b"`},
		{`a\b`, `"a\\\\b"`},
		{"$HOME", `"\\$HOME"`},
		{"", `""`},
	} {
		if got := execQuote(tc.in); got != tc.want {
			t.Errorf("execQuote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
