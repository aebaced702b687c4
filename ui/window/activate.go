package window

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/sync/api"
)

// The provider choices, as shown and as the engine names them.
var providerChoices = []struct{ label, id string }{
	{"Microsoft Exchange", "exchange"},
	{"Office 365", "office365"},
	{"Gmail", "gmail"},
}

// defaultInterval is what success announces when the settings can't be read.
const defaultInterval = 30 * time.Minute

// Activation is the window that connects a mailbox, for the first time or
// again (re-activation, Options.Account set).
type Activation struct {
	base
	app  fyne.App
	opts Options
	// closeAfter is how long the success message stays before the window
	// closes.
	closeAfter time.Duration

	title    *widget.Label
	reason   *widget.Label
	provider *widget.RadioGroup
	// providerLocked: the administrator's policy locks the provider.
	providerLocked bool
	where          *widget.Label
	panels         *fyne.Container

	// Exchange.
	exchange        *fyne.Container
	login           *widget.Entry
	password        *widget.Entry
	more            *widget.Button
	form            *widget.Form
	ewsItem         *widget.FormItem
	ewsShown        bool
	ewsURL          *widget.Entry
	fieldErr        *widget.Label
	connectExchange *widget.Button

	// Office 365 and Gmail.
	office365     *fyne.Container
	connectO365   *widget.Button
	gmail         *fyne.Container
	connectGoogle *widget.Button

	// Waiting for the agent (and perhaps the browser).
	*signInPanel

	done    *fyne.Container
	doneMsg *widget.Label
	// connectCRM, on the success page when no CRM is connected, offers
	// Salesforce as the next step.
	connectCRM *fyne.Container
	crmNext    *widget.Button

	// Another mailbox than the expected one was signed in: the agent's
	// words, Use this mailbox anyway (not when enforced) and Sign in with
	// another account.
	mismatch    *fyne.Container
	mismatchMsg *widget.Label
	useAnyway   *widget.Button
	signInOther *widget.Button
	// lastReq is the activation last sent (its provider in lastProvider),
	// sent again by Use this mailbox anyway; mismatchGot is the mailbox
	// the agent resolved.
	lastReq      api.ActivationRequest
	lastProvider string
	mismatchGot  string

	errMsg *widget.Label
	// keepOpen keeps the success page open (it offers a next step).
	keepOpen bool

	// other is the provider of an account being re-activated when it is
	// none of the three (test builds' "scripted"): it signs in with the
	// login and password form.
	other string
	// settings are the re-activated account's settings, sent back with
	// the activation so that nothing the user can't see is lost.
	settings map[string]string
}

// NewActivation creates the activation window. With opts.Account it
// re-activates that account: the provider and login are filled in from the
// agent and opts.Reason is shown at the top.
func NewActivation(a fyne.App, c api.Control, opts Options) *Activation {
	w := &Activation{base: newBase(a, c, "Inbox Sync – Connect your mailbox"), app: a, opts: opts, closeAfter: 2 * time.Second}
	w.build()
	return w
}

