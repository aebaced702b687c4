package tray

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/assets"
	"github.com/inboxsync/inboxsync/sync/api"
)

// now is a Wednesday afternoon.
var now = time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)

func at(hhmm string) time.Time {
	var h, m int
	fmt.Sscanf(hhmm, "%d:%d", &h, &m)
	return time.Date(2026, 11, 25, h, m, 0, 0, time.UTC)
}

// session is a session that succeeded, or one still running (end "").
func session(start, end string) *api.Session {
	s := &api.Session{Start: at(start), Outcome: api.OutcomeRunning}
	if end != "" {
		s.End, s.Outcome = at(end), api.OutcomeOK
	}
	return s
}

func acct(name string, st api.State, mods ...func(*api.AccountStatus)) api.AccountStatus {
	a := api.AccountStatus{Account: name, Provider: "scripted", State: st, Words: st.Words()}
	for _, m := range mods {
		m(&a)
	}
	return a
}

// last makes a session the account's newest, and its last success when it
// succeeded, as the engine does.
func last(start, end string) func(*api.AccountStatus) {
	return func(a *api.AccountStatus) {
		a.LastSync = session(start, end)
		if a.LastSync.Outcome == api.OutcomeOK {
			a.LastSuccess = a.LastSync
		}
	}
}

// failedTry makes a failed session the account's newest; its last success
// stays.
func failedTry(at1, outcome, why string) func(*api.AccountStatus) {
	return func(a *api.AccountStatus) {
		a.LastSync = &api.Session{Start: at(at1), End: at(at1), Outcome: outcome, Error: why}
	}
}

func next(t string) func(*api.AccountStatus) {
	return func(a *api.AccountStatus) { a.NextSync = at(t) }
}

