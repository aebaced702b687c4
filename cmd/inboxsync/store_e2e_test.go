package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/store"
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
	page := func(args ...string) store.ActivityPage {
		t.Helper()
		var p store.ActivityPage
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
