package emailnotice

import (
	"context"
	"crypto/tls"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/emailnotice/smtptest"
	"github.com/inboxsync/inboxsync/sync/store"
)

// fakeControl reports the account states a test sets, as the engine's
// Status would.
type fakeControl struct {
	mu sync.Mutex
	st api.Status
}

func (f *fakeControl) Status(context.Context) (api.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st, nil
}

func (f *fakeControl) Subscribe(ctx context.Context) (<-chan api.Event, error) {
	ch := make(chan api.Event)
	go func() { <-ctx.Done(); close(ch) }()
	return ch, nil
}

func (f *fakeControl) set(a api.AccountStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Accounts = []api.AccountStatus{a}
}

type rig struct {
	t     *testing.T
	st    *store.Store
	ctl   *fakeControl
	relay *smtptest.Server
	svc   *Service
	now   time.Time
	cfg   Config
}

const (
	relayUser = "inboxsync"
	relayPass = "relay-secret-Zq9"
	userAddr  = "jdoe@contoso.com"
	adminAddr = "it@contoso.com"
)

func newRig(t *testing.T, opts smtptest.Options) *rig {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := st.AddAccount(ctx, api.Account{ID: "work", Provider: "office365", Email: userAddr}); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, st: st, ctl: &fakeControl{}, now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	r.relay = smtptest.Start(t, opts)
	tlsMode := "starttls"
	switch {
	case opts.Implicit:
		tlsMode = "implicit"
	case opts.Plain:
		tlsMode = "none"
	}
	r.cfg = Config{Notify: []string{"user", "admin"}, AdminEmail: adminAddr,
		SMTP: SMTPConfig{Host: r.relay.Host, Port: r.relay.Port, TLS: tlsMode, Username: opts.Username, From: "inboxsync@contoso.com"}}
	sender := SMTP{Config: func() SMTPConfig { return r.cfg.SMTP }, Password: func() (string, error) { return relayPass, nil },
		TLSConfig: &tls.Config{RootCAs: r.relay.Pool}, Timeout: 5 * time.Second}
	r.svc = &Service{Store: st, Control: r.ctl, Sender: sender, Config: func() Config { return r.cfg },
		Now: func() time.Time { return r.now }, Host: "laptop-42"}
	r.ctl.set(api.AccountStatus{Account: "work", Provider: "office365", Email: userAddr, State: api.Idle})
	return r
}

// session records a finished session of the account.
func (r *rig) session(outcome string) {
	r.t.Helper()
	ctx := context.Background()
	s, err := r.st.BeginSession(ctx, "work", "schedule", r.now)
	if err != nil {
		r.t.Fatal(err)
	}
	s.End, s.Outcome = r.now.Add(time.Second), outcome
	if err := r.st.EndSession(ctx, s); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) state(s api.State, reason string) {
	r.ctl.set(api.AccountStatus{Account: "work", Provider: "office365", Email: userAddr, State: s, Reason: reason, Since: r.now})
	r.svc.Check(context.Background())
}

