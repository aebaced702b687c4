package ews_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/ews"
	"github.com/inboxsync/inboxsync/sync/provider/ews/ewstest"
)

const (
	svcLogin = `CONTOSO\svc-sync`
	svcPW    = "S3rvice-Acc0unt-Secret!"
)

// orgServer is an emulator with a service account allowed to impersonate
// alice but not bob, and a few items in each mailbox.
func orgServer(t *testing.T, cfg ewstest.Config) *ewstest.Server {
	t.Helper()
	srv := newServer(t, cfg)
	srv.AddServiceAccount(svcLogin, svcPW)
	alice := srv.AddMailbox("alice@contoso.test")
	alice.Add(api.Inbox, 3, now.Add(-time.Hour))
	alice.Add(api.Calendar, 1, now.Add(24*time.Hour))
	bob := srv.AddMailbox("bob@contoso.test")
	bob.Add(api.Inbox, 5, now.Add(-time.Hour))
	srv.GrantImpersonation(svcLogin, "alice@contoso.test")
	return srv
}

func impersonation(t *testing.T, srv *ewstest.Server, mod func(*ews.ImpersonationConfig)) *ews.Impersonation {
	t.Helper()
	cfg := ews.ImpersonationConfig{Login: svcLogin, Password: svcPW, URL: srv.EWSURL,
		PasswordSource: "the file /etc/inboxsync/exchange-password",
		RootCAs:        srv.RootCAs()}
	if mod != nil {
		mod(&cfg)
	}
	im, err := ews.NewImpersonation(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func TestImpersonationReadsEachMailboxAsItsUser(t *testing.T) {
	for _, auth := range []string{ews.AuthNTLM, ews.AuthBasic} {
		t.Run(auth, func(t *testing.T) {
			srv := orgServer(t, ewstest.Config{})
			srv.Add(api.Inbox, 2, now.Add(-time.Hour)) // ann's own mailbox: never seen
			im := impersonation(t, srv, func(c *ews.ImpersonationConfig) { c.Auth = auth })
			p, err := im.Mailbox(context.Background(), "alice@contoso.test")
			if err != nil {
				t.Fatal(err)
			}
			got, _, _ := drain(t, p, api.Inbox, "")
			if len(got) != 3 {
				t.Fatalf("alice's inbox: %d changes, want 3", len(got))
			}
			cal, _, _ := drain(t, p, api.Calendar, "")
			if len(cal) != 1 {
				t.Fatalf("alice's calendar: %d changes, want 1", len(cal))
			}
			st := srv.Stats()
			if st.Impersonated["alice@contoso.test"] < 3 || st.AnchorMismatches != 0 {
				t.Fatalf("stats: impersonated %v, anchor mismatches %d", st.Impersonated, st.AnchorMismatches)
			}
			if st.FailedLogins != 0 {
				t.Fatalf("failed logins: %d", st.FailedLogins)
			}
		})
	}
}

func TestImpersonationRefusalsPerMailbox(t *testing.T) {
	srv := orgServer(t, ewstest.Config{})
	im := impersonation(t, srv, nil)
	ctx := context.Background()
	changes := func(addr string) error {
		p, err := im.Mailbox(ctx, addr)
		if err != nil {
			return err
		}
		_, err = p.Changes(ctx, api.Inbox, "", opts())
		return err
	}
	cases := []struct {
		addr, code, words string
	}{
		{"bob@contoso.test", "ErrorImpersonateUserDenied", "outside the management scope"},
		{"nobody@contoso.test", "ErrorNonExistentMailbox", "has no mailbox for nobody@contoso.test"},
	}
	for _, c := range cases {
		err := changes(c.addr)
		if provider.Classify(err) != provider.ClassGrantGone || !errors.Is(err, ews.ErrMailboxRefused) || errors.Is(err, ews.ErrServiceAccountRefused) {
			t.Fatalf("%s: %v (class %v)", c.addr, err, provider.Classify(err))
		}
		r := provider.Reason(err)
		if !strings.Contains(r, c.code) || !strings.Contains(r, c.words) || !strings.Contains(r, c.addr) {
			t.Fatalf("%s: reason %q", c.addr, r)
		}
		if strings.Contains(err.Error(), svcPW) {
			t.Fatal("the password is in an error")
		}
	}
	// alice still works: one mailbox's refusal is not the others'.
	if err := changes("alice@contoso.test"); err != nil {
		t.Fatalf("alice after bob's refusal: %v", err)
	}
	// Without the role at all: ErrorImpersonationDenied.
	srv.RevokeImpersonation(svcLogin)
	err := changes("alice@contoso.test")
	if !errors.Is(err, ews.ErrMailboxRefused) || !strings.Contains(provider.Reason(err), "ErrorImpersonationDenied") ||
		!strings.Contains(provider.Reason(err), "ApplicationImpersonation") {
		t.Fatalf("no role: %v", err)
	}
}

// A changed password is one refusal for the organisation: the sessions
// after it do not send the old password again (Active Directory would
// lock the account) until a new password is given or RetryRefused passed,
// and then only one probe goes.
func TestImpersonationServiceAccountRefusedOnce(t *testing.T) {
	srv := orgServer(t, ewstest.Config{Auth: []string{"Basic"}})
	srv.AddMailbox("carol@contoso.test").Add(api.Inbox, 1, now.Add(-time.Hour))
	srv.GrantImpersonation(svcLogin, "carol@contoso.test")
	var mu sync.Mutex
	clock := now
	im := impersonation(t, srv, func(c *ews.ImpersonationConfig) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	})
	ctx := context.Background()
	changes := func(addr string) error {
		p, err := im.Mailbox(ctx, addr)
		if err != nil {
			return err
		}
		_, err = p.Changes(ctx, api.Inbox, "", opts())
		return err
	}
	if err := changes("alice@contoso.test"); err != nil {
		t.Fatal(err)
	}
	srv.SetAccountPassword(svcLogin, "a-new-password")
	before := srv.Stats().FailedLogins
	err := changes("alice@contoso.test")
	if provider.Classify(err) != provider.ClassRejected || !errors.Is(err, ews.ErrServiceAccountRefused) {
		t.Fatalf("refused password: %v", err)
	}
	r := provider.Reason(err)
	if !strings.Contains(r, svcLogin) || !strings.Contains(r, "/etc/inboxsync/exchange-password") || strings.Contains(err.Error(), svcPW) {
		t.Fatalf("reason %q", r)
	}
	for _, a := range []string{"alice@contoso.test", "carol@contoso.test", "bob@contoso.test"} {
		if err := changes(a); !errors.Is(err, ews.ErrServiceAccountRefused) {
			t.Fatalf("%s after the refusal: %v", a, err)
		}
	}
	if n := srv.Stats().FailedLogins - before; n != 1 {
		t.Fatalf("%d failed logins for 4 sessions, want 1", n)
	}
	// After RetryRefused one probe goes, and is refused again.
	mu.Lock()
	clock = clock.Add(ews.DefaultRetryRefused + time.Second)
	mu.Unlock()
	var wg sync.WaitGroup
	for _, a := range []string{"alice@contoso.test", "carol@contoso.test", "alice@contoso.test"} {
		wg.Add(1)
		go func() { defer wg.Done(); changes(a) }()
	}
	wg.Wait()
	if n := srv.Stats().FailedLogins - before; n != 2 {
		t.Fatalf("%d failed logins after the retry period, want 2", n)
	}
	// The admin puts the new password in the file: tried at once.
	im.SetPassword("a-new-password")
	if err := changes("carol@contoso.test"); err != nil {
		t.Fatalf("with the new password: %v", err)
	}
}

func TestImpersonationThrottled(t *testing.T) {
	srv := orgServer(t, ewstest.Config{})
	im := impersonation(t, srv, nil)
	ctx := context.Background()
	p, err := im.Mailbox(ctx, "alice@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(ewstest.Fault{Kind: ewstest.BusyFault, BackOff: 90 * time.Second})
	_, err = p.Changes(ctx, api.Inbox, "", opts())
	if provider.Classify(err) != provider.ClassThrottled || provider.RetryAfter(err) != 90*time.Second {
		t.Fatalf("ErrorServerBusy: %v (%v, %v)", err, provider.Classify(err), provider.RetryAfter(err))
	}
}

// EWSMaxConcurrency: impersonated requests are charged to the mailbox
// (Exchange 2013 and later), or to the service account (Exchange 2010);
// one over the limit is ErrorServerBusy, which the provider reports as
// throttling.
func TestImpersonationConcurrencyLimit(t *testing.T) {
	run := func(t *testing.T, charge bool, addrs []string) (busy int, throttled int) {
		srv := orgServer(t, ewstest.Config{MaxConcurrency: 2, ChargeServiceAccount: charge})
		srv.AddMailbox("carol@contoso.test")
		srv.AddMailbox("dave@contoso.test")
		srv.GrantImpersonation(svcLogin, "carol@contoso.test", "dave@contoso.test")
		im := impersonation(t, srv, nil)
		// Warm up the authenticated connections before the delay.
		for _, a := range addrs {
			p, _ := im.Mailbox(context.Background(), a)
			if _, err := p.Changes(context.Background(), api.Inbox, "", opts()); err != nil {
				t.Fatal(err)
			}
		}
		srv.SetDelay(300 * time.Millisecond)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, a := range addrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p, _ := im.Mailbox(context.Background(), a)
				_, err := p.Changes(context.Background(), api.Inbox, "", opts())
				if provider.Classify(err) == provider.ClassThrottled && err != nil {
					mu.Lock()
					throttled++
					mu.Unlock()
				} else if err != nil {
					t.Errorf("%s: %v", a, err)
				}
			}()
		}
		wg.Wait()
		return srv.Stats().Busy, throttled
	}
	t.Run("same mailbox", func(t *testing.T) {
		busy, thr := run(t, false, []string{"alice@contoso.test", "alice@contoso.test", "alice@contoso.test"})
		if busy != 1 || thr != 1 {
			t.Fatalf("busy %d, throttled %d; want 1 and 1", busy, thr)
		}
	})
	t.Run("charged to each mailbox", func(t *testing.T) {
		busy, thr := run(t, false, []string{"alice@contoso.test", "carol@contoso.test", "dave@contoso.test"})
		if busy != 0 || thr != 0 {
			t.Fatalf("busy %d, throttled %d; want none", busy, thr)
		}
	})
	t.Run("charged to the service account", func(t *testing.T) {
		busy, thr := run(t, true, []string{"alice@contoso.test", "carol@contoso.test", "dave@contoso.test"})
		if busy != 1 || thr != 1 {
			t.Fatalf("busy %d, throttled %d; want 1 and 1", busy, thr)
		}
	})
}

