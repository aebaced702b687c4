// Package crmtest is the conformance suite of crm.Recorder: every CRM
// connection passes it against its emulator (sync/crm/salesforce runs it
// against sftest). It checks what the Logger relies on: people matched
// case-insensitively with converted Leads left out, records found again by
// the keys the Logger uses, results in request order with record-level
// errors in words, updates and deletions; open Opportunities by Account;
// Leads created as the Logger creates them, with the CRM's required
// fields, and found again by FindPeople.
package crmtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
)

// Backend seeds the CRM behind a Recorder.
type Backend interface {
	AddAccount(name string) string
	AddContact(email, account string) string
	AddLead(email string, converted bool) string
	// AddOpportunity adds an Opportunity of account at stage (the
	// default sales process: "Closed Won" and "Closed Lost" are closed),
	// last modified at modified (zero: now).
	AddOpportunity(name, account, stage string, modified time.Time) string
}

// Env is a fresh, empty CRM and a Recorder connected to it.
type Env struct {
	Recorder crm.Recorder
	Backend  Backend
}

// Run runs the suite; newEnv returns a fresh Env for each test.
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	ctx := context.Background()
	t.Run("FindPeople", func(t *testing.T) {
		e := newEnv(t)
		acc := e.Backend.AddAccount("Acme")
		ann := e.Backend.AddContact("Ann@Acme.example", acc)
		lee := e.Backend.AddLead("lee@beta.example", false)
		e.Backend.AddLead("old@beta.example", true)
		quoted := e.Backend.AddContact("o'neil@acme.example", "")
		people, err := e.Recorder.FindPeople(ctx, []string{"ann@acme.example", "LEE@beta.example", "old@beta.example", "nobody@x.example", "O'Neil@acme.example"})
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(people, func(a, b crm.Person) int { return strings.Compare(a.ID, b.ID) })
		want := []crm.Person{{ID: ann, Object: api.ObjContact, Email: "Ann@Acme.example", AccountID: acc}, {ID: lee, Object: api.ObjLead, Email: "lee@beta.example"}, {ID: quoted, Object: api.ObjContact, Email: "o'neil@acme.example"}}
		slices.SortFunc(want, func(a, b crm.Person) int { return strings.Compare(a.ID, b.ID) })
		if !slices.Equal(people, want) {
			t.Fatalf("FindPeople = %+v, want %+v", people, want)
		}
	})
	t.Run("EmailMessageAndRelations", func(t *testing.T) {
		e := newEnv(t)
		ann := e.Backend.AddContact("ann@acme.example", "")
		res, err := e.Recorder.Create(ctx, []crm.Record{{Object: api.ObjEmailMessage, Fields: map[string]any{
			"Subject": "Hi", "Status": "3", "Incoming": false, "MessageIdentifier": "<m1@acme.example>",
			"MessageDate": time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
		}}})
		if err != nil || len(res) != 1 || res[0].Err != nil || res[0].ID == "" {
			t.Fatalf("Create: %v %+v", err, res)
		}
		found, err := e.Recorder.FindEmailMessages(ctx, []string{"<m1@acme.example>", "m1@acme.example", "<other@x>"})
		if err != nil || len(found) != 1 || found[0].ID != res[0].ID || found[0].MessageIdentifier != "<m1@acme.example>" {
			t.Fatalf("FindEmailMessages = %+v, %v", found, err)
		}
		rel, err := e.Recorder.Create(ctx, []crm.Record{{Object: api.ObjRelation, Fields: map[string]any{
			"EmailMessageId": res[0].ID, "RelationId": ann, "RelationType": string(crmlog.RoleTo), "RelationAddress": "ann@acme.example",
		}}})
		if err != nil || rel[0].Err != nil {
			t.Fatalf("relation: %v %+v", err, rel)
		}
		rels, err := e.Recorder.FindEmailRelations(ctx, []string{res[0].ID})
		if err != nil || len(rels) != 1 || rels[0].RelationID != ann || rels[0].RelationType != "ToAddress" || rels[0].EmailMessageID != res[0].ID {
			t.Fatalf("FindEmailRelations = %+v, %v", rels, err)
		}
	})
	t.Run("ResultsInOrderWithRecordErrors", func(t *testing.T) {
		e := newEnv(t)
		start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
		res, err := e.Recorder.Create(ctx, []crm.Record{
			{Object: api.ObjEvent, Fields: map[string]any{"Subject": "ok 1", "StartDateTime": start, "EndDateTime": start.Add(time.Hour)}},
			{Object: api.ObjEvent, Fields: map[string]any{"Subject": "no end", "StartDateTime": start}},
			{Object: api.ObjEvent, Fields: map[string]any{"Subject": strings.Repeat("long ", 60), "StartDateTime": start, "EndDateTime": start}},
			{Object: api.ObjEvent, Fields: map[string]any{"Subject": "ok 2", "IsAllDayEvent": true, "ActivityDate": "2026-11-21", "DurationInMinutes": 1440}},
			{Object: api.ObjEvent, Fields: map[string]any{"Subject": `It's "Q4" \ plan`, "StartDateTime": start, "EndDateTime": start.Add(time.Hour)}},
		})
		if err != nil || len(res) != 5 {
			t.Fatalf("Create: %v, %d results", err, len(res))
		}
		if res[0].Err != nil || res[3].Err != nil || res[0].ID == "" || res[3].ID == "" {
			t.Fatalf("valid records refused: %+v %+v", res[0], res[3])
		}
		for _, i := range []int{1, 2} {
			if res[i].Err == nil || res[i].Err.Code == "" || res[i].Err.Reason == "" || res[i].ID != "" {
				t.Fatalf("record %d: %+v", i, res[i])
			}
		}
		found, err := e.Recorder.FindEvents(ctx, []string{"ok 1", "ok 2", "no end", `It's "Q4" \ plan`})
		if err != nil || len(found) != 3 {
			t.Fatalf("FindEvents = %+v, %v", found, err)
		}
		for _, f := range found {
			switch f.ID {
			case res[0].ID:
				if !f.Start.Equal(start) || f.AllDay || f.Subject != "ok 1" {
					t.Errorf("timed Event found as %+v", f)
				}
			case res[3].ID:
				if !f.AllDay || f.Date != "2026-11-21" {
					t.Errorf("all-day Event found as %+v", f)
				}
			case res[4].ID:
				if f.Subject != `It's "Q4" \ plan` {
					t.Errorf("quoted subject found as %q", f.Subject)
				}
			default:
				t.Errorf("unexpected Event %+v", f)
			}
		}
		moved := start.Add(24 * time.Hour)
		up, err := e.Recorder.Update(ctx, []crm.Record{{Object: api.ObjEvent, ID: res[0].ID, Fields: map[string]any{"StartDateTime": moved, "EndDateTime": moved.Add(time.Hour)}}})
		if err != nil || up[0].Err != nil {
			t.Fatalf("Update: %v %+v", err, up)
		}
		found, _ = e.Recorder.FindEvents(ctx, []string{"ok 1"})
		if len(found) != 1 || !found[0].Start.Equal(moved) {
			t.Fatalf("after Update: %+v", found)
		}
		del, err := e.Recorder.Delete(ctx, []string{res[0].ID})
		if err != nil || del[0].Err != nil {
			t.Fatalf("Delete: %v %+v", err, del)
		}
		del, err = e.Recorder.Delete(ctx, []string{res[0].ID})
		if err != nil || del[0].Err == nil || !del[0].Err.Gone {
			t.Fatalf("Delete again: %v %+v", err, del)
		}
		up, err = e.Recorder.Update(ctx, []crm.Record{{Object: api.ObjEvent, ID: res[0].ID, Fields: map[string]any{"Subject": "x"}}})
		if err != nil || up[0].Err == nil || !up[0].Err.Gone {
			t.Fatalf("Update of a deleted Event: %v %+v", err, up)
		}
	})
	t.Run("FindTasks", func(t *testing.T) {
		e := newEnv(t)
		ann := e.Backend.AddContact("ann@acme.example", "")
		bob := e.Backend.AddContact("bob@acme.example", "")
		res, err := e.Recorder.Create(ctx, []crm.Record{
			{Object: api.ObjTask, Fields: map[string]any{"Subject": "Quote", "TaskSubtype": "Email", "Status": "Completed", "ActivityDate": "2026-11-20", "WhoId": ann}},
			{Object: api.ObjTask, Fields: map[string]any{"Subject": "Other", "TaskSubtype": "Email", "Status": "Completed", "ActivityDate": "2026-11-20", "WhoId": bob}},
		})
		if err != nil || res[0].Err != nil || res[1].Err != nil {
			t.Fatalf("Create: %v %+v", err, res)
		}
		found, err := e.Recorder.FindTasks(ctx, []crm.TaskKey{{WhoID: ann, Subject: "Quote"}, {WhoID: bob, Subject: "Nope"}})
		if err != nil {
			t.Fatal(err)
		}
		// Other Tasks may come back too (the Logger compares the pairs).
		var hit *crm.Found
		for i := range found {
			if found[i].ID == res[0].ID {
				hit = &found[i]
			}
		}
		if hit == nil || hit.Subject != "Quote" || hit.WhoID != ann || hit.Date != "2026-11-20" {
			t.Fatalf("FindTasks = %+v", found)
		}
	})
	t.Run("FindOpportunities", func(t *testing.T) {
		e := newEnv(t)
		acme := e.Backend.AddAccount("Acme")
		beta := e.Backend.AddAccount("Beta")
		other := e.Backend.AddAccount("Other")
		modified := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
		open1 := e.Backend.AddOpportunity("Acme renewal", acme, "Prospecting", modified)
		e.Backend.AddOpportunity("Acme lost", acme, "Closed Lost", time.Time{})
		e.Backend.AddOpportunity("Beta won", beta, "Closed Won", time.Time{})
		e.Backend.AddOpportunity("Other's deal", other, "Prospecting", time.Time{})
		ids := []string{acme, beta}
		for i := range 150 { // more Accounts than one IN list holds
			ids = append(ids, fmt.Sprintf("001%012dZZZ", 900000+i))
		}
		opps, err := e.Recorder.FindOpportunities(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(opps) != 1 || opps[0].ID != open1 || opps[0].AccountID != acme || opps[0].Name != "Acme renewal" || !opps[0].LastModified.Equal(modified) {
			t.Fatalf("FindOpportunities = %+v", opps)
		}
		if opps, err := e.Recorder.FindOpportunities(ctx, []string{"001000000000000'OR"}); err != nil || len(opps) != 0 {
			t.Fatalf("a quote in an id: %+v, %v", opps, err)
		}
	})
	t.Run("CreateLead", func(t *testing.T) {
		e := newEnv(t)
		res, err := e.Recorder.Create(ctx, []crm.Record{
			{Object: api.ObjLead, Fields: map[string]any{"FirstName": "Carol", "LastName": "Jones", "Company": "Newco", "Email": "carol@newco.example", "LeadSource": "Inbox Sync"}},
			{Object: api.ObjLead, Fields: map[string]any{"LastName": "NoCompany", "Email": "nc@newco.example"}},
			{Object: api.ObjLead, Fields: map[string]any{"Company": "Newco", "Email": "nl@newco.example"}},
		})
		if err != nil || len(res) != 3 {
			t.Fatalf("Create: %v %+v", err, res)
		}
		if res[0].Err != nil || res[0].ID == "" {
			t.Fatalf("valid Lead refused: %+v", res[0].Err)
		}
		for i, field := range map[int]string{1: "Company", 2: "LastName"} {
			if r := res[i]; r.Err == nil || r.Err.Code != "REQUIRED_FIELD_MISSING" || !slices.Contains(r.Err.Fields, field) || r.Err.Reason == "" {
				t.Errorf("Lead without %s: %+v", field, r.Err)
			}
		}
		people, err := e.Recorder.FindPeople(ctx, []string{"carol@newco.example", "nc@newco.example"})
		if err != nil || len(people) != 1 || people[0].ID != res[0].ID || people[0].Object != api.ObjLead {
			t.Fatalf("the created Lead is not found again: %+v, %v", people, err)
		}
	})
	t.Run("RelatedToOpportunity", func(t *testing.T) {
		e := newEnv(t)
		acme := e.Backend.AddAccount("Acme")
		opp := e.Backend.AddOpportunity("Deal", acme, "Prospecting", time.Time{})
		ann := e.Backend.AddContact("ann@acme.example", acme)
		start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
		res, err := e.Recorder.Create(ctx, []crm.Record{
			{Object: api.ObjEmailMessage, Fields: map[string]any{"Subject": "Hi", "Status": "0", "Incoming": true, "MessageIdentifier": "<o@x>", "RelatedToId": opp}},
			{Object: api.ObjEvent, Fields: map[string]any{"Subject": "Call", "StartDateTime": start, "EndDateTime": start.Add(time.Hour), "WhoId": ann, "WhatId": opp}},
			{Object: api.ObjTask, Fields: map[string]any{"Subject": "Mail", "TaskSubtype": "Email", "Status": "Completed", "ActivityDate": "2026-11-20", "WhoId": ann, "WhatId": opp}},
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil || r.ID == "" {
				t.Errorf("record %d related to an Opportunity: %+v", i, r.Err)
			}
		}
	})
}
