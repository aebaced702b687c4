// Package storetest is the conformance suite of session.Store: the rules
// a store must keep for sync sessions to be safe to stop, kill and replay
// (items unique per account + folder + provider id, a page and its cursor
// in one transaction, full syncs that mark deleted only what they did not
// list). The desktop's SQLite store passes it in sync/store's tests; any
// other store (organisation mode's PostgreSQL) must pass it too.
//
// The suite drives a store only through session.Store and three reads
// (Store below), so that it tests behaviour, not a schema.
package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/session"
)

// Store is what the suite checks: the session contract, and the reads
// through which it looks at what was stored.
type Store interface {
	session.Store
	// Items returns a page of the stored items q selects that are not
	// marked deleted, in the order they were first stored.
	Items(ctx context.Context, q api.ItemsQuery) (api.ItemsPage, error)
	// Sessions returns sessions, newest first.
	Sessions(ctx context.Context, q api.SessionQuery) ([]api.Session, error)
	// Issues returns the newest issues of account, newest first.
	Issues(ctx context.Context, account string, limit int) ([]api.Issue, error)
}

// Harness opens the stores the suite checks.
type Harness interface {
	// Open returns a new, empty store that holds the accounts named and
	// no other; the store is closed when t ends.
	Open(t *testing.T, accounts ...string) Store
	// FailNextPage makes the next ApplyPage of s fail inside its
	// transaction, after the page's items and issues were written and
	// before its cursor is (a test hook; in PostgreSQL a trigger would
	// do), so that the suite can check that nothing of it remains.
	FailNextPage(t *testing.T, s Store)
}

// CRMHarness is a Harness whose stores queue items for a CRM. When the
// harness implements it, the suite checks that the queueing keeps the
// page's transaction.
type CRMHarness interface {
	Harness
	// ConnectCRM makes a CRM connection active in s from now on: items
	// stored after it are queued.
	ConnectCRM(t *testing.T, s Store, now time.Time)
	// Outbox returns s's outbox.
	Outbox(t *testing.T, s Store) crm.Outbox
}

var t0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Run("ItemsAreUniquePerAccountFolderAndProviderID", func(t *testing.T) { testUnique(t, h) })
	t.Run("ReplayedPageChangesNothing", func(t *testing.T) { testReplay(t, h) })
	t.Run("ChangesCountAndApplyInOrder", func(t *testing.T) { testChanges(t, h) })
	t.Run("MarksAreStoredAndTheirChangesCount", func(t *testing.T) { testMarks(t, h) })
	t.Run("DeletionMarksOnlyItsFolder", func(t *testing.T) { testDeletion(t, h) })
	t.Run("FailedPageLeavesNothingAndCursorBehind", func(t *testing.T) { testFailedPage(t, h) })
	t.Run("InvalidPagesAreRefused", func(t *testing.T) { testInvalid(t, h) })
	t.Run("CursorsPerAccountAndFolder", func(t *testing.T) { testCursors(t, h) })
	t.Run("FullSyncMarksDeletedWhatItDidNotList", func(t *testing.T) { testFullSync(t, h) })
	t.Run("UnfinishedFullSyncMarksNothing", func(t *testing.T) { testUnfinishedFullSync(t, h) })
	t.Run("ContinueFullSyncNarrowsTheWindow", func(t *testing.T) { testContinueFullSync(t, h) })
	t.Run("SessionsStartAndEnd", func(t *testing.T) { testSessions(t, h) })
	t.Run("IssuesAreRecordedWithTheirPage", func(t *testing.T) { testIssues(t, h) })
	if ch, ok := h.(CRMHarness); ok {
		t.Run("CRMQueueingKeepsThePageTransaction", func(t *testing.T) { testCRM(t, ch) })
		t.Run("CRMThreadsAndMarkedItems", func(t *testing.T) { testCRMThreads(t, ch) })
	}
}

