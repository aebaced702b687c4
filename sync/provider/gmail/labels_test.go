package gmail_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/gmail/gmailtest"
)

// labelLists counts the users.labels.list requests in the emulator's log.
func labelLists(g *gmailtest.Server) int {
	n := 0
	for _, l := range g.Log() {
		if strings.Contains(l, "/labels?") {
			n++
		}
	}
	return n
}

func itemsByID(ch []provider.Change) map[string]api.Item {
	m := map[string]api.Item{}
	for _, c := range ch {
		if !c.Deleted {
			m[c.Item.ProviderID] = c.Item
		}
	}
	return m
}

// TestGmailLabelsAsCategories: a message's user labels come out as
// Categories by name (system labels — INBOX, UNREAD, CATEGORY_PERSONAL,
// STARRED — never), its thread id as ConversationID; a label added or
// removed later arrives through history.list as a change of the message.
// The label list is read once per session, again only for a label it did
// not know, and anew in the next session (a renamed label).
func TestGmailLabelsAsCategories(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 50)
	ids := e.g.Add(labels[api.Inbox], 3, now.Add(-time.Hour))
	e.g.AddUserLabel(ids[0], "Private")
	e.g.AddUserLabel(ids[0], "Key\ncustomer")
	e.g.AddLabel(ids[1], "STARRED")

	ch, cur := drain(t, p, api.Inbox, "", opts())
	items := itemsByID(ch)
	if len(items) != 3 {
		t.Fatalf("first sync: %+v", ch)
	}
	if got := items[ids[0]].Categories; !slices.Equal(got, []string{"Private", "Key customer"}) {
		t.Errorf("labelled message: categories %q", got)
	}
	if got := items[ids[1]].Categories; got != nil {
		t.Errorf("starred message: categories %q", got)
	}
	// gmailtest threads every third message onto the one before.
	if c := items[ids[2]].ConversationID; c == "" || c != items[ids[1]].ConversationID || c == items[ids[0]].ConversationID {
		t.Errorf("conversations %q %q %q", items[ids[0]].ConversationID, items[ids[1]].ConversationID, c)
	}
	if n := labelLists(e.g); n != 1 {
		t.Errorf("%d label lists on the first sync, want 1", n)
	}

	// Marked for Salesforce afterwards: a label new to this session.
	sf := e.g.AddUserLabel(ids[1], "Salesforce")
	ch, cur = drain(t, p, api.Inbox, cur, opts())
	if len(ch) != 1 || ch[0].Deleted || ch[0].Item.ProviderID != ids[1] || !slices.Equal(ch[0].Item.Categories, []string{"Salesforce"}) {
		t.Fatalf("after labelling: %+v", ch)
	}
	if n := labelLists(e.g); n != 2 {
		t.Errorf("%d label lists, want 2 (a label the list did not know)", n)
	}

	// A system label changing is no change of anything stored.
	e.g.AddLabel(ids[2], "STARRED")
	if ch, cur = drain(t, p, api.Inbox, cur, opts()); len(ch) != 0 {
		t.Fatalf("starring: %+v", ch)
	}
	// A label taken off.
	e.g.RemoveUserLabel(ids[0], "Private")
	ch, cur = drain(t, p, api.Inbox, cur, opts())
	if len(ch) != 1 || ch[0].Item.ProviderID != ids[0] || !slices.Equal(ch[0].Item.Categories, []string{"Key customer"}) {
		t.Fatalf("after unlabelling: %+v", ch)
	}
	if n := labelLists(e.g); n != 2 {
		t.Errorf("%d label lists, want still 2 (known labels)", n)
	}

	// A renamed label is named anew in the next session.
	e.g.RenameLabel(sf, "Sales\nforce log")
	p.Close()
	e.g.AddUserLabel(ids[1], "Later")
	ch, _ = drain(t, p, api.Inbox, cur, opts())
	if len(ch) != 1 || !slices.Equal(ch[0].Item.Categories, []string{"Sales force log", "Later"}) {
		t.Fatalf("next session: %+v", ch)
	}
	if n := labelLists(e.g); n != 3 {
		t.Errorf("%d label lists, want 3", n)
	}
}

// TestGmailNoUserLabelsNoLabelList: a mailbox whose messages carry system
// labels only costs no labels.list request.
func TestGmailNoUserLabelsNoLabelList(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 50)
	ids := e.g.Add(labels[api.Inbox], 4, now.Add(-time.Hour))
	e.g.AddLabel(ids[0], "IMPORTANT")
	ch, cur := drain(t, p, api.Inbox, "", opts())
	e.g.AddLabel(ids[1], "STARRED")
	more, _ := drain(t, p, api.Inbox, cur, opts())
	for _, c := range append(ch, more...) {
		if c.Item.Categories != nil {
			t.Errorf("message %s: categories %q", c.Item.ProviderID, c.Item.Categories)
		}
	}
	if len(ch) != 4 || len(more) != 0 {
		t.Fatalf("%d then %d changes", len(ch), len(more))
	}
	if n := labelLists(e.g); n != 0 {
		t.Errorf("%d label lists, want none", n)
	}
}

// TestDelegationLabelsAsCategories: organisation mode (domain-wide
// delegation, gmail.metadata only) names labels the same way.
func TestDelegationLabelsAsCategories(t *testing.T) {
	e := newDWD(t, 3)
	bob := e.g.AddUser("bob@example.test")
	ids := bob.Add(labels[api.Sent], 2, now.Add(-time.Hour))
	bob.AddUserLabel(ids[0], "Don't log")
	p := e.mailbox(t, "bob@example.test", 50)
	ch, cur := drain(t, p, api.Sent, "", opts())
	if items := itemsByID(ch); len(items) != 2 || !slices.Equal(items[ids[0]].Categories, []string{"Don't log"}) || items[ids[1]].Categories != nil {
		t.Fatalf("first sync: %+v", ch)
	}
	bob.AddUserLabel(ids[1], "Salesforce")
	ch, _ = drain(t, p, api.Sent, cur, opts())
	if len(ch) != 1 || ch[0].Item.ProviderID != ids[1] || !slices.Equal(ch[0].Item.Categories, []string{"Salesforce"}) {
		t.Fatalf("after labelling: %+v", ch)
	}
}
