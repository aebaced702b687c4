package window

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/sync/api"
)

// How much history the dashboard shows.
const (
	sessionLimit  = 50
	issueLimit    = 100
	activityLimit = 100
)

// Dashboard is the window that shows how sync is doing and lets the user
// act on it: sync now, pause, look at history, issues and activity, and
// manage the connected accounts.
type Dashboard struct {
	base
	opts Options
	tabs *container.AppTabs

	// Overview.
	headline *widget.Label
	summary  *widget.Label
	syncNow  *widget.Button
	pause    *widget.Button
	addFirst *widget.Button
	actMsg   *widget.Label
	cards    *fyne.Container
	overview map[string]*accountCard

	// History, issues and activity lists; their data is only touched on
	// the UI goroutine.
	sessions     []api.Session
	sessionList  *widget.List
	issues       []api.Issue
	issueList    *widget.List
	issuesEmpty  *widget.Label
	activity     []api.StoredItem
	activityList *widget.List
	search       *widget.Entry
	activityNote *widget.Label
	export       *widget.Button

	// Connections.
	addConn  *widget.Button
	conns    *fyne.Container
	connRows map[string]*connRow
	crmTile  *crmTile
	crm      api.CRMStatus
	// openURLFn opens a link ("Open in Salesforce"); nil: the browser.
	openURLFn func(*url.URL)

	status   api.Status
	accounts []api.Account

	// query is the activity search, shared with the loading goroutines;
	// querySeq drops the results of searches overtaken by newer ones;
	// searchWait delays a search until typing pauses.
	mu         sync.Mutex
	query      string
	querySeq   int
	searchWait *time.Timer
}

// searchDelay is how long typing must pause before the activity is
// searched.
const searchDelay = 250 * time.Millisecond

// accountCard shows one account on the overview.
type accountCard struct {
	card     *widget.Card
	state    *widget.Label
	reason   *widget.Label
	last     *widget.Label
	lastErr  *widget.Label
	next     *widget.Label
	progress *widget.Label
}

// connRow is one account on the Connections tab.
type connRow struct {
	card       *widget.Card
	state      *widget.Label
	refresh    *widget.Button
	change     *widget.Button
	disconnect *widget.Button
}

// NewDashboard creates the dashboard window.
func NewDashboard(a fyne.App, c api.Control, opts Options) *Dashboard {
	w := &Dashboard{base: newBase(a, c, "Inbox Sync"), opts: opts,
		overview: map[string]*accountCard{}, connRows: map[string]*connRow{}}
	w.build()
	return w
}

// DashboardTabs names the dashboard's tabs, in order, as Options.Tab and
// `inboxsync ui dashboard --tab` spell them.
var DashboardTabs = []string{"overview", "history", "issues", "activity", "connections"}

func (w *Dashboard) build() {
	w.tabs = container.NewAppTabs(
		container.NewTabItemWithIcon("Overview", theme.HomeIcon(), w.newOverviewTab()),
		container.NewTabItemWithIcon("History", theme.HistoryIcon(), w.newHistoryTab()),
		container.NewTabItemWithIcon("Issues", theme.WarningIcon(), w.newIssuesTab()),
		container.NewTabItemWithIcon("Activity", theme.MailComposeIcon(), w.newActivityTab()),
		container.NewTabItemWithIcon("Connections", theme.AccountIcon(), w.newConnectionsTab()),
	)
	for i, name := range DashboardTabs {
		if strings.EqualFold(w.opts.Tab, name) {
			w.tabs.SelectIndex(i)
		}
	}
	w.win.SetContent(w.tabs)
	w.win.Resize(fyne.NewSize(820, 560))
}

func (w *Dashboard) newOverviewTab() fyne.CanvasObject {
	w.headline = widget.NewLabel("Loading…")
	w.headline.TextStyle.Bold = true
	w.headline.SizeName = theme.SizeNameSubHeadingText
	w.summary = widget.NewLabel("")
	w.summary.Wrapping = fyne.TextWrapWord
	w.syncNow = widget.NewButtonWithIcon("Force sync", theme.ViewRefreshIcon(), w.onSyncNow)
	w.syncNow.Importance = widget.HighImportance
	w.pause = widget.NewButtonWithIcon("Pause", theme.MediaPauseIcon(), w.onPauseToggled)
	w.addFirst = widget.NewButtonWithIcon("Connect your mailbox", theme.ContentAddIcon(), func() { w.openActivation("") })
	w.addFirst.Importance = widget.HighImportance
	w.addFirst.Hide()
	w.syncNow.Disable()
	w.pause.Disable()
	w.actMsg = widget.NewLabel("")
	w.actMsg.Wrapping = fyne.TextWrapWord
	w.actMsg.Hide()
	w.cards = container.NewVBox()
	top := container.NewVBox(w.headline, w.summary,
		container.NewHBox(w.syncNow, w.pause, w.addFirst), w.actMsg)
	var about fyne.CanvasObject
	if About != nil {
		l := caption("About: Inbox Sync " + About())
		l.Importance = widget.LowImportance
		about = pad(l)
	}
	return container.NewBorder(container.NewPadded(top), about, nil, nil,
		container.NewVScroll(container.NewPadded(w.cards)))
}