func (w *Activation) build() {
	w.title = widget.NewLabel("Connect your mailbox")
	w.title.TextStyle.Bold = true
	w.title.SizeName = theme.SizeNameSubHeadingText
	// Long account names (up to 64 characters, no spaces) and translations
	// wrap inside the window's width instead of widening it off screen.
	w.title.Wrapping = fyne.TextWrapWord
	w.reason = widget.NewLabel("")
	w.reason.Wrapping = fyne.TextWrapWord
	w.reason.Importance = widget.WarningImportance
	w.reason.Hide()
	if w.opts.Account != "" {
		w.win.SetTitle("Inbox Sync – Sign in again")
		w.title.SetText("Sign in again to " + w.opts.Account)
		w.reason.SetText(reasonWords(w.opts.Account, w.opts.Reason))
		w.reason.Show()
	}

	labels := make([]string, len(providerChoices))
	for i, p := range providerChoices {
		labels[i] = p.label
	}
	w.where = widget.NewLabel("Where is your mailbox?")
	w.provider = widget.NewRadioGroup(labels, w.onProviderChanged)
	w.provider.Required = true

	// Exchange on-premises: login and password, EWS URL when Autodiscover
	// can't find the server.
	w.login = widget.NewEntry()
	w.login.SetPlaceHolder("name@company.com or DOMAIN\\name")
	w.login.OnChanged = func(string) { w.onFieldsChanged() }
	w.password = widget.NewPasswordEntry() // its eye icon reveals what was typed
	w.password.SetPlaceHolder("Your mailbox password")
	w.password.OnChanged = func(string) { w.onFieldsChanged() }
	w.password.OnSubmitted = func(string) {
		if !w.connectExchange.Disabled() {
			w.onConnect(w.formProvider())
		}
	}
	w.ewsURL = widget.NewEntry()
	w.ewsURL.SetPlaceHolder("https://mail.company.com/EWS/Exchange.asmx")
	w.ewsURL.OnChanged = func(string) { w.onFieldsChanged() }
	w.more = widget.NewButton("More ▾", w.onMoreToggled)
	w.more.Importance = widget.LowImportance
	w.ewsItem = widget.NewFormItem("EWS URL", w.ewsURL)
	w.ewsItem.HintText = "Only needed when Inbox Sync cannot find your server by itself."
	w.form = widget.NewForm(widget.NewFormItem("Login", w.login), widget.NewFormItem("Password", w.password))
	w.fieldErr = widget.NewLabel("")
	w.fieldErr.Importance = widget.DangerImportance
	w.fieldErr.Hide()
	w.connectExchange = widget.NewButton("Connect to Exchange", func() { w.onConnect(w.formProvider()) })
	w.connectExchange.Importance = widget.HighImportance
	w.exchange = container.NewVBox(
		w.form,
		container.NewHBox(w.more),
		w.fieldErr,
		container.NewHBox(layout.NewSpacer(), w.connectExchange),
	)

	o365Help := widget.NewLabel("Your browser opens the Microsoft sign-in page. Sign in (or pick your account) and accept the permissions Inbox Sync asks for: it only reads your mail and calendar.")
	o365Help.Wrapping = fyne.TextWrapWord
	w.connectO365 = widget.NewButton("Connect to Office 365", func() { w.onConnect("office365") })
	w.connectO365.Importance = widget.HighImportance
	w.office365 = container.NewVBox(o365Help, container.NewHBox(layout.NewSpacer(), w.connectO365))

	// The same browser flow as Office 365 (onConnect, the waiting panel
	// with Copy link and Cancel, the success page); Google's consent
	// screen lists two permissions with tick boxes, and unticking one
	// stops the activation, so the help says to leave them ticked.
	gmailHelp := widget.NewLabel("Your browser opens the Google sign-in page. Sign in with your Gmail or Google Workspace account and press Continue, leaving both permissions ticked: Inbox Sync only reads your mail's headers and labels and your calendar, never the text of your mail.")
	gmailHelp.Wrapping = fyne.TextWrapWord
	w.connectGoogle = widget.NewButton("Sign in with Google", func() { w.onConnect("gmail") })
	w.connectGoogle.Importance = widget.HighImportance
	w.gmail = container.NewVBox(gmailHelp, container.NewHBox(layout.NewSpacer(), w.connectGoogle))

	w.signInPanel = newSignInPanel(w.app)

	w.doneMsg = widget.NewLabel("")
	w.doneMsg.Wrapping = fyne.TextWrapWord
	doneTitle := widget.NewLabel("Your mailbox is connected")
	doneTitle.TextStyle.Bold = true
	doneTitle.Importance = widget.SuccessImportance
	w.crmNext = widget.NewButtonWithIcon("Connect to Salesforce", theme.NavigateNextIcon(), w.onConnectCRM)
	w.crmNext.Importance = widget.HighImportance
	w.connectCRM = container.NewVBox(caption("Next: log this mail and these meetings to Salesforce, matched to your Contacts and Leads."),
		container.NewHBox(widget.NewButton("Close", w.close), layout.NewSpacer(), w.crmNext))
	w.connectCRM.Hide()
	w.done = container.NewVBox(doneTitle, w.doneMsg, w.connectCRM)
	w.done.Hide()

	mismatchTitle := widget.NewLabel("This is not the mailbox you work in")
	mismatchTitle.TextStyle.Bold = true
	mismatchTitle.Importance = widget.WarningImportance
	w.mismatchMsg = widget.NewLabel("")
	w.mismatchMsg.Wrapping = fyne.TextWrapWord
	w.useAnyway = widget.NewButton("Use this mailbox anyway", w.onUseAnyway)
	w.signInOther = widget.NewButton("Sign in with another account", w.onSignInOther)
	w.signInOther.Importance = widget.HighImportance
	w.mismatch = container.NewVBox(mismatchTitle, w.mismatchMsg,
		container.NewHBox(w.useAnyway, layout.NewSpacer(), w.signInOther))
	w.mismatch.Hide()

	w.errMsg = widget.NewLabel("")
	w.errMsg.Wrapping = fyne.TextWrapWord
	w.errMsg.Importance = widget.DangerImportance
	w.errMsg.Hide()

	w.exchange.Hide()
	w.office365.Hide()
	w.gmail.Hide()
	w.panels = container.NewVBox(w.exchange, w.office365, w.gmail, w.waiting, w.done, w.mismatch)
	w.provider.SetSelected(providerChoices[0].label)
	w.onFieldsChanged()

	w.win.SetContent(container.NewPadded(container.NewVBox(
		w.title, w.reason,
		w.where, w.provider,
		widget.NewSeparator(),
		w.panels, w.errMsg,
	)))
	w.win.Resize(fyne.NewSize(560, 0))
	w.win.SetFixedSize(false)
}

