package crmlog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/crmlog"
)

// rules is the Config of the defaults.
func rules() crmlog.Config {
	return crmlog.Config{Mailbox: mailbox, KeepOut: api.DefaultKeepOut, LogByHand: api.DefaultLogByHand,
		Threads: true, Opportunity: api.OppSingleOpen}
}

func marked(e crm.Entry, categories ...string) crm.Entry {
	e.Item.Categories = categories
	return e
}

func wantOutcome(t *testing.T, name string, o crm.Outcome, state api.CRMState, rule, reason string) {
	t.Helper()
	if o.State != state || o.Rule != rule || (reason != "" && !strings.Contains(o.Reason, reason)) {
		t.Errorf("%s: %+v, want %s by rule %q (%s)", name, o, state, rule, reason)
	}
}

func TestKeepOutBeforeAnyLookup(t *testing.T) {
	sf, c := connected(t)
	sf.AddContact("ann@acme.example", "")
	private := mail("private", "inbox", "<p@x>", "Payslip", "ann@acme.example", []string{mailbox}, nil)
	private.Item.Sensitivity = api.SensitivityPrivate
	confidential := mail("confidential", "inbox", "<c@x>", "HR", "ann@acme.example", []string{mailbox}, nil)
	confidential.Item.Sensitivity = api.SensitivityConfidential
	labelled := marked(mail("label", "inbox", "<l@x>", "Trip", "ann@acme.example", []string{mailbox}, nil), "Travel", "don't LOG")
	// Kept out wins over by hand.
	both := marked(mail("both", "inbox", "<b@x>", "Both", "ann@acme.example", []string{mailbox}, nil), "Salesforce", "Private")
	sf.ResetCounts()
	outs := logAll(t, c, rules(), private, confidential, labelled, both)
	for k, o := range outs {
		wantOutcome(t, k, o, api.CRMSkipped, crm.RuleKeepOut, crm.ReasonKeptOut)
	}
	if n := sf.Count("api"); n != 0 {
		t.Fatalf("%d requests for items kept out", n)
	}
	// Personal is not private: logged.
	personal := mail("personal", "inbox", "<q@x>", "Lunch", "ann@acme.example", []string{mailbox}, nil)
	personal.Item.Sensitivity = api.SensitivityPersonal
	wantOutcome(t, "personal", logAll(t, c, rules(), personal)["personal"], api.CRMLogged, crm.RuleParticipants, "")
	// A zero Config still keeps Private sensitivity out, but has no
	// keep-out categories.
	outs = logAll(t, c, crmlog.Config{Mailbox: mailbox}, private, marked(mail("cat", "inbox", "<cat@x>", "Cat", "ann@acme.example", []string{mailbox}, nil), "Private"))
	wantOutcome(t, "private, zero config", outs["private"], api.CRMSkipped, crm.RuleKeepOut, "")
	wantOutcome(t, "category, zero config", outs["cat"], api.CRMLogged, crm.RuleParticipants, "")
}

func TestMarkedPrivateAfterLoggingStaysLogged(t *testing.T) {
	sf, c := connected(t)
	sf.AddContact("ann@acme.example", "")
	cfg := rules()
	m := mail("m", "inbox", "<m@x>", "Quote", "ann@acme.example", []string{mailbox}, nil)
	ev := meeting("e", "Review", t0, "ann@acme.example")
	outs := logAll(t, c, cfg, m, ev)
	for _, k := range []string{"m", "e"} {
		if outs[k].State != api.CRMLogged || len(outs[k].People) != 1 || outs[k].People[0].Email != "ann@acme.example" {
			t.Fatalf("%s: %+v", k, outs[k])
		}
	}
	// Marked private afterwards, and the meeting moved: re-offered.
	m = marked(m, "Private")
	m.State, m.RecordID, m.Object = api.CRMLogged, outs["m"].RecordID, outs["m"].Object
	ev.Item.Sensitivity = api.SensitivityPrivate
	ev.Item.Start, ev.Item.Time = t0.Add(time.Hour), t0.Add(time.Hour)
	ev.State, ev.RecordID, ev.Object = api.CRMLogged, outs["e"].RecordID, outs["e"].Object
	sf.ResetCounts()
	again := logAll(t, c, cfg, m, ev)
	for _, k := range []string{"m", "e"} {
		o := again[k]
		wantOutcome(t, k, o, api.CRMLogged, crm.RuleKeepOut, crm.ReasonLeftPrivate)
		if o.RecordID != outs[k].RecordID {
			t.Errorf("%s: record %s, was %s", k, o.RecordID, outs[k].RecordID)
		}
	}
	if sf.Count("api") != 0 || len(sf.Records("EmailMessage")) != 1 {
		t.Fatalf("%d requests, %d EmailMessages", sf.Count("api"), len(sf.Records("EmailMessage")))
	}
	if r, _ := sf.Get(outs["e"].RecordID); r.Fields["StartDateTime"] != "2026-11-20T09:30:00.000+0000" {
		t.Fatalf("the private meeting's Event was updated: %v", r.Fields["StartDateTime"])
	}
}

