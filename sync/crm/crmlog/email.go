package crmlog

import (
	"context"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"

	"github.com/inboxsync/inboxsync/sync/api"
)

// emailFields builds an EmailMessage.
func (b *batch) emailFields(i int) map[string]any {
	it, ms := b.entries[i].Item, b.matches[i]
	bracketed, _, _ := messageIDForms(messageID(it))
	from, fromName, _ := ParseAddress(it.From)
	body := strings.TrimSpace(it.Preview)
	if body != "" {
		body += "\n\n"
	}
	f := map[string]any{
		"Subject":     subject(it, 3000),
		"FromAddress": from,
		"FromName":    truncate(fromName, 1000),
		"ToAddress":   truncate(strings.Join(addresses(it.To), "; "), 4000),
		"CcAddress":   truncate(strings.Join(addresses(it.Cc), "; "), 4000),
		"MessageDate": it.Time,
		"TextBody":    truncate(body+BodyNote, 131072),
	}
	if bracketed != "" {
		f["MessageIdentifier"] = bracketed
	}
	if it.ConversationID != "" {
		f["ThreadIdentifier"] = truncate(it.ConversationID, 255)
	}
	if it.Folder == api.Sent {
		f["Incoming"], f["Status"] = false, "3" // Sent
	} else {
		f["Incoming"], f["Status"] = true, "0" // New
	}
	if what := b.relatedTo(i, account(ms)); what != "" {
		f["RelatedToId"] = what
	}
	// Empty values are left out: an empty FromAddress is not an email
	// address, and an EmailMessage is never edited later.
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}

type emailGroup struct {
	idxs     []int
	recordID string
	failed   *crm.RecordError
	rels     []match
}

// logEmails logs emails as EmailMessages with their relations.
func (b *batch) logEmails(ctx context.Context, idxs []int) error {
	if len(idxs) == 0 {
		return nil
	}
	groups := map[string]*emailGroup{}
	var order []string
	var ids []string
	for _, i := range idxs {
		bracketed, bare, key := messageIDForms(messageID(b.entries[i].Item))
		if groups[key] == nil {
			ids = append(ids, bracketed, bare)
		}
		g := groups[key]
		if g == nil {
			g = &emailGroup{}
			groups[key] = g
			order = append(order, key)
		}
		g.idxs = append(g.idxs, i)
		for _, m := range b.matches[i] {
			if !hasRel(g.rels, m) {
				g.rels = append(g.rels, m)
			}
		}
	}
	found, err := b.rec.FindEmailMessages(ctx, ids)
	if err != nil {
		return err
	}
	var existing []string
	for _, f := range found {
		_, _, key := messageIDForms(f.MessageIdentifier)
		if g := groups[key]; g != nil && g.recordID == "" {
			g.recordID = f.ID
			existing = append(existing, f.ID)
		}
	}
	have := map[string]bool{}
	if len(existing) > 0 {
		rels, err := b.rec.FindEmailRelations(ctx, existing)
		if err != nil {
			return err
		}
		for _, r := range rels {
			have[r.EmailMessageID+"|"+r.RelationID+"|"+r.RelationType] = true
		}
	}
	var create []crm.Record
	var createKeys []string
	for _, key := range order {
		if g := groups[key]; g.recordID == "" {
			i := g.idxs[0]
			create = append(create, crm.Record{Object: api.ObjEmailMessage, Fields: b.emailFields(i)})
			createKeys = append(createKeys, key)
		}
	}
	if len(create) > 0 {
		res, err := b.rec.Create(ctx, create)
		if err != nil {
			return err
		}
		for j, r := range res {
			g := groups[createKeys[j]]
			if r.Err != nil {
				g.failed = r.Err
				continue
			}
			g.recordID = r.ID
		}
	}
	var rels []crm.Record
	var relKeys []string
	for _, key := range order {
		g := groups[key]
		if g.recordID == "" {
			continue
		}
		for _, m := range g.rels {
			if m.Role == "" {
				continue // a thread's person not on this mail (rules.go)
			}
			if have[g.recordID+"|"+m.person.ID+"|"+string(m.Role)] {
				continue
			}
			rels = append(rels, crm.Record{Object: api.ObjRelation, Fields: map[string]any{
				"EmailMessageId": g.recordID, "RelationId": m.person.ID,
				"RelationType": string(m.Role), "RelationAddress": m.Address,
			}})
			relKeys = append(relKeys, key)
		}
	}
	if len(rels) > 0 {
		res, err := b.rec.Create(ctx, rels)
		if err != nil {
			return err
		}
		for j, r := range res {
			if g := groups[relKeys[j]]; r.Err != nil && g.failed == nil {
				addr, _ := rels[j].Fields["RelationAddress"].(string)
				g.failed = &crm.RecordError{Code: r.Err.Code, Message: r.Err.Message, Fields: r.Err.Fields,
					Reason: "Logged to Salesforce, but linking it to " + addr + " failed: " + r.Err.Error()}
			}
		}
	}
	for _, key := range order {
		g := groups[key]
		for _, i := range g.idxs {
			if g.failed != nil {
				b.fail(i, g.recordID, api.ObjEmailMessage, g.failed)
			} else {
				b.logged(i, g.recordID, api.ObjEmailMessage)
			}
		}
	}
	return nil
}

