package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

func TestParseSearch(t *testing.T) {
	all := []string(nil)
	cases := []struct {
		in   string
		want []searchTerm
		err  string
	}{
		{"budget", []searchTerm{{text: "budget", cols: all}}, ""},
		{"  budget   q3 ", []searchTerm{{text: "budget"}, {text: "q3"}}, ""},
		{`"price list" acme`, []searchTerm{{text: "price list"}, {text: "acme"}}, ""},
		{`-draft report`, []searchTerm{{text: "draft", negate: true}, {text: "report"}}, ""},
		{`from:alice TO:bob subject:"q3 plan"`, []searchTerm{
			{text: "alice", cols: fields["from"]}, {text: "bob", cols: fields["to"]}, {text: "q3 plan", cols: fields["subject"]}}, ""},
		{`-from:"Bob Smith" invoice`, []searchTerm{{text: "Bob Smith", cols: fields["from"], negate: true}, {text: "invoice"}}, ""},
		{`http://x.example/a`, []searchTerm{{text: "http://x.example/a"}}, ""},
		{`- dash`, []searchTerm{{text: "-"}, {text: "dash"}}, ""},
		{`""  `, nil, ""},
		{"", nil, ""},
		{"ab", nil, "at least 3 characters"},
		{"ab cd", nil, "at least 3 characters"},
		{"-budget", nil, "at least 3 characters"},
		{`"budget`, nil, "not closed"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseSearch(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, api.ErrInvalid) {
					t.Fatalf("error %v, want one saying %q that matches ErrInvalid", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("%+v, want %+v", got, c.want)
			}
		})
	}
}

func TestFTSQuery(t *testing.T) {
	terms, err := parseSearch(`Budget -draft q3 it"s from:Bob`)
	if err != nil {
		t.Fatal(err)
	}
	// Exclusions and short words are left to the check of each row; the
	// trigrams of a word are asked for once.
	want := `"bud" AND "get" AND "it""" AND "t""s" AND "bob"`
	if got := ftsQuery(searchGrams(terms)); got != want {
		t.Errorf("ftsQuery = %s, want %s", got, want)
	}
}