// mail returns a mail item of folder timed at.
func mail(folder api.Folder, id string, at time.Time) api.Item {
	return api.Item{
		ProviderID: id, Folder: folder, Kind: api.KindMail,
		MessageID: "<" + id + "@example.com>", Subject: "Subject of " + id,
		From: "Ann <ann@example.com>", To: []string{"bob@example.com"}, Time: at,
	}
}

func add(it api.Item) provider.Change { return provider.Change{Item: it} }

func del(folder api.Folder, id string) provider.Change {
	return provider.Change{Deleted: true, Item: api.Item{ProviderID: id, Folder: folder}}
}

// page returns a page of changes with cursor.
func page(cursor string, changes ...provider.Change) provider.Page {
	return provider.Page{Cursor: cursor, Changes: changes}
}

func apply(t *testing.T, s Store, account string, folder api.Folder, p provider.Page) api.Counts {
	t.Helper()
	c, err := s.ApplyPage(context.Background(), account, folder, p, t0)
	if err != nil {
		t.Fatalf("ApplyPage(%s, %s, cursor %q): %v", account, folder, p.Cursor, err)
	}
	return c
}

// items returns the stored items of account not marked deleted, as
// "folder/id" sorted, and the items by that key.
func items(t *testing.T, s Store, account string) ([]string, map[string]api.StoredItem) {
	t.Helper()
	var keys []string
	byKey := map[string]api.StoredItem{}
	q := api.ItemsQuery{Account: account, Limit: 100}
	for {
		p, err := s.Items(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			k := string(it.Folder) + "/" + it.ProviderID
			if _, dup := byKey[k]; dup {
				t.Errorf("item %s of %s is stored twice", k, account)
			}
			if it.Account != account {
				t.Errorf("Items(account %s) returned an item of %s", account, it.Account)
			}
			keys = append(keys, k)
			byKey[k] = it
		}
		if p.Next == 0 {
			break
		}
		q.After = p.Next
	}
	slices.Sort(keys)
	return keys, byKey
}

func wantItems(t *testing.T, s Store, account string, want ...string) map[string]api.StoredItem {
	t.Helper()
	got, by := items(t, s, account)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("items of %s = %v, want %v", account, got, want)
	}
	return by
}

func wantCursor(t *testing.T, s Store, account string, folder api.Folder, want string) {
	t.Helper()
	got, err := s.Cursor(context.Background(), account, folder)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("cursor of %s/%s = %q, want %q", account, folder, got, want)
	}
}

func wantCounts(t *testing.T, what string, got, want api.Counts) {
	t.Helper()
	if got != want {
		t.Fatalf("%s counts %+v, want %+v", what, got, want)
	}
}

func testUnique(t *testing.T, h Harness) {
	s := h.Open(t, "work", "home")
	// Gmail gives a message sent to oneself the same id in Inbox and in
	// Sent: the store keeps one item in each.
	c := apply(t, s, "work", api.Inbox, page("i1",
		add(mail(api.Inbox, "m1", t0)),
		add(mail(api.Sent, "m1", t0)),
		add(mail(api.Inbox, "m2", t0)),
	))
	wantCounts(t, "first page", c, api.Counts{Added: 3})
	// Another account may hold the same provider id.
	c = apply(t, s, "home", api.Inbox, page("h1", add(mail(api.Inbox, "m1", t0))))
	wantCounts(t, "other account's page", c, api.Counts{Added: 1})
	// A change without a Folder belongs to the page's folder.
	it := mail("", "m3", t0)
	c = apply(t, s, "work", api.Sent, page("s1", add(it)))
	wantCounts(t, "page without folders", c, api.Counts{Added: 1})
	wantItems(t, s, "work", "inbox/m1", "inbox/m2", "sent/m1", "sent/m3")
	wantItems(t, s, "home", "inbox/m1")
}

