package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

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
		if err := s.AddAccount(context.Background(), Account{ID: a, Provider: "scripted", CreatedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// testItem returns a realistic mail item.
func testItem(id string, n int) provider.Item {
	return provider.Item{
		ProviderID:     id,
		Folder:         provider.Inbox,
		Kind:           provider.Mail,
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

// realisticPage returns page number pageNo of n new items shaped like a
// first sync: provider ids in random order (like Graph's or EWS's ids),
// times walking steadily back.
func realisticPage(pageNo, n int) provider.Page {
	p := provider.Page{Cursor: fmt.Sprintf("page-%d", pageNo), Changes: make([]provider.Change, n)}
	for i := range n {
		k := pageNo*n + i
		h := hasher(fnvOffset)
		h.int(int64(k))
		it := testItem(fmt.Sprintf("AAMkAGI2TG93AAA%016x", uint64(h)), k)
		it.Time = t0.Add(-time.Duration(k) * time.Minute)
		p.Changes[i].Item = it
	}
	return p
}
