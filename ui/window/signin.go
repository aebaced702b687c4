package window

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/sync/api"
)

// signInPanel is the panel a window shows while the agent signs in (a
// mailbox's activation, Salesforce): a title, a progress bar, the agent's
// words, the sign-in link with Copy link, and Cancel, which cancels stop.
type signInPanel struct {
	app       fyne.App
	waiting   *fyne.Container
	waitTitle *widget.Label
	waitMsg   *widget.Label
	link      *widget.Label
	linkURL   string
	copyLink  *widget.Button
	cancelRun *widget.Button
	stop      context.CancelFunc
}

func newSignInPanel(a fyne.App) *signInPanel {
	p := &signInPanel{app: a, waitTitle: widget.NewLabel(""), waitMsg: widget.NewLabel(""), link: widget.NewLabel("")}
	p.waitTitle.TextStyle.Bold = true
	p.waitMsg.Wrapping = fyne.TextWrapWord
	p.link.Truncation = fyne.TextTruncateEllipsis
	p.link.SizeName = theme.SizeNameCaptionText // readable, not dimmed
	p.copyLink = widget.NewButton("Copy link", p.onCopyLink)
	p.cancelRun = widget.NewButton("Cancel", p.onCancel)
	p.waiting = container.NewVBox(p.waitTitle, widget.NewProgressBarInfinite(), p.waitMsg, p.link,
		container.NewHBox(p.copyLink, layout.NewSpacer(), p.cancelRun))
	p.waiting.Hide()
	return p
}

// begin readies the panel for a sign-in that stop cancels: no link yet.
func (p *signInPanel) begin(stop context.CancelFunc) {
	p.stop = stop
	p.linkURL = ""
	p.link.SetText("")
	p.link.Hide()
	p.copyLink.SetText("Copy link")
	p.copyLink.Disable()
	p.cancelRun.Enable()
}

func (p *signInPanel) onProgress(pr api.ActivationProgress) {
	if pr.Message != "" {
		p.waitMsg.SetText(sentence(pr.Message))
	}
	if pr.UserCode != "" {
		p.waitMsg.SetText(p.waitMsg.Text + "\nYour code: " + pr.UserCode)
	}
	if pr.URL != "" {
		p.linkURL = pr.URL
		p.link.SetText(pr.URL)
		p.link.Show()
		p.copyLink.Enable()
	}
}

func (p *signInPanel) onCopyLink() {
	if p.linkURL == "" {
		return
	}
	p.app.Clipboard().SetContent(p.linkURL)
	p.copyLink.SetText("Link copied")
}

func (p *signInPanel) onCancel() {
	if p.stop != nil {
		p.stop()
	}
	p.cancelRun.Disable()
	p.waitMsg.SetText("Cancelling…")
}