// searchFixture stores items for the search tests in account work (and
// one in home), and returns the store.
func searchFixture(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s := openTemp(t, "work", "home")
	mail := func(id string, minutes int, subject, from, preview string, to ...string) provider.Change {
		return add(api.Item{ProviderID: id, Folder: api.Inbox, Kind: api.KindMail, Subject: subject,
			From: from, To: to, Preview: preview, Time: t0.Add(time.Duration(minutes) * time.Minute)})
	}
	page := provider.Page{Cursor: "c", Changes: []provider.Change{
		mail("m1", 1, "Q3 budget review", "Alice <alice@acme.example>", "Numbers for the budget", "bob@corp.example"),
		mail("m2", 2, "Budget draft", "Bob <bob@corp.example>", "A first draft of the price list", "alice@acme.example"),
		mail("m3", 3, "Lunch?", "Carol <carol@corp.example>", "Price list attached", "bob@corp.example"),
		mail("m4", 4, "Café order", "Dave <dave@cafe.example>", "Un café, s'il vous plaît", "bob@corp.example"),
		mail("m5", 5, "100% done_now", "Eve <eve@corp.example>", "Budget is 50% spent", "bob@corp.example"),
		mail("m6", 6, "Re: Q3 budget review", "Bob <bob@corp.example>", "Looks good", "alice@acme.example"),
	}}
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0); err != nil {
		t.Fatal(err)
	}
	event := api.Item{ProviderID: "e1", Folder: api.Calendar, Kind: api.KindEvent, Subject: "Planning",
		Organizer: "alice@acme.example", Attendees: []string{"frank@corp.example"}, Location: "Room Budapest",
		Time: t0.Add(10 * time.Minute), Start: t0.Add(10 * time.Minute), End: t0.Add(70 * time.Minute)}
	if _, err := s.ApplyPage(ctx, "work", api.Calendar, provider.Page{Cursor: "c", Changes: []provider.Change{add(event)}}, t0); err != nil {
		t.Fatal(err)
	}
	home := provider.Page{Cursor: "c", Changes: []provider.Change{mail("h1", 7, "Budget for the holidays", "me@home.example", "")}}
	if _, err := s.ApplyPage(ctx, "home", api.Inbox, home, t0); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSearch(t *testing.T) {
	ctx := context.Background()
	s := searchFixture(t)
	cases := []struct {
		q    api.ActivityQuery
		want []string
	}{
		{api.ActivityQuery{Search: "budget"}, []string{"h1", "m6", "m5", "m2", "m1"}}, // "Budapest" is not "budget"
		{api.ActivityQuery{Search: "BUDGET", Account: "work"}, []string{"m6", "m5", "m2", "m1"}},
		{api.ActivityQuery{Search: "budget review"}, []string{"m6", "m1"}},
		{api.ActivityQuery{Search: "review budget"}, []string{"m6", "m1"}},
		{api.ActivityQuery{Search: `"budget review"`}, []string{"m6", "m1"}},
		{api.ActivityQuery{Search: `"review budget"`}, nil},
		{api.ActivityQuery{Search: "budget -draft"}, []string{"h1", "m6", "m5", "m1"}},
		{api.ActivityQuery{Search: "budget -re:"}, []string{"h1", "m5", "m2", "m1"}},
		{api.ActivityQuery{Search: "budget q3"}, []string{"m6", "m1"}},
		{api.ActivityQuery{Search: "price list"}, []string{"m3", "m2"}},
		{api.ActivityQuery{Search: "from:alice"}, []string{"e1", "m1"}},
		{api.ActivityQuery{Search: "to:alice"}, []string{"m6", "m2"}},
		{api.ActivityQuery{Search: "to:frank"}, []string{"e1"}},
		{api.ActivityQuery{Search: "alice"}, []string{"e1", "m6", "m2", "m1"}},
		{api.ActivityQuery{Search: "subject:budget -subject:re:"}, []string{"h1", "m2", "m1"}},
		{api.ActivityQuery{Search: "budapest"}, []string{"e1"}},
		{api.ActivityQuery{Search: "ice@acme.exa"}, []string{"e1", "m6", "m2", "m1"}},
		{api.ActivityQuery{Search: "café"}, []string{"m4"}},
		{api.ActivityQuery{Search: "00%"}, []string{"m5"}},
		{api.ActivityQuery{Search: "e_n"}, []string{"m5"}},
		{api.ActivityQuery{Search: "50%"}, []string{"m5"}},
		{api.ActivityQuery{Search: "budget", Since: t0.Add(5 * time.Minute)}, []string{"h1", "m6", "m5"}},
		{api.ActivityQuery{Search: "budget", Limit: 2}, []string{"h1", "m6"}},
		{api.ActivityQuery{Search: "budget", Limit: 2, Offset: 2}, []string{"m5", "m2"}},
		{api.ActivityQuery{Search: "budget", Limit: 2, Offset: 5}, nil},
		{api.ActivityQuery{Search: "budapest"}, []string{"e1"}},
		{api.ActivityQuery{Search: "nowhere to be found"}, nil},
	}
	ids := func(p api.ActivityPage) []string {
		var out []string
		for _, it := range p.Items {
			out = append(out, it.ProviderID)
		}
		return out
	}
	run := func(mode string) {
		for _, c := range cases {
			got, err := s.Activity(ctx, c.q)
			if err != nil {
				t.Errorf("%s: %+v: %v", mode, c.q, err)
				continue
			}
			if !reflect.DeepEqual(ids(got), c.want) {
				t.Errorf("%s: %+v: %v, want %v", mode, c.q, ids(got), c.want)
			}
			if c.q.Limit == 0 && got.Total != len(c.want) || got.TotalCapped || got.Offset != c.q.Offset {
				t.Errorf("%s: %+v: total %d (capped %v) offset %d", mode, c.q, got.Total, got.TotalCapped, got.Offset)
			}
		}
	}
	run("not indexed")
	if _, err := s.BuildSearchIndex(ctx, 4); err != nil {
		t.Fatal(err)
	}
	run("half indexed")
	buildAll(t, s)
	run("indexed")

	// A deleted item is found only with IncludeDeleted.
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, provider.Page{Cursor: "d", Changes: []provider.Change{del("m2")}}, t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Activity(ctx, api.ActivityQuery{Search: "draft"}); len(got.Items) != 0 {
		t.Errorf("deleted item found: %v", ids(got))
	}
	if got, _ := s.Activity(ctx, api.ActivityQuery{Search: "draft", IncludeDeleted: true}); !reflect.DeepEqual(ids(got), []string{"m2"}) || !got.Items[0].Deleted {
		t.Errorf("deleted item with IncludeDeleted: %+v", got.Items)
	}

	for _, bad := range []api.ActivityQuery{{Search: "q3"}, {Search: `"open`}, {Search: "budget", Offset: -1}} {
		if _, err := s.Activity(ctx, bad); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
}

func TestSearchTotalCapped(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	for p := range 3 {
		if _, err := s.ApplyPage(ctx, "work", api.Inbox, realisticPage(p, 500, scriptedID), t0); err != nil {
			t.Fatal(err)
		}
	}
	for _, mode := range []string{"not indexed", "indexed"} {
		if mode == "indexed" {
			buildAll(t, s)
		}
		for _, q := range []api.ActivityQuery{{Search: "numbers"}, {}, {Account: "work"}} {
			got, err := s.Activity(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if got.Total != api.TotalCap || !got.TotalCapped || len(got.Items) != api.DefaultActivityLimit {
				t.Errorf("%s %+v: %d items, total %d, capped %v", mode, q, len(got.Items), got.Total, got.TotalCapped)
			}
		}
		got, _ := s.Activity(ctx, api.ActivityQuery{Search: `"part 14"`}) // part 14, 140-149, 1400-1499
		if got.Total != 111 || got.TotalCapped {
			t.Errorf("%s: \"part 14\": total %d, capped %v", mode, got.Total, got.TotalCapped)
		}
		got, _ = s.Activity(ctx, api.ActivityQuery{Search: "part 14"}) // and 114, 214, … 1314
		if got.Total != 134 || got.TotalCapped {
			t.Errorf("%s: part 14: total %d, capped %v", mode, got.Total, got.TotalCapped)
		}
	}
}

// buildAll builds the search index to the end.
func buildAll(tb testing.TB, s *Store) {
	tb.Helper()
	for {
		p, err := s.BuildSearchIndex(context.Background(), 100)
		if err != nil {
			tb.Fatal(err)
		}
		if p.Ready() {
			return
		}
	}
}

// checkIndex checks that the search index holds exactly the items below
// search_state.upto, each once, under the key of its current time, with its
// current text.
func checkIndex(tb testing.TB, s *Store) {
	tb.Helper()
	ctx := context.Background()
	keys := func(q string) []int64 {
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			tb.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var k int64
			if err := rows.Scan(&k); err != nil {
				tb.Fatal(err)
			}
			out = append(out, k)
		}
		return out
	}
	want := keys("SELECT " + searchKey("items") + " FROM items WHERE id < " + searchUptoSQL)
	got := keys("SELECT rowid FROM search")
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		tb.Fatalf("the index holds %d keys, the items below upto %d (index %v, items %v)", len(got), len(want), head(got), head(want))
	}
	// Each indexed item (or, in a large store, one in every len/50) is
	// found by its subject's and preview's trigrams.
	every := max(1, len(want)/50)
	rows, err := s.db.QueryContext(ctx, "SELECT "+searchKey("items")+", subject, preview FROM items WHERE id < "+searchUptoSQL+" AND id % ? = 0", every)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k                int64
			subject, preview string
		)
		if err := rows.Scan(&k, &subject, &preview); err != nil {
			tb.Fatal(err)
		}
		for _, text := range []string{subject, preview} {
			if len(text) < api.MinSearchLen {
				continue
			}
			var n int
			q := ftsQuery(searchGrams([]searchTerm{{text: text}}))
			if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM search WHERE search MATCH ? AND rowid = ?", q, k).Scan(&n); err != nil || n != 1 {
				tb.Fatalf("item %d is not found by %q: %d, %v", k&searchIDMask, text, n, err)
			}
		}
	}
	if _, err := s.db.ExecContext(ctx, "INSERT INTO search(search, rank) VALUES ('integrity-check', 0)"); err != nil {
		tb.Fatalf("integrity-check: %v", err)
	}
}

