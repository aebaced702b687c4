package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// in returns it in folder f.
func in(f api.Folder, it api.Item) api.Item {
	it.Folder = f
	return it
}

// delIn is a deletion of id in folder f.
func delIn(f api.Folder, id string) provider.Change {
	return provider.Change{Deleted: true, Item: api.Item{ProviderID: id, Folder: f}}
}

// live returns the ids of account's folder not marked deleted, sorted.
func live(t *testing.T, s *Store, account string, folder api.Folder) []string {
	t.Helper()
	rows, err := s.db.Query("SELECT provider_id FROM items WHERE account = ? AND folder = ? AND deleted = 0 ORDER BY provider_id",
		account, string(folder))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

func apply(t *testing.T, s *Store, folder api.Folder, p provider.Page, now time.Time) api.Counts {
	t.Helper()
	c, err := s.ApplyPage(context.Background(), "work", folder, p, now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A message sent to oneself carries the same Gmail id in INBOX and SENT:
// the store keeps it once per folder, and a deletion in one folder leaves
// the other alone.
func TestSameIDInTwoFolders(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work", "home")
	self := testItem("18c2f0a1b2c3d4e5", 1)
	if c := apply(t, s, api.Inbox, provider.Page{Cursor: "i1", Changes: []provider.Change{add(in(api.Inbox, self))}}, t0); c != (api.Counts{Added: 1}) {
		t.Fatalf("inbox page: %+v", c)
	}
	if c := apply(t, s, api.Sent, provider.Page{Cursor: "s1", Changes: []provider.Change{add(in(api.Sent, self))}}, t0); c != (api.Counts{Added: 1}) {
		t.Fatalf("sent page: %+v, want the Sent copy added", c)
	}
	// Another account may hold the same id too.
	if _, err := s.ApplyPage(ctx, "home", api.Inbox, provider.Page{Cursor: "h1", Changes: []provider.Change{add(in(api.Inbox, self))}}, t0); err != nil {
		t.Fatal(err)
	}
	// Replays of both pages change nothing.
	for range 2 {
		if c := apply(t, s, api.Inbox, provider.Page{Cursor: "i1", Changes: []provider.Change{add(in(api.Inbox, self))}}, t0.Add(time.Minute)); c != (api.Counts{}) {
			t.Fatalf("inbox replay: %+v", c)
		}
		if c := apply(t, s, api.Sent, provider.Page{Cursor: "s1", Changes: []provider.Change{add(in(api.Sent, self))}}, t0.Add(time.Minute)); c != (api.Counts{}) {
			t.Fatalf("sent replay: %+v", c)
		}
	}
	page, err := s.Activity(ctx, api.ActivityQuery{Account: "work", Search: "Quarterly"})
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, it := range page.Items {
		if it.ProviderID != self.ProviderID {
			t.Errorf("unexpected item %+v", it)
		}
		folders = append(folders, string(it.Folder))
	}
	sort.Strings(folders)
	if !reflect.DeepEqual(folders, []string{"inbox", "sent"}) {
		t.Fatalf("activity lists the message in %v, want inbox and sent", folders)
	}

	// Archived out of INBOX: deleted there only.
	if c := apply(t, s, api.Inbox, provider.Page{Cursor: "i2", Changes: []provider.Change{delIn(api.Inbox, self.ProviderID)}}, t0.Add(time.Hour)); c != (api.Counts{Removed: 1}) {
		t.Fatalf("inbox deletion: %+v", c)
	}
	if got := live(t, s, "work", api.Inbox); len(got) != 0 {
		t.Errorf("inbox still holds %v", got)
	}
	if got := live(t, s, "work", api.Sent); !reflect.DeepEqual(got, []string{self.ProviderID}) {
		t.Errorf("the deletion in Inbox reached Sent: sent holds %v", got)
	}
	if n, _ := s.CountItems(ctx, "home"); n != 1 {
		t.Errorf("the deletion reached another account: home holds %d", n)
	}
	// A deletion without a folder is one of the page's folder.
	if c := apply(t, s, api.Sent, provider.Page{Cursor: "s2", Changes: []provider.Change{{Deleted: true, Item: api.Item{ProviderID: self.ProviderID}}}}, t0.Add(time.Hour)); c != (api.Counts{Removed: 1}) {
		t.Fatalf("sent deletion: %+v", c)
	}
	// Back in INBOX: only that copy returns.
	if c := apply(t, s, api.Inbox, provider.Page{Cursor: "i3", Changes: []provider.Change{add(in(api.Inbox, self))}}, t0.Add(2*time.Hour)); c != (api.Counts{Updated: 1}) {
		t.Fatalf("restored to inbox: %+v", c)
	}
	if got := live(t, s, "work", api.Sent); len(got) != 0 {
		t.Errorf("sent holds %v after its deletion", got)
	}
}

// oldSchemaFile writes a store file with the first schema (user_version 1),
// as the previous version of Inbox Sync left it, holding an account, two
// items, a cursor and a session.
func oldSchemaFile(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, "_pragma=journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range migrations[0] {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	hash := func(it api.Item) int64 { return contentHash(&it, it.Folder) }
	a, b := testItem("a", 1), in(api.Sent, testItem("b", 2))
	for _, stmt := range []struct {
		q    string
		args []any
	}{
		{"INSERT INTO accounts(id, provider) VALUES ('work', 'gmail')", nil},
		{`INSERT INTO items(account, provider_id, folder, kind, subject, message_id, conversation_id, from_addr,
			to_addrs, cc_addrs, time, preview, hash, first_seen, updated_at)
			VALUES ('work', ?, ?, 'mail', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{a.ProviderID, "inbox", a.Subject, a.MessageID, a.ConversationID, a.From, joinAddrs(a.To), joinAddrs(a.Cc),
				timeNanos(a.Time), a.Preview, hash(a), timeNanos(t0), timeNanos(t0)}},
		{`INSERT INTO items(account, provider_id, folder, kind, subject, message_id, conversation_id, from_addr,
			to_addrs, cc_addrs, time, preview, hash, deleted, first_seen, updated_at)
			VALUES ('work', ?, ?, 'mail', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			[]any{b.ProviderID, "sent", b.Subject, b.MessageID, b.ConversationID, b.From, joinAddrs(b.To), joinAddrs(b.Cc),
				timeNanos(b.Time), b.Preview, hash(b), timeNanos(t0), timeNanos(t0)}},
		{"INSERT INTO cursors(account, folder, cursor, updated_at) VALUES ('work', 'inbox', 'old-cursor', ?)", []any{timeNanos(t0)}},
		{"INSERT INTO sessions(account, trigger_by, start_time, end_time, outcome, added) VALUES ('work', 'schedule', ?, ?, 'ok', 2)",
			[]any{timeNanos(t0), timeNanos(t0.Add(time.Second))}},
		{"PRAGMA user_version = 1", nil},
	} {
		if _, err := db.Exec(stmt.q, stmt.args...); err != nil {
			t.Fatalf("%s: %v", stmt.q, err)
		}
	}
}

// indexes returns the names of the indexes on items.
func indexes(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'items' AND sql IS NOT NULL ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// A store written by the previous version (schema 1) is migrated in place
// on Open: its rows keep their folder and state, its cursor and sessions
// stay, and from then on the same id may live in two folders.
func TestMigrationFromSchema1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	oldSchemaFile(t, path)

	// The reader does not migrate; it asks for the agent.
	if _, err := OpenReadOnly(path); err == nil || !strings.Contains(err.Error(), "older version") {
		t.Fatalf("OpenReadOnly of a schema-1 file: %v", err)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v := pragma(t, s, "user_version"); v != fmt.Sprint(schemaVersion()) {
		t.Fatalf("user_version %s after Open, want %d", v, schemaVersion())
	}
	if got, want := indexes(t, s.db), []string{"items_account_folder_provider_id", "items_account_time"}; !reflect.DeepEqual(got, want) {
		t.Errorf("indexes on items: %v, want %v", got, want)
	}
	m := state(t, s, "work")
	if len(m) != 2 || m["a"].Folder != api.Inbox || m["a"].Deleted || m["sent/b"].Folder != api.Sent || !m["sent/b"].Deleted {
		t.Fatalf("migrated items: %+v", m)
	}
	if c, _ := s.Cursor(ctx, "work", api.Inbox); c != "old-cursor" {
		t.Errorf("cursor after the migration: %q", c)
	}
	if list, _ := s.Sessions(ctx, api.SessionQuery{}); len(list) != 1 || list[0].Added != 2 {
		t.Errorf("sessions after the migration: %+v", list)
	}
	// The old rows are found by the new key: a replay counts nothing, a
	// deletion finds its row.
	if c := apply(t, s, api.Inbox, provider.Page{Cursor: "c2", Changes: []provider.Change{add(testItem("a", 1))}}, t0.Add(time.Hour)); c != (api.Counts{}) {
		t.Errorf("replay of a migrated item: %+v", c)
	}
	// The same id may now live in Sent too, and deletions stay per folder.
	if c := apply(t, s, api.Sent, provider.Page{Cursor: "s2", Changes: []provider.Change{add(in(api.Sent, testItem("a", 1)))}}, t0.Add(time.Hour)); c != (api.Counts{Added: 1}) {
		t.Errorf("same id in Sent after the migration: %+v", c)
	}
	if c := apply(t, s, api.Inbox, provider.Page{Cursor: "c3", Changes: []provider.Change{del("a")}}, t0.Add(2*time.Hour)); c != (api.Counts{Removed: 1}) {
		t.Errorf("deletion of a migrated item: %+v", c)
	}
	if got := live(t, s, "work", api.Sent); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("sent holds %v", got)
	}
	// And the migrated file passes the checks a later Open runs.
	s.Close()
	if err := check(path, true); err != nil {
		t.Fatal(err)
	}
}

// A migration step that fails leaves the file at the old schema, whole:
// the step and the version bump are one transaction.
func TestMigrationIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	oldSchemaFile(t, path)
	// A table in the way makes the step's last statement fail.
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE full_syncs (x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open succeeded with a migration that cannot run")
	}
	db, err = sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != 1 {
		t.Errorf("user_version %d after a failed migration, want 1", v)
	}
	if got, want := indexes(t, db), []string{"items_account_provider_id", "items_account_time"}; !reflect.DeepEqual(got, want) {
		t.Errorf("indexes after a failed migration: %v, want the old ones %v", got, want)
	}
	var cols int
	db.QueryRow("SELECT count(*) FROM pragma_table_info('items') WHERE name = 'full_sync_gen'").Scan(&cols)
	if cols != 0 {
		t.Error("the failed migration added its column")
	}
}

// fullSyncFixture stores, by incremental pages, inbox items a–f (timed
// t0+1…6 min), g (older than the window), n (without a time) and, in Sent,
// s and a (the same id as the Inbox's a).
func fullSyncFixture(t *testing.T) *Store {
	t.Helper()
	s := openTemp(t, "work")
	var p provider.Page
	for i, id := range []string{"a", "b", "c", "d", "e", "f"} {
		p.Changes = append(p.Changes, add(testItem(id, i+1)))
	}
	p.Changes = append(p.Changes,
		add(with(testItem("g", 0), func(it *api.Item) { it.Time = t0.AddDate(0, 0, -60) })),
		add(with(testItem("n", 0), func(it *api.Item) { it.Time = time.Time{} })))
	p.Cursor = "old"
	apply(t, s, api.Inbox, p, t0)
	apply(t, s, api.Sent, provider.Page{Cursor: "s-old", Changes: []provider.Change{
		add(in(api.Sent, testItem("s", 1))), add(in(api.Sent, testItem("a", 1)))}}, t0)
	return s
}

// window30 is the window of a full sync limited to 30 days before t0.
var window30 = provider.Window{From: t0.AddDate(0, 0, -30)}

// listing returns a full sync page listing ids (as fullSyncFixture made
// them, unchanged).
func listing(cursor string, more bool, ids ...string) provider.Page {
	p := provider.Page{Cursor: cursor, More: more}
	for _, id := range ids {
		n := int(id[0]-'a') + 1
		p.Changes = append(p.Changes, add(testItem(id, n)))
	}
	return p
}

// When a full sync of a folder completes, the folder's items within its
// window that it did not list are marked deleted in the transaction of its
// last page, and counted; items outside the window, without a time, in
// another folder or named by an issue are kept.
func TestFullSyncMarksUnlistedDeleted(t *testing.T) {
	ctx := context.Background()
	s := fullSyncFixture(t)
	if err := s.BeginFullSync(ctx, "work", api.Inbox, window30, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Cursor(ctx, "work", api.Inbox); c != "" {
		t.Fatalf("cursor %q after BeginFullSync, want none", c)
	}
	if w, ok, _ := s.FullSyncWindow(ctx, "work", api.Inbox); !ok || !w.From.Equal(window30.From) || !w.To.IsZero() {
		t.Fatalf("FullSyncWindow = %+v %v", w, ok)
	}
	// a unchanged, b changed, h new; c unreadable (an issue).
	p1 := listing("f1", true, "a")
	p1.Changes = append(p1.Changes, add(with(testItem("b", 2), func(it *api.Item) { it.Subject = "changed" })), add(testItem("h", 8)))
	p1.Issues = []api.ItemIssue{{ProviderID: "c", Message: "no readable date"}}
	if c := apply(t, s, api.Inbox, p1, t0.Add(time.Hour)); c != (api.Counts{Added: 1, Updated: 1}) {
		t.Fatalf("first page: %+v", c)
	}
	if got := live(t, s, "work", api.Inbox); len(got) != 9 {
		t.Fatalf("a page before the last marked items deleted: %v", got)
	}
	// d is listed on the last page; e and f are gone from the mailbox.
	if c := apply(t, s, api.Inbox, listing("f2", false, "d"), t0.Add(2*time.Hour)); c != (api.Counts{Removed: 2}) {
		t.Fatalf("last page: %+v, want e and f removed", c)
	}
	if got, want := live(t, s, "work", api.Inbox), []string{"a", "b", "c", "d", "g", "h", "n"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("inbox after the full sync: %v, want %v", got, want)
	}
	if got := live(t, s, "work", api.Sent); !reflect.DeepEqual(got, []string{"a", "s"}) {
		t.Fatalf("the full sync of Inbox touched Sent: %v", got)
	}
	m := state(t, s, "work")
	if !m["e"].UpdatedAt.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("e updated_at %v, want the last page's time", m["e"].UpdatedAt)
	}
	if c, _ := s.Cursor(ctx, "work", api.Inbox); c != "f2" {
		t.Errorf("cursor %q", c)
	}
	if _, ok, _ := s.FullSyncWindow(ctx, "work", api.Inbox); ok {
		t.Error("the full sync is still running after its last page")
	}
	// The full sync is over: a replay of its last page, or a later page
	// that lists less, marks nothing.
	if c := apply(t, s, api.Inbox, listing("f2", false, "d"), t0.Add(3*time.Hour)); c != (api.Counts{}) {
		t.Errorf("replay of the last page: %+v", c)
	}
	if got := live(t, s, "work", api.Inbox); len(got) != 7 {
		t.Errorf("inbox after a replay: %v", got)
	}
}

// The record of what a full sync listed is in the store: a process that
// dies between pages (here: the store is closed and opened again) and
// resumes from the cursor completes the same full sync correctly.
func TestFullSyncSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	s := fullSyncFixture(t)
	path := s.Path()
	if err := s.BeginFullSync(ctx, "work", api.Inbox, window30, t0); err != nil {
		t.Fatal(err)
	}
	apply(t, s, api.Inbox, listing("f1", true, "a", "b"), t0)
	s.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ok, err := s.ContinueFullSync(ctx, "work", api.Inbox, window30); err != nil || !ok {
		t.Fatalf("ContinueFullSync after reopen: %v %v", ok, err)
	}
	apply(t, s, api.Inbox, listing("f2", true, "c"), t0)
	if c := apply(t, s, api.Inbox, listing("f3", false, "d"), t0); c != (api.Counts{Removed: 2}) {
		t.Fatalf("last page after reopen: %+v", c)
	}
	if got, want := live(t, s, "work", api.Inbox), []string{"a", "b", "c", "d", "g", "n"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("inbox: %v, want %v", got, want)
	}
}

// A full sync that does not reach its last page marks nothing deleted; one
// begun again forgets what the first listed.
func TestFullSyncNotCompleted(t *testing.T) {
	ctx := context.Background()
	s := fullSyncFixture(t)
	if err := s.BeginFullSync(ctx, "work", api.Inbox, window30, t0); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if c := apply(t, s, api.Inbox, listing(fmt.Sprintf("f%d", i), true, "a"), t0); c != (api.Counts{}) {
			t.Fatalf("page %d: %+v", i, c)
		}
	}
	if got := live(t, s, "work", api.Inbox); len(got) != 8 {
		t.Fatalf("an unfinished full sync marked items deleted: %v", got)
	}
	// Begun again (the cursor was refused mid-way): a was listed by the
	// first attempt only.
	if err := s.BeginFullSync(ctx, "work", api.Inbox, window30, t0); err != nil {
		t.Fatal(err)
	}
	if c := apply(t, s, api.Inbox, listing("g1", false, "b", "c", "d", "e", "f"), t0); c != (api.Counts{Removed: 1}) {
		t.Fatalf("last page of the second attempt: %+v, want a removed", c)
	}
	if got, want := live(t, s, "work", api.Inbox), []string{"b", "c", "d", "e", "f", "g", "n"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("inbox: %v, want %v", got, want)
	}
}

// The marking is part of the last page's transaction: when that fails,
// nothing is marked and the full sync still runs.
func TestFullSyncLastPageIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := fullSyncFixture(t)
	if err := s.BeginFullSync(ctx, "work", api.Inbox, window30, t0); err != nil {
		t.Fatal(err)
	}
	apply(t, s, api.Inbox, listing("f1", true, "a", "b", "c"), t0)
	boom := errors.New("boom")
	testHookBeforeCursor = func(context.Context) error { return boom }
	_, err := s.ApplyPage(ctx, "work", api.Inbox, listing("f2", false, "d"), t0)
	testHookBeforeCursor = nil
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if got := live(t, s, "work", api.Inbox); len(got) != 8 {
		t.Fatalf("a failed last page marked items deleted: %v", got)
	}
	if _, ok, _ := s.FullSyncWindow(ctx, "work", api.Inbox); !ok {
		t.Fatal("a failed last page ended the full sync")
	}
	if c, _ := s.Cursor(ctx, "work", api.Inbox); c != "f1" {
		t.Fatalf("cursor %q, want f1", c)
	}
	if c := apply(t, s, api.Inbox, listing("f2", false, "d"), t0); c != (api.Counts{Removed: 2}) {
		t.Fatalf("last page again: %+v", c)
	}
}

