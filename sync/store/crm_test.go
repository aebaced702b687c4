package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// crmStates returns the CRM state of each item of account "work" by
// provider id ("-" for none).
func crmStates(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, it := range state(t, s, "work") {
		if it.CRM == nil {
			out[id] = "-"
			continue
		}
		out[id] = string(it.CRM.State)
	}
	return out
}

// pendingIDs returns the provider ids the outbox offers, in its order.
func pendingIDs(t *testing.T, ob *Outbox) ([]string, []crm.Entry) {
	t.Helper()
	es, err := ob.Pending(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, e.Item.ProviderID)
	}
	return ids, es
}

func event(id string, n int) api.Item {
	return api.Item{
		ProviderID: id, Folder: api.Calendar, Kind: api.KindEvent, Subject: "Demo " + id,
		Organizer: "rep@seller.example", Attendees: []string{"pat@buyer.example"},
		Time: t0.Add(time.Duration(n) * time.Hour), Start: t0.Add(time.Duration(n) * time.Hour),
		End: t0.Add(time.Duration(n)*time.Hour + 30*time.Minute),
	}
}

// Only the items of the history window are queued on connect; from then on
// each page queues what it adds, in its own transaction.
func TestCRMConnectQueuesHistoryWindowOnly(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	old := with(testItem("old", 0), func(it *api.Item) { it.Time = t0.AddDate(0, 0, -40) })
	recent := with(testItem("recent", 0), func(it *api.Item) { it.Time = t0.AddDate(0, 0, -3) })
	gone := with(testItem("gone", 0), func(it *api.Item) { it.Time = t0.AddDate(0, 0, -2) })
	notime := with(testItem("notime", 0), func(it *api.Item) { it.Time = time.Time{} })
	apply(t, s, api.Inbox, provider.Page{Cursor: "c1", Changes: []provider.Change{add(old), add(recent), add(gone), add(notime)}}, t0)
	apply(t, s, api.Inbox, provider.Page{Cursor: "c2", Changes: []provider.Change{del("gone")}}, t0)
	if got := crmStates(t, s); got["recent"] != "-" {
		t.Fatalf("an item has a CRM state before any connection: %v", got)
	}
	if _, ok, err := s.CRMConnection(ctx); ok || err != nil {
		t.Fatalf("CRMConnection before connecting: ok=%v err=%v", ok, err)
	}

	n, err := s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", Org: "org1", ConnectedAt: t0, Since: t0.AddDate(0, 0, -30)})
	if err != nil || n != 1 {
		t.Fatalf("ConnectCRM = %d, %v; want 1 item queued", n, err)
	}
	want := map[string]string{"old": "-", "recent": "pending", "gone": "-", "notime": "-"}
	if got := crmStates(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("after connect: %v, want %v", got, want)
	}
	c, ok, err := s.CRMConnection(ctx)
	if !ok || err != nil || !c.Active || c.Org != "org1" || !c.Since.Equal(t0.AddDate(0, 0, -30)) {
		t.Errorf("CRMConnection = %+v %v %v", c, ok, err)
	}

	// A page after the connection queues its new items, old ones too (a
	// first sync of another folder brings the mailbox's history window).
	apply(t, s, api.Inbox, provider.Page{Cursor: "c3", Changes: []provider.Change{add(testItem("new", 1)),
		add(with(testItem("backfill", 0), func(it *api.Item) { it.Time = t0.AddDate(0, 0, -29) }))}}, t0.Add(time.Minute))
	want["new"], want["backfill"] = "pending", "pending"
	if got := crmStates(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("after a page: %v, want %v", got, want)
	}
	// Connecting again queues nothing twice.
	if n, err := s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", Org: "org1", ConnectedAt: t0, Since: t0.AddDate(0, 0, -30)}); err != nil || n != 0 {
		t.Errorf("second ConnectCRM = %d, %v; want 0", n, err)
	}
	counts, err := s.CRMCounts(ctx)
	if err != nil || !reflect.DeepEqual(counts, map[api.CRMState]int{api.CRMPending: 3}) {
		t.Errorf("CRMCounts = %v, %v", counts, err)
	}
}

