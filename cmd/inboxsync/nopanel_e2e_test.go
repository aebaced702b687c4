package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/xtest"

	"github.com/inboxsync/inboxsync/sync/api"
)

// TestNoPanelSuspendedOpensTheDashboard runs the agent as on stock GNOME:
// a desktop, but no panel shows tray icons. An account that fails until
// it is suspended then opens the dashboard, which says why, since no
// attention icon can.
func TestNoPanelSuspendedOpensTheDashboard(t *testing.T) {
	needKeyring(t)
	needDisplayTools(t, "import")
	display := xtest.StartXvfb(t) // registered first: stopped after the agent
	h := newHome(t, "DISPLAY="+display, "WAYLAND_DISPLAY=",
		"INBOXSYNC_TEST_MIN_SYNC_GAP=100ms", "INBOXSYNC_TEST_WALL_CHECK=100ms")
	log := h.startTrayAgent()
	// The first start's activation window; the user closes it and
	// connects from the command line instead.
	ids := windows(t, display, firstStartTitle, true)
	if len(ids) != 1 {
		t.Fatalf("%d %q windows at the first start, want 1\nagent log:\n%s", len(ids), firstStartTitle, log)
	}
	closeWindow(t, display, ids[0])
	h.eventually("the window is gone", func() bool { return len(windows(t, display, firstStartTitle, false)) == 0 })

	h.ok("settings", "--interval", "1s")
	script := h.writeScript(`{"inbox": 3, "password": "` + password + `"}`)
	if out, errOut, code := h.run(password+"\n", "account", "add", "scripted", "--account", "work", "--login", "ann", "--mailbox", script, "--password-stdin"); code != 0 {
		t.Fatalf("account add: exit %d\n%s%s", code, out, errOut)
	}
	h.eventually("the first sync ends", func() bool {
		s := h.status().Accounts
		return len(s) == 1 && s[0].LastSync != nil && s[0].LastSync.Outcome == "ok"
	})
	if ids := windows(t, display, "^Inbox Sync$", false); len(ids) != 0 {
		t.Fatalf("a dashboard is open before anything went wrong\nagent log:\n%s", log)
	}

	// The server fails every session from now on: after 10 in a row the
	// account is suspended.
	h.writeScript(`{"inbox": 3, "password": "` + password + `", "fail": "failed"}`)
	deadline := time.Now().Add(90 * time.Second)
	for h.status().Accounts[0].State != api.Suspended {
		if time.Now().After(deadline) {
			t.Fatalf("the account was not suspended within 90 s: %+v\nagent log:\n%s", h.status().Accounts[0], log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ids = windows(t, display, "^Inbox Sync$", true)
	if len(ids) != 1 {
		t.Fatalf("%d dashboards after the suspension, want 1\nagent log:\n%s", len(ids), log)
	}
	if !strings.Contains(log.String(), "no tray icon shows it: opening the dashboard") {
		t.Fatalf("the agent does not say why it opened the dashboard:\n%s", log)
	}
	shots := &screens{t: t, h: h, display: display}
	shots.drawn(ids[0], "Inbox Sync")
	shots.shootID(ids[0], "window-suspended-no-panel")
}

// closeWindow ends the process of window id as the desktop does when the
// user closes it.
func closeWindow(t *testing.T, display, id string) {
	t.Helper()
	out, err := xdotoolOn(display, "getwindowpid", id)
	if err != nil {
		t.Fatalf("xdotool getwindowpid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("window pid %q: %v", out, err)
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(os.Interrupt); err != nil { // SIGINT; builds on Windows too
		t.Fatal(err)
	}
}
