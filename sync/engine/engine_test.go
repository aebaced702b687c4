package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
	"github.com/inboxsync/inboxsync/sync/secret"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
	"github.com/inboxsync/inboxsync/sync/store"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

const interval = 30 * time.Minute

type env struct {
	t      *testing.T
	clock  *fakeClock
	path   string
	st     *store.Store
	sec    *secrettest.Memory
	conn   *scripted.Connector
	mb     *scripted.Mailbox
	e      *engine.Engine
	events <-chan api.Event
	stop   func()
	// crm are the CRM connectors the engine is given (crm_test.go).
	crm map[string]crm.Connector
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with setup run on the env before the engine starts.
func newEnvWith(t *testing.T, setup func(*env)) *env {
	t.Helper()
	v := &env{t: t, clock: newFakeClock(t0), path: filepath.Join(t.TempDir(), "inboxsync.db"),
		sec: secrettest.NewMemory(), conn: scripted.NewConnector(), mb: scripted.New()}
	v.mb.SetPassword("pw")
	v.mb.SetPageSize(10)
	v.mb.Add(api.Inbox, 25, t0.Add(-48*time.Hour))
	v.mb.Add(api.Sent, 5, t0.Add(-48*time.Hour))
	v.mb.Add(api.Calendar, 3, t0.Add(24*time.Hour))
	v.conn.Register("mb", v.mb)
	if setup != nil {
		setup(v)
	}
	v.start()
	t.Cleanup(func() {
		v.stop()
		v.st.Close()
	})
	return v
}

func (v *env) start() {
	v.t.Helper()
	st, err := store.Open(v.path)
	if err != nil {
		v.t.Fatal(err)
	}
	v.st = st
	e, err := engine.New(engine.Config{Store: st, Secrets: v.sec, Clock: v.clock,
		Connectors: map[string]provider.Connector{"scripted": v.conn}, CRM: v.crm})
	if err != nil {
		v.t.Fatal(err)
	}
	v.e = e
	ctx, cancel := context.WithCancel(context.Background())
	v.events, _ = e.Subscribe(ctx)
	done := make(chan struct{})
	go func() {
		e.Run(ctx)
		close(done)
	}()
	v.stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			v.t.Fatal("engine did not stop within 10 s")
		}
	}
}

// restart stops the engine and starts a new one on the same store, as a
// restarted agent would.
func (v *env) restart() {
	v.stop()
	v.st.Close()
	v.start()
}

func (v *env) activate(password string) api.Account {
	v.t.Helper()
	a, err := v.e.Activate(context.Background(), api.ActivationRequest{
		Provider: "scripted", Account: "work", Login: "ann", Password: password,
		Settings: map[string]string{"mailbox": "mb"}}, nil)
	if err != nil {
		v.t.Fatalf("activate: %v", err)
	}
	return a
}

// next waits for the next event of type typ.
func (v *env) next(typ api.EventType) api.Event {
	v.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-v.events:
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			v.t.Fatalf("no %s event within 10 s", typ)
		}
	}
}

func (v *env) session() api.Session {
	v.t.Helper()
	return *v.next(api.EventSessionEnded).Session
}

// quiet asserts that no session starts during a short real-time wait.
func (v *env) quiet() {
	v.t.Helper()
	timeout := time.After(150 * time.Millisecond)
	for {
		select {
		case ev := <-v.events:
			if ev.Type == api.EventSessionStarted {
				v.t.Fatalf("unexpected session (trigger %s)", ev.Session.Trigger)
			}
		case <-timeout:
			return
		}
	}
}

func (v *env) status() api.AccountStatus {
	v.t.Helper()
	s, err := v.e.Status(context.Background())
	if err != nil {
		v.t.Fatal(err)
	}
	for _, a := range s.Accounts {
		if a.Account == "work" {
			return a
		}
	}
	v.t.Fatal("account work missing from status")
	return api.AccountStatus{}
}

func (v *env) items() int {
	n, err := v.st.CountItems(context.Background(), "work")
	if err != nil {
		v.t.Fatal(err)
	}
	return n
}

