//go:build windows

package main

import "testing"

// TestWantsConsole: the command lines that attach to the parent's
// console are the verbs and the usage, never starting Inbox Sync (the
// agent, also what the Run key starts) or a window.
func TestWantsConsole(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--home", `C:\sync`}, false},
		{[]string{"-home=C:\\sync"}, false},
		{[]string{"--"}, false},
		{[]string{""}, false},
		{[]string{"ui", "dashboard"}, false},
		{[]string{"--home", "ui", "ui", "settings"}, false},
		{[]string{"--", "ui", "activate"}, false},
		{[]string{"status"}, true},
		{[]string{"status", "--json"}, true},
		{[]string{"--home", `C:\sync`, "account", "list"}, true},
		{[]string{"--home=ui", "version"}, true},
		{[]string{"--", "status"}, true},
		{[]string{"agent", "--no-tray"}, true},
		{[]string{"help"}, true},
		{[]string{"-"}, true},
		{[]string{"--help"}, true},
		{[]string{"-h"}, true},
		{[]string{"--verbose"}, true},
		{[]string{"---home", "x"}, true},
		{[]string{"--home"}, true},
	} {
		if got := wantsConsole(tc.args); got != tc.want {
			t.Errorf("wantsConsole(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
