package pgstore

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
)

func pendingIDs(t *testing.T, ob *Outbox) ([]string, map[string]crm.Entry) {
	t.Helper()
	es, err := ob.Pending(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	by := map[string]crm.Entry{}
	for _, e := range es {
		ids = append(ids, e.Item.ProviderID)
		by[e.Item.ProviderID] = e
	}
	slices.Sort(ids)
	return ids, by
}

func applyItems(t *testing.T, s *Store, account, cursor string, now time.Time, changes ...provider.Change) {
	t.Helper()
	if _, err := s.ApplyPage(context.Background(), account, api.Inbox, provider.Page{Cursor: cursor, Changes: changes}, now); err != nil {
		t.Fatal(err)
	}
}

// TestCRMOutbox checks what the derived outbox offers: the history
// window, outcomes decided on an older version of the item, skipped and
// deleted items, failed ones up to crm.MaxAttempts, the counts, and what
// disconnecting and connecting to another org forget.
func TestCRMOutbox(t *testing.T) {
	s := newStore(t)
	addRaw(t, s, "work", "home")
	ctx := context.Background()
	// Before any connection nothing waits.
	applyItems(t, s, "work", "c0", t0, provider.Change{Item: mail(api.Inbox, "old", t0.AddDate(0, 0, -40))},
		provider.Change{Item: mail(api.Inbox, "recent", t0.AddDate(0, 0, -3))})
	ob := s.Outbox("work", func() time.Time { return t0 })
	if ids, _ := pendingIDs(t, ob); len(ids) != 0 {
		t.Fatalf("pending without a connection: %v", ids)
	}
	connected := t0.Add(time.Hour)
	if err := s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", Org: "00DA", ConnectedAt: connected, Since: t0.AddDate(0, 0, -30)}); err != nil {
		t.Fatal(err)
	}
	// The window: an item older than it, stored before the connection,
	// is never logged; one stored after it is, whatever its time.
	later := connected.Add(time.Minute)
	applyItems(t, s, "work", "c1", later, provider.Change{Item: mail(api.Inbox, "late-old", t0.AddDate(0, 0, -50))},
		provider.Change{Item: mail(api.Inbox, "new", later)})
	applyItems(t, s, "home", "h1", later, provider.Change{Item: mail(api.Inbox, "elsewhere", later)})
	ids, by := pendingIDs(t, ob)
	if !slices.Equal(ids, []string{"late-old", "new", "recent"}) {
		t.Fatalf("pending of work: %v", ids)
	}
	if all, _ := pendingIDs(t, s.Outbox("", nil)); len(all) != 4 {
		t.Fatalf("pending of all mailboxes: %v", all)
	}

	// An outcome decided on the old version of an item changed meanwhile:
	// its record is kept and the item is offered again.
	oldKey := by["new"].Key
	changed := mail(api.Inbox, "new", later)
	changed.Categories = []string{"Private"}
	applyItems(t, s, "work", "c2", later, provider.Change{Item: changed})
	if err := ob.Save(ctx, []crm.Outcome{
		{Key: oldKey, State: api.CRMLogged, RecordID: "02s1", Object: api.ObjEmailMessage, Rule: crm.RuleParticipants, People: []crm.Person{{ID: "003A"}}},
		{Key: by["recent"].Key, State: api.CRMSkipped, Reason: crm.ReasonNoMatch, Rule: crm.RuleParticipants},
		{Key: by["late-old"].Key, State: api.CRMFailed, Reason: "refused", Retryable: true},
	}); err != nil {
		t.Fatal(err)
	}
	ids, by = pendingIDs(t, ob)
	if !slices.Equal(ids, []string{"late-old", "new"}) || by["new"].RecordID != "02s1" || by["new"].State != api.CRMLogged || !slices.Equal(by["new"].Item.Categories, []string{"Private"}) {
		t.Fatalf("after outcomes for an old version: %v %+v", ids, by["new"])
	}
	if err := ob.Save(ctx, []crm.Outcome{{Key: by["new"].Key, State: api.CRMLogged, RecordID: "02s1", Object: api.ObjEmailMessage, Reason: crm.ReasonLeftPrivate}}); err != nil {
		t.Fatal(err)
	}
	// A failed item is tried until crm.MaxAttempts.
	for range crm.MaxAttempts - 1 {
		_, by = pendingIDs(t, ob)
		e, ok := by["late-old"]
		if !ok {
			t.Fatal("a failed item was not offered again before its last attempt")
		}
		if err := ob.Save(ctx, []crm.Outcome{{Key: e.Key, State: api.CRMFailed, Reason: "refused", Retryable: true}}); err != nil {
			t.Fatal(err)
		}
	}
	if ids, _ := pendingIDs(t, ob); len(ids) != 0 {
		t.Fatalf("pending after %d failures and the logging: %v", crm.MaxAttempts, ids)
	}
	counts, err := s.CRMCounts(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[api.CRMState]int{api.CRMLogged: 1, api.CRMSkipped: 1, api.CRMFailed: 1}; !maps.Equal(counts, want) {
		t.Errorf("counts of work: %v, want %v", counts, want)
	}
	if all, _ := s.CRMCounts(ctx, ""); all[api.CRMPending] != 1 {
		t.Errorf("counts of all: %v, want home's one pending", all)
	}

	// A skipped item deleted has nothing left to do; a logged one
	// deleted is offered (to keep or remove its record); the thread's
	// people stay with the logged mail.
	applyItems(t, s, "work", "c3", later, provider.Change{Deleted: true, Item: api.Item{ProviderID: "recent", Folder: api.Inbox}},
		provider.Change{Deleted: true, Item: api.Item{ProviderID: "new", Folder: api.Inbox}})
	ids, by = pendingIDs(t, ob)
	if !slices.Equal(ids, []string{"new"}) || !by["new"].Deleted || by["new"].RecordID != "02s1" {
		t.Fatalf("after deletions: %v %+v", ids, by["new"])
	}
	var people string
	s.pool.QueryRow(ctx, `SELECT people FROM crm_items c JOIN items i ON i.id = c.item WHERE i.provider_id = 'new'`).Scan(&people)
	if people != `[{"ID":"003A","Object":"","Email":"","AccountID":""}]` {
		t.Errorf("the logged mail's people after an outcome without them: %q", people)
	}

	// Disconnecting forgets what is not logged; another org, everything.
	if err := s.DisconnectCRM(ctx); err != nil {
		t.Fatal(err)
	}
	if ids, _ := pendingIDs(t, ob); len(ids) != 0 {
		t.Fatalf("pending while disconnected: %v", ids)
	}
	var n int
	s.pool.QueryRow(ctx, "SELECT count(*) FROM crm_items").Scan(&n)
	if n != 1 {
		t.Errorf("%d CRM states kept after disconnecting; want the logged one", n)
	}
	if err := s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", Org: "00DB", ConnectedAt: later, Since: t0.AddDate(0, 0, -30)}); err != nil {
		t.Fatal(err)
	}
	s.pool.QueryRow(ctx, "SELECT count(*) FROM crm_items").Scan(&n)
	if n != 0 {
		t.Errorf("%d CRM states kept after connecting to another org", n)
	}
}
