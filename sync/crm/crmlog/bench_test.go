package crmlog_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
)

// bulk returns n mail items from addrs external addresses (all Contacts
// in sf), each to the mailbox, the even ones Cc another address.
func bulk(sf interface{ AddContact(string, string) string }, n, addrs int) []crm.Entry {
	addr := func(i int) string { return fmt.Sprintf("person%05d@customer%03d.example", i, i%400) }
	for i := range addrs {
		sf.AddContact(addr(i), "")
	}
	es := make([]crm.Entry, n)
	for i := range es {
		it := api.Item{ProviderID: fmt.Sprint("p", i), Folder: api.Inbox, Kind: api.KindMail,
			MessageID: fmt.Sprintf("<bulk%06d@customer.example>", i), Subject: fmt.Sprint("Order ", i),
			From: addr(i % addrs), To: []string{mailbox}, Time: t0.Add(time.Duration(i) * time.Minute)}
		if i%2 == 0 {
			it.Cc = []string{addr((i + addrs/2) % addrs)}
		}
		es[i] = crm.Entry{Key: it.ProviderID, Item: it}
	}
	return es
}

func ceil(a, b int) int { return (a + b - 1) / b }

// TestRequestsPerBatch checks that a batch costs lookups per 50
// addresses, dedup queries per 100 identifiers and creates per 200
// records, and nothing per item.
func TestRequestsPerBatch(t *testing.T) {
	sf, c := connected(t)
	const items, addrs = 1000, 500
	es := bulk(sf, items, addrs)
	sf.ResetCounts()
	lg := crmlog.NewLogger(c, crmlog.Config{Mailbox: mailbox})
	outs, err := lg.Log(context.Background(), es)
	if err != nil || len(outs) != items {
		t.Fatalf("%d outcomes, %v", len(outs), err)
	}
	relations := items + items/2
	lookups := ceil(addrs, crmlog.MaxAddressesPerLookup) // one composite request each: Contacts and Leads
	dedup := ceil(2*items, 100)                          // both forms of each Message-ID
	creates := ceil(items, 200) + ceil(relations, 200)
	comp, q, cr := sf.Count("composite"), sf.Count("query"), sf.Count("create")
	if comp != lookups || q != 2*lookups+dedup || cr != creates || sf.Count("api") != lookups+dedup+creates {
		t.Fatalf("%d lookups (want %d), queries %d (want %d in them + %d dedup), creates %d (want %d), requests %d (want %d)",
			comp, lookups, q, 2*lookups, dedup, cr, creates, sf.Count("api"), lookups+dedup+creates)
	}
	// The same batch again (outcomes lost): dedup finds everything, and
	// the relation check is one query per 100 records, no creates.
	sf.ResetCounts()
	if _, err := crmlog.NewLogger(c, crmlog.Config{Mailbox: mailbox}).Log(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	if q, cr := sf.Count("query"), sf.Count("create"); cr != 0 || q != 2*lookups+dedup+ceil(items, 100) {
		t.Fatalf("rerun: %d queries, %d creates", q, cr)
	}
}

// BenchmarkLog logs 2,000 mail items from 1,000 addresses per iteration
// to a fresh emulator (scripts/bench-salesforce.sh runs the 10,000-item
// figure against a bare client).
func BenchmarkLog(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		sf, c := connected(b)
		es := bulk(sf, 2000, 1000)
		sf.ResetCounts()
		b.StartTimer()
		if _, err := crmlog.NewLogger(c, crmlog.Config{Mailbox: mailbox}).Log(context.Background(), es); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(sf.Count("api")), "requests/op")
	}
}