func (w *Dashboard) newHistoryTab() fyne.CanvasObject {
	w.sessionList = twoLineList(&w.sessions, sessionLine)
	w.sessionList.HideSeparators = false
	return container.NewBorder(pad(caption("Past syncs, newest first.")), nil, nil, nil, w.sessionList)
}

func (w *Dashboard) newIssuesTab() fyne.CanvasObject {
	w.issueList = twoLineList(&w.issues, issueLine)
	w.issuesEmpty = caption("Items that could not be synced appear here. There are none.")
	return container.NewBorder(pad(w.issuesEmpty), nil, nil, nil, w.issueList)
}

func (w *Dashboard) newActivityTab() fyne.CanvasObject {
	w.search = widget.NewEntry()
	w.search.SetPlaceHolder("Search subject, people or text…")
	w.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	w.search.OnChanged = w.onSearchChanged
	w.activityNote = caption("")
	w.activityList = w.newActivityList()
	w.export = widget.NewButtonWithIcon("Export…", theme.DownloadIcon(), w.onExport)
	top := container.NewBorder(nil, nil, nil, w.export, w.search)
	return container.NewBorder(pad(container.NewVBox(top, w.activityNote)), nil, nil, nil, w.activityList)
}

func (w *Dashboard) newConnectionsTab() fyne.CanvasObject {
	w.conns = container.NewVBox()
	w.crmTile = w.newCRMTile()
	w.addConn = widget.NewButtonWithIcon("Connect another mailbox", theme.ContentAddIcon(), func() { w.openActivation("") })
	return container.NewBorder(nil, pad(container.NewHBox(w.addConn)), nil, nil,
		container.NewVScroll(container.NewPadded(container.NewVBox(w.conns, w.crmTile.card))))
}

// Start implements Window.
func (w *Dashboard) Start() {
	go w.follow(func(ev api.Event) bool {
		return ev.Type != api.EventOpenWindow && ev.Type != api.EventNotice
	}, w.reload)
	go w.tick()
}

// tick re-renders the relative times ("in 12 minutes") from what the
// dashboard already has; it asks the agent nothing.
func (w *Dashboard) tick() {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
			w.do(func() {
				if w.status.Source != "" {
					w.onStatus(w.status, w.accounts)
					w.sessionList.Refresh()
					w.activityList.Refresh()
				}
			})
		}
	}
}

