package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/inboxsync/inboxsync/assets"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/ui/tray/traytest"
)

// These tests run the real agent with its tray icon on the test's D-Bus
// session (scripts/with-keyring.sh provides one). The test plays the
// desktop panel: it owns org.kde.StatusNotifierWatcher, receives the tray's
// registration, reads its Status, ToolTip, IconPixmap and menu, and clicks
// menu entries through com.canonical.dbusmenu, as a panel does. With
// INBOXSYNC_SHOTS=DIR it saves every icon state it sees as DIR/tray-*.png
// with the menu as DIR/tray-*-menu.txt, for people to look at.

// await polls cond until it holds.
func await(t *testing.T, what string, log *agentLog, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s\nagent log:\n%s", what, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// trayState is what the panel sees.
type trayState struct {
	status  string
	tooltip string
	icon    []byte // the first pixmap's ARGB bytes
	pixmap  traytest.Pixmap
	menu    traytest.MenuNode
}

type trayProbe struct {
	t     *testing.T
	log   *agentLog
	item  traytest.Item
	shots string
}

func (p *trayProbe) read() (trayState, error) {
	var s trayState
	var err error
	if s.status, err = p.item.Status(); err != nil {
		return s, err
	}
	tt, err := p.item.ToolTip()
	if err != nil {
		return s, err
	}
	s.tooltip = tt.Title
	px, err := p.item.IconPixmap()
	if err != nil {
		return s, err
	}
	if len(px) == 0 || px[0].Width == 0 {
		return s, fmt.Errorf("no icon")
	}
	s.pixmap, s.icon = px[0], px[0].ARGB
	s.menu, err = p.item.Menu()
	return s, err
}

// await polls the tray until cond holds and returns what it saw.
func (p *trayProbe) await(what string, cond func(trayState) bool) trayState {
	p.t.Helper()
	var s trayState
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err = p.read()
		if err == nil && cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting until the tray shows %s (err %v)\ntooltip: %q\nmenu:\n%s\nagent log:\n%s", what, err, s.tooltip, s.menu, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// entry finds a menu entry by its labels, waiting for it to be there
// (fyne.io/systray's first GetLayout leaves out submenus).
func (p *trayProbe) entry(labels ...string) traytest.MenuNode {
	p.t.Helper()
	var n traytest.MenuNode
	p.await(fmt.Sprintf("the entry %q", labels), func(s trayState) bool {
		var ok bool
		n, ok = s.menu.Find(labels...)
		return ok
	})
	return n
}

func (p *trayProbe) click(labels ...string) {
	p.t.Helper()
	n := p.entry(labels...)
	if !n.Enabled || !n.Visible {
		p.t.Fatalf("menu entry %q is not clickable: %+v", labels, n)
	}
	if err := p.item.Click(n.ID); err != nil {
		p.t.Fatalf("clicking %q: %v", labels, err)
	}
}

// shot checks that the tray shows the icon of kind, pixel for pixel, and
// saves it (with the menu) when INBOXSYNC_SHOTS is set.
func (p *trayProbe) shot(kind string, s trayState) {
	p.t.Helper()
	want, err := png.Decode(bytes.NewReader(assets.TrayIcon(kind, 48)))
	if err != nil {
		p.t.Fatal(err)
	}
	if got := s.pixmap.Image(); !bytes.Equal(got.Pix, want.(*image.NRGBA).Pix) {
		p.t.Errorf("the tray's pixmap is not the %s icon", kind)
	}
	name := kind
	if p.shots == "" {
		return
	}
	var b bytes.Buffer
	if err := png.Encode(&b, s.pixmap.Image()); err != nil {
		p.t.Fatal(err)
	}
	os.WriteFile(filepath.Join(p.shots, "tray-"+name+".png"), b.Bytes(), 0o644)
	text := fmt.Sprintf("tooltip: %s\nstatus: %s\n\n%s", s.tooltip, s.status, s.menu)
	os.WriteFile(filepath.Join(p.shots, "tray-"+name+"-menu.txt"), []byte(text), 0o644)
}

func visible(s trayState, labels ...string) bool {
	n, ok := s.menu.Find(labels...)
	return ok && n.Visible
}

func enabled(s trayState, labels ...string) bool {
	n, ok := s.menu.Find(labels...)
	return ok && n.Visible && n.Enabled
}

func TestTrayEndToEnd(t *testing.T) {
	needKeyring(t)
	w, err := traytest.NewWatcher()
	if err != nil {
		t.Fatalf("becoming the StatusNotifierWatcher: %v", err)
	}
	defer w.Close()
	shots := os.Getenv("INBOXSYNC_SHOTS")
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// No display: the windows the agent opens (the first start's
	// activation window, re-activation) are only logged, never shown on
	// the screen of whoever runs the tests.
	h := newHome(t, "INBOXSYNC_TEST_MIN_SYNC_GAP=100ms", "DISPLAY=", "WAYLAND_DISPLAY=") // 0 means the default minute
	log := h.startTrayAgent()
	item, err := w.Await(20 * time.Second)
	if err != nil {
		t.Fatalf("%v\nagent log:\n%s", err, log)
	}
	p := &trayProbe{t: t, log: log, item: item, shots: shots}
	// The panel hears every change of the item's Status.
	newStatus, stopStatus, err := item.WatchStatus()
	if err != nil {
		t.Fatal(err)
	}
	defer stopStatus()
	// The item is complete when it registers: a panel draws it at once.
	if first, err := p.read(); err != nil || first.tooltip == "" || len(first.menu.Children) == 0 {
		t.Errorf("the item registered before it was complete: %v, tooltip %q, menu:\n%s", err, first.tooltip, first.menu)
	}
	if title, err := item.Title(); err != nil || title != "Inbox Sync" {
		t.Errorf("Title = %q, %v", title, err)
	}

	// No account yet.
	notActivated := p.await("not activated", func(s trayState) bool {
		return strings.HasPrefix(s.tooltip, "Inbox Sync — Not activated")
	})
	if notActivated.status != "Active" {
		t.Errorf("Status = %q, want Active", notActivated.status)
	}
	if n := notActivated.pixmap; n.Width != 48 || n.Height != 48 || len(n.ARGB) != 48*48*4 {
		t.Errorf("pixmap %d×%d with %d bytes, want 48×48", n.Width, n.Height, len(n.ARGB))
	}
	for _, label := range []string{"Sync now", "Re-activate…"} {
		if n, ok := notActivated.menu.Find(label); !ok || n.Enabled || !n.Visible {
			t.Errorf("%q with no account: %+v, want shown and disabled", label, n)
		}
	}
	for _, label := range []string{"Pause", "Open dashboard", "Settings", "Quit"} {
		if !enabled(notActivated, label) {
			t.Errorf("%q is not enabled with no account\n%s", label, notActivated.menu)
		}
	}
	if visible(notActivated, "Resume") {
		t.Errorf("Resume shows while not paused\n%s", notActivated.menu)
	}
	p.shot("not-activated", notActivated)

	// Paused before any account: the tray says it is paused.
	p.click("Pause", "Until resumed")
	pausedEmpty := p.await("paused with no account", func(s trayState) bool {
		return s.tooltip == "Inbox Sync — Paused until you resume. Not activated: connect a mailbox in the dashboard"
	})
	if line := pausedEmpty.menu.Children[0].Label; line != "Paused until you resume. Not activated: connect a mailbox in the dashboard" {
		t.Errorf("the status line while paused with no account: %q", line)
	}
	if !enabled(pausedEmpty, "Resume") {
		t.Errorf("Resume is not offered while paused with no account\n%s", pausedEmpty.menu)
	}
	p.click("Resume")
	p.await("not activated again", func(s trayState) bool {
		return s.tooltip == "Inbox Sync — Not activated: connect a mailbox in the dashboard"
	})

	// An account: its first sync is slowed down so the tray can be seen
	// syncing.
	script := h.writeScript(`{"inbox": 40, "sent": 5, "calendar": 3, "password": "` + password + `", "page_size": 8, "page_delay": "250ms", "email": "ann@example.test"}`)
	out, errOut, code := h.run(password+"\n", "account", "add", "scripted", "--account", "work", "--login", "ann", "--mailbox", script, "--password-stdin")
	if code != 0 {
		t.Fatalf("account add: exit %d\n%s%s", code, out, errOut)
	}
	syncing := p.await("syncing", func(s trayState) bool { return strings.HasPrefix(s.tooltip, "Inbox Sync — Syncing") })
	p.shot("syncing", syncing)
	idle := p.await("up to date", func(s trayState) bool {
		return strings.HasPrefix(s.tooltip, "Inbox Sync — Up to date. Last sync ") && strings.Contains(s.tooltip, ", next ")
	})
	if bytes.Equal(idle.icon, notActivated.icon) || bytes.Equal(idle.icon, syncing.icon) {
		t.Error("the icon is the same up to date as not activated or syncing")
	}
	if !enabled(idle, "Sync now") {
		t.Errorf("Sync now is disabled while up to date\n%s", idle.menu)
	}
	if !strings.HasPrefix(idle.menu.Children[0].Label, "Up to date. Last sync ") || idle.menu.Children[0].Enabled {
		t.Errorf("the status line: %+v", idle.menu.Children[0])
	}
	p.shot("idle", idle)

	// Pause → 30 minutes.
	p.click("Pause", "30 minutes")
	await(t, "the agent is paused", log, func() bool { s := h.status(); return s.Paused && !s.PausedUntil.IsZero() })
	paused := p.await("paused", func(s trayState) bool { return strings.HasPrefix(s.tooltip, "Inbox Sync — Paused until ") })
	if bytes.Equal(paused.icon, idle.icon) {
		t.Error("the icon did not change when paused")
	}
	if !enabled(paused, "Resume") || visible(paused, "Pause") {
		t.Errorf("paused, the menu should offer Resume instead of Pause:\n%s", paused.menu)
	}
	if n, _ := paused.menu.Find("Sync now"); n.Enabled {
		t.Error("Sync now is enabled while paused")
	}
	p.shot("paused", paused)

	// Resume.
	p.click("Resume")
	await(t, "the agent is resumed", log, func() bool { return !h.status().Paused })
	resumed := p.await("up to date again", func(s trayState) bool { return strings.HasPrefix(s.tooltip, "Inbox Sync — Up to date") })
	if !bytes.Equal(resumed.icon, idle.icon) {
		t.Error("the icon did not come back when resumed")
	}
	if !enabled(resumed, "Pause") || visible(resumed, "Resume") {
		t.Errorf("resumed, the menu should offer Pause again:\n%s", resumed.menu)
	}

	// The network goes down; Sync now from the menu finds out.
	h.writeScript(`{"inbox": 40, "sent": 5, "calendar": 3, "password": "` + password + `", "fail": "offline"}`)
	p.click("Sync now")
	offline := p.await("offline", func(s trayState) bool { return strings.HasPrefix(s.tooltip, "Inbox Sync — Offline") })
	if bytes.Equal(offline.icon, idle.icon) {
		t.Error("the icon is the same offline as up to date")
	}
	p.shot("offline", offline)
	// The tray names the failed try as such and keeps "last sync" for
	// when the data was current (the sync before the network went down).
	lastOK := regexp.MustCompile(`^Offline\. Last successful sync ([0-9:]+); last try ([0-9:]+) failed`).FindStringSubmatch(offline.menu.Children[0].Label)
	acct := h.status().Accounts[0]
	if acct.LastSuccess == nil || acct.LastSync == nil || !acct.LastSync.Failed() {
		t.Fatalf("offline: last success %+v, last session %+v", acct.LastSuccess, acct.LastSync)
	}
	if want := acct.LastSuccess.When().Local().Format("15:04"); lastOK == nil || lastOK[1] != want || lastOK[2] != acct.LastSync.When().Local().Format("15:04") {
		t.Errorf("offline status line %q, want the last successful sync %s and the failed try at %s", offline.menu.Children[0].Label, want, acct.LastSync.When().Local().Format("15:04"))
	}

	// The grant is revoked: the account needs re-activation. (Sync now
	// is refused within INBOXSYNC_TEST_MIN_SYNC_GAP of the last attempt,
	// which may have been only just now.)
	h.writeScript(`{"inbox": 40, "sent": 5, "calendar": 3, "password": "` + password + `", "fail": "grant-gone"}`)
	time.Sleep(300 * time.Millisecond)
	p.click("Sync now")
	await(t, "the account needs re-activation", log, func() bool {
		return h.status().Accounts[0].State == api.NeedsReactivation
	})
	attention := p.await("needs attention", func(s trayState) bool {
		return strings.HasPrefix(s.tooltip, "Inbox Sync — Needs re-activation") && s.status == "NeedsAttention"
	})
	awaitNewStatus(t, newStatus, "NeedsAttention", log)
	if !enabled(attention, "Re-activate…") {
		t.Errorf("Re-activate… is not enabled when needed:\n%s", attention.menu)
	}
	if n, _ := attention.menu.Find("Sync now"); n.Enabled {
		t.Error("Sync now is enabled while the account needs re-activation")
	}
	seen := map[string]string{}
	for name, s := range map[string]trayState{"not activated": notActivated, "syncing": syncing, "up to date": idle, "paused": paused, "offline": offline, "needs attention": attention} {
		if other, ok := seen[string(s.icon)]; ok {
			t.Errorf("%s and %s have the same icon", name, other)
		}
		seen[string(s.icon)] = name
	}
	p.shot("attention", attention)

	// The user signs in again, to the same mailbox (another one would be
	// refused): the item is Active again.
	h.writeScript(`{"inbox": 40, "sent": 5, "calendar": 3, "password": "` + password + `", "email": "ann@example.test"}`)
	out, errOut, code = h.run(password+"\n", "account", "add", "scripted", "--account", "work", "--login", "ann", "--mailbox", script, "--password-stdin")
	if code != 0 {
		t.Fatalf("re-activating: exit %d\n%s%s", code, out, errOut)
	}
	fixed := p.await("up to date after re-activation", func(s trayState) bool {
		return strings.HasPrefix(s.tooltip, "Inbox Sync — Up to date") && s.status == "Active"
	})
	awaitNewStatus(t, newStatus, "Active", log)
	if !bytes.Equal(fixed.icon, idle.icon) {
		t.Error("the icon did not come back after re-activation")
	}
	if n, _ := fixed.menu.Find("Re-activate…"); n.Enabled {
		t.Error("Re-activate… is still enabled after re-activation")
	}

	// Quit stops the whole agent, cleanly.
	p.click("Quit")
	done := make(chan error, 1)
	go func() { done <- h.agent.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the agent exited with %v after Quit\n%s", err, h.log)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the agent did not stop after Quit\n%s", log)
	}
	h.agent = nil
	if out := h.log.String(); !strings.Contains(out, "tray stopped") || !strings.Contains(out, "agent stopped") {
		t.Fatalf("the agent's log lacks its clean stop:\n%s", out)
	}
}

// awaitNewStatus waits for the item's NewStatus signal with want, skipping
// earlier ones.
func awaitNewStatus(t *testing.T, signals <-chan string, want string, log *agentLog) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	var seen []string
	for {
		select {
		case s := <-signals:
			if s == want {
				return
			}
			seen = append(seen, s)
		case <-deadline:
			t.Fatalf("no NewStatus %q signal within 20 s (saw %q)\nagent log:\n%s", want, seen, log)
		}
	}
}