func TestActivationSyncsAtOnceThenOnSchedule(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	s := v.session()
	if s.Outcome != "ok" || s.Trigger != "activation" || s.Added != 33 {
		t.Fatalf("first session = %+v, want ok/activation/33 added", s)
	}
	if n := v.items(); n != 33 {
		t.Fatalf("store holds %d items, want 33", n)
	}
	st := v.status()
	if st.State != api.Idle || !st.NextSync.Equal(t0.Add(interval)) {
		t.Fatalf("after first sync: %v next %v, want idle next %v", st.State, st.NextSync, t0.Add(interval))
	}
	if got, _ := v.sec.Get("work", secret.KeyPassword); got != "pw" {
		t.Fatalf("keyring holds %q, want the password", got)
	}

	v.clock.Advance(interval - time.Second)
	v.quiet()
	v.mb.Add(api.Inbox, 2, t0)
	v.clock.Advance(time.Second)
	s = v.session()
	if s.Trigger != "schedule" || s.Added != 2 || s.Updated != 0 {
		t.Fatalf("scheduled session = %+v, want schedule with 2 added", s)
	}
}

func TestCatchUpAfterSleepRunsOnce(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.clock.Advance(5 * time.Hour) // the laptop slept through ten syncs
	if s := v.session(); s.Trigger != "catch-up" || s.Outcome != "ok" {
		t.Fatalf("session after sleep = %+v, want one catch-up", s)
	}
	v.quiet()
	if st := v.status(); !st.NextSync.Equal(t0.Add(5*time.Hour + interval)) {
		t.Fatalf("next sync %v, want %v", st.NextSync, t0.Add(5*time.Hour+interval))
	}
}

func TestSyncNowRefusedWithinAMinute(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.clock.Advance(20 * time.Second)
	err := v.e.SyncNow(context.Background(), "work")
	var tooSoon *api.TooSoonError
	if !errors.As(err, &tooSoon) || !errors.Is(err, api.ErrTooSoon) || tooSoon.Wait != 40*time.Second {
		t.Fatalf("SyncNow 20 s after a sync: %v, want too soon with 40 s to wait", err)
	}
	if !strings.Contains(err.Error(), "40 seconds") {
		t.Errorf("message %q does not say how long to wait", err)
	}
	v.clock.Advance(40 * time.Second)
	if err := v.e.SyncNow(context.Background(), "work"); err != nil {
		t.Fatalf("SyncNow a minute after: %v", err)
	}
	if s := v.session(); s.Trigger != "manual" {
		t.Fatalf("session trigger %q, want manual", s.Trigger)
	}
	if err := v.e.SyncNow(context.Background(), "nobody"); !errors.Is(err, api.ErrUnknownAccount) {
		t.Fatalf("SyncNow unknown account: %v", err)
	}
}

func TestSixthRejectionStopsLoginAttempts(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.mb.SetPassword("changed-on-the-server")
	before := v.mb.Calls()
	var opened int
	for i := 1; i <= api.MaxRejections; i++ {
		v.clock.Advance(interval)
		s := v.session()
		if s.Outcome != "rejected" {
			t.Fatalf("attempt %d outcome %q, want rejected", i, s.Outcome)
		}
		st := v.status()
		if st.Rejections != i {
			t.Fatalf("after attempt %d: %d rejections counted", i, st.Rejections)
		}
		if i < api.MaxRejections && st.State != api.Idle {
			t.Fatalf("after attempt %d: state %v, want idle", i, st.State)
		}
		if i == api.MaxRejections-1 {
			opened = v.mb.Calls() - before
		}
	}
	if opened != api.MaxRejections-1 {
		t.Fatalf("%d login attempts before the 6th, want %d", opened, api.MaxRejections-1)
	}
	st := v.status()
	if st.State != api.NeedsReactivation || !strings.Contains(st.Reason, "rejected the last 6 sync attempts") {
		t.Fatalf("after 6 rejections: %v %q", st.State, st.Reason)
	}
	attempts := v.mb.Calls()
	if attempts-before != api.MaxRejections {
		t.Fatalf("%d login attempts, want exactly %d", attempts-before, api.MaxRejections)
	}
	for range 20 {
		v.clock.Advance(interval)
	}
	v.quiet()
	if err := v.e.SyncNow(context.Background(), "work"); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("SyncNow while needing re-activation: %v", err)
	}
	v.restart()
	v.clock.Advance(interval)
	v.quiet()
	if got := v.mb.Calls(); got != attempts {
		t.Fatalf("a 7th login attempt was made (%d calls, want %d)", got, attempts)
	}
	if st := v.status(); st.State != api.NeedsReactivation || st.Rejections != 6 {
		t.Fatalf("after restart: %v with %d rejections", st.State, st.Rejections)
	}

	v.mb.SetPassword("new")
	v.activate("new")
	if s := v.session(); s.Outcome != "ok" || s.Trigger != "activation" {
		t.Fatalf("after re-activation: %+v", s)
	}
	if st := v.status(); st.State != api.Idle || st.Rejections != 0 {
		t.Fatalf("after re-activation: %v, %d rejections", st.State, st.Rejections)
	}
}