// The CRM state is written in the item's transaction: a page that fails
// stores neither, and a page that succeeds stores both.
func TestCRMStateInThePageTransaction(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	if _, err := s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", ConnectedAt: t0, Since: t0}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	testHookBeforeCursor = func(context.Context) error { return boom }
	_, err := s.ApplyPage(ctx, "work", api.Inbox, addPage("a", 40, "c1"), t0)
	testHookBeforeCursor = nil
	if !errors.Is(err, boom) {
		t.Fatalf("ApplyPage: %v", err)
	}
	if counts, _ := s.CRMCounts(ctx); len(counts) != 0 {
		t.Fatalf("a failed page left CRM states: %v", counts)
	}
	apply(t, s, api.Inbox, addPage("a", 40, "c1"), t0)
	if counts, _ := s.CRMCounts(ctx); counts[api.CRMPending] != 40 {
		t.Fatalf("CRM states after the page: %v, want 40 pending", counts)
	}
	// Replaying the page changes nothing.
	apply(t, s, api.Inbox, addPage("a", 40, "c1"), t0)
	if _, es := pendingIDs(t, s.Outbox(nil)); len(es) != 40 || es[0].Key != outboxKey(1, 1) {
		t.Errorf("after a replay: %d entries, first key %q", len(es), es[0].Key)
	}
}

