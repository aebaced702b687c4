package tray

import (
	"fmt"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/assets"
	"github.com/inboxsync/inboxsync/sync/api"
)

// MaxAccountSlots is how many accounts get their own section in the menu;
// the rest are summed up in one line that points to the dashboard. The menu
// is built once with this many sections (see menu.go for why).
const MaxAccountSlots = 5

// PauseChoices are the Pause submenu's entries, in order; 0 is "until
// resumed".
var PauseChoices = []struct {
	Label string
	For   time.Duration
}{
	{"30 minutes", 30 * time.Minute},
	{"1 hour", time.Hour},
	{"4 hours", 4 * time.Hour},
	{"Until resumed", 0},
}

// View is everything the tray shows for one engine.Status: the icon, the
// tooltip and each menu item's label and whether it can act now. It is a
// pure function of the Status and the time (see Build), so the tray needs
// no state of its own.
type View struct {
	// Icon is one of the assets.Tray* kinds.
	Icon string
	// Tooltip is the state in words with the last and next sync.
	Tooltip string
	// Status is the menu's first line (always disabled): like the
	// tooltip, without the product's name.
	Status string
	// Attention is set while some account needs the user (it needs
	// re-activation or is suspended): the StatusNotifierItem's Status is
	// then NeedsAttention instead of Active, so that panels can draw the
	// user's eye to the icon.
	Attention bool
	// Accounts has one section per account when there are several (the
	// first MaxAccountSlots); with one account the main items act on it.
	Accounts []AccountView
	// More sums up the accounts beyond MaxAccountSlots; "" for none.
	More string
	// SyncNow syncs every account that can sync.
	SyncNow Item
	// Paused is the global pause: the menu shows Resume instead of the
	// Pause submenu.
	Paused bool
	// Pause is the submenu's parent (its entries are PauseChoices);
	// Resume lifts the global pause.
	Pause, Resume Item
	// Dashboard and Settings open those windows.
	Dashboard, Settings Item
	// Reactivate opens the activation window for ReactivateAccount, the
	// first account that needs re-activation; disabled when none does.
	Reactivate        Item
	ReactivateAccount string
	// ReactivateCRM: Reactivate opens "Sign in to Salesforce again" (no
	// mailbox needs re-activation, the CRM connection does), with
	// CRMReason.
	ReactivateCRM bool
	CRMReason     string
	// Organisation: the organisation runs sync (the policy's activation
	// = "organisation"): the status line says so instead of asking to
	// activate, and no Re-activate… entry is shown (Reactivate is hidden
	// unless it signs in to Salesforce again).
	Organisation bool
	// Quit stops the agent.
	Quit Item
}

// Item is one menu entry.
type Item struct {
	Label   string
	Enabled bool
}

// AccountView is an account's section: a disabled header line, then its
// own Sync now and Re-activate… entries.
type AccountView struct {
	Account    string
	Header     string
	SyncNow    Item
	Reactivate Item
}

