package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/xtest"

	"github.com/inboxsync/inboxsync/ui/tray/traytest"
)

// firstStartTitle is the activation window for a new account.
const firstStartTitle = "Connect your mailbox"

// TestFirstStartOpensTheActivationWindow starts the agent as a new user
// does, on a desktop with a panel: with no account, the activation window
// opens by itself, once; closed, it stays closed for the run; and once an
// account exists, a start opens nothing.
func TestFirstStartOpensTheActivationWindow(t *testing.T) {
	needKeyring(t)
	needDisplayTools(t, "import")
	display := xtest.StartXvfb(t) // registered first: stopped after the agent
	w, err := traytest.NewWatcher()
	if err != nil {
		t.Fatalf("becoming the StatusNotifierWatcher: %v", err)
	}
	defer w.Close()
	h := newHome(t, "DISPLAY="+display, "WAYLAND_DISPLAY=")
	log := h.startTrayAgent()
	if _, err := w.Await(20 * time.Second); err != nil {
		t.Fatalf("%v\nagent log:\n%s", err, log)
	}

	ids := windows(t, display, firstStartTitle, true)
	if len(ids) != 1 {
		t.Fatalf("%d %q windows at the first start, want 1\nagent log:\n%s", len(ids), firstStartTitle, log)
	}
	shots := &screens{t: t, h: h, display: display}
	shots.drawn(ids[0], firstStartTitle)
	shots.shootID(ids[0], "window-first-start")
	if n := strings.Count(log.String(), "window opened"); n != 1 {
		t.Fatalf("the agent started %d window processes, want 1\n%s", n, log)
	}

	// The user closes it without connecting a mailbox (the desktop ends
	// the window's process): it does not come back in this run.
	closeWindow(t, display, ids[0])
	h.eventually("the window is gone", func() bool { return len(windows(t, display, firstStartTitle, false)) == 0 })
	time.Sleep(1500 * time.Millisecond) // a window opened again would show by now
	if ids := windows(t, display, firstStartTitle, false); len(ids) != 0 {
		t.Fatalf("the activation window came back after the user closed it\nagent log:\n%s", log)
	}
	if n := strings.Count(log.String(), "window opened"); n != 1 {
		t.Fatalf("the agent started %d window processes, want 1\n%s", n, log)
	}

	// With an account, the next start opens no window.
	script := h.writeScript(`{"inbox": 2, "password": "` + password + `"}`)
	if out, errOut, code := h.run(password+"\n", "account", "add", "scripted", "--account", "work", "--login", "ann", "--mailbox", script, "--password-stdin"); code != 0 {
		t.Fatalf("account add: exit %d\n%s%s", code, out, errOut)
	}
	h.stopAgent()
	log = h.startTrayAgent()
	if _, err := w.Await(20 * time.Second); err != nil {
		t.Fatalf("%v\nagent log:\n%s", err, log)
	}
	time.Sleep(2 * time.Second)
	if ids := windows(t, display, "Inbox Sync", false); len(ids) != 0 {
		t.Fatalf("%d windows at a start with an account, want none\nagent log:\n%s", len(ids), log)
	}
	if strings.Contains(log.String(), "window opened") {
		t.Fatalf("the agent opened a window at a start with an account:\n%s", log)
	}
}

// TestHeadlessAgentOpensNoFirstStartWindow: `inboxsync agent --no-tray`
// (servers, tests) does not open the activation window by itself, even
// where a display happens to be.
func TestHeadlessAgentOpensNoFirstStartWindow(t *testing.T) {
	needKeyring(t)
	needDisplayTools(t)
	display := xtest.StartXvfb(t)
	h := newHome(t, "DISPLAY="+display, "WAYLAND_DISPLAY=")
	log := h.startAgent()
	time.Sleep(2 * time.Second)
	if ids := windows(t, display, "Inbox Sync", false); len(ids) != 0 {
		t.Fatalf("%d windows from a headless agent with no account, want none\nagent log:\n%s", len(ids), log)
	}
	if strings.Contains(log.String(), "window opened") || strings.Contains(log.String(), "opening the activation window") {
		t.Fatalf("the headless agent opened a window:\n%s", log)
	}
}

// xdotoolOn runs xdotool on display and returns its output.
func xdotoolOn(display string, args ...string) (string, error) {
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(cmd.Environ(), "DISPLAY="+display)
	out, err := cmd.Output()
	return string(out), err
}
