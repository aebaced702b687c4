package window

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
)

const testInstance = "https://acme.my.salesforce.com"

func crmConnected() (api.CRMStatus, error) {
	return api.CRMStatus{State: api.ConnConnected, Instance: testInstance, User: "005x", APIUsed: 120, APILimit: 15000,
		Counts: map[api.CRMState]int{api.CRMLogged: 2, api.CRMSkipped: 1}, LastRun: time.Now().Add(-time.Minute)}, nil
}

// Without a CRM, the success page offers Connect to Salesforce and stays
// open; the button opens the Salesforce window.
func TestActivationSuccessOffersSalesforce(t *testing.T) {
	f := newFake()
	f.ActivateFn = func(context.Context, api.ActivationRequest, func(api.ActivationProgress)) (api.Account, error) {
		return api.Account{ID: "ann", Provider: "exchange", Email: "ann@example.com"}, nil
	}
	var opened recorder[api.WindowRequest]
	f.OpenWindowFn = func(r api.WindowRequest) error { opened.add(r); return nil }
	w, u := newActivationWindow(t, f, Options{})
	test.Type(w.login, "ann@example.com")
	test.Type(w.password, "s3cret")
	test.Tap(w.connectExchange)
	u.waitFor("the Salesforce offer", func() bool { return w.done.Visible() && w.connectCRM.Visible() })
	time.Sleep(50 * time.Millisecond) // past closeAfter
	u.settle()
	if w.ctx.Err() != nil {
		t.Fatal("the success page closed while it offers Salesforce")
	}
	test.Tap(w.crmNext)
	u.waitFor("the window to close", func() bool { return w.ctx.Err() != nil })
	if got := opened.all(); len(got) != 1 || got[0].Window != WindowCRMConnect {
		t.Errorf("window requests = %+v, want one crm-connect", got)
	}
}

// The Connections tab's CRM tile: Disconnected with Connect to Salesforce,
// then Connected with the org and counts, a problem in words, and
// Disconnect after confirmation.
func TestDashboardCRMTile(t *testing.T) {
	f := newFake()
	st := api.CRMStatus{}
	var disconnects recorder[bool]
	f.CRMStatusFn = func() (api.CRMStatus, error) { return st, nil }
	f.CRMDisconnectFn = func() error { disconnects.add(true); return nil }
	var opened recorder[api.WindowRequest]
	f.OpenWindowFn = func(r api.WindowRequest) error { opened.add(r); return nil }
	w, u := newDashboardWindow(t, f)
	tile := w.crmTile
	if tile.state.Text != "Disconnected" || tile.refresh.Text != "Connect to Salesforce" || !tile.disconnect.Disabled() {
		t.Fatalf("tile without a CRM: %q / %q", tile.state.Text, tile.refresh.Text)
	}
	test.Tap(tile.refresh)
	u.waitFor("the window request", func() bool { return len(opened.all()) == 1 })
	if r := opened.all()[0]; r.Window != WindowCRMConnect || r.Reason != "" {
		t.Errorf("request = %+v", r)
	}

	st, _ = crmConnected()
	f.events <- api.Event{Type: api.EventCRM}
	u.waitFor("the connected tile", func() bool { return tile.state.Text == "Connected" })
	if !strings.Contains(tile.card.Subtitle, "acme.my.salesforce.com") || !strings.Contains(tile.detail.Text, "2 logged, 1 skipped") || tile.refresh.Text != "Refresh" {
		t.Errorf("connected tile: %q %q %q", tile.card.Subtitle, tile.detail.Text, tile.refresh.Text)
	}

	st.State, st.Reason = api.ConnNeedsReactivation, "Your Salesforce sign-in has expired. Sign in to Salesforce again."
	f.events <- api.Event{Type: api.EventCRM}
	u.waitFor("the problem", func() bool { return strings.Contains(tile.state.Text, "sign-in has expired") })
	if tile.state.Importance != widget.DangerImportance {
		t.Errorf("importance %v", tile.state.Importance)
	}
	test.Tap(tile.refresh)
	u.waitFor("the re-activation request", func() bool { return len(opened.all()) == 2 })
	if r := opened.all()[1]; r.Reason != st.Reason {
		t.Errorf("re-activation request = %+v, want the reason", r)
	}

	test.Tap(tile.disconnect)
	u.settle()
	confirmDialog(t, w.win, "Disconnect")
	u.waitFor("the disconnect", func() bool { return len(disconnects.all()) == 1 })
}

