//go:build wine

package winetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/xtest"

	"github.com/inboxsync/inboxsync/sync/auth/authtest"
	"github.com/inboxsync/inboxsync/sync/provider/gmail/gmailtest"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

// TestWindowsBuildUnderWine runs the Windows programs as a user would, one
// step after another; each step is a subtest, so `go test -v` prints it
// with the time it took, and the first step that fails stops the rest.
//
// Environment (scripts/test-windows.sh sets it):
//
//	INBOXSYNC_WINE_BIN  the directory of inboxsync.exe and inboxsync-window.exe (test build, -tags testprovider)
//	WINEPREFIX          a fresh prefix, with bcryptprimitives.dll's ProcessPrng (Go ≥ 1.22 needs it; Wine 8 lacks it)
//	INBOXSYNC_SHOTS     where the window captures are saved (windows-*.png)
func TestWindowsBuildUnderWine(t *testing.T) {
	w := newWine(t)
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	var gm *gmailEmu

	step("the programs start in the prefix", func(t *testing.T) {
		out := w.ok(t, "version")
		if !strings.Contains(out, "inboxsync ") || !strings.Contains(out, "test build") {
			t.Fatalf("inboxsync.exe version printed %q", out)
		}
		// Nothing is there before the first start.
		if _, err := os.Stat(w.local); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s exists before the first start (%v): the prefix is not fresh", w.local, err)
		}
	})

	// The emulators live as long as the whole test, all on
	// https://localhost with one certificate of the test's.
	lt := newLocalTLS(t)
	gm = newGmailEmu(t, lt)
	ms := newOffice365Emu(t, lt)
	step("the emulators' certificate is trusted the Windows way", func(t *testing.T) {
		w.trustRoot(t, lt.cert)
		// The administrator's way to point at other endpoints: the
		// roaming config file, %APPDATA%\InboxSync\config.json.
		cfg := map[string]any{"gmail": map[string]string{
			"client_id": gmailtest.DefaultClientID, "auth_url": gm.AuthURL(), "token_url": gm.TokenURL(),
			"gmail_endpoint": gm.GmailEndpoint(), "calendar_endpoint": gm.CalendarEndpoint(),
		}, "office365": map[string]string{
			"client_id": authtest.DefaultClientID, "authority": ms.authority, "graph_endpoint": ms.graph.Endpoint(),
		}}
		b, _ := json.Marshal(cfg)
		if err := os.MkdirAll(w.roaming, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.roaming, "config.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	})

	step("the agent starts with its tray in Wine's notification area, and opens the activation window", func(t *testing.T) {
		w.startAgent(t, true)
		// First start with no account: the activation window, drawn by
		// the window program through Wine's OpenGL (Mesa).
		id := w.window(t, "Connect your mailbox")
		img := w.drawn(t, id, "Connect your mailbox")
		w.save(t, img, "windows-activate")
		w.closeWindow(t, id)
		// The tray: Wine shows notification-area icons in its "Wine
		// System Tray" window when no desktop panel is there.
		tray := w.window(t, "Wine System Tray")
		w.eventually(t, "the tray icon is drawn", func() bool {
			img, err := w.capture(tray)
			return err == nil && xtest.Colours(img) >= 4
		})
		img, _ = w.capture(tray)
		w.save(t, img, "windows-tray")
	})

	step("paths: the store in %LOCALAPPDATA%\\InboxSync, settings in %APPDATA%\\InboxSync", func(t *testing.T) {
		for _, f := range []string{"inboxsync.db", filepath.Join("logs", "inboxsync.log"), filepath.Join("run", "agent.lock")} {
			if _, err := os.Stat(filepath.Join(w.local, f)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		if log := w.agentLog.String(); !strings.Contains(log, `store=C:\users\`+w.user+`\AppData\Local\InboxSync\inboxsync.db`) {
			t.Errorf("the agent's log names another store:\n%s", log)
		}
		if log := w.agentLog.String(); !regexp.MustCompile(`socket=\\\\\.\\pipe\\inboxsync-[0-9a-f]{32}\s`).MatchString(log) {
			t.Errorf("the agent's log does not name its named pipe:\n%s", log)
		}
		// Nothing of Inbox Sync's under the Unix home or elsewhere in C:.
		if hits := w.find(t, func(p string) bool { return strings.HasSuffix(p, "inboxsync.db") && !strings.HasPrefix(p, w.local) }); len(hits) > 0 {
			t.Errorf("stores outside %%LOCALAPPDATA%%: %v", hits)
		}
	})

	step("the CLI reaches the agent: status, pause, resume", func(t *testing.T) {
		if s := w.status(t); s.Source != "agent" {
			t.Fatalf("status --json: source %q, want the agent", s.Source)
		}
		if out := w.ok(t, "pause"); !strings.Contains(out, "paused") {
			t.Errorf("pause printed %q", out)
		}
		if s := w.status(t); !s.Paused {
			t.Errorf("the agent is not paused after pause: %+v", s)
		}
		if out := w.ok(t, "status"); !strings.Contains(out, "Sync is paused") {
			t.Errorf("status while paused printed %q", out)
		}
		w.ok(t, "resume")
		if s := w.status(t); s.Paused {
			t.Errorf("still paused after resume: %+v", s)
		}
	})

	step("account add scripted, password through stdin into the Credential Manager", func(t *testing.T) {
		script := w.writeFile(t, "north.json", `{"inbox": 24, "sent": 6, "calendar": 4, "password": "`+password+`", "email": "north@example.test"}`)
		out, errOut, code := w.run(t, password+"\n", "account", "add", "scripted", "--account", "north", "--login", "ann", "--mailbox", script, "--password-stdin")
		if code != 0 {
			t.Fatalf("account add: exit %d\n%s%s\nagent log:\n%s", code, out, errOut, w.agentLog)
		}
		w.eventually(t, "north's first sync ends", func() bool {
			a, ok := w.account(t, "north")
			return ok && a.LastSync != nil && a.LastSync.Outcome == "ok"
		})
		creds := w.credentials(t)
		if !strings.Contains(creds, "inboxsync:north/") {
			t.Fatalf("no Inbox Sync credential in Wine's Credential Manager:\n%s", creds)
		}
	})

	step("sync --wait, activity --json, export", func(t *testing.T) {
		out := w.ok(t, "sync", "--account", "north", "--wait", "--timeout", "60s")
		if !strings.Contains(out, "north") {
			t.Errorf("sync --wait printed %q", out)
		}
		items := w.items(t, "--account", "north")
		if len(items) != 34 {
			t.Fatalf("activity --json lists %d items of north, want 34", len(items))
		}
		csvPath := filepath.Join(w.tmp, "north.csv")
		w.ok(t, "export", "--account", "north", "--out", winPath(csvPath))
		rows, err := readCSV(csvPath)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1+34 {
			t.Errorf("export wrote %d rows, want a header and 34 items", len(rows))
		}
	})

	step("account add gmail: signed in through the emulated Google over loopback", func(t *testing.T) {
		now := time.Now()
		gm.Add([]string{gmailtest.Inbox, "UNREAD"}, 12, now.Add(-2*time.Hour))
		gm.Add([]string{gmailtest.Sent}, 4, now.Add(-3*time.Hour))
		gm.AddEvent(3, now.AddDate(0, 0, 2).Truncate(time.Hour))
		browser := gm.Browser()
		out := w.signIn(t, gm.AuthURL()+"?", browser.Open, "account", "add", "gmail", "--account", "google", "--no-browser")
		if !strings.Contains(out, "Connected google (ann@example.test)") {
			t.Fatalf("account add gmail printed:\n%s", out)
		}
		if _, page := browser.Last(); !strings.Contains(page, "You can close this tab") {
			t.Errorf("the browser's page after the sign-in: %q", page)
		}
		w.eventually(t, "google's first sync ends", func() bool {
			a, ok := w.account(t, "google")
			return ok && a.LastSync != nil && a.LastSync.Outcome == "ok"
		})
		if a, _ := w.account(t, "google"); a.LastSync.Added != 19 {
			t.Errorf("google's first sync added %d items, want 19", a.LastSync.Added)
		}
		gm.Add([]string{gmailtest.Inbox}, 2, time.Now())
		w.ok(t, "sync", "--account", "google", "--wait", "--timeout", "60s")
		if items := w.items(t, "--account", "google"); len(items) != 21 {
			t.Errorf("after new mail and sync --wait: %d items, want 21", len(items))
		}
		if len(gm.tokens()) < 2 {
			t.Fatalf("the emulator issued %d tokens; the secrets check would prove nothing", len(gm.tokens()))
		}
		if !strings.Contains(w.credentials(t), "inboxsync:google/") {
			t.Error("the Google grant is not in the Credential Manager")
		}
	})

	step("account add office365: signed in through the emulated Microsoft identity platform over loopback", func(t *testing.T) {
		now := time.Now()
		ms.graph.Add(graphtest.Inbox, 30, now.Add(-time.Hour))
		ms.graph.Add(graphtest.Sent, 5, now.Add(-2*time.Hour))
		ms.graph.Add(graphtest.Calendar, 3, now.AddDate(0, 0, 2))
		browser := authtest.NewBrowser(lt.client())
		out := w.signIn(t, ms.authority+"/organizations/oauth2/v2.0/authorize?", browser.Open, "account", "add", "office365", "--account", "work", "--no-browser")
		if !strings.Contains(out, "Connected work (ann@contoso.test)") {
			t.Fatalf("account add office365 printed:\n%s", out)
		}
		if _, page := browser.Last(); !strings.Contains(page, "You can close this tab") {
			t.Errorf("the browser's page after the sign-in: %q", page)
		}
		w.eventually(t, "work's first sync ends", func() bool {
			a, ok := w.account(t, "work")
			return ok && a.LastSync != nil && a.LastSync.Outcome == "ok"
		})
		if items := w.items(t, "--account", "work"); len(items) != 38 {
			t.Errorf("work has %d items after its first sync, want 38", len(items))
		}
		if len(ms.tokens()) < 2 {
			t.Fatalf("the identity platform issued %d tokens; the secrets check would prove nothing", len(ms.tokens()))
		}
		if !strings.Contains(w.credentials(t), "inboxsync:work/") {
			t.Error("the Office 365 grant is not in the Credential Manager")
		}
	})

	step("the dashboard and the settings window are drawn", func(t *testing.T) {
		win := w.openWindow(t, "^Inbox Sync$", "dashboard", "--tab", "overview")
		w.save(t, w.drawn(t, win.id, "the dashboard"), "windows-dashboard-overview")
		win.close(t)
		win = w.openWindow(t, "^Inbox Sync$", "dashboard", "--tab", "activity")
		w.save(t, w.drawn(t, win.id, "the dashboard's activity"), "windows-dashboard-activity")
		win.close(t)
	})

	step("start at login: the settings window writes and removes the HKCU Run value", func(t *testing.T) {
		if v, ok := w.runValue(t); ok {
			t.Fatalf("a Run value before the test: %q", v)
		}
		toggle := func(name string, on bool) {
			win := w.openWindow(t, "Settings", "settings")
			before := w.drawn(t, win.id, "the settings")
			// Tab through Sync every, Inbox, Sent, Calendar, First sync,
			// Keep, Notifications to the checkbox and flip it.
			win.keys(t, "Tab", "Tab", "Tab", "Tab", "Tab", "Tab", "Tab", "Tab", "space")
			flipped := w.drawnChanged(t, win.id, before)
			win.keys(t, "Tab", "Tab", "space") // past Close to Save
			w.eventually(t, fmt.Sprintf("the Run value is there: %v", on), func() bool {
				_, ok := w.runValue(t)
				return ok == on
			})
			w.save(t, w.drawnChanged(t, win.id, flipped), name) // "Saved."
			win.close(t)
		}
		toggle("windows-settings", true)
		v, ok := w.runValue(t)
		if !ok || !strings.Contains(strings.ToLower(v), `inboxsync.exe"`) {
			t.Fatalf("Run value after ticking the box: %q (present %v)", v, ok)
		}
		toggle("", false)
		if v, ok := w.runValue(t); ok {
			t.Fatalf("the Run value is still there after unticking: %q", v)
		}
	})

	step("killed mid-sync (SIGKILL), restarted without a notification area: nothing lost or stored twice", func(t *testing.T) {
		script := w.writeFile(t, "big.json", `{"inbox": 300, "sent": 20, "calendar": 5, "page_size": 10, "page_delay": "250ms", "email": "big@example.test"}`)
		w.ok(t, "account", "add", "scripted", "--account", "big", "--login", "ann", "--mailbox", script)
		w.eventually(t, "the first sync has stored a few pages", func() bool {
			a, ok := w.account(t, "big")
			return ok && a.Progress != nil && a.Progress.Pages >= 2
		})
		w.killAgent(t)
		var sessions []session
		w.json(t, &sessions, "sessions", "--account", "big", "--json")
		if len(sessions) != 1 || sessions[0].Outcome != "interrupted" && sessions[0].Outcome != "running" {
			t.Fatalf("sessions after the kill: %+v", sessions)
		}
		stored := len(w.items(t, "--account", "big"))
		if stored == 0 || stored >= 325 {
			t.Fatalf("%d items stored before the kill; want some, not all", stored)
		}
		w.writeFile(t, "big.json", `{"inbox": 300, "sent": 20, "calendar": 5, "page_size": 50, "email": "big@example.test"}`)
		w.startAgent(t, false)
		w.eventually(t, "the restarted agent finishes the sync by itself", func() bool {
			a, ok := w.account(t, "big")
			return ok && a.LastSync != nil && a.LastSync.Outcome == "ok"
		})
		sessions = nil
		w.json(t, &sessions, "sessions", "--account", "big", "--json")
		if len(sessions) != 2 || sessions[0].Trigger != "resume" || sessions[0].Outcome != "ok" || sessions[1].Outcome != "interrupted" {
			t.Fatalf("sessions after the restart: %+v; want the interrupted one and a resume", sessions)
		}
		items := w.items(t, "--account", "big")
		seen := map[string]bool{}
		for _, it := range items {
			k := it.Folder + "/" + it.ProviderID
			if seen[k] {
				t.Errorf("%s stored twice", k)
			}
			seen[k] = true
		}
		if len(items) != 325 {
			t.Fatalf("%d items after the resume, want all 325 once", len(items))
		}
		if sessions[0].Added >= 325 {
			t.Errorf("the resume added %d items: it did not continue from the committed cursor", sessions[0].Added)
		}
		// With no display there is no notification area: the agent logs
		// that its tray could not come up, and works on (above).
		w.eventually(t, "the agent logs that it has no tray", func() bool { return !w.agentHasTray() })
	})

	step("no secret in any file of the prefix", func(t *testing.T) {
		w.stopAgent(t)
		secrets := append(append([]string{password}, gm.tokens()...), ms.tokens()...)
		files := w.find(t, func(string) bool { return true })
		var scanned []string
		for _, p := range files {
			if strings.HasSuffix(p, "inboxsync.db") || strings.HasSuffix(p, "user.reg") || strings.HasSuffix(p, "inboxsync.log") {
				scanned = append(scanned, filepath.Base(p))
			}
		}
		if len(scanned) != 3 {
			t.Fatalf("the scan misses the store, the log or the registry (found %v)", scanned)
		}
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) || bytes.Contains(b, utf16le(s)) {
					t.Errorf("%s contains a secret (%.6s…)", p, s)
				}
			}
		}
		for _, log := range w.agentLogs {
			for _, s := range secrets {
				if strings.Contains(log.String(), s) {
					t.Errorf("the agent's output contains a secret (%.6s…)", s)
				}
			}
		}
	})

	step("the tray in Wine's desktop shell: its icon in the taskbar's notification area, its menu opens the dashboard", func(t *testing.T) {
		// Wine's virtual desktop named "shell" has a taskbar with a
		// notification area, as Windows has; the agent runs inside it.
		w.agent = exec.Command("wine", "explorer", "/desktop=shell,1024x640", filepath.Join(w.bin, "inboxsync.exe"), "agent")
		w.agent.Env = w.env
		log, f := w.newOutFile(t, "shell")
		w.agentLog = log
		w.agent.Stdout, w.agent.Stderr = f, f
		err := w.agent.Start()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		w.eventually(t, "the agent in the desktop shell answers", func() bool {
			out, _, code := w.run(t, "", "status", "--json")
			return code == 0 && strings.Contains(out, `"source": "agent"`)
		})
		desk := w.window(t, "^shell - Wine desktop$")
		// The notification area is the taskbar's right end.
		var shot image.Image
		w.eventually(t, "the icon is drawn in the notification area", func() bool {
			img, err := w.capture(desk)
			if err != nil {
				return false
			}
			shot = img
			b := img.Bounds()
			return xtest.Colours(cropped(img, image.Rect(b.Max.X-24, b.Max.Y-20, b.Max.X, b.Max.Y))) >= 6
		})
		w.save(t, shot, "windows-taskbar")
		// Right-click on the icon: the menu, with the accounts and the
		// tooltip.
		b := shot.Bounds()
		if out, err := w.xdotool("mousemove", "--window", desk, fmt.Sprint(b.Dx()-11), fmt.Sprint(b.Dy()-10), "click", "3"); err != nil {
			t.Fatalf("right-click on the tray icon: %v %s", err, out)
		}
		menu := w.drawnChanged(t, desk, shot)
		w.save(t, menu, "windows-tray-menu")
		// The menu covers much more of the desktop than the icon did.
		if changed := diffPixels(shot, menu); changed < 20000 {
			t.Errorf("right-clicking the icon changed %d pixels: no menu", changed)
		}
		// Click Open dashboard: the menu's end is fixed at the bottom
		// right (it grows upwards with the accounts), Open dashboard is
		// its fourth entry from the bottom (Quit, a separator,
		// Re-activate…, Settings): 92 px above the desktop's bottom edge
		// in Wine 8's menu font. (Wine's tray menu takes no keys here.)
		w.xdotool("mousemove", "--window", desk, fmt.Sprint(b.Dx()-198), fmt.Sprint(b.Dy()-92))
		time.Sleep(300 * time.Millisecond)
		w.xdotool("click", "1")
		w.eventually(t, "Open dashboard in the tray's menu opens the dashboard", func() bool {
			return strings.Contains(w.agentLog.String(), `msg="window opened" window=dashboard`)
		})
		// Drawn in the virtual desktop: different from the bare one.
		w.save(t, w.drawnChanged(t, desk, shot), "windows-taskbar-dashboard")
		// The agent is the explorer's child here: the prefix's wineserver
		// ends it with everything else when the test ends.
		w.agent = nil
	})
}

// cropped is the part r of img.
func cropped(img image.Image, r image.Rectangle) image.Image {
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			out.Set(x, y, img.At(r.Min.X+x, r.Min.Y+y))
		}
	}
	return out
}

