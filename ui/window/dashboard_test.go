package window

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/sync/api"
)

// agentState is what the fake agent answers, changed by the test while the
// window runs.
type agentState struct {
	mu       sync.Mutex
	status   api.Status
	accounts []api.Account
}

func (s *agentState) set(f func(*agentState)) {
	s.mu.Lock()
	f(s)
	s.mu.Unlock()
}

func newAgentState() *agentState {
	now := time.Now()
	last := &api.Session{ID: 7, Account: "work", Trigger: "schedule", Start: now.Add(-10 * time.Minute), End: now.Add(-10*time.Minute + 2100*time.Millisecond), Outcome: "ok", Counts: api.Counts{Added: 12, Updated: 3}}
	return &agentState{
		status: api.Status{Source: "agent", Interval: api.Duration(30 * time.Minute), Accounts: []api.AccountStatus{
			{Account: "work", Provider: "exchange", Email: "ann@corp.example", State: api.Idle, Words: "Up to date", NextSync: now.Add(20 * time.Minute), LastSync: last, LastSuccess: last},
		}},
		accounts: []api.Account{{ID: "work", Provider: "exchange", Login: "CORP\\ann", Email: "ann@corp.example"}},
	}
}

func (s *agentState) wire(f *fakeControl) {
	f.StatusFn = func() (api.Status, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		st := s.status
		st.Accounts = append([]api.AccountStatus(nil), st.Accounts...)
		return st, nil
	}
	f.AccountsFn = func() ([]api.Account, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return append([]api.Account(nil), s.accounts...), nil
	}
}

func newDashboardWindow(t *testing.T, f *fakeControl) (*Dashboard, *ui) {
	t.Helper()
	u := newUI(t)
	w := NewDashboard(u.app, f, Options{})
	u.attach(&w.base)
	w.Start()
	u.waitFor("the first load", func() bool { return w.headline.Text != "Loading…" })
	return w, u
}

func TestDashboardShowsState(t *testing.T) {
	f := newFake()
	s := newAgentState()
	s.wire(f)
	f.SessionsFn = func(api.SessionQuery) ([]api.Session, error) {
		return []api.Session{*s.status.Accounts[0].LastSync}, nil
	}
	w, _ := newDashboardWindow(t, f)
	if w.headline.Text != "Up to date" {
		t.Errorf("headline = %q", w.headline.Text)
	}
	if !strings.Contains(w.summary.Text, "Sync runs every 30 minutes. Next sync: ") {
		t.Errorf("summary = %q", w.summary.Text)
	}
	c := w.overview["work"]
	if c == nil {
		t.Fatal("no card for work")
	}
	if !strings.HasPrefix(c.last.Text, "Last successful sync: ") || !strings.Contains(c.last.Text, "12 added, 3 updated, 0 removed, took 2.1 seconds") || !strings.Contains(c.last.Text, "finished") {
		t.Errorf("last sync = %q", c.last.Text)
	}
	if c.card.Subtitle != "Microsoft Exchange · ann@corp.example" {
		t.Errorf("subtitle = %q", c.card.Subtitle)
	}
	if len(w.sessions) != 1 {
		t.Errorf("%d sessions in the history", len(w.sessions))
	}
	if r := w.connRows["work"]; r == nil || r.state.Text != "Connected" {
		t.Errorf("connection row = %+v", r)
	}
}

func TestDashboardLiveUpdates(t *testing.T) {
	f := newFake()
	s := newAgentState()
	s.wire(f)
	w, u := newDashboardWindow(t, f)
	c := w.overview["work"]

	reason := "your mailbox rejected the last 6 sync attempts — has your password changed?"
	s.set(func(s *agentState) {
		a := &s.status.Accounts[0]
		a.State, a.Words, a.Reason, a.NextSync = api.NeedsReactivation, "Needs re-activation", reason, time.Time{}
		a.LastSync = &api.Session{Account: "work", Start: time.Now(), End: time.Now(), Outcome: "rejected", Error: "the mailbox rejected the password"}
	})
	f.events <- api.Event{Type: api.EventState, Account: "work", From: api.Idle, To: api.NeedsReactivation}
	u.waitFor("the new state", func() bool { return w.headline.Text == "Needs re-activation" })
	if c.reason.Text != sentence(reason) || !c.reason.Visible() {
		t.Errorf("reason = %q", c.reason.Text)
	}
	// The failed try is named as such; "last successful sync" stays the
	// time the data was current.
	if !regexp.MustCompile(`^Last try [0-9:]+ \(just now\) failed: the mailbox rejected the password\.$`).MatchString(c.lastErr.Text) {
		t.Errorf("last error = %q", c.lastErr.Text)
	}
	if !strings.HasPrefix(c.last.Text, "Last successful sync: ") || !strings.Contains(c.last.Text, "12 added") {
		t.Errorf("last sync = %q", c.last.Text)
	}
	if r := w.connRows["work"]; !strings.Contains(r.state.Text, "sign in again") {
		t.Errorf("connection = %q", r.state.Text)
	}

	// A second account appears.
	s.set(func(s *agentState) {
		s.status.Accounts = append(s.status.Accounts, api.AccountStatus{Account: "home", Provider: "gmail", State: api.Syncing, Words: "Syncing",
			Progress: &api.Progress{Folder: api.Inbox, Pages: 2, Counts: api.Counts{Added: 40}}})
		s.accounts = append(s.accounts, api.Account{ID: "home", Provider: "gmail", Email: "ann@gmail.com"})
	})
	f.events <- api.Event{Type: api.EventAccounts, Account: "home"}
	u.waitFor("the second account", func() bool { return w.overview["home"] != nil })
	if w.headline.Text != "Needs re-activation (1 of 2 accounts)" {
		t.Errorf("headline = %q", w.headline.Text)
	}
	if p := w.overview["home"].progress.Text; p != "Syncing Inbox: 40 added, 0 updated, 0 removed so far." {
		t.Errorf("progress = %q", p)
	}
	if len(w.cards.Objects) != 2 || len(w.connRows) != 2 {
		t.Errorf("%d cards, %d connections", len(w.cards.Objects), len(w.connRows))
	}
}

