package crmlog

// The CRM rules (issue 20, docs/salesforce.md "Rules"):
//
//  1. Keep out: Sensitivity private or confidential, or a category/label
//     in Config.KeepOut, skips an item before any lookup. An item that
//     was logged and is marked afterwards stays logged, with a note.
//  2. Log by hand: a category/label in Config.LogByHand logs an item even
//     with Config.ByHandOnly, and matches its free-mail participants too
//     (a customer writing from gmail.com). Internal addresses stay out
//     even then: colleagues are not customers, and matching them would
//     log mail to a Contact record a colleague happens to have.
//  3. Whole threads: an item whose own participants match nobody is
//     logged to the people its conversation was logged to (Entry.Thread,
//     and the people other entries of the same conversation in the batch
//     match), unless kept out. An EmailMessageRelation says where an
//     address is on the mail (RelationType is a restricted picklist of
//     FromAddress, ToAddress, CcAddress, BccAddress), so a thread person
//     gets one only when their address is on this mail (free-mail
//     included); the others are reached through RelatedToId, their
//     Account or its Opportunity. A Task or Event takes the thread's
//     person as WhoId.
//  4. Opportunities: the Account an email, Task or Event is related to
//     is replaced by its open Opportunity (exactly one with single-open,
//     the one changed last with most-recent), looked up once per batch
//     for all the batch's Accounts and cached for the run.
//  5. New Leads: with Config.CreateLeads, the external participants of an
//     item marked by hand who match nobody become Leads, in one create per
//     batch. They were looked up by email just before, so after a crash
//     between their creation and the local commit the next run finds
//     them instead of creating them again. Free-mail addresses are not
//     made Leads (their domain says nothing of a company).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
)

// LeadSource is the LeadSource of the Leads the logger creates.
const LeadSource = "Inbox Sync"

// keptOut reports whether rule 1 keeps an item out.
func (l *Logger) keptOut(it api.Item) bool {
	switch strings.ToLower(it.Sensitivity) {
	case api.SensitivityPrivate, api.SensitivityConfidential:
		return true
	}
	return l.hasCategory(it, l.keepOut)
}

// markedByHand reports whether the item carries a log-by-hand category.
func (l *Logger) markedByHand(it api.Item) bool { return l.hasCategory(it, l.byHand) }

func (l *Logger) hasCategory(it api.Item, set map[string]bool) bool {
	for _, c := range it.Categories {
		if set[strings.ToLower(strings.TrimSpace(c))] {
			return true
		}
	}
	return false
}

// matchAll finds the people of the fresh entries (rules 2, 5 and 3, in
// that order) and skips those it finds none for.
func (b *batch) matchAll(ctx context.Context, fresh []int) error {
	cands := make(map[int][]Participant, len(fresh))
	hand := make(map[int]bool, len(fresh))
	var addrs []string
	for _, i := range fresh {
		it := b.entries[i].Item
		all := Participants(it)
		if hand[i] = b.markedByHand(it); hand[i] {
			b.rule[i] = crm.RuleByHand
			b.notes[i] = append(b.notes[i], crm.ReasonByHand)
			cands[i] = b.filter.NotInternal(all)
		} else {
			b.rule[i] = crm.RuleParticipants
			cands[i] = b.filter.External(all)
		}
		for _, p := range cands[i] {
			addrs = append(addrs, p.Address)
		}
	}
	if err := b.matcher.Resolve(ctx, addrs); err != nil {
		return err
	}
	for _, i := range fresh {
		b.matches[i] = b.matchOf(cands[i])
	}
	if b.cfg.CreateLeads {
		var marked []int
		for _, i := range fresh {
			if hand[i] {
				marked = append(marked, i)
			}
		}
		if err := b.createLeads(ctx, marked, cands); err != nil {
			return err
		}
	}
	b.threads(fresh)
	for _, i := range fresh {
		if b.done[i] || len(b.matches[i]) > 0 {
			continue
		}
		switch {
		case hand[i]:
			b.skip(i, crm.RuleByHand, crm.ReasonByHandNoMatch)
		case len(cands[i]) == 0:
			b.skip(i, crm.RuleParticipants, crm.ReasonNoExternal)
		default:
			b.skip(i, crm.RuleParticipants, crm.ReasonNoMatch)
		}
	}
	return nil
}

// matchOf returns the matched participants of ps, each person once.
func (b *batch) matchOf(ps []Participant) []match {
	var out []match
	seen := map[string]bool{}
	for _, p := range ps {
		if pe := b.matcher.Person(p.Address); pe != nil && !seen[pe.ID] {
			seen[pe.ID] = true
			out = append(out, match{Participant: p, person: pe})
		}
	}
	return out
}