func TestLogByHand(t *testing.T) {
	sf, c := connected(t)
	gina := sf.AddContact("gina@gmail.com", "")
	sf.AddContact("colleague@mycorp.example", "") // a colleague who is also a Contact
	cfg := rules()
	cfg.ByHandOnly = true
	sf.ResetCounts()
	outs := logAll(t, c, cfg,
		mail("auto", "inbox", "<a@x>", "Order", "gina@gmail.com", []string{mailbox}, nil))
	wantOutcome(t, "not marked, auto off", outs["auto"], api.CRMSkipped, crm.RuleAutoOff, crm.ReasonAutoOff)
	if sf.Count("api") != 0 {
		t.Fatalf("%d requests for an item automatic logging leaves out", sf.Count("api"))
	}
	outs = logAll(t, c, cfg,
		marked(mail("gmail", "inbox", "<g@x>", "Order", "Gina <gina@gmail.com>", []string{mailbox}, nil), "salesforce"),
		marked(mail("internal", "inbox", "<i@x>", "Lunch", "colleague@mycorp.example", []string{mailbox}, nil), "Salesforce"),
		marked(mail("nobody", "inbox", "<n@x>", "Hi", "stranger@nowhere.example", []string{mailbox}, nil), "Salesforce"),
	)
	wantOutcome(t, "marked, free-mail Contact", outs["gmail"], api.CRMLogged, crm.RuleByHand, crm.ReasonByHand)
	if rels := relations(sf, outs["gmail"].RecordID); rels[gina+" FromAddress"] == "" || len(rels) != 1 {
		t.Errorf("relations of the marked mail: %v", rels)
	}
	for _, k := range []string{"internal", "nobody"} {
		if o := outs[k]; o.State != api.CRMSkipped || o.Rule != crm.RuleByHand || o.Reason != "marked for Salesforce, but no Contact or Lead matches any participant" {
			t.Errorf("%s: %+v", k, o)
		}
	}
	// Without the by-hand mark, the free-mail Contact is left out.
	o := logAll(t, c, rules(), mail("plain", "inbox", "<pl@x>", "Order", "gina@gmail.com", []string{mailbox}, nil))["plain"]
	wantOutcome(t, "free-mail, not marked", o, api.CRMSkipped, crm.RuleParticipants, crm.ReasonNoExternal)
}

// thread returns a customer's mail and a colleague's internal reply in
// the same conversation.
func thread() (first, reply crm.Entry) {
	first = mail("first", "inbox", "<t1@acme.example>", "Renewal", "ann@acme.example", []string{mailbox}, nil)
	reply = mail("reply", "inbox", "<t2@mycorp.example>", "Re: Renewal", "bob@mycorp.example", []string{mailbox}, nil)
	first.Item.ConversationID, reply.Item.ConversationID = "conv-renewal", "conv-renewal"
	return first, reply
}

func TestThreadsInAnyOrder(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		t.Run(fmt.Sprint("reverse=", reverse), func(t *testing.T) {
			sf, c := connected(t)
			acme := sf.AddAccount("Acme")
			ann := sf.AddContact("ann@acme.example", acme)
			first, reply := thread()
			es := []crm.Entry{first, reply}
			if reverse {
				slices.Reverse(es)
			}
			outs := logAll(t, c, rules(), es...)
			wantOutcome(t, "first", outs["first"], api.CRMLogged, crm.RuleParticipants, "")
			o := outs["reply"]
			wantOutcome(t, "reply", o, api.CRMLogged, crm.RuleThread, crm.ReasonThread)
			if len(o.People) != 1 || o.People[0].ID != ann {
				t.Fatalf("reply logged to %+v", o.People)
			}
			r, _ := sf.Get(o.RecordID)
			if r.Fields["RelatedToId"] != acme {
				t.Errorf("reply RelatedToId = %v, want the Account", r.Fields["RelatedToId"])
			}
			// Ann is not on the reply: no relation claims she is.
			if rels := relations(sf, o.RecordID); len(rels) != 0 {
				t.Errorf("reply relations: %v", rels)
			}
		})
	}
}