func TestReactivationOpensOneWindowAndNotice(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.mb.FailAll(provider.GrantGone("Your organisation requires you to sign in again.", errors.New("AADSTS50173")))
	v.clock.Advance(interval)
	if s := v.session(); s.Outcome != "grant-gone" {
		t.Fatalf("outcome %q, want grant-gone", s.Outcome)
	}
	w := v.next(api.EventOpenWindow)
	if w.Window.Window != "activate" || w.Window.Account != "work" || !strings.Contains(w.Window.Reason, "sign in again") {
		t.Fatalf("window request %+v", w.Window)
	}
	if st := v.status(); st.State != api.NeedsReactivation || st.Rejections != 0 {
		t.Fatalf("state %v rejections %d, want needs-reactivation at once", st.State, st.Rejections)
	}
	v.clock.Advance(10 * interval)
	v.quiet()
}

func TestOfflineAndThrottledNeverCount(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.mb.FailAll(provider.Offline(errors.New("dial tcp: connection refused")))
	v.clock.Advance(interval)
	wantDelays := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i, d := range wantDelays {
		s := v.session()
		st := v.status()
		if s.Outcome != "offline" || st.State != api.Offline {
			t.Fatalf("attempt %d: %q / %v, want offline", i, s.Outcome, st.State)
		}
		if got := st.NextSync.Sub(v.clock.Now()); got != d {
			t.Fatalf("attempt %d: retry in %v, want %v", i, got, d)
		}
		if st.Rejections != 0 || st.Failures != 0 {
			t.Fatalf("offline counted: %d rejections, %d failures", st.Rejections, st.Failures)
		}
		v.clock.Advance(d)
	}
	v.session()
	v.mb.FailAll(nil)
	v.mb.FailNext(provider.Throttled(7*time.Minute, errors.New("429")))
	v.clock.Advance(30 * time.Minute)
	if s := v.session(); s.Outcome != "throttled" {
		t.Fatalf("outcome %q, want throttled", s.Outcome)
	}
	st := v.status()
	if st.State != api.Throttled || st.NextSync.Sub(v.clock.Now()) != 7*time.Minute || st.Rejections != 0 || st.Failures != 0 {
		t.Fatalf("throttled status %+v", st)
	}
	v.clock.Advance(6 * time.Minute)
	// Sync now while throttled is accepted but honours the server's wait:
	// the retry at its time is the sync asked for.
	if err := v.e.SyncNow(context.Background(), "work"); err != nil {
		t.Fatalf("sync now while throttled: %v", err)
	}
	v.quiet()
	v.clock.Advance(time.Minute)
	if s := v.session(); s.Outcome != "ok" || s.Trigger != "retry" {
		t.Fatalf("after the throttle delay: %+v", s)
	}
}