func TestBuild(t *testing.T) {
	idle := acct("work", api.Idle, last("14:01", "14:02"), next("14:32"))
	tests := []struct {
		name   string
		status api.Status
		check  func(t *testing.T, v View)
	}{
		{"no account", api.Status{}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayNotActivated)
			want(t, v.Tooltip, "Inbox Sync — Not activated: connect a mailbox in the dashboard")
			want(t, v.SyncNow, Item{"Sync now", false})
			want(t, v.Pause, Item{"Pause", true})
			want(t, v.Paused, false)
			want(t, v.Reactivate, Item{"Re-activate…", false})
			want(t, v.Dashboard, Item{"Open dashboard", true})
			want(t, v.Settings, Item{"Settings", true})
			want(t, v.Quit, Item{"Quit", true})
			want(t, len(v.Accounts), 0)
			want(t, v.Attention, false)
		}},
		{"paused until resumed with no account", api.Status{Paused: true}, func(t *testing.T, v View) {
			want(t, v.Status, "Paused until you resume. Not activated: connect a mailbox in the dashboard")
			want(t, v.Tooltip, "Inbox Sync — Paused until you resume. Not activated: connect a mailbox in the dashboard")
			want(t, v.Icon, assets.TrayNotActivated) // connecting a mailbox comes first
			want(t, v.Paused, true)
			want(t, v.Resume, Item{"Resume", true})
			want(t, v.Pause.Enabled, false)
		}},
		{"paused for a while with no account", api.Status{Paused: true, PausedUntil: at("14:35")}, func(t *testing.T, v View) {
			want(t, v.Status, "Paused until 14:35. Not activated: connect a mailbox in the dashboard")
			want(t, v.Tooltip, "Inbox Sync — Paused until 14:35. Not activated: connect a mailbox in the dashboard")
		}},
		{"up to date", api.Status{Accounts: []api.AccountStatus{idle}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayIdle)
			want(t, v.Tooltip, "Inbox Sync — Up to date. Last sync 14:02, next 14:32")
			want(t, v.Status, "Up to date. Last sync 14:02, next 14:32")
			want(t, v.SyncNow, Item{"Sync now", true})
			want(t, v.Reactivate.Enabled, false)
			want(t, len(v.Accounts), 0) // one account: the main entries are its own
			want(t, v.Attention, false)
		}},
		{"first sync running", api.Status{Accounts: []api.AccountStatus{acct("work", api.Syncing, last("14:04", ""), func(a *api.AccountStatus) {
			a.Progress = &api.Progress{Counts: api.Counts{Added: 20, Updated: 4, Removed: 1}}
		})}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TraySyncing)
			want(t, v.Status, "Syncing (25 items so far)") // nothing synced before
			want(t, v.SyncNow.Enabled, false)
		}},
		{"paused for a while", api.Status{Paused: true, PausedUntil: at("14:35"), Accounts: []api.AccountStatus{acct("work", api.Paused, last("14:01", "14:02"))}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayPaused)
			want(t, v.Tooltip, "Inbox Sync — Paused until 14:35. Last sync 14:02")
			want(t, v.Paused, true)
			want(t, v.Pause.Enabled, false)
			want(t, v.Resume, Item{"Resume", true})
			want(t, v.SyncNow.Enabled, false)
			want(t, v.Attention, false)
		}},
		{"paused until resumed", api.Status{Paused: true, Accounts: []api.AccountStatus{acct("work", api.Paused)}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayPaused)
			want(t, v.Status, "Paused until you resume")
		}},
		{"paused while the state has not caught up", api.Status{Paused: true, Accounts: []api.AccountStatus{idle}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayPaused)
			want(t, v.SyncNow.Enabled, false)
		}},
		{"offline", api.Status{Accounts: []api.AccountStatus{acct("work", api.Offline, last("11:51", "11:52"), failedTry("12:03", "offline", "can't reach the mail server"), next("14:07"))}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayOffline)
			// "Last sync" is when the data was current, not the failed try.
			want(t, v.Status, "Offline. Last successful sync 11:52; last try 12:03 failed, next 14:07")
			want(t, v.Tooltip, "Inbox Sync — Offline. Last successful sync 11:52; last try 12:03 failed, next 14:07")
			want(t, v.SyncNow.Enabled, true)
			want(t, v.Attention, false)
		}},
		{"offline before any success", api.Status{Accounts: []api.AccountStatus{acct("work", api.Offline, failedTry("12:03", "offline", "can't reach the mail server"), next("14:07"))}}, func(t *testing.T, v View) {
			want(t, v.Status, "Offline. Last try 12:03 failed, next 14:07")
		}},
		{"two accounts, one failing: its line names the failed try", api.Status{Accounts: []api.AccountStatus{idle, acct("home", api.Offline, last("11:51", "11:52"), failedTry("12:03", "offline", "can't reach the mail server"), next("14:07"))}}, func(t *testing.T, v View) {
			want(t, v.Status, "Offline. Last successful sync 11:52; last try 12:03 failed, next 14:07")
			want(t, v.Accounts[0].Header, "work: Up to date, last sync 14:02")
			want(t, v.Accounts[1].Header, "home: Offline, last successful sync 11:52; last try 12:03 failed: can't reach the mail server")
		}},
		{"throttled looks like offline", api.Status{Accounts: []api.AccountStatus{acct("work", api.Throttled, next("14:10"))}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayOffline)
			want(t, v.Status, "Waiting for the server. Next sync 14:10")
		}},
		{"needs re-activation", api.Status{Accounts: []api.AccountStatus{acct("work", api.NeedsReactivation, last("13:00", "13:00"))}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayAttention)
			want(t, v.Status, "Needs re-activation. Last sync 13:00")
			want(t, v.Tooltip, "Inbox Sync — Needs re-activation. Last sync 13:00")
			want(t, v.Reactivate, Item{"Re-activate…", true})
			want(t, v.ReactivateAccount, "work")
			want(t, v.SyncNow.Enabled, false)
			want(t, v.Attention, true)
		}},
		{"needs re-activation while paused", api.Status{Paused: true, Accounts: []api.AccountStatus{acct("work", api.NeedsReactivation)}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayAttention)
			want(t, v.Reactivate.Enabled, true)
			want(t, v.Resume.Enabled, true)
			want(t, v.Attention, true)
		}},
		{"suspended", api.Status{Accounts: []api.AccountStatus{acct("work", api.Suspended)}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayAttention)
			want(t, v.Status, "Suspended")
			want(t, v.Reactivate.Enabled, false) // resuming or syncing re-enables it
			want(t, v.SyncNow.Enabled, true)
			want(t, v.Attention, true)
		}},
		{"two accounts: the worst wins, each has a section", api.Status{Accounts: []api.AccountStatus{idle, acct("home", api.NeedsReactivation)}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayAttention)
			want(t, v.SyncNow, Item{"Sync all now", true})
			want(t, v.Reactivate, Item{"Re-activate home…", true})
			want(t, v.ReactivateAccount, "home")
			want(t, v.Attention, true) // one account is enough
			want(t, v.Accounts, []AccountView{
				{Account: "work", Header: "work: Up to date, last sync 14:02", SyncNow: Item{"Sync work now", true}, Reactivate: Item{"Re-activate work…", false}},
				{Account: "home", Header: "home: Needs re-activation", SyncNow: Item{"Sync home now", false}, Reactivate: Item{"Re-activate home…", true}},
			})
			want(t, v.More, "")
		}},
		{"two accounts: last and next across both", api.Status{Accounts: []api.AccountStatus{idle, acct("home", api.Idle, last("14:03", "14:04"), next("14:20"))}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayIdle)
			// The data is current as of the older of the two syncs.
			want(t, v.Status, "Up to date. Last sync 14:02, next 14:20")
			want(t, v.Attention, false)
		}},
		{"more accounts than sections", api.Status{Accounts: []api.AccountStatus{
			acct("a1", api.Idle), acct("a2", api.Idle), acct("a3", api.Idle), acct("a4", api.Idle),
			acct("a5", api.Idle), acct("a6", api.Idle), acct("a7", api.NeedsReactivation),
		}}, func(t *testing.T, v View) {
			want(t, len(v.Accounts), MaxAccountSlots)
			want(t, v.More, "2 more accounts: see the dashboard")
			want(t, v.Icon, assets.TrayAttention)
			want(t, v.Reactivate, Item{"Re-activate a7…", true}) // reachable although it has no section
			want(t, v.Attention, true)                           // also from beyond the sections
		}},
		{"an account paused on its own", api.Status{Accounts: []api.AccountStatus{idle, acct("home", api.Paused, func(a *api.AccountStatus) {
			a.Paused, a.PausedUntil = true, at("16:00")
		})}}, func(t *testing.T, v View) {
			want(t, v.Icon, assets.TrayPaused)
			want(t, v.Paused, false) // the global pause is not set
			want(t, v.Accounts[1].Header, "home: Paused until 16:00")
			want(t, v.Accounts[1].SyncNow.Enabled, false)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, Build(tt.status, now)) })
	}
}

