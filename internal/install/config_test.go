package install

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestDefaultConfigPath: each system's configuration file without
// --home, from a fake environment, whatever system the test runs on.
func TestDefaultConfigPath(t *testing.T) {
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	for _, tc := range []struct {
		name, goos string
		env        map[string]string
		home       func() (string, error)
		want       string
	}{
		{
			name: "windows", goos: "windows",
			env:  map[string]string{"APPDATA": `C:\Users\Ann\AppData\Roaming`, "LOCALAPPDATA": `C:\Users\Ann\AppData\Local`, "XDG_CONFIG_HOME": "/ignored"},
			want: `C:\Users\Ann\AppData\Roaming\InboxSync\config.json`,
		},
		{
			name: "windows, roaming profile on a share", goos: "windows",
			env:  map[string]string{"APPDATA": `\\server\profiles\ann\Roaming`},
			home: noHome,
			want: `\\server\profiles\ann\Roaming\InboxSync\config.json`,
		},
		{
			name: "windows without APPDATA", goos: "windows",
			env:  map[string]string{"APPDATA": `relative\dir`},
			want: `C:\Users\Ann\AppData\Roaming\InboxSync\config.json`,
		},
		{
			name: "macOS", goos: "darwin",
			env:  map[string]string{"XDG_CONFIG_HOME": "/ignored", "APPDATA": `C:\ignored`},
			want: "/Users/ann/Library/Application Support/InboxSync/config.json",
		},
		{
			name: "linux XDG", goos: "linux",
			env:  map[string]string{"XDG_CONFIG_HOME": "/c", "APPDATA": `C:\ignored`},
			home: noHome,
			want: "/c/inboxsync/config.json",
		},
		{
			name: "linux default", goos: "linux",
			env:  map[string]string{"XDG_DATA_HOME": "/ignored"},
			want: "/home/ann/.config/inboxsync/config.json",
		},
		{
			name: "freebsd", goos: "freebsd",
			want: "/home/ann/.config/inboxsync/config.json",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := tc.home
			if home == nil {
				home = func() (string, error) {
					switch tc.goos {
					case "windows":
						return `C:\Users\Ann`, nil
					case "darwin":
						return "/Users/ann", nil
					}
					return "/home/ann", nil
				}
			}
			got, err := defaultConfigPath(tc.goos, func(k string) string { return tc.env[k] }, home)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestDefaultConfigPathErrors: without a home directory (and nothing
// that replaces it), or with a relative $XDG_CONFIG_HOME, there is no
// configuration file, and the error says why.
func TestDefaultConfigPathErrors(t *testing.T) {
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, goos := range []string{"windows", "darwin", "linux"} {
		if _, err := defaultConfigPath(goos, env(nil), noHome); err == nil || !strings.Contains(err.Error(), "set --home") {
			t.Errorf("%s without a home: %v", goos, err)
		}
	}
	if _, err := defaultConfigPath("linux", env(nil), func() (string, error) { return "ann", nil }); err == nil {
		t.Error("a relative home directory was accepted")
	}
	home := func() (string, error) { return "/home/ann", nil }
	if p, err := defaultConfigPath("linux", env(map[string]string{"XDG_CONFIG_HOME": "rel"}), home); err == nil || !strings.Contains(err.Error(), "XDG_CONFIG_HOME") {
		t.Errorf("relative XDG_CONFIG_HOME: %q, %v", p, err)
	}
}

// TestConfigBesideState: on Windows and macOS the configuration lives in
// the same InboxSync directory as the state (macOS: the very directory of
// the store; Windows: the Roaming twin of the Local one), never in a
// differently spelled one.
func TestConfigBesideState(t *testing.T) {
	win := map[string]string{"APPDATA": `C:\Users\Ann\AppData\Roaming`, "LOCALAPPDATA": `C:\Users\Ann\AppData\Local`}
	for _, tc := range []struct {
		goos string
		env  map[string]string
		home string
	}{
		{"windows", win, `C:\Users\Ann`},
		{"windows", nil, `C:\Users\Ann`},
		{"darwin", nil, "/Users/ann"},
	} {
		home := func() (string, error) { return tc.home, nil }
		getenv := func(k string) string { return tc.env[k] }
		p, err := defaultPaths(tc.goos, getenv, home)
		if err != nil {
			t.Fatal(err)
		}
		c, err := defaultConfigPath(tc.goos, getenv, home)
		if err != nil {
			t.Fatal(err)
		}
		sep := "/"
		if tc.goos == "windows" {
			sep = `\`
		}
		stateDir := p.DB[:strings.LastIndex(p.DB, sep)]
		configDir := c[:strings.LastIndex(c, sep)]
		if tc.goos == "windows" {
			stateDir = strings.Replace(stateDir, `\AppData\Local\`, `\AppData\Roaming\`, 1)
		}
		if configDir != stateDir || !strings.HasSuffix(configDir, sep+"InboxSync") {
			t.Errorf("%s: configuration in %s, state in %s", tc.goos, configDir, stateDir)
		}
	}
}

// TestConfigPath: --home and INBOXSYNC_HOME put config.json in the home
// directory; without them, on Linux, the file is where it always was
// (os.UserConfigDir's directory, then inboxsync/config.json).
func TestConfigPath(t *testing.T) {
	dir := t.TempDir()
	if got, err := ConfigPath(Paths{Home: dir}); err != nil || got != filepath.Join(dir, "config.json") {
		t.Errorf("--home %s: %s, %v", dir, got, err)
	}
	t.Setenv("INBOXSYNC_HOME", dir)
	if got, err := ConfigPath(Paths{}); err != nil || got != filepath.Join(dir, "config.json") {
		t.Errorf("INBOXSYNC_HOME=%s: %s, %v", dir, got, err)
	}
	t.Setenv("INBOXSYNC_HOME", "")
	if runtime.GOOS != "linux" {
		t.Skip("the rest compares with os.UserConfigDir on Linux")
	}
	for _, env := range []map[string]string{
		{"HOME": "/home/ann", "XDG_CONFIG_HOME": ""},
		{"HOME": "/home/ann", "XDG_CONFIG_HOME": "/srv/cfg"},
		{"HOME": "", "XDG_CONFIG_HOME": "/srv/cfg"},
		{"HOME": "/home/ann", "XDG_CONFIG_HOME": "relative"},
		{"HOME": "", "XDG_CONFIG_HOME": ""},
	} {
		for k, v := range env {
			t.Setenv(k, v)
		}
		got, err := ConfigPath(Paths{})
		dir, werr := os.UserConfigDir()
		if (err != nil) != (werr != nil) || err == nil && got != filepath.Join(dir, "inboxsync", "config.json") {
			t.Errorf("%v: got %q, %v; os.UserConfigDir: %q, %v", env, got, err, dir, werr)
		}
	}
}
