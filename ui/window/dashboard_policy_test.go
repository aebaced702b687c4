package window

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/sync/api"
)

func TestDashboardSaysWhatTheAdministratorSets(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	st := api.Status{Interval: api.Duration(15 * time.Minute), IntervalSource: api.SourceLocked,
		Accounts: []api.AccountStatus{{Account: "work", State: api.Idle}}}
	if got := summary(st, now); !strings.HasPrefix(got, "Sync runs every 15 minutes (set by your administrator).") {
		t.Errorf("summary = %q", got)
	}
	if got := policyNote(st); got != "" {
		t.Errorf("a note without problems: %q", got)
	}
	st.PolicyProblems = []api.PolicyProblem{{Line: 6, Key: "wallpaper", Message: "unknown setting"}}
	if got := policyNote(st); got != "\nYour administrator's policy has a problem; this entry is ignored: line 6: wallpaper: unknown setting." {
		t.Errorf("note = %q", got)
	}
	st.PolicyProblems = append(st.PolicyProblems, api.PolicyProblem{Line: 9, Message: "x"})
	if got := policyNote(st); !strings.Contains(got, "has 2 problems") || !strings.Contains(got, "line 6") {
		t.Errorf("note = %q", got)
	}
}

// activation = "organisation": the dashboard says who runs sync and whom
// to ask, and offers no way to connect or sign in a mailbox; without the
// policy it asks to connect one, as before.
func TestDashboardInOrganisationMode(t *testing.T) {
	f := newFake()
	s := newAgentState()
	s.set(func(s *agentState) {
		s.status.Accounts, s.accounts = nil, nil
		s.status.Organisation = &api.Organisation{AdminEmail: "admin@example.com"}
	})
	s.wire(f)
	w, u := newDashboardWindow(t, f)
	u.waitFor("the organisation's sentence", func() bool { return w.headline.Text == "Sync is run by your organisation" })
	if want := "Your organisation syncs your mailbox from its servers: there is nothing to connect on this computer.\nQuestions: admin@example.com"; w.summary.Text != want {
		t.Errorf("summary = %q, want %q", w.summary.Text, want)
	}
	if w.addFirst.Visible() || w.addConn.Visible() {
		t.Errorf("organisation mode shows Connect buttons: first %v, another %v", w.addFirst.Visible(), w.addConn.Visible())
	}
	if w.syncNow.Visible() || w.pause.Visible() {
		t.Errorf("organisation mode with no mailbox shows Force sync %v, Pause %v", w.syncNow.Visible(), w.pause.Visible())
	}
	if w.crmTile.card.Visible() {
		t.Error("organisation mode offers to connect Salesforce with no mail kept here")
	}
	if !strings.Contains(texts(w.conns), "No mailbox is connected on this computer: sync is run by your organisation.") {
		t.Errorf("connections say %q", texts(w.conns))
	}

	// A mailbox left from before the policy: its card shows, with the
	// sentence, but neither Refresh nor Change (both sign in).
	s.set(func(s *agentState) {
		n := newAgentState()
		s.status.Accounts, s.accounts = n.status.Accounts, n.accounts
		s.status.Accounts[0].State = api.NeedsReactivation
	})
	f.events <- api.Event{Type: api.EventAccounts}
	u.waitFor("the account", func() bool { return w.connRows["work"] != nil })
	u.settle()
	r := w.connRows["work"]
	if r.refresh.Visible() || r.change.Visible() || !r.disconnect.Visible() {
		t.Errorf("a connection in organisation mode: refresh %v, change %v, disconnect %v", r.refresh.Visible(), r.change.Visible(), r.disconnect.Visible())
	}
	if !strings.Contains(w.summary.Text, "Sync is run by your organisation. Questions: admin@example.com") || strings.Contains(w.summary.Text, "choose Refresh") {
		t.Errorf("summary with an account in organisation mode = %q", w.summary.Text)
	}

	// The policy lifted: back to asking.
	s.set(func(s *agentState) { s.status.Organisation, s.status.Accounts, s.accounts = nil, nil, nil })
	f.events <- api.Event{Type: api.EventSettings}
	u.waitFor("the activation offer", func() bool { return w.headline.Text == "No mailbox connected yet" })
	u.settle()
	if !w.syncNow.Visible() || !w.pause.Visible() || !w.crmTile.card.Visible() {
		t.Errorf("without the policy: Force sync %v, Pause %v, CRM tile %v", w.syncNow.Visible(), w.pause.Visible(), w.crmTile.card.Visible())
	}
	if !w.addFirst.Visible() || !w.addConn.Visible() || !strings.HasPrefix(w.summary.Text, "Connect your mailbox") {
		t.Errorf("without the policy: first %v, another %v, summary %q", w.addFirst.Visible(), w.addConn.Visible(), w.summary.Text)
	}
}

// texts joins the text of every label under o.
func texts(o fyne.CanvasObject) string {
	var out []string
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(o)
	return strings.Join(out, "\n")
}