// Build returns what the tray shows for s at now.
func Build(s api.Status, now time.Time) View {
	worst := s.Worst()
	org := s.Organisation != nil
	if org && len(s.Accounts) == 0 && worst == api.NotActivated {
		// Nothing to activate here: the organisation syncs the mailbox.
		worst = api.Idle
	}
	if s.Paused && (worst == api.Idle || worst == api.Syncing) {
		worst = api.Paused
	}
	v := View{
		Organisation: org,
		Icon:         icon(worst),
		Paused:       s.Paused,
		Pause:        Item{"Pause", !s.Paused},
		Resume:       Item{"Resume", s.Paused},
		Dashboard:    Item{"Open dashboard", true},
		Settings:     Item{"Settings", true},
		Quit:         Item{"Quit", true},
	}
	v.Status = statusLine(s, worst, now)
	v.Tooltip = "Inbox Sync — " + v.Status

	several := len(s.Accounts) > 1
	v.SyncNow = Item{"Sync now", false}
	if several {
		v.SyncNow.Label = "Sync all now"
	}
	v.Reactivate = Item{"Re-activate…", false}
	for i, a := range s.Accounts {
		if a.State.NeedsAttention() {
			v.Attention = true
		}
		if canSync(a.State) && !s.Paused {
			v.SyncNow.Enabled = true
		}
		if a.State == api.NeedsReactivation && v.ReactivateAccount == "" {
			v.ReactivateAccount = a.Account
			v.Reactivate.Enabled = true
			if several {
				v.Reactivate.Label = "Re-activate " + a.Account + "…"
			}
		}
		if !several {
			continue
		}
		if i >= MaxAccountSlots {
			continue
		}
		v.Accounts = append(v.Accounts, AccountView{
			Account:    a.Account,
			Header:     accountHeader(a, now),
			SyncNow:    Item{"Sync " + a.Account + " now", canSync(a.State) && !s.Paused},
			Reactivate: Item{"Re-activate " + a.Account + "…", a.State == api.NeedsReactivation},
		})
	}
	// A CRM connection that needs the user shows like a mailbox that does.
	if _, ok := s.CRMAttention(); ok {
		v.Attention = true
		v.Status = "Salesforce needs you: " + strings.TrimSuffix(s.CRM.Reason, ".") + ". " + v.Status
		v.Tooltip = "Inbox Sync — " + v.Status
		if s.CRM.State == api.ConnNeedsReactivation && v.ReactivateAccount == "" {
			v.Reactivate = Item{"Sign in to Salesforce again…", true}
			v.ReactivateCRM, v.CRMReason = true, s.CRM.Reason
		}
	}
	if org {
		// Nothing is activated on this computer: the menu hides the
		// entries (see systrayMenu.show), and they cannot act.
		for i := range v.Accounts {
			v.Accounts[i].Reactivate.Enabled = false
		}
		if !v.ReactivateCRM {
			v.Reactivate.Enabled, v.ReactivateAccount = false, ""
		}
	}
	if n := len(s.Accounts) - MaxAccountSlots; n > 0 {
		v.More = fmt.Sprintf("%d more accounts: see the dashboard", n)
		if n == 1 {
			v.More = "1 more account: see the dashboard"
		}
	}
	return v
}

// icon is the one switch from state to picture. Offline and Throttled
// share a picture (both wait and retry by themselves), and so do the two
// states where the user must act.
func icon(s api.State) string {
	switch s {
	case api.Idle:
		return assets.TrayIdle
	case api.Syncing:
		return assets.TraySyncing
	case api.Paused:
		return assets.TrayPaused
	case api.Offline, api.Throttled:
		return assets.TrayOffline
	case api.NeedsReactivation, api.Suspended:
		return assets.TrayAttention
	default:
		return assets.TrayNotActivated
	}
}

// canSync reports whether Sync now can start a session in state s (the
// engine refuses the others; a running session needs no second start).
func canSync(s api.State) bool {
	switch s {
	case api.Idle, api.Offline, api.Throttled, api.Suspended:
		return true
	}
	return false
}

// statusLine says the state in words, then the last successful sync (when
// the data was current), a failed try after it, and the next sync:
// "Up to date. Last sync 14:02, next 14:32", "Offline. Last successful
// sync 11:52; last try 12:03 failed, next 12:04". A global pause is always
// said, even with no account yet: "Paused until you resume. Not
// activated: connect a mailbox in the dashboard". When the organisation
// runs sync and no mailbox is connected here it says so instead: "Sync is
// run by your organisation. Questions: admin@example.com".
func statusLine(s api.Status, worst api.State, now time.Time) string {
	var b strings.Builder
	if len(s.Accounts) == 0 {
		if s.Paused {
			b.WriteString(pausedWords(s, now) + ". ")
		}
		if s.Organisation != nil {
			b.WriteString(strings.TrimSuffix(s.Organisation.Words(), "."))
			return b.String()
		}
		b.WriteString("Not activated: connect a mailbox in the dashboard")
		return b.String()
	}
	switch {
	case s.Paused:
		b.WriteString(pausedWords(s, now))
	case worst == api.Syncing:
		b.WriteString("Syncing")
		if n := progress(s); n > 0 {
			fmt.Fprintf(&b, " (%d items so far)", n)
		}
	default:
		b.WriteString(worst.Words())
	}
	ok, failed, next := lastSuccess(s), lastFailedTry(s), nextSync(s)
	if s.Paused {
		next = time.Time{}
	}
	var parts []string
	switch {
	case !ok.IsZero() && failed.IsZero():
		parts = append(parts, "Last sync "+clock(ok, now))
	case !ok.IsZero():
		parts = append(parts, "Last successful sync "+clock(ok, now)+"; last try "+clock(failed, now)+" failed")
	case !failed.IsZero():
		parts = append(parts, "Last try "+clock(failed, now)+" failed")
	}
	if !next.IsZero() {
		if len(parts) == 0 {
			parts = append(parts, "Next sync "+clock(next, now))
		} else {
			parts = append(parts, "next "+clock(next, now))
		}
	}
	if len(parts) > 0 {
		b.WriteString(". " + strings.Join(parts, ", "))
	}
	return b.String()
}

