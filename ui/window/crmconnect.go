package window

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/sync/api"
)

// CRMConnect is the window that connects Salesforce, for the first time or
// again ("Sign in to Salesforce again", Options.Reason set). The sign-in
// runs in the agent; the window shows the link, Copy link and Cancel.
type CRMConnect struct {
	base
	app        fyne.App
	opts       Options
	closeAfter time.Duration

	title    *widget.Label
	reason   *widget.Label
	loginURL *widget.Entry
	clientID *widget.Entry
	connect  *widget.Button
	form     *fyne.Container

	*signInPanel

	done    *fyne.Container
	doneMsg *widget.Label
	errMsg  *widget.Label
}

// NewCRMConnect creates the Salesforce connection window.
func NewCRMConnect(a fyne.App, c api.Control, opts Options) *CRMConnect {
	w := &CRMConnect{base: newBase(a, c, "Inbox Sync – Connect to Salesforce"), app: a, opts: opts, closeAfter: 2 * time.Second}
	w.build()
	return w
}

func (w *CRMConnect) build() {
	w.title = widget.NewLabel("Connect to Salesforce")
	w.title.TextStyle.Bold = true
	w.title.SizeName = theme.SizeNameSubHeadingText
	w.reason = widget.NewLabel("")
	w.reason.Wrapping = fyne.TextWrapWord
	w.reason.Importance = widget.WarningImportance
	w.reason.Hide()
	if w.opts.Reason != "" {
		w.title.SetText("Sign in to Salesforce again")
		w.reason.SetText(sentence(w.opts.Reason))
		w.reason.Show()
	}
	help := widget.NewLabel("Your browser opens the Salesforce sign-in page. Sign in and allow access: Inbox Sync logs the mail and meetings it syncs to the Contacts and Leads they involve. Mail and meetings are logged from now on, plus the mailbox's history window.")
	help.Wrapping = fyne.TextWrapWord
	w.loginURL = widget.NewEntry()
	w.loginURL.SetPlaceHolder("https://login.salesforce.com")
	w.clientID = widget.NewEntry()
	w.clientID.SetPlaceHolder("from your Salesforce administrator")
	form := widget.NewForm(
		widget.NewFormItem("Login URL", w.loginURL),
		widget.NewFormItem("Consumer key", w.clientID),
	)
	w.connect = widget.NewButtonWithIcon("Sign in to Salesforce", theme.LoginIcon(), w.onConnect)
	w.connect.Importance = widget.HighImportance
	w.form = container.NewVBox(help, form, container.NewHBox(layout.NewSpacer(), w.connect))

	w.signInPanel = newSignInPanel(w.app)
	w.waitTitle.SetText("Finish signing in in your browser")

	doneTitle := widget.NewLabel("Salesforce is connected")
	doneTitle.TextStyle.Bold = true
	doneTitle.Importance = widget.SuccessImportance
	w.doneMsg = widget.NewLabel("")
	w.doneMsg.Wrapping = fyne.TextWrapWord
	w.done = container.NewVBox(doneTitle, w.doneMsg)
	w.done.Hide()

	w.errMsg = widget.NewLabel("")
	w.errMsg.Wrapping = fyne.TextWrapWord
	w.errMsg.Importance = widget.DangerImportance
	w.errMsg.Hide()

	w.win.SetContent(container.NewPadded(container.NewVBox(w.title, w.reason, widget.NewSeparator(),
		w.form, w.waiting, w.done, w.errMsg)))
	w.win.Resize(fyne.NewSize(560, 0))
}

// Start implements Window: it fills in the saved Salesforce settings.
func (w *CRMConnect) Start() {
	go w.follow(func(api.Event) bool { return false }, func(ctx context.Context) {
		s, err := w.ctl.CRMSettings(ctx)
		if err != nil {
			return
		}
		w.do(func() {
			if w.loginURL.Text == "" {
				w.loginURL.SetText(s.LoginURL)
			}
			if w.clientID.Text == "" {
				w.clientID.SetText(s.ClientID)
			}
		})
	})
}

func (w *CRMConnect) onConnect() {
	req := api.CRMConnectRequest{CRM: api.CRMSalesforce, LoginURL: w.loginURL.Text, ClientID: w.clientID.Text}
	ctx, cancel := context.WithCancel(w.ctx)
	w.begin(cancel)
	w.errMsg.Hide()
	w.form.Hide()
	w.waitMsg.SetText("Inbox Sync is opening the Salesforce sign-in page in your browser…")
	w.waiting.Show()
	progress := func(p api.ActivationProgress) { w.do(func() { w.onProgress(p) }) }
	go func() {
		st, err := w.ctl.CRMConnect(ctx, req, progress)
		canceled := ctx.Err() != nil
		cancel()
		w.do(func() { w.onConnected(st, err, canceled) })
	}()
}

func (w *CRMConnect) onConnected(st api.CRMStatus, err error, canceled bool) {
	w.waiting.Hide()
	if err != nil {
		w.form.Show()
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
	w.reason.Hide()
	w.doneMsg.SetText("Connected to " + st.Instance + ". Logging has started: the Activity tab of the dashboard shows each item's Salesforce state.")
	w.done.Show()
	time.AfterFunc(w.closeAfter, func() { w.do(w.close) })
}