// reload reads everything the dashboard shows and hands it to the UI.
func (w *Dashboard) reload(ctx context.Context) {
	st, err := w.ctl.Status(ctx)
	accts, aerr := w.ctl.Accounts(ctx)
	sessions, serr := w.ctl.Sessions(ctx, api.SessionQuery{Limit: sessionLimit})
	issues, ierr := w.ctl.Issues(ctx, "", issueLimit)
	crmSt, cerr := w.ctl.CRMStatus(ctx)
	crmSet, rerr := w.ctl.CRMSettings(ctx)
	pol, perr := w.ctl.Policy(ctx)
	if err == nil {
		err = firstErr(aerr, serr, ierr)
	}
	w.do(func() {
		if rerr == nil && perr == nil {
			w.crmTile.setRules(crmSet, pol)
		}
		if cerr == nil {
			w.crm = crmSt
			w.crmTile.update(crmSt)
			w.activityList.Refresh()
		}
		if err != nil {
			w.headline.SetText("Could not read the state of sync")
			w.summary.SetText(plain(err))
			return
		}
		w.onStatus(st, accts)
		// The organisation runs sync: no mail is kept here for this
		// computer to log to Salesforce, so the tile shows only for a
		// connection made before (to see or end it).
		if st.Organisation != nil && w.crm.State == api.ConnNotConnected {
			w.crmTile.card.Hide()
		} else {
			w.crmTile.card.Show()
		}
		w.sessions = sessions
		w.sessionList.Refresh()
		w.issues = issues
		if len(issues) == 0 {
			w.issuesEmpty.SetText("Items that could not be synced appear here. There are none.")
		} else {
			w.issuesEmpty.SetText(fmt.Sprintf("%d items could not be synced; the rest of each sync went on without them.", len(issues)))
		}
		w.issueList.Refresh()
	})
	w.loadActivity(ctx)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// onStatus shows the agent's state.
func (w *Dashboard) onStatus(st api.Status, accts []api.Account) {
	w.status, w.accounts = st, accts
	now := time.Now()
	w.headline.SetText(headline(st))
	w.summary.SetText(summary(st, now) + policyNote(st))
	has := len(st.Accounts) > 0
	org := st.Organisation != nil
	if has {
		w.syncNow.Enable()
		w.pause.Enable()
		w.addFirst.Hide()
	} else {
		w.syncNow.Disable()
		w.pause.Disable()
		w.addFirst.Show()
	}
	// The organisation runs sync: nothing is activated on this computer,
	// and with no mailbox here there is nothing to force or pause (Start
	// still shows to lift a pause).
	if org {
		w.addFirst.Hide()
		w.addConn.Hide()
	} else {
		w.addConn.Show()
	}
	if org && !has {
		w.syncNow.Hide()
		if !st.Paused {
			w.pause.Hide()
		}
	} else {
		w.syncNow.Show()
		w.pause.Show()
	}
	if st.Paused {
		w.pause.Enable() // Start lifts a pause even before any account
	}
	if st.Paused {
		w.pause.SetText("Start")
		w.pause.SetIcon(theme.MediaPlayIcon())
	} else {
		w.pause.SetText("Pause")
		w.pause.SetIcon(theme.MediaPauseIcon())
	}

	// Overview cards, updated in place so nothing jumps while a sync runs.
	seen := map[string]bool{}
	var cards []fyne.CanvasObject
	for _, a := range st.Accounts {
		seen[a.Account] = true
		c := w.overview[a.Account]
		if c == nil {
			c = newAccountCard()
			w.overview[a.Account] = c
		}
		c.update(a, now)
		cards = append(cards, c.card)
	}
	for id := range w.overview {
		if !seen[id] {
			delete(w.overview, id)
		}
	}
	w.cards.Objects = cards
	w.cards.Refresh()

	// Connections.
	state := map[string]api.AccountStatus{}
	for _, a := range st.Accounts {
		state[a.Account] = a
	}
	var rows []fyne.CanvasObject
	seen = map[string]bool{}
	for _, a := range accts {
		seen[a.ID] = true
		r := w.connRows[a.ID]
		if r == nil {
			r = w.newConnRow(a.ID)
			w.connRows[a.ID] = r
		}
		r.update(a, state[a.ID], org)
		rows = append(rows, r.card)
	}
	for id := range w.connRows {
		if !seen[id] {
			delete(w.connRows, id)
		}
	}
	if len(rows) == 0 && org {
		rows = append(rows, caption("No mailbox is connected on this computer: "+strings.ToLower(api.OrganisationWords[:1])+api.OrganisationWords[1:]+"."))
	} else if len(rows) == 0 {
		rows = append(rows, caption("No mailbox is connected yet."))
	}
	w.conns.Objects = rows
	w.conns.Refresh()
}

// headline says the worst state in words.
func headline(st api.Status) string {
	if len(st.Accounts) == 0 && st.Organisation != nil {
		return api.OrganisationWords
	}
	if len(st.Accounts) == 0 {
		return "No mailbox connected yet"
	}
	worst := st.Worst()
	if len(st.Accounts) == 1 {
		return worst.Words()
	}
	n := 0
	for _, a := range st.Accounts {
		if a.State == worst {
			n++
		}
	}
	switch {
	case n == 2 && len(st.Accounts) == 2:
		return worst.Words() + " (both accounts)"
	case n == len(st.Accounts):
		return fmt.Sprintf("%s (all %d accounts)", worst.Words(), n)
	}
	return fmt.Sprintf("%s (%d of %d accounts)", worst.Words(), n, len(st.Accounts))
}

// policyNote tells of the administrator's policy's problems, if any: the
// entries named are ignored until the administrator fixes the file.
func policyNote(st api.Status) string {
	switch n := len(st.PolicyProblems); {
	case n == 0:
		return ""
	case n == 1:
		return "\nYour administrator's policy has a problem; this entry is ignored: " + st.PolicyProblems[0].String() + "."
	default:
		return fmt.Sprintf("\nYour administrator's policy has %d problems; these entries are ignored: %s (and more: `inboxsync policy show`).", n, st.PolicyProblems[0])
	}
}

// summary says when sync runs, in words.
func summary(st api.Status, now time.Time) string {
	if len(st.Accounts) == 0 {
		connect := "Connect your mailbox and Inbox Sync keeps its mail and meetings in your records, " + everyWords(st.Interval.D()) + "."
		if org := st.Organisation; org != nil {
			connect = "Your organisation syncs your mailbox from its servers: there is nothing to connect on this computer."
			if q := org.Questions(); q != "" {
				connect += "\n" + q
			}
		}
		switch {
		case st.Paused && st.PausedUntil.IsZero():
			return "Sync is paused until you start it again.\n" + connect
		case st.Paused:
			return "Sync is paused until " + when(st.PausedUntil, now) + ".\n" + connect
		}
		return connect
	}
	var b strings.Builder
	switch {
	case st.Paused && st.PausedUntil.IsZero():
		b.WriteString("Sync is paused until you start it again.")
	case st.Paused:
		fmt.Fprintf(&b, "Sync is paused until %s.", when(st.PausedUntil, now))
	default:
		fmt.Fprintf(&b, "Sync runs %s", everyWords(st.Interval.D()))
		if st.IntervalSource == api.SourceLocked {
			b.WriteString(" (" + strings.ToLower(api.LockedWords[:1]) + api.LockedWords[1:] + ")")
		}
		b.WriteString(".")
		var next time.Time
		for _, a := range st.Accounts {
			if !a.NextSync.IsZero() && (next.IsZero() || a.NextSync.Before(next)) {
				next = a.NextSync
			}
		}
		if !next.IsZero() {
			fmt.Fprintf(&b, " Next sync: %s.", when(next, now))
		}
	}
	if org := st.Organisation; org != nil {
		b.WriteString("\n" + org.Words())
	}
	for _, a := range st.Accounts {
		switch a.State {
		case api.NeedsReactivation:
			if org := st.Organisation; org != nil {
				fmt.Fprintf(&b, "\n%s needs a new sign-in, which is not done on this computer: %s.", a.Account, strings.TrimSuffix(org.Words(), "."))
				continue
			}
			fmt.Fprintf(&b, "\n%s needs you: open Connections and choose Refresh.", a.Account)
		case api.Suspended:
			// A sign-in is not the cure here: a successful sync is, and
			// any sync asked for runs even while suspended.
			fmt.Fprintf(&b, "\n%s stopped after repeated failures: once the cause is fixed, choose Force sync.", a.Account)
		}
	}
	return b.String()
}

func newAccountCard() *accountCard {
	c := &accountCard{
		state: widget.NewLabel(""), reason: widget.NewLabel(""), last: widget.NewLabel(""),
		lastErr: widget.NewLabel(""), next: widget.NewLabel(""), progress: widget.NewLabel(""),
	}
	c.state.TextStyle.Bold = true
	c.reason.Wrapping = fyne.TextWrapWord
	c.reason.Importance = widget.WarningImportance
	c.last.Wrapping = fyne.TextWrapWord
	c.lastErr.Wrapping = fyne.TextWrapWord
	c.lastErr.Importance = widget.DangerImportance
	// Labels carry their own padding: pull the lines together.
	c.card = widget.NewCard("", "", container.New(layout.NewCustomPaddedVBoxLayout(-2*theme.Padding()),
		c.state, c.reason, c.progress, c.last, c.lastErr, c.next))
	return c
}

func (c *accountCard) update(a api.AccountStatus, now time.Time) {
	c.card.SetTitle(a.Account)
	c.card.SetSubTitle(accountSubtitle(a.Provider, a.Email))
	words := a.Words
	if words == "" {
		words = a.State.Words()
	}
	c.state.SetText(words)
	c.state.Importance = stateImportance(a.State)
	c.state.Refresh()
	showText(c.reason, sentence(a.Reason))
	if p := a.Progress; p != nil {
		showText(c.progress, fmt.Sprintf("Syncing %s: %d added, %d updated, %d removed so far.", folderWords(p.Folder), p.Added, p.Updated, p.Removed))
	} else {
		showText(c.progress, "")
	}
	// "Last sync" is when the data was current: the last session that
	// succeeded. A failed try after it is named as such.
	ok, l := a.LastSuccess, a.LastSync
	if ok != nil {
		c.last.SetText("Last successful sync: " + sessionSummary(*ok, now))
	} else {
		c.last.SetText("Last successful sync: never")
	}
	if l != nil && l.Failed() && (ok == nil || ok.When().Before(l.When())) {
		try := "Last try " + when(l.When(), now) + " failed"
		if r := strings.TrimRight(a.Reason, ". "); l.Error != "" && (r == "" || !strings.Contains(l.Error, r)) {
			try += ": " + l.Error // unless the reason above says it already
		}
		showText(c.lastErr, sentence(try))
	} else {
		showText(c.lastErr, "")
	}
	switch {
	case a.Paused && a.PausedUntil.IsZero():
		showText(c.next, "Paused until you start it again.")
	case a.Paused:
		showText(c.next, "Paused until "+when(a.PausedUntil, now)+".")
	case !a.NextSync.IsZero():
		showText(c.next, "Next sync: "+when(a.NextSync, now))
	default:
		showText(c.next, "")
	}
}

func stateImportance(s api.State) widget.Importance {
	switch s {
	case api.Idle:
		return widget.SuccessImportance
	case api.NeedsReactivation, api.Suspended:
		return widget.DangerImportance
	case api.Offline, api.Throttled, api.NotActivated:
		return widget.WarningImportance
	}
	return widget.MediumImportance
}

func (w *Dashboard) newConnRow(id string) *connRow {
	r := &connRow{state: widget.NewLabel("")}
	r.state.TextStyle.Bold = true
	r.refresh = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), func() { w.openActivation(id) })
	r.refresh.Importance = widget.MediumImportance
	r.change = widget.NewButtonWithIcon("Change", theme.DocumentCreateIcon(), func() { w.onChange(id) })
	r.disconnect = widget.NewButtonWithIcon("Disconnect", theme.CancelIcon(), func() { w.onDisconnect(id) })
	r.disconnect.Importance = widget.DangerImportance
	r.card = widget.NewCard(id, "", container.NewVBox(r.state,
		container.NewHBox(r.refresh, r.change, layout.NewSpacer(), r.disconnect)))
	return r
}