func TestThreadFromEarlierRuns(t *testing.T) {
	sf, c := connected(t)
	acme := sf.AddAccount("Acme")
	ann := sf.AddContact("ann@acme.example", acme)
	lee := sf.AddLead("lee@beta.example", false)
	people := []crm.Person{{ID: ann, Object: api.ObjContact, Email: "ann@acme.example", AccountID: acme}}
	_, reply := thread()
	reply.Thread = people
	// The customer answers from a free-mail address: on the mail, so
	// related in their role.
	gmail := mail("gmail", "inbox", "<t3@gmail.com>", "Re: Renewal", "Ann <ann@acme.example>", []string{mailbox}, nil)
	gmail.Item.From = "ann.private@gmail.com"
	gmail.Item.Cc = []string{"ann@acme.example"}
	gmail.Thread = people
	private := marked(mail("private", "inbox", "<t4@x>", "Re: Renewal", "bob@mycorp.example", []string{mailbox}, nil), "Private")
	private.Thread = people
	leadOnly := mail("leadonly", "inbox", "<t5@x>", "Re: Demo", "bob@mycorp.example", []string{mailbox}, nil)
	leadOnly.Thread = []crm.Person{{ID: lee, Object: api.ObjLead, Email: "lee@beta.example"}}
	outs := logAll(t, c, rules(), reply, gmail, private, leadOnly)
	wantOutcome(t, "reply", outs["reply"], api.CRMLogged, crm.RuleThread, "")
	wantOutcome(t, "private reply", outs["private"], api.CRMSkipped, crm.RuleKeepOut, crm.ReasonKeptOut)
	wantOutcome(t, "lead thread, lead not on the mail", outs["leadonly"], api.CRMSkipped, crm.RuleThread, crm.ReasonThreadUnlinked)
	if o := outs["gmail"]; o.State != api.CRMLogged {
		t.Fatalf("gmail: %+v", o)
	} else if rels := relations(sf, o.RecordID); len(rels) != 1 || rels[ann+" CcAddress"] == "" {
		t.Errorf("relations of a thread mail Ann is on: %v", rels)
	}
	// As Tasks, the lead-only reply has a Who.
	cfg := rules()
	cfg.LogEmailAs = api.AsTask
	o := logAll(t, c, cfg, leadOnly)["leadonly"]
	wantOutcome(t, "lead thread as Task", o, api.CRMLogged, crm.RuleThread, "")
	if r, _ := sf.Get(o.RecordID); r.Fields["WhoId"] != lee {
		t.Errorf("Task WhoId = %v, want the Lead", r.Fields["WhoId"])
	}
	// Threads off: the reply is skipped as before.
	cfg = rules()
	cfg.Threads = false
	wantOutcome(t, "threads off", logAll(t, c, cfg, reply)["reply"], api.CRMSkipped, crm.RuleParticipants, crm.ReasonNoExternal)
}