// reasonWords says why a re-activation window opened.
func reasonWords(account, reason string) string {
	if reason == "" {
		return fmt.Sprintf("Sign in again to keep %s syncing.", account)
	}
	return sentence(reason)
}

// Start implements Window: it fills in the account being re-activated and
// closes the window if the agent stops.
func (w *Activation) Start() {
	go w.follow(func(api.Event) bool { return false }, w.load)
}

func (w *Activation) load(ctx context.Context) {
	if w.opts.Account == "" {
		w.applyPolicy(ctx)
		return
	}
	accts, err := w.ctl.Accounts(ctx)
	w.do(func() {
		if err != nil {
			w.showError(fmt.Errorf("could not read your accounts: %w", err))
			return
		}
		for _, a := range accts {
			if a.ID == w.opts.Account {
				w.prefill(a)
				return
			}
		}
		w.showError(fmt.Errorf("there is no account named %s any more; connect your mailbox as a new account", w.opts.Account))
		w.opts.Account = ""
		w.title.SetText("Connect your mailbox")
	})
}

// applyPolicy opens a new activation on the provider the administrator's
// policy presets; a locked provider cannot be changed.
func (w *Activation) applyPolicy(ctx context.Context) {
	p, err := w.ctl.Policy(ctx)
	if err != nil {
		return // an older agent, or none: the window works as without a policy
	}
	if org := p.Organisation(); org != nil {
		w.do(func() { w.showOrganisation(*org) })
		return
	}
	want, ok := p.Get("provider")
	if !ok {
		return
	}
	w.do(func() {
		for _, c := range providerChoices {
			if c.id == want {
				w.provider.SetSelected(c.label)
			}
		}
		if p.IsLocked("provider") {
			w.providerLocked = true
			w.provider.Disable()
			w.where.SetText(api.LockedWords + ": " + api.ProviderWords(want) + ".")
			w.where.Show()
		}
		w.fit()
	})
}