func TestDashboardForceSyncTooSoon(t *testing.T) {
	f := newFake()
	newAgentState().wire(f)
	var calls recorder[string]
	f.SyncNowFn = func(account string) error {
		calls.add(account)
		if len(calls.all()) == 1 {
			return nil
		}
		return &api.TooSoonError{Wait: 40 * time.Second}
	}
	w, u := newDashboardWindow(t, f)
	test.Tap(w.syncNow)
	u.waitFor("the answer", func() bool { return w.actMsg.Text == "Sync started." })
	test.Tap(w.syncNow)
	if !w.syncNow.Disabled() {
		t.Error("Force sync stays enabled while asking")
	}
	u.waitFor("the refusal", func() bool { return strings.Contains(w.actMsg.Text, "40 seconds") })
	if want := "A sync ran less than a minute ago. Try again in 40 seconds."; w.actMsg.Text != want {
		t.Errorf("message = %q, want %q", w.actMsg.Text, want)
	}
	if w.syncNow.Disabled() {
		t.Error("Force sync stays disabled")
	}
	if got := calls.all(); len(got) != 2 || got[0] != "" {
		t.Errorf("SyncNow calls = %q", got)
	}
}

func TestDashboardPauseStart(t *testing.T) {
	f := newFake()
	s := newAgentState()
	s.wire(f)
	var pauses recorder[api.PauseRequest]
	var resumes recorder[string]
	f.PauseFn = func(req api.PauseRequest) error {
		pauses.add(req)
		s.set(func(s *agentState) { s.status.Paused = true })
		f.events <- api.Event{Type: api.EventPause}
		return nil
	}
	f.ResumeFn = func(account string) error {
		resumes.add(account)
		s.set(func(s *agentState) { s.status.Paused = false })
		f.events <- api.Event{Type: api.EventPause}
		return nil
	}
	w, u := newDashboardWindow(t, f)
	if w.pause.Text != "Pause" {
		t.Fatalf("button = %q", w.pause.Text)
	}
	test.Tap(w.pause)
	u.waitFor("Start", func() bool { return w.pause.Text == "Start" })
	if !strings.Contains(w.summary.Text, "paused until you start it again") {
		t.Errorf("summary = %q", w.summary.Text)
	}
	test.Tap(w.pause)
	u.waitFor("Pause", func() bool { return w.pause.Text == "Pause" })
	if len(pauses.all()) != 1 || len(resumes.all()) != 1 || resumes.all()[0] != "" {
		t.Errorf("pauses %v, resumes %q", pauses.all(), resumes.all())
	}
}

func TestDashboardNoAccount(t *testing.T) {
	f := newFake()
	var opened recorder[api.WindowRequest]
	f.OpenWindowFn = func(req api.WindowRequest) error { opened.add(req); return nil }
	w, u := newDashboardWindow(t, f)
	if w.headline.Text != "No mailbox connected yet" || !w.syncNow.Disabled() || !w.pause.Disabled() || !w.addFirst.Visible() {
		t.Errorf("headline %q, sync disabled %v, pause disabled %v, connect shown %v", w.headline.Text, w.syncNow.Disabled(), w.pause.Disabled(), w.addFirst.Visible())
	}
	test.Tap(w.addFirst)
	u.waitFor("the request", func() bool { return len(opened.all()) == 1 })
	if got := opened.all()[0]; got != (api.WindowRequest{Window: "activate"}) {
		t.Errorf("request = %+v", got)
	}
}

