package window

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/inboxsync/inboxsync/internal/autostart"
	"github.com/inboxsync/inboxsync/sync/api"
)

func newSettingsWindow(t *testing.T, f *fakeControl, opts Options) (*Settings, *ui) {
	t.Helper()
	u := newUI(t)
	w := NewSettings(u.app, f, opts)
	u.attach(&w.base)
	w.Start()
	u.waitFor("the settings", func() bool { return w.interval.Selected != "" })
	return w, u
}

func TestSettingsSave(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	f := newFake()
	var saved recorder[api.Settings]
	f.UpdateSettingsFn = func(s api.Settings) (api.Settings, error) { saved.add(s); return s, nil }
	w, u := newSettingsWindow(t, f, Options{})
	if w.interval.Selected != "30 minutes" || !w.inbox.Checked || !w.sent.Checked || !w.calendar.Checked || w.history.Text != "30" || !w.notifications.Checked {
		t.Fatalf("defaults shown wrong: %q %v %v %v %q %v", w.interval.Selected, w.inbox.Checked, w.sent.Checked, w.calendar.Checked, w.history.Text, w.notifications.Checked)
	}
	if want := []string{"15 minutes", "30 minutes", "1 hour", "2 hours", "4 hours"}; !slices.Equal(w.interval.Options, want) {
		t.Errorf("intervals = %q", w.interval.Options)
	}
	if !w.save.Disabled() {
		t.Error("Save is enabled before any change")
	}
	w.interval.SetSelected("2 hours")
	w.sent.SetChecked(false)
	w.history.SetText("")
	test.Type(w.history, "90")
	if w.keep.Text != "365" {
		t.Errorf("keep days shown %q, want 365", w.keep.Text)
	}
	w.keep.SetText("")
	test.Type(w.keep, "730")
	w.notifications.SetChecked(false)
	test.Tap(w.save)
	u.waitFor("saved", func() bool { return strings.HasPrefix(w.msg.Text, "Saved") })
	got := saved.all()
	if len(got) != 1 {
		t.Fatalf("%d saves", len(got))
	}
	want := api.Settings{Interval: api.Duration(2 * time.Hour), HistoryDays: 90, KeepDays: 730, Folders: []api.Folder{api.Inbox, api.Calendar}, Notifications: false}
	if s := got[0]; s.Interval != want.Interval || s.HistoryDays != want.HistoryDays || s.KeepDays != want.KeepDays || !slices.Equal(s.Folders, want.Folders) || s.Notifications != want.Notifications {
		t.Errorf("saved %+v, want %+v", s, want)
	}
	if w.msg.Text != "Saved. Sync now runs every 2 hours." {
		t.Errorf("message = %q", w.msg.Text)
	}
}

func TestSettingsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Settings)
		want string
	}{
		{"history zero", func(w *Settings) { w.history.SetText("0") }, "between 1 and 365"},
		{"history not a number", func(w *Settings) { w.history.SetText("a month") }, "between 1 and 365"},
		{"history too long", func(w *Settings) { w.history.SetText("400") }, "between 1 and 365"},
		{"keep shorter than the history", func(w *Settings) { w.keep.SetText("20") }, "Keep items for 0 days (keep everything) or for 30 to 36500 days"},
		{"keep not a number", func(w *Settings) { w.keep.SetText("forever") }, "Keep items for 0 days"},
		{"no folder", func(w *Settings) {
			w.inbox.SetChecked(false)
			w.sent.SetChecked(false)
			w.calendar.SetChecked(false)
		}, "at least one of Inbox, Sent and Calendar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			w, _ := newSettingsWindow(t, newFake(), Options{})
			tc.edit(w)
			if !w.save.Disabled() {
				t.Error("Save is enabled on an invalid form")
			}
			if !w.msg.Visible() || !strings.Contains(w.msg.Text, tc.want) {
				t.Errorf("message = %q (visible %v), want %q", w.msg.Text, w.msg.Visible(), tc.want)
			}
		})
	}
}

func TestSettingsAgentRefuses(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	f := newFake()
	f.UpdateSettingsFn = func(api.Settings) (api.Settings, error) {
		return api.Settings{}, fmt.Errorf("%w: the sync interval must be at least 30m0s", api.ErrInvalid)
	}
	w, u := newSettingsWindow(t, f, Options{})
	w.interval.SetSelected("15 minutes")
	test.Tap(w.save)
	u.waitFor("the refusal", func() bool { return strings.Contains(w.msg.Text, "interval") })
	if w.msg.Text != "The sync interval must be at least 30m0s." {
		t.Errorf("message = %q", w.msg.Text)
	}
	if w.interval.Selected != "15 minutes" || w.save.Disabled() {
		t.Errorf("the form lost the edit: %q, save disabled %v", w.interval.Selected, w.save.Disabled())
	}
}