func TestTenFailuresSuspend(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.mb.FailAll(errors.New("500 Internal Server Error"))
	for i := 1; i <= api.MaxFailures; i++ {
		v.clock.Advance(interval)
		if s := v.session(); s.Outcome != "failed" {
			t.Fatalf("attempt %d: %q", i, s.Outcome)
		}
		if st := v.status(); st.Failures != i {
			t.Fatalf("attempt %d: %d failures", i, st.Failures)
		}
	}
	n := v.next(api.EventNotice)
	if !strings.Contains(n.Title, "Sync suspended") || !strings.Contains(n.Message, "10 failed attempts") {
		t.Fatalf("notice %q: %q", n.Title, n.Message)
	}
	if st := v.status(); st.State != api.Suspended {
		t.Fatalf("state %v, want suspended", st.State)
	}
	calls := v.mb.Calls()
	v.clock.Advance(5 * interval)
	v.quiet()
	if v.mb.Calls() != calls {
		t.Fatal("a suspended account kept syncing")
	}
	v.mb.FailAll(nil)
	if err := v.e.Resume(context.Background(), "work"); err != nil {
		t.Fatal(err)
	}
	if s := v.session(); s.Outcome != "ok" {
		t.Fatalf("after resume: %+v", s)
	}
	if st := v.status(); st.State != api.Idle || st.Failures != 0 {
		t.Fatalf("after resume: %v, %d failures", st.State, st.Failures)
	}
}

func TestSuccessResetsCounters(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.mb.FailNext(provider.Rejected("bad password", nil), provider.Rejected("bad password", nil), errors.New("boom"))
	for range 3 {
		v.clock.Advance(interval)
		v.session()
	}
	if st := v.status(); st.Rejections != 2 || st.Failures != 1 {
		t.Fatalf("counted %d rejections and %d failures, want 2 and 1", st.Rejections, st.Failures)
	}
	v.clock.Advance(interval)
	if s := v.session(); s.Outcome != "ok" {
		t.Fatalf("outcome %q", s.Outcome)
	}
	if st := v.status(); st.Rejections != 0 || st.Failures != 0 || st.Reason != "" {
		t.Fatalf("after success: %d rejections, %d failures, reason %q", st.Rejections, st.Failures, st.Reason)
	}
}

