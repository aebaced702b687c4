package org_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inboxsync/inboxsync/internal/pgtest"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/org"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
)

// fleet is an organisation of scripted mailboxes. Its Opener counts the
// sessions running per mailbox across every worker that uses it.
type fleet struct {
	mu       sync.Mutex
	boxes    map[string]*scripted.Mailbox
	running  map[string]int
	maxRun   int
	opens    int
	orgWide  error // an error Open returns for every mailbox
	refusing map[string]bool
}

func newFleet() *fleet {
	return &fleet{boxes: map[string]*scripted.Mailbox{}, running: map[string]int{}, refusing: map[string]bool{}}
}

func (f *fleet) Open(_ context.Context, mb pgstore.Mailbox) (provider.Provider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.orgWide != nil {
		return nil, f.orgWide
	}
	m, ok := f.boxes[mb.Address]
	if !ok {
		return nil, fmt.Errorf("no mailbox %s", mb.Address)
	}
	pw := "pw"
	if f.refusing[mb.Address] {
		pw = "wrong"
	}
	f.opens++
	f.running[mb.Address]++
	f.maxRun = max(f.maxRun, f.running[mb.Address])
	return &counted{Provider: m.Provider(pw), f: f, addr: mb.Address}, nil
}

var errOrgWide = errors.New("the app was refused")

func (f *fleet) OrganisationWide(err error) bool { return errors.Is(err, errOrgWide) }

// counted is a provider whose Close ends its session in the count.
type counted struct {
	provider.Provider
	f    *fleet
	addr string
	once sync.Once
}

func (c *counted) Close() error {
	c.once.Do(func() {
		c.f.mu.Lock()
		c.f.running[c.addr]--
		c.f.mu.Unlock()
	})
	return c.Provider.Close()
}

// org is a test organisation database with n mailboxes of 25 + 5 items.
func newOrg(t *testing.T, n int) (*pgxpool.Pool, *pgstore.Store, *fleet) {
	t.Helper()
	ctx := context.Background()
	url := pgtest.New(t)
	pool, err := pgstore.ConnectSized(ctx, url, 40)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pgstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	st := pgstore.New(pool)
	f := newFleet()
	var mbs []pgstore.NewMailbox
	t0 := time.Now().Add(-48 * time.Hour)
	for i := range n {
		addr := fmt.Sprintf("user%03d@example.com", i)
		m := scripted.New()
		m.SetPassword("pw")
		m.SetPageSize(10)
		m.Add(api.Inbox, 25, t0)
		m.Add(api.Sent, 5, t0)
		f.boxes[addr] = m
		mbs = append(mbs, pgstore.NewMailbox{Address: addr, Provider: org.ProviderOffice365})
	}
	now := time.Now()
	if _, err := st.AddMailboxes(ctx, mbs, func(string) time.Time { return now }); err != nil {
		t.Fatal(err)
	}
	return pool, st, f
}

