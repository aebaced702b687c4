package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/xtest"

	"github.com/inboxsync/inboxsync/sync/api"
)

// These tests show real windows: they run the agent on a private Xvfb
// display and count its windows with xdotool, as a user would see them.
// With INBOXSYNC_SHOTS=DIR they save each window they capture there.

// needDisplayTools skips when Xvfb or xdotool is missing, unless the run
// requires the full environment (INBOXSYNC_REQUIRE_KEYRING=1).
func needDisplayTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range append([]string{"Xvfb", "xdotool"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("INBOXSYNC_REQUIRE_KEYRING") == "1" {
				t.Fatalf("%s not found: install it (scripts/deps.sh test)", tool)
			}
			t.Skipf("%s not found: install it (scripts/deps.sh test)", tool)
		}
	}
}

// windows lists the visible windows on display whose title matches the
// regular expression name. With wait, it first waits (up to 20 s) until
// there is at least one.
func windows(t *testing.T, display, name string, wait bool) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := []string{"search", "--onlyvisible", "--name", name}
	if wait {
		args = []string{"search", "--sync", "--onlyvisible", "--name", name}
	}
	for {
		cmd := exec.CommandContext(ctx, "xdotool", args...)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		out, err := cmd.Output()
		if ctx.Err() != nil {
			t.Fatalf("no window %q appeared within 20 s", name)
		}
		// xdotool search exits 1 when nothing matches.
		if err != nil && len(out) != 0 {
			t.Fatalf("xdotool %v: %v", args, err)
		}
		// --sync may come back empty when the window it saw was unmapped
		// again (a window being replaced): look again until one shows.
		if ids := strings.Fields(string(out)); len(ids) > 0 || !wait {
			return ids
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWindowReactivationOpensExactlyOne(t *testing.T) {
	needKeyring(t)
	needDisplayTools(t, "import")
	display := xtest.StartXvfb(t) // registered first: stopped after the agent
	h := newHome(t, "DISPLAY="+display, "WAYLAND_DISPLAY=",
		"INBOXSYNC_TEST_MIN_SYNC_GAP=100ms", "INBOXSYNC_TEST_WALL_CHECK=100ms")
	log := h.startAgent()
	h.ok("settings", "--interval", "1s")
	const title = "Sign in again"

	ok := `{"inbox": 3, "password": "` + password + `"}`
	script := h.writeScript(ok)
	add := func() {
		t.Helper()
		out, errOut, code := h.run(password+"\n", "account", "add", "scripted", "--account", longAccount, "--login", "ann", "--mailbox", script, "--password-stdin")
		if code != 0 {
			t.Fatalf("account add: exit %d\n%s%s\nagent log:\n%s", code, out, errOut, log)
		}
	}
	add()
	await(t, "the first sync ends", log, func() bool {
		s := h.status().Accounts
		return len(s) == 1 && s[0].LastSync != nil && s[0].LastSync.Outcome == "ok"
	})
	if w := windows(t, display, title, false); len(w) != 0 {
		t.Fatalf("%d %q windows before anything went wrong", len(w), title)
	}

	// The organisation revokes the grant: the next session ends the
	// account's sync and the agent opens its activation window.
	h.writeScript(`{"inbox": 3, "password": "` + password + `", "fail": "grant-gone"}`)
	await(t, "the account needs re-activation", log, func() bool {
		return h.status().Accounts[0].State == api.NeedsReactivation
	})
	w := windows(t, display, title, true)
	if len(w) != 1 {
		t.Fatalf("%d %q windows, want exactly 1\nagent log:\n%s", len(w), title, log)
	}
	await(t, "the agent says it opened the window", log, func() bool {
		return strings.Count(log.String(), "window opened") == 1
	})
	shots := &screens{t: t, h: h, display: display}
	shots.drawn(w[0], title)
	shots.shootID(w[0], "window-reactivation")
	windowIdentity(t, display, w[0])

	// Three more times: the user signs in again from the command line,
	// but the grant is still gone, so each first session asks for the
	// window again. The one already open stays the only one.
	for i := 1; i <= 3; i++ {
		add()
		await(t, "the re-activated account fails again and asks for the window", log, func() bool {
			return strings.Count(log.String(), "window already open") == i &&
				h.status().Accounts[0].State == api.NeedsReactivation
		})
		if w := windows(t, display, title, true); len(w) != 1 {
			t.Fatalf("after %d more grant-gone sessions: %d %q windows, want exactly 1\nagent log:\n%s", i, len(w), title, log)
		}
	}
	time.Sleep(500 * time.Millisecond) // a late second window would show by now
	if w := windows(t, display, title, false); len(w) != 1 {
		t.Fatalf("%d %q windows at the end, want exactly 1\nagent log:\n%s", len(w), title, log)
	}
	if n := strings.Count(log.String(), "window opened"); n != 1 {
		t.Fatalf("the agent started %d window processes, want 1\n%s", n, log)
	}
	shots.shootID(w[0], "window-reactivation-after-3")
}

// windowIdentity checks what the window manager and the desktop read off a
// window: the application icon (_NET_WM_ICON at 256×256, never the blank
// generic one) and the WM_CLASS instance that the desktop entry's
// StartupWMClass names.
func windowIdentity(t *testing.T, display, id string) {
	t.Helper()
	xprop := func(args ...string) string {
		cmd := exec.Command("xprop", append([]string{"-id", id}, args...)...)
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("xprop %v: %v", args, err)
		}
		return string(out)
	}
	if got := xprop("WM_CLASS"); !strings.Contains(got, `WM_CLASS(STRING) = "Inbox Sync"`) {
		t.Errorf("WM_CLASS is not the desktop entry's StartupWMClass \"Inbox Sync\": %s", got)
	}
	// -len 8: only the icon's width and height are read.
	if got := xprop("-len", "8", "_NET_WM_ICON"); !strings.Contains(got, "Icon (256 x 256)") {
		t.Errorf("the window has no 256×256 application icon: %s", got)
	}
}