// Pending offers pending items oldest first and retryable failures under
// MaxAttempts last; Save stores each outcome, counting attempts.
func TestOutboxPendingAndSave(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", ConnectedAt: t0, Since: t0})
	apply(t, s, api.Inbox, provider.Page{Cursor: "c1", Changes: []provider.Change{
		add(testItem("m3", 3)), add(testItem("m1", 1)), add(testItem("m2", 2)), add(testItem("m4", 4)), add(testItem("m5", 5))}}, t0)
	ob := s.Outbox(func() time.Time { return t0.Add(time.Hour) })
	ids, es := pendingIDs(t, ob)
	if !reflect.DeepEqual(ids, []string{"m1", "m2", "m3", "m4", "m5"}) {
		t.Fatalf("Pending order = %v", ids)
	}
	e := es[0]
	if e.State != api.CRMPending || e.RecordID != "" || e.Deleted || e.Item.MessageID != testItem("m1", 1).MessageID ||
		!reflect.DeepEqual(e.Item.To, testItem("m1", 1).To) || !e.Item.Time.Equal(testItem("m1", 1).Time) {
		t.Errorf("entry = %+v", e)
	}
	byID := map[string]string{}
	for _, e := range es {
		byID[e.Item.ProviderID] = e.Key
	}
	if err := ob.Save(ctx, []crm.Outcome{
		{Key: byID["m1"], State: api.CRMLogged, RecordID: "02s000000000001", Object: api.ObjEmailMessage},
		{Key: byID["m2"], State: api.CRMSkipped, Reason: crm.ReasonNoMatch},
		{Key: byID["m3"], State: api.CRMFailed, Reason: "Salesforce refused it: a validation rule", Retryable: true},
		{Key: byID["m4"], State: api.CRMFailed, Reason: "never again", Retryable: false},
	}); err != nil {
		t.Fatal(err)
	}
	// m5 is pending and comes first; m3 is a retry.
	if ids, _ := pendingIDs(t, ob); !reflect.DeepEqual(ids, []string{"m5", "m3"}) {
		t.Fatalf("Pending after Save = %v, want [m5 m3]", ids)
	}
	items := state(t, s, "work")
	if c := items["m1"].CRM; c == nil || c.State != api.CRMLogged || c.RecordID != "02s000000000001" || c.Object != api.ObjEmailMessage {
		t.Errorf("m1 = %+v", c)
	}
	if c := items["m2"].CRM; c.State != api.CRMSkipped || c.Reason != crm.ReasonNoMatch {
		t.Errorf("m2 = %+v", c)
	}
	if c := items["m3"].CRM; c.State != api.CRMFailed || c.Attempts != 1 {
		t.Errorf("m3 = %+v", c)
	}
	// The activity's JSON carries the crm object.
	b, _ := json.Marshal(items["m1"])
	if !strings.Contains(string(b), `"crm":{"state":"logged","record_id":"02s000000000001"`) {
		t.Errorf("activity JSON: %s", b)
	}
	// m3 fails until MaxAttempts, then is no longer offered but listed as a
	// failure.
	for i := 1; i < crm.MaxAttempts; i++ {
		_, es := pendingIDs(t, ob)
		var key string
		for _, e := range es {
			if e.Item.ProviderID == "m3" {
				key = e.Key
				if e.Attempts != i {
					t.Errorf("attempt %d: Entry.Attempts = %d", i+1, e.Attempts)
				}
			}
		}
		if key == "" {
			t.Fatalf("m3 not offered for attempt %d", i+1)
		}
		if err := ob.Save(ctx, []crm.Outcome{{Key: key, State: api.CRMFailed, Reason: "still refused", Retryable: true}}); err != nil {
			t.Fatal(err)
		}
	}
	if ids, _ := pendingIDs(t, ob); !reflect.DeepEqual(ids, []string{"m5"}) {
		t.Errorf("Pending after %d attempts = %v, want [m5]", crm.MaxAttempts, ids)
	}
	fails, err := s.CRMFailures(ctx, 0)
	if err != nil || len(fails) != 2 {
		t.Fatalf("CRMFailures = %d, %v", len(fails), err)
	}
	sort.Slice(fails, func(i, j int) bool { return fails[i].ProviderID < fails[j].ProviderID })
	if fails[0].ProviderID != "m3" || fails[0].CRM.Attempts != crm.MaxAttempts || fails[0].CRM.Reason != "still refused" {
		t.Errorf("failure = %+v %+v", fails[0].Item, fails[0].CRM)
	}
	issues, err := s.CRMIssues(ctx, "work", 0)
	sort.Slice(issues, func(i, j int) bool { return issues[i].ProviderID < issues[j].ProviderID })
	if err != nil || len(issues) != 2 || issues[0].ProviderID != "m3" || !strings.Contains(issues[0].Message, "still refused") ||
		!strings.Contains(issues[0].Message, "5 of 5 attempts") || !issues[0].Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("CRMIssues = %+v, %v", issues, err)
	}
	if other, _ := s.CRMIssues(ctx, "home", 0); len(other) != 0 {
		t.Errorf("CRMIssues of another account: %+v", other)
	}
	counts, _ := s.CRMCounts(ctx)
	if want := (map[api.CRMState]int{api.CRMLogged: 1, api.CRMSkipped: 1, api.CRMFailed: 2, api.CRMPending: 1}); !reflect.DeepEqual(counts, want) {
		t.Errorf("CRMCounts = %v, want %v", counts, want)
	}
	if err := ob.Save(ctx, []crm.Outcome{{Key: "nonsense", State: api.CRMLogged}}); err == nil {
		t.Error("Save accepted a key that is not the outbox's")
	}
}

