package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// mailboxScript is a scripted mailbox with inbox items for account name;
// extra adds JSON fields (`, "fail": "offline"`).
func mailboxScript(name string, inbox int, extra string) string {
	return fmt.Sprintf(`{"inbox": %d, "password": %q, "email": "%s@example.test"%s}`, inbox, password, name, extra)
}

// writeMailbox writes account name's mailbox script and returns its path.
func (h *home) writeMailbox(name, script string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name+".json")
	if err := os.WriteFile(p, []byte(script), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// addScripted connects account name to a scripted mailbox of inbox items
// and waits for its first sync.
func (h *home) addScripted(name string, inbox int) {
	h.t.Helper()
	p := h.writeMailbox(name, mailboxScript(name, inbox, ""))
	out, errOut, code := h.run(password+"\n", "account", "add", "scripted", "--account", name, "--login", name, "--mailbox", p, "--password-stdin")
	if code != 0 {
		h.t.Fatalf("account add %s: exit %d\n%s%s", name, code, out, errOut)
	}
	h.eventually(name+"'s first sync ends", func() bool {
		a, ok := h.accountStatus(name)
		return ok && a.LastSync != nil && a.LastSync.Outcome == "ok"
	})
}

func (h *home) accountStatus(name string) (api.AccountStatus, bool) {
	h.t.Helper()
	for _, a := range h.status().Accounts {
		if a.Account == name {
			return a, true
		}
	}
	return api.AccountStatus{}, false
}

// background starts a verb and returns it with its stdout and stderr,
// which can be read while it runs.
func (h *home) background(args ...string) (*exec.Cmd, *agentLog, *agentLog) {
	h.t.Helper()
	cmd := exec.Command(binary, append([]string{"--home", h.dir}, args...)...)
	cmd.Env = h.env
	out, errOut := &agentLog{}, &agentLog{}
	cmd.Stdout, cmd.Stderr = out, errOut
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, out, errOut
}

// `sync --wait` follows every account through a server's throttling and
// through the retries while the network is down, and exits 0 once each
// account synced.
func TestCLISyncWaitFollowsThrottlingAndOfflineRetries(t *testing.T) {
	needKeyring(t)
	h := newHome(t, "INBOXSYNC_TEST_MIN_SYNC_GAP=1ms") // 0 means the default minute
	h.startAgent()
	h.addScripted("work", 5)
	h.addScripted("home", 3)

	// The server throttles work's next call for 2 seconds; home syncs at
	// once. Both are followed to their end.
	h.writeMailbox("work", mailboxScript("work", 7, `, "fail": "throttled", "retry_after": "2s", "fail_times": 1`))
	h.writeMailbox("home", mailboxScript("home", 4, ""))
	out, errOut, code := h.run("", "sync", "--wait")
	if code != 0 || !strings.Contains(errOut, "work: the mail server asked us to wait; continuing in 2 seconds") ||
		!strings.Contains(out, "work: ok (2 added") || !strings.Contains(out, "after 1 retry") || !strings.Contains(out, "home: ok (1 added") {
		t.Fatalf("sync --wait through a 2-second throttle: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if a, _ := h.accountStatus("work"); a.State != api.Idle || a.LastSync.Trigger != "retry" || a.LastSync.Outcome != "ok" {
		t.Fatalf("work after the throttled sync: %+v", a)
	}

	// work's server is unreachable: with a 2-second interval the engine
	// retries every 2 seconds, and `sync --wait --account work` waits for
	// the retry that gets through.
	h.writeMailbox("work", mailboxScript("work", 9, `, "fail": "offline"`))
	h.ok("settings", "--interval", "2s")
	cmd, stdout, stderr := h.background("sync", "--wait", "--account", "work", "--timeout", "1m")
	h.eventually("sync --wait says it waits for the network", func() bool {
		return strings.Contains(stderr.String(), "work: offline (can't reach the mail server); retrying in 2 seconds")
	})
	if strings.Contains(stdout.String(), "work:") {
		t.Fatalf("sync --wait reported an outcome while offline:\n%s%s", stdout, stderr)
	}
	h.writeMailbox("work", mailboxScript("work", 9, ""))
	if ok, err := waitExit(cmd, 20*time.Second); !ok || err != nil {
		t.Fatalf("sync --wait after the network came back: exited %v, %v\nstdout: %s\nstderr: %s", ok, err, stdout, stderr)
	}
	if !strings.Contains(stdout.String(), "work: ok (2 added") || strings.Contains(stdout.String(), "home:") {
		t.Fatalf("sync --wait --account work through offline retries:\nstdout: %s\nstderr: %s", stdout, stderr)
	}
}

// retryInAMinute is how clock words a retry a minute away, read a moment
// later.
var retryInAMinute = regexp.MustCompile(`\(in (1 minute|5\d seconds)\)`)

// `sync --wait` exits 1 for a failed sync, an account that must be
// activated again, and a wait that runs out of time, saying that the sync
// goes on in the background.
func TestCLISyncWaitFailuresAndTimeouts(t *testing.T) {
	needKeyring(t)
	h := newHome(t, "INBOXSYNC_TEST_MIN_SYNC_GAP=1ms") // 0 means the default minute
	h.startAgent()
	h.addScripted("work", 2)

	// A slow sync outlives --timeout 1s.
	h.writeMailbox("work", mailboxScript("work", 8, `, "page_size": 1, "page_delay": "500ms"`))
	began := time.Now()
	out, errOut, code := h.run("", "sync", "--wait", "--timeout", "1s")
	if code != 1 || !strings.Contains(out, "work: not done: still syncing") || !strings.Contains(errOut, "stopped waiting after 1s (--timeout); the sync goes on in the background") {
		t.Fatalf("sync --wait --timeout 1s on a slow sync: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("sync --wait --timeout 1s took %s", d)
	}
	h.eventually("the slow sync ends in the background", func() bool {
		a, _ := h.accountStatus("work")
		return a.State == api.Idle && a.LastSync != nil && a.LastSync.Outcome == "ok" && a.LastSync.Added == 6
	})

	// Offline with the next retry a minute away (the default 30-minute
	// interval): beyond --timeout, so it does not wait for it.
	h.writeMailbox("work", mailboxScript("work", 8, `, "fail": "offline"`))
	began = time.Now()
	out, errOut, code = h.run("", "sync", "--wait", "--timeout", "20s")
	if code != 1 || !strings.Contains(out, "work: not done: offline (can't reach the mail server); retrying at") ||
		!retryInAMinute.MatchString(out) || !strings.Contains(out, "after the --timeout; the sync goes on in the background") {
		t.Fatalf("sync --wait while offline for longer than --timeout: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("sync --wait waited %s for a retry due after its --timeout", d)
	}

	// A real failure.
	h.writeMailbox("work", mailboxScript("work", 8, `, "fail": "failed"`))
	out, errOut, code = h.run("", "sync", "--wait")
	if code != 1 || !strings.Contains(out, "work: failed (") || !strings.Contains(out, "The mail server answered with an error.") {
		t.Fatalf("sync --wait on a failing server: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	// The grant is gone: the account needs to be activated again.
	h.writeMailbox("work", mailboxScript("work", 8, `, "fail": "grant-gone"`))
	out, errOut, code = h.run("", "sync", "--wait", "--account", "work")
	if code != 1 || !strings.Contains(out, "work: grant-gone (") || !strings.Contains(out, "sign in again") {
		t.Fatalf("sync --wait when the grant is gone: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if a, _ := h.accountStatus("work"); a.State != api.NeedsReactivation {
		t.Fatalf("work after its grant went: %+v", a)
	}
	// Activating it again takes its mailbox and login from the account:
	// the CLI's own checks judge the request as the agent will.
	h.writeMailbox("work", mailboxScript("work", 8, ""))
	if out, errOut, code := h.run(password+"\n", "account", "add", "scripted", "--account", "work", "--password-stdin"); code != 0 {
		t.Fatalf("re-activation without --mailbox and --login: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if out, errOut, code := h.run("", "sync", "--wait", "--account", "work"); code != 0 || !strings.Contains(out, "work: ok") {
		t.Fatalf("sync --wait after re-activation: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	// Paused while it waits for the server: no retry comes, so the wait
	// ends.
	h.writeMailbox("work", mailboxScript("work", 9, `, "fail": "throttled", "retry_after": "30s", "fail_times": 1`))
	cmd, stdout, stderr := h.background("sync", "--wait", "--account", "work")
	h.eventually("sync --wait says it waits for the server", func() bool {
		return strings.Contains(stderr.String(), "work: the mail server asked us to wait; continuing in 30 seconds")
	})
	h.ok("pause", "--account", "work")
	if ok, err := waitExit(cmd, 20*time.Second); !ok || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stdout.String(), "work: not done: sync was paused before it could try again") {
		t.Fatalf("sync --wait paused while throttled: exited %v (%v)\nstdout: %s\nstderr: %s", ok, err, stdout, stderr)
	}

	// --timeout without --wait is a usage error.
	if _, errOut, code := h.run("", "sync", "--timeout", "1m"); code != 2 || !strings.Contains(errOut, "--timeout goes with --wait") {
		t.Fatalf("sync --timeout without --wait: exit %d, %q", code, errOut)
	}
}
