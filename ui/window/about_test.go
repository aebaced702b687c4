package window

import (
	"bytes"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/inboxsync/inboxsync/assets"
)

// iconApp records the icon set on the app (Fyne's test app drops it).
type iconApp struct {
	fyne.App
	icon fyne.Resource
}

func (a *iconApp) SetIcon(r fyne.Resource) { a.icon = r }
func (a *iconApp) Icon() fyne.Resource     { return a.icon }

// Every window gives the app the application icon before it creates its
// Fyne window, which takes the app's icon.
func TestWindowsShowTheAppIcon(t *testing.T) {
	f := newFake()
	newAgentState().wire(f)
	u := newUI(t)
	for _, name := range []string{WindowActivate, WindowDashboard, WindowSettings} {
		a := &iconApp{App: u.app}
		w, err := New(a, f, name, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if a.icon == nil || !bytes.Equal(a.icon.Content(), assets.AppIcon) {
			t.Errorf("the %s window did not set the application icon", name)
		}
		w.Stop()
	}
}

func TestDashboardAboutLine(t *testing.T) {
	defer func(old func() string) { About = old }(About)
	About = func() string { return "9.8.7 (commit 0123456789ab, built 2026-11-27 15:04 UTC)" }
	f := newFake()
	newAgentState().wire(f)
	w, _ := newDashboardWindow(t, f)
	want := "About: Inbox Sync 9.8.7 (commit 0123456789ab, built 2026-11-27 15:04 UTC)"
	if findLabel(w.win.Content(), want) == nil {
		t.Errorf("no label %q in the dashboard", want)
	}

	About = nil
	w2, _ := newDashboardWindow(t, f)
	if findLabel(w2.win.Content(), want) != nil {
		t.Error("the About line is there without About")
	}
}

// findLabel finds the label saying text under o, in every tab.
func findLabel(o fyne.CanvasObject, text string) *widget.Label {
	switch v := o.(type) {
	case *widget.Label:
		if v.Text == text {
			return v
		}
	case *fyne.Container:
		for _, c := range v.Objects {
			if l := findLabel(c, text); l != nil {
				return l
			}
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(v).Objects() {
			if l := findLabel(c, text); l != nil {
				return l
			}
		}
	}
	return nil
}
