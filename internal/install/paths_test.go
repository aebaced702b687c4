package install

import (
	"errors"
	"strings"
	"testing"
)

// TestDefaultPaths: each system's layout without --home, from a fake
// environment, whatever system the test runs on.
func TestDefaultPaths(t *testing.T) {
	for _, tc := range []struct {
		name, goos string
		env        map[string]string
		home       string
		want       Paths
	}{
		{
			name: "windows", goos: "windows",
			env:  map[string]string{"LOCALAPPDATA": `C:\Users\Ann\AppData\Local`, "XDG_DATA_HOME": "/ignored"},
			home: `C:\Users\Ann`,
			want: Paths{
				DB:     `C:\Users\Ann\AppData\Local\InboxSync\inboxsync.db`,
				LogDir: `C:\Users\Ann\AppData\Local\InboxSync\logs`,
				RunDir: `C:\Users\Ann\AppData\Local\InboxSync\run`,
				Socket: `C:\Users\Ann\AppData\Local\InboxSync\run\control.sock`,
				Lock:   `C:\Users\Ann\AppData\Local\InboxSync\run\agent.lock`,
			},
		},
		{
			name: "windows without LOCALAPPDATA", goos: "windows",
			env:  map[string]string{"LOCALAPPDATA": `relative\dir`},
			home: `D:\Profiles\ann\`,
			want: Paths{
				DB:     `D:\Profiles\ann\AppData\Local\InboxSync\inboxsync.db`,
				LogDir: `D:\Profiles\ann\AppData\Local\InboxSync\logs`,
				RunDir: `D:\Profiles\ann\AppData\Local\InboxSync\run`,
				Socket: `D:\Profiles\ann\AppData\Local\InboxSync\run\control.sock`,
				Lock:   `D:\Profiles\ann\AppData\Local\InboxSync\run\agent.lock`,
			},
		},
		{
			name: "macOS", goos: "darwin",
			env:  map[string]string{"XDG_DATA_HOME": "/ignored", "XDG_RUNTIME_DIR": "/ignored"},
			home: "/Users/ann",
			want: Paths{
				DB:     "/Users/ann/Library/Application Support/InboxSync/inboxsync.db",
				LogDir: "/Users/ann/Library/Logs/InboxSync",
				RunDir: "/Users/ann/Library/Application Support/InboxSync/run",
				Socket: "/Users/ann/Library/Application Support/InboxSync/run/control.sock",
				Lock:   "/Users/ann/Library/Application Support/InboxSync/run/agent.lock",
			},
		},
		{
			name: "linux XDG", goos: "linux",
			env:  map[string]string{"XDG_DATA_HOME": "/d", "XDG_STATE_HOME": "/s", "XDG_RUNTIME_DIR": "/r"},
			home: "/home/ann",
			want: Paths{DB: "/d/inboxsync/inboxsync.db", LogDir: "/s/inboxsync/logs", RunDir: "/r/inboxsync", Socket: "/r/inboxsync/control.sock", Lock: "/r/inboxsync/agent.lock"},
		},
		{
			name: "linux defaults", goos: "linux",
			env:  map[string]string{"XDG_DATA_HOME": "relative", "LOCALAPPDATA": `C:\ignored`},
			home: "/home/ann",
			want: Paths{
				DB:     "/home/ann/.local/share/inboxsync/inboxsync.db",
				LogDir: "/home/ann/.local/state/inboxsync/logs",
				RunDir: "/home/ann/.local/state/inboxsync/run",
				Socket: "/home/ann/.local/state/inboxsync/run/control.sock",
				Lock:   "/home/ann/.local/state/inboxsync/run/agent.lock",
			},
		},
		{
			name: "freebsd", goos: "freebsd",
			env:  map[string]string{"XDG_RUNTIME_DIR": "/var/run/user/1001"},
			home: "/home/ann",
			want: Paths{
				DB:     "/home/ann/.local/share/inboxsync/inboxsync.db",
				LogDir: "/home/ann/.local/state/inboxsync/logs",
				RunDir: "/var/run/user/1001/inboxsync",
				Socket: "/var/run/user/1001/inboxsync/control.sock",
				Lock:   "/var/run/user/1001/inboxsync/agent.lock",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := defaultPaths(tc.goos, func(k string) string { return tc.env[k] }, func() (string, error) { return tc.home, nil })
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestDefaultPathsNoHome: without a home directory (and nothing that
// replaces it) the error says to set --home; the variables that replace it
// are enough.
func TestDefaultPathsNoHome(t *testing.T) {
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, goos := range []string{"windows", "darwin", "linux"} {
		if _, err := defaultPaths(goos, env(nil), noHome); err == nil || !strings.Contains(err.Error(), "set --home") {
			t.Errorf("%s without a home: %v", goos, err)
		}
	}
	relHome := func() (string, error) { return "ann", nil }
	if _, err := defaultPaths("linux", env(nil), relHome); err == nil {
		t.Error("a relative home directory was accepted")
	}
	if _, err := defaultPaths("windows", env(map[string]string{"LOCALAPPDATA": `\\server\profiles\ann\Local`}), noHome); err != nil {
		t.Errorf("windows with LOCALAPPDATA needs no home: %v", err)
	}
	if _, err := defaultPaths("linux", env(map[string]string{"XDG_DATA_HOME": "/d", "XDG_STATE_HOME": "/s"}), noHome); err != nil {
		t.Errorf("linux with XDG_DATA_HOME and XDG_STATE_HOME needs no home: %v", err)
	}
}

// TestSocketPathLimit: each system's sun_path limit, counted in bytes.
func TestSocketPathLimit(t *testing.T) {
	for _, tc := range []struct {
		goos, prefix, suffix string // the home directory is prefix + filler
	}{
		{"linux", "/", "/.local/state/inboxsync/run/control.sock"},
		{"windows", `C:\`, `\AppData\Local\InboxSync\run\control.sock`},
		{"darwin", "/Users/", "/Library/Application Support/InboxSync/run/control.sock"},
	} {
		max := maxSocketPath(tc.goos)
		fill := max - len(tc.prefix) - len(tc.suffix)
		for _, c := range []struct {
			home string
			fits bool
		}{
			{tc.prefix + strings.Repeat("a", fill), true},
			{tc.prefix + strings.Repeat("a", fill+1), false},
			{tc.prefix + strings.Repeat("a", fill%2) + strings.Repeat("é", fill/2), true}, // é is two bytes
			{tc.prefix + strings.Repeat("é", fill/2+1), false},
		} {
			p, err := defaultPaths(tc.goos, func(string) string { return "" }, func() (string, error) { return c.home, nil })
			if (err == nil) != c.fits {
				t.Errorf("%s: socket path of %d bytes (limit %d): %v", tc.goos, len(p.Socket), max, err)
			}
		}
	}
	if maxSocketPath("darwin") != 103 || maxSocketPath("windows") != 107 || maxSocketPath("linux") != 107 {
		t.Error("the sun_path limits changed")
	}
}
