package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
	"github.com/inboxsync/inboxsync/sync/store"
)

// mailboxConnector is the scripted connector with the resolved mailbox
// replaced: the sign-in lands in another mailbox than the one typed.
type mailboxConnector struct {
	*scripted.Connector
	mu    sync.Mutex
	email string // "" keeps the scripted connector's
	calls int
}

func (c *mailboxConnector) Connect(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (provider.Connection, error) {
	conn, err := c.Connector.Connect(ctx, req, progress)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if err == nil && c.email != "" {
		conn.Account.Email = c.email
	}
	return conn, err
}

func (c *mailboxConnector) set(email string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.email = email
}

func (c *mailboxConnector) connects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// mailboxEnv is a running engine whose scripted connector resolves the
// mailbox the test says.
type mailboxEnv struct {
	t      *testing.T
	clock  *fakeClock
	st     *store.Store
	sec    *secrettest.Memory
	conn   *mailboxConnector
	e      *engine.Engine
	events <-chan api.Event
}

func newMailboxEnv(t *testing.T, cfg engine.Config) *mailboxEnv {
	t.Helper()
	mb := scripted.New()
	mb.SetPassword("pw")
	mb.Add(api.Inbox, 3, t0.Add(-48*time.Hour))
	sc := scripted.NewConnector()
	sc.Register("mb", mb)
	st, err := store.Open(filepath.Join(t.TempDir(), "inboxsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	v := &mailboxEnv{t: t, clock: newFakeClock(t0), st: st, sec: secrettest.NewMemory(), conn: &mailboxConnector{Connector: sc}}
	cfg.Store, cfg.Secrets, cfg.Clock = st, v.sec, v.clock
	cfg.Connectors = map[string]provider.Connector{"scripted": v.conn}
	v.e, err = engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	v.events, _ = v.e.Subscribe(ctx)
	done := make(chan struct{})
	go func() {
		v.e.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	return v
}

// req is an activation of mailbox "mb" as login.
func (v *mailboxEnv) req(account, login string) api.ActivationRequest {
	return api.ActivationRequest{Provider: "scripted", Account: account, Login: login, Password: "pw",
		Settings: map[string]string{"mailbox": "mb"}}
}

// refused activates and wants a mailbox mismatch from want to got.
func (v *mailboxEnv) refused(req api.ActivationRequest, expected, got string, enforced bool) *api.MailboxMismatchError {
	v.t.Helper()
	_, err := v.e.Activate(context.Background(), req, nil)
	var mm *api.MailboxMismatchError
	if !errors.As(err, &mm) || !errors.Is(err, api.ErrMailboxMismatch) {
		v.t.Fatalf("activate %s: %v, want a mailbox mismatch", req.Login, err)
	}
	if mm.Expected != expected || mm.Got != got || mm.Enforced != enforced {
		v.t.Fatalf("mismatch %+v, want expected %s got %s enforced %v", *mm, expected, got, enforced)
	}
	msg := err.Error()
	if !strings.Contains(msg, expected) || !strings.Contains(msg, got) || !strings.Contains(msg, "different mailbox than the one you work in") {
		v.t.Fatalf("message %q does not name both mailboxes and the stake", msg)
	}
	return mm
}

// nothingStored checks that no account, secret, run state or session exists.
func (v *mailboxEnv) nothingStored() {
	v.t.Helper()
	ctx := context.Background()
	if accts, err := v.st.Accounts(ctx); err != nil || len(accts) != 0 {
		v.t.Fatalf("accounts after a refused activation: %+v, %v", accts, err)
	}
	if n := v.sec.Len(); n != 0 {
		v.t.Fatalf("%d secrets in the keyring after a refused activation", n)
	}
	if s, err := v.st.Sessions(ctx, api.SessionQuery{}); err != nil || len(s) != 0 {
		v.t.Fatalf("sessions after a refused activation: %+v, %v", s, err)
	}
	if st, err := v.e.Status(ctx); err != nil || len(st.Accounts) != 0 {
		v.t.Fatalf("status after a refused activation: %+v, %v", st, err)
	}
}

// firstSync waits for the first session to end ok.
func (v *mailboxEnv) firstSync() {
	v.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-v.events:
			if ev.Type == api.EventSessionEnded {
				if ev.Session.Outcome != "ok" {
					v.t.Fatalf("first sync: %+v", ev.Session)
				}
				return
			}
		case <-timeout:
			v.t.Fatal("no first sync within 10 s")
		}
	}
}

func TestMailboxMismatchStoresNothingAndUseAnywayReusesTheSignIn(t *testing.T) {
	v := newMailboxEnv(t, engine.Config{})
	v.conn.set("bob@contoso.com")
	req := v.req("", "ann@contoso.com")
	mm := v.refused(req, "ann@contoso.com", "bob@contoso.com", false)
	if mm.Account != "" {
		t.Errorf("a new account's mismatch names account %q", mm.Account)
	}
	v.nothingStored()

	// Accepting another address than the resolved one does not help.
	other := req
	other.AcceptMailbox = "carol@contoso.com"
	v.refused(other, "ann@contoso.com", "bob@contoso.com", false)
	v.nothingStored()
	connects := v.conn.connects()

	// "Use this mailbox anyway": the same request accepting the resolved
	// mailbox (in any case) goes on without signing in again.
	req.AcceptMailbox = "BOB@contoso.com"
	a, err := v.e.Activate(context.Background(), req, nil)
	if err != nil {
		t.Fatalf("accepted: %v", err)
	}
	if a.Email != "bob@contoso.com" || a.ID != "bob" {
		t.Fatalf("accepted account %+v", a)
	}
	if v.conn.connects() != connects {
		t.Errorf("use anyway signed in again (%d connects, want %d)", v.conn.connects(), connects)
	}
	if v.sec.Len() == 0 {
		t.Error("the accepted account's password is not in the keyring")
	}
	v.firstSync()
}

func TestMailboxAcceptConnectsAgainWhenTheRefusalIsOld(t *testing.T) {
	v := newMailboxEnv(t, engine.Config{})
	v.conn.set("bob@contoso.com")
	req := v.req("work", "ann@contoso.com")
	v.refused(req, "ann@contoso.com", "bob@contoso.com", false)
	v.clock.Advance(11 * time.Minute)
	req.AcceptMailbox = "bob@contoso.com"
	if _, err := v.e.Activate(context.Background(), req, nil); err != nil {
		t.Fatalf("accepted: %v", err)
	}
	if n := v.conn.connects(); n != 2 {
		t.Errorf("%d connects, want 2 (the kept sign-in expired)", n)
	}

	// Another request (another password) never reuses a kept sign-in.
	v2 := newMailboxEnv(t, engine.Config{})
	v2.conn.set("bob@contoso.com")
	req = v2.req("work", "ann@contoso.com")
	v2.refused(req, "ann@contoso.com", "bob@contoso.com", false)
	req.Password, req.AcceptMailbox = "wrong", "bob@contoso.com"
	if _, err := v2.e.Activate(context.Background(), req, nil); err == nil || errors.Is(err, api.ErrMailboxMismatch) {
		t.Fatalf("accepted with another password: %v, want the wrong password refused", err)
	}
	v2.nothingStored()
}

func TestMailboxMatchesCaseInsensitivelyAndSkipsDomainLogins(t *testing.T) {
	for _, tc := range []struct{ login, email, got string }{
		{"Ann@Contoso.COM", "", "ann@contoso.com"},
		{`CONTOSO\ann`, "", "bob@contoso.com"}, // not comparable: skipped
		{"ann", "", "bob@contoso.com"},         // not an address: skipped
		{`CONTOSO\ann`, "Bob@contoso.com", "bob@contoso.com"},
	} {
		v := newMailboxEnv(t, engine.Config{})
		v.conn.set(tc.got)
		req := v.req("work", tc.login)
		req.Email = tc.email
		a, err := v.e.Activate(context.Background(), req, nil)
		if err != nil || a.Email != tc.got {
			t.Errorf("login %q email %q → %s: %+v, %v", tc.login, tc.email, tc.got, a, err)
		}
	}
	// A typed email is what is compared, before the login.
	v := newMailboxEnv(t, engine.Config{})
	v.conn.set("bob@contoso.com")
	req := v.req("work", `CONTOSO\ann`)
	req.Email = "ann@contoso.com"
	v.refused(req, "ann@contoso.com", "bob@contoso.com", false)
	v.nothingStored()
}

func TestMailboxExpectedByTheRequestOrTheEngine(t *testing.T) {
	// The request's expected mailbox (the policy's, passed in) wins over
	// a login that is no address.
	v := newMailboxEnv(t, engine.Config{})
	v.conn.set("bob@contoso.com")
	req := v.req("work", "ann")
	req.ExpectedMailbox = "ann@contoso.com"
	v.refused(req, "ann@contoso.com", "bob@contoso.com", false)
	v.nothingStored()

	// The engine's expected mailbox wins over what the user typed.
	v = newMailboxEnv(t, engine.Config{ExpectedMailbox: "ann@contoso.com"})
	v.conn.set("bob@contoso.com")
	v.refused(v.req("work", "bob@contoso.com"), "ann@contoso.com", "bob@contoso.com", false)
	v.nothingStored()
}

func TestMailboxEnforcedRefusesEvenWhenAccepted(t *testing.T) {
	v := newMailboxEnv(t, engine.Config{ExpectedMailbox: "ann@contoso.com", EnforceMailbox: true})
	v.conn.set("bob@contoso.com")
	req := v.req("work", "ann")
	mm := v.refused(req, "ann@contoso.com", "bob@contoso.com", true)
	if !strings.Contains(mm.Error(), "administrator") {
		t.Errorf("enforced message %q does not say the administrator requires it", mm.Error())
	}
	req.AcceptMailbox = "bob@contoso.com"
	v.refused(req, "ann@contoso.com", "bob@contoso.com", true)
	v.nothingStored()

	// The expected mailbox itself is fine.
	v.conn.set("Ann@contoso.com")
	if _, err := v.e.Activate(context.Background(), v.req("work", "ann"), nil); err != nil {
		t.Fatalf("the expected mailbox under enforcement: %v", err)
	}
	v.firstSync()

	// SetMailboxPolicy changes it at run time: enforcement off, "anyway"
	// works again.
	v = newMailboxEnv(t, engine.Config{})
	v.e.SetMailboxPolicy("ann@contoso.com", true)
	v.conn.set("bob@contoso.com")
	req = v.req("work", "ann")
	req.AcceptMailbox = "bob@contoso.com"
	v.refused(req, "ann@contoso.com", "bob@contoso.com", true)
	v.e.SetMailboxPolicy("ann@contoso.com", false)
	if _, err := v.e.Activate(context.Background(), req, nil); err != nil {
		t.Fatalf("accepted after enforcement was lifted: %v", err)
	}
}

func TestReactivationWithAnotherMailboxIsRefused(t *testing.T) {
	v := newMailboxEnv(t, engine.Config{})
	// The first activation: a login that is no address, so no check.
	a, err := v.e.Activate(context.Background(), v.req("work", "ann"), nil)
	if err != nil || a.Email != "ann@scripted.test" {
		t.Fatalf("first activation: %+v, %v", a, err)
	}
	v.firstSync()

	// Re-activation lands in another mailbox: refused, the account keeps
	// its mailbox, no notice, no sync.
	v.conn.set("bob@contoso.com")
	req := v.req("work", "")
	mm := v.refused(req, "ann@scripted.test", "bob@contoso.com", false)
	if mm.Account != "work" || !strings.Contains(mm.Error(), "account work") {
		t.Errorf("re-activation mismatch %+v: %q", *mm, mm.Error())
	}
	if got, err := v.st.Account(context.Background(), "work"); err != nil || got.Email != "ann@scripted.test" {
		t.Fatalf("account after the refused re-activation: %+v, %v", got, err)
	}
	drain(v.events, func(ev api.Event) {
		if ev.Type == api.EventNotice || ev.Type == api.EventAccounts || ev.Type == api.EventSessionStarted {
			t.Errorf("refused re-activation sent %s %q", ev.Type, ev.Title)
		}
	})

	// Even when the login typed now is the new address: the account's
	// mailbox is what counts.
	v.refused(v.req("work", "bob@contoso.com"), "ann@scripted.test", "bob@contoso.com", false)

	// Accepted: the account switches mailboxes, and says so.
	req.AcceptMailbox = "bob@contoso.com"
	a, err = v.e.Activate(context.Background(), req, nil)
	if err != nil || a.Email != "bob@contoso.com" || a.ID != "work" {
		t.Fatalf("accepted re-activation: %+v, %v", a, err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-v.events:
			if ev.Type == api.EventNotice {
				if !strings.Contains(ev.Message, "ann@scripted.test") || !strings.Contains(ev.Message, "bob@contoso.com") {
					t.Errorf("notice %q: %q", ev.Title, ev.Message)
				}
				return
			}
		case <-timeout:
			t.Fatal("no notice of the switched mailbox")
		}
	}
}

func TestReactivationWithTheSameMailboxGoesOn(t *testing.T) {
	v := newMailboxEnv(t, engine.Config{EnforceMailbox: true})
	v.conn.set("ann@contoso.com")
	if _, err := v.e.Activate(context.Background(), v.req("work", `CONTOSO\ann`), nil); err != nil {
		t.Fatal(err)
	}
	v.firstSync()
	v.conn.set("ANN@contoso.com")
	if _, err := v.e.Activate(context.Background(), v.req("work", ""), nil); err != nil {
		t.Fatalf("re-activation with the same mailbox: %v", err)
	}
}

// drain reads the events already sent, for a short real-time wait.
func drain(events <-chan api.Event, f func(api.Event)) {
	timeout := time.After(150 * time.Millisecond)
	for {
		select {
		case ev := <-events:
			f(ev)
		case <-timeout:
			return
		}
	}
}
