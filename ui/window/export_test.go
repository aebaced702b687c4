package window

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
)

// TestDashboardExport has the agent export into the file the save dialog
// gave (the format from its extension), shows the progress, and says how
// many items it wrote; a failed export says why.
func TestDashboardExport(t *testing.T) {
	f := newFake()
	newAgentState().wire(f)
	var reqs recorder[api.ExportRequest]
	shown := make(chan string, 1)
	f.ExportFn = func(req api.ExportRequest, progress func(api.ExportProgress)) (int, error) {
		reqs.add(req)
		if strings.HasSuffix(req.Path, ".ics") {
			return 0, errors.New("the disk is full")
		}
		progress(api.ExportProgress{Items: 2})
		shown <- <-shown // the test saw the progress
		return 3, nil
	}
	w, u := newDashboardWindow(t, f)
	w.export.Disable()
	go w.exportTo("/home/ann/activity.JSON", "activity.JSON", ".JSON")
	u.waitFor("the progress", func() bool { return w.activityNote.Text == "Exporting… 2 items" })
	shown <- "seen"
	u.waitFor("the export", func() bool { return strings.HasPrefix(w.activityNote.Text, "Exported") })
	if w.activityNote.Text != "Exported 3 items to activity.JSON." || w.export.Disabled() {
		t.Errorf("note %q, button disabled %v", w.activityNote.Text, w.export.Disabled())
	}
	go w.exportTo("/home/ann/meetings.ics", "meetings.ics", ".ics")
	u.waitFor("the failure", func() bool { return strings.HasPrefix(w.activityNote.Text, "The export") })
	if want := "The export to meetings.ics failed: The disk is full."; w.activityNote.Text != want && w.activityNote.Text != strings.TrimSuffix(want, ".") {
		t.Errorf("note %q, want %q", w.activityNote.Text, want)
	}
	go w.exportTo("/home/ann/notes.txt", "notes.txt", ".txt")
	u.waitFor("the third export", func() bool { return len(reqs.all()) == 3 })
	got := fmt.Sprint(reqs.all())
	want := fmt.Sprint([]api.ExportRequest{{Format: "json", Path: "/home/ann/activity.JSON"}, {Format: "ics", Path: "/home/ann/meetings.ics"}, {Format: "csv", Path: "/home/ann/notes.txt"}})
	if got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
}
