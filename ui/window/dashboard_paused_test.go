package window

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/inboxsync/inboxsync/sync/api"
)

// A paused agent with no account yet says it is paused, and Start lifts
// the pause.
func TestDashboardPausedWithNoAccount(t *testing.T) {
	f := newFake()
	s := newAgentState()
	s.set(func(s *agentState) {
		s.status.Accounts, s.accounts = []api.AccountStatus{}, []api.Account{}
		s.status.Paused = true
	})
	s.wire(f)
	var resumes recorder[string]
	f.ResumeFn = func(account string) error {
		resumes.add(account)
		s.set(func(s *agentState) { s.status.Paused = false })
		f.events <- api.Event{Type: api.EventPause}
		return nil
	}
	w, u := newDashboardWindow(t, f)
	if !strings.HasPrefix(w.summary.Text, "Sync is paused until you start it again.\nConnect your mailbox") {
		t.Errorf("summary = %q", w.summary.Text)
	}
	if w.pause.Text != "Start" || w.pause.Disabled() {
		t.Fatalf("the Start button: %q, disabled %v", w.pause.Text, w.pause.Disabled())
	}
	test.Tap(w.pause)
	u.waitFor("not paused", func() bool { return strings.HasPrefix(w.summary.Text, "Connect your mailbox") })
	if got := resumes.all(); len(got) != 1 || got[0] != "" {
		t.Errorf("resumes %q", got)
	}
}

func TestSummaryPausedForAWhileWithNoAccount(t *testing.T) {
	now := time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)
	st := api.Status{Paused: true, PausedUntil: now.Add(time.Hour), Interval: api.Duration(30 * time.Minute)}
	if got := summary(st, now); !strings.HasPrefix(got, "Sync is paused until "+when(st.PausedUntil, now)+".\nConnect your mailbox") {
		t.Errorf("summary = %q", got)
	}
}

// The overview says what cures each state that needs the user: a new
// sign-in (Refresh) for needs-reactivation, a successful sync (Force sync)
// for suspended.
func TestSummaryNamesTheCureOfEachStoppedState(t *testing.T) {
	now := time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)
	st := api.Status{Interval: api.Duration(30 * time.Minute), Accounts: []api.AccountStatus{
		{Account: "work", State: api.NeedsReactivation},
		{Account: "home", State: api.Suspended},
		{Account: "other", State: api.Idle},
	}}
	got := summary(st, now)
	for _, want := range []string{
		"work needs you: open Connections and choose Refresh.",
		"home stopped after repeated failures: once the cause is fixed, choose Force sync.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "home needs you") || strings.Contains(got, "other") {
		t.Errorf("summary names the wrong cure or a healthy account:\n%s", got)
	}
}
