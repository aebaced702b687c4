package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

func mail(folder api.Folder, id string, at time.Time) api.Item {
	return api.Item{ProviderID: id, Folder: folder, Kind: api.KindMail, Subject: "Subject of " + id,
		From: "Ann <ann@example.com>", To: []string{"bob@example.com", "cy@example.com"}, Time: at}
}

func TestAddMailboxes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	first := func(a string) time.Time { return t0.Add(time.Duration(len(a)) * time.Minute) }
	added, err := s.AddMailboxes(ctx, []NewMailbox{
		{"Ann@Example.COM", "office365"}, {" bob@example.org ", "gmail"}, {"ann@example.com", "office365"},
	}, first)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(added, []string{"ann@example.com", "bob@example.org"}) {
		t.Fatalf("added %v; want both, lowercased, once", added)
	}
	// Those held already are left as they are, and not reported.
	added, err = s.AddMailboxes(ctx, []NewMailbox{{"ann@example.com", "gmail"}, {"cy@example.net", "gmail"}}, first)
	if err != nil || !slices.Equal(added, []string{"cy@example.net"}) {
		t.Fatalf("second AddMailboxes = %v, %v; want only cy@example.net", added, err)
	}
	ann, err := s.Mailbox(ctx, "ANN@example.com")
	if err != nil {
		t.Fatal(err)
	}
	want := Mailbox{Address: "ann@example.com", Provider: "office365", Enabled: true, State: StateEnabled,
		NextSync: first("ann@example.com"), Added: ann.Added}
	if ann != want || time.Since(ann.Added) > time.Minute {
		t.Fatalf("Mailbox = %+v; want %+v", ann, want)
	}
	// One bad entry fails the whole call, naming it.
	for _, c := range []struct {
		mb   NewMailbox
		name string
	}{
		{NewMailbox{"no-at.example.com", "gmail"}, "no-at.example.com"},
		{NewMailbox{"two@at@example.com", "gmail"}, "two@at@example.com"},
		{NewMailbox{"dot@localhost", "gmail"}, "dot@localhost"},
		{NewMailbox{"sp ace@example.com", "gmail"}, "sp ace@example.com"},
		{NewMailbox{"@example.com", "gmail"}, "@example.com"},
		{NewMailbox{strings.Repeat("a", 250) + "@example.com", "gmail"}, "254 bytes"},
		{NewMailbox{"dan@example.com", "imap"}, "imap"},
	} {
		added, err := s.AddMailboxes(ctx, []NewMailbox{{"dan@example.com", "gmail"}, c.mb}, first)
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), c.name) || added != nil {
			t.Errorf("AddMailboxes with %+v = %v, %v; want an invalid request naming %q", c.mb, added, err, c.name)
		}
	}
	all, err := s.Mailboxes(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, mb := range all {
		addrs = append(addrs, mb.Address)
	}
	if !slices.Equal(addrs, []string{"ann@example.com", "bob@example.org", "cy@example.net"}) {
		t.Fatalf("mailboxes %v; want the three added in order, nothing of the failed calls", addrs)
	}
	if _, err := s.Mailbox(ctx, "dan@example.com"); !errors.Is(err, ErrUnknownMailbox) {
		t.Fatalf("Mailbox of one never added: %v; want ErrUnknownMailbox", err)
	}
}

