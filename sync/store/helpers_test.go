package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)

// openTemp opens a new store in a temporary directory with the given
// accounts.
func openTemp(tb testing.TB, accounts ...string) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "inboxsync.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	for i, a := range accounts {
		if err := s.AddAccount(context.Background(), api.Account{ID: a, Provider: "scripted", CreatedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// testItem returns a realistic mail item.
func testItem(id string, n int) api.Item {
	return api.Item{
		ProviderID:     id,
		Folder:         api.Inbox,
		Kind:           api.KindMail,
		MessageID:      fmt.Sprintf("<%s.%d@mail.example.com>", id, n),
		ConversationID: fmt.Sprintf("conv-%d", n%50),
		Subject:        fmt.Sprintf("Quarterly numbers, part %d", n),
		From:           "Alice Example <alice@example.com>",
		To:             []string{"Bob <bob@example.com>", "carol@example.com"},
		Cc:             []string{"dave@example.com"},
		Time:           t0.Add(time.Duration(n) * time.Minute),
		Preview:        "Hi Bob, here are the numbers we talked about on Monday. Let me know if anything looks off before Friday.",
	}
}

// addPage returns a page of n new items whose ids start with prefix.
func addPage(prefix string, n int, cursor string) provider.Page {
	p := provider.Page{Cursor: cursor, Changes: make([]provider.Change, n)}
	for i := range n {
		p.Changes[i].Item = testItem(fmt.Sprintf("%s-%d", prefix, i), i)
	}
	return p
}

// graphID returns a provider id shaped like a Microsoft Graph message id:
// a long prefix shared by the folder's items and a tail that grows with the
// item's position in the mailbox.
func graphID(k int) string {
	return fmt.Sprintf("AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OABGAAAAAAAiQ8W967B7TKBjgx9rVEURBwAiIsqMbYjsT5e-T7KzowPTAAAAAAEMAAAiIsqMbYjsT5e-T7KzowPTAA%08X=", 0x7fffffff-k)
}

// scriptedID returns a provider id shaped like the scripted provider's.
func scriptedID(k int) string { return fmt.Sprintf("inbox-%d", k) }

// randomID returns a provider id in no particular order.
func randomID(k int) string {
	h := fnv.New64a()
	binary.Write(h, binary.LittleEndian, int64(k))
	return fmt.Sprintf("r%016x", h.Sum64())
}

// realisticPage returns page number pageNo of n new items shaped like a
// first sync, which walks back in time: the times and the ids of each page
// older than the last page's. id gives an item's provider id.
func realisticPage(pageNo, n int, id func(int) string) provider.Page {
	p := provider.Page{Cursor: fmt.Sprintf("page-%d", pageNo), Changes: make([]provider.Change, n)}
	for i := range n {
		k := pageNo*n + i
		it := testItem(id(k), k)
		it.Time = t0.Add(-time.Duration(k) * time.Minute)
		p.Changes[i].Item = it
	}
	return p
}

// unbuildIndex empties the search index: the state the migration leaves
// in a store that held items before the index existed.
func unbuildIndex(tb testing.TB, s *Store) {
	tb.Helper()
	for _, q := range []string{
		"INSERT INTO search(search) VALUES ('delete-all')",
		"UPDATE search_state SET upto = 0, done = 0",
	} {
		if _, err := s.db.Exec(q); err != nil {
			tb.Fatal(err)
		}
	}
}