// confirmDialog taps the button labelled label in the window's top dialog.
func confirmDialog(t *testing.T, win fyne.Window, label string) {
	t.Helper()
	for _, o := range win.Canvas().Overlays().List() {
		if b := findButton(o, label); b != nil {
			test.Tap(b)
			return
		}
	}
	t.Fatalf("no %q button in a dialog", label)
}

// The Activity tab says each item's Salesforce state and offers Open in
// Salesforce for logged items.
func TestDashboardActivityCRMState(t *testing.T) {
	f := newFake()
	f.CRMStatusFn = crmConnected
	now := time.Now()
	f.ActivityFn = func(api.ActivityQuery) (api.ActivityPage, error) {
		return api.ActivityPage{Total: 2, Items: []api.StoredItem{
			{Item: api.Item{ProviderID: "1", Kind: api.KindMail, Folder: api.Inbox, Subject: "Pricing", From: "pat@buyer.example", Time: now},
				Account: "work", CRM: &api.CRMItem{State: api.CRMLogged, RecordID: "02s000000000001AAA", Object: api.ObjEmailMessage}},
			{Item: api.Item{ProviderID: "2", Kind: api.KindMail, Folder: api.Inbox, Subject: "Lunch", From: "sam@gmail.com", Time: now.Add(-time.Hour)},
				Account: "work", CRM: &api.CRMItem{State: api.CRMSkipped, Reason: crm.ReasonNoExternal}},
		}}, nil
	}
	w, u := newDashboardWindow(t, f)
	var opened []*url.URL
	w.openURLFn = func(u *url.URL) { opened = append(opened, u) }
	u.waitFor("the activity", func() bool { return len(w.activity) == 2 && w.crm.Instance != "" })
	w.activityList.Refresh()
	row0 := w.activityList.CreateItem()
	w.activityList.UpdateItem(0, row0)
	row1 := w.activityList.CreateItem()
	w.activityList.UpdateItem(1, row1)
	detail := func(o fyne.CanvasObject) string {
		return o.(*fyne.Container).Objects[0].(*fyne.Container).Objects[1].(*widget.Label).Text
	}
	button := func(o fyne.CanvasObject) *widget.Button { return o.(*fyne.Container).Objects[1].(*widget.Button) }
	if !strings.HasPrefix(detail(row0), "Logged to Salesforce") || !button(row0).Visible() {
		t.Errorf("logged row: %q, open shown %v", detail(row0), button(row0).Visible())
	}
	if !strings.HasPrefix(detail(row1), "Not logged: no participant outside your company") || button(row1).Visible() {
		t.Errorf("skipped row: %q, open shown %v", detail(row1), button(row1).Visible())
	}
	test.Tap(button(row0))
	if len(opened) != 1 || opened[0].String() != testInstance+"/02s000000000001AAA" {
		t.Errorf("opened %v", opened)
	}
}

// The Salesforce window: the link while the browser signs in, Copy link,
// success; with a reason it says "Sign in to Salesforce again".
func TestCRMConnectWindow(t *testing.T) {
	f := newFake()
	const link = "https://login.salesforce.com/services/oauth2/authorize?client_id=3MVG&state=x"
	var reqs recorder[api.CRMConnectRequest]
	release := make(chan struct{})
	f.CRMConnectFn = func(ctx context.Context, req api.CRMConnectRequest, progress func(api.ActivationProgress)) (api.CRMStatus, error) {
		reqs.add(req)
		progress(api.ActivationProgress{Message: "Finish signing in to Salesforce in your browser", URL: link})
		<-release
		return crmConnected()
	}
	u := newUI(t)
	w := NewCRMConnect(u.app, f, Options{Reason: "Your Salesforce sign-in has expired"})
	u.attach(&w.base)
	w.closeAfter = 10 * time.Millisecond
	w.Start()
	u.settle()
	if w.title.Text != "Sign in to Salesforce again" || !w.reason.Visible() || w.reason.Text != "Your Salesforce sign-in has expired." {
		t.Fatalf("title %q, reason %q", w.title.Text, w.reason.Text)
	}
	test.Type(w.clientID, "3MVG")
	test.Tap(w.connect)
	u.waitFor("the link", func() bool { return w.link.Visible() })
	test.Tap(w.copyLink)
	if got := u.app.Clipboard().Content(); got != link {
		t.Errorf("clipboard = %q", got)
	}
	close(release)
	u.waitFor("success", func() bool { return w.done.Visible() })
	if !strings.Contains(w.doneMsg.Text, testInstance) {
		t.Errorf("success says %q", w.doneMsg.Text)
	}
	u.waitFor("the window to close", func() bool { return w.ctx.Err() != nil })
	if got := reqs.all(); len(got) != 1 || got[0].ClientID != "3MVG" || got[0].CRM != api.CRMSalesforce {
		t.Errorf("requests = %+v", got)
	}
}