func testReplay(t *testing.T, h Harness) {
	s := h.Open(t, "work")
	p := page("c1", add(mail(api.Inbox, "m1", t0)), add(mail(api.Inbox, "m2", t0.Add(time.Minute))), del(api.Inbox, "gone"))
	wantCounts(t, "first apply", apply(t, s, "work", api.Inbox, p), api.Counts{Added: 2})
	before := wantItems(t, s, "work", "inbox/m1", "inbox/m2")
	// A process killed after the commit and before it knew replays the
	// page from the cursor before it: nothing changes.
	wantCounts(t, "replay", apply(t, s, "work", api.Inbox, p), api.Counts{})
	after := wantItems(t, s, "work", "inbox/m1", "inbox/m2")
	for k, it := range before {
		if !after[k].UpdatedAt.Equal(it.UpdatedAt) || after[k].Subject != it.Subject {
			t.Errorf("replay changed %s: %+v, was %+v", k, after[k], it)
		}
	}
	wantCursor(t, s, "work", api.Inbox, "c1")
}

func testChanges(t *testing.T, h Harness) {
	s := h.Open(t, "work")
	apply(t, s, "work", api.Inbox, page("c1", add(mail(api.Inbox, "m1", t0)), add(mail(api.Inbox, "m2", t0))))
	changed := mail(api.Inbox, "m1", t0)
	changed.Subject = "Re: changed"
	c := apply(t, s, "work", api.Inbox, page("c2", add(changed), add(mail(api.Inbox, "m2", t0))))
	wantCounts(t, "a changed and an unchanged item", c, api.Counts{Updated: 1})
	// Changes apply in order: an item added, changed and deleted in one
	// page ends deleted; one deleted and added again ends stored.
	again := mail(api.Inbox, "m4", t0)
	again.Subject = "second version"
	c = apply(t, s, "work", api.Inbox, page("c3",
		add(mail(api.Inbox, "m3", t0)), add(changed), del(api.Inbox, "m3"),
		add(mail(api.Inbox, "m4", t0)), del(api.Inbox, "m4"), add(again),
	))
	wantCounts(t, "a page changing items twice", c, api.Counts{Added: 2, Updated: 1, Removed: 2})
	by := wantItems(t, s, "work", "inbox/m1", "inbox/m2", "inbox/m4")
	if by["inbox/m1"].Subject != "Re: changed" || by["inbox/m4"].Subject != "second version" {
		t.Errorf("stored subjects %q, %q; want the last version of each", by["inbox/m1"].Subject, by["inbox/m4"].Subject)
	}
}

func testDeletion(t *testing.T, h Harness) {
	s := h.Open(t, "work")
	apply(t, s, "work", api.Inbox, page("c1", add(mail(api.Inbox, "m1", t0)), add(mail(api.Sent, "m1", t0)), add(mail(api.Inbox, "m2", t0))))
	c := apply(t, s, "work", api.Inbox, page("c2", del(api.Inbox, "m1")))
	wantCounts(t, "deleting from Inbox", c, api.Counts{Removed: 1})
	wantItems(t, s, "work", "inbox/m2", "sent/m1")
	// Deleting again, or deleting what was never stored, counts nothing.
	c = apply(t, s, "work", api.Inbox, page("c3", del(api.Inbox, "m1"), del(api.Inbox, "never")))
	wantCounts(t, "deleting a deleted and an unknown item", c, api.Counts{})
	// An item that comes back is stored again and counts as Updated.
	c = apply(t, s, "work", api.Inbox, page("c4", add(mail(api.Inbox, "m1", t0))))
	wantCounts(t, "an item back after its deletion", c, api.Counts{Updated: 1})
	wantItems(t, s, "work", "inbox/m1", "inbox/m2", "sent/m1")
}

