package window

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/internal/autostart"
	"github.com/inboxsync/inboxsync/sync/api"
)

// intervalChoices are the sync intervals offered.
var intervalChoices = []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}

// Settings is the window that changes how Inbox Sync works.
type Settings struct {
	base
	opts Options

	interval      *widget.Select
	intervals     map[string]time.Duration
	inbox         *widget.Check
	sent          *widget.Check
	calendar      *widget.Check
	history       *widget.Entry
	keep          *widget.Entry
	notifications *widget.Check
	autostart     *widget.Check
	autostartNote *widget.Label
	msg           *widget.Label
	save          *widget.Button
	form          *widget.Form

	// loading is set while the form is filled from the agent, so the
	// change handlers don't count that as the user's edit.
	loading bool
	// dirty is set once the user changed something not yet saved; the
	// agent's setting changes then no longer overwrite the form.
	dirty bool
	// sources are where the shown settings come from (Settings.Sources):
	// the ones the administrator locked stay greyed.
	sources map[string]api.SettingSource
}

// The fields' own hints; a setting the administrator locked says so
// instead.
const (
	intervalHint = "How often Inbox Sync looks for new mail and meetings"
	foldersHint  = "The mail folders and the calendar to sync"
	historyHint  = "How far back the first sync of a new mailbox goes"
)

// NewSettings creates the settings window.
func NewSettings(a fyne.App, c api.Control, opts Options) *Settings {
	w := &Settings{base: newBase(a, c, "Inbox Sync – Settings"), opts: opts}
	w.build()
	return w
}

func (w *Settings) build() {
	w.intervals = map[string]time.Duration{}
	var labels []string
	for _, d := range intervalChoices {
		l := durationWords(d)
		w.intervals[l] = d
		labels = append(labels, l)
	}
	w.interval = widget.NewSelect(labels, func(string) { w.onChanged() })
	w.inbox = widget.NewCheck("Inbox", func(bool) { w.onChanged() })
	w.sent = widget.NewCheck("Sent", func(bool) { w.onChanged() })
	w.calendar = widget.NewCheck("Calendar", func(bool) { w.onChanged() })
	w.history = widget.NewEntry()
	w.history.OnChanged = func(string) { w.onChanged() }
	w.keep = widget.NewEntry()
	w.keep.OnChanged = func(string) { w.onChanged() }
	w.notifications = widget.NewCheck("Show desktop notifications", func(bool) { w.onChanged() })
	w.autostart = widget.NewCheck("Start Inbox Sync when I sign in", func(bool) { w.onChanged() })
	w.autostartNote = caption("")
	if !autostart.Supported() {
		w.autostart.Disable()
		w.autostartNote.SetText(sentence(autostart.ErrUnsupported.Error()))
	} else {
		w.autostartNote.Hide()
	}
	w.msg = widget.NewLabel("")
	w.msg.Wrapping = fyne.TextWrapWord
	w.msg.Hide()
	w.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), w.onSave)
	w.save.Importance = widget.HighImportance
	w.save.Disable()
	closeBtn := widget.NewButton("Close", func() { w.win.Close() })

	days := container.NewBorder(nil, nil, nil, widget.NewLabel("days back"), w.history)
	w.form = widget.NewForm(
		widget.NewFormItem("Sync every", w.interval),
		widget.NewFormItem("What to sync", container.NewHBox(w.inbox, w.sent, w.calendar)),
		widget.NewFormItem("First sync takes", days),
		widget.NewFormItem("Keep items for", container.NewBorder(nil, nil, nil, widget.NewLabel("days"), w.keep)),
		widget.NewFormItem("Notifications", w.notifications),
		widget.NewFormItem("At login", container.NewVBox(w.autostart, w.autostartNote)),
	)
	w.form.Items[0].HintText = intervalHint
	w.form.Items[1].HintText = foldersHint
	w.form.Items[2].HintText = historyHint
	w.form.Items[3].HintText = "Older mail and meetings are removed daily; 0 keeps all"
	w.history.Validator = nil
	w.win.SetContent(container.NewPadded(container.NewVBox(
		w.form, w.msg,
		container.NewHBox(layout.NewSpacer(), closeBtn, w.save),
	)))
	w.setEnabled(false)
	w.win.Resize(fyne.NewSize(520, 0))
}

// setEnabled enables the form once the settings are loaded.
func (w *Settings) setEnabled(on bool) {
	for _, d := range []fyne.Disableable{w.interval, w.inbox, w.sent, w.calendar, w.history, w.keep, w.notifications} {
		if on {
			d.Enable()
		} else {
			d.Disable()
		}
	}
	if on && autostart.Supported() {
		w.autostart.Enable()
	} else {
		w.autostart.Disable()
	}
	// What the administrator locked stays greyed, and says so.
	for _, f := range []struct {
		name string
		item int
		hint string
		ds   []fyne.Disableable
	}{
		{"sync_interval", 0, intervalHint, []fyne.Disableable{w.interval}},
		{"folders", 1, foldersHint, []fyne.Disableable{w.inbox, w.sent, w.calendar}},
		{"history_days", 2, historyHint, []fyne.Disableable{w.history}},
	} {
		hint := f.hint
		switch w.sources[f.name] {
		case api.SourceLocked:
			hint = api.LockedWords
			for _, d := range f.ds {
				d.Disable()
			}
		case api.SourcePolicy:
			hint += " (your administrator's default)"
		}
		w.form.Items[f.item].HintText = hint
	}
	// The form greys the labels of disabled fields; it looks again on
	// refresh.
	w.form.Refresh()
}

