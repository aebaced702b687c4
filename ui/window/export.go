package window

import (
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"github.com/inboxsync/inboxsync/sync/api"
)

// onExport asks where to save the activity and has the agent export it
// there: CSV, JSON or iCalendar by the file's extension (CSV when it has
// none of those), every item, with the progress in the activity note.
// The window never opens the store: the agent writes the file.
func (w *Dashboard) onExport() {
	d := dialog.NewFileSave(func(f fyne.URIWriteCloser, err error) {
		if err != nil {
			w.activityNote.SetText(plain(err))
			return
		}
		if f == nil {
			return // cancelled
		}
		// The dialog created the file to hand over a writer; the agent
		// replaces it once the export is complete.
		f.Close()
		u := f.URI()
		if u.Scheme() != "file" {
			w.activityNote.SetText(fmt.Sprintf("Inbox Sync can export only to a file on this computer, not to %s.", u))
			return
		}
		w.export.Disable()
		go w.exportTo(u.Path(), u.Name(), u.Extension())
	}, w.win)
	d.SetFileName("inboxsync-activity.csv")
	d.Show()
}

// exportTo has the agent write the export to path and says how it went.
func (w *Dashboard) exportTo(path, name, ext string) {
	format := strings.TrimPrefix(strings.ToLower(ext), ".")
	if !slices.Contains(api.ExportFormats, format) {
		format = api.FormatCSV
	}
	n, err := w.ctl.Export(w.ctx, api.ExportRequest{Format: format, Path: path}, func(p api.ExportProgress) {
		w.do(func() { w.activityNote.SetText(fmt.Sprintf("Exporting… %d items", p.Items)) })
	})
	w.do(func() {
		w.export.Enable()
		if err != nil {
			w.activityNote.SetText(fmt.Sprintf("The export to %s failed: %s", name, plain(err)))
			return
		}
		w.activityNote.SetText(fmt.Sprintf("Exported %d items to %s.", n, name))
	})
}
