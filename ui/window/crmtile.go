package window

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/sync/api"
)

// crmTile is the CRM connection on the Connections tab.
type crmTile struct {
	card   *widget.Card
	state  *widget.Label
	detail *widget.Label
	// rules says the CRM rules in force (and which the administrator
	// set), while connected.
	rules      *widget.Label
	refresh    *widget.Button
	change     *widget.Button
	disconnect *widget.Button
}

func (w *Dashboard) newCRMTile() *crmTile {
	t := &crmTile{state: widget.NewLabel("Disconnected"), detail: caption(""), rules: caption("")}
	t.rules.Hide()
	t.state.TextStyle.Bold = true
	t.refresh = widget.NewButtonWithIcon("Connect", theme.ViewRefreshIcon(), func() { w.openCRMConnect() })
	t.change = widget.NewButtonWithIcon("Change", theme.DocumentCreateIcon(), w.onCRMChange)
	t.disconnect = widget.NewButtonWithIcon("Disconnect", theme.CancelIcon(), w.onCRMDisconnect)
	t.disconnect.Importance = widget.DangerImportance
	t.card = widget.NewCard("CRM", "Salesforce", container.NewVBox(t.state, t.detail, t.rules,
		container.NewHBox(t.refresh, t.change, layout.NewSpacer(), t.disconnect)))
	t.update(api.CRMStatus{})
	return t
}

// crmCountsWords says the items by CRM state.
func crmCountsWords(st api.CRMStatus) string {
	return fmt.Sprintf("%d logged, %d skipped, %d failed, %d waiting", st.Counts[api.CRMLogged], st.Counts[api.CRMSkipped], st.Counts[api.CRMFailed], st.Counts[api.CRMPending])
}

func (t *crmTile) update(st api.CRMStatus) {
	t.refresh.SetText("Refresh")
	t.refresh.Importance = widget.MediumImportance
	t.change.Enable()
	t.disconnect.Enable()
	detail := ""
	switch st.State {
	case api.ConnNotConnected:
		t.state.SetText("Disconnected")
		t.state.Importance = widget.LowImportance
		t.refresh.SetText("Connect to Salesforce")
		t.refresh.Importance = widget.HighImportance
		t.change.Disable()
		t.disconnect.Disable()
		detail = "Log your mail and meetings to the Contacts and Leads they involve."
	case api.ConnNeedsReactivation, api.ConnFailed:
		t.state.SetText("Connected, but Salesforce needs you: " + sentence(st.Reason))
		t.state.Importance = widget.DangerImportance
	case api.ConnThrottled:
		t.state.SetText("Connected, waiting: " + sentence(st.Reason))
		t.state.Importance = widget.WarningImportance
	default:
		t.state.SetText("Connected")
		t.state.Importance = widget.SuccessImportance
	}
	t.state.Wrapping = fyne.TextWrapWord
	if st.State != api.ConnNotConnected {
		t.card.SetSubTitle("Salesforce · " + strings.TrimPrefix(strings.TrimPrefix(st.Instance, "https://"), "http://"))
		detail = crmCountsWords(st)
		if st.APILimit > 0 {
			detail += fmt.Sprintf(" · API use today %d of %d", st.APIUsed, st.APILimit)
		}
		if !st.LastRun.IsZero() {
			detail += " · last run " + when(st.LastRun, time.Now())
		}
	} else {
		t.card.SetSubTitle("Salesforce")
	}
	t.detail.SetText(detail)
	if st.State == api.ConnNotConnected || t.rules.Text == "" {
		t.rules.Hide()
	} else {
		t.rules.Show()
	}
	t.state.Refresh()
	t.refresh.Refresh()
}

// setRules shows the CRM rules in force (s) under the policy p.
func (t *crmTile) setRules(s api.CRMSettings, p api.Policy) {
	t.rules.SetText(crmRulesWords(s, p))
}

// crmRulesWords says the CRM rules in force in one line, and in a second
// which of them the administrator set: "Auto-logging on · threads on ·
// keep out: Private, Don't log · log by hand: Salesforce · opportunities:
// single open".
func crmRulesWords(s api.CRMSettings, p api.Policy) string {
	onOff := map[bool]string{true: "on", false: "off"}
	list := func(l []string) string {
		if len(l) == 0 {
			return "none"
		}
		return strings.Join(l, ", ")
	}
	opp := map[string]string{api.OppOff: "off", api.OppSingleOpen: "single open", api.OppMostRecent: "most recent"}[s.Opportunity]
	if opp == "" {
		opp = s.Opportunity
	}
	type rule struct{ key, words, name string }
	rules := []rule{
		{"auto_log", "Auto-logging " + onOff[s.Auto], "auto-logging"},
		{"threads", "threads " + onOff[s.Threads], "threads"},
		{"keep_out_categories", "keep out: " + list(s.KeepOut), "keep out"},
		{"log_categories", "log by hand: " + list(s.LogByHand), "log by hand"},
		{"opportunity", "opportunities: " + opp, "opportunities"},
	}
	if s.CreateLeads || p.IsLocked("salesforce.create_leads") {
		rules = append(rules, rule{"create_leads", "new Leads " + onOff[s.CreateLeads], "new Leads"})
	}
	var words, locked []string
	for _, r := range rules {
		words = append(words, r.words)
		if p.IsLocked("salesforce." + r.key) {
			locked = append(locked, r.name)
		}
	}
	out := strings.Join(words, " · ")
	if len(locked) > 0 {
		out += "\n" + api.LockedWords + ": " + strings.Join(locked, ", ") + "."
	}
	return out
}