// Only the items inside the window are taken for deleted, and
// ContinueFullSync narrows the window to the part every session listed.
func TestFullSyncWindow(t *testing.T) {
	ctx := context.Background()
	s := fullSyncFixture(t)
	// A window that starts after c (t0+3m) and ends before f (t0+6m).
	w := provider.Window{From: t0.Add(3 * time.Minute), To: t0.Add(6 * time.Minute)}
	if err := s.BeginFullSync(ctx, "work", api.Inbox, w, t0); err != nil {
		t.Fatal(err)
	}
	// A later session's window ends earlier: e (t0+5m) is no longer
	// inside.
	if ok, err := s.ContinueFullSync(ctx, "work", api.Inbox, provider.Window{From: t0, To: t0.Add(5 * time.Minute)}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	got, _, _ := s.FullSyncWindow(ctx, "work", api.Inbox)
	if !got.From.Equal(w.From) || !got.To.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("window after ContinueFullSync: %+v", got)
	}
	if c := apply(t, s, api.Inbox, provider.Page{Cursor: "f1"}, t0); c != (api.Counts{Removed: 2}) {
		t.Fatalf("an empty listing: %+v, want c and d removed", c)
	}
	if got, want := live(t, s, "work", api.Inbox), []string{"a", "b", "e", "f", "g", "n"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("inbox: %v, want %v", got, want)
	}
	if ok, err := s.ContinueFullSync(ctx, "work", api.Inbox, w); err != nil || ok {
		t.Errorf("ContinueFullSync without a full sync: %v %v", ok, err)
	}
	for _, c := range []struct {
		t    time.Time
		want bool
	}{{time.Time{}, false}, {w.From, true}, {w.To, false}, {w.From.Add(-1), false}, {w.To.Add(-1), true}} {
		if got := w.Contains(c.t); got != c.want {
			t.Errorf("Contains(%v) = %v", c.t, got)
		}
	}
	if !(provider.Window{}).Contains(t0) {
		t.Error("an open window does not contain t0")
	}
	if err := s.BeginFullSync(ctx, "nope", api.Inbox, w, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("BeginFullSync of an unknown account: %v", err)
	}
}