// hasRel reports whether rels holds m's person in m's role.
func hasRel(rels []match, m match) bool {
	for _, r := range rels {
		if r.person.ID == m.person.ID && r.Role == m.Role {
			return true
		}
	}
	return false
}

// describe lists an item's participants for a Description.
func describe(it api.Item) string {
	var lines []string
	line := func(label string, list []string) {
		if a := addresses(list); len(a) > 0 {
			lines = append(lines, label+": "+strings.Join(a, ", "))
		}
	}
	if it.Kind == api.KindEvent {
		line("Organizer", []string{it.Organizer})
		line("Attendees", it.Attendees)
		return strings.Join(lines, "\n")
	}
	line("From", []string{it.From})
	line("To", it.To)
	line("Cc", it.Cc)
	return strings.Join(lines, "\n")
}

// logTasks logs emails as completed Tasks of subtype Email.
func (b *batch) logTasks(ctx context.Context, idxs []int) error {
	if len(idxs) == 0 {
		return nil
	}
	gs := newGroups()
	var keys []crm.TaskKey
	for _, i := range idxs {
		it := b.entries[i].Item
		w := who(b.matches[i])
		subj := subject(it, 255)
		date := it.Time.In(b.cfg.Location).Format(time.DateOnly)
		if !gs.add(strings.ToLower(subj)+"|"+date+"|"+w.ID, i) {
			continue
		}
		desc := describe(it)
		if p := strings.TrimSpace(it.Preview); p != "" {
			desc += "\n\n" + p
		}
		f := map[string]any{
			"Subject": subj, "TaskSubtype": "Email", "Status": "Completed", "ActivityDate": date,
			"WhoId": w.ID, "Description": truncate(desc+"\n\n"+BodyNote, 32000),
		}
		if w.Object == api.ObjContact {
			if what := b.relatedTo(i, w.AccountID); what != "" {
				f["WhatId"] = what
			}
		}
		gs.last().rec = crm.Record{Object: api.ObjTask, Fields: f}
		keys = append(keys, crm.TaskKey{WhoID: w.ID, Subject: subj})
	}
	found, err := b.rec.FindTasks(ctx, keys)
	if err != nil {
		return err
	}
	for _, f := range found {
		gs.found(strings.ToLower(f.Subject)+"|"+f.Date+"|"+f.WhoID, f.ID)
	}
	return b.createOrLink(ctx, api.ObjTask, gs)
}

// group is one record to find or create and the entries it stands for.
type group struct {
	idxs []int
	rec  crm.Record
	id   string
}

// groups holds groups by key, in the order they were first seen.
type groups struct {
	byKey map[string]*group
	order []*group
}

func newGroups() *groups { return &groups{byKey: map[string]*group{}} }

// add puts entry i in the group of key and reports whether the group is
// new (the caller then sets its record through last).
func (gs *groups) add(key string, i int) bool {
	if g := gs.byKey[key]; g != nil {
		g.idxs = append(g.idxs, i)
		return false
	}
	g := &group{idxs: []int{i}}
	gs.byKey[key] = g
	gs.order = append(gs.order, g)
	return true
}

func (gs *groups) last() *group { return gs.order[len(gs.order)-1] }

// found links the group of key, if any and not linked yet, to record id.
func (gs *groups) found(key, id string) {
	if g := gs.byKey[key]; g != nil && g.id == "" {
		g.id = id
	}
}

// createOrLink creates the records of the groups not linked to an
// existing one and sets the outcome of every group's entries.
func (b *batch) createOrLink(ctx context.Context, object string, gs *groups) error {
	var create []crm.Record
	var made []*group
	for _, g := range gs.order {
		if g.id == "" {
			create = append(create, g.rec)
			made = append(made, g)
		}
	}
	failed := map[*group]*crm.RecordError{}
	if len(create) > 0 {
		res, err := b.rec.Create(ctx, create)
		if err != nil {
			return err
		}
		for j, r := range res {
			if r.Err != nil {
				failed[made[j]] = r.Err
				continue
			}
			made[j].id = r.ID
		}
	}
	for _, g := range gs.order {
		for _, i := range g.idxs {
			if e := failed[g]; e != nil {
				b.fail(i, "", object, e)
			} else {
				b.logged(i, g.id, object)
			}
		}
	}
	return nil
}
