package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
)

// storeHome starts an agent with account work synced from a scripted
// mailbox of 40 inbox items, 5 sent and 3 events.
func storeHome(t *testing.T) *home {
	t.Helper()
	needKeyring(t)
	h := newHome(t)
	h.startAgent()
	script := h.writeScript(`{"inbox": 40, "sent": 5, "calendar": 3, "password": "pw", "page_size": 10, "email": "ann@example.test"}`)
	if out, errOut, code := h.run("pw\n", "account", "add", "scripted", "--account", "work", "--login", "ann", "--mailbox", script, "--password-stdin"); code != 0 {
		t.Fatalf("account add: exit %d\n%s%s", code, out, errOut)
	}
	h.eventually("the first sync ends and its items are indexed", func() bool {
		s := h.status()
		return len(s.Accounts) == 1 && s.Accounts[0].LastSync != nil && s.Accounts[0].LastSync.Outcome == "ok" && s.Index == nil
	})
	return h
}

// TestCLISearch searches the synced items through the agent: words,
// paging with the total, a search too short, and the syntax in --help.
func TestCLISearch(t *testing.T) {
	h := storeHome(t)
	page := func(args ...string) api.ActivityPage {
		t.Helper()
		var p api.ActivityPage
		if err := json.Unmarshal([]byte(h.ok(append([]string{"activity", "--json"}, args...)...)), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first, second := page("--search", "inbox item", "--limit", "25"), page("--search", "inbox item", "--limit", "25", "--offset", "25")
	if len(first.Items) != 25 || first.Total != 40 || len(second.Items) != 15 || second.Total != 40 || second.Offset != 25 {
		t.Fatalf("pages of 25: %d and %d items, totals %d and %d", len(first.Items), len(second.Items), first.Total, second.Total)
	}
	seen := map[string]bool{}
	all := append(first.Items, second.Items...)
	for i, it := range all {
		if seen[it.ProviderID] || !strings.Contains(it.Subject, "inbox item") {
			t.Errorf("item %d: %s %q (listed twice or not a match)", i, it.ProviderID, it.Subject)
		}
		seen[it.ProviderID] = true
		if i > 0 && it.Time.After(all[i-1].Time) {
			t.Errorf("item %d is newer than the one before it", i)
		}
	}
	if p := page("--search", `"item 3" -sent`); p.Total != 11 { // inbox items 3 and 30-39, not sent item 3
		t.Errorf(`"item 3" -sent: %d items`, p.Total)
	}
	if p := page("--search", "room bob@scripted"); p.Total != 3 {
		t.Errorf("location and attendee: %d items, want the 3 events", p.Total)
	}
	out, errOut, code := h.run("", "activity", "--search", "inbox item", "--limit", "5")
	if code != 0 || strings.Count(out, "\n") != 6 || !strings.Contains(errOut, "Items 1-5 of 40; the next ones: --offset 5") {
		t.Errorf("activity --search --limit 5: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := h.run("", "activity", "--search", "ab"); code != 1 || !strings.Contains(errOut, "at least 3 characters") {
		t.Errorf("a search of 2 characters: exit %d, %q", code, errOut)
	}
	if _, errOut, _ := h.run("", "activity", "--help"); !strings.Contains(errOut, `"price list"`) || !strings.Contains(errOut, "--offset") {
		t.Errorf("activity --help does not explain the search:\n%s", errOut)
	}
	if s := h.status(); s.Index != nil || s.Source != "agent" {
		t.Errorf("status: %+v", s)
	}
}

// TestCLIExportAndRetention exports through the agent in each format,
// then changes how long items are kept.
func TestCLIExportAndRetention(t *testing.T) {
	h := storeHome(t)
	path := filepath.Join(h.dir, "out.csv")
	_, errOut, code := h.run("", "export", "--out", path)
	if code != 0 || !strings.Contains(errOut, "Exported 48 items to "+path) {
		t.Fatalf("export --out: exit %d, %q", code, errOut)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) != 49 || strings.Join(rows[0], ",") != strings.Join(api.CSVColumns, ",") {
		t.Fatalf("CSV: %d rows, %v, head %q", len(rows), err, rows[0])
	}
	var items []api.StoredItem
	if err := json.Unmarshal([]byte(h.ok("export", "--format", "json", "--folders", "sent")), &items); err != nil || len(items) != 5 {
		t.Fatalf("JSON export of sent: %d items, %v", len(items), err)
	}
	if out := h.ok("export", "--format", "ics"); strings.Count(out, "BEGIN:VEVENT") != 3 || !strings.HasPrefix(out, "BEGIN:VCALENDAR\r\n") {
		t.Fatalf("iCalendar export:\n%s", out)
	}
	if _, errOut, code := h.run("", "export", "--format", "xml"); code != 1 || !strings.Contains(errOut, "use csv, json or ics") {
		t.Errorf("export --format xml: exit %d, %q", code, errOut)
	}

	if _, errOut, code := h.run("", "settings", "--keep-days", "20"); code != 1 || !strings.Contains(errOut, "first sync's history (30 days)") {
		t.Errorf("settings --keep-days 20: exit %d, %q", code, errOut)
	}
	if out := h.ok("settings", "--keep-days", "0"); !strings.Contains(out, "keep days:      0 (keep everything)") {
		t.Errorf("settings --keep-days 0:\n%s", out)
	}
	h.ok("account", "remove", "work", "--purge")
	if items := h.items(); len(items) != 0 {
		t.Errorf("%d items after the purge", len(items))
	}
}