// startWorker runs a worker until the returned stop is called (or the
// test ends).
func startWorker(t *testing.T, pool *pgxpool.Pool, st *pgstore.Store, f *fleet, id string, interval time.Duration) (stop func()) {
	t.Helper()
	w, err := org.NewWorker(org.Config{Pool: pool, Store: st, Opener: f, Interval: interval,
		FanOut: time.Second, Concurrency: 4, RescueAfter: 20 * time.Second, ID: id,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, 10*time.Second) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("worker %s: %v", id, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// waitFor polls cond until it holds or 60 s pass.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60 s; %s", what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// synced reports whether every mailbox holds want items and has synced.
func synced(t *testing.T, st *pgstore.Store, want int64) func() (bool, string) {
	return func() (bool, string) {
		mbs, err := st.Mailboxes(context.Background(), pgstore.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range mbs {
			if m.Items == want && !m.LastSync.IsZero() {
				n++
			}
		}
		return n == len(mbs), fmt.Sprintf("%d of %d mailboxes synced", n, len(mbs))
	}
}

// TestTwoWorkersSyncEveryMailboxOnce runs two workers on 40 mailboxes:
// each mailbox syncs, its items are stored once, no mailbox ever has two
// sessions at once, and a change reaches the store at the next interval.
func TestTwoWorkersSyncEveryMailboxOnce(t *testing.T) {
	pool, st, f := newOrg(t, 40)
	for _, m := range f.boxes {
		m.SetPageDelay(5 * time.Millisecond)
	}
	startWorker(t, pool, st, f, "w1", 3*time.Second)
	startWorker(t, pool, st, f, "w2", 3*time.Second)
	waitFor(t, "first sync of every mailbox", synced(t, st, 30))

	f.boxes["user007@example.com"].Add(api.Inbox, 2, time.Now())
	waitFor(t, "the change at the next interval", func() (bool, string) {
		mb, err := st.Mailbox(context.Background(), "user007@example.com")
		if err != nil {
			t.Fatal(err)
		}
		return mb.Items == 32, fmt.Sprintf("%d items", mb.Items)
	})
	var dup int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM (SELECT 1 FROM river_job
		WHERE kind = 'inboxsync_sync' AND state IN ('available','running','scheduled','retryable','pending')
		GROUP BY args HAVING count(*) > 1) d`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d mailboxes with two live jobs", dup)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.maxRun != 1 {
		t.Errorf("a mailbox had %d sessions at once", f.maxRun)
	}
	if f.opens < 41 {
		t.Errorf("%d sessions for 40 mailboxes and a second round", f.opens)
	}
}

// TestRejectionsDisableTheMailbox: a mailbox that refuses the credentials
// six times in a row is disabled due to an error with the reason; the
// others go on; enabling it clears the counters.
func TestRejectionsDisableTheMailbox(t *testing.T) {
	pool, st, f := newOrg(t, 3)
	bad := "user001@example.com"
	f.refusing[bad] = true
	startWorker(t, pool, st, f, "w1", time.Second)
	ctx := context.Background()
	waitFor(t, "six rejections", func() (bool, string) {
		mb, err := st.Mailbox(ctx, bad)
		if err != nil {
			t.Fatal(err)
		}
		return mb.State == "error", fmt.Sprintf("state %s, %d rejections, reason %q", mb.State, mb.Rejections, mb.Reason)
	})
	mb, _ := st.Mailbox(ctx, bad)
	if mb.Rejections != api.MaxRejections || mb.Reason == "" {
		t.Fatalf("disabled mailbox %+v", mb)
	}
	for _, a := range []string{"user000@example.com", "user002@example.com"} {
		if m, _ := st.Mailbox(ctx, a); m.State != "enabled" || m.Items != 30 {
			t.Errorf("%s: %+v", a, m)
		}
	}
	// No more sessions while disabled.
	f.mu.Lock()
	opens := f.opens
	f.refusing[bad] = false
	f.mu.Unlock()
	time.Sleep(3 * time.Second)
	if m, _ := st.Mailbox(ctx, bad); m.Items != 0 || m.State != "error" {
		t.Fatalf("the disabled mailbox synced: %+v", m)
	}
	if _, err := st.SetEnabled(ctx, []string{bad}, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sync after enabling", func() (bool, string) {
		m, _ := st.Mailbox(ctx, bad)
		return m.Items == 30 && m.State == "enabled" && m.Rejections == 0, fmt.Sprintf("%+v", m)
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.opens <= opens {
		t.Fatal("no session after enabling")
	}
}

// TestOrganisationWideRefusalIsOneIncident: when the organisation's
// credentials are refused, no mailbox is disabled or counts a rejection,
// one incident is open; it closes at the first success.
func TestOrganisationWideRefusalIsOneIncident(t *testing.T) {
	pool, st, f := newOrg(t, 5)
	f.orgWide = provider.GrantGone("The app registration was refused by Microsoft.", errOrgWide)
	startWorker(t, pool, st, f, "w1", time.Second)
	ctx := context.Background()
	waitFor(t, "the incident", func() (bool, string) {
		inc, ok, err := org.OpenIncident(ctx, st, org.ProviderOffice365)
		if err != nil {
			t.Fatal(err)
		}
		return ok && inc.Reason != "", fmt.Sprintf("%+v", inc)
	})
	time.Sleep(2 * time.Second)
	mbs, _ := st.Mailboxes(ctx, pgstore.Filter{})
	for _, m := range mbs {
		if m.State != "enabled" || m.Rejections != 0 || m.Failures != 0 {
			t.Fatalf("an organisation-wide refusal counted against %s: %+v", m.Address, m)
		}
	}
	f.mu.Lock()
	f.orgWide = nil
	f.mu.Unlock()
	waitFor(t, "sync after the credentials work again", synced(t, st, 30))
	if _, ok, _ := org.OpenIncident(ctx, st, org.ProviderOffice365); ok {
		t.Fatal("the incident is still open after syncs succeeded")
	}
}

// TestStoppedWorkerHandsBack stops one of two workers in the middle of
// slow first syncs: its sessions stop at a page boundary, the other
// worker finishes them from their cursors, and every item is stored once.
func TestStoppedWorkerHandsBack(t *testing.T) {
	pool, st, f := newOrg(t, 10)
	for _, m := range f.boxes {
		m.SetPageDelay(150 * time.Millisecond)
	}
	stop1 := startWorker(t, pool, st, f, "w1", time.Hour)
	waitFor(t, "sessions under way", func() (bool, string) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.opens >= 4, fmt.Sprintf("%d sessions", f.opens)
	})
	startWorker(t, pool, st, f, "w2", time.Hour)
	began := time.Now()
	stop1()
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("the worker took %s to stop", d)
	}
	waitFor(t, "every mailbox synced by the other worker", synced(t, st, 30))
	ss, err := st.Sessions(context.Background(), api.SessionQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	stopped := 0
	for _, s := range ss {
		if s.Outcome == api.OutcomeStopped {
			stopped++
		}
	}
	if stopped == 0 {
		t.Error("no session was stopped by the worker's stop")
	}
}
