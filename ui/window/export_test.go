package window

import (
	"bytes"
	"encoding/csv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// closingBuffer is a bytes.Buffer that records its Close.
type closingBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	closed bool
}

func (c *closingBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.Write(p)
}

func (c *closingBuffer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

// TestDashboardExport exports through the agent's pages into the file the
// save dialog gave, and says how many items it wrote.
func TestDashboardExport(t *testing.T) {
	f := newFake()
	newAgentState().wire(f)
	var queries recorder[api.ItemsQuery]
	f.ItemsFn = func(q api.ItemsQuery) (api.ItemsPage, error) {
		queries.add(q)
		it := api.StoredItem{Account: "work", Item: api.Item{Subject: "Acme, \"renewal\"", Folder: api.Inbox, Kind: api.KindMail, Time: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}}
		if q.After == 0 {
			return api.ItemsPage{Items: []api.StoredItem{it, it}, Next: 2}, nil
		}
		return api.ItemsPage{Items: []api.StoredItem{it}}, nil
	}
	w, u := newDashboardWindow(t, f)
	out := &closingBuffer{}
	w.export.Disable()
	go w.exportTo(out, "activity.csv", ".csv")
	u.waitFor("the export", func() bool { return strings.HasPrefix(w.activityNote.Text, "Exported") })
	if w.activityNote.Text != "Exported 3 items to activity.csv." || w.export.Disabled() {
		t.Errorf("note %q, button disabled %v", w.activityNote.Text, w.export.Disabled())
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	rows, err := csv.NewReader(&out.b).ReadAll()
	if err != nil || len(rows) != 4 || rows[1][7] != "Acme, \"renewal\"" || !out.closed {
		t.Errorf("CSV %q, %v, closed %v", rows, err, out.closed)
	}
	if q := queries.all(); len(q) != 2 || q[1].After != 2 {
		t.Errorf("pages asked %+v", q)
	}
}