func TestPauseMidSessionKeepsCommittedPages(t *testing.T) {
	v := newEnv(t)
	calls := 0
	v.mb.SetHook(func(folder api.Folder, cursor string) error {
		calls++
		if calls == 3 {
			// The user pauses while the third page is being fetched.
			go v.e.Pause(context.Background(), api.PauseRequest{})
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	})
	v.activate("pw")
	s := v.session()
	if s.Outcome != "stopped" {
		t.Fatalf("outcome %q, want stopped", s.Outcome)
	}
	if s.Added != 25 || v.items() != 25 {
		t.Fatalf("session added %d, store holds %d; want the 3 fetched pages (25 items)", s.Added, v.items())
	}
	cursor, _ := v.st.Cursor(context.Background(), "work", api.Inbox)
	if cursor == "" {
		t.Fatal("no cursor stored for the committed pages")
	}
	if st := v.status(); st.State != api.Paused {
		t.Fatalf("state %v, want paused", st.State)
	}
	v.mb.SetHook(nil)
	if err := v.e.Resume(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	s = v.session()
	if s.Outcome != "ok" || s.Added != 8 || v.items() != 33 {
		t.Fatalf("after resume: %+v, store %d; want the remaining 8 added, 33 in all", s, v.items())
	}
}

func TestPausePersistsAcrossRestart(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	if err := v.e.Pause(context.Background(), api.PauseRequest{For: api.Duration(4 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := v.e.Pause(context.Background(), api.PauseRequest{Account: "work"}); err != nil {
		t.Fatal(err)
	}
	v.restart()
	s, _ := v.e.Status(context.Background())
	if !s.Paused || !s.PausedUntil.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("global pause after restart: %v until %v", s.Paused, s.PausedUntil)
	}
	v.clock.Advance(2 * time.Hour)
	v.quiet()
	if st := v.status(); st.State != api.Paused || !st.Paused {
		t.Fatalf("account after restart: %v paused=%v", st.State, st.Paused)
	}
	v.clock.Advance(3 * time.Hour) // global pause over; the account's own pause holds
	v.quiet()
	if err := v.e.SyncNow(context.Background(), "work"); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("SyncNow while paused: %v", err)
	}
	v.restart()
	if err := v.e.Resume(context.Background(), "work"); err != nil {
		t.Fatal(err)
	}
	if s := v.session(); s.Outcome != "ok" || s.Trigger != "catch-up" {
		t.Fatalf("after resume: %+v, want an overdue sync at once", s)
	}
}

func TestInvalidCursorResyncsWithoutDuplicates(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.mb.InvalidateCursors()
	v.mb.Add(api.Inbox, 1, t0)
	v.clock.Advance(interval)
	s := v.session()
	if s.Outcome != "ok" || s.Added != 1 {
		t.Fatalf("resync session %+v, want ok with only the new item added", s)
	}
	if n := v.items(); n != 34 {
		t.Fatalf("store holds %d, want 34", n)
	}
}

func TestDeletionsAndUpdates(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	if err := v.mb.Delete("inbox-3"); err != nil {
		t.Fatal(err)
	}
	if err := v.mb.Update("inbox-4"); err != nil {
		t.Fatal(err)
	}
	v.clock.Advance(interval)
	if s := v.session(); s.Removed != 1 || s.Updated != 1 || s.Added != 0 {
		t.Fatalf("session %+v, want 1 removed and 1 updated", s)
	}
	page, err := v.e.Activity(context.Background(), api.ActivityQuery{Account: "work", IncludeDeleted: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range page.Items {
		if it.ProviderID == "inbox-3" {
			found = it.Deleted
		}
	}
	if !found {
		t.Fatal("deleted item not marked deleted")
	}
}

func TestQuitMidSessionStopsAtPageBoundary(t *testing.T) {
	v := newEnv(t)
	v.mb.SetPageDelay(250 * time.Millisecond) // a wide window for the quit to land mid-session, even under load
	v.activate("pw")
	v.next(api.EventSessionProgress)
	v.stop()
	// What the quit left, read before an engine starts again (the next
	// one syncs at once: the stopped session is due).
	sessions, err := v.st.Sessions(context.Background(), api.SessionQuery{Account: "work"})
	if err != nil || len(sessions) != 1 || sessions[0].Outcome != "stopped" {
		t.Fatalf("sessions after quit: %+v %v", sessions, err)
	}
	n := v.items()
	if n == 0 || n == 33 || n != sessions[0].Added {
		t.Fatalf("store holds %d items, session says %d: want the committed pages only", n, sessions[0].Added)
	}
	v.st.Close()
	v.mb.SetPageDelay(0)
	v.start()
	if s := v.session(); s.Outcome != "ok" || v.items() != 33 {
		t.Fatalf("after restart: %+v with %d items", s, v.items())
	}
}

// TestPurgeWithoutKeyringKeepsEverything checks that a removal the
// keyring refuses removes nothing and says so.
func TestPurgeWithoutKeyringKeepsEverything(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.sec.SetFailure(&secret.UnavailableError{})
	err := v.e.RemoveAccount(context.Background(), "work", true)
	if err == nil || !strings.Contains(err.Error(), "not removed") || !strings.Contains(err.Error(), "synced data is kept") {
		t.Fatalf("purge without a keyring: %v", err)
	}
	v.sec.SetFailure(nil)
	if n := v.items(); n != 33 {
		t.Fatalf("%d items left, want the 33 synced", n)
	}
	if accts, _ := v.e.Accounts(context.Background()); len(accts) != 1 {
		t.Fatalf("accounts after the refused removal: %+v", accts)
	}
	// The account syncs on.
	v.clock.Advance(interval)
	if s := v.session(); s.Outcome != "ok" {
		t.Fatalf("the next sync after the refused removal: %+v", s)
	}
}

func TestRemoveAccount(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	if err := v.e.RemoveAccount(context.Background(), "work", false); err != nil {
		t.Fatal(err)
	}
	if _, err := v.sec.Get("work", secret.KeyPassword); !errors.Is(err, secret.ErrNotFound) {
		t.Fatalf("password still in the keyring after remove: %v", err)
	}
	if st := v.status(); st.State != api.NotActivated {
		t.Fatalf("state %v after remove", st.State)
	}
	if v.items() != 33 {
		t.Fatal("remove without purge lost the synced data")
	}
	v.clock.Advance(2 * interval)
	v.quiet()
	if err := v.e.RemoveAccount(context.Background(), "work", true); err != nil {
		t.Fatal(err)
	}
	if v.items() != 0 {
		t.Fatal("purge kept the synced data")
	}
	if p, err := v.st.PendingRemovals(context.Background()); err != nil || len(p) != 0 {
		t.Fatalf("a removal is left pending: %v, %v", p, err)
	}
	if err := v.e.RemoveAccount(context.Background(), "work", true); !errors.Is(err, api.ErrUnknownAccount) {
		t.Fatalf("removing twice: %v", err)
	}
}

func TestSettingsValidation(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	bad := []api.Settings{
		{Interval: api.Duration(time.Minute), HistoryDays: 30, Folders: api.AllFolders},
		{Interval: api.Duration(time.Hour), HistoryDays: 0, Folders: api.AllFolders},
		{Interval: api.Duration(time.Hour), HistoryDays: 30},
		{Interval: api.Duration(time.Hour), HistoryDays: 30, Folders: []api.Folder{"drafts"}},
	}
	for _, s := range bad {
		if _, err := v.e.UpdateSettings(ctx, s); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("UpdateSettings(%+v) = %v, want invalid", s, err)
		}
	}
	good := api.Settings{Interval: api.Duration(time.Hour), HistoryDays: 7, Folders: []api.Folder{api.Inbox}}
	if _, err := v.e.UpdateSettings(ctx, good); err != nil {
		t.Fatal(err)
	}
	v.restart()
	got, _ := v.e.Settings(ctx)
	if got.Interval != good.Interval || got.HistoryDays != 7 || len(got.Folders) != 1 {
		t.Fatalf("settings after restart: %+v", got)
	}
	v.activate("pw")
	if s := v.session(); s.Added != 25 {
		t.Fatalf("with only Inbox selected the session added %d, want 25", s.Added)
	}
}

func TestUnknownProviderSaysNotAvailable(t *testing.T) {
	v := newEnv(t)
	_, err := v.e.Activate(context.Background(), api.ActivationRequest{Provider: "office365"}, nil)
	if !errors.Is(err, api.ErrUnsupported) || !strings.Contains(err.Error(), "Office 365") {
		t.Fatalf("activate office365: %v", err)
	}
	_, err = v.e.Activate(context.Background(), api.ActivationRequest{Provider: "scripted", Account: "x", Password: "wrong", Settings: map[string]string{"mailbox": "mb"}}, nil)
	if provider.Classify(err) != provider.ClassRejected {
		t.Fatalf("activate with a wrong password: %v", err)
	}
	if accts, _ := v.e.Accounts(context.Background()); len(accts) != 0 {
		t.Fatal("a failed activation left an account behind")
	}
	if _, err := v.sec.Get("x", secret.KeyPassword); !errors.Is(err, secret.ErrNotFound) {
		t.Fatal("a failed activation left a password in the keyring")
	}
}

func TestAccountNames(t *testing.T) {
	v := newEnv(t)
	for _, name := range []string{"a b", "../x", "ann@corp", strings.Repeat("a", 65)} {
		_, err := v.e.Activate(context.Background(), api.ActivationRequest{Provider: "scripted", Account: name, Password: "pw", Settings: map[string]string{"mailbox": "mb"}}, nil)
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "account name") {
			t.Errorf("account %q: %v, want a refused name", name, err)
		}
	}
	long := strings.Repeat("a", 64)
	if _, err := v.e.Activate(context.Background(), api.ActivationRequest{Provider: "scripted", Account: long, Password: "pw", Settings: map[string]string{"mailbox": "mb"}}, nil); err != nil {
		t.Fatalf("a name of 64 characters: %v", err)
	}
}

func TestReactivationKeepsStoredSettings(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.mb.FailAll(provider.GrantGone("Please sign in again.", nil))
	v.clock.Advance(interval)
	v.session()
	v.mb.FailAll(nil)
	// The window or CLI sends only the password; the mailbox setting and
	// the login come from the stored account.
	a, err := v.e.Activate(context.Background(), api.ActivationRequest{Provider: "scripted", Account: "work", Password: "pw"}, nil)
	if err != nil {
		t.Fatalf("re-activation without settings: %v", err)
	}
	if a.Settings["mailbox"] != "mb" || a.Login != "ann" {
		t.Fatalf("re-activated account lost its settings: %+v", a)
	}
	if s := v.session(); s.Outcome != "ok" {
		t.Fatalf("after re-activation: %+v", s)
	}
}
