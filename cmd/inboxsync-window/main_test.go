package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/internal/install"
)

// The window program reads what `inboxsync ui` and the agent pass it:
// flags before or after the window's name, and says what is wrong in words.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		args     []string
		ok       bool
		code     int
		name     string
		account  string
		tab      string
		home     string
		errorSay string
	}{
		{args: []string{"--home", "/h", "activate", "--account", "work", "--reason", "signed out"}, ok: true, name: "activate", account: "work", home: "/h"},
		{args: []string{"--tab", "activity", "dashboard"}, ok: true, name: "dashboard", tab: "activity"},
		{args: []string{"settings"}, ok: true, name: "settings"},
		{args: []string{"crm-connect"}, ok: true, name: "crm-connect"},
		{args: nil, code: exitUsage, errorSay: "which window?"},
		{args: []string{"tray"}, code: exitUsage, errorSay: `unknown window "tray"`},
		{args: []string{"settings", "--tab", "activity"}, code: exitUsage, errorSay: "--tab is one of the dashboard's tabs"},
		{args: []string{"dashboard", "--tab", "nowhere"}, code: exitUsage, errorSay: "--tab is one of the dashboard's tabs"},
		{args: []string{"dashboard", "extra"}, code: exitUsage, errorSay: `unexpected argument "extra"`},
		{args: []string{"--help"}, code: exitOK, errorSay: "Usage: inboxsync ui"},
	} {
		var errOut bytes.Buffer
		req, code, ok := parse(c.args, &errOut)
		if ok != c.ok || (!ok && code != c.code) {
			t.Errorf("%q: ok %v code %d, want ok %v code %d\n%s", c.args, ok, code, c.ok, c.code, errOut.String())
			continue
		}
		if !ok {
			if !strings.Contains(errOut.String(), c.errorSay) {
				t.Errorf("%q said %q, want %q", c.args, errOut.String(), c.errorSay)
			}
			continue
		}
		if req.name != c.name || req.opts.Account != c.account || req.opts.Tab != c.tab || req.home != c.home {
			t.Errorf("%q: got %+v", c.args, req)
		}
		// Start at login runs the inboxsync program (not this one), with
		// the same home.
		want := []string{install.MainProgram()}
		if c.home != "" {
			want = append(want, "--home", c.home)
		}
		if !slices.Equal(req.opts.Autostart, want) {
			t.Errorf("%q: autostart %q, want %q", c.args, req.opts.Autostart, want)
		}
	}
}