// showOrganisation replaces the form: the organisation runs sync (the
// policy's activation = "organisation"), so there is nothing to connect
// here, and the agent would refuse it.
func (w *Activation) showOrganisation(org api.Organisation) {
	title := widget.NewLabel(api.OrganisationWords)
	title.TextStyle.Bold = true
	title.SizeName = theme.SizeNameSubHeadingText
	msg := widget.NewLabel("Your organisation syncs your mailbox from its servers: there is nothing to connect on this computer.")
	msg.Wrapping = fyne.TextWrapWord
	body := container.NewVBox(title, msg)
	if q := org.Questions(); q != "" {
		body.Add(widget.NewLabel(q))
	}
	closeRow := container.NewHBox(layout.NewSpacer(), widget.NewButton("Close", w.close))
	w.win.SetContent(container.NewPadded(container.NewBorder(nil, closeRow, nil, nil, body)))
}

// enableProvider lets the user choose the provider again, unless the
// administrator locked it.
func (w *Activation) enableProvider() {
	if !w.providerLocked {
		w.provider.Enable()
	}
}

// prefill fills the form from an existing account. Its provider can't
// change: another kind of connection is a new account.
func (w *Activation) prefill(a api.Account) {
	known := false
	for _, p := range providerChoices {
		if p.id == a.Provider {
			w.provider.SetSelected(p.label)
			known = true
		}
	}
	if !known {
		w.other = a.Provider
		words := api.ProviderWords(a.Provider)
		w.provider.Options = append(w.provider.Options, words)
		w.provider.SetSelected(words)
		w.connectExchange.SetText("Connect")
	}
	// Another kind of connection is a new account: only show which this is.
	w.provider.Disable()
	w.provider.Hide()
	w.where.SetText(accountSubtitle(a.Provider, a.Email))
	w.where.TextStyle.Bold = true
	w.where.Refresh()
	w.settings = a.Settings
	login := a.Login
	if login == "" {
		login = a.Email
	}
	w.login.SetText(login)
	if u := a.Settings["ews_url"]; u != "" {
		w.ewsURL.SetText(u)
		if !w.ewsShown {
			w.onMoreToggled()
		}
	}
	w.onFieldsChanged()
	w.fit()
}

// fit makes the window as high as its content needs (Fyne grows windows
// for more content but never shrinks them), keeping its width.
func (w *Activation) fit() {
	width := max(w.win.Canvas().Size().Width, 560)
	w.win.Resize(fyne.NewSize(width, 0))
}

func (w *Activation) selectedProvider() string {
	for _, p := range providerChoices {
		if p.label == w.provider.Selected {
			return p.id
		}
	}
	if w.other != "" && w.provider.Selected == api.ProviderWords(w.other) {
		return w.other
	}
	return ""
}

// formProvider is the provider the login and password form connects.
func (w *Activation) formProvider() string {
	if w.other != "" {
		return w.other
	}
	return "exchange"
}

func (w *Activation) onProviderChanged(string) {
	w.errMsg.Hide()
	w.showPanel(w.selectedProvider())
}

func (w *Activation) showPanel(id string) {
	if id != "" && id == w.other {
		id = "exchange"
	}
	for _, p := range []struct {
		c  *fyne.Container
		id string
	}{{w.exchange, "exchange"}, {w.office365, "office365"}, {w.gmail, "gmail"}, {w.waiting, "waiting"}, {w.done, "done"}, {w.mismatch, "mismatch"}} {
		if p.id == id {
			p.c.Show()
		} else {
			p.c.Hide()
		}
	}
	w.fit()
}