// diffPixels counts the pixels that differ between two captures of one
// size.
func diffPixels(a, b image.Image) int {
	n := 0
	r := a.Bounds().Intersect(b.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				n++
			}
		}
	}
	return n
}

const password = "Corr3ct-Horse-Wine-e2e"

// wine is the prefix and the programs in it.
type wine struct {
	bin     string // the directory of the .exe files (Unix path)
	prefix  string
	user    string
	local   string // %LOCALAPPDATA%\InboxSync as a Unix path
	roaming string // %APPDATA%\InboxSync as a Unix path
	tmp     string // files the test hands to the programs
	display string
	env     []string

	agent     *exec.Cmd
	agentLog  *outFile   // the running (or last) agent's
	agentLogs []*outFile // every agent's
}

func newWine(t *testing.T) *wine {
	w := &wine{bin: os.Getenv("INBOXSYNC_WINE_BIN"), prefix: os.Getenv("WINEPREFIX")}
	if w.bin == "" || w.prefix == "" {
		t.Fatal("INBOXSYNC_WINE_BIN and WINEPREFIX must be set: run scripts/test-windows.sh")
	}
	for _, f := range []string{"inboxsync.exe", "inboxsync-window.exe"} {
		if _, err := os.Stat(filepath.Join(w.bin, f)); err != nil {
			t.Fatalf("the Windows build is missing: %v", err)
		}
	}
	if _, err := exec.LookPath("wine"); err != nil {
		t.Fatal("wine is not installed (scripts/deps.sh wine)")
	}
	w.user = os.Getenv("USER")
	if w.user == "" {
		w.user = "root"
	}
	users := filepath.Join(w.prefix, "drive_c", "users", w.user)
	w.local = filepath.Join(users, "AppData", "Local", "InboxSync")
	w.roaming = filepath.Join(users, "AppData", "Roaming", "InboxSync")
	w.tmp = t.TempDir()
	w.display = xtest.StartXvfb(t)
	w.env = append(os.Environ(), "DISPLAY="+w.display, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=",
		"INBOXSYNC_TEST_MIN_SYNC_GAP=1ms")
	// One wineserver for the whole test, started here with no pipe of
	// the test's: the wineserver a wine command starts when none runs
	// inherits that command's output pipes and keeps them open.
	// (It exits 2 when scripts/test-windows.sh started one already.)
	server := exec.Command("wineserver", "-p")
	server.Env = w.env
	server.Run()
	t.Cleanup(func() {
		w.stopAgent(t)
		exec.Command("wineserver", "-k").Run()
	})
	return w
}