// Without an EWS URL, Autodiscover runs once per mailbox, with the service
// account's credentials, and its answer is kept.
func TestImpersonationAutodiscoverOncePerUser(t *testing.T) {
	srv := orgServer(t, ewstest.Config{})
	srv.AddMailbox("carol@contoso.test")
	srv.GrantImpersonation(svcLogin, "carol@contoso.test")
	srv.SetAutodiscover("contoso.test", "/autodiscover/autodiscover.svc", ewstest.Autodiscover{EWSURL: srv.EWSURL})
	im := impersonation(t, srv, func(c *ews.ImpersonationConfig) {
		c.URL = ""
		c.Dial = srv.Dialer("contoso.test", "autodiscover.contoso.test")
		c.Resolver = fakeResolver{}
	})
	ctx := context.Background()
	const endpoint = "contoso.test/autodiscover/autodiscover.svc"
	var first int
	for round := range 3 {
		if round == 1 {
			first = srv.Stats().Autodiscover[endpoint]
		}
		for _, a := range []string{"alice@contoso.test", "carol@contoso.test"} {
			p, err := im.Mailbox(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Changes(ctx, api.Inbox, "", opts()); err != nil {
				t.Fatalf("%s: %v", a, err)
			}
		}
	}
	if n := im.Discoveries(); n != 2 {
		t.Fatalf("%d Autodiscover runs for 2 mailboxes × 3 sessions", n)
	}
	// The first round asked the endpoint (NTLM's legs included); the
	// next two did not.
	if n := srv.Stats().Autodiscover[endpoint]; first < 2 || n != first {
		t.Fatalf("%d requests to the Autodiscover endpoint in the first round, %d after three", first, n)
	}
}

// A wrong password during Autodiscover is the service account's refusal,
// not a mailbox's: one incident, and the endpoints are not tried again for
// the next mailboxes.
func TestImpersonationAutodiscoverRefused(t *testing.T) {
	srv := orgServer(t, ewstest.Config{Auth: []string{"Basic"}})
	srv.SetAutodiscover("contoso.test", "/autodiscover/autodiscover.svc", ewstest.Autodiscover{EWSURL: srv.EWSURL})
	im := impersonation(t, srv, func(c *ews.ImpersonationConfig) {
		c.URL, c.Password = "", "wrong"
		c.Dial = srv.Dialer("contoso.test", "autodiscover.contoso.test")
		c.Resolver = fakeResolver{}
	})
	_, err := im.Mailbox(context.Background(), "alice@contoso.test")
	if !errors.Is(err, ews.ErrServiceAccountRefused) {
		t.Fatalf("wrong password in Autodiscover: %v", err)
	}
	before := srv.Stats().Logins
	if _, err := im.Mailbox(context.Background(), "carol@contoso.test"); !errors.Is(err, ews.ErrServiceAccountRefused) {
		t.Fatalf("the next mailbox: %v", err)
	}
	if n := srv.Stats().Logins - before; n != 0 {
		t.Fatalf("%d more logins after the refusal", n)
	}
}

func TestImpersonationCheck(t *testing.T) {
	srv := orgServer(t, ewstest.Config{})
	im := impersonation(t, srv, nil)
	ctx := context.Background()
	if err := im.CheckLogin(ctx); err != nil {
		t.Fatalf("CheckLogin: %v", err)
	}
	if err := im.Check(ctx, "alice@contoso.test"); err != nil {
		t.Fatalf("Check alice: %v", err)
	}
	if err := im.Check(ctx, "bob@contoso.test"); !errors.Is(err, ews.ErrMailboxRefused) {
		t.Fatalf("Check bob: %v", err)
	}
	bad := impersonation(t, srv, func(c *ews.ImpersonationConfig) { c.Password = "wrong" })
	if err := bad.CheckLogin(ctx); !errors.Is(err, ews.ErrServiceAccountRefused) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("CheckLogin with a wrong password: %v", err)
	}
	for _, c := range []ews.ImpersonationConfig{
		{Login: "svc", Password: "x"},
		{Login: svcLogin},
		{Login: svcLogin, Password: "x", URL: "http://mail.contoso.test/EWS/Exchange.asmx"},
		{Login: svcLogin, Password: "x", Auth: "kerberos"},
	} {
		if _, err := ews.NewImpersonation(c); err == nil {
			t.Errorf("NewImpersonation(%+v) accepted", c)
		}
	}
}