// openCRMConnect asks the agent for the Salesforce window.
func (w *Dashboard) openCRMConnect() {
	req := api.WindowRequest{Window: WindowCRMConnect}
	if w.crm.State == api.ConnNeedsReactivation {
		req.Reason = w.crm.Reason
	}
	go func() {
		if err := w.ctl.OpenWindow(w.ctx, req); err != nil {
			w.do(func() { w.say(plain(err), widget.DangerImportance) })
		}
	}()
}

// onCRMChange explains how to change the Salesforce connection.
func (w *Dashboard) onCRMChange() {
	msg := widget.NewLabel("To log to another Salesforce user or org, sign in again with it: what was already logged stays where it is. " +
		"What is logged and how (internal domains, blocklist, email or task, and the rules: keep out, log by hand, " +
		"auto-logging, threads, opportunities, new Leads) is set with `inboxsync crm settings`.")
	msg.Wrapping = fyne.TextWrapWord
	var d *dialog.CustomDialog
	again := widget.NewButton("Sign in again", func() { d.Hide(); w.openCRMConnect() })
	again.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons("Change the Salesforce connection", container.NewVBox(msg,
		container.NewHBox(layout.NewSpacer(), widget.NewButton("Cancel", func() { d.Hide() }), again)), w.win)
	d.Resize(fyne.NewSize(480, 0))
	d.Show()
}

// onCRMDisconnect asks for confirmation, then disconnects Salesforce.
func (w *Dashboard) onCRMDisconnect() {
	d := dialog.NewConfirm("Disconnect Salesforce?",
		"Inbox Sync stops logging to Salesforce and forgets its sign-in.\nWhat was already logged stays in Salesforce.",
		func(ok bool) {
			if !ok {
				return
			}
			w.crmTile.disconnect.Disable()
			go func() {
				err := w.ctl.CRMDisconnect(w.ctx)
				w.do(func() {
					if err != nil {
						w.crmTile.disconnect.Enable()
						dialog.ShowInformation("Could not disconnect Salesforce", plain(err), w.win)
					}
				})
			}()
		}, w.win)
	d.SetConfirmText("Disconnect")
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

// crmLine says an item's Salesforce state for the Activity tab, with the
// rule that logged or skipped it ("Logged to Salesforce (whole thread)",
// "Not logged (kept out): marked Private").
func crmLine(c *api.CRMItem) string {
	if c == nil {
		return ""
	}
	rule := ""
	if c.Rule != "" && c.Rule != "participants" {
		rule = " (" + api.CRMRuleWords(c.Rule) + ")"
	}
	switch {
	case c.State == api.CRMLogged:
		return "Logged to Salesforce" + rule
	case c.State == api.CRMPending:
		return "Waiting to be logged to Salesforce"
	case c.State == api.CRMFailed:
		return "Salesforce refused it: " + c.Reason
	case c.Reason != "":
		return "Not logged" + rule + ": " + c.Reason
	}
	return string(c.State)
}

// recordURL is where a logged record opens in Salesforce.
func recordURL(instance, id string) *url.URL {
	if instance == "" || id == "" {
		return nil
	}
	u, err := url.Parse(strings.TrimRight(instance, "/") + "/" + url.PathEscape(id))
	if err != nil {
		return nil
	}
	return u
}

// newActivityList is the Activity tab's list: each item in two lines, its
// Salesforce state in the second, and "Open in Salesforce" for a logged
// one.
func (w *Dashboard) newActivityList() *widget.List {
	return widget.NewList(
		func() int { return len(w.activity) },
		func() fyne.CanvasObject {
			open := widget.NewButtonWithIcon("Open in Salesforce", theme.ComputerIcon(), nil)
			open.Importance = widget.LowImportance
			return container.NewBorder(nil, nil, nil, open, newTwoLine())
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i >= len(w.activity) {
				return
			}
			it := w.activity[i]
			title, detail := itemLine(it, time.Now())
			if l := crmLine(it.CRM); l != "" {
				detail = l + " · " + detail
			}
			c := o.(*fyne.Container)
			setTwoLine(c.Objects[0], title, detail)
			open := c.Objects[1].(*widget.Button)
			var u *url.URL
			if it.CRM != nil && it.CRM.State == api.CRMLogged {
				u = recordURL(w.crm.Instance, it.CRM.RecordID)
			}
			if u == nil {
				open.Hide()
				return
			}
			open.OnTapped = func() { w.openURL(u) }
			open.Show()
		})
}

// openURL opens u in the browser.
func (w *Dashboard) openURL(u *url.URL) {
	if w.openURLFn != nil {
		w.openURLFn(u)
		return
	}
	if err := fyne.CurrentApp().OpenURL(u); err != nil {
		w.say(plain(err), widget.WarningImportance)
	}
}
