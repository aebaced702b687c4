package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/emailnotice"
	"github.com/inboxsync/inboxsync/sync/emailnotice/smtptest"
)

const relayPassword = "Relay-Pa55-e2e-7Qx"

// TestAdminPolicyAndEmailNotices drives the real binary with an
// administrator policy and a real SMTP relay (STARTTLS with its own
// authority, AUTH): locked settings refused by the CLI, the policy read
// again when it changes, `notify test`, one stop notice per incident to
// the user and the admin, the notice kept across an agent restart while
// the relay is down, and "Sync resumed" after re-activation.
func TestAdminPolicyAndEmailNotices(t *testing.T) {
	needKeyring(t)
	relay := smtptest.Start(t, smtptest.Options{Username: "inboxsync", Password: relayPassword})
	h := newHome(t, "INBOXSYNC_TEST_MIN_SYNC_GAP=0s", "INBOXSYNC_TEST_WALL_CHECK=100ms",
		"INBOXSYNC_TEST_NOTICE_POLL=200ms", "INBOXSYNC_TEST_NOTICE_RETRY=1s", "SSL_CERT_FILE="+relay.CAFile)
	policyPath := filepath.Join(h.dir, "policy.toml")
	writePolicy := func(extra string) {
		doc := fmt.Sprintf(`# e2e policy
admin_email = "it@contoso.com"
notify = ["user", "admin"]
notify_resumed = true
history_days = 45
wallpaper = "blue"
%s
[smtp]
host = "127.0.0.1"
port = %d
tls = "starttls"
username = "inboxsync"
from = "inboxsync@contoso.com"
`, extra, relay.Port)
		if err := os.WriteFile(policyPath, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writePolicy(`locked = ["history_days"]`)
	if out, errOut, code := h.run(relayPassword+"\n", "notify", "password", "--stdin"); code != 0 || !strings.Contains(out, "saved in the system keyring") {
		t.Fatalf("notify password: %d %s%s", code, out, errOut)
	}
	h.startAgent()

	// The locked setting: shown as the administrator's, refused by the CLI.
	if out := h.ok("settings"); !strings.Contains(out, "history days:   45  (Set by your administrator)") {
		t.Fatalf("settings:\n%s", out)
	}
	if _, errOut, code := h.run("", "settings", "--history-days", "10"); code != 1 || !strings.Contains(errOut, "Set by your administrator: the history window (45) cannot be changed") {
		t.Fatalf("changing a locked setting: exit %d, %s", code, errOut)
	}
	h.ok("settings", "--interval", "1s")
	var rep policyReport
	if err := json.Unmarshal([]byte(h.ok("policy", "show", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{}
	for _, r := range rep.Settings {
		sources[r.Setting] = string(r.Source) + " " + r.Value
	}
	if !rep.Agent || sources["history_days"] != "locked 45" || sources["sync_interval"] != "user 1s" || sources["admin_email"] != "policy it@contoso.com" || sources["smtp.port"] != fmt.Sprintf("policy %d", relay.Port) || sources["notify_resumed"] != "policy true" {
		t.Errorf("policy show: %v", sources)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Line != 6 || rep.Problems[0].Key != "wallpaper" {
		t.Errorf("policy problems: %+v", rep.Problems)
	}
	if st := h.status(); st.PolicyPath != policyPath || len(st.PolicyProblems) != 1 {
		t.Errorf("status: policy %q problems %+v", st.PolicyPath, st.PolicyProblems)
	}
	if out := h.ok("status"); !strings.Contains(out, "line 6: wallpaper") {
		t.Errorf("status does not show the policy problem:\n%s", out)
	}

	// The administrator lifts the lock: the agent reads the file again.
	writePolicy("")
	h.eventually("the agent reads the changed policy", func() bool {
		_, _, code := h.run("", "settings", "--history-days", "10")
		return code == 0
	})

	// notify test: the admin only (no mailbox yet).
	if out := h.ok("notify", "test"); !strings.Contains(out, "it@contoso.com: sent") {
		t.Fatalf("notify test:\n%s", out)
	}
	m := relay.Wait(t, 1, 10*time.Second)
	if m[0].Subject() != emailnotice.SubjectTest || m[0].Auth != "inboxsync" || !m[0].TLS {
		t.Fatalf("test notice: %q auth %q tls %v", m[0].Subject(), m[0].Auth, m[0].TLS)
	}

	// A mailbox whose password the administrator changes, while the relay
	// is down: six rejections, one incident, its notices wait.
	script := h.writeScript(`{"inbox": 2, "password": "` + password + `"}`)
	if out, errOut, code := h.run(password+"\n", "account", "add", "scripted", "--account", "bob", "--login", "bob", "--mailbox", script, "--password-stdin"); code != 0 {
		t.Fatalf("account add: %s%s", out, errOut)
	}
	h.eventually("the first sync ends", func() bool {
		a, ok := h.accountStatus("bob")
		return ok && a.LastSync != nil && a.LastSync.Outcome == "ok"
	})
	relay.Stop()
	h.writeScript(`{"inbox": 2, "password": "changed-by-the-admin"}`)
	h.eventually("the account needs re-activation", func() bool {
		a, _ := h.accountStatus("bob")
		return a.State == api.NeedsReactivation
	})
	h.eventually("the failed send shows on the Issues list", func() bool {
		return strings.Contains(h.ok("issues"), "could not be sent")
	})
	h.stopAgent()
	relay.Restart(t)
	h.startAgent()
	mails := relay.Wait(t, 3, 20*time.Second)
	time.Sleep(1500 * time.Millisecond) // more retries and checks: nothing more may come
	if got := len(relay.Mails()); got != 3 {
		t.Fatalf("%d mails, want the test and two stop notices", got)
	}
	to := map[string]string{}
	for _, m := range mails[1:] {
		if m.Subject() != emailnotice.SubjectStopped || len(m.To) != 1 {
			t.Fatalf("stop notice: %q to %v", m.Subject(), m.To)
		}
		to[m.To[0]] = m.Body
	}
	for _, addr := range []string{"bob@scripted.test", "it@contoso.com"} {
		body, ok := to[addr]
		if !ok {
			t.Fatalf("no stop notice to %s: %v", addr, to)
		}
		for _, want := range []string{`account "bob"`, "rejected the last 6 sync attempts", "Last successful sync: ", "Re-activate"} {
			if !strings.Contains(body, want) {
				t.Errorf("notice to %s lacks %q:\n%s", addr, want, body)
			}
		}
	}

	// Re-activated with the new password: it syncs, the incident ends,
	// and notify_resumed sends "Sync resumed".
	if out, errOut, code := h.run("changed-by-the-admin\n", "account", "add", "scripted", "--account", "bob", "--login", "bob", "--mailbox", script, "--password-stdin"); code != 0 {
		t.Fatalf("re-activation: %s%s", out, errOut)
	}
	mails = relay.Wait(t, 5, 20*time.Second)
	for _, m := range mails[3:] {
		if m.Subject() != emailnotice.SubjectResumed {
			t.Errorf("after re-activation: %q", m.Subject())
		}
	}

	// The relay's password is only in the keyring.
	for _, f := range []string{"inboxsync.db", "inboxsync.db-wal", "logs/inboxsync.log", "policy.toml"} {
		b, _ := os.ReadFile(filepath.Join(h.dir, f))
		if strings.Contains(string(b), relayPassword) {
			t.Errorf("the relay password is in %s", f)
		}
	}
}