// Start implements Window.
func (w *Settings) Start() {
	go w.follow(func(ev api.Event) bool { return ev.Type == api.EventSettings }, w.load)
}

func (w *Settings) load(ctx context.Context) {
	s, err := w.ctl.Settings(ctx)
	auto := autostart.Enabled()
	w.do(func() {
		if err != nil {
			w.say(plain(err), widget.DangerImportance)
			return
		}
		if w.dirty {
			return
		}
		w.fill(s, auto)
	})
}

// fill shows s in the form.
func (w *Settings) fill(s api.Settings, auto bool) {
	w.loading = true
	defer func() { w.loading = false }()
	w.sources = s.Sources
	label := durationWords(s.Interval.D())
	if _, ok := w.intervals[label]; !ok {
		// Set elsewhere (the CLI) to a value not offered: offer it too.
		w.intervals[label] = s.Interval.D()
		w.interval.Options = append(w.interval.Options, label)
		slices.SortFunc(w.interval.Options, func(a, b string) int { return int(w.intervals[a] - w.intervals[b]) })
	}
	w.interval.SetSelected(label)
	w.inbox.SetChecked(slices.Contains(s.Folders, api.Inbox))
	w.sent.SetChecked(slices.Contains(s.Folders, api.Sent))
	w.calendar.SetChecked(slices.Contains(s.Folders, api.Calendar))
	w.history.SetText(strconv.Itoa(s.HistoryDays))
	w.keep.SetText(strconv.Itoa(s.KeepDays))
	w.notifications.SetChecked(s.Notifications)
	w.autostart.SetChecked(auto)
	w.setEnabled(true)
	w.save.Disable()
}

// problem says what is wrong with the form, or "".
func (w *Settings) problem() string {
	if n, err := strconv.Atoi(strings.TrimSpace(w.history.Text)); err != nil || n < 1 || n > 365 {
		return "The first sync's history must be a number of days between 1 and 365."
	}
	history, _ := strconv.Atoi(strings.TrimSpace(w.history.Text))
	if n, err := strconv.Atoi(strings.TrimSpace(w.keep.Text)); err != nil || n != 0 && (n < history || n > 36500) {
		return fmt.Sprintf("Keep items for 0 days (keep everything) or for %d to 36500 days: at least as long as the first sync's history.", history)
	}
	if !w.inbox.Checked && !w.sent.Checked && !w.calendar.Checked {
		return "Choose at least one of Inbox, Sent and Calendar."
	}
	return ""
}

func (w *Settings) onChanged() {
	if w.loading {
		return
	}
	w.dirty = true
	if p := w.problem(); p != "" {
		w.say(p, widget.DangerImportance)
		w.save.Disable()
		return
	}
	w.say("", widget.MediumImportance)
	w.save.Enable()
}

// current reads the form.
func (w *Settings) current() api.Settings {
	days, _ := strconv.Atoi(strings.TrimSpace(w.history.Text))
	keep, _ := strconv.Atoi(strings.TrimSpace(w.keep.Text))
	s := api.Settings{Interval: api.Duration(w.intervals[w.interval.Selected]), HistoryDays: days, KeepDays: keep, Notifications: w.notifications.Checked}
	for _, f := range []struct {
		c *widget.Check
		f api.Folder
	}{{w.inbox, api.Inbox}, {w.sent, api.Sent}, {w.calendar, api.Calendar}} {
		if f.c.Checked {
			s.Folders = append(s.Folders, f.f)
		}
	}
	return s
}

func (w *Settings) onSave() {
	if p := w.problem(); p != "" {
		w.say(p, widget.DangerImportance)
		return
	}
	s, auto, wasAuto := w.current(), w.autostart.Checked, autostart.Enabled()
	w.save.Disable()
	w.say("Saving…", widget.MediumImportance)
	go func() {
		saved, err := w.ctl.UpdateSettings(w.ctx, s)
		if err == nil && auto != wasAuto {
			err = autostart.Set(auto, w.opts.Autostart)
		}
		w.do(func() {
			if err != nil {
				w.say(plain(err), widget.DangerImportance)
				w.save.Enable()
				return
			}
			w.dirty = false
			w.fill(saved, autostart.Enabled())
			w.say("Saved. Sync now runs "+everyWords(saved.Interval.D())+".", widget.SuccessImportance)
		})
	}()
}

// say shows msg under the form ("" hides it).
func (w *Settings) say(msg string, imp widget.Importance) {
	w.msg.Importance = imp
	showText(w.msg, msg)
}