// The CRM tile says the rules in force in one line and, in a second,
// which the administrator set; it follows a settings change and hides
// them while disconnected.
func TestDashboardCRMTileRules(t *testing.T) {
	f := newFake()
	st, _ := crmConnected()
	set := api.CRMSettings{LogEmailAs: api.AsEmailMessage, KeepOut: api.DefaultKeepOut, LogByHand: api.DefaultLogByHand,
		Auto: true, Threads: true, Opportunity: api.OppSingleOpen}
	pol := api.Policy{}
	var mu sync.Mutex
	f.CRMStatusFn = func() (api.CRMStatus, error) { mu.Lock(); defer mu.Unlock(); return st, nil }
	f.CRMSettingsFn = func() (api.CRMSettings, error) { mu.Lock(); defer mu.Unlock(); return set, nil }
	f.PolicyFn = func() (api.Policy, error) { mu.Lock(); defer mu.Unlock(); return pol, nil }
	w, u := newDashboardWindow(t, f)
	tile := w.crmTile
	const defaults = "Auto-logging on · threads on · keep out: Private, Don't log · log by hand: Salesforce · opportunities: single open"
	u.waitFor("the rules", func() bool { return tile.rules.Text == defaults && tile.rules.Visible() })

	mu.Lock()
	set.Auto, set.KeepOut, set.LogByHand, set.Opportunity, set.CreateLeads = false, []string{"Private", "HR"}, []string{}, api.OppMostRecent, true
	pol = api.Policy{Locked: []string{"salesforce.auto_log", "salesforce.threads"}}
	mu.Unlock()
	f.events <- api.Event{Type: api.EventSettings}
	const changed = "Auto-logging off · threads on · keep out: Private, HR · log by hand: none · opportunities: most recent · new Leads on\n" +
		"Set by your administrator: auto-logging, threads."
	u.waitFor("the changed rules", func() bool { return tile.rules.Text == changed })

	mu.Lock()
	st = api.CRMStatus{}
	mu.Unlock()
	f.events <- api.Event{Type: api.EventCRM}
	u.waitFor("the disconnected tile", func() bool { return tile.state.Text == "Disconnected" })
	if tile.rules.Visible() {
		t.Error("the rules show while disconnected")
	}
}

// The Activity tab's CRM line names the rule that logged or skipped an
// item (not the ordinary participants rule).
func TestCRMLineNamesTheRule(t *testing.T) {
	for _, c := range []struct {
		item *api.CRMItem
		want string
	}{
		{&api.CRMItem{State: api.CRMLogged, Rule: crm.RuleThread}, "Logged to Salesforce (whole thread)"},
		{&api.CRMItem{State: api.CRMLogged, Rule: crm.RuleByHand}, "Logged to Salesforce (marked for Salesforce)"},
		{&api.CRMItem{State: api.CRMLogged, Rule: crm.RuleParticipants}, "Logged to Salesforce"},
		{&api.CRMItem{State: api.CRMSkipped, Rule: crm.RuleKeepOut, Reason: "marked Private"}, "Not logged (kept out): marked Private"},
		{&api.CRMItem{State: api.CRMSkipped, Rule: crm.RuleAutoOff, Reason: "not marked for Salesforce"}, "Not logged (automatic logging off): not marked for Salesforce"},
		{&api.CRMItem{State: api.CRMSkipped, Reason: crm.ReasonNoExternal}, "Not logged: " + crm.ReasonNoExternal},
	} {
		if got := crmLine(c.item); got != c.want {
			t.Errorf("crmLine(%+v) = %q, want %q", *c.item, got, c.want)
		}
	}
}