func TestDashboardConnections(t *testing.T) {
	f := newFake()
	s := newAgentState()
	s.wire(f)
	var opened recorder[api.WindowRequest]
	f.OpenWindowFn = func(req api.WindowRequest) error { opened.add(req); return nil }
	var removed recorder[string]
	f.RemoveAccountFn = func(account string, purge bool) error {
		removed.add(fmt.Sprintf("%s purge=%v", account, purge))
		s.set(func(s *agentState) { s.accounts[0].Disabled = true })
		f.events <- api.Event{Type: api.EventAccounts, Account: account}
		return nil
	}
	w, u := newDashboardWindow(t, f)
	r := w.connRows["work"]

	test.Tap(r.refresh)
	u.waitFor("the activation window", func() bool { return len(opened.all()) == 1 })
	if got := opened.all()[0]; got != (api.WindowRequest{Window: "activate", Account: "work"}) {
		t.Errorf("Refresh asked for %+v", got)
	}

	test.Tap(r.disconnect)
	if len(removed.all()) != 0 {
		t.Fatal("disconnected without asking")
	}
	confirm := findButton(w.win.Canvas().Overlays().Top(), "Disconnect")
	if confirm == nil {
		t.Fatal("no confirmation dialog")
	}
	test.Tap(confirm)
	u.waitFor("the disconnection", func() bool { return w.connRows["work"].state.Text == "Disconnected" })
	if got := removed.all(); len(got) != 1 || got[0] != "work purge=false" {
		t.Errorf("RemoveAccount calls = %q", got)
	}
	if !r.disconnect.Disabled() || r.refresh.Text != "Reconnect" {
		t.Errorf("after disconnecting: disconnect disabled %v, refresh %q", r.disconnect.Disabled(), r.refresh.Text)
	}
}

func TestDashboardDisconnectCancelled(t *testing.T) {
	f := newFake()
	newAgentState().wire(f)
	var removed recorder[string]
	f.RemoveAccountFn = func(account string, _ bool) error { removed.add(account); return nil }
	w, u := newDashboardWindow(t, f)
	test.Tap(w.connRows["work"].disconnect)
	cancel := findButton(w.win.Canvas().Overlays().Top(), "Cancel")
	if cancel == nil {
		t.Fatal("no Cancel in the confirmation")
	}
	test.Tap(cancel)
	u.settle()
	if len(removed.all()) != 0 {
		t.Error("disconnected after Cancel")
	}
}

func TestDashboardActivitySearch(t *testing.T) {
	f := newFake()
	newAgentState().wire(f)
	var queries recorder[string]
	f.ActivityFn = func(q api.ActivityQuery) (api.ActivityPage, error) {
		queries.add(q.Search)
		items := []api.StoredItem{
			{Account: "work", Item: api.Item{Subject: "Acme renewal", From: "bob@acme.example", Folder: api.Inbox, Kind: api.KindMail, Time: time.Now()}},
			{Account: "work", Item: api.Item{Subject: "Lunch", From: "eve@corp.example", Folder: api.Inbox, Kind: api.KindMail, Time: time.Now()}},
		}
		var out []api.StoredItem
		for _, it := range items {
			if strings.Contains(strings.ToLower(it.Subject+it.From), strings.ToLower(q.Search)) {
				out = append(out, it)
			}
		}
		return api.ActivityPage{Items: out, Total: len(out)}, nil
	}
	w, u := newDashboardWindow(t, f)
	u.waitFor("the activity", func() bool { return len(w.activity) == 2 })
	test.Type(w.search, "acme")
	u.waitFor("the search", func() bool { return strings.Contains(w.activityNote.Text, "“acme”") })
	if len(w.activity) != 1 || w.activity[0].Subject != "Acme renewal" {
		t.Errorf("found %q, note %q", w.activity[0].Subject, w.activityNote.Text)
	}
	test.Type(w.search, "zzz")
	u.waitFor("no match", func() bool { return strings.Contains(w.activityNote.Text, "acmezzz") })
	if w.activityNote.Text != "Nothing matches “acmezzz”." {
		t.Errorf("note = %q", w.activityNote.Text)
	}
	// Typing fast searches once per pause, not once per letter.
	if q := queries.all(); !reflect.DeepEqual(q, []string{"", "acme", "acmezzz"}) {
		t.Errorf("queries %q, want the start, acme and acmezzz", q)
	}
}

// findButton finds the button labelled text under o.
func findButton(o fyne.CanvasObject, text string) *widget.Button {
	switch v := o.(type) {
	case *widget.Button:
		if v.Text == text {
			return v
		}
	case *fyne.Container:
		for _, c := range v.Objects {
			if b := findButton(c, text); b != nil {
				return b
			}
		}
	case fyne.Widget:
		r := test.WidgetRenderer(v)
		for _, c := range r.Objects() {
			if b := findButton(c, text); b != nil {
				return b
			}
		}
	}
	return nil
}

// `inboxsync ui dashboard --tab NAME` opens the dashboard on that tab.
func TestDashboardOpensOnTab(t *testing.T) {
	for i, name := range DashboardTabs {
		u := newUI(t)
		w := NewDashboard(u.app, newFake(), Options{Tab: strings.ToUpper(name)})
		u.attach(&w.base)
		if got := w.tabs.SelectedIndex(); got != i {
			t.Errorf("Tab %q: tab %d selected, want %d", name, got, i)
		}
	}
	u := newUI(t)
	w := NewDashboard(u.app, newFake(), Options{})
	u.attach(&w.base)
	if got := w.tabs.SelectedIndex(); got != 0 {
		t.Errorf("no Tab: tab %d selected, want the overview", got)
	}
}