// pausedWords says until when the global pause lasts.
func pausedWords(s api.Status, now time.Time) string {
	if s.PausedUntil.IsZero() {
		return "Paused until you resume"
	}
	return "Paused until " + clock(s.PausedUntil, now)
}

func accountHeader(a api.AccountStatus, now time.Time) string {
	h := a.Account + ": " + a.State.Words()
	if a.Paused && a.State == api.Paused {
		if a.PausedUntil.IsZero() {
			h += " until you resume"
		} else {
			h += " until " + clock(a.PausedUntil, now)
		}
	}
	switch ok, l := a.LastSuccess, a.LastSync; {
	case l != nil && l.Failed() && (ok == nil || ok.When().Before(l.When())):
		if ok != nil {
			h += ", last successful sync " + clock(ok.When(), now)
		}
		h += "; last try " + clock(l.When(), now) + " failed"
		if l.Error != "" {
			h += ": " + l.Error
		}
	case ok != nil:
		h += ", last sync " + clock(ok.When(), now)
	}
	return h
}

// progress sums the items the running sessions have written so far.
func progress(s api.Status) int {
	n := 0
	for _, a := range s.Accounts {
		if p := a.Progress; p != nil {
			n += p.Added + p.Updated + p.Removed
		}
	}
	return n
}

// lastSuccess is when the data of every account was last current: the
// oldest of the accounts' last successful syncs (one account that keeps
// failing makes the whole line say so); zero when none has one.
func lastSuccess(s api.Status) time.Time {
	var t time.Time
	for _, a := range s.Accounts {
		if a.LastSuccess != nil {
			if w := a.LastSuccess.When(); t.IsZero() || w.Before(t) {
				t = w
			}
		}
	}
	return t
}

// lastFailedTry is when the newest try that failed after its account's
// last success ended; zero when every account's newest session is fine.
func lastFailedTry(s api.Status) time.Time {
	var t time.Time
	for _, a := range s.Accounts {
		l, ok := a.LastSync, a.LastSuccess
		if l == nil || !l.Failed() || (ok != nil && !ok.When().Before(l.When())) {
			continue
		}
		if w := l.When(); w.After(t) {
			t = w
		}
	}
	return t
}

// nextSync is the earliest next sync of any account.
func nextSync(s api.Status) time.Time {
	var t time.Time
	for _, a := range s.Accounts {
		if !a.NextSync.IsZero() && (t.IsZero() || a.NextSync.Before(t)) {
			t = a.NextSync
		}
	}
	return t
}

// clock formats t for a menu: "14:02" today, "Tue 14:02" within a week,
// "2 Jan 14:02" otherwise, in now's time zone.
func clock(t, now time.Time) string {
	t = t.In(now.Location())
	y1, m1, d1 := t.Date()
	y2, m2, d2 := now.Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return t.Format("15:04")
	case t.Sub(now).Abs() < 6*24*time.Hour:
		return t.Format("Mon 15:04")
	default:
		return t.Format("2 Jan 15:04")
	}
}
