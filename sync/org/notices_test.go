package org_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/emailnotice"
	"github.com/inboxsync/inboxsync/sync/org"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// outbox is a fake relay: it keeps what it is given, slowly, so that two
// workers sending at once would both be seen.
type outbox struct {
	mu   sync.Mutex
	sent []emailnotice.Message
}

func (o *outbox) Send(ctx context.Context, m emailnotice.Message) error {
	time.Sleep(20 * time.Millisecond)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

func (o *outbox) all() []emailnotice.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.sent)
}

const adminAddr = "it@example.com"

// startNoticeWorker is startWorker with email notices checked every
// 300 ms, sent to box.
func startNoticeWorker(t *testing.T, pool *pgxpool.Pool, st *pgstore.Store, f *fleet, id string, box *outbox, cfg emailnotice.Config) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc := &emailnotice.Service{Store: st, Control: org.NoticeStatus{Store: st}, Sender: box, Organisation: true,
		Config: func() emailnotice.Config { return cfg }, Host: id, Log: log}
	w, err := org.NewWorker(org.Config{Pool: pool, Store: st, Opener: f, Interval: time.Second,
		FanOut: time.Second, Concurrency: 4, RescueAfter: 20 * time.Second, ID: id, Log: log,
		Notices: svc, NoticeCheck: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, 10*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker %s: %v", id, err)
		}
	})
}

// sentTo lists the messages' recipients and subjects, sorted.
func sentTo(ms []emailnotice.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.To+" "+m.Subject)
	}
	slices.Sort(out)
	return out
}

