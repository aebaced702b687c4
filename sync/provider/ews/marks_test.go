package ews_test

import (
	"slices"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider/ews"
	"github.com/inboxsync/inboxsync/sync/provider/ews/ewstest"
)

// TestEWSMarksFirstSyncAndUpdate: the CRM rules' marks (issue 20) —
// Sensitivity, Categories, ConversationId — come with the first sync, and
// a category or sensitivity set afterwards comes through SyncFolderItems
// as an Update whose GetItem carries the new mark.
func TestEWSMarksFirstSyncAndUpdate(t *testing.T) {
	srv := newServer(t, ewstest.Config{})
	first := srv.AddMessage(api.Inbox, ewstest.Message{Subject: "Bank details", From: "hr@contoso.test", To: []string{"ann@contoso.test"},
		Received: now.Add(-2 * time.Hour), Sensitivity: "Private", Categories: []string{"Private", "Payroll\r\n2026"}})
	plain := srv.AddMessage(api.Inbox, ewstest.Message{Subject: "Offer", From: "bob@customer.test", To: []string{"ann@contoso.test"},
		Received: now.Add(-time.Hour)})
	reply := srv.AddMessage(api.Inbox, ewstest.Message{Subject: "RE: Offer", From: "carol@contoso.test", To: []string{"ann@contoso.test"},
		Received: now.Add(-30 * time.Minute), Conversation: srv.ConversationOf(plain)})
	ev := srv.AddEvent(ewstest.Event{Subject: "Doctor", Start: now.Add(24 * time.Hour), End: now.Add(25 * time.Hour),
		Organizer: "ann@contoso.test", Sensitivity: "Confidential"})
	p := newProvider(t, srv, ews.AuthNTLM)

	got, cur, _ := drain(t, p, api.Inbox, "")
	if it := got[first].Item; it.Sensitivity != api.SensitivityPrivate || !slices.Equal(it.Categories, []string{"Private", "Payroll  2026"}) {
		t.Errorf("marked message: sensitivity %q, categories %q", it.Sensitivity, it.Categories)
	}
	if it := got[plain].Item; it.Sensitivity != "" || it.Categories != nil || it.ConversationID == "" {
		t.Errorf("plain message: %+v", it)
	}
	if got[reply].Item.ConversationID != got[plain].Item.ConversationID {
		t.Errorf("reply in conversation %q, offer in %q", got[reply].Item.ConversationID, got[plain].Item.ConversationID)
	}
	evs, _, _ := drain(t, p, api.Calendar, "")
	if it := evs[ev].Item; it.Kind != api.KindEvent || it.Sensitivity != api.SensitivityConfidential {
		t.Errorf("event: %+v", it)
	}

	subject := got[plain].Item.Subject
	if err := srv.SetCategories(plain, "Salesforce"); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetSensitivity(first, "Normal"); err != nil {
		t.Fatal(err)
	}
	srv.ResetStats()
	got, _, _ = drain(t, p, api.Inbox, cur)
	if len(got) != 2 {
		t.Fatalf("after marking: %d changes, want 2", len(got))
	}
	if it := got[plain].Item; !slices.Equal(it.Categories, []string{"Salesforce"}) || it.Subject != subject {
		t.Errorf("marked for Salesforce: %+v", it)
	}
	if it := got[first].Item; it.Sensitivity != "" || len(it.Categories) != 2 {
		t.Errorf("back to normal: %+v", it)
	}
	if st := srv.Stats(); st.Calls["SyncFolderItems"] != 1 || st.Calls["GetItem"] != 1 {
		t.Errorf("calls %v, want one SyncFolderItems and one GetItem", st.Calls)
	}
}
