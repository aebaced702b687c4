package main

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth/authtest"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

// TestCRMRulesEndToEnd runs the CRM rules (issue 20) through the real
// binary, an Office 365 mailbox (the Graph emulator) and the Salesforce
// emulator: a mail marked Private is not logged; one marked Salesforce
// is, though its sender writes from gmail.com; colleagues' replies in a
// logged conversation are logged to its people; a mail to an Account
// with one open Opportunity is related to it; the agent killed (-9)
// between a new Lead's creation and the local commit leaves one Lead; a
// logged mail marked Private afterwards stays, with the note.
func TestCRMRulesEndToEnd(t *testing.T) {
	needKeyring(t)
	idp := authtest.New(t)
	g := graphtest.New(t)
	g.Auth = idp.ValidAccess
	sf := sftest.New(t, sftest.Options{})
	fabrikam := sf.AddAccount("Fabrikam")
	alex := sf.AddContact("alex@fabrikam.test", fabrikam)
	opp := sf.AddOpportunity("Fabrikam renewal", fabrikam, "Negotiation/Review", time.Time{})
	sf.AddOpportunity("Fabrikam 2019", fabrikam, "Closed Won", time.Time{})
	bob := sf.AddContact("bob.buyer@gmail.com", sf.AddAccount("Bob's shop"))

	now := time.Now()
	ids := g.Add(graphtest.Inbox, 6, now.Add(-time.Hour))
	const conv = "AAQkAGI2TG93ThreadWithFabrikam="
	g.Compose(ids[0], graphtest.Message{From: "Alex Wilber <alex@fabrikam.test>", To: []string{"ann@contoso.test"}, Subject: "Renewal terms", ConversationID: conv})
	g.Compose(ids[1], graphtest.Message{From: "Ann Example <ann@contoso.test>", To: []string{"megan@contoso.test"}, Subject: "FW: Renewal terms", ConversationID: conv})
	g.Compose(ids[2], graphtest.Message{From: "Megan Bowen <megan@contoso.test>", To: []string{"ann@contoso.test"}, Subject: "RE: FW: Renewal terms", ConversationID: conv})
	g.Compose(ids[3], graphtest.Message{From: "Alex Wilber <alex@fabrikam.test>", To: []string{"ann@contoso.test"}, Subject: "My bank details"})
	g.SetCategories(ids[3], "Private")
	g.Compose(ids[4], graphtest.Message{From: "Bob <bob.buyer@gmail.com>", To: []string{"ann@contoso.test"}, Subject: "Order 1234"})
	g.SetCategories(ids[4], "Salesforce")
	g.Compose(ids[5], graphtest.Message{From: "Nina Novak <nina@newco.test>", To: []string{"ann@contoso.test"}, Subject: "Introduction"})
	g.SetCategories(ids[5], "Salesforce")

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHome(t, "SSL_CERT_FILE="+caFile, "INBOXSYNC_TEST_MIN_SYNC_GAP=0s")
	pol := fmt.Sprintf("[office365]\nclient_id = %q\nauthority = %q\ngraph_endpoint = %q\n", authtest.DefaultClientID, idp.URL, g.Endpoint())
	if err := os.WriteFile(filepath.Join(h.dir, "policy.toml"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	h.startAgent()
	h.eventually("the agent reads the policy", func() bool { return h.status().PolicyPath != "" })
	out, _ := h.signIn(idp.URL+"/organizations/oauth2/v2.0/authorize?", idp.Browser().Open, "account", "add", "office365", "--account", "work", "--no-browser")
	if !strings.Contains(out, "Connected work (ann@contoso.test)") {
		t.Fatalf("account add printed:\n%s", out)
	}
	h.eventually("the first sync ends", func() bool {
		s := h.status()
		return len(s.Accounts) == 1 && s.Accounts[0].LastSync != nil && s.Accounts[0].LastSync.Outcome == "ok"
	})
	if out := h.ok("crm", "settings", "--create-leads", "on"); !strings.Contains(out, "on") {
		t.Fatalf("crm settings --create-leads on:\n%s", out)
	}

	// Each collection request is held until the test lets it go: the one
	// that created the Lead is the agent's last.
	posts := make(chan struct{})
	release := make(chan struct{})
	sf.SetAfterAPI(func(method, path string) {
		if method == "POST" && strings.HasSuffix(path, "/composite/sobjects") {
			posts <- struct{}{}
			<-release
		}
	})
	connected := make(chan string, 1)
	go func() { connected <- h.crmConnect(sf) }()
	for leads := 0; leads == 0; {
		select {
		case <-posts:
		case <-time.After(60 * time.Second):
			t.Fatalf("no Lead was created within 60 s\n%s", h.log)
		}
		if leads = len(sf.Records("Lead")); leads == 0 {
			release <- struct{}{}
		}
	}
	if err := h.agent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.agent.Wait()
	h.agent = nil
	sf.SetAfterAPI(nil)
	close(release)
	if out := <-connected; !strings.Contains(out, "Connected to Salesforce") {
		t.Fatalf("crm connect printed:\n%s", out)
	}

	h.startAgent()
	h.eventually("the outbox is done", func() bool {
		st := h.crmStatus()
		return st.Counts[api.CRMPending] == 0 && st.Counts[api.CRMLogged]+st.Counts[api.CRMSkipped] == 6
	})
	leads := sf.Records("Lead")
	if len(leads) != 1 || leads[0].Fields["Email"] != "nina@newco.test" || leads[0].Fields["LeadSource"] != "Inbox Sync" || leads[0].Fields["LastName"] != "nina" || leads[0].Fields["Company"] != "Newco" {
		t.Fatalf("Leads after the kill and restart: %+v", leads)
	}
	byID := map[string]api.StoredItem{}
	for _, it := range h.items() {
		byID[it.ProviderID] = it
	}
	rule := func(id string) (api.CRMState, string, string) {
		c := byID[id].CRM
		if c == nil {
			return "", "", ""
		}
		return c.State, c.Rule, c.RecordID
	}
	relatedTo := map[string]string{}
	for _, r := range sf.Records(api.ObjEmailMessage) {
		rt, _ := r.Fields["RelatedToId"].(string)
		relatedTo[r.ID] = rt
	}
	relations := map[string][]string{}
	for _, r := range sf.Records(api.ObjRelation) {
		e, _ := r.Fields["EmailMessageId"].(string)
		p, _ := r.Fields["RelationId"].(string)
		relations[e] = append(relations[e], p)
	}
	// The first mail of the conversation: participants, related to the
	// Account's one open Opportunity.
	if st, r, rec := rule(ids[0]); st != api.CRMLogged || r != crm.RuleParticipants || relatedTo[rec] != opp {
		t.Errorf("the Fabrikam mail: %s %s, related to %q (want the Opportunity %s)", st, r, relatedTo[rec], opp)
	}
	// The colleagues' forward and reply: the whole thread.
	for _, id := range ids[1:3] {
		if st, r, rec := rule(id); st != api.CRMLogged || r != crm.RuleThread || relatedTo[rec] != opp {
			t.Errorf("a colleague's reply in the thread: %s %s, related to %q", st, r, relatedTo[rec])
		}
	}
	// Private: never asked about.
	if st, r, _ := rule(ids[3]); st != api.CRMSkipped || r != crm.RuleKeepOut {
		t.Errorf("the mail marked Private: %s %s (%+v)", st, r, byID[ids[3]].CRM)
	}
	// Marked Salesforce, from gmail.com: logged to Bob's Contact.
	if st, r, rec := rule(ids[4]); st != api.CRMLogged || r != crm.RuleByHand || len(relations[rec]) != 1 || relations[rec][0] != bob {
		t.Errorf("the mail marked Salesforce from gmail.com: %s %s, relations %v (want %s)", st, r, relations[rec], bob)
	}
	// Marked Salesforce, from nobody known: logged to the new Lead, once
	// (named from the address: the Office 365 store keeps addresses
	// without their display names).
	if st, r, rec := rule(ids[5]); st != api.CRMLogged || r != crm.RuleByHand || len(relations[rec]) != 1 || relations[rec][0] != leads[0].ID {
		t.Errorf("the mail from a new person: %s %s, relations %v", st, r, relations[rec])
	}
	if n := len(sf.Records(api.ObjEmailMessage)); n != 5 {
		t.Errorf("Salesforce holds %d EmailMessages, want 5", n)
	}
	_ = alex

	// Marked Private before the next logging run: a new mail stays out;
	// the logged one marked afterwards stays, and says so.
	h.ok("settings", "--interval", "1s")
	late := g.Add(graphtest.Inbox, 1, time.Now())[0]
	g.Compose(late, graphtest.Message{From: "Alex Wilber <alex@fabrikam.test>", To: []string{"ann@contoso.test"}, Subject: "Salary question"})
	g.SetCategories(late, "private") // case does not matter
	g.SetSensitivity(ids[0], "private")
	h.eventually("the late mail is skipped and the logged one noted", func() bool {
		byID = map[string]api.StoredItem{}
		for _, it := range h.items() {
			byID[it.ProviderID] = it
		}
		c0, cl := byID[ids[0]].CRM, byID[late].CRM
		return cl != nil && cl.State == api.CRMSkipped && c0 != nil && strings.Contains(c0.Reason, "left in Salesforce")
	})
	if c := byID[late].CRM; c.Rule != crm.RuleKeepOut {
		t.Errorf("the late private mail: %+v", c)
	}
	if c := byID[ids[0]].CRM; c.State != api.CRMLogged || c.RecordID == "" {
		t.Errorf("the logged mail marked private afterwards: %+v", c)
	}
	if n := len(sf.Records(api.ObjEmailMessage)); n != 5 {
		t.Errorf("Salesforce holds %d EmailMessages after the late mails, want 5", n)
	}
	if out := h.ok("activity", "--limit", "20"); !strings.Contains(out, "kept out") || !strings.Contains(out, "whole thread") {
		t.Errorf("activity does not name the rules:\n%s", out)
	}
}