func TestOpportunities(t *testing.T) {
	sf, c := connected(t)
	one := sf.AddAccount("One")
	two := sf.AddAccount("Two")
	none := sf.AddAccount("None")
	deal := sf.AddOpportunity("One deal", one, "Prospecting", time.Time{})
	sf.AddOpportunity("One lost", one, "Closed Lost", time.Time{})
	sf.AddOpportunity("Two old", two, "Qualification", t0.Add(-48*time.Hour))
	newer := sf.AddOpportunity("Two new", two, "Negotiation/Review", t0.Add(-time.Hour))
	sf.AddOpportunity("None won", none, "Closed Won", time.Time{})
	sf.AddContact("a@one.example", one)
	sf.AddContact("b@two.example", two)
	sf.AddContact("c@none.example", none)
	entries := func(round string) []crm.Entry {
		return []crm.Entry{
			mail("one", "inbox", "<one"+round+"@x>", "One", "a@one.example", []string{mailbox}, nil),
			mail("two", "inbox", "<two"+round+"@x>", "Two", "b@two.example", []string{mailbox}, nil),
			mail("none", "inbox", "<none"+round+"@x>", "None", "c@none.example", []string{mailbox}, nil),
			meeting("ev", "Call "+round, t0, "a@one.example"),
		}
	}
	related := func(outs map[string]crm.Outcome, k string) any {
		r, _ := sf.Get(outs[k].RecordID)
		if k == "ev" {
			return r.Fields["WhatId"]
		}
		return r.Fields["RelatedToId"]
	}
	for _, tc := range []struct {
		mode string
		want map[string]string
	}{
		{api.OppSingleOpen, map[string]string{"one": deal, "two": two, "none": none, "ev": deal}},
		{api.OppMostRecent, map[string]string{"one": deal, "two": newer, "none": none, "ev": deal}},
		{api.OppOff, map[string]string{"one": one, "two": two, "none": none, "ev": one}},
	} {
		cfg := rules()
		cfg.Opportunity = tc.mode
		lg := crmlog.NewLogger(c, cfg)
		sf.ResetCounts()
		list, err := lg.Log(context.Background(), entries(tc.mode))
		if err != nil {
			t.Fatal(err)
		}
		outs := byKey(t, list)
		for k, want := range tc.want {
			if got := related(outs, k); got != want {
				t.Errorf("%s: %s related to %v, want %s", tc.mode, k, got, want)
			}
		}
		if tc.mode == api.OppSingleOpen && !strings.Contains(outs["one"].Reason, "One deal") {
			t.Errorf("no note of the Opportunity: %q", outs["one"].Reason)
		}
		wantLookups := 1
		if tc.mode == api.OppOff {
			wantLookups = 0
		}
		if lg.OpportunityLookups() != wantLookups {
			t.Errorf("%s: %d Opportunity lookups for one batch", tc.mode, lg.OpportunityLookups())
		}
		// The second batch of the run asks nothing new.
		if _, err := lg.Log(context.Background(), entries(tc.mode+"-again")); err != nil || lg.OpportunityLookups() != wantLookups {
			t.Errorf("%s: second batch: %v, %d lookups", tc.mode, err, lg.OpportunityLookups())
		}
	}
	// As Tasks, WhatId is the Opportunity.
	cfg := rules()
	cfg.LogEmailAs = api.AsTask
	o := logAll(t, c, cfg, mail("task", "inbox", "<task@x>", "Task", "a@one.example", []string{mailbox}, nil))["task"]
	if r, _ := sf.Get(o.RecordID); r.Fields["WhatId"] != deal {
		t.Errorf("Task WhatId = %v, want %s", r.Fields["WhatId"], deal)
	}
}

func TestCreateLeads(t *testing.T) {
	sf, c := connected(t)
	cfg := rules()
	cfg.CreateLeads = true
	outs := logAll(t, c, cfg,
		marked(mail("marked", "inbox", "<nl1@x>", "Intro", `"Carol Jones" <carol@sales.newco.co.uk>`, []string{mailbox}, []string{"dan@newco.co.uk", "free@gmail.com", "boss@mycorp.example"}), "Salesforce"),
		marked(mail("same", "sent", "<nl2@x>", "Re: Intro", mailbox, []string{"carol@sales.newco.co.uk"}, nil), "Salesforce"),
		mail("unmarked", "inbox", "<nl3@x>", "Hello", "erin@other.example", []string{mailbox}, nil),
	)
	wantOutcome(t, "marked", outs["marked"], api.CRMLogged, crm.RuleByHand, "created the Lead carol@sales.newco.co.uk")
	wantOutcome(t, "same person", outs["same"], api.CRMLogged, crm.RuleByHand, "")
	wantOutcome(t, "unmarked", outs["unmarked"], api.CRMSkipped, crm.RuleParticipants, crm.ReasonNoMatch)
	leads := sf.Records("Lead")
	if len(leads) != 2 {
		t.Fatalf("%d Leads: %+v", len(leads), leads)
	}
	byEmail := map[string]map[string]any{}
	for _, l := range leads {
		byEmail[l.Fields["Email"].(string)] = l.Fields
	}
	carol, dan := byEmail["carol@sales.newco.co.uk"], byEmail["dan@newco.co.uk"]
	if carol["FirstName"] != "Carol" || carol["LastName"] != "Jones" || carol["Company"] != "Newco" || carol["LeadSource"] != "Inbox Sync" {
		t.Errorf("Carol's Lead: %v", carol)
	}
	if dan["LastName"] != "dan" || dan["FirstName"] != nil || dan["Company"] != "Newco" {
		t.Errorf("Dan's Lead: %v", dan)
	}
	if len(outs["marked"].People) != 2 || len(outs["same"].People) != 1 {
		t.Errorf("people: %+v / %+v", outs["marked"].People, outs["same"].People)
	}
	// Off by default.
	o := logAll(t, c, rules(), marked(mail("off", "inbox", "<nl4@x>", "Hi", "fay@third.example", []string{mailbox}, nil), "Salesforce"))["off"]
	wantOutcome(t, "create-leads off", o, api.CRMSkipped, crm.RuleByHand, crm.ReasonByHandNoMatch)
	if len(sf.Records("Lead")) != 2 {
		t.Fatalf("a Lead was created with create-leads off")
	}
}

