package window

// How sessions, issues and items read for people, and the two-line rows
// the dashboard lists them in.

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/sync/api"
)

// pageWords says how many items a page of the activity shows, of how
// many.
func pageWords(p api.ActivityPage) string {
	total := fmt.Sprint(p.Total)
	if p.TotalCapped {
		total = fmt.Sprintf("more than %d", p.Total)
	}
	switch {
	case p.Total == 1 && !p.TotalCapped:
		return "1 item"
	case len(p.Items) < p.Total || p.TotalCapped:
		return fmt.Sprintf("The latest %d of %s items", len(p.Items), total)
	}
	return total + " items"
}

// sessionLine is one session of the history list.
func sessionLine(s api.Session, now time.Time) (string, string) {
	title := fmt.Sprintf("%s · %s · %s", when(s.Start, now), s.Account, outcomeWords(s.Outcome))
	detail := countsWords(s.Counts)
	if !s.End.IsZero() {
		detail += " · took " + tookWords(s.End.Sub(s.Start))
	}
	detail += " · " + triggerWords(s.Trigger)
	if s.Error != "" {
		detail += " · " + sentence(s.Error)
	}
	return title, detail
}

// sessionSummary is the last session in one line.
func sessionSummary(s api.Session, now time.Time) string {
	out := fmt.Sprintf("%s, %s: %s", when(s.Start, now), strings.ToLower(outcomeWords(s.Outcome)), countsWords(s.Counts))
	if !s.End.IsZero() {
		out += ", took " + tookWords(s.End.Sub(s.Start))
	}
	return out + "."
}

func countsWords(c api.Counts) string {
	return fmt.Sprintf("%d added, %d updated, %d removed", c.Added, c.Updated, c.Removed)
}

func tookWords(d time.Duration) string {
	if d < time.Second {
		return "less than a second"
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1f seconds", d.Seconds())
	}
	return durationWords(d.Round(time.Second))
}

func outcomeWords(o string) string {
	switch o {
	case api.OutcomeRunning:
		return "Running"
	case "ok":
		return "Finished"
	case "failed":
		return "Failed"
	case "offline":
		return "Offline"
	case "throttled":
		return "Server busy"
	case "rejected":
		return "Sign-in refused"
	case "grant-gone":
		return "Sign-in expired"
	case "stopped":
		return "Stopped"
	case api.OutcomeInterrupted:
		return "Interrupted"
	}
	return sentence(o)
}

func triggerWords(t string) string {
	switch t {
	case "schedule":
		return "on schedule"
	case "manual":
		return "asked for"
	case "catch-up":
		return "caught up after sleep"
	case "activation":
		return "after connecting"
	case "retry":
		return "retry"
	case "resume":
		return "resumed after an interruption"
	}
	return t
}

func folderWords(f api.Folder) string {
	switch f {
	case api.Inbox:
		return "Inbox"
	case api.Sent:
		return "Sent"
	case api.Calendar:
		return "Calendar"
	}
	return string(f)
}

// issueLine is one issue of the issues list.
func issueLine(is api.Issue, now time.Time) (string, string) {
	return fmt.Sprintf("%s · %s · %s", when(is.Time, now), is.Account, folderWords(is.Folder)), sentence(is.Message)
}

// itemLine is one synced item of the activity list.
func itemLine(it api.StoredItem, now time.Time) (string, string) {
	subject := firstNonEmpty(it.Subject, "(no subject)")
	if it.Kind == api.KindEvent {
		title := "Meeting: " + subject
		detail := fmt.Sprintf("%s · %s · starts %s", it.Account, folderWords(it.Folder), when(firstTime(it.Start, it.Time), now))
		if it.Location != "" {
			detail += " · " + it.Location
		}
		if it.Organizer != "" {
			detail += " · organised by " + it.Organizer
		}
		return title, detail
	}
	people := it.From
	if it.Folder == api.Sent && len(it.To) > 0 {
		people = "to " + strings.Join(it.To, ", ")
	}
	detail := fmt.Sprintf("%s · %s · %s · %s", when(it.Time, now), it.Account, folderWords(it.Folder), people)
	if it.Preview != "" {
		detail += " · " + it.Preview
	}
	return subject, detail
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// twoLineList lists *rows, each drawn as two lines by line.
func twoLineList[T any](rows *[]T, line func(T, time.Time) (title, detail string)) *widget.List {
	return widget.NewList(
		func() int { return len(*rows) },
		newTwoLine,
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(*rows) {
				title, detail := line((*rows)[i], time.Now())
				setTwoLine(o, title, detail)
			}
		})
}

// newTwoLine is a list row: a bold first line and a quieter second one.
func newTwoLine() fyne.CanvasObject {
	title := widget.NewLabel("")
	title.TextStyle.Bold = true
	title.Truncation = fyne.TextTruncateEllipsis
	detail := widget.NewLabel("")
	detail.Truncation = fyne.TextTruncateEllipsis
	// Smaller, not dimmer: the dark theme's low-importance grey is too
	// faint to read on its background.
	detail.SizeName = theme.SizeNameCaptionText
	return container.New(layout.NewCustomPaddedVBoxLayout(-12), title, detail)
}

func setTwoLine(o fyne.CanvasObject, title, detail string) {
	c := o.(*fyne.Container)
	c.Objects[0].(*widget.Label).SetText(title)
	c.Objects[1].(*widget.Label).SetText(detail)
}

// caption is a quiet (smaller), wrapped explanatory label.
func caption(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	l.SizeName = theme.SizeNameCaptionText
	return l
}

func pad(o fyne.CanvasObject) fyne.CanvasObject { return container.NewPadded(o) }

// showText sets l's text and hides it when there is none.
func showText(l *widget.Label, s string) {
	l.SetText(s)
	if s == "" {
		l.Hide()
	} else {
		l.Show()
	}
}