// onMoreToggled shows or hides the EWS URL. It is a row of the same form
// so that the labels line up.
func (w *Activation) onMoreToggled() {
	w.ewsShown = !w.ewsShown
	if w.ewsShown {
		w.form.AppendItem(w.ewsItem)
		w.more.SetText("Less ▴")
	} else {
		w.form.Items = w.form.Items[:2]
		w.more.SetText("More ▾")
	}
	w.form.Refresh()
	w.onFieldsChanged()
	w.fit()
}

// exchangeProblem says what stops the Exchange form from being sent: ""
// when nothing does. Only problems worth showing get words; empty fields
// just keep the button disabled.
// A hidden EWS URL (Less ▴) is kept but neither checked nor sent.
func (w *Activation) exchangeProblem() (problem string, show bool) {
	if u := strings.TrimSpace(w.ewsURL.Text); w.ewsShown && u != "" && !strings.HasPrefix(strings.ToLower(u), "https://") {
		return "EWS URL must start with https://", true
	}
	if strings.TrimSpace(w.login.Text) == "" {
		return "Enter your login", false
	}
	if w.password.Text == "" {
		return "Enter your password", false
	}
	return "", false
}

func (w *Activation) onFieldsChanged() {
	problem, show := w.exchangeProblem()
	if problem != "" {
		w.connectExchange.Disable()
	} else {
		w.connectExchange.Enable()
	}
	if show {
		w.fieldErr.SetText(problem)
		w.fieldErr.Show()
		if !w.ewsShown {
			w.onMoreToggled()
		}
	} else {
		w.fieldErr.Hide()
	}
}

// onConnect sends the activation to the agent and shows the waiting panel
// until it answers.
func (w *Activation) onConnect(providerID string) {
	req := api.ActivationRequest{Provider: providerID, Account: w.opts.Account}
	if len(w.settings) > 0 {
		req.Settings = maps.Clone(w.settings)
	}
	form := providerID == w.formProvider()
	if form {
		if p, _ := w.exchangeProblem(); p != "" {
			return
		}
		req.Login = strings.TrimSpace(w.login.Text)
		req.Password = w.password.Text
		delete(req.Settings, "ews_url")
		if u := strings.TrimSpace(w.ewsURL.Text); u != "" && w.ewsShown {
			if req.Settings == nil {
				req.Settings = map[string]string{}
			}
			req.Settings["ews_url"] = u
		}
	}
	w.send(providerID, req)
}

// send sends req to the agent and shows the waiting panel until it
// answers.
func (w *Activation) send(providerID string, req api.ActivationRequest) {
	form := providerID == w.formProvider()
	w.lastReq, w.lastProvider = req, providerID
	ctx, cancel := context.WithCancel(w.ctx)
	w.begin(cancel)
	w.errMsg.Hide()
	w.provider.Disable()
	switch {
	case req.AcceptMailbox != "":
		w.waitTitle.SetText("Connecting " + req.AcceptMailbox + "…")
		w.waitMsg.SetText("Inbox Sync is finishing the connection.")
		w.copyLink.Hide()
	case form:
		w.waitTitle.SetText("Connecting to your mail server…")
		w.waitMsg.SetText("Inbox Sync is finding your server and checking your login. This can take a minute.")
		w.copyLink.Hide()
	default:
		w.waitTitle.SetText("Finish signing in in your browser")
		w.waitMsg.SetText("Inbox Sync is opening the sign-in page in your browser…")
		w.copyLink.Show()
	}
	w.showPanel("waiting")

	progress := func(p api.ActivationProgress) { w.do(func() { w.onProgress(p) }) }
	go func() {
		acct, err := w.ctl.Activate(ctx, req, progress)
		interval := defaultInterval
		offerCRM := false
		if err == nil {
			if s, serr := w.ctl.Settings(w.ctx); serr == nil && s.Interval > 0 {
				interval = s.Interval.D()
			}
			// A new mailbox's next step is Salesforce, unless it is
			// connected already; re-activation only closes.
			if w.opts.Account == "" {
				st, cerr := w.ctl.CRMStatus(w.ctx)
				offerCRM = cerr == nil && st.State == api.ConnNotConnected
			}
		}
		canceled := ctx.Err() != nil
		cancel()
		w.do(func() {
			w.onActivated(providerID, acct, interval, err, canceled)
			if err == nil && offerCRM {
				w.offerCRM()
			}
		})
	}()
}