// createLeads creates a Lead for each external participant of the marked
// entries that matched nobody (rule 5), in one Create for the batch, and
// adds them to the entries' matches. A Lead Salesforce refused fails an
// entry that has no one else to be logged to.
func (b *batch) createLeads(ctx context.Context, marked []int, cands map[int][]Participant) error {
	var want []Participant
	seen := map[string]bool{}
	for _, i := range marked {
		for _, p := range cands[i] {
			if b.filter.Why(p.Address) != "" || b.matcher.Person(p.Address) != nil || seen[p.Address] {
				continue
			}
			seen[p.Address] = true
			want = append(want, p)
		}
	}
	if len(want) == 0 {
		return nil
	}
	recs := make([]crm.Record, len(want))
	for j, p := range want {
		recs[j] = crm.Record{Object: api.ObjLead, Fields: leadFields(p)}
	}
	res, err := b.rec.Create(ctx, recs)
	if err != nil {
		// Salesforce may have created some: the next run looks them up.
		for _, p := range want {
			b.matcher.forget(p.Address)
		}
		return err
	}
	if len(res) != len(want) {
		return fmt.Errorf("crmlog: %d results for %d Leads", len(res), len(want))
	}
	refused := map[string]*crm.RecordError{}
	for j, r := range res {
		if r.Err != nil {
			refused[want[j].Address] = r.Err
			continue
		}
		b.matcher.add(crm.Person{ID: r.ID, Object: api.ObjLead, Email: want[j].Address})
	}
	for _, i := range marked {
		before := len(b.matches[i])
		b.matches[i] = b.matchOf(cands[i])
		for _, m := range b.matches[i] {
			if seen[m.Address] {
				b.notes[i] = append(b.notes[i], "created the Lead "+m.Address)
			}
		}
		if len(b.matches[i]) > 0 || before > 0 {
			continue
		}
		for _, p := range cands[i] {
			if e := refused[p.Address]; e != nil {
				b.fail(i, "", api.ObjLead, &crm.RecordError{Code: e.Code, Message: e.Message, Fields: e.Fields,
					Reason: "Creating a Lead for " + p.Address + " failed: " + e.Error()})
				break
			}
		}
	}
	return nil
}

// leadFields builds a Lead for a participant: the name from the display
// name (or the address's local part), the company from the domain.
func leadFields(p Participant) map[string]any {
	at := strings.LastIndexByte(p.Address, '@')
	local, domain := p.Address[:at], p.Address[at+1:]
	first, last := splitName(p.Name)
	if last == "" {
		first, last = "", local
	}
	f := map[string]any{
		"LastName": truncate(last, 80), "Company": truncate(company(domain), 255),
		"Email": p.Address, "LeadSource": LeadSource,
	}
	if first != "" {
		f["FirstName"] = truncate(first, 40)
	}
	return f
}

// splitName splits "Ann Smith" or "Smith, Ann" into first and last name;
// a one-word name is a last name.
func splitName(name string) (first, last string) {
	name = strings.Trim(strings.TrimSpace(name), `"'`)
	if name == "" || strings.Contains(name, "@") {
		return "", ""
	}
	if l, f, ok := strings.Cut(name, ","); ok && strings.TrimSpace(f) != "" {
		return strings.TrimSpace(f), strings.TrimSpace(l)
	}
	words := strings.Fields(name)
	if len(words) == 1 {
		return "", words[0]
	}
	return words[0], strings.Join(words[1:], " ")
}

