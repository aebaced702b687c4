package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

func add(it api.Item) provider.Change { return provider.Change{Item: it} }

func del(id string) provider.Change {
	return provider.Change{Deleted: true, Item: api.Item{ProviderID: id, Folder: api.Inbox}}
}

func with(it api.Item, f func(*api.Item)) api.Item {
	f(&it)
	return it
}

// state returns the stored items of account by provider id, prefixed with
// "folder/" for the items of other folders than Inbox.
func state(t *testing.T, s *Store, account string) map[string]api.StoredItem {
	t.Helper()
	page, err := s.Activity(context.Background(), api.ActivityQuery{Account: account, IncludeDeleted: true, Limit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]api.StoredItem{}
	for _, it := range page.Items {
		k := it.ProviderID
		if it.Folder != api.Inbox {
			k = string(it.Folder) + "/" + k
		}
		if _, dup := m[k]; dup {
			t.Fatalf("item %s stored twice", k)
		}
		m[k] = it
	}
	return m
}

func TestApplyPageCounts(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	a, b, c := testItem("a", 1), testItem("b", 2), testItem("c", 3)
	b2 := with(b, func(it *api.Item) { it.Subject = "Re: " + it.Subject })
	noFolder := with(testItem("n", 9), func(it *api.Item) { it.Folder = "" })

	steps := []struct {
		name    string
		changes []provider.Change
		want    api.Counts
	}{
		{"add three", []provider.Change{add(a), add(b), add(c)}, api.Counts{Added: 3}},
		{"replay", []provider.Change{add(a), add(b), add(c)}, api.Counts{}},
		{"update one, keep one, add one", []provider.Change{add(b2), add(c), add(testItem("d", 4))}, api.Counts{Added: 1, Updated: 1}},
		{"delete known and unknown", []provider.Change{del("a"), del("x")}, api.Counts{Removed: 1}},
		{"delete again", []provider.Change{del("a")}, api.Counts{}},
		{"undelete unchanged", []provider.Change{add(a)}, api.Counts{Updated: 1}},
		{"same id twice in a page", []provider.Change{
			add(testItem("e", 5)), add(with(testItem("e", 5), func(it *api.Item) { it.Preview = "changed" })),
		}, api.Counts{Added: 1, Updated: 1}},
		{"added then deleted in a page", []provider.Change{add(testItem("f", 6)), del("f")}, api.Counts{Added: 1, Removed: 1}},
		// Items are per folder: the same id in Sent is another item.
		{"same id in another folder", []provider.Change{add(with(b2, func(it *api.Item) { it.Folder = api.Sent }))}, api.Counts{Added: 1}},
		{"time changed by a nanosecond", []provider.Change{add(with(c, func(it *api.Item) { it.Time = it.Time.Add(1) }))}, api.Counts{Updated: 1}},
		{"recipients reordered", []provider.Change{add(with(testItem("d", 4), func(it *api.Item) { it.To = []string{it.To[1], it.To[0]} }))}, api.Counts{Updated: 1}},
		{"cc moved to to", []provider.Change{add(with(testItem("d", 4), func(it *api.Item) {
			it.To = []string{it.To[1], it.To[0], it.Cc[0]}
			it.Cc = nil
		}))}, api.Counts{Updated: 1}},
		{"item without folder", []provider.Change{add(noFolder)}, api.Counts{Added: 1}},
		{"same item with the page's folder", []provider.Change{add(with(noFolder, func(it *api.Item) { it.Folder = api.Inbox }))}, api.Counts{}},
		{"empty page", nil, api.Counts{}},
	}
	var total api.Counts
	for i, st := range steps {
		now := t0.Add(time.Duration(i) * time.Minute)
		got, err := s.ApplyPage(ctx, "work", api.Inbox, provider.Page{Changes: st.changes, Cursor: fmt.Sprintf("c%d", i)}, now)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: counts %+v, want %+v", st.name, got, st.want)
		}
		total.Add(got)
		if c, _ := s.Cursor(ctx, "work", api.Inbox); c != fmt.Sprintf("c%d", i) {
			t.Errorf("%s: cursor %q", st.name, c)
		}
	}
	if want := (api.Counts{Added: 8, Updated: 6, Removed: 2}); total != want {
		t.Errorf("total %+v, want %+v", total, want)
	}

	m := state(t, s, "work")
	want := map[string]struct {
		deleted   bool
		folder    api.Folder
		firstSeen int // step
		updated   int
	}{
		"a":      {false, api.Inbox, 0, 5},
		"b":      {false, api.Inbox, 0, 2},
		"sent/b": {false, api.Sent, 8, 8},
		"c":      {false, api.Inbox, 0, 9},
		"d":      {false, api.Inbox, 2, 11},
		"e":      {false, api.Inbox, 6, 6},
		"f":      {true, api.Inbox, 7, 7},
		"n":      {false, api.Inbox, 12, 12},
	}
	if len(m) != len(want) {
		t.Errorf("%d items stored, want %d", len(m), len(want))
	}
	for id, w := range want {
		it := m[id]
		if it.Deleted != w.deleted || it.Folder != w.folder ||
			!it.FirstSeen.Equal(t0.Add(time.Duration(w.firstSeen)*time.Minute)) ||
			!it.UpdatedAt.Equal(t0.Add(time.Duration(w.updated)*time.Minute)) {
			t.Errorf("item %s: deleted=%v folder=%s first_seen=%v updated_at=%v, want %+v",
				id, it.Deleted, it.Folder, it.FirstSeen, it.UpdatedAt, w)
		}
	}
	if m["e"].Preview != "changed" || m["b"].Subject != b2.Subject {
		t.Errorf("updates not stored: e=%q b=%q", m["e"].Preview, m["b"].Subject)
	}
	if n, _ := s.CountItems(ctx, "work"); n != 7 {
		t.Errorf("CountItems = %d, want 7", n)
	}
}

func TestApplyPageReplayIsIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	page := addPage("p", 300, "c1")
	page.Changes = append(page.Changes, del("p-7"))
	if c, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0); err != nil || c != (api.Counts{Added: 300, Removed: 1}) {
		t.Fatalf("first apply: %+v %v", c, err)
	}
	before := state(t, s, "work")
	var revs int
	s.db.QueryRow("SELECT sum(rev) FROM items").Scan(&revs)
	for i := range 3 {
		c, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0.Add(time.Duration(i+1)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		// The deleted item comes back by the page's add and goes again by
		// its delete: a replay of a page that deletes what it adds.
		if c != (api.Counts{Updated: 1, Removed: 1}) {
			t.Errorf("replay %d: %+v", i, c)
		}
	}
	page.Changes = page.Changes[:300]
	page.Changes = append(page.Changes[:7], page.Changes[8:]...)
	for i := range 3 {
		c, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0.Add(time.Duration(i+10)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if c != (api.Counts{}) {
			t.Errorf("replay without the deleted item %d: %+v", i, c)
		}
	}
	after := state(t, s, "work")
	if len(after) != 300 {
		t.Errorf("%d items after replays, want 300", len(after))
	}
	var rows int
	s.db.QueryRow("SELECT count(*) FROM items").Scan(&rows)
	if rows != 300 {
		t.Errorf("%d rows, want 300", rows)
	}
	// Unchanged rows were not rewritten.
	for id, b := range before {
		if id == "p-7" {
			continue
		}
		if a := after[id]; !a.UpdatedAt.Equal(b.UpdatedAt) {
			t.Errorf("%s rewritten: updated_at %v → %v", id, b.UpdatedAt, a.UpdatedAt)
		}
	}
	var revs2 int
	s.db.QueryRow("SELECT sum(rev) FROM items").Scan(&revs2)
	if revs2 != revs+3 {
		t.Errorf("rev sum %d → %d, want +3 (only p-7 rewritten)", revs, revs2)
	}
}

func TestApplyPageIsAtomic(t *testing.T) {
	s := openTemp(t, "work")
	ctx := context.Background()
	first := addPage("a", 100, "c1")
	first.Issues = []api.ItemIssue{{ProviderID: "bad-1", Message: "could not read"}}
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, first, t0); err != nil {
		t.Fatal(err)
	}
	before := state(t, s, "work")
	issuesBefore, _ := s.Issues(ctx, "", 0)

	second := addPage("b", 100, "c2")
	second.Changes = append(second.Changes, del("a-1"), add(with(testItem("a-2", 2), func(it *api.Item) { it.Subject = "x" })))
	second.Issues = []api.ItemIssue{{ProviderID: "bad-2", Message: "could not read"}}

	boom := errors.New("boom")
	cases := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		hook func(cancel context.CancelFunc) func(context.Context) error
		want error
	}{
		{"error before the cursor", bg, func(context.CancelFunc) func(context.Context) error {
			return func(context.Context) error { return boom }
		}, boom},
		{"cancelled before the cursor", cancellable, func(cancel context.CancelFunc) func(context.Context) error {
			return func(context.Context) error { cancel(); return nil }
		}, context.Canceled},
		{"cancelled before the call", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, nil, context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := c.ctx()
			defer cancel()
			if c.hook != nil {
				testHookBeforeCursor = c.hook(cancel)
				defer func() { testHookBeforeCursor = nil }()
			}
			counts, err := s.ApplyPage(ctx, "work", api.Inbox, second, t0.Add(time.Hour))
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if counts != (api.Counts{}) {
				t.Errorf("counts of a failed page: %+v", counts)
			}
			if cur, _ := s.Cursor(context.Background(), "work", api.Inbox); cur != "c1" {
				t.Errorf("cursor = %q, want c1", cur)
			}
			if after := state(t, s, "work"); !reflect.DeepEqual(after, before) {
				t.Errorf("items changed by a failed page: %d items, was %d", len(after), len(before))
			}
			if is, _ := s.Issues(context.Background(), "", 0); len(is) != len(issuesBefore) {
				t.Errorf("issues changed: %d, was %d", len(is), len(issuesBefore))
			}
		})
	}
	// The store still works, and the page applies in full.
	c, err := s.ApplyPage(ctx, "work", api.Inbox, second, t0.Add(time.Hour))
	if err != nil || c != (api.Counts{Added: 100, Updated: 1, Removed: 1}) {
		t.Fatalf("page after the failures: %+v %v", c, err)
	}
	if cur, _ := s.Cursor(ctx, "work", api.Inbox); cur != "c2" {
		t.Errorf("cursor = %q, want c2", cur)
	}
}