func head(a []int64) []int64 { return a[:min(len(a), 5)] }

// TestSearchIndexInStep changes items in every way the store does, with
// the index built, half built and not built, and checks after each step
// that the index holds exactly the items it should, and that searches
// answer what a scan of the items answers.
func TestSearchIndexInStep(t *testing.T) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 2))
	s := openTemp(t, "work", "home")
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	item := func(id string) api.Item {
		w1, w2 := words[rnd.IntN(len(words))], words[rnd.IntN(len(words))]
		it := testItem(id, rnd.IntN(100000))
		it.Subject = w1 + " " + w2
		it.Preview = "about " + w2
		if rnd.IntN(5) == 0 {
			it.Time = time.Time{}
		}
		return it
	}
	n := 0
	for step := range 60 {
		acct := []string{"work", "home"}[rnd.IntN(2)]
		var page provider.Page
		page.Cursor = fmt.Sprint("c", step)
		switch op := rnd.IntN(10); {
		case op < 5: // new items, and changes and deletions of earlier ones
			for range 1 + rnd.IntN(20) {
				id := fmt.Sprint("i", rnd.IntN(n+10))
				if rnd.IntN(4) == 0 {
					page.Changes = append(page.Changes, del(id))
				} else {
					page.Changes = append(page.Changes, add(item(id)))
				}
				n++
			}
			if _, err := s.ApplyPage(ctx, acct, api.Inbox, page, t0); err != nil {
				t.Fatal(err)
			}
		case op < 6: // a full sync that marks the unlisted items deleted
			if err := s.BeginFullSync(ctx, acct, api.Inbox, provider.Window{}, t0); err != nil {
				t.Fatal(err)
			}
			page.Changes = []provider.Change{add(item("i1")), add(item("i2"))}
			if _, err := s.ApplyPage(ctx, acct, api.Inbox, page, t0); err != nil {
				t.Fatal(err)
			}
		case op < 7: // the account removed, and added back
			if err := s.DeleteAccount(ctx, acct, 7); err != nil {
				t.Fatal(err)
			}
			if err := s.AddAccount(ctx, api.Account{ID: acct, Provider: "scripted"}); err != nil {
				t.Fatal(err)
			}
		case op < 9:
			if _, err := s.BuildSearchIndex(ctx, 1+rnd.IntN(30)); err != nil {
				t.Fatal(err)
			}
		default:
			unbuildIndex(t, s)
		}
		checkIndex(t, s)
		w := words[rnd.IntN(len(words))]
		for _, q := range []string{w, "about " + w, w + " -" + words[rnd.IntN(len(words))]} {
			compareWithScan(t, s, api.ActivityQuery{Search: q, IncludeDeleted: rnd.IntN(2) == 0, Limit: 1000})
		}
	}
}