func TestOneNoticePerIncidentAcrossRejectionsAndARevokedGrant(t *testing.T) {
	r := newRig(t, smtptest.Options{Username: relayUser, Password: relayPass})
	r.session("ok")
	lastOK := r.now
	r.now = r.now.Add(time.Hour)
	// 20 rejected attempts: 6 lead to needs-reactivation; the user then
	// re-activates with wrong passwords, and a grant is revoked, all
	// without one successful sync in between.
	for i := range 20 {
		r.session("rejected")
		if i >= 5 {
			r.state(api.NeedsReactivation, "The mailbox rejected the last 6 sync attempts: sign in again.")
		} else {
			r.state(api.Idle, "")
		}
		r.now = r.now.Add(time.Minute)
	}
	r.state(api.Idle, "") // re-activated …
	r.session("grant-gone")
	r.state(api.NeedsReactivation, "Microsoft 365 no longer accepts Inbox Sync's sign-in: sign in again.")
	mails := r.relay.Wait(t, 2, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	if got := len(r.relay.Mails()); got != 2 {
		t.Fatalf("%d mails for one incident, want 2 (user and admin)", got)
	}
	got := map[string]smtptest.Mail{}
	for _, m := range mails {
		if len(m.To) != 1 {
			t.Fatalf("recipients %v", m.To)
		}
		got[m.To[0]] = m
		if m.Subject() != SubjectStopped {
			t.Errorf("subject %q", m.Subject())
		}
		if m.Auth != relayUser || !m.TLS {
			t.Errorf("sent without STARTTLS/AUTH: auth %q tls %v", m.Auth, m.TLS)
		}
		if m.From != "inboxsync@contoso.com" || !strings.Contains(m.Header.Get("From"), "inboxsync@contoso.com") {
			t.Errorf("from %q / %q", m.From, m.Header.Get("From"))
		}
		for _, want := range []string{userAddr, `account "work"`, "Office 365", "rejected the last 6 sync attempts",
			"Since: ", "Last successful sync: " + stamp(lastOK.Add(time.Second)), "Re-activate", "laptop-42"} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("mail to %s lacks %q:\n%s", m.To[0], want, m.Body)
			}
		}
		if strings.Contains(m.Body, relayPass) {
			t.Error("the relay password is in a mail")
		}
	}
	if _, ok := got[userAddr]; !ok {
		t.Errorf("no mail to the user: %v", got)
	}
	if m, ok := got[adminAddr]; !ok || !strings.Contains(m.Body, "as the administrator") {
		t.Errorf("no admin mail, or it lacks the admin's words: %+v", m)
	}

	// It syncs again: the incident ends. A new stop is a new incident.
	r.state(api.Idle, "")
	r.now = r.now.Add(time.Minute)
	r.session("ok")
	r.svc.Check(context.Background())
	if inc, open, _ := r.st.OpenIncidentOf(context.Background(), "work"); open {
		t.Fatalf("incident still open after a good sync: %+v", inc)
	}
	r.now = r.now.Add(time.Hour)
	r.state(api.Suspended, "10 syncs in a row failed: the server could not be reached.")
	mails = r.relay.Wait(t, 4, 5*time.Second)
	if !strings.Contains(mails[3].Body, "Force sync") {
		t.Errorf("a suspension's mail does not say to force a sync:\n%s", mails[3].Body)
	}
}

func TestResumedNoticeWhenAsked(t *testing.T) {
	r := newRig(t, smtptest.Options{Implicit: true})
	r.cfg.Notify, r.cfg.NotifyResumed = []string{"admin"}, true
	r.state(api.Suspended, "10 syncs in a row failed.")
	r.relay.Wait(t, 1, 5*time.Second)
	r.now = r.now.Add(2 * time.Hour)
	r.session("ok")
	r.state(api.Idle, "")
	mails := r.relay.Wait(t, 2, 5*time.Second)
	if s := mails[1].Subject(); s != SubjectResumed || mails[1].To[0] != adminAddr || !mails[1].TLS {
		t.Errorf("resumed mail: %q to %v (tls %v)", s, mails[1].To, mails[1].TLS)
	}
}