// The mailbox's changes after logging: a moved meeting is queued again
// with its record (to update it), a changed mail is not (an EmailMessage
// cannot be edited), a deleted one is handed back (to note or delete it).
func TestCRMRequeueOnMailboxChanges(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", ConnectedAt: t0, Since: t0})
	apply(t, s, api.Inbox, provider.Page{Cursor: "i1", Changes: []provider.Change{
		add(testItem("mail", 1)), add(testItem("nomatch", 2)), add(testItem("del", 3))}}, t0)
	apply(t, s, api.Calendar, provider.Page{Cursor: "e1", Changes: []provider.Change{add(event("meet", 1)), add(event("gone", 2))}}, t0)
	ob := s.Outbox(nil)
	_, es := pendingIDs(t, ob)
	var outs []crm.Outcome
	for _, e := range es {
		switch e.Item.ProviderID {
		case "meet", "gone":
			outs = append(outs, crm.Outcome{Key: e.Key, State: api.CRMLogged, RecordID: "00U" + e.Item.ProviderID, Object: api.ObjEvent})
		case "nomatch":
			outs = append(outs, crm.Outcome{Key: e.Key, State: api.CRMSkipped, Reason: crm.ReasonNoMatch})
		default:
			outs = append(outs, crm.Outcome{Key: e.Key, State: api.CRMLogged, RecordID: "02s" + e.Item.ProviderID, Object: api.ObjEmailMessage})
		}
	}
	if err := ob.Save(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if ids, _ := pendingIDs(t, ob); len(ids) != 0 {
		t.Fatalf("pending after logging all: %v", ids)
	}
	moved := with(event("meet", 1), func(it *api.Item) { it.Start = it.Start.Add(time.Hour); it.End = it.End.Add(time.Hour) })
	apply(t, s, api.Calendar, provider.Page{Cursor: "e2", Changes: []provider.Change{add(moved),
		{Deleted: true, Item: api.Item{ProviderID: "gone", Folder: api.Calendar}}}}, t0.Add(time.Hour))
	apply(t, s, api.Inbox, provider.Page{Cursor: "i2", Changes: []provider.Change{
		add(with(testItem("mail", 1), func(it *api.Item) { it.Subject = "edited" })),
		add(with(testItem("nomatch", 2), func(it *api.Item) { it.Cc = append(it.Cc, "new@buyer.example") })),
		del("del")}}, t0.Add(time.Hour))
	ids, es := pendingIDs(t, ob)
	sort.Strings(ids)
	// A logged mail that changed is offered again too: the logger keeps
	// its record (an EmailMessage cannot be edited) but notes a mail
	// marked private after it was logged.
	if !reflect.DeepEqual(ids, []string{"del", "gone", "mail", "meet", "nomatch"}) {
		t.Fatalf("queued again: %v, want del gone mail meet nomatch", ids)
	}
	for _, e := range es {
		switch e.Item.ProviderID {
		case "meet":
			if e.RecordID != "00Umeet" || e.Object != api.ObjEvent || e.Deleted || !e.Item.Start.Equal(moved.Start) {
				t.Errorf("moved meeting entry = %+v", e)
			}
		case "gone", "del":
			if !e.Deleted || e.RecordID == "" {
				t.Errorf("deleted entry = %+v", e)
			}
		case "nomatch":
			if e.RecordID != "" || len(e.Item.Cc) != 2 {
				t.Errorf("changed skipped entry = %+v", e)
			}
		}
	}
	if c := state(t, s, "work")["mail"].CRM; c.State != api.CRMPending || c.RecordID != "02smail" {
		t.Errorf("a changed logged mail: %+v, want pending with its record", c)
	}
}

// An outcome for an older version of the item (the mailbox changed it
// while the CRM run was logging it) does not overwrite the newer one: the
// item stays pending, with the record the run made, so the next run
// updates that record instead of creating another.
func TestOutboxSaveAfterAConcurrentChange(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", ConnectedAt: t0, Since: t0})
	apply(t, s, api.Calendar, provider.Page{Cursor: "e1", Changes: []provider.Change{add(event("meet", 1))}}, t0)
	ob := s.Outbox(nil)
	_, es := pendingIDs(t, ob)
	moved := with(event("meet", 1), func(it *api.Item) { it.Location = "Room 4" })
	apply(t, s, api.Calendar, provider.Page{Cursor: "e2", Changes: []provider.Change{add(moved)}}, t0.Add(time.Minute))
	if err := ob.Save(ctx, []crm.Outcome{{Key: es[0].Key, State: api.CRMLogged, RecordID: "00Umeet", Object: api.ObjEvent}}); err != nil {
		t.Fatal(err)
	}
	_, es = pendingIDs(t, ob)
	if len(es) != 1 || es[0].RecordID != "00Umeet" || es[0].State != api.CRMPending || es[0].Item.Location != "Room 4" {
		t.Fatalf("after a stale outcome: %+v", es)
	}
	if err := ob.Save(ctx, []crm.Outcome{{Key: es[0].Key, State: api.CRMLogged, RecordID: "00Umeet", Object: api.ObjEvent}}); err != nil {
		t.Fatal(err)
	}
	if ids, _ := pendingIDs(t, ob); len(ids) != 0 {
		t.Errorf("still pending: %v", ids)
	}
	// A failed update keeps the record it was logged as.
	apply(t, s, api.Calendar, provider.Page{Cursor: "e3", Changes: []provider.Change{add(event("meet", 1))}}, t0.Add(2*time.Minute))
	_, es = pendingIDs(t, ob)
	if err := ob.Save(ctx, []crm.Outcome{{Key: es[0].Key, State: api.CRMFailed, Reason: "locked", Retryable: true}}); err != nil {
		t.Fatal(err)
	}
	if c := state(t, s, "work")["calendar/meet"].CRM; c.State != api.CRMFailed || c.RecordID != "00Umeet" || c.Object != api.ObjEvent {
		t.Errorf("after a failed update: %+v", c)
	}
}

// Disconnecting stops queueing and forgets what was not logged; connecting
// to another org forgets the old org's records.
func TestCRMDisconnectAndOtherOrg(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", Org: "org1", ConnectedAt: t0, Since: t0})
	apply(t, s, api.Inbox, provider.Page{Cursor: "c1", Changes: []provider.Change{add(testItem("a", 1)), add(testItem("b", 2))}}, t0)
	ob := s.Outbox(nil)
	_, es := pendingIDs(t, ob)
	ob.Save(ctx, []crm.Outcome{{Key: es[0].Key, State: api.CRMLogged, RecordID: "02sa", Object: api.ObjEmailMessage}})
	if err := s.DisconnectCRM(ctx); err != nil {
		t.Fatal(err)
	}
	apply(t, s, api.Inbox, provider.Page{Cursor: "c2", Changes: []provider.Change{add(testItem("c", 3))}}, t0)
	if got, want := crmStates(t, s), map[string]string{"a": "logged", "b": "-", "c": "-"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after disconnect: %v, want %v", got, want)
	}
	if c, ok, _ := s.CRMConnection(ctx); !ok || c.Active {
		t.Errorf("connection after disconnect: %+v", c)
	}
	// The same org again: its window is queued, the logged item kept.
	s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", Org: "org1", ConnectedAt: t0, Since: t0})
	if got, want := crmStates(t, s), map[string]string{"a": "logged", "b": "pending", "c": "pending"}; !reflect.DeepEqual(got, want) {
		t.Errorf("reconnected: %v, want %v", got, want)
	}
	s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", Org: "org2", ConnectedAt: t0, Since: t0})
	if got, want := crmStates(t, s), map[string]string{"a": "pending", "b": "pending", "c": "pending"}; !reflect.DeepEqual(got, want) {
		t.Errorf("another org: %v, want %v", got, want)
	}
}

// A full sync's sweep hands the logged items it marks deleted back to the
// logger.
func TestCRMFullSyncSweepRequeues(t *testing.T) {
	ctx := context.Background()
	s := fullSyncFixture(t)
	s.ConnectCRM(ctx, CRMConnection{CRM: "salesforce", ConnectedAt: t0, Since: t0.AddDate(0, 0, -30)})
	ob := s.Outbox(nil)
	_, es := pendingIDs(t, ob)
	var outs []crm.Outcome
	for _, e := range es {
		outs = append(outs, crm.Outcome{Key: e.Key, State: api.CRMLogged, RecordID: "02s" + e.Item.ProviderID, Object: api.ObjEmailMessage})
	}
	ob.Save(ctx, outs)
	if err := s.BeginFullSync(ctx, "work", api.Inbox, window30, t0); err != nil {
		t.Fatal(err)
	}
	apply(t, s, api.Inbox, listing("new", false, "a", "b", "c", "d", "e"), t0.Add(time.Hour))
	ids, es := pendingIDs(t, ob)
	if !reflect.DeepEqual(ids, []string{"f"}) || !es[0].Deleted || es[0].RecordID != "02sf" {
		t.Errorf("after the sweep: %v %+v", ids, es)
	}
}