func (w *Activation) onActivated(provider string, a api.Account, interval time.Duration, err error, canceled bool) {
	w.copyLink.SetText("Copy link")
	var mm *api.MailboxMismatchError
	if err != nil && !canceled && errors.As(err, &mm) {
		w.showMismatch(mm)
		return
	}
	if err != nil {
		if w.opts.Account == "" {
			w.enableProvider()
		}
		w.showPanel(provider)
		if canceled {
			w.errMsg.Importance = widget.MediumImportance
			w.errMsg.SetText("Sign-in cancelled. Nothing was changed.")
		} else {
			w.errMsg.Importance = widget.DangerImportance
			w.errMsg.SetText(plain(err))
		}
		w.errMsg.Show()
		return
	}
	w.password.SetText("")
	who := a.ID
	if a.Email != "" {
		who = fmt.Sprintf("%s (%s)", a.ID, a.Email)
	}
	w.doneMsg.SetText(fmt.Sprintf("Account %s is ready. Sync will run %s; the first sync starts now.", who, everyWords(interval)))
	w.reason.Hide()
	w.showPanel("done")
	time.AfterFunc(w.closeAfter, func() {
		w.do(func() {
			if !w.keepOpen {
				w.close()
			}
		})
	})
}

// offerCRM keeps the success page open with Connect to Salesforce as the
// next step (no CRM is connected yet).
func (w *Activation) offerCRM() {
	w.keepOpen = true
	w.connectCRM.Show()
}

// onConnectCRM opens the Salesforce window and closes this one.
func (w *Activation) onConnectCRM() {
	go func() {
		err := w.ctl.OpenWindow(w.ctx, api.WindowRequest{Window: WindowCRMConnect})
		w.do(func() {
			if err != nil {
				w.errMsg.SetText(plain(err))
				w.errMsg.Show()
				return
			}
			w.close()
		})
	}()
}

// showMismatch shows that the sign-in reached another mailbox than the
// expected one, in the agent's words (both addresses), with Use this
// mailbox anyway (unless the administrator enforces the mailbox) and Sign
// in with another account.
func (w *Activation) showMismatch(mm *api.MailboxMismatchError) {
	w.errMsg.Hide()
	w.mismatchGot = mm.Got
	w.mismatchMsg.SetText(sentence(mm.Error()))
	if mm.Enforced {
		w.useAnyway.Hide()
	} else {
		w.useAnyway.Show()
	}
	w.showPanel("mismatch")
}

// onUseAnyway sends the last activation again, accepting the mailbox the
// agent resolved; the agent reuses that sign-in when it still holds it.
func (w *Activation) onUseAnyway() {
	if w.mismatchGot == "" {
		return
	}
	req := w.lastReq
	req.AcceptMailbox = w.mismatchGot
	w.send(w.lastProvider, req)
}

// onSignInOther starts over: the login and password form (password
// cleared, login ready to change), or the browser sign-in again, where
// the user picks the other account.
func (w *Activation) onSignInOther() {
	w.mismatchGot = ""
	if w.lastProvider == w.formProvider() {
		if w.opts.Account == "" {
			w.enableProvider()
		}
		w.password.SetText("")
		w.showPanel(w.lastProvider)
		w.win.Canvas().Focus(w.login)
		return
	}
	req := w.lastReq
	req.AcceptMailbox = ""
	w.send(w.lastProvider, req)
}

func (w *Activation) showError(err error) {
	w.errMsg.Importance = widget.DangerImportance
	w.errMsg.SetText(plain(err))
	w.errMsg.Show()
}