// update shows a and its state st; org hides Refresh and Change, which
// sign in, when the organisation runs sync.
func (r *connRow) update(a api.Account, st api.AccountStatus, org bool) {
	if org {
		r.refresh.Hide()
		r.change.Hide()
	} else {
		r.refresh.Show()
		r.change.Show()
	}
	r.card.SetSubTitle(accountSubtitle(a.Provider, firstNonEmpty(a.Email, a.Login)))
	switch {
	case a.Disabled:
		r.state.SetText("Disconnected")
		r.state.Importance = widget.LowImportance
		r.disconnect.Disable()
		r.refresh.SetText("Reconnect")
	case st.State == api.NeedsReactivation || st.State == api.NotActivated:
		r.state.SetText("Connected, but the mailbox needs you to sign in again")
		r.state.Importance = widget.DangerImportance
		r.disconnect.Enable()
		r.refresh.SetText("Refresh")
	default:
		r.state.SetText("Connected")
		r.state.Importance = widget.SuccessImportance
		r.disconnect.Enable()
		r.refresh.SetText("Refresh")
	}
	r.state.Refresh()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func accountSubtitle(provider, who string) string {
	if who == "" {
		return api.ProviderWords(provider)
	}
	return api.ProviderWords(provider) + " · " + who
}

// onSyncNow asks for a sync of every account at once.
func (w *Dashboard) onSyncNow() {
	w.syncNow.Disable()
	w.say("Starting a sync…", widget.MediumImportance)
	go func() {
		err := w.ctl.SyncNow(w.ctx, "")
		w.do(func() {
			w.syncNow.Enable()
			if err != nil {
				w.say(plain(err), widget.WarningImportance)
				return
			}
			w.say("Sync started.", widget.MediumImportance)
		})
	}()
}

func (w *Dashboard) onPauseToggled() {
	paused := w.status.Paused
	w.pause.Disable()
	go func() {
		var err error
		if paused {
			err = w.ctl.Resume(w.ctx, "")
		} else {
			err = w.ctl.Pause(w.ctx, api.PauseRequest{})
		}
		w.do(func() {
			w.pause.Enable()
			switch {
			case err != nil:
				w.say(plain(err), widget.DangerImportance)
			case paused:
				w.say("Sync is running again.", widget.MediumImportance)
			default:
				w.say("Sync is paused until you start it again.", widget.MediumImportance)
			}
		})
	}()
}

// say shows a short message under the overview's buttons.
func (w *Dashboard) say(msg string, imp widget.Importance) {
	w.actMsg.Importance = imp
	showText(w.actMsg, msg)
}

// openActivation asks the agent for the activation window (of account,
// or for a new mailbox): the agent keeps it to one per account.
func (w *Dashboard) openActivation(account string) {
	req := api.WindowRequest{Window: WindowActivate, Account: account}
	for _, a := range w.status.Accounts {
		if a.Account == account && a.State.NeedsAttention() {
			req.Reason = a.Reason
		}
	}
	go func() {
		err := w.ctl.OpenWindow(w.ctx, req)
		if err != nil {
			w.do(func() { w.say(plain(err), widget.DangerImportance) })
		}
	}()
}

// onChange offers the two ways to change a connection: sign in again
// with other details, or connect another mailbox or kind of access.
func (w *Dashboard) onChange(id string) {
	msg := widget.NewLabel(fmt.Sprintf("To use another login or password for %s, sign in again.\n"+
		"To use another mailbox or another kind of access (Exchange, Office 365, Gmail), "+
		"connect it as a new mailbox, then disconnect %s.", id, id))
	msg.Wrapping = fyne.TextWrapWord
	var d *dialog.CustomDialog
	again := widget.NewButton("Sign in again", func() { d.Hide(); w.openActivation(id) })
	other := widget.NewButton("Connect another mailbox", func() { d.Hide(); w.openActivation("") })
	d = dialog.NewCustomWithoutButtons("Change "+id, container.NewVBox(msg,
		container.NewHBox(layout.NewSpacer(), widget.NewButton("Cancel", func() { d.Hide() }), other, again)), w.win)
	d.Resize(fyne.NewSize(480, 0))
	d.Show()
}

// onDisconnect asks for confirmation, then disconnects the account: its
// sync stops and its password or sign-in is forgotten; synced data stays.
func (w *Dashboard) onDisconnect(id string) {
	d := dialog.NewConfirm("Disconnect "+id+"?",
		fmt.Sprintf("Inbox Sync stops syncing %s and forgets its password or sign-in.\nWhat was already synced is kept. You can reconnect it later.", id),
		func(ok bool) {
			if ok {
				w.disconnect(id)
			}
		}, w.win)
	d.SetConfirmText("Disconnect")
	d.SetDismissText("Cancel")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

func (w *Dashboard) disconnect(id string) {
	if r := w.connRows[id]; r != nil {
		r.disconnect.Disable()
	}
	go func() {
		err := w.ctl.RemoveAccount(w.ctx, id, false)
		w.do(func() {
			if err != nil {
				if r := w.connRows[id]; r != nil {
					r.disconnect.Enable()
				}
				dialog.ShowInformation("Could not disconnect "+id, plain(err), w.win)
			}
		})
	}()
}

func (w *Dashboard) onSearchChanged(q string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.query = strings.TrimSpace(q)
	if w.searchWait != nil {
		w.searchWait.Stop()
	}
	w.searchWait = time.AfterFunc(searchDelay, func() { w.loadActivity(w.ctx) })
}

// loadActivity reads the activity matching the current search; results
// of an older search that arrive late are dropped.
func (w *Dashboard) loadActivity(ctx context.Context) {
	w.mu.Lock()
	w.querySeq++
	seq, q := w.querySeq, w.query
	w.mu.Unlock()
	page, err := w.ctl.Activity(ctx, api.ActivityQuery{Search: q, Limit: activityLimit})
	items := page.Items
	w.do(func() {
		w.mu.Lock()
		stale := seq != w.querySeq
		w.mu.Unlock()
		if stale {
			return
		}
		switch {
		case err != nil:
			// The list keeps the last answer (a word too short to
			// search for yet, a quote not closed).
			w.activityNote.SetText(plain(err))
			return
		case q != "" && len(items) == 0:
			w.activityNote.SetText(fmt.Sprintf("Nothing matches “%s”.", q))
		case q != "":
			w.activityNote.SetText(fmt.Sprintf("%s matching “%s”, newest first.", pageWords(page), q))
		case len(items) == 0:
			w.activityNote.SetText("Mail and meetings appear here once they are synced.")
		default:
			w.activityNote.SetText(pageWords(page) + ", newest first.")
		}
		w.activity = items
		w.activityList.Refresh()
	})
}