// winPath is a Unix path as the Windows programs see it (drive Z: is /).
func winPath(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) }

// command is `wine inboxsync.exe ARGS…`.
func (w *wine) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "wine", append([]string{filepath.Join(w.bin, "inboxsync.exe")}, args...)...)
	cmd.Env = w.env
	return cmd
}

// run runs a verb and returns its stdout, stderr and exit code.
func (w *wine) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := w.command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, outF := w.newOutFile(t, "stdout")
	errOut, errF := w.newOutFile(t, "stderr")
	defer os.Remove(out.path)
	defer os.Remove(errOut.path)
	cmd.Stdout, cmd.Stderr = outF, errF
	err := cmd.Run()
	outF.Close()
	errF.Close()
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("inboxsync.exe %v did not end within 2 minutes\n%s%s", args, out, errOut)
	case errors.As(err, &exitErr):
		return out.String(), errOut.String(), exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running inboxsync.exe %v: %v", args, err)
	}
	return out.String(), errOut.String(), 0
}

// ok runs a verb that must succeed and returns its stdout.
func (w *wine) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := w.run(t, "", args...)
	if code != 0 {
		t.Fatalf("inboxsync.exe %v: exit %d\nstdout: %s\nstderr: %s\nagent log:\n%s", args, code, out, errOut, w.agentLog)
	}
	return out
}