func want[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

func TestEveryStateHasItsIcon(t *testing.T) {
	for s := api.NotActivated; s <= api.Suspended; s++ {
		k := icon(s)
		if assets.TrayIcon(k, iconSize) == nil {
			t.Errorf("%s: no %d px icon %q", s, iconSize, k)
		}
		if assets.TrayIconICO(k) == nil {
			t.Errorf("%s: no .ico for %q", s, k)
		}
	}
}

func TestClock(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{at("09:30"), "09:30"},
		{at("23:59"), "23:59"},
		{at("14:02").Add(-24 * time.Hour), "Tue 14:02"},
		{at("08:00").Add(48 * time.Hour), "Fri 08:00"},
		{at("14:02").AddDate(0, -1, 0), "25 Oct 14:02"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) { want(t, clock(tt.t, now), tt.want) })
	}
}

func TestResolve(t *testing.T) {
	two := Build(api.Status{Accounts: []api.AccountStatus{
		acct("work", api.Idle), acct("home", api.NeedsReactivation),
	}}, now)
	paused := Build(api.Status{Paused: true, Accounts: []api.AccountStatus{acct("work", api.Paused)}}, now)
	tests := []struct {
		name   string
		v      View
		c      click
		want   action
		wantOK bool
	}{
		{"sync all", two, click{item: itemSyncNow}, action{item: itemSyncNow}, true},
		{"pause 1 hour", two, click{itemPause, 1}, action{item: itemPause, pauseFor: time.Hour}, true},
		{"pause until resumed", two, click{itemPause, 3}, action{item: itemPause}, true},
		{"pause: no such choice", two, click{itemPause, 9}, action{item: itemPause}, false},
		{"pause while paused", paused, click{itemPause, 0}, action{item: itemPause, pauseFor: 30 * time.Minute}, false},
		{"resume while not paused", two, click{item: itemResume}, action{item: itemResume}, false},
		{"resume", paused, click{item: itemResume}, action{item: itemResume}, true},
		{"sync while paused", paused, click{item: itemSyncNow}, action{item: itemSyncNow}, false},
		{"re-activate", two, click{item: itemReactivate}, action{item: itemReactivate, account: "home"}, true},
		{"re-activate: nobody needs it", paused, click{item: itemReactivate}, action{item: itemReactivate}, false},
		{"an account's sync", two, click{itemAccountSyncNow, 0}, action{item: itemAccountSyncNow, account: "work"}, true},
		{"an account's sync it cannot run", two, click{itemAccountSyncNow, 1}, action{item: itemAccountSyncNow, account: "home"}, false},
		{"an account's re-activation", two, click{itemAccountReactivate, 1}, action{item: itemAccountReactivate, account: "home"}, true},
		{"an empty section", two, click{itemAccountSyncNow, 3}, action{item: itemAccountSyncNow}, false},
		{"quit", paused, click{item: itemQuit}, action{item: itemQuit}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := resolve(tt.v, tt.c)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("resolve = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// activation = "organisation": with no mailbox here the tray says who runs
// sync and whom to ask, with a calm icon, and offers no Re-activate…;
// without the policy the same status asks to activate, as before.
func TestBuildOrganisation(t *testing.T) {
	org := &api.Organisation{AdminEmail: "admin@example.com"}
	v := Build(api.Status{Organisation: org}, now)
	want(t, v.Status, "Sync is run by your organisation. Questions: admin@example.com")
	want(t, v.Tooltip, "Inbox Sync — Sync is run by your organisation. Questions: admin@example.com")
	want(t, v.Icon, assets.TrayIdle)
	want(t, v.Organisation, true)
	want(t, v.Reactivate.Enabled, false)

	v = Build(api.Status{Organisation: &api.Organisation{}}, now)
	want(t, v.Status, "Sync is run by your organisation")

	v = Build(api.Status{Organisation: org, Paused: true}, now)
	want(t, v.Status, "Paused until you resume. Sync is run by your organisation. Questions: admin@example.com")
	want(t, v.Icon, assets.TrayPaused)

	// A mailbox left from before, needing a sign-in the policy no longer
	// allows: its state shows, but nothing offers to activate it.
	s := api.Status{Organisation: org, Accounts: []api.AccountStatus{acct("work", api.NeedsReactivation), acct("home", api.Idle)}}
	v = Build(s, now)
	want(t, v.Reactivate.Enabled, false)
	want(t, v.ReactivateAccount, "")
	want(t, v.Accounts[0].Reactivate.Enabled, false)
	want(t, v.Icon, assets.TrayAttention)

	// Salesforce's own sign-in is not a mailbox activation: it stays.
	s = api.Status{Organisation: org, CRM: &api.CRMStatus{State: api.ConnNeedsReactivation, Reason: "Salesforce no longer accepts the sign-in."}}
	v = Build(s, now)
	want(t, v.Reactivate, Item{"Sign in to Salesforce again…", true})

	// Without the policy: unchanged.
	v = Build(api.Status{}, now)
	want(t, v.Status, "Not activated: connect a mailbox in the dashboard")
	want(t, v.Icon, assets.TrayNotActivated)
	want(t, v.Organisation, false)
	v = Build(api.Status{Accounts: []api.AccountStatus{acct("work", api.NeedsReactivation)}}, now)
	want(t, v.Reactivate, Item{"Re-activate…", true})
}
