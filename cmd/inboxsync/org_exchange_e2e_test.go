package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider/ews/ewstest"
)

// TestOrgExchangeEndToEnd: Exchange on-premises mailboxes by impersonation
// from the real binary. A world-readable password file is refused; two
// mailboxes, one the service account may not impersonate; one `org serve`
// syncs the other and disables that one with the reason in words; the
// password is in no output, log or table.
func TestOrgExchangeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	const login, password = `CONTOSO\svc-sync`, "Exch-Svc-Pa55-e2e"
	srv, err := ewstest.New(ewstest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddServiceAccount(login, password)
	at := time.Now().Add(-time.Hour)
	alice := srv.AddMailbox("alice@contoso.test")
	alice.Add(api.Inbox, 4, at)
	alice.Add(api.Sent, 2, at)
	alice.Add(api.Calendar, 1, time.Now().Add(24*time.Hour))
	srv.AddMailbox("bob@contoso.test").Add(api.Inbox, 3, at)
	srv.GrantImpersonation(login, "alice@contoso.test")

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, srv.CA.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	o := &orgEnv{t: t, db: pgtest.New(t), dir: dir, env: append(os.Environ(), "SSL_CERT_FILE="+caFile, "INBOXSYNC_DATABASE=")}
	var outputs strings.Builder
	ok := func(args ...string) string {
		t.Helper()
		out := o.ok(args...)
		outputs.WriteString(out)
		return out
	}
	ok("init")

	pwFile := filepath.Join(dir, "exchange-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := o.run("credentials", "exchange", "--login", login, "--password-file", pwFile, "--ews-url", srv.EWSURL)
	outputs.WriteString(out + errOut)
	if code != 1 || !strings.Contains(errOut, "can be read by other users") || !strings.Contains(errOut, "chmod 600") {
		t.Fatalf("a world-readable password file: exit %d %q", code, errOut)
	}
	os.Chmod(pwFile, 0o600)
	out, errOut, code = o.run("credentials", "exchange", "--login", login, "--password-file", pwFile, "--ews-url", srv.EWSURL,
		"--check-user", "bob@contoso.test")
	outputs.WriteString(out + errOut)
	if code != 1 || !strings.Contains(errOut, "ErrorImpersonateUserDenied") {
		t.Fatalf("check of a mailbox outside the scope: exit %d %q", code, errOut)
	}
	if out := ok("credentials", "exchange", "--login", login, "--password-file", pwFile, "--ews-url", srv.EWSURL,
		"--check-user", "alice@contoso.test"); !strings.Contains(out, "Checked the password and the right to impersonate alice@contoso.test") {
		t.Fatalf("credentials exchange: %q", out)
	}
	if out := ok("credentials", "show"); !strings.Contains(out, login) || !strings.Contains(out, pwFile) {
		t.Fatalf("credentials show: %q", out)
	}
	if out := ok("mailboxes", "add", "alice@contoso.test", "bob@contoso.test", "--provider", "exchange", "--now"); !strings.Contains(out, "Added 2 mailboxes") {
		t.Fatalf("mailboxes add: %q", out)
	}

	w := o.startWorker("w1")
	deadline := time.Now().Add(60 * time.Second)
	var s orgStatus
	for {
		s = o.status()
		done := 0
		for _, m := range s.Mailboxes {
			if (m.Address == "alice@contoso.test" && m.LastSync != nil && m.Items == 7) || (m.Address == "bob@contoso.test" && m.State == "error") {
				done++
			}
		}
		if done == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after 60 s: %+v", s)
		}
		time.Sleep(300 * time.Millisecond)
	}
	w.stop(t, syscall.SIGTERM)
	statusJSON := ok("status", "--json")
	for _, m := range s.Mailboxes {
		switch m.Address {
		case "alice@contoso.test":
			if m.State != "enabled" || m.Provider != "exchange" || m.Reason != "" {
				t.Errorf("alice: %+v", m)
			}
		case "bob@contoso.test":
			if !strings.Contains(m.Reason, "ErrorImpersonateUserDenied") || !strings.Contains(m.Reason, "management scope") ||
				!strings.Contains(m.Reason, `CONTOSO\svc-sync`) || m.Items != 0 {
				t.Errorf("bob: %+v", m)
			}
		}
	}
	if len(s.Incidents) != 0 {
		t.Errorf("incidents: %+v", s.Incidents)
	}
	if st := srv.Stats(); st.AnchorMismatches != 0 || st.Impersonated["alice@contoso.test"] == 0 {
		t.Errorf("emulator: %+v", st)
	}

	// The password is nowhere: not in outputs, the worker's log, or the
	// database dump.
	logb, _ := os.ReadFile(filepath.Join(dir, "w1.log"))
	if !strings.Contains(string(logb), "session ended") {
		t.Fatalf("the worker's log has no session: %s", logb)
	}
	dump, err := exec.Command("pg_dump", "--data-only", o.db).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !strings.Contains(string(dump), "alice@contoso.test") || !strings.Contains(string(dump), pwFile) {
		t.Fatal("the dump lacks the mailboxes or the settings: it proves nothing")
	}
	for what, text := range map[string]string{"outputs": outputs.String() + statusJSON, "log": string(logb), "database": string(dump)} {
		if strings.Contains(text, password) {
			t.Errorf("the service account's password is in the %s", what)
		}
	}
}