func bg() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }

func cancellable() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

func TestApplyPageRejects(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, provider.Page{Changes: []provider.Change{add(testItem("a", 1))}}, t0); err == nil {
		t.Error("a page without a cursor was stored")
	}
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, provider.Page{Cursor: "c", Changes: []provider.Change{add(testItem("", 1))}}, t0); err == nil {
		t.Error("an item without a provider id was stored")
	}
	if _, err := s.ApplyPage(ctx, "nope", api.Inbox, addPage("a", 1, "c"), t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	if n, _ := s.CountItems(ctx, ""); n != 0 {
		t.Errorf("%d items stored", n)
	}
	if c, _ := s.Cursor(ctx, "work", api.Inbox); c != "" {
		t.Errorf("cursor %q stored", c)
	}
}

func TestCursors(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work", "home")
	for _, c := range []struct {
		account string
		folder  api.Folder
		cursor  string
	}{
		{"work", api.Inbox, "w-in"}, {"work", api.Calendar, "w-cal"}, {"home", api.Inbox, "h-in"},
	} {
		if _, err := s.ApplyPage(ctx, c.account, c.folder, provider.Page{Cursor: c.cursor}, t0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Cursors(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[api.Folder]string{api.Inbox: "w-in", api.Calendar: "w-cal"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Cursors = %v, want %v", got, want)
	}
	if c, _ := s.Cursor(ctx, "work", api.Sent); c != "" {
		t.Errorf("Cursor of a folder never synced = %q", c)
	}
	if err := s.DeleteCursor(ctx, "work", api.Inbox); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCursor(ctx, "work", api.Inbox); err != nil {
		t.Errorf("deleting a missing cursor: %v", err)
	}
	if c, _ := s.Cursor(ctx, "work", api.Inbox); c != "" {
		t.Errorf("deleted cursor = %q", c)
	}
	if c, _ := s.Cursor(ctx, "home", api.Inbox); c != "h-in" {
		t.Errorf("other account's cursor = %q", c)
	}
}

func TestActivity(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work", "home")
	event := api.Item{
		ProviderID: "ev1", Folder: api.Calendar, Kind: api.KindEvent, Subject: "Planning",
		Organizer: "alice@example.com", Attendees: []string{"bob@example.com", "Carol <carol@example.com>"},
		Time: t0.Add(48 * time.Hour), Start: t0.Add(48 * time.Hour), End: t0.Add(49 * time.Hour), Location: "Room 4",
		ConversationID: "c", MessageID: "<m@x>", Preview: "Agenda",
	}
	special := with(testItem("pct", 50), func(it *api.Item) { it.Subject = "100% done_now" })
	noTime := with(testItem("notime", 0), func(it *api.Item) { it.Time = time.Time{} })
	page := provider.Page{Cursor: "c", Changes: []provider.Change{
		add(testItem("w1", 1)), add(testItem("w2", 2)), add(testItem("w3", 3)), add(special), add(noTime),
		add(with(testItem("w4", 4), func(it *api.Item) { it.Cc = []string{"zed@elsewhere.example"} })),
	}}
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyPage(ctx, "work", api.Calendar, provider.Page{Cursor: "c", Changes: []provider.Change{add(event)}}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, provider.Page{Cursor: "c2", Changes: []provider.Change{del("w3")}}, t0); err != nil {
		t.Fatal(err)
	}
	home := provider.Page{Cursor: "c", Changes: []provider.Change{
		add(with(testItem("h1", 10), func(it *api.Item) { it.Subject = "Dinner" })),
		add(with(testItem("h2", 2), func(it *api.Item) { it.Subject = "Tickets" })),
	}}
	if _, err := s.ApplyPage(ctx, "home", api.Inbox, home, t0); err != nil {
		t.Fatal(err)
	}

	ids := func(items []api.StoredItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.ProviderID)
		}
		return out
	}
	cases := []struct {
		name string
		q    api.ActivityQuery
		want []string
	}{
		{"account newest first, no time last", api.ActivityQuery{Account: "work"}, []string{"ev1", "pct", "w4", "w2", "w1", "notime"}},
		{"with deleted", api.ActivityQuery{Account: "work", IncludeDeleted: true}, []string{"ev1", "pct", "w4", "w3", "w2", "w1", "notime"}},
		{"limit", api.ActivityQuery{Account: "work", Limit: 2}, []string{"ev1", "pct"}},
		{"since", api.ActivityQuery{Account: "work", Since: t0.Add(4 * time.Minute)}, []string{"ev1", "pct", "w4"}},
		{"search subject, any case", api.ActivityQuery{Account: "work", Search: "PLANNING"}, []string{"ev1"}},
		{"search percent is literal", api.ActivityQuery{Account: "work", Search: "00%"}, []string{"pct"}},
		{"search underscore is literal", api.ActivityQuery{Account: "work", Search: "e_n"}, []string{"pct"}},
		{"search cc", api.ActivityQuery{Account: "work", Search: "elsewhere"}, []string{"w4"}},
		{"search to", api.ActivityQuery{Account: "home", Search: "carol@"}, []string{"h1", "h2"}},
		{"search from and organizer", api.ActivityQuery{Account: "work", Search: "alice@EXAMPLE", IncludeDeleted: true}, []string{"ev1", "pct", "w4", "w3", "w2", "w1", "notime"}},
		{"search nothing", api.ActivityQuery{Account: "work", Search: "no such text"}, nil},
		{"search preview", api.ActivityQuery{Account: "home", Search: "numbers we talked"}, []string{"h1", "h2"}},
		{"all accounts, equal times newest stored first", api.ActivityQuery{}, []string{"ev1", "pct", "h1", "w4", "h2", "w2", "w1", "notime"}},
		{"all accounts, limit", api.ActivityQuery{Limit: 3}, []string{"ev1", "pct", "h1"}},
		{"all accounts, offset", api.ActivityQuery{Limit: 3, Offset: 2}, []string{"h1", "w4", "h2"}},
		{"all accounts, offset past the end", api.ActivityQuery{Limit: 3, Offset: 8}, nil},
		{"all accounts, since", api.ActivityQuery{Since: t0.Add(4 * time.Minute)}, []string{"ev1", "pct", "h1", "w4"}},
		{"all accounts, with deleted", api.ActivityQuery{IncludeDeleted: true, Limit: 100, Offset: 4}, []string{"w3", "h2", "w2", "w1", "notime"}},
		{"all accounts, search", api.ActivityQuery{Search: "tickets"}, []string{"h2"}},
		{"unknown account", api.ActivityQuery{Account: "nope"}, nil},
	}
	check := func(mode string) {
		t.Helper()
		for _, c := range cases {
			got, err := s.Activity(ctx, c.q)
			if err != nil {
				t.Errorf("%s, %s: %v", mode, c.name, err)
				continue
			}
			if g := ids(got.Items); !reflect.DeepEqual(g, c.want) {
				t.Errorf("%s, %s: %v, want %v", mode, c.name, g, c.want)
			}
			if got.Total != len(c.want) && c.q.Limit == 0 {
				t.Errorf("%s, %s: total %d, want %d", mode, c.name, got.Total, len(c.want))
			}
		}
		page, _ := s.Activity(ctx, api.ActivityQuery{})
		for _, it := range page.Items {
			if (it.ProviderID[0] == 'h') != (it.Account == "home") {
				t.Errorf("%s: item %s of account %s", mode, it.ProviderID, it.Account)
			}
		}

		// Every field survives the round trip.
		got, _ := s.Activity(ctx, api.ActivityQuery{Account: "work", Search: "planning"})
		want := api.StoredItem{Item: event, Account: "work", FirstSeen: t0, UpdatedAt: t0}
		if len(got.Items) != 1 || !reflect.DeepEqual(got.Items[0], want) {
			t.Errorf("%s: event round trip:\n got %+v\nwant %+v", mode, got.Items, want)
		}
		got, _ = s.Activity(ctx, api.ActivityQuery{Account: "work", Search: "elsewhere"})
		if w4 := with(testItem("w4", 4), func(it *api.Item) { it.Cc = []string{"zed@elsewhere.example"} }); len(got.Items) != 1 || !reflect.DeepEqual(got.Items[0].Item, w4) {
			t.Errorf("%s: mail round trip:\n got %+v\nwant %+v", mode, got.Items, w4)
		}
	}
	if p, err := s.BuildSearchIndex(ctx, 3); err != nil || p.Ready() {
		t.Fatalf("one build step: %+v, %v", p, err)
	}
	check("partly indexed")
	for p := (api.IndexProgress{Left: 1}); !p.Ready(); {
		var err error
		if p, err = s.BuildSearchIndex(ctx, 3); err != nil {
			t.Fatal(err)
		}
	}
	check("indexed")
	// The same answers from a scan, as before the index of an older store
	// is built.
	unbuildIndex(t, s)
	check("not indexed")
}

func TestIssues(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work", "home")
	for i, acct := range []string{"work", "home", "work"} {
		page := provider.Page{Cursor: "c", Issues: []api.ItemIssue{
			{ProviderID: fmt.Sprintf("x%d", i), Message: "cannot convert"},
			{ProviderID: fmt.Sprintf("y%d", i), Folder: api.Sent, Message: "too large"},
		}}
		if _, err := s.ApplyPage(ctx, acct, api.Inbox, page, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Issues(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 || all[0].ProviderID != "y2" || all[5].ProviderID != "x0" {
		t.Fatalf("Issues = %+v", all)
	}
	want := api.Issue{ID: all[1].ID, Account: "work", ItemIssue: api.ItemIssue{ProviderID: "x2", Folder: api.Inbox, Message: "cannot convert"}, Time: t0.Add(2 * time.Minute)}
	if all[1] != want {
		t.Errorf("issue = %+v, want %+v", all[1], want)
	}
	if all[0].Folder != api.Sent {
		t.Errorf("issue folder = %q", all[0].Folder)
	}
	work, _ := s.Issues(ctx, "work", 0)
	if len(work) != 4 {
		t.Errorf("work issues = %d", len(work))
	}
	two, _ := s.Issues(ctx, "work", 2)
	if len(two) != 2 || two[0].ProviderID != "y2" {
		t.Errorf("limited issues = %+v", two)
	}
}

func TestDeleteAccountPurges(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work", "home")
	for _, acct := range []string{"work", "home"} {
		page := addPage(acct, 50, "c")
		page.Issues = []api.ItemIssue{{ProviderID: "x", Message: "m"}}
		for _, f := range []api.Folder{api.Inbox, api.Sent} {
			if _, err := s.ApplyPage(ctx, acct, f, page, t0); err != nil {
				t.Fatal(err)
			}
		}
		sess, _ := s.BeginSession(ctx, acct, "schedule", t0)
		sess.Outcome = "ok"
		s.EndSession(ctx, sess)
		s.BeginSession(ctx, acct, "manual", t0)
		if err := s.PutRunState(ctx, acct, RunState{State: "idle", Failures: 1}); err != nil {
			t.Fatal(err)
		}
	}
	s.PutSetting(ctx, "global", "kept")

	if err := s.DeleteAccount(ctx, "work", 100); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"accounts", "items", "cursors", "sessions", "issues", "run_state"} {
		col := "account"
		if table == "accounts" {
			col = "id"
		}
		var work, home int
		s.db.QueryRow("SELECT count(*) FROM " + table + " WHERE " + col + " = 'work'").Scan(&work)
		s.db.QueryRow("SELECT count(*) FROM " + table + " WHERE " + col + " = 'home'").Scan(&home)
		if work != 0 {
			t.Errorf("%s: %d rows of the deleted account left", table, work)
		}
		if home == 0 {
			t.Errorf("%s: the other account's rows are gone", table)
		}
	}
	if v, ok, _ := s.Setting(ctx, "global"); !ok || v != "kept" {
		t.Error("global setting lost")
	}
	if rs, _ := s.RunState(ctx, "work"); rs != (RunState{}) {
		t.Errorf("run state left: %+v", rs)
	}
	// The ID can be used again, starting from nothing.
	if err := s.AddAccount(ctx, api.Account{ID: "work", Provider: "gmail"}); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Cursor(ctx, "work", api.Inbox); c != "" {
		t.Errorf("cursor survived: %q", c)
	}
	if n, _ := s.CountItems(ctx, "work"); n != 0 {
		t.Errorf("%d items survived", n)
	}
}

// TestConcurrentUse runs writers and readers at once: no SQLITE_BUSY, no
// race, readers see whole pages only.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work", "home")
	const pages, size = 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for _, acct := range []string{"work", "home"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range pages {
				if _, err := s.ApplyPage(ctx, acct, api.Inbox, addPage(fmt.Sprintf("%s-%d", acct, i), size, "c"), t0); err != nil {
					errs <- err
					return
				}
				sess, err := s.BeginSession(ctx, acct, "schedule", t0)
				if err != nil {
					errs <- err
					return
				}
				sess.Outcome = "ok"
				if err := s.EndSession(ctx, sess); err != nil {
					errs <- err
					return
				}
				if err := s.PutSetting(ctx, acct, fmt.Sprint(i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	var rg sync.WaitGroup
	for range 3 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				n, err := s.CountItems(ctx, "work")
				if err != nil {
					errs <- err
					return
				}
				if n%size != 0 {
					errs <- fmt.Errorf("reader saw %d items: part of a page", n)
					return
				}
				if _, err := s.Activity(ctx, api.ActivityQuery{Limit: 10}); err != nil {
					errs <- err
					return
				}
				if _, err := s.Sessions(ctx, api.SessionQuery{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, acct := range []string{"work", "home"} {
		if n, _ := s.CountItems(ctx, acct); n != pages*size {
			t.Errorf("%s: %d items, want %d", acct, n, pages*size)
		}
	}
}

func TestContentHash(t *testing.T) {
	base := testItem("a", 1)
	seen := map[int64]string{contentHash(&base, api.Inbox): "base"}
	variants := map[string]func(*api.Item){
		"subject":      func(it *api.Item) { it.Subject += "x" },
		"split fields": func(it *api.Item) { it.From, it.Subject = it.From+it.Subject[:1], it.Subject[1:] },
		"to into cc":   func(it *api.Item) { it.Cc = append([]string{it.To[1]}, it.Cc...); it.To = it.To[:1] },
		"kind":         func(it *api.Item) { it.Kind = api.KindEvent },
		"start":        func(it *api.Item) { it.Start = t0 },
		"end":          func(it *api.Item) { it.End = t0 },
		"attendees":    func(it *api.Item) { it.Attendees = []string{""} },
		"location":     func(it *api.Item) { it.Location = "x" },
		"organizer":    func(it *api.Item) { it.Organizer = "x" },
		"message id":   func(it *api.Item) { it.MessageID = "" },
		"conversation": func(it *api.Item) { it.ConversationID = "" },
		"preview":      func(it *api.Item) { it.Preview = it.Preview[:len(it.Preview)-1] },
		"time":         func(it *api.Item) { it.Time = it.Time.Add(time.Nanosecond) },
	}
	names := make([]string, 0, len(variants))
	for n := range variants {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		it := with(base, variants[n])
		h := contentHash(&it, api.Inbox)
		if prev, dup := seen[h]; dup {
			t.Errorf("%s hashes like %s", n, prev)
		}
		seen[h] = n
	}
	if contentHash(&base, api.Sent) == contentHash(&base, api.Inbox) {
		t.Error("folder not hashed")
	}
	// The provider id is the key, not content.
	other := with(base, func(it *api.Item) { it.ProviderID = "b" })
	if contentHash(&other, api.Inbox) != contentHash(&base, api.Inbox) {
		t.Error("provider id hashed")
	}
}