// compareWithScan checks that a search answers what filtering every item
// by its words answers.
func compareWithScan(t *testing.T, s *Store, q api.ActivityQuery) {
	t.Helper()
	ctx := context.Background()
	got, err := s.Activity(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	terms, _ := parseSearch(q.Search)
	var want []string
	for _, a := range []string{"work", "home"} {
		for _, it := range state(t, s, a) {
			if it.Deleted && !q.IncludeDeleted {
				continue
			}
			text := strings.ToLower(strings.Join([]string{it.Subject, it.From, joinAddrs(it.To), joinAddrs(it.Cc), it.Preview,
				it.Location, it.Organizer, joinAddrs(it.Attendees)}, "\n"))
			ok := true
			for _, term := range terms {
				if strings.Contains(text, strings.ToLower(term.text)) == term.negate {
					ok = false
				}
			}
			if ok {
				want = append(want, a+"/"+it.ProviderID)
			}
		}
	}
	var ids []string
	for i, it := range got.Items {
		ids = append(ids, it.Account+"/"+it.ProviderID)
		if i > 0 && searchKeyOf(got.Items[i-1]) < searchKeyOf(it) && !it.Time.IsZero() {
			t.Errorf("%q: %s listed after an older item", q.Search, it.ProviderID)
		}
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) || got.Total != len(want) {
		t.Fatalf("%+v: %v (total %d), want %v", q, ids, got.Total, want)
	}
}

// searchKeyOf is an item's time in seconds, the major part of its index key.
func searchKeyOf(it api.StoredItem) int64 {
	if it.Time.IsZero() {
		return 0
	}
	return it.Time.Unix()
}

// TestSearchIndexMigration opens a store written before the index existed
// (schema 2) and builds its index while pages keep coming.
func TestSearchIndexMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	writeSchema2(t, path, 300)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.SearchIndexProgress(ctx)
	if err != nil || p.Left != 300 || p.Done != 0 || p.Ready() {
		t.Fatalf("progress after the migration: %+v, %v", p, err)
	}
	// Searches find the old items before any is indexed.
	if got, _ := s.Activity(ctx, api.ActivityQuery{Search: "part 299"}); len(got.Items) != 1 || got.Items[0].ProviderID != "inbox-299" {
		t.Fatalf("before the build: %+v", got.Items)
	}
	for i := 0; ; i++ {
		p, err = s.BuildSearchIndex(ctx, 90)
		if err != nil {
			t.Fatal(err)
		}
		if p.Ready() {
			break
		}
		// A page between build steps: a new item and a change of an old
		// item that may not be indexed yet.
		page := provider.Page{Cursor: fmt.Sprint("new-", i), Changes: []provider.Change{
			add(with(testItem(fmt.Sprint("new-", i), i), func(it *api.Item) { it.Subject = fmt.Sprint("fresh ", i) })),
			add(with(testItem(fmt.Sprint("inbox-", 290-i), 290-i), func(it *api.Item) { it.Subject = fmt.Sprint("changed ", i) })),
		}}
		if _, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0); err != nil {
			t.Fatal(err)
		}
		checkIndex(t, s)
	}
	checkIndex(t, s)
	if p.Done != 300+3 { // the old items, and the new ones of the pages before the last step
		t.Errorf("done %d", p.Done)
	}
	for i := range 3 {
		compareWithScan(t, s, api.ActivityQuery{Search: fmt.Sprint("changed ", i)})
		compareWithScan(t, s, api.ActivityQuery{Search: fmt.Sprint("fresh ", i)})
	}
	compareWithScan(t, s, api.ActivityQuery{Search: "part 29", Limit: 1000})
}

