package store

// Export: reading every stored item a page at a time, and writing items as
// CSV, JSON or iCalendar in constant memory.

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Items returns a page of the items q selects (not those marked deleted,
// nor those of an account being removed), in the order they were stored. Items stored while an export pages through
// come at its end; an item removed meanwhile is not in the pages after.
func (s *Store) Items(ctx context.Context, q api.ItemsQuery) (api.ItemsPage, error) {
	if q.Limit <= 0 {
		q.Limit = api.DefaultItemsLimit
	}
	q.Limit = min(q.Limit, api.MaxItemsLimit)
	args := []any{q.After}
	arg := argAdder(&args)
	var sb strings.Builder
	sb.WriteString("SELECT " + itemCols + " FROM items WHERE id > ?1 AND deleted = 0 AND account NOT IN " + removingSQL)
	if q.Account != "" {
		sb.WriteString(" AND account = " + arg(q.Account))
	}
	if !q.Since.IsZero() {
		sb.WriteString(" AND time >= " + arg(timeNanos(q.Since)))
	}
	if !q.Until.IsZero() {
		sb.WriteString(" AND time < " + arg(timeNanos(q.Until)))
	}
	if q.Kind != "" {
		sb.WriteString(" AND kind = " + arg(string(q.Kind)))
	}
	if len(q.Folders) > 0 {
		b, err := json.Marshal(q.Folders)
		if err != nil {
			return api.ItemsPage{}, err
		}
		sb.WriteString(" AND folder IN (SELECT value FROM json_each(" + arg(string(b)) + "))")
	}
	sb.WriteString(" ORDER BY id LIMIT " + arg(q.Limit))
	items, ids, err := s.queryItems(ctx, sb.String(), args)
	if err != nil {
		return api.ItemsPage{}, err
	}
	page := api.ItemsPage{Items: items}
	if page.Items == nil {
		page.Items = []api.StoredItem{}
	}
	if len(items) == q.Limit {
		page.Next = ids[len(ids)-1]
	}
	return page, nil
}

// ExportFile carries out req: it writes the items req.Query selects, read
// page after page from items, to req.Path in req.Format, through a
// temporary file next to it that is renamed into place once complete (a
// failed or cancelled export leaves no half file; the file is the
// user's own: mode 0600). progress (if not nil) gets the items written
// so far after each page.
func ExportFile(ctx context.Context, items func(context.Context, api.ItemsQuery) (api.ItemsPage, error), req api.ExportRequest, progress func(api.ExportProgress)) (int, error) {
	if !slices.Contains(api.ExportFormats, req.Format) {
		return 0, fmt.Errorf("%w: unknown export format %q (use csv, json or ics)", api.ErrInvalid, req.Format)
	}
	if !filepath.IsAbs(req.Path) {
		return 0, fmt.Errorf("%w: the export's file must be given as an absolute path, not %q", api.ErrInvalid, req.Path)
	}
	f, err := os.CreateTemp(filepath.Dir(req.Path), "."+filepath.Base(req.Path)+".*")
	if err != nil {
		return 0, fmt.Errorf("cannot write the export to %s: %w", req.Path, err)
	}
	defer os.Remove(f.Name()) // after the rename there is nothing left to remove
	w := bufio.NewWriterSize(f, 64<<10)
	var pf func(int)
	if progress != nil {
		pf = func(n int) { progress(api.ExportProgress{Items: n}) }
	}
	q := req.Query
	q.After, q.Limit = 0, 0
	n, err := Export(ctx, items, q, req.Format, w, pf)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), req.Path)
	}
	if err != nil {
		return n, fmt.Errorf("the export to %s failed, nothing was written there: %w", req.Path, err)
	}
	return n, nil
}

// Export writes the items q selects, page after page read from items (the
// Control's Items, or a Store's), to w in format: "csv" (RFC 4180 with a
// header row of CSVColumns, UTF-8), "json" (an array of the objects
// `activity --json` lists) or "ics" (iCalendar, RFC 5545: the events
// only). It holds one page in memory, calls progress (if not nil) after
// each page with the number written so far, and returns that number.
func Export(ctx context.Context, items func(context.Context, api.ItemsQuery) (api.ItemsPage, error), q api.ItemsQuery, format string, w io.Writer, progress func(int)) (int, error) {
	var enc itemEncoder
	switch format {
	case api.FormatCSV:
		enc = newCSVEncoder(w)
	case api.FormatJSON:
		enc = &jsonEncoder{w: w}
	case api.FormatICS:
		q.Kind = api.KindEvent
		enc = newICSEncoder(w)
	default:
		return 0, errSearch("unknown export format %q: use csv, json or ics", format)
	}
	if err := enc.begin(); err != nil {
		return 0, err
	}
	n := 0
	for {
		page, err := items(ctx, q)
		if err != nil {
			return n, err
		}
		for i := range page.Items {
			if err := enc.item(&page.Items[i]); err != nil {
				return n, err
			}
			n++
		}
		if progress != nil {
			progress(n)
		}
		if page.Next == 0 {
			return n, enc.end()
		}
		q.After = page.Next
	}
}