func testFailedPage(t *testing.T, h Harness) {
	s := h.Open(t, "work")
	apply(t, s, "work", api.Inbox, page("c1", add(mail(api.Inbox, "m1", t0))))
	p := page("c2", add(mail(api.Inbox, "m2", t0)), del(api.Inbox, "m1"))
	p.Issues = []api.ItemIssue{{ProviderID: "m9", Message: "could not be read"}}
	h.FailNextPage(t, s)
	if _, err := s.ApplyPage(context.Background(), "work", api.Inbox, p, t0); err == nil {
		t.Fatal("ApplyPage succeeded after FailNextPage")
	}
	// Nothing of the failed page: its items, its deletion, its issue, its
	// cursor.
	wantItems(t, s, "work", "inbox/m1")
	wantCursor(t, s, "work", api.Inbox, "c1")
	if is, err := s.Issues(context.Background(), "work", 0); err != nil || len(is) != 0 {
		t.Fatalf("issues after a failed page = %+v, %v; want none", is, err)
	}
	// The retry from the cursor that was kept stores the page whole.
	wantCounts(t, "the retried page", apply(t, s, "work", api.Inbox, p), api.Counts{Added: 1, Removed: 1})
	wantItems(t, s, "work", "inbox/m2")
	wantCursor(t, s, "work", api.Inbox, "c2")
}

func testInvalid(t *testing.T, h Harness) {
	s := h.Open(t, "work")
	ctx := context.Background()
	apply(t, s, "work", api.Inbox, page("c1", add(mail(api.Inbox, "m1", t0))))
	for _, c := range []struct {
		name    string
		account string
		page    provider.Page
	}{
		{"no cursor", "work", page("", add(mail(api.Inbox, "m2", t0)))},
		{"a change without a provider id", "work", page("c2", add(mail(api.Inbox, "m2", t0)), add(mail(api.Inbox, "", t0)))},
		{"an unknown account", "nobody", page("c2", add(mail(api.Inbox, "m2", t0)))},
		{"an unknown account and no changes", "nobody", page("c2")},
	} {
		if _, err := s.ApplyPage(ctx, c.account, api.Inbox, c.page, t0); err == nil {
			t.Errorf("ApplyPage with %s succeeded", c.name)
		}
	}
	wantItems(t, s, "work", "inbox/m1")
	wantItems(t, s, "nobody")
	wantCursor(t, s, "work", api.Inbox, "c1")
	if err := s.BeginFullSync(ctx, "nobody", api.Inbox, provider.Window{}, t0); err == nil {
		t.Error("BeginFullSync of an unknown account succeeded")
	}
}

func testCursors(t *testing.T, h Harness) {
	s := h.Open(t, "work", "home")
	wantCursor(t, s, "work", api.Inbox, "")
	apply(t, s, "work", api.Inbox, page("w-inbox-1", add(mail(api.Inbox, "m1", t0))))
	apply(t, s, "work", api.Sent, page("w-sent-1"))
	apply(t, s, "home", api.Inbox, page("h-inbox-1"))
	apply(t, s, "work", api.Inbox, page("w-inbox-2"))
	wantCursor(t, s, "work", api.Inbox, "w-inbox-2")
	wantCursor(t, s, "work", api.Sent, "w-sent-1")
	wantCursor(t, s, "work", api.Calendar, "")
	wantCursor(t, s, "home", api.Inbox, "h-inbox-1")
}

