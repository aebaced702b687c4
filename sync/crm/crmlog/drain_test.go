package crmlog_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// memOutbox is an in-memory crm.Outbox with the store's rules.
type memOutbox struct {
	mu      sync.Mutex
	order   []string
	entries map[string]crm.Entry
	state   map[string]crm.Outcome
	saves   int
	onSave  func()
}

func newMemOutbox(es []crm.Entry) *memOutbox {
	ob := &memOutbox{entries: map[string]crm.Entry{}, state: map[string]crm.Outcome{}}
	for _, e := range es {
		ob.order = append(ob.order, e.Key)
		ob.entries[e.Key] = e
	}
	return ob
}

func (ob *memOutbox) Pending(_ context.Context, limit int) ([]crm.Entry, error) {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	var out []crm.Entry
	for _, k := range ob.order {
		e := ob.entries[k]
		o, has := ob.state[k]
		if !has || o.State == api.CRMPending || (o.State == api.CRMFailed && o.Retryable && e.Attempts < crm.MaxAttempts) {
			out = append(out, e)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

func (ob *memOutbox) Save(_ context.Context, outs []crm.Outcome) error {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	ob.saves++
	for _, o := range outs {
		e := ob.entries[o.Key]
		if o.State == api.CRMFailed {
			e.Attempts++
		}
		e.State, e.RecordID, e.Object = o.State, o.RecordID, o.Object
		ob.entries[o.Key] = e
		ob.state[o.Key] = o
	}
	if ob.onSave != nil {
		ob.onSave()
	}
	return nil
}

func TestDrain(t *testing.T) {
	sf, c := connected(t)
	sf.AddContact("ann@acme.example", "")
	sf.FailWhere("EmailMessage", "Subject", "Mail 7", "REQUIRED_FIELD_MISSING", "Required fields are missing: [Custom__c]", 0)
	var es []crm.Entry
	for i := range 450 {
		es = append(es, mail(fmt.Sprint("k", i), "inbox", fmt.Sprintf("<d%d@x>", i), fmt.Sprint("Mail ", i), "ann@acme.example", []string{mailbox}, nil))
	}
	ob := newMemOutbox(es)
	for run := 1; run <= crm.MaxAttempts+1; run++ {
		n, err := crmlog.Drain(context.Background(), ob, crmlog.NewLogger(c, crmlog.Config{Mailbox: mailbox}), 200)
		if err != nil {
			t.Fatal(err)
		}
		want := 1 // the failing item, once per run
		if run == 1 {
			want = 450
		}
		if run > crm.MaxAttempts {
			want = 0
		}
		if n != want {
			t.Fatalf("run %d saved %d outcomes, want %d", run, n, want)
		}
	}
	if f := ob.state["k7"]; f.State != api.CRMFailed || ob.entries["k7"].Attempts != crm.MaxAttempts || f.Reason == "" {
		t.Fatalf("k7: %+v, %d attempts", f, ob.entries["k7"].Attempts)
	}
	if n := len(sf.Records("EmailMessage")); n != 449 {
		t.Fatalf("%d EmailMessages, want 449", n)
	}
}

func TestDrainStopsWhenThrottled(t *testing.T) {
	sf, c := connected(t)
	sf.AddContact("ann@acme.example", "")
	var es []crm.Entry
	for i := range 300 {
		es = append(es, mail(fmt.Sprint("k", i), "inbox", fmt.Sprintf("<t%d@x>", i), "M", "ann@acme.example", []string{mailbox}, nil))
	}
	ob := newMemOutbox(es)
	ob.onSave = func() { sf.SetUsage(95, 100) } // the first batch used up the budget
	_, err := crmlog.Drain(context.Background(), ob, crmlog.NewLogger(c, crmlog.Config{Mailbox: mailbox}), 200)
	if provider.Classify(err) != provider.ClassThrottled {
		t.Fatalf("err = %v", err)
	}
	pending, _ := ob.Pending(context.Background(), 1000)
	if len(pending) != 100 || ob.saves != 1 {
		t.Fatalf("%d pending, want the second batch's 100", len(pending))
	}
}