// itemEncoder writes items in one format.
type itemEncoder interface {
	begin() error
	item(it *api.StoredItem) error
	end() error
}

// exportTime formats t for CSV and JSON-free formats: RFC 3339, UTC.
func exportTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

type csvEncoder struct {
	w   *csv.Writer
	row []string
}

func newCSVEncoder(w io.Writer) *csvEncoder {
	c := csv.NewWriter(w)
	c.UseCRLF = true // RFC 4180
	return &csvEncoder{w: c}
}

func (c *csvEncoder) begin() error { return c.w.Write(api.CSVColumns) }

func (c *csvEncoder) item(it *api.StoredItem) error {
	list := func(a []string) string { return strings.Join(a, "; ") }
	c.row = append(c.row[:0], it.Account, string(it.Folder), string(it.Kind), exportTime(it.Time), it.From,
		list(it.To), list(it.Cc), it.Subject, it.Preview, exportTime(it.Start), exportTime(it.End), it.Location,
		it.Organizer, list(it.Attendees), it.MessageID, it.ConversationID, it.ProviderID,
		exportTime(it.FirstSeen), exportTime(it.UpdatedAt))
	return c.w.Write(c.row)
}

func (c *csvEncoder) end() error {
	c.w.Flush()
	return c.w.Error()
}

// jsonEncoder writes a JSON array, one item a line.
type jsonEncoder struct {
	w     io.Writer
	count int
}

func (j *jsonEncoder) begin() error {
	_, err := io.WriteString(j.w, "[")
	return err
}

func (j *jsonEncoder) item(it *api.StoredItem) error {
	b, err := json.Marshal(it)
	if err != nil {
		return err
	}
	sep := ",\n"
	if j.count == 0 {
		sep = "\n"
	}
	j.count++
	if _, err := io.WriteString(j.w, sep); err != nil {
		return err
	}
	_, err = j.w.Write(b)
	return err
}

func (j *jsonEncoder) end() error {
	_, err := io.WriteString(j.w, "\n]\n")
	return err
}

// icsEncoder writes a VCALENDAR one VEVENT at a time: the library folds and
// escapes each event, and the calendar's head and tail are written around
// them, so that no more than one event is held.
type icsEncoder struct {
	w    io.Writer
	conf *ics.SerializationConfiguration
}

func newICSEncoder(w io.Writer) *icsEncoder {
	return &icsEncoder{w: w, conf: &ics.SerializationConfiguration{MaxLength: 75, PropertyMaxLength: 75, NewLine: "\r\n"}}
}

func (e *icsEncoder) begin() error {
	cal := ics.NewCalendarFor("Inbox Sync")
	cal.SetMethod(ics.MethodPublish)
	var b strings.Builder
	if err := cal.SerializeTo(&b, e.conf); err != nil {
		return err
	}
	head, _, _ := strings.Cut(b.String(), "END:VCALENDAR")
	_, err := io.WriteString(e.w, head)
	return err
}

func (e *icsEncoder) item(it *api.StoredItem) error {
	ev := ics.NewEvent(fmt.Sprintf("%s/%s/%s@inboxsync", it.Account, it.Folder, it.ProviderID))
	ev.SetDtStampTime(it.UpdatedAt)
	if !it.Start.IsZero() {
		ev.SetStartAt(it.Start)
	}
	if !it.End.IsZero() {
		ev.SetEndAt(it.End)
	}
	ev.SetSummary(it.Subject)
	if it.Location != "" {
		ev.SetLocation(it.Location)
	}
	if it.Preview != "" {
		ev.SetDescription(it.Preview)
	}
	if it.Organizer != "" {
		ev.SetOrganizer("mailto:" + bareAddress(it.Organizer))
	}
	for _, a := range it.Attendees {
		ev.AddAttendee("mailto:" + bareAddress(a))
	}
	return ev.SerializeTo(e.w, e.conf)
}

func (e *icsEncoder) end() error {
	_, err := io.WriteString(e.w, "END:VCALENDAR\r\n")
	return err
}

// bareAddress returns the address of "Name <addr>", or s.
func bareAddress(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return strings.TrimSpace(s)
}
