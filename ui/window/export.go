package window

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/store"
)

// onExport asks where to save the activity and exports it there: CSV,
// JSON or iCalendar by the file's extension (CSV when it has none of
// those), every item, in pages, with the progress in the activity note.
func (w *Dashboard) onExport() {
	d := dialog.NewFileSave(func(f fyne.URIWriteCloser, err error) {
		if err != nil {
			w.activityNote.SetText(plain(err))
			return
		}
		if f == nil {
			return // cancelled
		}
		w.export.Disable()
		go w.exportTo(f, f.URI().Name(), f.URI().Extension())
	}, w.win)
	d.SetFileName("inboxsync-activity.csv")
	d.Show()
}

// exportTo writes the export to f and says how it went.
func (w *Dashboard) exportTo(f io.WriteCloser, name, ext string) {
	format := strings.TrimPrefix(strings.ToLower(ext), ".")
	if !slices.Contains(api.ExportFormats, format) {
		format = api.FormatCSV
	}
	n, err := store.Export(w.ctx, w.ctl.Items, api.ItemsQuery{}, format, f, func(n int) {
		w.do(func() { w.activityNote.SetText(fmt.Sprintf("Exporting… %d items", n)) })
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	w.do(func() {
		w.export.Enable()
		if err != nil {
			w.activityNote.SetText(fmt.Sprintf("The export to %s failed: %s", name, plain(err)))
			return
		}
		w.activityNote.SetText(fmt.Sprintf("Exported %d items to %s.", n, name))
	})
}