func TestLeadRefusedFailsTheItem(t *testing.T) {
	sf, c := connected(t)
	sf.FailWhere("Lead", "Email", "gus@dup.example", "DUPLICATES_DETECTED", "Use one of these records?", 0)
	cfg := rules()
	cfg.CreateLeads = true
	o := logAll(t, c, cfg, marked(mail("m", "inbox", "<d@x>", "Hi", "gus@dup.example", []string{mailbox}, nil), "Salesforce"))["m"]
	if o.State != api.CRMFailed || !o.Retryable || !strings.Contains(o.Reason, "Lead for gus@dup.example") || !strings.Contains(o.Reason, "duplicate") {
		t.Fatalf("%+v", o)
	}
}

// TestLeadCreationSurvivesACrash kills the run right after Salesforce
// created the Leads (their ids never reach the Logger), and again after
// the EmailMessage: every rerun finds what exists, so there is one Lead
// per person and one EmailMessage.
func TestLeadCreationSurvivesACrash(t *testing.T) {
	for at := 1; at <= 4; at++ {
		t.Run(fmt.Sprint("crash at call ", at), func(t *testing.T) {
			sf, c := connected(t)
			cfg := rules()
			cfg.CreateLeads = true
			e := marked(mail("m", "inbox", "<crash@x>", "Intro", "Hal Ito <hal@newco.example>", []string{mailbox}, []string{"ivy@newco.example"}), "Salesforce")
			cr := &crashing{Recorder: c, at: at}
			if _, err := crmlog.NewLogger(cr, cfg).Log(context.Background(), []crm.Entry{e}); !errors.Is(err, errCrash) {
				t.Fatalf("first run: %v", err)
			}
			o := logAll(t, c, cfg, e)["m"]
			wantOutcome(t, "after the crash", o, api.CRMLogged, crm.RuleByHand, "")
			if n, m := len(sf.Records("Lead")), len(sf.Records("EmailMessage")); n != 2 || m != 1 {
				t.Fatalf("%d Leads, %d EmailMessages", n, m)
			}
			if rels := relations(sf, o.RecordID); len(rels) != 2 {
				t.Fatalf("relations: %v", rels)
			}
		})
	}
}

// TestRulesCostNoRequestPerItem logs a batch with every rule on: one
// Opportunity lookup and one Lead create for the batch, whatever its size.
func TestRulesCostNoRequestPerItem(t *testing.T) {
	sf, c := connected(t)
	acme := sf.AddAccount("Acme")
	sf.AddOpportunity("Deal", acme, "Prospecting", time.Time{})
	var es []crm.Entry
	for i := range 300 {
		sf.AddContact(fmt.Sprintf("p%d@acme.example", i), acme)
		e := mail(fmt.Sprint("m", i), "inbox", fmt.Sprintf("<r%d@x>", i), "Order", fmt.Sprintf("p%d@acme.example", i), []string{mailbox}, nil)
		e.Item.ConversationID = fmt.Sprint("c", i/2)
		if i%2 == 1 {
			e.Item.From = "colleague@mycorp.example" // an internal reply
		}
		if i%10 == 0 {
			e = marked(e, "Salesforce")
			e.Item.Cc = []string{fmt.Sprintf("new%d@newco.example", i)}
		}
		es = append(es, e)
	}
	cfg := rules()
	cfg.CreateLeads = true
	sf.ResetCounts()
	lg := crmlog.NewLogger(c, cfg)
	outs := byKey(t, must(lg.Log(context.Background(), es)))
	for k, o := range outs {
		if o.State != api.CRMLogged {
			t.Fatalf("%s: %+v", k, o)
		}
	}
	if lg.OpportunityLookups() != 1 || len(sf.Records("Lead")) != 30 {
		t.Fatalf("%d Opportunity lookups, %d Leads", lg.OpportunityLookups(), len(sf.Records("Lead")))
	}
	// people: 150 customers + 30 new addresses → 4 composite lookups;
	// dedup: 600 Message-ID forms → 6 queries; Opportunities: 1 query;
	// creates: Leads 1, EmailMessages 2, relations (150 From + 30 Cc) 1.
	if comp, q, cr := sf.Count("composite"), sf.Count("query"), sf.Count("create"); comp != 4 || q != 2*4+6+1 || cr != 1+2+1 || sf.Count("api") != 4+6+1+4 {
		t.Fatalf("%d requests for 300 items: %d lookups, %d queries, %d creates", sf.Count("api"), comp, q, cr)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