// notificationServer stands in for the desktop's notification daemon on
// the test's session bus and records the notices it is asked to show.
type notificationServer struct {
	got chan [2]string
}

// Notify implements org.freedesktop.Notifications.Notify.
func (s *notificationServer) Notify(app string, id uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	select {
	case s.got <- [2]string{summary, body}:
	default:
	}
	return 1, nil
}

// ownNotifications takes org.freedesktop.Notifications on the test's
// session bus until the test ends. Another package's test may hold the
// name for a moment (go test runs packages at once), so it queues for it.
func ownNotifications(t *testing.T) *notificationServer {
	t.Helper()
	const name = "org.freedesktop.Notifications"
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	srv := &notificationServer{got: make(chan [2]string, 8)}
	if err := conn.Export(srv, "/org/freedesktop/Notifications", name); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.RequestName(name, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var owner string
		if err := conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, name).Store(&owner); err == nil && owner == conn.Names()[0] {
			return srv
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not own %s within 20 s (owner %q)", name, owner)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTrayWithoutAPanel(t *testing.T) {
	needKeyring(t)
	// A session bus, but nobody shows tray icons (stock GNOME): systray
	// says so, the agent tells the user once how to reach it, goes on,
	// registers its icon when a panel appears, and stops cleanly.
	notices := ownNotifications(t)
	h := newHome(t, "DISPLAY=", "WAYLAND_DISPLAY=")
	log := h.startTrayAgent()
	await(t, "systray says there is no watcher", log, func() bool {
		return strings.Contains(log.String(), "org.kde.StatusNotifierWatcher was not provided")
	})
	select {
	case n := <-notices.got:
		if n[0] != "Inbox Sync is running" {
			t.Errorf("notice title %q", n[0])
		}
		for _, s := range []string{"no tray icons", "applications menu", "`inboxsync --home " + h.dir + "`", "dashboard"} {
			if !strings.Contains(n[1], s) {
				t.Errorf("the notice lacks %q: %s", s, n[1])
			}
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("no desktop notice that the tray icon is not shown within 20 s\nagent log:\n%s", log)
	}

	// A panel starts: the icon registers with it, complete.
	w, err := traytest.NewWatcher()
	if err != nil {
		t.Fatalf("becoming the StatusNotifierWatcher: %v", err)
	}
	defer w.Close()
	item, err := w.Await(20 * time.Second)
	if err != nil {
		t.Fatalf("the icon did not register with a panel that appeared later: %v\nagent log:\n%s", err, log)
	}
	// Only the item's properties: a first GetLayout makes fyne.io/systray
	// start a goroutine that races with it (systray_menu_unix.go, refresh
	// and GetLayout guard menuVersion with different locks), and this
	// agent is a -race build.
	await(t, "the registered item shows the state", log, func() bool {
		tt, err1 := item.ToolTip()
		status, err2 := item.Status()
		return err1 == nil && err2 == nil && strings.HasPrefix(tt.Title, "Inbox Sync — Not activated") && status == "Active"
	})
	await(t, "the agent sees the panel", log, func() bool {
		return strings.Contains(log.String(), "a panel shows tray icons")
	})
	select {
	case n := <-notices.got:
		t.Errorf("a second notice in the same run: %q", n)
	case <-time.After(time.Second):
	}

	h.ok("pause")
	if s := h.status(); !s.Paused {
		t.Fatalf("status: %+v", s)
	}
	h.stopAgent()
	if !strings.Contains(h.log.String(), "agent stopped") {
		t.Fatalf("agent log:\n%s", h.log)
	}

	// No session bus at all (a headless server): no tray, and no
	// dbus-launch either.
	h = newHome(t, "DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR="+t.TempDir())
	log = h.startTrayAgent()
	await(t, "the agent says it runs without the tray", log, func() bool {
		return strings.Contains(log.String(), "running without the tray icon")
	})
	h.stopAgent()
}