func TestSettingsUnlistedInterval(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	f := newFake()
	f.SettingsFn = func() (api.Settings, error) {
		s := api.DefaultSettings()
		s.Interval = api.Duration(45 * time.Minute)
		return s, nil
	}
	w, _ := newSettingsWindow(t, f, Options{})
	if w.interval.Selected != "45 minutes" {
		t.Errorf("interval = %q", w.interval.Selected)
	}
	if want := []string{"15 minutes", "30 minutes", "45 minutes", "1 hour", "2 hours", "4 hours"}; !slices.Equal(w.interval.Options, want) {
		t.Errorf("intervals = %q", w.interval.Options)
	}
}

func TestSettingsLiveUpdate(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	f := newFake()
	interval := make(chan time.Duration, 1)
	interval <- 30 * time.Minute
	f.SettingsFn = func() (api.Settings, error) {
		d := <-interval
		interval <- d
		s := api.DefaultSettings()
		s.Interval = api.Duration(d)
		return s, nil
	}
	w, u := newSettingsWindow(t, f, Options{})
	<-interval
	interval <- 4 * time.Hour
	f.events <- api.Event{Type: api.EventSettings}
	u.waitFor("the new interval", func() bool { return w.interval.Selected == "4 hours" })
}

func TestSettingsAutostart(t *testing.T) {
	if !autostart.Supported() {
		t.Skip("no autostart on this system")
	}
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	entry := filepath.Join(cfg, "autostart", "io.inboxsync.app.desktop")
	w, u := newSettingsWindow(t, newFake(), Options{Autostart: []string{"/opt/Inbox Sync/inboxsync", "--home", "/home/ann/100%"}})
	if w.autostart.Checked || w.autostart.Disabled() {
		t.Fatalf("autostart checked %v, disabled %v", w.autostart.Checked, w.autostart.Disabled())
	}

	w.autostart.SetChecked(true)
	test.Tap(w.save)
	u.waitFor("saved", func() bool { return strings.HasPrefix(w.msg.Text, "Saved") })
	b, err := os.ReadFile(entry)
	if err != nil {
		t.Fatalf("no autostart entry: %v", err)
	}
	for _, want := range []string{"[Desktop Entry]\n", "Type=Application\n", "Name=Inbox Sync\n",
		`Exec="/opt/Inbox Sync/inboxsync" --home /home/ann/100%%` + "\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("entry lacks %q:\n%s", want, b)
		}
	}
	if !w.autostart.Checked {
		t.Error("the check went off after saving")
	}

	w.autostart.SetChecked(false)
	test.Tap(w.save)
	u.waitFor("saved again", func() bool { return strings.HasPrefix(w.msg.Text, "Saved") })
	if fileExists(entry) {
		t.Error("the autostart entry is still there")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Settings the administrator locked are greyed with "Set by your
// administrator"; the others still change, and a save keeps the locked
// values as they are.
func TestSettingsLockedByTheAdministrator(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	f := newFake()
	s := api.DefaultSettings()
	s.Interval = api.Duration(15 * time.Minute)
	s.HistoryDays = 60
	s.Sources = map[string]api.SettingSource{"sync_interval": api.SourceLocked, "history_days": api.SourcePolicy, "folders": api.SourceDefault}
	f.SettingsFn = func() (api.Settings, error) { return s, nil }
	var saved recorder[api.Settings]
	f.UpdateSettingsFn = func(x api.Settings) (api.Settings, error) { saved.add(x); x.Sources = s.Sources; return x, nil }
	w, u := newSettingsWindow(t, f, Options{})
	if !w.interval.Disabled() || w.form.Items[0].HintText != "Set by your administrator" {
		t.Fatalf("locked interval: disabled %v, hint %q", w.interval.Disabled(), w.form.Items[0].HintText)
	}
	if w.history.Disabled() || w.form.Items[2].HintText != historyHint+" (your administrator's default)" || w.inbox.Disabled() {
		t.Fatalf("unlocked settings: history disabled %v hint %q, inbox disabled %v", w.history.Disabled(), w.form.Items[2].HintText, w.inbox.Disabled())
	}
	w.history.SetText("")
	test.Type(w.history, "90")
	test.Tap(w.save)
	u.waitFor("saved", func() bool { return strings.HasPrefix(w.msg.Text, "Saved") })
	if got := saved.all(); len(got) != 1 || got[0].Interval.D() != 15*time.Minute || got[0].HistoryDays != 90 {
		t.Fatalf("saved %+v", got)
	}
	if !w.interval.Disabled() {
		t.Error("the locked interval is editable after a save")
	}
}