func testFullSync(t *testing.T, h Harness) {
	s := h.Open(t, "work")
	ctx := context.Background()
	w := provider.Window{From: t0.AddDate(0, 0, -30)}
	old := t0.AddDate(0, 0, -60)
	apply(t, s, "work", api.Inbox, page("c1",
		add(mail(api.Inbox, "kept", t0)), add(mail(api.Inbox, "changed", t0)),
		add(mail(api.Inbox, "unreadable", t0)), add(mail(api.Inbox, "vanished", t0)),
		add(mail(api.Inbox, "old", old)), add(mail(api.Inbox, "untimed", time.Time{})),
		add(mail(api.Sent, "vanished", t0)),
	))
	if err := s.BeginFullSync(ctx, "work", api.Inbox, w, t0); err != nil {
		t.Fatal(err)
	}
	// The listing starts from no cursor.
	wantCursor(t, s, "work", api.Inbox, "")
	if running, err := s.ContinueFullSync(ctx, "work", api.Inbox, w); err != nil || !running {
		t.Fatalf("ContinueFullSync after BeginFullSync = %v, %v; want true", running, err)
	}
	changed := mail(api.Inbox, "changed", t0)
	changed.Subject = "changed meanwhile"
	c := apply(t, s, "work", api.Inbox, provider.Page{Cursor: "f1", More: true, Changes: []provider.Change{add(mail(api.Inbox, "kept", t0)), add(changed)}})
	wantCounts(t, "a full sync's first page", c, api.Counts{Updated: 1})
	// Not the last page: nothing is marked deleted yet.
	wantItems(t, s, "work", "inbox/changed", "inbox/kept", "inbox/old", "inbox/unreadable", "inbox/untimed", "inbox/vanished", "sent/vanished")
	last := provider.Page{Cursor: "f2", Changes: []provider.Change{add(mail(api.Inbox, "new", t0))},
		Issues: []api.ItemIssue{{ProviderID: "unreadable", Message: "could not be read"}}}
	c = apply(t, s, "work", api.Inbox, last)
	// vanished was not listed: deleted in Inbox, kept in Sent. old is
	// outside the window and untimed has no time: never taken for deleted.
	// unreadable was named in an issue: it is still in the folder.
	wantCounts(t, "a full sync's last page", c, api.Counts{Added: 1, Removed: 1})
	wantItems(t, s, "work", "inbox/changed", "inbox/kept", "inbox/new", "inbox/old", "inbox/unreadable", "inbox/untimed", "sent/vanished")
	wantCursor(t, s, "work", api.Inbox, "f2")
	if running, err := s.ContinueFullSync(ctx, "work", api.Inbox, w); err != nil || running {
		t.Fatalf("ContinueFullSync after the last page = %v, %v; want false", running, err)
	}
	// Incremental pages after it mark nothing.
	wantCounts(t, "an incremental page", apply(t, s, "work", api.Inbox, page("i1", add(mail(api.Inbox, "later", t0)))), api.Counts{Added: 1})
	wantItems(t, s, "work", "inbox/changed", "inbox/kept", "inbox/later", "inbox/new", "inbox/old", "inbox/unreadable", "inbox/untimed", "sent/vanished")
}

func testUnfinishedFullSync(t *testing.T, h Harness) {
	s := h.Open(t, "work")
	ctx := context.Background()
	w := provider.Window{From: t0.AddDate(0, 0, -30)}
	apply(t, s, "work", api.Inbox, page("c1", add(mail(api.Inbox, "a", t0)), add(mail(api.Inbox, "b", t0))))
	if err := s.BeginFullSync(ctx, "work", api.Inbox, w, t0); err != nil {
		t.Fatal(err)
	}
	apply(t, s, "work", api.Inbox, provider.Page{Cursor: "f1", More: true, Changes: []provider.Change{add(mail(api.Inbox, "a", t0))}})
	// The session stopped; a resync begins the listing again. Its last
	// page is the only one whose listing counts: b, listed by it, stays.
	if err := s.BeginFullSync(ctx, "work", api.Inbox, w, t0); err != nil {
		t.Fatal(err)
	}
	c := apply(t, s, "work", api.Inbox, page("g1", add(mail(api.Inbox, "b", t0))))
	wantCounts(t, "the last page of the second full sync", c, api.Counts{Removed: 1})
	wantItems(t, s, "work", "inbox/b")
}

