package graph_test

import (
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

// byID indexes changes by provider id.
func byID(ch []provider.Change) map[string]api.Item {
	m := map[string]api.Item{}
	for _, c := range ch {
		m[c.Item.ProviderID] = c.Item
	}
	return m
}

// TestGraphMarksFirstSyncAndDelta: the CRM rules' marks (issue 20) come
// with the first sync, and a mark set afterwards comes through the next
// delta round as a change of the message, which is otherwise unchanged.
func TestGraphMarksFirstSyncAndDelta(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	ids := e.graph.Add(graphtest.Inbox, 3, now.Add(-time.Hour))
	e.graph.SetCategories(ids[0], "Private", "Key\ncustomer")
	e.graph.SetSensitivity(ids[1], "confidential")

	ch, cur := drain(t, p, api.Inbox, "", opts())
	items := byID(ch)
	if len(items) != 3 {
		t.Fatalf("first sync: %d items", len(items))
	}
	if it := items[ids[0]]; !slices.Equal(it.Categories, []string{"Private", "Key customer"}) || it.Sensitivity != "" {
		t.Errorf("first message: categories %q, sensitivity %q", it.Categories, it.Sensitivity)
	}
	if it := items[ids[1]]; it.Categories != nil || it.Sensitivity != api.SensitivityConfidential {
		t.Errorf("second message: categories %q, sensitivity %q", it.Categories, it.Sensitivity)
	}
	if it := items[ids[2]]; it.Categories != nil || it.Sensitivity != "" || it.ConversationID == "" {
		t.Errorf("third message: %+v", it)
	}
	before := items[ids[2]]

	// Nothing changed: an empty round.
	ch, cur = drain(t, p, api.Inbox, cur, opts())
	if len(ch) != 0 {
		t.Fatalf("quiet round: %+v", ch)
	}
	e.graph.SetCategories(ids[2], "Salesforce")
	e.graph.SetSensitivity(ids[0], "private")
	ch, _ = drain(t, p, api.Inbox, cur, opts())
	items = byID(ch)
	if len(ch) != 2 {
		t.Fatalf("after marking: %+v", ch)
	}
	got := items[ids[2]]
	if !slices.Equal(got.Categories, []string{"Salesforce"}) || got.Subject != before.Subject || got.ConversationID != before.ConversationID {
		t.Errorf("marked message: %+v, was %+v", got, before)
	}
	if it := items[ids[0]]; it.Sensitivity != api.SensitivityPrivate || !slices.Equal(it.Categories, []string{"Private", "Key customer"}) {
		t.Errorf("marked private: %+v", it)
	}
}

// TestGraphSelectsTheMarks: the messages delta asks for the marks by
// name (the emulator, like Graph, returns only what $select names).
func TestGraphSelectsTheMarks(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	e.graph.Add(graphtest.Inbox, 1, now.Add(-time.Hour))
	if _, err := p.Changes(t.Context(), api.Inbox, "", opts()); err != nil {
		t.Fatal(err)
	}
	q, _ := e.graph.LastRequest()
	sel := strings.Split(q.Get("$select"), ",")
	for _, want := range []string{"sensitivity", "categories", "conversationId"} {
		if !slices.Contains(sel, want) {
			t.Errorf("$select %q lacks %s", sel, want)
		}
	}
}

// TestGraphEventMarks: events carry sensitivity and categories from the
// calendarView delta (which takes no $select), and a mark set on an event
// comes through the next round.
func TestGraphEventMarks(t *testing.T) {
	e := newEnv(t)
	p := e.open(t, 10)
	ids := e.graph.Add(graphtest.Calendar, 2, now.AddDate(0, 0, 2))
	e.graph.SetSensitivity(ids[0], "private")
	ch, cur := drain(t, p, api.Calendar, "", opts())
	items := byID(ch)
	if it := items[ids[0]]; it.Kind != api.KindEvent || it.Sensitivity != api.SensitivityPrivate {
		t.Fatalf("private event: %+v", it)
	}
	if it := items[ids[1]]; it.Sensitivity != "" || it.Categories != nil {
		t.Fatalf("plain event: %+v", it)
	}
	e.graph.SetCategories(ids[1], "Don't log")
	ch, _ = drain(t, p, api.Calendar, cur, opts())
	if len(ch) != 1 || ch[0].Item.ProviderID != ids[1] || !slices.Equal(ch[0].Item.Categories, []string{"Don't log"}) {
		t.Fatalf("after marking: %+v", ch)
	}
}

// TestGraphAppOnlyMarksWithReadBasic: organisation mode's app holding only
// Mail.ReadBasic.All reads the marks too (they are basic properties; the
// emulator refuses a $select outside them with 403).
func TestGraphAppOnlyMarksWithReadBasic(t *testing.T) {
	e := newAppEnv(t)
	e.g.RegisterApp(graphtest.AppRegistration{Tenant: testTenant, ClientID: testClientID, Certificates: []*x509.Certificate{e.cert}, Roles: []string{graphtest.RoleMailReadBasicAll, graphtest.RoleCalendarsRead}})
	a := e.app(t, e.config(t))
	ann := e.g.User("ann@contoso.test")
	ids := ann.Add(graphtest.Sent, 2, e.clk.Now().Add(-time.Hour))
	ann.SetCategories(ids[0], "Private")
	p := appMailbox(t, a, "ann@contoso.test")
	ch, cur := drain(t, p, api.Sent, "", appOpts(e))
	items := byID(ch)
	if len(items) != 2 || !slices.Equal(items[ids[0]].Categories, []string{"Private"}) || items[ids[0]].Preview != "" {
		t.Fatalf("first sync: %+v", ch)
	}
	ann.SetSensitivity(ids[1], "personal")
	ch, _ = drain(t, p, api.Sent, cur, appOpts(e))
	if len(ch) != 1 || ch[0].Item.ProviderID != ids[1] || ch[0].Item.Sensitivity != api.SensitivityPersonal {
		t.Fatalf("after marking: %+v", ch)
	}
}