// The relay is down: the notice waits in the store, survives a restart of
// the service (a new Service on the same store), and goes once the relay
// is back, after the backoff.
func TestRetryAfterTheRelayWasDownSurvivesARestart(t *testing.T) {
	r := newRig(t, smtptest.Options{Username: relayUser, Password: relayPass})
	r.cfg.Notify = []string{"user"}
	r.relay.Stop()
	r.state(api.NeedsReactivation, "sign in again")
	ctx := context.Background()
	pending, err := r.st.Notices(ctx, "work", 0)
	if err != nil || len(pending) != 1 || pending[0].State != store.NoticePending || pending[0].Attempts != 1 {
		t.Fatalf("after a failed send: %+v %v", pending, err)
	}
	if !pending[0].NextAttempt.Equal(r.now.Add(time.Minute)) || !strings.Contains(pending[0].LastError, "refused the connection") {
		t.Errorf("next attempt %v (want +1m), error %q", pending[0].NextAttempt, pending[0].LastError)
	}
	issues, _ := r.st.Issues(ctx, "work", 0)
	if len(issues) != 1 || issues[0].Folder != "email notice" || !strings.Contains(issues[0].Message, "could not be sent") || !strings.Contains(issues[0].Message, "tries again at") {
		t.Errorf("issues: %+v", issues)
	}
	// Backoff: 1, 5, 30 minutes, then 2 hours.
	for i, wait := range []time.Duration{5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 2 * time.Hour} {
		r.now = r.now.Add(59 * time.Second)
		r.svc.Check(ctx)
		if n, _ := r.st.Notices(ctx, "work", 0); n[0].Attempts != i+1 {
			t.Fatalf("retried before its time: %+v", n[0])
		}
		r.now = pendingNext(t, r.st)
		r.svc.Check(ctx)
		n, _ := r.st.Notices(ctx, "work", 0)
		if n[0].Attempts != i+2 || !n[0].NextAttempt.Equal(r.now.Add(wait)) {
			t.Fatalf("attempt %d: %+v, want next in %v", i+2, n[0], wait)
		}
	}
	// "Restart": a new service on the same store, the relay back.
	r.relay.Restart(t)
	old := r.svc
	svc2 := &Service{Store: old.Store, Control: old.Control, Sender: old.Sender, Config: old.Config, Now: old.Now, Host: old.Host}
	r.now = pendingNext(t, r.st)
	svc2.Check(ctx)
	mails := r.relay.Wait(t, 1, 5*time.Second)
	if mails[0].To[0] != userAddr {
		t.Errorf("sent to %v", mails[0].To)
	}
	n, _ := r.st.Notices(ctx, "work", 0)
	if n[0].State != store.NoticeSent {
		t.Errorf("notice after delivery: %+v", n[0])
	}
	svc2.Check(ctx)
	if len(r.relay.Mails()) != 1 {
		t.Error("a delivered notice was sent again")
	}
}

func pendingNext(t *testing.T, st *store.Store) time.Time {
	t.Helper()
	next, ok, err := st.NextNoticeAttempt(context.Background())
	if err != nil || !ok {
		t.Fatalf("no pending notice: %v", err)
	}
	return next
}

// A notice not yet delivered when the account syncs again is dropped:
// nobody needs to act any more.
func TestIncidentEndingDropsUndeliveredNotices(t *testing.T) {
	r := newRig(t, smtptest.Options{})
	r.relay.Stop()
	r.state(api.NeedsReactivation, "sign in again")
	r.now = r.now.Add(time.Minute)
	r.session("ok")
	r.state(api.Idle, "")
	n, _ := r.st.Notices(context.Background(), "work", 0)
	if len(n) != 2 {
		t.Fatalf("notices %+v", n)
	}
	for _, x := range n {
		if x.State != store.NoticeDropped {
			t.Errorf("notice %d is %s, want dropped", x.ID, x.State)
		}
	}
}

func TestSendErrorsInWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts smtptest.Options
		edit func(r *rig, s *SMTP)
		want string
	}{
		{"wrong password", smtptest.Options{Username: relayUser, Password: relayPass},
			func(r *rig, s *SMTP) { s.Password = func() (string, error) { return "wrong", nil } }, "refused the user name or password"},
		{"untrusted certificate", smtptest.Options{},
			func(r *rig, s *SMTP) { s.TLSConfig = &tls.Config{} }, "certificate is not trusted"},
		{"refused recipient", smtptest.Options{},
			func(r *rig, s *SMTP) { r.relay.Refuse(userAddr) }, "refused the recipient " + userAddr},
		{"relay down", smtptest.Options{},
			func(r *rig, s *SMTP) { r.relay.Stop() }, "refused the connection"},
		{"unknown host", smtptest.Options{},
			func(r *rig, s *SMTP) { r.cfg.SMTP.Host = "relay.invalid" }, "was not found (DNS)"},
		{"no password stored", smtptest.Options{Username: relayUser, Password: relayPass},
			func(r *rig, s *SMTP) {
				s.Password = func() (string, error) { return "", errors.New("not in the keyring") }
			}, "inboxsync notify password --stdin"},
		{"no starttls offered", smtptest.Options{Plain: true},
			func(r *rig, s *SMTP) { r.cfg.SMTP.TLS = "starttls" }, "does not offer a secure connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.opts)
			s := r.svc.Sender.(SMTP)
			tc.edit(r, &s)
			err := s.Send(context.Background(), Message{To: userAddr, Subject: "x", Body: "y"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), relayPass) {
				t.Error("the password is in the error")
			}
		})
	}
}