func (w *wine) json(t *testing.T, v any, args ...string) {
	t.Helper()
	out := w.ok(t, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("inboxsync.exe %v: %v\n%s", args, err, out)
	}
}

// What the test reads of `status --json`, `activity --json` and
// `sessions --json`.
type (
	status struct {
		Source   string          `json:"source"`
		Paused   bool            `json:"paused"`
		Accounts []accountStatus `json:"accounts"`
	}
	accountStatus struct {
		Account  string   `json:"account"`
		State    string   `json:"state"`
		LastSync *session `json:"last_sync"`
		Progress *struct {
			Pages int `json:"pages"`
		} `json:"progress"`
	}
	session struct {
		Trigger string `json:"trigger"`
		Outcome string `json:"outcome"`
		Added   int    `json:"added"`
	}
	item struct {
		ProviderID string `json:"provider_id"`
		Folder     string `json:"folder"`
	}
)

func (w *wine) status(t *testing.T) status {
	t.Helper()
	var s status
	w.json(t, &s, "status", "--json")
	return s
}

func (w *wine) account(t *testing.T, name string) (accountStatus, bool) {
	t.Helper()
	for _, a := range w.status(t).Accounts {
		if a.Account == name {
			return a, true
		}
	}
	return accountStatus{}, false
}

