package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider/ews/ewstest"
)

// TestExchangeEndToEnd drives the real binary against the EWS emulator:
// the agent trusts the emulator's CA through SSL_CERT_FILE only.
func TestExchangeEndToEnd(t *testing.T) {
	needKeyring(t)
	srv, err := ewstest.New(ewstest.Config{PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	at := time.Now().Add(-time.Hour)
	srv.Add(api.Inbox, 7, at)
	srv.Add(api.Inbox, 2, time.Now().AddDate(0, 0, -90)) // outside the history window
	srv.Add(api.Sent, 2, at)
	srv.Add(api.Calendar, 1, time.Now().Add(24*time.Hour))
	srv.Add(api.Calendar, 1, time.Now().AddDate(0, 0, 90)) // outside the calendar window
	pw := srv.Password()

	h := newHome(t, "INBOXSYNC_TEST_MIN_SYNC_GAP=0s", "INBOXSYNC_TEST_WALL_CHECK=100ms")
	ca := filepath.Join(h.dir, "emulator-ca.pem")
	if err := os.WriteFile(ca, srv.CA.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	h.env = append(h.env, "SSL_CERT_FILE="+ca)
	h.startAgent()

	add := func(password string, extra ...string) (string, string, int) {
		args := append([]string{"account", "add", "exchange", "--account", "work", "--login", srv.Login(), "--email", "ann@contoso.test", "--password-stdin"}, extra...)
		return h.run(password+"\n", args...)
	}
	if _, errOut, code := add(pw, "--ews-url", "http://127.0.0.1/EWS/Exchange.asmx"); code != 1 || !strings.Contains(errOut, "must start with https://") {
		t.Fatalf("http EWS URL: exit %d, %q", code, errOut)
	}
	if _, errOut, code := add("wrong-password", "--ews-url", srv.EWSURL); code != 1 || !strings.Contains(errOut, "refused the password") {
		t.Fatalf("wrong password: exit %d, %q", code, errOut)
	}
	out, errOut, code := add(pw, "--ews-url", srv.EWSURL)
	if code != 0 || !strings.Contains(out, "Connected work (ann@contoso.test)") {
		t.Fatalf("account add: exit %d\n%s%s", code, out, errOut)
	}
	if got, err := keyring.Get("inboxsync", "work/password"); err != nil || got != pw {
		t.Fatalf("keyring after add: %v", err)
	}
	h.eventually("the first sync ends", func() bool {
		s := h.status()
		return len(s.Accounts) == 1 && s.Accounts[0].LastSync != nil && s.Accounts[0].LastSync.Outcome == "ok"
	})
	items := h.items()
	counts := map[api.Folder]int{}
	for _, it := range items {
		counts[it.Folder]++
	}
	if len(items) != 10 || counts[api.Inbox] != 7 || counts[api.Sent] != 2 || counts[api.Calendar] != 1 {
		t.Fatalf("activity lists %d items (%v), want 7 inbox, 2 sent, 1 event", len(items), counts)
	}
	for _, it := range items {
		if it.Folder == api.Calendar && (it.Location == "" || it.Organizer == "" || len(it.Attendees) != 2) {
			t.Errorf("event: %+v", it)
		}
		if it.Folder == api.Inbox && (it.From == "" || it.MessageID == "" || it.Preview == "") {
			t.Errorf("mail: %+v", it)
		}
	}
	// The password is in the keyring and nowhere else.
	for _, f := range []string{"inboxsync.db", "inboxsync.db-wal"} {
		if b, err := os.ReadFile(filepath.Join(h.dir, f)); err == nil && strings.Contains(string(b), pw) {
			t.Fatalf("%s holds the password", f)
		}
	}

	// The administrator changes the password: six rejected attempts, then
	// no seventh login.
	h.ok("settings", "--interval", "1s")
	srv.SetPassword("changed-by-the-admin")
	before := srv.Stats()
	h.eventually("the account needs re-activation", func() bool {
		return h.status().Accounts[0].State == api.NeedsReactivation
	})
	s := h.status().Accounts[0]
	if s.Rejections != 6 || !strings.Contains(s.Reason, "rejected the last 6 sync attempts") {
		t.Fatalf("status: %+v", s)
	}
	atChange := srv.Stats()
	time.Sleep(2500 * time.Millisecond) // more than two intervals
	after := srv.Stats()
	if failed := after.FailedLogins - before.FailedLogins; failed != 6 || atChange.Logins != after.Logins || after.Logins-before.Logins != 6 {
		t.Fatalf("%d failed logins (%d logins at the state change, %d after), want exactly 6 and no 7th", failed, atChange.Logins-before.Logins, after.Logins-before.Logins)
	}

	// Re-activation with the new password restarts sync at once.
	out, errOut, code = h.run("changed-by-the-admin\n", "account", "add", "exchange", "--account", "work", "--login", srv.Login(), "--ews-url", srv.EWSURL, "--password-stdin")
	if code != 0 {
		t.Fatalf("re-activation: exit %d\n%s%s", code, out, errOut)
	}
	h.eventually("sync is back", func() bool {
		s := h.status().Accounts[0]
		return s.State != api.NeedsReactivation && s.Rejections == 0 && s.LastSync != nil && s.LastSync.Outcome == "ok"
	})
	h.stopAgent()
	logs := h.log.String()
	if b, err := os.ReadDir(filepath.Join(h.dir, "logs")); err == nil {
		for _, e := range b {
			data, _ := os.ReadFile(filepath.Join(h.dir, "logs", e.Name()))
			logs += string(data)
		}
	}
	if strings.Contains(logs, pw) || strings.Contains(logs, "changed-by-the-admin") {
		t.Fatal("the agent log holds a password")
	}
}