func TestTestNoticeReportsEachAddress(t *testing.T) {
	r := newRig(t, smtptest.Options{Username: relayUser, Password: relayPass})
	r.relay.Refuse(adminAddr)
	got, err := r.svc.Test(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].To != adminAddr || !strings.Contains(got[0].Error, "refused the recipient") || got[1].To != userAddr || got[1].Error != "" {
		t.Fatalf("deliveries %+v", got)
	}
	if m := r.relay.Wait(t, 1, 5*time.Second); m[0].Subject() != SubjectTest {
		t.Errorf("subject %q", m[0].Subject())
	}
	r.cfg.SMTP.Host = ""
	if _, err := r.svc.Test(context.Background()); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "[smtp]") {
		t.Errorf("without a relay: %v", err)
	}
}

// A relay that offers only AUTH LOGIN (older Exchange relays) is logged in
// to with LOGIN; one offering both gets PLAIN.
func TestAuthMechanisms(t *testing.T) {
	for _, tc := range []struct {
		offered []string
		want    string
	}{{[]string{"LOGIN"}, "LOGIN"}, {nil, "PLAIN"}} {
		r := newRig(t, smtptest.Options{Username: relayUser, Password: relayPass, Mechanisms: tc.offered})
		if err := r.svc.Sender.Send(context.Background(), Message{To: userAddr, Subject: "s", Body: "b"}); err != nil {
			t.Fatalf("offered %v: %v", tc.offered, err)
		}
		if m := r.relay.Wait(t, 1, 5*time.Second)[0]; m.Mech != tc.want || m.Auth != relayUser {
			t.Errorf("offered %v: logged in with %q as %q, want %s", tc.offered, m.Mech, m.Auth, tc.want)
		}
	}
}

// The Salesforce connection stopping is an incident too: one email per
// recipient however often it is seen, "resumed" after a good run, and a
// new incident only after that.
func TestCRMStopIsAnIncident(t *testing.T) {
	r := newRig(t, smtptest.Options{Username: relayUser, Password: relayPass})
	r.cfg.NotifyResumed = true
	setCRM := func(c *api.CRMStatus) {
		r.ctl.mu.Lock()
		r.ctl.st.CRM = c
		r.ctl.mu.Unlock()
		r.svc.Check(context.Background())
	}
	gone := &api.CRMStatus{State: api.ConnNeedsReactivation, Instance: "https://contoso.my.salesforce.com", Reason: "Salesforce no longer accepts Inbox Sync's sign-in: sign in again."}
	for range 5 {
		setCRM(gone)
		r.now = r.now.Add(time.Minute)
	}
	mails := r.relay.Wait(t, 2, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	if len(r.relay.Mails()) != 2 {
		t.Fatalf("%d mails for one CRM incident", len(r.relay.Mails()))
	}
	for _, m := range mails {
		for _, want := range []string{"stopped logging mail and meetings to Salesforce", "contoso.my.salesforce.com", "no longer accepts", "Sign in to Salesforce again", "inboxsync crm connect salesforce"} {
			if !strings.Contains(m.Body, want) {
				t.Errorf("CRM notice to %v lacks %q:\n%s", m.To, want, m.Body)
			}
		}
	}
	// Signed in again, but no run yet: still the same incident.
	setCRM(&api.CRMStatus{State: api.ConnConnected})
	if _, open, _ := r.st.OpenIncidentOf(context.Background(), store.CRMIncidentAccount); !open {
		t.Fatal("the incident closed before a successful run")
	}
	r.now = r.now.Add(time.Minute)
	setCRM(&api.CRMStatus{State: api.ConnConnected, LastRun: r.now})
	mails = r.relay.Wait(t, 4, 5*time.Second)
	if mails[2].Subject() != SubjectResumed || !strings.Contains(mails[2].Body, "Salesforce again") {
		t.Errorf("resumed: %q\n%s", mails[2].Subject(), mails[2].Body)
	}
	r.now = r.now.Add(time.Hour)
	setCRM(&api.CRMStatus{State: api.ConnFailed, Reason: "10 runs in a row failed"})
	if m := r.relay.Wait(t, 6, 5*time.Second); !strings.Contains(m[5].Body, "crm sync --wait") {
		t.Errorf("a failed CRM's notice:\n%s", m[5].Body)
	}
}