func (w *wine) items(t *testing.T, flags ...string) []item {
	t.Helper()
	var page struct {
		Items []item `json:"items"`
	}
	w.json(t, &page, append([]string{"activity", "--json", "--limit", "1000"}, flags...)...)
	return page.Items
}

// writeFile writes a file the programs read, and returns its Windows path.
func (w *wine) writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(w.tmp, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return winPath(p)
}

// startAgent starts `inboxsync.exe agent` (with its tray, or on no display
// at all) and waits until the CLI reaches it.
func (w *wine) startAgent(t *testing.T, display bool) {
	t.Helper()
	w.agent = w.command(context.Background(), "agent")
	if !display {
		w.agent.Env = append(w.agent.Env, "DISPLAY=")
	}
	log, f := w.newOutFile(t, "agent")
	defer f.Close() // the agent has its own handle
	w.agentLog = log
	w.agentLogs = append(w.agentLogs, log)
	w.agent.Stdout, w.agent.Stderr = f, f
	if err := w.agent.Start(); err != nil {
		t.Fatal(err)
	}
	w.eventually(t, "the agent answers", func() bool {
		out, _, code := w.run(t, "", "status", "--json")
		return code == 0 && strings.Contains(out, `"source": "agent"`)
	})
}

// agentHasTray reports whether the running agent set up its tray (it logs
// the systray's error when there is no display to put it on).
func (w *wine) agentHasTray() bool { return !strings.Contains(w.agentLog.String(), "systray error") }