func testContinueFullSync(t *testing.T, h Harness) {
	s := h.Open(t, "work")
	ctx := context.Background()
	if running, err := s.ContinueFullSync(ctx, "work", api.Calendar, provider.Window{}); err != nil || running {
		t.Fatalf("ContinueFullSync with no full sync = %v, %v; want false", running, err)
	}
	day := 24 * time.Hour
	apply(t, s, "work", api.Calendar, page("c1",
		add(mail(api.Calendar, "early", t0.Add(-5*day))), add(mail(api.Calendar, "mid", t0)), add(mail(api.Calendar, "late", t0.Add(5*day)))))
	if err := s.BeginFullSync(ctx, "work", api.Calendar, provider.Window{From: t0.Add(-10 * day), To: t0.Add(2 * day)}, t0); err != nil {
		t.Fatal(err)
	}
	apply(t, s, "work", api.Calendar, provider.Page{Cursor: "f1", More: true})
	// The session going on with it (after a kill, the next day) lists a
	// window moved on: only what both cover may be taken for deleted.
	if running, err := s.ContinueFullSync(ctx, "work", api.Calendar, provider.Window{From: t0.Add(-2 * day), To: t0.Add(10 * day)}); err != nil || !running {
		t.Fatalf("ContinueFullSync = %v, %v; want true", running, err)
	}
	c := apply(t, s, "work", api.Calendar, page("f2"))
	// early (−5 days) is outside the narrowed window, late (+5 days)
	// outside the first: only mid is marked deleted.
	wantCounts(t, "the last page", c, api.Counts{Removed: 1})
	wantItems(t, s, "work", "calendar/early", "calendar/late")
}

