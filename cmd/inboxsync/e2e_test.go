package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/inboxsync/inboxsync/sync/api"
)

// These tests run the real binary, built with -tags testprovider so that
// it links the scripted provider, against a temporary --home. Secrets go to
// the real Secret Service: run them under scripts/with-keyring.sh.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "inboxsync-e2e")
	if err != nil {
		panic(err)
	}
	// Both programs, side by side as installed: the agent starts the
	// window program from its own directory.
	binary = filepath.Join(dir, "inboxsync")
	out, err := exec.Command("go", "build", "-race", "-tags", "testprovider", "-o", dir+string(filepath.Separator),
		".", "../inboxsync-window").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needKeyring(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		if os.Getenv("INBOXSYNC_REQUIRE_KEYRING") == "1" {
			t.Fatal("no session bus: run under scripts/with-keyring.sh")
		}
		t.Skip("no session bus: run under scripts/with-keyring.sh")
	}
}

type home struct {
	t     *testing.T
	dir   string
	env   []string
	agent *exec.Cmd
	log   *agentLog
}

func newHome(t *testing.T, env ...string) *home {
	dir, err := os.MkdirTemp("", "isx")
	if err != nil {
		t.Fatal(err)
	}
	// No machine policy leaks in: each home has its own (absent unless
	// the test writes it).
	base := append(os.Environ(), "INBOXSYNC_POLICY="+filepath.Join(dir, "policy.toml"))
	h := &home{t: t, dir: dir, env: append(base, env...)}
	t.Cleanup(func() {
		h.stopAgent()
		os.RemoveAll(dir)
	})
	return h
}

