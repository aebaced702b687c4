package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

func TestItemsPages(t *testing.T) {
	ctx := context.Background()
	s := searchFixture(t)
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, provider.Page{Cursor: "d", Changes: []provider.Change{del("m3")}}, t0); err != nil {
		t.Fatal(err)
	}
	read := func(q api.ItemsQuery) (ids []string, pages int) {
		for {
			p, err := s.Items(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, it := range p.Items {
				ids = append(ids, it.ProviderID)
			}
			if p.Next == 0 {
				return ids, pages
			}
			q.After = p.Next
		}
	}
	cases := []struct {
		q     api.ItemsQuery
		want  string
		pages int
	}{
		{api.ItemsQuery{Limit: 2}, "m1 m2 m4 m5 m6 e1 h1", 4},
		{api.ItemsQuery{Limit: 7}, "m1 m2 m4 m5 m6 e1 h1", 2},
		{api.ItemsQuery{Account: "home"}, "h1", 1},
		{api.ItemsQuery{Since: t0.Add(4 * time.Minute), Until: t0.Add(7 * time.Minute)}, "m4 m5 m6", 1},
		{api.ItemsQuery{Folders: []api.Folder{api.Calendar}}, "e1", 1},
		{api.ItemsQuery{Kind: api.KindMail, Account: "work", Limit: 3}, "m1 m2 m4 m5 m6", 2},
	}
	for _, c := range cases {
		ids, pages := read(c.q)
		if strings.Join(ids, " ") != c.want || pages != c.pages {
			t.Errorf("%+v: %v in %d pages, want %s in %d", c.q, ids, pages, c.want, c.pages)
		}
	}
}

func TestExportFormats(t *testing.T) {
	ctx := context.Background()
	s := searchFixture(t)
	var calls []int
	export := func(format string, q api.ItemsQuery) string {
		t.Helper()
		var b bytes.Buffer
		q.Limit = 3
		calls = calls[:0]
		n, err := Export(ctx, s.Items, q, format, &b, func(n int) { calls = append(calls, n) })
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(calls) == 0 || calls[len(calls)-1] != n {
			t.Errorf("%s: progress %v, exported %d", format, calls, n)
		}
		return b.String()
	}

	out := export(api.FormatCSV, api.ItemsQuery{})
	if !strings.HasSuffix(out, "\r\n") || !strings.HasPrefix(out, strings.Join(api.CSVColumns, ",")+"\r\n") {
		t.Errorf("CSV head or line ends:\n%q", out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+8 {
		t.Fatalf("%d CSV rows", len(rows))
	}
	col := func(name string) int {
		for i, c := range api.CSVColumns {
			if c == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	m4 := rows[4]
	if m4[col("subject")] != "Café order" || m4[col("preview")] != "Un café, s'il vous plaît" || m4[col("time")] != "2026-03-01T09:34:00Z" || m4[col("to")] != "bob@corp.example" {
		t.Errorf("CSV row of m4: %q", m4)
	}
	e1 := rows[7]
	if e1[col("kind")] != "event" || e1[col("end")] != "2026-03-01T10:40:00Z" || e1[col("attendees")] != "frank@corp.example" || e1[col("location")] != "Room Budapest" {
		t.Errorf("CSV row of e1: %q", e1)
	}

	var items []api.StoredItem
	if err := json.Unmarshal([]byte(export(api.FormatJSON, api.ItemsQuery{Account: "work"})), &items); err != nil {
		t.Fatal(err)
	}
	page, _ := s.Activity(ctx, api.ActivityQuery{Account: "work", Search: "café"})
	if len(items) != 7 || items[3].ProviderID != "m4" || !jsonEqual(items[3], page.Items[0]) {
		t.Errorf("JSON: %d items, the 4th %+v", len(items), items[3])
	}
	if out := export(api.FormatJSON, api.ItemsQuery{Account: "nobody"}); strings.TrimSpace(out) != "[\n]" {
		t.Errorf("empty JSON export %q", out)
	}

	out = export(api.FormatICS, api.ItemsQuery{})
	cal, err := ics.ParseCalendar(strings.NewReader(out))
	if err != nil {
		t.Fatalf("the iCalendar export does not parse: %v\n%s", err, out)
	}
	events := cal.Events()
	if len(events) != 1 {
		t.Fatalf("%d events, want the one meeting", len(events))
	}
	ev := events[0]
	start, _ := ev.GetStartAt()
	end, _ := ev.GetEndAt()
	if ev.GetProperty(ics.ComponentPropertySummary).Value != "Planning" || !start.Equal(t0.Add(10*time.Minute).Truncate(time.Second)) ||
		!end.Equal(t0.Add(70*time.Minute).Truncate(time.Second)) || ev.GetProperty(ics.ComponentPropertyOrganizer).Value != "mailto:alice@acme.example" ||
		len(ev.Attendees()) != 1 || ev.Attendees()[0].Email() != "frank@corp.example" {
		t.Errorf("event:\n%s", out)
	}
	for _, line := range strings.Split(out, "\r\n") {
		if len(line) > 75 {
			t.Errorf("line longer than 75 octets: %q", line)
		}
	}

	if _, err := Export(ctx, s.Items, api.ItemsQuery{}, "xml", &bytes.Buffer{}, nil); err == nil || !strings.Contains(err.Error(), "csv, json or ics") {
		t.Errorf("unknown format: %v", err)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