// killAgent kills the agent the hard way: SIGKILL to its process (under
// Wine the Windows process is that Unix process).
func (w *wine) killAgent(t *testing.T) {
	t.Helper()
	if err := w.agent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w.agent.Wait()
	w.agent = nil
}

// stopAgent stops the agent as Ctrl+C does (Wine turns SIGINT into a
// console control event) and checks that it stops cleanly.
func (w *wine) stopAgent(t *testing.T) {
	if w.agent == nil {
		return
	}
	w.agent.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- w.agent.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the agent ended with %v\n%s", err, w.agentLog)
		} else if !strings.Contains(w.agentLog.String(), "agent stopped") {
			t.Errorf("the agent did not say it stopped:\n%s", w.agentLog)
		}
	case <-time.After(20 * time.Second):
		w.agent.Process.Kill()
		<-done
		t.Errorf("the agent ignored the interrupt for 20 s\n%s", w.agentLog)
	}
	w.agent = nil
}

func (w *wine) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60 s\nagent log:\n%s", what, w.agentLog)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// signIn runs a verb that prints a sign-in link (--no-browser), plays the
// browser with open for the link starting with prefix, and returns what
// the verb printed once it ends.
func (w *wine) signIn(t *testing.T, prefix string, open func(context.Context, string) error, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := w.command(ctx, args...)
	out, outF := w.newOutFile(t, "signin")
	cmd.Stdout, cmd.Stderr = outF, outF
	err := cmd.Start()
	outF.Close()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	followed := false
	for ended := false; !ended; {
		select {
		case err = <-done:
			ended = true
		case <-time.After(100 * time.Millisecond):
		}
		if followed {
			continue
		}
		for _, line := range strings.Split(out.String(), "\n") {
			line = strings.TrimRight(line, "\r")
			if u, ok := strings.CutPrefix(line, "  "); ok && strings.HasPrefix(u, prefix) {
				octx, ocancel := context.WithTimeout(ctx, 30*time.Second)
				if err := open(octx, u); err != nil {
					t.Errorf("following the sign-in link: %v", err)
				}
				ocancel()
				followed = true
				break
			}
		}
	}
	if err != nil {
		t.Fatalf("inboxsync.exe %v: %v\n%s\nagent log:\n%s", args, err, out, w.agentLog)
	}
	if !followed {
		t.Fatalf("inboxsync.exe %v printed no sign-in link starting %q:\n%s", args, prefix, out)
	}
	return out.String()
}

// wineTool runs one of Wine's own programs (reg, …) in the prefix.
func (w *wine) wineTool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", args...)
	cmd.Env = w.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// credentials lists what Wine's Credential Manager (CredWrite) holds: the
// target names under HKCU\Software\Wine\Credential Manager.
func (w *wine) credentials(t *testing.T) string {
	t.Helper()
	out, err := w.wineTool(t, "reg", "query", `HKCU\Software\Wine\Credential Manager`)
	if err != nil {
		t.Fatalf("reg query of the Credential Manager: %v\n%s", err, out)
	}
	return out
}

const runKey = `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`

// runValue reads the "Inbox Sync" value of the Run key with `wine reg
// query`.
func (w *wine) runValue(t *testing.T) (string, bool) {
	t.Helper()
	out, err := w.wineTool(t, "reg", "query", runKey, "/v", "Inbox Sync")
	if err != nil {
		return "", false
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Inbox Sync"); ok {
			v = strings.TrimSpace(v)
			v = strings.TrimSpace(strings.TrimPrefix(v, "REG_SZ"))
			return v, true
		}
	}
	t.Fatalf("reg query %s printed no value:\n%s", runKey, out)
	return "", false
}

