package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/assets"
	"github.com/inboxsync/inboxsync/internal/xtest"
	"github.com/inboxsync/inboxsync/ui/tray/traytest"
)

// orgWords is what the desktop says under the test's policy.
const orgWords = "Sync is run by your organisation. Questions: admin@example.com"

// TestOrganisationModeDesktop starts the real agent with its tray on a
// machine whose policy says activation = "organisation", as a new user's
// first start: no activation window opens; the tray's tooltip and status
// line say who runs sync and whom to ask, with the idle icon and no
// Re-activate… entry; the dashboard opened from the tray says the same;
// the CLI's status, account add and policy show say it in words. Then the
// administrator removes the key: within seconds the tray asks to activate
// again, as without the policy. With INBOXSYNC_SHOTS=DIR it saves
// org-dashboard.png, org-dashboard-connections.png and org-tray-menu.png.
func TestOrganisationModeDesktop(t *testing.T) {
	needKeyring(t)
	needDisplayTools(t, "import")
	display := xtest.StartXvfb(t) // registered first: stopped after the agent
	w, err := traytest.NewWatcher()
	if err != nil {
		t.Fatalf("becoming the StatusNotifierWatcher: %v", err)
	}
	defer w.Close()
	h := newHome(t, "DISPLAY="+display, "WAYLAND_DISPLAY=")
	policyFile := filepath.Join(h.dir, "policy.toml")
	if err := os.WriteFile(policyFile, []byte("activation = \"organisation\"\nadmin_email = \"admin@example.com\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	log := h.startTrayAgent()
	item, err := w.Await(20 * time.Second)
	if err != nil {
		t.Fatalf("%v\nagent log:\n%s", err, log)
	}
	p := &trayProbe{t: t, log: log, item: item}

	// The tray: the sentence in the tooltip and the status line, the idle
	// icon, no Re-activate….
	s := p.await("the organisation's sentence", func(s trayState) bool {
		return s.tooltip == "Inbox Sync — "+orgWords && visible(s, orgWords)
	})
	if n, ok := s.menu.Find("Re-activate…"); ok && n.Visible {
		t.Errorf("organisation mode shows Re-activate…:\n%s", s.menu)
	}
	if strings.Contains(s.menu.String(), "ctivat") {
		t.Errorf("organisation mode's menu mentions activation:\n%s", s.menu)
	}
	if !enabled(s, "Open dashboard") || !enabled(s, "Quit") {
		t.Errorf("organisation mode's menu lost its entries:\n%s", s.menu)
	}
	idle, err := png.Decode(bytes.NewReader(assets.TrayIcon(assets.TrayIdle, 48)))
	if err != nil {
		t.Fatal(err)
	}
	if !xtest.Same(s.pixmap.Image(), idle) {
		t.Error("the tray's icon is not the idle one")
	}
	if s.status != "Active" {
		t.Errorf("StatusNotifierItem Status = %q, want Active", s.status)
	}
	saveTrayPicture(t, s, "org-tray-menu")

	// No activation window at this first start.
	time.Sleep(2 * time.Second) // the first-start window opens within this in user mode
	if ids := windows(t, display, firstStartTitle, false); len(ids) != 0 {
		t.Fatalf("%d activation windows in organisation mode, want none\nagent log:\n%s", len(ids), log)
	}
	if strings.Contains(log.String(), "window opened") || !strings.Contains(log.String(), "no activation window at start") {
		t.Fatalf("the agent's first start in organisation mode:\n%s", log)
	}

	// The CLI.
	out := h.ok("status")
	if !strings.Contains(out, "No mailbox is connected on this computer: sync is run by your organisation. Questions: admin@example.com\n") || strings.Contains(out, "account add") {
		t.Errorf("status in organisation mode:\n%s", out)
	}
	script := h.writeScript(`{"inbox": 2, "password": "` + password + `"}`)
	out, errOut, code := h.run(password+"\n", "account", "add", "scripted", "--account", "work", "--login", "ann", "--mailbox", script, "--password-stdin")
	if want := "inboxsync: Sync is run by your organisation: mailboxes are not connected on this computer. Questions: admin@example.com\n"; code != 1 || errOut != want {
		t.Errorf("account add in organisation mode: exit %d\nstdout: %s\nstderr: %q\nwant: %q", code, out, errOut, want)
	}
	if accts := h.ok("account", "list"); strings.Contains(accts, "work") {
		t.Errorf("a refused account add left an account:\n%s", accts)
	}
	out = h.ok("policy", "show")
	if !regexp.MustCompile(`(?m)^activation\s+organisation\s+policy$`).MatchString(out) {
		t.Errorf("policy show does not list activation = organisation from the policy:\n%s", out)
	}

	// The dashboard, opened from the tray as the user does.
	p.click("Open dashboard")
	ids := windows(t, display, "^Inbox Sync$", true)
	if len(ids) != 1 {
		t.Fatalf("%d dashboards, want 1\nagent log:\n%s", len(ids), log)
	}
	shots := &screens{t: t, h: h, display: display}
	shots.drawn(ids[0], "the dashboard")
	shots.shootID(ids[0], "org-dashboard")
	closeWindow(t, display, ids[0])
	h.eventually("the dashboard is gone", func() bool { return len(windows(t, display, "^Inbox Sync$", false)) == 0 })
	conns := shots.open("^Inbox Sync$", "dashboard", "--tab", "connections")
	shots.shoot(conns, "org-dashboard-connections")
	conns.close()
	// `inboxsync ui activate` run by hand: the sentence, not the form.
	act := shots.open(firstStartTitle, "activate")
	shots.shoot(act, "org-activate")
	act.close()

	// The administrator takes the key out: the agent reads the policy
	// again within seconds, and the tray asks to activate as before.
	if err := os.WriteFile(policyFile, []byte("admin_email = \"admin@example.com\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = p.await("the activation offer without the key", func(s trayState) bool {
		return s.tooltip == "Inbox Sync — Not activated: connect a mailbox in the dashboard" && visible(s, "Re-activate…")
	})
	if strings.Contains(s.tooltip+s.menu.String(), "organisation") {
		t.Errorf("the organisation's sentence stayed after the key was removed:\ntooltip %q\n%s", s.tooltip, s.menu)
	}
	if out := h.ok("status"); !strings.Contains(out, "No account yet: add one with `inboxsync account add`.") {
		t.Errorf("status without the key:\n%s", out)
	}
	checkRaces(t, log.String())
}

// saveTrayPicture draws the tray as read over D-Bus (trayPicture) and
// saves it as INBOXSYNC_SHOTS/name.png.
func saveTrayPicture(t *testing.T, s trayState, name string) {
	t.Helper()
	img, err := trayPicture(s)
	if err != nil {
		t.Fatal(err)
	}
	if n := xtest.Colours(img); n < minColours {
		t.Errorf("%s: only %d colours: the picture is blank", name, n)
	}
	dir := os.Getenv("INBOXSYNC_SHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