// TestNoticesOncePerIncidentWithTwoWorkers: with two workers, a mailbox
// disabled by rejections gets one email to its user and one to the
// admin; once enabled and synced, one "Sync resumed" each; an
// organisation-wide refusal of 20 mailboxes is one email, to the admin.
func TestNoticesOncePerIncidentWithTwoWorkers(t *testing.T) {
	pool, st, f := newOrg(t, 20)
	bad := "user003@example.com"
	f.refusing[bad] = true
	box := &outbox{}
	cfg := emailnotice.Config{Notify: []string{"user", "admin"}, AdminEmail: adminAddr, NotifyResumed: true,
		SMTP: emailnotice.SMTPConfig{Host: "relay.example.com"}}
	startNoticeWorker(t, pool, st, f, "w1", box, cfg)
	startNoticeWorker(t, pool, st, f, "w2", box, cfg)
	ctx := context.Background()

	waitFor(t, "the stop emails of "+bad, func() (bool, string) { return len(box.all()) >= 2, fmt.Sprint(sentTo(box.all())) })
	time.Sleep(2 * time.Second) // several more checks by both workers
	got := box.all()
	want := []string{adminAddr + " " + emailnotice.SubjectStopped, bad + " " + emailnotice.SubjectStopped}
	if !slices.Equal(sentTo(got), want) {
		t.Fatalf("emails after %s was disabled: %q; want %q", bad, sentTo(got), want)
	}
	for _, m := range got {
		admin := m.To == adminAddr
		if !strings.Contains(m.Body, bad) || !strings.Contains(m.Body, "refused the organisation's credentials 6 times") {
			t.Errorf("the email to %s does not name the mailbox and the reason:\n%s", m.To, m.Body)
		}
		if has := strings.Contains(m.Body, "inboxsync org mailboxes enable "+bad); has != admin {
			t.Errorf("the email to %s: the admin's steps present = %v; want %v:\n%s", m.To, has, admin, m.Body)
		}
		if strings.Contains(m.Body, "system tray") {
			t.Errorf("the email to %s speaks of the desktop's tray:\n%s", m.To, m.Body)
		}
	}
	if mb, _ := st.Mailbox(ctx, bad); mb.State != pgstore.StateError {
		t.Fatalf("%s: %+v", bad, mb)
	}

	f.mu.Lock()
	f.refusing[bad] = false
	f.mu.Unlock()
	if _, err := st.SetEnabled(ctx, []string{bad}, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the resumed emails", func() (bool, string) { return len(box.all()) >= 4, fmt.Sprint(sentTo(box.all())) })
	if open, err := st.OpenIncidentAccounts(ctx); err != nil || len(open) != 0 {
		t.Fatalf("open incidents after the mailbox synced again: %v, %v", open, err)
	}

	// The organisation's credentials refused: 20 mailboxes, one email.
	f.mu.Lock()
	f.orgWide = provider.GrantGone("The app's admin consent was withdrawn.", errOrgWide)
	f.mu.Unlock()
	waitFor(t, "the organisation's stop email", func() (bool, string) { return len(box.all()) >= 5, fmt.Sprint(sentTo(box.all())) })
	time.Sleep(3 * time.Second) // every mailbox refused again, several checks
	got = box.all()[4:]
	if len(got) != 1 || got[0].To != adminAddr || got[0].Subject != emailnotice.SubjectStopped {
		t.Fatalf("emails after the organisation's credentials were refused: %q; want one to the admin", sentTo(got))
	}
	if !strings.Contains(got[0].Body, "every Office 365 mailbox") || !strings.Contains(got[0].Body, "consent was withdrawn") ||
		!strings.Contains(got[0].Body, "Entra admin center") {
		t.Errorf("the organisation's email does not say what and how:\n%s", got[0].Body)
	}
	mbs, _ := st.Mailboxes(ctx, pgstore.Filter{State: pgstore.StateError})
	if len(mbs) != 0 {
		t.Fatalf("mailboxes disabled by an organisation-wide refusal: %v", mbs)
	}

	f.mu.Lock()
	f.orgWide = nil
	f.mu.Unlock()
	waitFor(t, "the organisation's resumed email", func() (bool, string) { return len(box.all()) >= 6, fmt.Sprint(sentTo(box.all())) })
	time.Sleep(time.Second)
	got = box.all()[5:]
	if len(got) != 1 || got[0].To != adminAddr || got[0].Subject != emailnotice.SubjectResumed {
		t.Fatalf("emails after the credentials work again: %q; want one \"Sync resumed\" to the admin", sentTo(got))
	}
	all, err := st.Notices(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range all {
		if n.State != api.NoticeSent || n.Attempts != 1 {
			t.Errorf("notice to %s (%s): state %s after %d attempts; want sent at the first", n.Recipient, n.Kind, n.State, n.Attempts)
		}
	}
}

// A mailbox disabled by 10 failures is "suspended"; the incident opens at
// its last try, and a user-only policy sends nothing to the admin.
func TestNoticeStatusOfFailedMailbox(t *testing.T) {
	_, st, _ := newOrg(t, 2)
	ctx := context.Background()
	last := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	if err := st.SaveStanding(ctx, "user001@example.com", pgstore.Standing{Failures: api.MaxFailures, Error: true,
		Reason: "The mail server failed 10 times in a row.", LastTry: last, NextSync: last}); err != nil {
		t.Fatal(err)
	}
	s, err := org.NoticeStatus{Store: st}.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range s.Accounts {
		names = append(names, a.Account)
	}
	want := []string{"@org:office365", "@org:gmail", "@org:exchange", "user001@example.com"}
	if !slices.Equal(names, want) {
		t.Fatalf("accounts = %v; want %v (mailboxes without an error or incident left out)", names, want)
	}
	if a := s.Accounts[3]; a.State != api.Suspended || !a.Since.Equal(last) || a.Email != "user001@example.com" {
		t.Fatalf("failed mailbox = %+v", a)
	}
	box := &outbox{}
	svc := &emailnotice.Service{Store: st, Control: org.NoticeStatus{Store: st}, Sender: box, Organisation: true,
		Config: func() emailnotice.Config {
			return emailnotice.Config{Notify: []string{"user"}, AdminEmail: adminAddr, SMTP: emailnotice.SMTPConfig{Host: "relay"}}
		}}
	svc.Check(ctx)
	svc.Check(ctx)
	if got := sentTo(box.all()); !slices.Equal(got, []string{"user001@example.com " + emailnotice.SubjectStopped}) {
		t.Fatalf("sent %q; want one email to the user", got)
	}
	inc, ok, err := st.OpenIncidentOf(ctx, "user001@example.com")
	if err != nil || !ok || inc.State != "suspended" || !inc.OpenedAt.Equal(last) {
		t.Fatalf("incident = %+v, %v, %v", inc, ok, err)
	}
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "smtp-password")
	if _, err := org.PasswordFile(p); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := org.PasswordFile(""); err == nil || !strings.Contains(err.Error(), "smtp.password_file") {
		t.Fatalf("no file named: %v", err)
	}
	if err := os.WriteFile(p, []byte("s3cret-Pw\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := org.PasswordFile(p)
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+p) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("a file others can read: %v; want refused with the fix, without the password", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if pw, err := org.PasswordFile(p); err != nil || pw != "s3cret-Pw" {
		t.Fatalf("PasswordFile = %q, %v", pw, err)
	}
}

func TestNoticeConfigFromThePolicyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.toml")
	doc := `admin_email = "it@example.com"
notify = ["admin"]
notify_resumed = true
[smtp]
host = "relay.example.com"
port = 2525
username = "inboxsync"
password_file = "/etc/inboxsync/smtp-password"
bogus = 1
`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, warn := org.NoticeConfig(p)
	if !cfg.Enabled() || cfg.AdminEmail != "it@example.com" || !slices.Equal(cfg.Notify, []string{"admin"}) || !cfg.NotifyResumed ||
		cfg.SMTP.Host != "relay.example.com" || cfg.SMTP.Port != 2525 || cfg.SMTP.Username != "inboxsync" ||
		cfg.SMTP.PasswordFile != "/etc/inboxsync/smtp-password" {
		t.Fatalf("config = %+v", cfg)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "smtp.bogus") {
		t.Fatalf("warnings = %q; want one about smtp.bogus", warn)
	}
	if cfg, warn := org.NoticeConfig(filepath.Join(t.TempDir(), "none.toml")); cfg.Enabled() || len(warn) != 0 {
		t.Fatalf("no policy file: %+v %q; want notices off, no warning", cfg, warn)
	}
}