func testSessions(t *testing.T, h Harness) {
	s := h.Open(t, "work", "home")
	ctx := context.Background()
	a, err := s.BeginSession(ctx, "work", "schedule", t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.BeginSession(ctx, "home", "manual", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || b.ID <= a.ID {
		t.Fatalf("session ids %d then %d; want them to grow", a.ID, b.ID)
	}
	if a.Outcome != api.OutcomeRunning || a.Account != "work" || a.Trigger != "schedule" || !a.Start.Equal(t0) {
		t.Fatalf("BeginSession returned %+v", a)
	}
	if _, err := s.BeginSession(ctx, "nobody", "schedule", t0); err == nil {
		t.Error("BeginSession of an unknown account succeeded")
	}
	a.End, a.Outcome, a.Error = t0.Add(2*time.Minute), api.OutcomeThrottled, "The server asked us to wait."
	a.Counts = api.Counts{Added: 3, Updated: 2, Removed: 1}
	if err := s.EndSession(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.EndSession(ctx, api.Session{ID: b.ID + 1000, Outcome: api.OutcomeOK}); err == nil {
		t.Error("EndSession of an unknown session succeeded")
	}
	got, err := s.Sessions(ctx, api.SessionQuery{Account: "work"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != a.ID || got[0].Outcome != a.Outcome || got[0].Counts != a.Counts ||
		got[0].Error != a.Error || !got[0].End.Equal(a.End) || !got[0].Start.Equal(t0) || got[0].Trigger != "schedule" {
		t.Fatalf("sessions of work = %+v, want [%+v]", got, a)
	}
	all, err := s.Sessions(ctx, api.SessionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != b.ID || all[0].Outcome != api.OutcomeRunning || !all[0].End.IsZero() {
		t.Fatalf("all sessions = %+v; want the running one of home first", all)
	}
}

func testIssues(t *testing.T, h Harness) {
	s := h.Open(t, "work", "home")
	ctx := context.Background()
	p := page("c1", add(mail(api.Inbox, "m1", t0)))
	p.Issues = []api.ItemIssue{
		{ProviderID: "m2", Message: "could not be read"},
		{ProviderID: "m3", Folder: api.Sent, Message: "too large"},
	}
	apply(t, s, "work", api.Inbox, p)
	apply(t, s, "home", api.Inbox, page("h1"))
	got, err := s.Issues(ctx, "work", 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b api.Issue) int { return cmp.Compare(a.ProviderID, b.ProviderID) })
	if len(got) != 2 {
		t.Fatalf("issues of work = %+v, want 2", got)
	}
	for i, want := range []api.ItemIssue{{ProviderID: "m2", Folder: api.Inbox, Message: "could not be read"}, {ProviderID: "m3", Folder: api.Sent, Message: "too large"}} {
		if got[i].ItemIssue != want || got[i].Account != "work" || !got[i].Time.Equal(t0) {
			t.Errorf("issue %d = %+v, want %+v of work at %s", i, got[i], want, t0)
		}
	}
	if got, err := s.Issues(ctx, "home", 0); err != nil || len(got) != 0 {
		t.Errorf("issues of home = %+v, %v; want none", got, err)
	}
}

// testMarks checks the marks the CRM rules read: an item's sensitivity and
// categories are stored as given; a category added to a stored item counts
// it Updated, an unchanged one nothing.
func testMarks(t *testing.T, h Harness) {
	s := h.Open(t, "work")
	plain := mail(api.Inbox, "m1", t0)
	marked := mail(api.Inbox, "m2", t0)
	marked.Sensitivity = api.SensitivityPrivate
	marked.Categories = []string{"Private", "Don't log"}
	c := apply(t, s, "work", api.Inbox, page("c1", add(plain), add(marked)))
	wantCounts(t, "a plain and a marked item", c, api.Counts{Added: 2})
	by := wantItems(t, s, "work", "inbox/m1", "inbox/m2")
	if got := by["inbox/m2"]; got.Sensitivity != api.SensitivityPrivate || !slices.Equal(got.Categories, marked.Categories) {
		t.Errorf("stored marks %q %q; want %q %q", got.Sensitivity, got.Categories, marked.Sensitivity, marked.Categories)
	}
	if got := by["inbox/m1"]; got.Sensitivity != "" || got.Categories != nil {
		t.Errorf("stored marks of a plain item %q %q; want none", got.Sensitivity, got.Categories)
	}
	c = apply(t, s, "work", api.Inbox, page("c2", add(plain), add(marked)))
	wantCounts(t, "the same items again", c, api.Counts{})
	plain.Categories = []string{"Salesforce"}
	marked.Sensitivity = ""
	c = apply(t, s, "work", api.Inbox, page("c3", add(plain), add(marked)))
	wantCounts(t, "a category added and a sensitivity removed", c, api.Counts{Updated: 2})
	by = wantItems(t, s, "work", "inbox/m1", "inbox/m2")
	if got := by["inbox/m1"].Categories; !slices.Equal(got, []string{"Salesforce"}) {
		t.Errorf("stored categories %q after the change; want [Salesforce]", got)
	}
	if got := by["inbox/m2"].Sensitivity; got != "" {
		t.Errorf("stored sensitivity %q after the change; want none", got)
	}
}

// testCRMThreads checks what the outbox keeps for the CRM rules: the people
// a logged item was logged to come back as the Thread of the other pending
// items of its mailbox and conversation (not of another mailbox's); a
// logged mail that changes (marked private) is offered again with its
// record and keeps its people; the rule an outcome names is kept.
func testCRMThreads(t *testing.T, h CRMHarness) {
	s := h.Open(t, "work", "home")
	ctx := context.Background()
	h.ConnectCRM(t, s, t0)
	ob := h.Outbox(t, s)
	first := mail(api.Inbox, "m1", t0)
	first.ConversationID = "conv-1"
	apply(t, s, "work", api.Inbox, page("c1", add(first)))
	es, err := ob.Pending(ctx, 100)
	if err != nil || len(es) != 1 || es[0].Thread != nil {
		t.Fatalf("Pending = %+v, %v; want m1 alone, without a thread", es, err)
	}
	people := []crm.Person{{ID: "003A", Object: api.ObjContact, Email: "ann@example.com", AccountID: "001A"}, {ID: "00QB", Object: "Lead", Email: "bo@example.com"}}
	if err := ob.Save(ctx, []crm.Outcome{{Key: es[0].Key, State: api.CRMLogged, RecordID: "02s1", Object: api.ObjEmailMessage, Rule: crm.RuleParticipants, People: people}}); err != nil {
		t.Fatal(err)
	}
	reply := mail(api.Inbox, "m2", t0.Add(time.Hour))
	reply.ConversationID = "conv-1"
	other := mail(api.Inbox, "m3", t0.Add(time.Hour))
	other.ConversationID = "conv-2"
	apply(t, s, "work", api.Inbox, page("c2", add(reply), add(other)))
	elsewhere := mail(api.Inbox, "m9", t0.Add(time.Hour))
	elsewhere.ConversationID = "conv-1"
	apply(t, s, "home", api.Inbox, page("h1", add(elsewhere)))
	es, err = ob.Pending(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]crm.Entry{}
	for _, e := range es {
		byID[e.Item.ProviderID] = e
	}
	if got := byID["m2"].Thread; len(got) != 2 || got[0] != people[0] || got[1] != people[1] {
		t.Errorf("Thread of the reply in a logged conversation = %+v; want %+v", got, people)
	}
	if got := byID["m3"].Thread; got != nil {
		t.Errorf("Thread of another conversation's mail = %+v; want none", got)
	}
	if got := byID["m9"].Thread; got != nil {
		t.Errorf("Thread of another mailbox's mail of the same conversation id = %+v; want none", got)
	}
	// The logged mail marked private: offered again with its record.
	first.Sensitivity = api.SensitivityPrivate
	apply(t, s, "work", api.Inbox, page("c3", add(first)))
	es, err = ob.Pending(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var again *crm.Entry
	for i := range es {
		if es[i].Item.ProviderID == "m1" {
			again = &es[i]
		}
	}
	if again == nil || again.RecordID != "02s1" || again.Item.Sensitivity != api.SensitivityPrivate {
		t.Fatalf("after marking a logged mail private, Pending = %+v; want m1 again, with its record and mark", es)
	}
	// Saved without people (the logger notes it stays): the people stay.
	if err := ob.Save(ctx, []crm.Outcome{{Key: again.Key, State: api.CRMLogged, RecordID: "02s1", Object: api.ObjEmailMessage, Reason: "marked private after it was logged"}}); err != nil {
		t.Fatal(err)
	}
	es, err = ob.Pending(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Item.ProviderID == "m2" && len(e.Thread) != 2 {
			t.Errorf("Thread of the reply after the first mail was saved again = %+v; want its people kept", e.Thread)
		}
	}
}

// testCRM checks that the CRM queue is written with the items: a page's
// new items are queued once, even when the page is replayed; a failed
// page queues nothing; a deleted item that was logged is handed back.
func testCRM(t *testing.T, h CRMHarness) {
	s := h.Open(t, "work")
	ctx := context.Background()
	h.ConnectCRM(t, s, t0)
	ob := h.Outbox(t, s)
	p := page("c1", add(mail(api.Inbox, "m1", t0)), add(mail(api.Inbox, "m2", t0)))
	apply(t, s, "work", api.Inbox, p)
	apply(t, s, "work", api.Inbox, p)
	h.FailNextPage(t, s)
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, page("c2", add(mail(api.Inbox, "m3", t0))), t0); err == nil {
		t.Fatal("ApplyPage succeeded after FailNextPage")
	}
	pending := func() []crm.Entry {
		t.Helper()
		es, err := ob.Pending(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(es, func(a, b crm.Entry) int { return cmp.Compare(a.Item.ProviderID, b.Item.ProviderID) })
		return es
	}
	es := pending()
	if ids := providerIDs(es); !slices.Equal(ids, []string{"m1", "m2"}) {
		t.Fatalf("queued for the CRM: %v; want m1 and m2 once each, not m3 of the failed page", ids)
	}
	var logged []crm.Outcome
	for i, e := range es {
		logged = append(logged, crm.Outcome{Key: e.Key, State: api.CRMLogged, RecordID: fmt.Sprintf("rec%d", i), Object: api.ObjEmailMessage})
	}
	if err := ob.Save(ctx, logged); err != nil {
		t.Fatal(err)
	}
	if es := pending(); len(es) != 0 {
		t.Fatalf("queued after logging: %v; want nothing", providerIDs(es))
	}
	apply(t, s, "work", api.Inbox, page("c3", del(api.Inbox, "m1")))
	es = pending()
	if len(es) != 1 || es[0].Item.ProviderID != "m1" || !es[0].Deleted || es[0].RecordID == "" {
		t.Fatalf("queued after deleting a logged item: %+v; want m1, deleted, with its record", es)
	}
}

func providerIDs(es []crm.Entry) []string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.Item.ProviderID)
	}
	return ids
}
