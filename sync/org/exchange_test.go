package org_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/org"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
	"github.com/inboxsync/inboxsync/sync/provider/ews/ewstest"
)

const (
	exLogin = `CONTOSO\svc-sync`
	exPW    = "Sv5-Pa55w0rd-never-stored"
)

// exchangeOrg is an organisation database with Exchange mailboxes on an
// emulator: alice and carol (5 + 2 items each) which the service account
// may impersonate, and bob, whom it may not.
type exchangeOrg struct {
	pool   *pgxpool.Pool
	st     *pgstore.Store
	srv    *ewstest.Server
	pwFile string
	logs   *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newExchangeOrg(t *testing.T, addrs ...string) *exchangeOrg {
	t.Helper()
	ctx := context.Background()
	pool, err := pgstore.ConnectSized(ctx, pgtest.New(t), 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	st := pgstore.New(pool)
	srv, err := ewstest.New(ewstest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.AddServiceAccount(exLogin, exPW)
	at := time.Now().Add(-2 * time.Hour)
	var mbs []pgstore.NewMailbox
	for _, a := range addrs {
		m := srv.AddMailbox(a)
		m.Add(api.Inbox, 5, at)
		m.Add(api.Sent, 2, at)
		if a != "bob@contoso.test" {
			srv.GrantImpersonation(exLogin, a)
		}
		mbs = append(mbs, pgstore.NewMailbox{Address: a, Provider: org.ProviderExchange})
	}
	if _, err := st.AddMailboxes(ctx, mbs, func(string) time.Time { return time.Now() }); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := &exchangeOrg{pool: pool, st: st, srv: srv, pwFile: filepath.Join(dir, "exchange-password"), logs: &lockedBuffer{}}
	// A password file others can read is refused, with the reason.
	if err := os.WriteFile(o.pwFile, []byte(exPW+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := org.Exchange{Login: exLogin, PasswordFile: o.pwFile, URL: srv.EWSURL}
	if err := org.SaveExchange(ctx, st, e); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "chmod 600") ||
		strings.Contains(err.Error(), exPW) {
		t.Fatalf("a world-readable password file: %v", err)
	}
	os.Chmod(o.pwFile, 0o600)
	if err := org.SaveExchange(ctx, st, e); err != nil {
		t.Fatal(err)
	}
	return o
}

func (o *exchangeOrg) start(t *testing.T, interval time.Duration) {
	t.Helper()
	w, err := org.NewWorker(org.Config{Pool: o.pool, Store: o.st, Interval: interval, FanOut: time.Second,
		Concurrency: 4, RescueAfter: 20 * time.Second, ID: "w1",
		Opener: &org.Credentials{Store: o.st, EWSRootCAs: o.srv.RootCAs()},
		Log:    slog.New(slog.NewTextHandler(o.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, 10*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
}

func (o *exchangeOrg) mailbox(t *testing.T, a string) pgstore.Mailbox {
	t.Helper()
	m, err := o.st.Mailbox(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// noSecret fails when the password is in any table or the logs.
func (o *exchangeOrg) noSecret(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	rows, err := o.pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("tables: %v", tables)
	}
	for _, tb := range tables {
		var hit bool
		if err := o.pool.QueryRow(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %q t WHERE t::text LIKE '%%' || $1 || '%%')`, tb), exPW).Scan(&hit); err != nil {
			t.Fatal(err)
		}
		if hit {
			t.Errorf("the service account's password is in the table %s", tb)
		}
	}
	if strings.Contains(o.logs.String(), exPW) {
		t.Error("the service account's password is in the worker's log")
	}
}

// TestExchangeImpersonationWorker: the worker syncs each Exchange mailbox
// as its user; the one the service account may not impersonate is
// disabled due to an error with the reason in words, the others go on. A
// changed password is one incident for the organisation — no mailbox
// counts it, and the old password is not sent for every mailbox — which
// ends once the new password is in the file.
func TestExchangeImpersonationWorker(t *testing.T) {
	o := newExchangeOrg(t, "alice@contoso.test", "bob@contoso.test", "carol@contoso.test")
	o.start(t, 2*time.Second)
	ctx := context.Background()
	waitFor(t, "alice and carol synced, bob disabled", func() (bool, string) {
		a, b, c := o.mailbox(t, "alice@contoso.test"), o.mailbox(t, "bob@contoso.test"), o.mailbox(t, "carol@contoso.test")
		return a.Items == 7 && c.Items == 7 && b.State == pgstore.StateError,
			fmt.Sprintf("alice %d items, carol %d, bob %s %q", a.Items, c.Items, b.State, b.Reason)
	})
	bob := o.mailbox(t, "bob@contoso.test")
	if !strings.Contains(bob.Reason, "ErrorImpersonateUserDenied") || !strings.Contains(bob.Reason, exLogin) ||
		!strings.Contains(bob.Reason, "management scope") || bob.Items != 0 {
		t.Fatalf("bob: %+v", bob)
	}
	st := o.srv.Stats()
	if st.AnchorMismatches != 0 || st.FailedLogins != 0 || st.Impersonated["bob@contoso.test"] != 0 {
		t.Fatalf("emulator stats: %+v", st)
	}

	// The service account's password changes.
	o.srv.SetAccountPassword(exLogin, "the-new-one")
	before := o.srv.Stats().FailedLogins
	waitFor(t, "the organisation's incident", func() (bool, string) {
		inc, ok, err := org.OpenIncident(ctx, o.st, org.ProviderExchange)
		if err != nil {
			t.Fatal(err)
		}
		return ok && strings.Contains(inc.Reason, exLogin) && strings.Contains(inc.Reason, o.pwFile), fmt.Sprintf("%+v", inc)
	})
	time.Sleep(5 * time.Second) // a few intervals
	if n := o.srv.Stats().FailedLogins - before; n < 1 || n > 2 {
		t.Fatalf("%d failed logins in 5 s of 2 s intervals for 2 mailboxes, want 1 or 2 (the sessions under way)", n)
	}
	for _, a := range []string{"alice@contoso.test", "carol@contoso.test"} {
		if m := o.mailbox(t, a); m.State != pgstore.StateEnabled || m.Rejections != 0 || m.Failures != 0 {
			t.Fatalf("the organisation's refusal counted against %s: %+v", a, m)
		}
	}
	// The admin writes the new password into the file: sync goes on, the
	// incident ends.
	if err := os.WriteFile(o.pwFile, []byte("the-new-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o.srv.AddMailbox("alice@contoso.test").Add(api.Inbox, 1, time.Now())
	waitFor(t, "sync with the new password", func() (bool, string) {
		a := o.mailbox(t, "alice@contoso.test")
		_, open, _ := org.OpenIncident(ctx, o.st, org.ProviderExchange)
		return a.Items == 8 && !open, fmt.Sprintf("alice %d items, incident open %v", a.Items, open)
	})
	o.noSecret(t)
}

// TestExchangeThrottledSnoozes: ErrorServerBusy with BackOffMilliseconds
// keeps the mailbox enabled, counts nothing, and waits the server's time.
func TestExchangeThrottledSnoozes(t *testing.T) {
	o := newExchangeOrg(t, "alice@contoso.test")
	o.srv.FailNext(ewstest.Fault{Kind: ewstest.BusyFault, BackOff: 3 * time.Minute})
	began := time.Now()
	o.start(t, 2*time.Second)
	waitFor(t, "throttled", func() (bool, string) {
		a := o.mailbox(t, "alice@contoso.test")
		return strings.Contains(a.Reason, "asked us to wait"), fmt.Sprintf("%+v", a)
	})
	a := o.mailbox(t, "alice@contoso.test")
	if a.State != pgstore.StateEnabled || a.Failures != 0 || a.Rejections != 0 ||
		a.NextSync.Before(began.Add(170*time.Second)) || !strings.Contains(a.Reason, "3 minutes") {
		t.Fatalf("throttled mailbox: %+v", a)
	}
	time.Sleep(4 * time.Second) // two intervals: no sync before the server's time
	if a := o.mailbox(t, "alice@contoso.test"); a.Items != 0 || !a.LastSync.IsZero() {
		t.Fatalf("synced before the back-off ended: %+v", a)
	}
	o.noSecret(t)
}