// company names a company after a domain: "sales.acme-tools.co.uk" is
// "Acme-tools".
func company(domain string) string {
	labels := strings.Split(strings.ToLower(domain), ".")
	if len(labels) > 1 {
		labels = labels[:len(labels)-1] // the top-level domain
	}
	if n := len(labels); n > 1 && slices.Contains([]string{"co", "com", "org", "net", "ac", "gov", "edu", "ltd", "plc", "or", "ne", "gv"}, labels[n-1]) {
		labels = labels[:n-1]
	}
	name := labels[len(labels)-1]
	if name == "" {
		return domain
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// threads applies rule 3 to the fresh entries without a match: the people
// their conversation was logged to before (Entry.Thread) and the people
// the batch's other entries of the conversation match. The batch's order
// does not matter: the people of the conversations are gathered first.
func (b *batch) threads(fresh []int) {
	if !b.cfg.Threads {
		return
	}
	conv := map[string][]crm.Person{}
	for _, i := range fresh {
		if c := b.entries[i].Item.ConversationID; c != "" && !b.done[i] {
			for _, m := range b.matches[i] {
				conv[c] = addPerson(conv[c], *m.person)
			}
		}
	}
	for _, i := range fresh {
		e := b.entries[i]
		if b.done[i] || len(b.matches[i]) > 0 {
			continue
		}
		var people []crm.Person
		for _, p := range e.Thread {
			people = addPerson(people, p)
		}
		if c := e.Item.ConversationID; c != "" {
			for _, p := range conv[c] {
				people = addPerson(people, p)
			}
		}
		if len(people) == 0 {
			continue
		}
		all := Participants(e.Item)
		var ms []match
		onMail := false
		for _, p := range people {
			pe := p
			m := match{Participant: Participant{Address: strings.ToLower(p.Email)}, person: &pe}
			if k := slices.IndexFunc(all, func(q Participant) bool { return q.Address == m.Address }); k >= 0 {
				m.Participant = all[k]
				onMail = true
			}
			ms = append(ms, m)
		}
		b.rule[i] = crm.RuleThread
		b.notes[i] = []string{crm.ReasonThread}
		if e.Item.Kind != api.KindEvent && b.cfg.LogEmailAs != api.AsTask && !onMail && account(ms) == "" {
			b.skip(i, crm.RuleThread, crm.ReasonThreadUnlinked)
			continue
		}
		if e.Item.Kind == api.KindEvent {
			// An Event's WhoId is one of its attendees' people anyway.
			for k := range ms {
				ms[k].Role = RoleAttendee
			}
		}
		b.matches[i] = ms
	}
}

func addPerson(ps []crm.Person, p crm.Person) []crm.Person {
	if p.ID == "" || slices.ContainsFunc(ps, func(q crm.Person) bool { return q.ID == p.ID }) {
		return ps
	}
	return append(ps, p)
}

// accountsOf returns the Accounts entry i may be related to: the matched
// Contacts' one Account, and for Tasks the Who's Account.
func (b *batch) accountsOf(i int) []string {
	var out []string
	if a := account(b.matches[i]); a != "" {
		out = append(out, a)
	}
	if w := who(b.matches[i]); w.Object == api.ObjContact && w.AccountID != "" && !slices.Contains(out, w.AccountID) {
		out = append(out, w.AccountID)
	}
	return out
}

// findOpportunities looks up, in one call, the open Opportunities of the
// Accounts of the entries to log that the Logger has not asked about yet
// (rule 4).
func (b *batch) findOpportunities(ctx context.Context, idxs []int) error {
	if b.cfg.Opportunity != api.OppSingleOpen && b.cfg.Opportunity != api.OppMostRecent {
		return nil
	}
	var ask []string
	for _, i := range idxs {
		for _, a := range b.accountsOf(i) {
			if _, known := b.opps[a]; !known && !slices.Contains(ask, a) {
				ask = append(ask, a)
			}
		}
	}
	if len(ask) == 0 {
		return nil
	}
	b.oppLookups++
	found, err := b.rec.FindOpportunities(ctx, ask)
	if err != nil {
		return err
	}
	for _, a := range ask {
		b.opps[a] = nil
	}
	for _, o := range found {
		if _, asked := b.opps[o.AccountID]; asked && !slices.ContainsFunc(b.opps[o.AccountID], func(p crm.Opportunity) bool { return p.ID == o.ID }) {
			b.opps[o.AccountID] = append(b.opps[o.AccountID], o)
		}
	}
	return nil
}

// relatedTo returns what entry i's record is related to (RelatedToId,
// WhatId) when its Account is acc: the Opportunity rule 4 picks, else the
// Account ("" for none). It notes an Opportunity on the entry.
func (b *batch) relatedTo(i int, acc string) string {
	if acc == "" {
		return ""
	}
	open := b.opps[acc]
	var pick *crm.Opportunity
	switch {
	case len(open) == 0:
	case b.cfg.Opportunity == api.OppSingleOpen:
		if len(open) == 1 {
			pick = &open[0]
		}
	case b.cfg.Opportunity == api.OppMostRecent:
		pick = &open[0]
		for k := range open[1:] {
			o := &open[k+1]
			if o.LastModified.After(pick.LastModified) || (o.LastModified.Equal(pick.LastModified) && o.ID > pick.ID) {
				pick = o
			}
		}
	}
	if pick == nil {
		return acc
	}
	note := "related to the Opportunity " + pick.Name
	if pick.Name == "" {
		note = "related to the Account's open Opportunity"
	}
	if !slices.Contains(b.notes[i], note) {
		b.notes[i] = append(b.notes[i], note)
	}
	return pick.ID
}