// trustRoot adds cert to the current user's trusted root certificates as
// Windows keeps them: the registry value
// HKCU\Software\Microsoft\SystemCertificates\Root\Certificates\<SHA-1>\Blob,
// a serialized certificate (property 32, the DER). This is what importing
// a .cer into "Trusted Root Certification Authorities" writes, and what
// Group Policy deploys; Go's crypto/x509 on Windows verifies through
// CertGetCertificateChain, which reads that store (SSL_CERT_FILE is
// honoured on Unix only).
func (w *wine) trustRoot(t *testing.T, cert *x509.Certificate) {
	t.Helper()
	sum := sha1.Sum(cert.Raw)
	blob := binary.LittleEndian.AppendUint32(nil, 32) // CERT_CERT_PROP_ID
	blob = binary.LittleEndian.AppendUint32(blob, 1)
	blob = binary.LittleEndian.AppendUint32(blob, uint32(len(cert.Raw)))
	blob = append(blob, cert.Raw...)
	key := `HKCU\Software\Microsoft\SystemCertificates\Root\Certificates\` + strings.ToUpper(hex.EncodeToString(sum[:]))
	if out, err := w.wineTool(t, "reg", "add", key, "/v", "Blob", "/t", "REG_BINARY", "/d", hex.EncodeToString(blob), "/f"); err != nil {
		t.Fatalf("reg add %s: %v\n%s", key, err, out)
	}
	if out, err := w.wineTool(t, "reg", "query", key); err != nil || !strings.Contains(out, "Blob") {
		t.Fatalf("the root certificate is not in the registry: %v\n%s", err, out)
	}
}

// find lists the regular files of the prefix (the registry files, C:)
// that match keep.
func (w *wine) find(t *testing.T, keep func(string) bool) []string {
	t.Helper()
	var out []string
	filepath.Walk(w.prefix, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if info.IsDir() && (p == filepath.Join(w.prefix, "dosdevices") || p == filepath.Join(w.prefix, "drive_c", "windows")) {
			return filepath.SkipDir // links to / and Wine's own files
		}
		if info.Mode().IsRegular() && keep(p) {
			out = append(out, p)
		}
		return nil
	})
	if len(out) == 0 && keep("") {
		t.Fatal("no file found in the prefix")
	}
	return out
}

// window waits (up to 30 s) for exactly one visible window whose title
// matches the regular expression title, and returns its X id.
func (w *wine) window(t *testing.T, title string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, _ := w.xdotool("search", "--onlyvisible", "--name", title)
		ids := strings.Fields(out)
		if len(ids) == 1 {
			return ids[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d visible windows %q after 30 s, want 1\nagent log:\n%s", len(ids), title, w.agentLog)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (w *wine) xdotool(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+w.display)
	out, err := cmd.Output()
	return string(out), err
}

// minColours is how many distinct colours a drawn window has at least.
const minColours = 16

// drawn waits (up to 30 s: Mesa's llvmpipe under Wine is slow to start)
// until window id shows more than a blank background, then until two
// captures in a row are the same (the first load from the agent landed),
// and returns the last.
func (w *wine) drawn(t *testing.T, id, what string) image.Image {
	t.Helper()
	return w.drawnChanged(t, id, nil)
}

// drawnChanged is drawn for a window that must look different from before.
func (w *wine) drawnChanged(t *testing.T, id string, before image.Image) image.Image {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last image.Image
	for {
		img, err := w.capture(id)
		if err == nil && xtest.Colours(img) >= minColours && (before == nil || !xtest.Same(img, before)) {
			if last != nil && xtest.Same(last, img) {
				b := img.Bounds()
				if b.Dx() < 300 || b.Dy() < 120 {
					t.Fatalf("window %s is %d×%d px: too small to be drawn", id, b.Dx(), b.Dy())
				}
				return img
			}
			last = img
		}
		if time.Now().After(deadline) {
			t.Fatalf("window %s was not drawn (or did not change) within 30 s (last capture: %v)", id, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// capture grabs one window's pixels with ImageMagick's import.
func (w *wine) capture(id string) (image.Image, error) {
	return xtest.Capture(w.display, id)
}

// save writes img as INBOXSYNC_SHOTS/name.png (name "" = not saved).
func (w *wine) save(t *testing.T, img image.Image, name string) {
	t.Helper()
	dir := os.Getenv("INBOXSYNC_SHOTS")
	if dir == "" || name == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// closeWindow closes a window as its title bar's close button does
// (Alt+F4: WM_SYSCOMMAND SC_CLOSE) and waits until it is gone.
func (w *wine) closeWindow(t *testing.T, id string) {
	t.Helper()
	w.xdotool("windowfocus", id)
	time.Sleep(300 * time.Millisecond)
	w.xdotool("key", "--window", id, "alt+F4")
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := w.xdotool("search", "--onlyvisible", "--name", ".")
		if !strings.Contains(" "+strings.Join(strings.Fields(out), " ")+" ", " "+id+" ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("window %s still open 20 s after Alt+F4", id)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// shownWindow is a window process the test started with `inboxsync.exe ui`.
type shownWindow struct {
	w   *wine
	id  string
	cmd *exec.Cmd
	out *outFile
}

// openWindow runs `inboxsync.exe ui ARGS…` and waits for its window.
func (w *wine) openWindow(t *testing.T, title string, args ...string) *shownWindow {
	t.Helper()
	cmd := w.command(context.Background(), append([]string{"ui"}, args...)...)
	out, f := w.newOutFile(t, "window")
	cmd.Stdout, cmd.Stderr = f, f
	err := cmd.Start()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := &shownWindow{w: w, cmd: cmd, out: out}
	t.Cleanup(func() {
		if s.cmd != nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	s.id = w.window(t, title)
	return s
}

// keys presses keys in the window, one at a time: the window gets the X
// input focus (there is no window manager to activate it), then XTEST
// sends each key to it.
func (s *shownWindow) keys(t *testing.T, keys ...string) {
	t.Helper()
	s.w.xdotool("windowfocus", s.id)
	time.Sleep(300 * time.Millisecond)
	for _, k := range keys {
		if out, err := s.w.xdotool("key", "--clearmodifiers", k); err != nil {
			t.Fatalf("xdotool key %s: %v %s", k, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// close closes the window (Alt+F4) and checks its process exits cleanly.
func (s *shownWindow) close(t *testing.T) {
	t.Helper()
	s.w.closeWindow(t, s.id)
	s.waitExit(t)
}

// waitExit waits up to 60 s for the window process to exit with 0 (once,
// on a loaded host, 20 s were not enough; why is not known).
func (s *shownWindow) waitExit(t *testing.T) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the window process ended with %v\n%s", err, s.out)
		}
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-done
		t.Errorf("the window process did not exit within 60 s\n%s", s.out)
	}
	s.cmd = nil
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return csv.NewReader(f).ReadAll()
}

// utf16le is s as Windows stores wide strings.
func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// outFile is a file a Windows program writes its output to, read while it
// runs. Files rather than pipes: a process the program starts (Wine's
// services, explorer.exe for the tray, the window program) inherits the
// handles and may outlive it, which would keep a pipe open and the test
// waiting.
type outFile struct{ path string }

func (w *wine) newOutFile(t *testing.T, name string) (*outFile, *os.File) {
	t.Helper()
	f, err := os.CreateTemp(w.tmp, name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	return &outFile{path: f.Name()}, f
}

func (o *outFile) String() string {
	if o == nil {
		return ""
	}
	b, _ := os.ReadFile(o.path)
	return string(b)
}

// localTLS is the test's own certificate for localhost (and 127.0.0.1),
// the emulators' under Wine. Wine's SSL policy
// (CertVerifyCertificateChainPolicy) matches the DNS names of a
// certificate only, not its IP addresses, so httptest's certificate for
// 127.0.0.1 is refused under Wine whatever the roots; real Windows matches
// both.
type localTLS struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func newLocalTLS(t *testing.T) localTLS {
	cert, key := localhostCert(t)
	return localTLS{cert: cert, key: key}
}

// config serves the certificate.
func (l localTLS) config() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{l.cert.Raw}, PrivateKey: l.key, Leaf: l.cert}}}
}

// client trusts the certificate (the test's browser).
func (l localTLS) client() *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(l.cert)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
}

// serve starts s with the certificate and names it https://localhost:PORT.
func (l localTLS) serve(t *testing.T, s *httptest.Server) {
	s.TLS = l.config()
	s.StartTLS()
	t.Cleanup(s.Close)
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	s.URL = "https://localhost:" + port
}

// tokenLog records the tokens a token endpoint hands out.
type tokenLog struct {
	mu     sync.Mutex
	issued []string
}

// record wraps next: the answers to requests whose path ends with
// tokenPath are searched for tokens.
func (k *tokenLog) record(next http.Handler, tokenPath string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, tokenPath) {
			next.ServeHTTP(rw, r)
			return
		}
		rec := &recorder{ResponseWriter: rw}
		next.ServeHTTP(rec, r)
		var tok struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
		}
		if json.Unmarshal(rec.body.Bytes(), &tok) == nil {
			k.mu.Lock()
			for _, s := range []string{tok.Access, tok.Refresh} {
				if s != "" {
					k.issued = append(k.issued, s)
				}
			}
			k.mu.Unlock()
		}
	})
}

func (k *tokenLog) tokens() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.issued...)
}

// gmailEmu is the Gmail emulator (Google's OAuth too) on
// https://localhost, recording every token it hands out.
type gmailEmu struct {
	*gmailtest.Server
	tokenLog
}

func newGmailEmu(t *testing.T, lt localTLS) *gmailEmu {
	t.Helper()
	g := &gmailEmu{Server: gmailtest.NewUnstarted()}
	g.Config.Handler = g.record(g.Config.Handler, "/token")
	lt.serve(t, g.Server.Server)
	return g
}

// office365Emu is the Microsoft identity platform emulator behind a TLS
// proxy on https://localhost (authtest starts its own server with
// httptest's certificate) and the Graph emulator on https://localhost.
type office365Emu struct {
	idp       *authtest.Server
	graph     *graphtest.Server
	authority string
	tokenLog
}

func newOffice365Emu(t *testing.T, lt localTLS) *office365Emu {
	t.Helper()
	m := &office365Emu{idp: authtest.New(t), graph: graphtest.NewUnstarted()}
	m.graph.Auth = m.idp.ValidAccess
	lt.serve(t, m.graph.Server)
	target, err := url.Parse(m.idp.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = m.idp.Client().Transport
	proxy := httptest.NewUnstartedServer(m.record(rp, "/oauth2/v2.0/token"))
	lt.serve(t, proxy)
	m.authority = proxy.URL
	return m
}

// recorder keeps a copy of a response's body.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.body.Write(p)
	return r.ResponseWriter.Write(p)
}

// localhostCert makes a self-signed CA certificate for localhost and
// 127.0.0.1, valid for a day.
func localhostCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "Inbox Sync Wine test", Organization: []string{"Inbox Sync tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