// run runs a verb and returns stdout, stderr and the exit code.
func (h *home) run(stdin string, args ...string) (string, string, int) {
	h.t.Helper()
	cmd := exec.Command(binary, append([]string{"--home", h.dir}, args...)...)
	cmd.Env = h.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		h.t.Fatalf("running %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

func (h *home) ok(args ...string) string {
	h.t.Helper()
	out, errOut, code := h.run("", args...)
	if code != 0 {
		h.t.Fatalf("inboxsync %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// items returns the items `activity --json --limit 1000` lists, with the
// extra flags given.
func (h *home) items(flags ...string) []api.StoredItem {
	h.t.Helper()
	var page api.ActivityPage
	if err := json.Unmarshal([]byte(h.ok(append([]string{"activity", "--json", "--limit", "1000"}, flags...)...)), &page); err != nil {
		h.t.Fatalf("activity --json: %v", err)
	}
	return page.Items
}

// signIn runs a verb that signs in through a browser (with --no-browser
// among args), plays the browser with open for each link it prints that
// starts with linkPrefix, and returns its stdout and stderr once it ends;
// it fails the test if the verb fails.
func (h *home) signIn(linkPrefix string, open func(ctx context.Context, url string) error, args ...string) (string, string) {
	h.t.Helper()
	cmd := exec.Command(binary, append([]string{"--home", h.dir}, args...)...)
	cmd.Env = h.env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if u, ok := strings.CutPrefix(line, "  "); ok && strings.HasPrefix(u, linkPrefix) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := open(ctx, u); err != nil {
				h.t.Errorf("following the sign-in link: %v", err)
			}
			cancel()
		}
	}
	if err := cmd.Wait(); err != nil {
		h.t.Fatalf("%v: %v\n%s%s", args, err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

func (h *home) status() api.Status {
	h.t.Helper()
	var s api.Status
	if err := json.Unmarshal([]byte(h.ok("status", "--json")), &s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// startAgent starts `inboxsync agent --no-tray` and waits until it
// answers. Its log (also h.log) can be read while it runs.
func (h *home) startAgent() *agentLog { return h.launchAgent("--no-tray") }

// startTrayAgent starts `inboxsync agent` with its tray and waits until it
// answers.
func (h *home) startTrayAgent() *agentLog { return h.launchAgent() }

func (h *home) launchAgent(flags ...string) *agentLog {
	h.t.Helper()
	h.log = &agentLog{}
	h.agent = exec.Command(binary, append([]string{"--home", h.dir, "agent"}, flags...)...)
	h.agent.Env = h.env
	h.agent.Stderr = h.log
	if !slices.Contains(flags, "--no-tray") {
		// fyne.io/systray v1.12.2 reads menuVersion in GetLayout under
		// its menu lock and writes it in refresh under another lock: a
		// data race inside the library whenever a panel reads the menu
		// while it changes. The race build would exit 66 for it at random
		// (seen in about one full run in ten). Tray agents therefore keep
		// their exit code, and their log is searched for race reports
		// instead: any other race still fails the test.
		h.agent.Env = append(slices.Clone(h.env), "GORACE=exitcode=0")
		log, t := h.log, h.t
		t.Cleanup(func() {
			h.stopAgent()
			checkRaces(t, log.String())
		})
	}
	if err := h.agent.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.eventually("the agent answers", func() bool {
		out, _, c := h.run("", "status", "--json")
		return c == 0 && strings.Contains(out, `"source": "agent"`)
	})
	return h.log
}

// checkRaces fails t for every data race the race detector reported in
// log, except the known one inside fyne.io/systray (see launchAgent).
func checkRaces(t *testing.T, log string) {
	t.Helper()
	for _, r := range unexpectedRaces(log) {
		t.Errorf("the agent or a window it started reported a data race:\n%s", r)
	}
}

// unexpectedRaces returns the race detector's reports in log, but for the
// known ones inside fyne.io/systray: both conflicting accesses made by the
// library's own functions (GetLayout, refresh, resetMenu touching
// menuVersion under different locks).
func unexpectedRaces(log string) []string {
	var out []string
	for _, block := range strings.Split(log, "==================") {
		if !strings.Contains(block, "WARNING: DATA RACE") {
			continue
		}
		if !insideSystray(block) {
			out = append(out, block)
		}
	}
	return out
}

// insideSystray reports whether both accesses of a race report happened in
// fyne.io/systray's own code: the first frame under each "… at 0x…" line.
func insideSystray(report string) bool {
	lines := strings.Split(report, "\n")
	accesses := 0
	for i, l := range lines {
		if !strings.Contains(l, " at 0x") || !strings.Contains(l, " by ") || i+1 >= len(lines) {
			continue
		}
		accesses++
		if !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "fyne.io/systray.") {
			return false
		}
	}
	return accesses == 2
}

// agentLog is an agent's stderr, safe to read while the agent writes.
type agentLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *agentLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *agentLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (h *home) stopAgent() {
	if h.agent == nil {
		return
	}
	h.agent.Process.Signal(syscall.SIGTERM)
	if ok, err := waitExit(h.agent, 15*time.Second); !ok {
		h.t.Errorf("agent ignored SIGTERM for 15 s\n%s", h.log)
	} else if err != nil {
		h.t.Errorf("agent exited with %v\n%s", err, h.log)
	}
	h.agent = nil
}

// waitExit waits up to limit for cmd to exit and returns how it ended; ok
// is false (and cmd killed) when it did not exit in time.
func waitExit(cmd *exec.Cmd, limit time.Duration) (ok bool, err error) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return true, err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return false, nil
	}
}

func (h *home) eventually(what string, cond func() bool) {
	h.t.Helper()
	await(h.t, what, h.log, cond)
}

func (h *home) writeScript(s string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, "mailbox.json")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

const password = "Corr3ct-Horse-Battery-e2e"

func TestCLIEndToEnd(t *testing.T) {
	needKeyring(t)
	h := newHome(t, "INBOXSYNC_TEST_MIN_SYNC_GAP=2s")

	// Before any agent: reads work from disk, writes say how to start it.
	if s := h.status(); s.Source != "store" || s.Paused || len(s.Accounts) != 0 {
		t.Fatalf("status before the agent ever ran: %+v", s)
	}
	if _, errOut, code := h.run("", "pause"); code != 1 || !strings.Contains(errOut, "not running") || !strings.Contains(errOut, "inboxsync agent") {
		t.Fatalf("pause without an agent: exit %d, %q", code, errOut)
	}

	h.startAgent()
	if _, errOut, code := h.run("", "agent", "--no-tray"); code == 0 || !strings.Contains(errOut, "already running") {
		t.Fatalf("second agent: exit %d, %q", code, errOut)
	}
	if out, _, code := h.run(""); code != 0 || !strings.Contains(out, "opening its dashboard") {
		t.Fatalf("inboxsync with an agent running: exit %d, %q", code, out)
	}
	info, err := os.Stat(filepath.Join(h.dir, "run", "control.sock"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v, mode %v", err, info.Mode())
	}

	script := h.writeScript(`{"inbox": 40, "sent": 5, "calendar": 3, "password": "` + password + `", "page_size": 10, "email": "ann@example.test"}`)
	if _, errOut, code := h.run("wrong\n", "account", "add", "scripted", "--account", "work", "--login", "ann", "--mailbox", script, "--password-stdin"); code != 1 || !strings.Contains(errOut, "password is wrong") {
		t.Fatalf("add with a wrong password: exit %d, %q", code, errOut)
	}
	out, errOut, code := h.run(password+"\n", "account", "add", "scripted", "--account", "work", "--login", "ann", "--mailbox", script, "--password-stdin")
	if code != 0 || !strings.Contains(out, "Connected work (ann@example.test)") {
		t.Fatalf("account add: exit %d\n%s%s", code, out, errOut)
	}
	if got, err := keyring.Get("inboxsync", "work/password"); err != nil || got != password {
		t.Fatalf("keyring after add: %q, %v", got, err)
	}
	h.eventually("the first sync ends", func() bool {
		s := h.status()
		return len(s.Accounts) == 1 && s.Accounts[0].LastSync != nil && s.Accounts[0].LastSync.Outcome == "ok"
	})
	s := h.status().Accounts[0]
	if s.State != api.Idle || s.LastSync.Added != 48 || s.NextSync.IsZero() {
		t.Fatalf("after the first sync: %+v", s)
	}

	time.Sleep(2 * time.Second) // the agent runs with a 2 s sync-now limit
	h.writeScript(`{"inbox": 42, "sent": 5, "calendar": 3, "password": "` + password + `", "page_size": 10, "email": "ann@example.test"}`)
	if out := h.ok("sync", "--wait"); !strings.Contains(out, "work: ok (2 added") {
		t.Fatalf("sync --wait: %q", out)
	}
	if _, errOut, code := h.run("", "sync", "--wait"); code != 1 || !strings.Contains(errOut, "try again in") {
		t.Fatalf("sync right after a sync: exit %d, %q", code, errOut)
	}

	items := h.items()
	if len(items) != 50 {
		t.Fatalf("activity lists %d items, want 50", len(items))
	}
	if out := h.ok("activity", "--search", "inbox item 41"); !strings.Contains(out, "Scripted inbox item 41") || strings.Contains(out, "item 40") {
		t.Fatalf("activity --search: %q", out)
	}
	// A meeting has no sender: the FROM column shows its organizer.
	if out := h.ok("activity", "--search", "calendar item 2"); !regexp.MustCompile(`(?m)^\S+ \S+\s+work\s+calendar\s+alice@scripted\.test\s+Scripted calendar item 2 @ Room 1`).MatchString(out) {
		t.Fatalf("activity of a meeting, FROM should be its organizer: %q", out)
	}
	var sessions []api.Session
	json.Unmarshal([]byte(h.ok("sessions", "--json")), &sessions)
	if len(sessions) != 2 || sessions[0].Trigger != "manual" || sessions[1].Trigger != "activation" {
		t.Fatalf("sessions: %+v", sessions)
	}

	// With no agent running nothing is due: status says the next sync
	// comes when Inbox Sync starts, not a stored time that never comes.
	h.stopAgent()
	if out := h.ok("status"); !strings.Contains(out, "  next sync:  when Inbox Sync starts — run `inboxsync`\n") || regexp.MustCompile(`next sync: +[0-9]`).MatchString(out) {
		t.Fatalf("status without an agent: %q", out)
	}
	var stored map[string]any
	if err := json.Unmarshal([]byte(h.ok("status", "--json")), &stored); err != nil {
		t.Fatal(err)
	}
	if acct := stored["accounts"].([]any)[0].(map[string]any); stored["agent_running"] != false || acct["next_sync"] != nil {
		t.Fatalf("status --json without an agent: agent_running %v, next_sync %v", stored["agent_running"], acct["next_sync"])
	}
	h.startAgent()
	if s := h.status(); !s.AgentRunning || s.Accounts[0].NextSync.IsZero() {
		t.Fatalf("status with the agent again: %+v", s)
	}

	// Pause survives a restart of the agent.
	h.ok("pause", "--for", "1h")
	if s := h.status(); !s.Paused || s.PausedUntil.IsZero() || s.Accounts[0].State != api.Paused {
		t.Fatalf("after pause: %+v", s)
	}
	h.stopAgent()
	if s := h.status(); s.Source != "store" || !s.Paused {
		t.Fatalf("status from disk while stopped: %+v", s)
	}
	h.startAgent()
	if s := h.status(); !s.Paused || s.Accounts[0].State != api.Paused {
		t.Fatalf("pause lost across a restart: %+v", s)
	}
	h.ok("resume")
	if s := h.status(); s.Paused || s.Accounts[0].State == api.Paused {
		t.Fatalf("after resume: %+v", s)
	}

	// The password is in the keyring and nowhere under the home.
	filepath.Walk(h.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(password)) && p != script {
				t.Errorf("the password is written in %s", p)
			}
		}
		return nil
	})

	h.ok("account", "remove", "work")
	if _, err := keyring.Get("inboxsync", "work/password"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("password still in the keyring after remove: %v", err)
	}
	if s := h.status(); s.Accounts[0].State != api.NotActivated {
		t.Fatalf("after remove: %+v", s.Accounts[0])
	}
	items = h.items()
	if len(items) != 50 {
		t.Fatalf("remove without --purge kept %d items, want 50", len(items))
	}
	h.ok("account", "remove", "work", "--purge")
	if out := h.ok("account", "list"); !strings.Contains(out, "No account yet") {
		t.Fatalf("account list after purge: %q", out)
	}
	if out := h.ok("activity"); !strings.Contains(out, "Nothing synced yet") {
		t.Fatalf("activity after purge: %q", out)
	}
	h.stopAgent()
	if !strings.Contains(h.log.String(), "agent stopped") {
		t.Fatalf("agent log lacks its clean stop:\n%s", h.log)
	}
}

func TestCLIRejectionsReachNeedsReactivation(t *testing.T) {
	needKeyring(t)
	h := newHome(t, "INBOXSYNC_TEST_MIN_SYNC_GAP=0s", "INBOXSYNC_TEST_WALL_CHECK=100ms")
	h.startAgent()
	h.ok("settings", "--interval", "1s")
	script := h.writeScript(`{"inbox": 3, "password": "` + password + `"}`)
	out, errOut, code := h.run(password+"\n", "account", "add", "scripted", "--account", "rej", "--login", "bob", "--mailbox", script, "--password-stdin")
	if code != 0 {
		t.Fatalf("account add: %s%s", out, errOut)
	}
	h.eventually("the first sync ends", func() bool {
		s := h.status().Accounts[0]
		return s.LastSync != nil && s.LastSync.Outcome == "ok"
	})
	// The administrator changes the password on the server.
	opens := func() int {
		b, _ := os.ReadFile(script + ".opens")
		n, _ := strconv.Atoi(string(b))
		return n
	}
	h.writeScript(`{"inbox": 3, "password": "changed-by-the-admin"}`)
	h.eventually("the account needs re-activation", func() bool {
		return h.status().Accounts[0].State == api.NeedsReactivation
	})
	s := h.status().Accounts[0]
	if s.Rejections != 6 || !strings.Contains(s.Reason, "rejected the last 6 sync attempts") {
		t.Fatalf("status: %+v", s)
	}
	// Exactly 6 sessions were rejected (a sync that had already opened the
	// mailbox before the password changed may have succeeded, so opens are
	// not counted from the change), and none runs after the 6th.
	var sessions []api.Session
	json.Unmarshal([]byte(h.ok("sessions", "--json", "--limit", "100")), &sessions)
	rejected := 0
	for _, ss := range sessions {
		if ss.Outcome == "rejected" {
			rejected++
		}
	}
	attempts := opens()
	time.Sleep(2 * time.Second) // two intervals: no further attempt may come
	if got := opens(); got != attempts || rejected != 6 {
		t.Fatalf("%d rejected sessions, %d mailbox opens at the state change and %d after; want 6 rejected and no further open", rejected, attempts, got)
	}
	if _, errOut, code := h.run("", "sync"); code != 1 || !strings.Contains(errOut, "activated again") {
		t.Fatalf("sync while needing re-activation: exit %d %q", code, errOut)
	}
	if out := h.ok("status"); !strings.Contains(out, "Needs re-activation") || !strings.Contains(out, "has your password changed?") {
		t.Fatalf("status text: %s", out)
	}
	// Re-activation with the new password restarts sync at once.
	if _, errOut, code := h.run("changed-by-the-admin\n", "account", "add", "scripted", "--account", "rej", "--login", "bob", "--mailbox", script, "--password-stdin"); code != 0 {
		t.Fatalf("re-activation: %s", errOut)
	}
	h.eventually("sync is back", func() bool {
		s := h.status().Accounts[0]
		return s.State == api.Idle && s.Rejections == 0 && s.LastSync != nil && s.LastSync.Outcome == "ok"
	})
}

func TestCLICorruptStoreIsLeftUntouched(t *testing.T) {
	h := newHome(t)
	db := filepath.Join(h.dir, "inboxsync.db")
	garbage := bytes.Repeat([]byte("not a database, just bytes "), 400)
	if err := os.WriteFile(db, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"agent", "--no-tray"}, {"status"}, {"activity"}} {
		_, errOut, code := h.run("", args...)
		if code != 1 || !strings.Contains(errOut, "damaged") || !strings.Contains(errOut, db) {
			t.Errorf("inboxsync %v with a corrupt store: exit %d, %q", args, code, errOut)
		}
	}
	if b, _ := os.ReadFile(db); !bytes.Equal(b, garbage) {
		t.Fatal("the corrupt store was modified")
	}
}

// Under the C.UTF-8 locale of many servers and containers, commands print
// what they should and nothing else (Fyne, linked for the windows, used to
// log "Error parsing user locale C" on every run).
func TestCLIQuietUnderCUTF8Locale(t *testing.T) {
	h := newHome(t, "LC_ALL=", "LC_MESSAGES=", "LANGUAGE=", "LANG=C.UTF-8")
	for _, args := range [][]string{{"version"}, {"status"}} {
		out, errOut, code := h.run("", args...)
		if code != 0 || errOut != "" || out == "" {
			t.Errorf("inboxsync %v under LANG=C.UTF-8: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
	}
	// The window program links Fyne: its help (on stderr) is all it says.
	_, errOut, code := h.run("", "ui", "--help")
	if code != 0 || !strings.HasPrefix(errOut, "Usage: inboxsync ui") || strings.Contains(errOut, "Fyne error") {
		t.Errorf("inboxsync ui --help under LANG=C.UTF-8: exit %d\nstderr: %s", code, errOut)
	}
}

// The command line links no GUI toolkit; `inboxsync ui` runs the window
// program beside it, and says so in words when it is missing.
func TestUIWithoutTheWindowProgram(t *testing.T) {
	h := newHome(t)
	alone := filepath.Join(t.TempDir(), "inboxsync")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(alone, "--home", h.dir, "ui", "dashboard")
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("inboxsync ui dashboard without inboxsync-window: %v, want exit 1\n%s", err, out)
	}
	if want := "the program " + filepath.Join(filepath.Dir(alone), "inboxsync-window") + " is missing"; !strings.Contains(string(out), want) {
		t.Errorf("inboxsync ui dashboard without inboxsync-window said:\n%s\nwant it to contain %q", out, want)
	}
	// With it beside, the same command reaches the window program (which
	// finds no agent here).
	_, errOut, code := h.run("", "ui", "dashboard")
	if code != 1 || !strings.Contains(errOut, "Inbox Sync is not running") {
		t.Errorf("inboxsync ui dashboard with no agent: exit %d\n%s", code, errOut)
	}
}

// Every verb's --help starts with how to call it and what it does, and
// exits 0.
func TestCLIHelpOfEveryVerb(t *testing.T) {
	h := newHome(t)
	for _, args := range [][]string{
		{"agent"}, {"status"}, {"pause"}, {"resume"}, {"sync"},
		{"account", "list"}, {"account", "add", "exchange"}, {"account", "add", "office365"}, {"account", "remove"},
		{"activity"}, {"export"}, {"sessions"}, {"issues"}, {"settings"}, {"ui"}, {"version"}, {"policy"}, {"notify"},
		{"crm", "connect", "salesforce"}, {"crm", "status"}, {"crm", "sync"}, {"crm", "disconnect"}, {"crm", "settings"},
	} {
		out, errOut, code := h.run("", append(args, "--help")...)
		help := out + errOut
		want := "Usage: inboxsync " + strings.Join(args, " ")
		if code != 0 || !strings.HasPrefix(help, want) || !strings.Contains(help, "-home DIR") {
			t.Errorf("inboxsync %s --help: exit %d, want 0 and a text starting %q:\n%s", strings.Join(args, " "), code, want, help)
			continue
		}
		// A sentence on what the verb does comes before the flags.
		usage, _, _ := strings.Cut(help, "Flags:")
		if lines := strings.Fields(strings.SplitN(usage, "\n", 2)[1]); len(lines) < 3 {
			t.Errorf("inboxsync %s --help says nothing about what it does:\n%s", strings.Join(args, " "), help)
		}
	}
}
