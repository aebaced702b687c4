package pgstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/jackc/pgx/v5"
)

// A mailbox's first sync in the benchmarks: 300 items in pages of 50.
const (
	benchItems = 300
	benchPage  = 50
)

// benchMailboxes adds n mailboxes and returns their addresses and ids.
func benchMailboxes(b *testing.B, s *Store, n int) ([]string, []int64) {
	b.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("user%d@example.com", i)
	}
	rows, err := s.pool.Query(context.Background(), `INSERT INTO mailboxes (address, provider, next_sync)
		SELECT a, 'office365', now() FROM unnest($1::text[]) AS a RETURNING id`, addrs)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		b.Fatal(err)
	}
	return addrs, ids
}

// benchItem returns item j of a mailbox, with the fields a mail has.
func benchItem(j int) api.Item {
	return api.Item{
		ProviderID: fmt.Sprintf("AAMkAGI2TG93AAA%08d", j), Folder: api.Inbox, Kind: api.KindMail,
		MessageID: fmt.Sprintf("<msg%d@mail.example.com>", j), ConversationID: fmt.Sprintf("conv%d", j/3),
		Subject: fmt.Sprintf("Quarterly figures, part %d", j), From: "Ann Lee <ann@example.com>",
		To: []string{"bob@example.com", "cy@example.com"}, Cc: []string{"dan@example.com"},
		Time:    t0.Add(-time.Duration(j) * time.Minute),
		Preview: "Hello Bob, please find the figures for the quarter attached; the totals are up on last year.",
	}
}

// BenchmarkApplyPage stores a mailbox's first sync per iteration: 300 new
// items in six pages of 50, each with its cursor (ApplyPage).
func BenchmarkApplyPage(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	addrs, _ := benchMailboxes(b, s, b.N)
	pages := make([]provider.Page, benchItems/benchPage)
	for p := range pages {
		pages[p].Cursor = fmt.Sprintf("cursor-%d", p)
		pages[p].More = p < len(pages)-1
		for j := p * benchPage; j < (p+1)*benchPage; j++ {
			pages[p].Changes = append(pages[p].Changes, provider.Change{Item: benchItem(j)})
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range pages {
			c, err := s.ApplyPage(ctx, addrs[i], api.Inbox, p, t0)
			if err != nil {
				b.Fatal(err)
			}
			if c.Added != benchPage {
				b.Fatalf("counts %+v", c)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
}

// BenchmarkBareBatch inserts the same rows as BenchmarkApplyPage into the
// same table with a plain pgx.Batch per page (one INSERT per item): the
// floor ApplyPage is measured against.
func BenchmarkBareBatch(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	_, ids := benchMailboxes(b, s, b.N)
	items := make([]api.Item, benchItems)
	for j := range items {
		items[j] = benchItem(j)
	}
	const ins = `INSERT INTO items (mailbox_id, folder, provider_id, kind, message_id, conversation_id, subject,
		from_addr, to_addrs, cc_addrs, time, preview, hash, first_seen, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for p := 0; p < benchItems; p += benchPage {
			batch := &pgx.Batch{}
			for j := p; j < p+benchPage; j++ {
				it := &items[j]
				batch.Queue(ins, ids[i], string(it.Folder), it.ProviderID, string(it.Kind), it.MessageID, it.ConversationID,
					it.Subject, it.From, it.To, it.Cc, it.Time, it.Preview, int64(j), t0)
			}
			if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
}

// BenchmarkMailboxes lists 1,000 mailboxes of 300 items each (one in ten
// deleted) with their counts of live items.
func BenchmarkMailboxes(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	benchMailboxes(b, s, 1000)
	if _, err := s.pool.Exec(ctx, `INSERT INTO items (mailbox_id, folder, provider_id, hash, deleted, first_seen, updated_at, time)
		SELECT m.id, 'inbox', 'id' || g, g, g % 10 = 0, now(), now(), now() FROM mailboxes m, generate_series(1, 300) g`); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "UPDATE mailboxes SET live_items = 270"); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "VACUUM ANALYZE items"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mbs, err := s.Mailboxes(ctx, Filter{})
		if err != nil {
			b.Fatal(err)
		}
		if len(mbs) != 1000 || mbs[0].Items != 270 {
			b.Fatalf("%d mailboxes, the first with %d items; want 1000 with 270", len(mbs), mbs[0].Items)
		}
	}
}