// writeSchema2 writes a store of schema version 2 (before the index) with
// n items of account work, like a store an older version left.
func writeSchema2(tb testing.TB, path string, n int) {
	tb.Helper()
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	for _, step := range migrations[:2] {
		for _, stmt := range step {
			if _, err := tx.Exec(stmt); err != nil {
				tb.Fatal(err)
			}
		}
	}
	stmts := []string{"PRAGMA user_version = 2", "INSERT INTO accounts(id, provider) VALUES ('work', 'scripted')"}
	for _, q := range stmts {
		if _, err := tx.Exec(q); err != nil {
			tb.Fatal(err)
		}
	}
	for k := range n {
		it := testItem(scriptedID(k), k)
		if _, err := tx.Exec(`INSERT INTO items(account, provider_id, folder, kind, message_id, conversation_id,
			subject, from_addr, to_addrs, cc_addrs, time, preview, start_time, end_time, location, organizer,
			attendees, hash, first_seen, updated_at, full_sync_gen)
			VALUES (`+strings.Repeat("?, ", 20)+`?)`, "work", it.ProviderID, string(it.Folder), string(it.Kind), it.MessageID,
			it.ConversationID, it.Subject, it.From, joinAddrs(it.To), joinAddrs(it.Cc), encTime(it.Time),
			it.Preview, encTime(it.Start), encTime(it.End), it.Location, it.Organizer,
			joinAddrs(it.Attendees), contentHash(&it, it.Folder), encTime(t0), encTime(t0), 0); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// TestSearchAsksForTheRarestTrigrams checks that a search asks the index
// for its rarest trigrams only, and still finds exactly its items.
func TestSearchAsksForTheRarestTrigrams(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "work")
	var changes []provider.Change
	for i := range 120 {
		changes = append(changes, add(api.Item{ProviderID: fmt.Sprint("m", i), Folder: api.Inbox, Kind: api.KindMail,
			Subject: fmt.Sprintf("Weekly status report %d", i), Time: t0.Add(time.Duration(i) * time.Minute)}))
	}
	changes = append(changes, add(api.Item{ProviderID: "z", Folder: api.Inbox, Kind: api.KindMail,
		Subject: "Weekly status zebrafish", Time: t0.Add(-time.Hour)}))
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, provider.Page{Cursor: "c", Changes: changes}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BuildSearchIndex(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	terms, err := parseSearch(`"weekly status zebrafish"`)
	if err != nil {
		t.Fatal(err)
	}
	all := searchGrams(terms)
	got := s.rareGrams(ctx, all)
	if len(all) <= maxGrams || len(got) != maxGrams {
		t.Fatalf("asked for %q of %q", got, all)
	}
	for _, g := range got {
		if strings.Contains("weekly status report", g) {
			t.Errorf("asked for %q, which every item holds (of %q)", g, all)
		}
	}
	p, err := s.Activity(ctx, api.ActivityQuery{Search: `"weekly status zebrafish"`})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 1 || p.Items[0].ProviderID != "z" || p.Total != 1 {
		t.Fatalf("found %+v (total %d), want only z", p.Items, p.Total)
	}
	// Rare trigrams that the rest of the phrase rules out: no item.
	if p, err := s.Activity(ctx, api.ActivityQuery{Search: `"monthly status zebrafish"`}); err != nil || len(p.Items) != 0 {
		t.Fatalf("found %d items (%v), want none", len(p.Items), err)
	}
}