// count returns the rows of table.
func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fill gives the mailbox items (one deleted), a cursor, a full sync, a
// session and an issue.
func fill(t *testing.T, s *Store, address string) {
	t.Helper()
	ctx := context.Background()
	sess, err := s.BeginSession(ctx, address, "schedule", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BeginFullSync(ctx, address, api.Inbox, provider.Window{From: t0.AddDate(0, 0, -30)}, t0); err != nil {
		t.Fatal(err)
	}
	p := provider.Page{Cursor: "c1", More: true, Changes: []provider.Change{
		{Item: mail(api.Inbox, "m1", t0)}, {Item: mail(api.Inbox, "m2", t0)}, {Item: mail(api.Sent, "m3", t0)},
		{Deleted: true, Item: api.Item{ProviderID: "m2"}},
	}, Issues: []api.ItemIssue{{ProviderID: "m9", Message: "could not be read"}}}
	c, err := s.ApplyPage(ctx, address, api.Inbox, p, t0)
	if err != nil || c != (api.Counts{Added: 3, Removed: 1}) {
		t.Fatalf("ApplyPage = %+v, %v", c, err)
	}
	sess.End, sess.Outcome, sess.Counts = t0.Add(time.Minute), api.OutcomeOK, c
	if err := s.EndSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
}

// TestRemoveMailboxDuringPage removes a mailbox while a page of it is
// being stored: items have no foreign key (schema 8), so the page's lock
// of its mailbox must make the removal wait, and the removal must then
// take the page's items with it; a page that begins after the removal
// finds no mailbox.
func TestRemoveMailboxDuringPage(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.AddMailboxes(ctx, []NewMailbox{{"ann@example.com", "office365"}}, nil); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := s.pool.QueryRow(ctx, "SELECT id FROM mailboxes WHERE address = 'ann@example.com'").Scan(&id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	s.beforeCursor = func(context.Context) error {
		s.beforeCursor = nil
		go func() {
			_, err := s.RemoveMailboxes(ctx, []string{"ann@example.com"})
			done <- err
		}()
		select {
		case err := <-done:
			return fmt.Errorf("the removal did not wait for the page: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		return nil
	}
	t.Cleanup(func() { s.beforeCursor = nil })
	// m1 comes and goes within the page: it is stored deleted, and the
	// mailbox's count of live items (an update of its row) does not
	// change, so the page's lock alone keeps the mailbox.
	p := provider.Page{Cursor: "c1", Changes: []provider.Change{{Item: mail(api.Inbox, "m1", t0)},
		{Deleted: true, Item: api.Item{ProviderID: "m1", Folder: api.Inbox}}}}
	if c, err := s.ApplyPage(ctx, "ann@example.com", api.Inbox, p, t0); err != nil || c.Added != 1 || c.Removed != 1 {
		t.Fatalf("ApplyPage = %+v, %v; want 1 added and removed", c, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM items WHERE mailbox_id = $1", id).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d items of the removed mailbox left (%v); want none", left, err)
	}
	if _, err := s.ApplyPage(ctx, "ann@example.com", api.Inbox, p, t0); !errors.Is(err, ErrUnknownMailbox) {
		t.Fatalf("ApplyPage after the removal: %v; want ErrUnknownMailbox", err)
	}
}

func TestRemoveMailboxesCascades(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.AddMailboxes(ctx, []NewMailbox{{"ann@example.com", "gmail"}, {"bob@example.com", "office365"}}, nil); err != nil {
		t.Fatal(err)
	}
	fill(t, s, "ann@example.com")
	fill(t, s, "bob@example.com")
	tables := []string{"items", "cursors", "full_syncs", "sessions", "issues"}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = count(t, s, tb)
		if before[tb] == 0 {
			t.Fatalf("fill stored nothing in %s", tb)
		}
	}
	removed, err := s.RemoveMailboxes(ctx, []string{"ANN@example.com", "nobody@example.com"})
	if err != nil || !slices.Equal(removed, []string{"ann@example.com"}) {
		t.Fatalf("RemoveMailboxes = %v, %v; want ann only", removed, err)
	}
	for _, tb := range tables {
		if n := count(t, s, tb); n*2 != before[tb] {
			t.Errorf("%s: %d rows after removing one of two mailboxes, %d before; want half", tb, n, before[tb])
		}
	}
	if _, err := s.Mailbox(ctx, "ann@example.com"); !errors.Is(err, ErrUnknownMailbox) {
		t.Errorf("Mailbox after removal: %v", err)
	}
	if _, err := s.ApplyPage(ctx, "ann@example.com", api.Inbox, provider.Page{Cursor: "c2"}, t0); !errors.Is(err, ErrUnknownMailbox) {
		t.Errorf("ApplyPage after removal: %v; want ErrUnknownMailbox", err)
	}
	if _, err := s.BeginSession(ctx, "ann@example.com", "schedule", t0); !errors.Is(err, ErrUnknownMailbox) {
		t.Errorf("BeginSession after removal: %v; want ErrUnknownMailbox", err)
	}
	bob, err := s.Mailbox(ctx, "bob@example.com")
	if err != nil || bob.Items != 2 {
		t.Fatalf("bob = %+v, %v; want 2 live items (one of three deleted)", bob, err)
	}
	// A new full sync of Bob's Inbox lists m2 only: m1 is swept, m2
	// comes back.
	if err := s.BeginFullSync(ctx, "bob@example.com", api.Inbox, provider.Window{From: t0.AddDate(0, 0, -30)}, t0); err != nil {
		t.Fatal(err)
	}
	p := provider.Page{Cursor: "c2", Changes: []provider.Change{{Item: mail(api.Inbox, "m2", t0)}}}
	if c, err := s.ApplyPage(ctx, "bob@example.com", api.Inbox, p, t0); err != nil || c != (api.Counts{Updated: 1, Removed: 1}) {
		t.Fatalf("last page = %+v, %v; want m2 back and m1 swept", c, err)
	}
	if bob, err := s.Mailbox(ctx, "bob@example.com"); err != nil || bob.Items != 2 {
		t.Fatalf("bob = %+v, %v; want 2 live items (m2 and sent/m3)", bob, err)
	}
	checkLiveItems(t, s)
}

func TestStandingEnableAndFilters(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.AddMailboxes(ctx, []NewMailbox{{"ann@example.com", "gmail"}, {"bob@example.com", "office365"}, {"cy@example.com", "gmail"}},
		func(string) time.Time { return t0 }); err != nil {
		t.Fatal(err)
	}
	fill(t, s, "bob@example.com")
	// Bob is disabled for an error; Cy is throttled but enabled.
	st := Standing{Rejections: 6, Error: true, Reason: "The administrator withdrew the grant.", NextSync: t0.Add(time.Hour), LastTry: t0.Add(time.Minute)}
	if err := s.SaveStanding(ctx, "bob@example.com", st); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveStanding(ctx, "cy@example.com", Standing{Failures: 1, Reason: "throttled", NextSync: t0.Add(2 * time.Minute), LastTry: t0, LastSync: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// A zero LastSync leaves the last one.
	if err := s.SaveStanding(ctx, "cy@example.com", Standing{Failures: 2, Reason: "throttled", NextSync: t0.Add(3 * time.Minute), LastTry: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveStanding(ctx, "nobody@example.com", st); !errors.Is(err, ErrUnknownMailbox) {
		t.Fatalf("SaveStanding of an unknown mailbox: %v", err)
	}
	bob, err := s.Mailbox(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if bob.State != StateError || !bob.Enabled || bob.Rejections != 6 || bob.Reason != st.Reason || !bob.NextSync.Equal(st.NextSync) ||
		!bob.LastTry.Equal(st.LastTry) || !bob.LastSync.IsZero() || bob.Items != 2 {
		t.Fatalf("bob after SaveStanding = %+v", bob)
	}
	cy, _ := s.Mailbox(ctx, "cy@example.com")
	if cy.State != StateEnabled || cy.Failures != 2 || !cy.LastSync.Equal(t0.Add(-time.Hour)) || !cy.NextSync.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("cy = %+v; want enabled with 2 failures and the earlier last sync", cy)
	}
	// Only mailboxes enabled without an error are due, earliest first.
	due, err := s.DueBefore(ctx, t0.Add(24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 2 || due[0] != (Due{"ann@example.com", "gmail", t0}) || due[1].Address != "cy@example.com" {
		t.Fatalf("due = %+v; want ann then cy, not bob", due)
	}
	if due, _ := s.DueBefore(ctx, t0.Add(time.Minute), 10); len(due) != 1 {
		t.Fatalf("due before t0+1m = %+v; want ann only", due)
	}
	if due, _ := s.DueBefore(ctx, t0.Add(time.Hour), 1); len(due) != 1 || due[0].Address != "ann@example.com" {
		t.Fatalf("due with limit 1 = %+v", due)
	}
	changed, err := s.SetEnabled(ctx, []string{"ann@example.com", "nobody@example.com"}, false, t0)
	if err != nil || !slices.Equal(changed, []string{"ann@example.com"}) {
		t.Fatalf("disabling ann = %v, %v", changed, err)
	}
	byState := func(state string) []string {
		t.Helper()
		mbs, err := s.Mailboxes(ctx, Filter{State: state})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, mb := range mbs {
			if state != "" && mb.State != state {
				t.Errorf("Mailboxes(%s) returned %s in state %s", state, mb.Address, mb.State)
			}
			out = append(out, mb.Address)
		}
		return out
	}
	for state, want := range map[string][]string{
		StateEnabled: {"cy@example.com"}, StateDisabled: {"ann@example.com"}, StateError: {"bob@example.com"},
		"": {"ann@example.com", "bob@example.com", "cy@example.com"},
	} {
		if got := byState(state); !slices.Equal(got, want) {
			t.Errorf("mailboxes in state %q: %v, want %v", state, got, want)
		}
	}
	if mbs, err := s.Mailboxes(ctx, Filter{Addresses: []string{"CY@example.com", "bob@example.com", "x@example.com"}}); err != nil || len(mbs) != 2 || mbs[0].Address != "bob@example.com" {
		t.Errorf("Mailboxes by address = %+v, %v", mbs, err)
	}
	if _, err := s.Mailboxes(ctx, Filter{State: "sleeping"}); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("Mailboxes of an unknown state: %v", err)
	}
	// Enabling clears the error, counters and reason and makes it due now;
	// a disabled mailbox is switched on; cy (enabled, with counters) too.
	now := t0.Add(5 * time.Hour)
	changed, err = s.SetEnabled(ctx, []string{"ann@example.com", "bob@example.com", "cy@example.com", "nobody@example.com"}, true, now)
	if err != nil || !slices.Equal(changed, []string{"ann@example.com", "bob@example.com", "cy@example.com"}) {
		t.Fatalf("enabling = %v, %v", changed, err)
	}
	bob, _ = s.Mailbox(ctx, "bob@example.com")
	if bob.State != StateEnabled || bob.Rejections != 0 || bob.Failures != 0 || bob.Reason != "" || !bob.NextSync.Equal(now) {
		t.Fatalf("bob after enabling = %+v; want enabled, cleared, due now", bob)
	}
	// Enabling again changes nothing.
	if changed, err := s.SetEnabled(ctx, []string{"bob@example.com"}, true, now.Add(time.Hour)); err != nil || len(changed) != 0 {
		t.Fatalf("enabling an enabled mailbox = %v, %v; want no change", changed, err)
	}
	if bob, _ := s.Mailbox(ctx, "bob@example.com"); !bob.NextSync.Equal(now) {
		t.Fatalf("enabling an enabled mailbox moved its next sync to %v", bob.NextSync)
	}
}

func TestRequestSyncOncePerMinute(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.AddMailboxes(ctx, []NewMailbox{{"ann@example.com", "gmail"}}, func(string) time.Time { return t0.Add(time.Hour) }); err != nil {
		t.Fatal(err)
	}
	ok, nb, err := s.RequestSync(ctx, "ann@example.com", t0)
	if err != nil || !ok || !nb.IsZero() {
		t.Fatalf("first RequestSync = %v, %v, %v; want ok", ok, nb, err)
	}
	if ann, _ := s.Mailbox(ctx, "ann@example.com"); !ann.NextSync.Equal(t0) {
		t.Fatalf("next sync after RequestSync = %v, want %v", ann.NextSync, t0)
	}
	if err := s.SaveStanding(ctx, "ann@example.com", Standing{NextSync: t0.Add(30 * time.Minute), LastTry: t0}); err != nil {
		t.Fatal(err)
	}
	ok, nb, err = s.RequestSync(ctx, "ann@example.com", t0.Add(59*time.Second))
	if err != nil || ok || !nb.Equal(t0.Add(time.Minute)) {
		t.Fatalf("RequestSync 59 s later = %v, %v, %v; want refused until %v", ok, nb, err, t0.Add(time.Minute))
	}
	if ann, _ := s.Mailbox(ctx, "ann@example.com"); !ann.NextSync.Equal(t0.Add(30 * time.Minute)) {
		t.Fatalf("a refused RequestSync moved next sync to %v", ann.NextSync)
	}
	ok, _, err = s.RequestSync(ctx, "ann@example.com", t0.Add(time.Minute))
	if err != nil || !ok {
		t.Fatalf("RequestSync a minute later = %v, %v; want ok", ok, err)
	}
	if _, _, err := s.RequestSync(ctx, "nobody@example.com", t0); !errors.Is(err, ErrUnknownMailbox) {
		t.Fatalf("RequestSync of an unknown mailbox: %v", err)
	}
}

func TestSettings(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, ok, err := s.Setting(ctx, "graph"); err != nil || ok {
		t.Fatalf("unset setting = %v, %v", ok, err)
	}
	for _, v := range []string{`{"tenant":"contoso"}`, `{"tenant":"fabrikam","history_days":30}`} {
		if err := s.SetSetting(ctx, "graph", v); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.Setting(ctx, "graph"); err != nil || !ok || got != v {
			t.Fatalf("Setting = %q, %v, %v; want %q", got, ok, err, v)
		}
	}
	if err := s.SetSetting(ctx, "graph", "{not json"); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("SetSetting of bad JSON: %v", err)
	}
}
