package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/desktopnotice"
	"github.com/inboxsync/inboxsync/sync/policy"
)

// relayControl is an engine for relayNotices and openFirstStart: its
// events come from a channel, and the rest from fields. The methods they
// must not call panic (the nil embedded Control).
type relayControl struct {
	api.Control
	events   chan api.Event
	settings api.Settings
	accounts []api.Account
	err      error
	policy   api.Policy
}

func (c *relayControl) Subscribe(context.Context) (<-chan api.Event, error) { return c.events, nil }
func (c *relayControl) Settings(context.Context) (api.Settings, error)      { return c.settings, nil }
func (c *relayControl) Accounts(context.Context) ([]api.Account, error)     { return c.accounts, c.err }
func (c *relayControl) Policy(context.Context) (api.Policy, error)          { return c.policy, nil }

// recorder records notices and window requests.
type recorder struct {
	mu      sync.Mutex
	notices []desktopnotice.Notice
	windows []api.WindowRequest
}

func (r *recorder) Notify(_ context.Context, n desktopnotice.Notice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices = append(r.notices, n)
	return nil
}

func (r *recorder) open(req api.WindowRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.windows = append(r.windows, req)
}

func (r *recorder) got() ([]desktopnotice.Notice, []api.WindowRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]desktopnotice.Notice(nil), r.notices...), append([]api.WindowRequest(nil), r.windows...)
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// relay runs relayNotices over events and returns what it did.
func relay(t *testing.T, hidden bool, notifications bool, events ...api.Event) *recorder {
	t.Helper()
	return relayWith(t, api.Policy{}, hidden, notifications, events...)
}

// relayWith is relay under the policy p.
func relayWith(t *testing.T, p api.Policy, hidden bool, notifications bool, events ...api.Event) *recorder {
	t.Helper()
	c := &relayControl{events: make(chan api.Event, len(events)), settings: api.Settings{Notifications: notifications}, policy: p}
	for _, ev := range events {
		c.events <- ev
	}
	close(c.events)
	r := &recorder{}
	relayNotices(context.Background(), c, r, discard, r.open, func() bool { return hidden })
	return r
}

func TestRelayNotices(t *testing.T) {
	suspended := api.Event{Type: api.EventState, Account: "work", From: api.Idle, To: api.Suspended}
	notice := api.Event{Type: api.EventNotice, Account: "work", Title: "Action required – Sync suspended", Message: "Sync stopped."}
	reactivate := api.Event{Type: api.EventOpenWindow, Account: "work", Window: &api.WindowRequest{Window: "activate", Account: "work", Reason: "why"}}
	dashboard := api.WindowRequest{Window: "dashboard"}

	t.Run("suspended with no icon shown opens the dashboard", func(t *testing.T) {
		notices, windows := relay(t, true, true, suspended, notice).got()
		want(t, windows, []api.WindowRequest{dashboard})
		want(t, notices, []desktopnotice.Notice{{Title: notice.Title, Message: notice.Message}})
	})
	t.Run("suspended with the icon shown opens nothing", func(t *testing.T) {
		_, windows := relay(t, false, true, suspended, notice).got()
		want(t, len(windows), 0)
	})
	t.Run("staying suspended opens nothing again", func(t *testing.T) {
		again := suspended
		again.From = api.Suspended
		_, windows := relay(t, true, true, again).got()
		want(t, len(windows), 0)
	})
	t.Run("re-activation opens its window with or without the icon", func(t *testing.T) {
		for _, hidden := range []bool{false, true} {
			_, windows := relay(t, hidden, true, reactivate).got()
			want(t, windows, []api.WindowRequest{*reactivate.Window})
		}
	})
	t.Run("organisation mode opens no activation window, the rest as usual", func(t *testing.T) {
		org := policy.Parse("activation = \"organisation\"\n")
		notices, windows := relayWith(t, org, true, true, reactivate, suspended, notice).got()
		want(t, windows, []api.WindowRequest{dashboard})
		want(t, notices, []desktopnotice.Notice{{Title: notice.Title, Message: notice.Message}})
	})
	t.Run("notifications turned off", func(t *testing.T) {
		notices, windows := relay(t, true, false, suspended, notice).got()
		want(t, len(notices), 0)
		want(t, windows, []api.WindowRequest{dashboard}) // the window is not a notification
	})
}

func TestOpenFirstStart(t *testing.T) {
	tests := []struct {
		name     string
		accounts []api.Account
		err      error
		want     []api.WindowRequest
	}{
		{"no account at all", nil, nil, []api.WindowRequest{{Window: "activate"}}},
		{"an account", []api.Account{{ID: "work"}}, nil, nil},
		{"the accounts cannot be read", nil, errors.New("disk gone"), nil},
		{"no account, the organisation runs sync", nil, nil, nil},
		{"no account, activation = user", nil, nil, []api.WindowRequest{{Window: "activate"}}},
	}
	policies := map[string]api.Policy{
		"no account, the organisation runs sync": policy.Parse("activation = \"organisation\"\nadmin_email = \"admin@example.com\"\n"),
		"no account, activation = user":          policy.Parse("activation = \"user\"\n"),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			openFirstStart(context.Background(), &relayControl{accounts: tt.accounts, err: tt.err, policy: policies[tt.name]}, discard, r.open)
			_, windows := r.got()
			want(t, windows, tt.want)
		})
	}
}

func TestTrayPresenceTellsOnceWhenNoPanelShowsTheIcon(t *testing.T) {
	told := make(chan struct{}, 4)
	p := newTrayPresence(50*time.Millisecond, func() { told <- struct{}{} })
	defer p.stop()
	if !p.hidden() {
		t.Fatal("the icon counts as shown before any panel was seen")
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case <-told:
			t.Fatalf("%s: the user was told", what)
		case <-time.After(200 * time.Millisecond):
		}
	}

	// At login the panel may come up a moment after the agent.
	p.changed(false)
	p.changed(true)
	quiet("a panel appeared within the grace period")
	if p.hidden() {
		t.Fatal("hidden with a panel")
	}

	// The panel goes away for good: the user is told once.
	p.changed(false)
	if !p.hidden() {
		t.Fatal("not hidden without a panel")
	}
	select {
	case <-told:
	case <-time.After(5 * time.Second):
		t.Fatal("the user was not told that no panel shows the icon")
	}
	p.changed(true)
	p.changed(false)
	p.changed(false)
	quiet("a second time in the same run")
}

func TestTrayPresenceStopCancelsTheNotice(t *testing.T) {
	told := make(chan struct{}, 1)
	p := newTrayPresence(50*time.Millisecond, func() { told <- struct{}{} })
	p.changed(false)
	p.stop()
	select {
	case <-told:
		t.Fatal("told after stop")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestNoHostNoticeSaysHowToOpenInboxSync(t *testing.T) {
	n := noHostNotice("")
	for _, s := range []string{"no tray icons", "applications menu", "`inboxsync`", "dashboard"} {
		if !strings.Contains(n.Message, s) {
			t.Errorf("the notice lacks %q: %s", s, n.Message)
		}
	}
	if n := noHostNotice("/tmp/my home"); !strings.Contains(n.Message, "`inboxsync --home '/tmp/my home'`") {
		t.Errorf("the notice does not give the command for this home: %s", n.Message)
	}
	if n := noHostNotice("/tmp/demo"); !strings.Contains(n.Message, "`inboxsync --home /tmp/demo`") {
		t.Errorf("the notice does not give the command for this home: %s", n.Message)
	}
}

func want[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}
