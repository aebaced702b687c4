package crm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/provider"
)

// Ways to log an email (Config.LogEmailAs).
const (
	// AsEmailMessage logs an Enhanced Email EmailMessage with an
	// EmailMessageRelation per matched person (the default).
	AsEmailMessage = "email"
	// AsTask logs a completed Task of subtype Email, for orgs without
	// Enhanced Email.
	AsTask = "task"
)

// Reasons the Logger gives, in the Activity list's words.
const (
	ReasonNoMatch      = "no Contact or Lead for any participant"
	ReasonNoExternal   = "no participant outside your company (internal and free-mail addresses are left out)"
	ReasonDeletedEarly = "deleted in the mailbox before it was logged"
	ReasonLeftAlone    = "cancelled or deleted in the mailbox; left in Salesforce (remove-deleted-events is off)"
	ReasonRemoved      = "cancelled or deleted in the mailbox; removed from Salesforce"
	ReasonEmailKept    = "deleted in the mailbox; the Salesforce record stays"
	ReasonEventGone    = "the Salesforce Event was deleted there; Inbox Sync does not create it again"
)

// BodyNote ends the TextBody of every logged email.
const BodyNote = "— Logged by Inbox Sync. Inbox Sync never reads message bodies: the text above is the short preview the mail server gives."

// Config is how items are logged; the CRM settings of config.json and the
// admin policy, with the mailbox they belong to.
type Config struct {
	// Mailbox is the mailbox's address: its domain is internal.
	Mailbox string
	// InternalDomains are more internal domains (subdomains included).
	InternalDomains []string
	// Blocklist are domains left out ("yahoo.*" for every yahoo.X);
	// nil means DefaultBlocklist, an empty list blocks nothing.
	Blocklist []string
	// LogEmailAs is AsEmailMessage (default) or AsTask.
	LogEmailAs string
	// RemoveDeletedEvents deletes the Event of a meeting that was
	// cancelled or deleted in the mailbox; off, it is left alone.
	RemoveDeletedEvents bool
	// Location gives Tasks' and all-day events' dates; nil is time.Local.
	Location *time.Location
}

// Logger logs batches of outbox entries through a Recorder. One Logger
// serves one run: it caches the people it matched.
type Logger struct {
	rec     Recorder
	cfg     Config
	filter  *Filter
	matcher *Matcher
}

// NewLogger returns a Logger writing through rec.
func NewLogger(rec Recorder, cfg Config) *Logger {
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	return &Logger{rec: rec, cfg: cfg, filter: NewFilter(cfg.Mailbox, cfg.InternalDomains, cfg.Blocklist), matcher: NewMatcher(rec)}
}

// Lookups returns how many people lookups the Logger made.
func (l *Logger) Lookups() int { return l.matcher.Lookups }

// match is a matched participant.
type match struct {
	Participant
	person *Person
}

// batch is one Log call's state.
type batch struct {
	*Logger
	entries []Entry
	out     []Outcome
	done    []bool
	matches [][]match
}

func (b *batch) set(i int, o Outcome) {
	o.Key = b.entries[i].Key
	b.out[i] = o
	b.done[i] = true
}

func (b *batch) fail(i int, recordID, object string, e *RecordError) {
	b.set(i, Outcome{State: Failed, RecordID: recordID, Object: object, Reason: e.Error(), Retryable: true, Err: e})
}

// Log handles a batch of entries and returns an outcome for each entry it
// finished. It looks for existing records before creating any, so running
// it again over entries whose outcomes were lost creates nothing twice.
// A record-level refusal fails that entry only. An error (offline,
// throttled, grant gone …) stops the batch: the outcomes returned with it
// are final, and the other entries stay pending.
func (l *Logger) Log(ctx context.Context, entries []Entry) ([]Outcome, error) {
	b := &batch{Logger: l, entries: entries, out: make([]Outcome, len(entries)), done: make([]bool, len(entries)), matches: make([][]match, len(entries))}
	err := b.run(ctx)
	var out []Outcome
	for i, d := range b.done {
		if d {
			out = append(out, b.out[i])
		}
	}
	return out, err
}

func (b *batch) run(ctx context.Context) error {
	var fresh, updates, deletes []int
	for i, e := range b.entries {
		event := e.Item.Kind == provider.Event
		switch {
		case e.Deleted && e.RecordID == "":
			b.set(i, Outcome{State: Skipped, Reason: ReasonDeletedEarly})
		case e.Deleted && event && b.cfg.RemoveDeletedEvents:
			deletes = append(deletes, i)
		case e.Deleted && event:
			b.set(i, Outcome{State: Logged, RecordID: e.RecordID, Object: e.Object, Reason: ReasonLeftAlone})
		case e.Deleted && e.State == Failed:
			b.set(i, Outcome{State: Skipped, Reason: ReasonDeletedEarly})
		case e.Deleted:
			b.set(i, Outcome{State: Logged, RecordID: e.RecordID, Object: e.Object, Reason: ReasonEmailKept})
		case e.RecordID != "" && event:
			updates = append(updates, i)
		case e.RecordID != "" && e.State != Failed:
			// An EmailMessage cannot be edited once sent: a changed email
			// (read, moved) stays as logged.
			b.set(i, Outcome{State: Logged, RecordID: e.RecordID, Object: e.Object})
		default:
			fresh = append(fresh, i)
		}
	}
	if err := b.matchAll(ctx, fresh); err != nil {
		return err
	}
	var emails, events []int
	for _, i := range fresh {
		if b.done[i] {
			continue
		}
		if b.entries[i].Item.Kind == provider.Event {
			events = append(events, i)
		} else {
			emails = append(emails, i)
		}
	}
	if b.cfg.LogEmailAs == AsTask {
		if err := b.logTasks(ctx, emails); err != nil {
			return err
		}
	} else if err := b.logEmails(ctx, emails); err != nil {
		return err
	}
	if err := b.logEvents(ctx, events); err != nil {
		return err
	}
	if err := b.updateEvents(ctx, updates); err != nil {
		return err
	}
	return b.deleteEvents(ctx, deletes)
}

// matchAll finds the people of the fresh entries and skips those without.
func (b *batch) matchAll(ctx context.Context, fresh []int) error {
	ext := make(map[int][]Participant, len(fresh))
	var addrs []string
	for _, i := range fresh {
		ps := b.filter.External(Participants(b.entries[i].Item))
		if len(ps) == 0 {
			b.set(i, Outcome{State: Skipped, Reason: ReasonNoExternal})
			continue
		}
		ext[i] = ps
		for _, p := range ps {
			addrs = append(addrs, p.Address)
		}
	}
	if err := b.matcher.Resolve(ctx, addrs); err != nil {
		return err
	}
	for _, i := range fresh {
		if b.done[i] {
			continue
		}
		seen := map[string]bool{}
		for _, p := range ext[i] {
			if pe := b.matcher.Person(p.Address); pe != nil && !seen[pe.ID] {
				seen[pe.ID] = true
				b.matches[i] = append(b.matches[i], match{Participant: p, person: pe})
			}
		}
		if len(b.matches[i]) == 0 {
			b.set(i, Outcome{State: Skipped, Reason: ReasonNoMatch})
		}
	}
	return nil
}

// who returns the person an activity is about: the first matched Contact,
// else the first matched Lead.
func who(ms []match) *Person {
	for _, m := range ms {
		if m.person.Object == ObjContact {
			return m.person
		}
	}
	return ms[0].person
}

// account returns the matched Contacts' Account when there is exactly one.
func account(ms []match) string {
	acc := ""
	for _, m := range ms {
		switch a := m.person.AccountID; {
		case a == "":
		case acc == "":
			acc = a
		case acc != a:
			return ""
		}
	}
	return acc
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// subject returns the subject as logged (and looked up).
func subject(it provider.Item, max int) string {
	s := strings.TrimSpace(it.Subject)
	if s == "" {
		s = "(no subject)"
	}
	return truncate(s, max)
}

// messageIDForms returns a Message-ID with and without angle brackets, and
// the key items and found records are grouped by.
func messageIDForms(id string) (bracketed, bare, key string) {
	bare = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "<"), ">")
	if bare == "" {
		return "", "", ""
	}
	return "<" + bare + ">", bare, strings.ToLower(bare)
}

func addresses(ps []string) []string {
	var out []string
	for _, s := range ps {
		if a, _, ok := ParseAddress(s); ok {
			out = append(out, a)
		}
	}
	return out
}

// emailFields builds an EmailMessage.
func (b *batch) emailFields(it provider.Item, ms []match) map[string]any {
	bracketed, _, _ := messageIDForms(it.MessageID)
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
	if it.Folder == provider.Sent {
		f["Incoming"], f["Status"] = false, "3" // Sent
	} else {
		f["Incoming"], f["Status"] = true, "0" // New
	}
	if acc := account(ms); acc != "" {
		f["RelatedToId"] = acc
	}
	return f
}

type emailGroup struct {
	idxs     []int
	recordID string
	failed   *RecordError
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
		bracketed, bare, key := messageIDForms(b.entries[i].Item.MessageID)
		if key == "" {
			key = fmt.Sprintf("\x00%d", i) // no Message-ID: nothing to find it by
		} else if groups[key] == nil {
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
	var create []Record
	var createKeys []string
	for _, key := range order {
		if g := groups[key]; g.recordID == "" {
			i := g.idxs[0]
			create = append(create, Record{Object: ObjEmailMessage, Fields: b.emailFields(b.entries[i].Item, b.matches[i])})
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
	var rels []Record
	var relKeys []string
	for _, key := range order {
		g := groups[key]
		if g.recordID == "" {
			continue
		}
		for _, m := range g.rels {
			if have[g.recordID+"|"+m.person.ID+"|"+string(m.Role)] {
				continue
			}
			rels = append(rels, Record{Object: ObjRelation, Fields: map[string]any{
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
				g.failed = &RecordError{Code: r.Err.Code, Message: r.Err.Message, Fields: r.Err.Fields,
					Reason: "Logged to Salesforce, but linking it to " + addr + " failed: " + r.Err.Error()}
			}
		}
	}
	for _, key := range order {
		g := groups[key]
		for _, i := range g.idxs {
			if g.failed != nil {
				b.fail(i, g.recordID, ObjEmailMessage, g.failed)
			} else {
				b.set(i, Outcome{State: Logged, RecordID: g.recordID, Object: ObjEmailMessage})
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
func describe(it provider.Item) string {
	var lines []string
	line := func(label string, list []string) {
		if a := addresses(list); len(a) > 0 {
			lines = append(lines, label+": "+strings.Join(a, ", "))
		}
	}
	if it.Kind == provider.Event {
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
	type task struct {
		idxs []int
		rec  Record
		id   string
	}
	tasks := map[string]*task{}
	var order []string
	var keys []TaskKey
	for _, i := range idxs {
		it := b.entries[i].Item
		w := who(b.matches[i])
		subj := subject(it, 255)
		date := it.Time.In(b.cfg.Location).Format(time.DateOnly)
		key := strings.ToLower(subj) + "|" + date + "|" + w.ID
		if t := tasks[key]; t != nil {
			t.idxs = append(t.idxs, i)
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
		if w.Object == ObjContact && w.AccountID != "" {
			f["WhatId"] = w.AccountID
		}
		tasks[key] = &task{idxs: []int{i}, rec: Record{Object: ObjTask, Fields: f}}
		order = append(order, key)
		keys = append(keys, TaskKey{WhoID: w.ID, Subject: subj})
	}
	found, err := b.rec.FindTasks(ctx, keys)
	if err != nil {
		return err
	}
	for _, f := range found {
		if t := tasks[strings.ToLower(f.Subject)+"|"+f.Date+"|"+f.WhoID]; t != nil && t.id == "" {
			t.id = f.ID
		}
	}
	return b.createOrLink(ctx, ObjTask, order, func(k string) ([]int, *Record, *string) {
		t := tasks[k]
		return t.idxs, &t.rec, &t.id
	})
}

// createOrLink creates the records of the keys that have no id yet and
// sets the outcome of every key's entries.
func (b *batch) createOrLink(ctx context.Context, object string, order []string, get func(string) ([]int, *Record, *string)) error {
	var create []Record
	var keys []string
	for _, k := range order {
		if _, rec, id := get(k); *id == "" {
			create = append(create, *rec)
			keys = append(keys, k)
		}
	}
	failed := map[string]*RecordError{}
	if len(create) > 0 {
		res, err := b.rec.Create(ctx, create)
		if err != nil {
			return err
		}
		for j, r := range res {
			_, _, id := get(keys[j])
			if r.Err != nil {
				failed[keys[j]] = r.Err
				continue
			}
			*id = r.ID
		}
	}
	for _, k := range order {
		idxs, _, id := get(k)
		for _, i := range idxs {
			if e := failed[k]; e != nil {
				b.fail(i, "", object, e)
			} else {
				b.set(i, Outcome{State: Logged, RecordID: *id, Object: object})
			}
		}
	}
	return nil
}

// allDay reports whether an event spans whole days (midnight to midnight,
// in UTC or in the configured zone) and returns its first day.
func (b *batch) allDay(it provider.Item) (string, int, bool) {
	for _, loc := range []*time.Location{time.UTC, b.cfg.Location} {
		s, e := it.Start.In(loc), it.End.In(loc)
		d := e.Sub(s)
		if !it.End.IsZero() && d > 0 && d%(24*time.Hour) == 0 && s.Hour() == 0 && s.Minute() == 0 && s.Second() == 0 {
			return s.Format(time.DateOnly), int(d / time.Minute), true
		}
	}
	return "", 0, false
}

// eventFields builds an Event (without WhoId for updates).
func (b *batch) eventFields(it provider.Item) map[string]any {
	start := it.Start
	if start.IsZero() {
		start = it.Time
	}
	f := map[string]any{"Subject": subject(it, 255), "Location": truncate(it.Location, 255), "Description": truncate(describe(it), 32000)}
	if date, minutes, ok := b.allDay(it); ok {
		f["IsAllDayEvent"], f["ActivityDate"], f["DurationInMinutes"] = true, date, minutes
		return f
	}
	end := it.End
	if end.Before(start) {
		end = start
	}
	f["IsAllDayEvent"], f["StartDateTime"], f["EndDateTime"] = false, start, end
	return f
}

// eventKey is how an Event is found again: subject and start (or day).
func eventKey(subj string, start time.Time, day string, allDay bool) string {
	if allDay {
		return strings.ToLower(subj) + "|day " + day
	}
	return strings.ToLower(subj) + "|" + start.UTC().Format(time.RFC3339)
}

// logEvents logs meetings as Events owned by the connected user.
func (b *batch) logEvents(ctx context.Context, idxs []int) error {
	if len(idxs) == 0 {
		return nil
	}
	type event struct {
		idxs []int
		rec  Record
		id   string
	}
	events := map[string]*event{}
	var order, subjects []string
	for _, i := range idxs {
		it := b.entries[i].Item
		f := b.eventFields(it)
		day, _, all := b.allDay(it)
		start, _ := f["StartDateTime"].(time.Time)
		key := eventKey(f["Subject"].(string), start, day, all)
		if e := events[key]; e != nil {
			e.idxs = append(e.idxs, i)
			continue
		}
		f["WhoId"] = who(b.matches[i]).ID
		events[key] = &event{idxs: []int{i}, rec: Record{Object: ObjEvent, Fields: f}}
		order = append(order, key)
		subjects = append(subjects, f["Subject"].(string))
	}
	found, err := b.rec.FindEvents(ctx, subjects)
	if err != nil {
		return err
	}
	for _, f := range found {
		if e := events[eventKey(f.Subject, f.Start, f.Date, f.AllDay)]; e != nil && e.id == "" {
			e.id = f.ID
		}
	}
	return b.createOrLink(ctx, ObjEvent, order, func(k string) ([]int, *Record, *string) {
		e := events[k]
		return e.idxs, &e.rec, &e.id
	})
}

// updateEvents brings logged Events in line with their meetings.
func (b *batch) updateEvents(ctx context.Context, idxs []int) error {
	if len(idxs) == 0 {
		return nil
	}
	recs := make([]Record, len(idxs))
	for j, i := range idxs {
		recs[j] = Record{Object: ObjEvent, ID: b.entries[i].RecordID, Fields: b.eventFields(b.entries[i].Item)}
	}
	res, err := b.rec.Update(ctx, recs)
	if err != nil {
		return err
	}
	for j, i := range idxs {
		id := b.entries[i].RecordID
		switch r := res[j]; {
		case r.Err != nil && r.Err.Gone:
			b.set(i, Outcome{State: Skipped, Reason: ReasonEventGone})
		case r.Err != nil:
			b.fail(i, id, ObjEvent, r.Err)
		default:
			b.set(i, Outcome{State: Logged, RecordID: id, Object: ObjEvent})
		}
	}
	return nil
}

// deleteEvents deletes the Events of cancelled or deleted meetings.
func (b *batch) deleteEvents(ctx context.Context, idxs []int) error {
	if len(idxs) == 0 {
		return nil
	}
	ids := make([]string, len(idxs))
	for j, i := range idxs {
		ids[j] = b.entries[i].RecordID
	}
	res, err := b.rec.Delete(ctx, ids)
	if err != nil {
		return err
	}
	for j, i := range idxs {
		if r := res[j]; r.Err != nil && !r.Err.Gone {
			b.fail(i, ids[j], ObjEvent, r.Err)
		} else {
			b.set(i, Outcome{State: Skipped, Reason: ReasonRemoved})
		}
	}
	return nil
}

// Drain logs what the outbox holds, batch entries at a time, until it has
// nothing new or an error stops it; it saves each batch's outcomes before
// the next. Each entry is tried at most once per Drain (a failed one waits
// for the next run). It returns the number of outcomes saved.
func Drain(ctx context.Context, ob Outbox, l *Logger, batch int) (int, error) {
	saved := 0
	tried := map[string]bool{}
	for {
		all, err := ob.Pending(ctx, batch)
		if err != nil {
			return saved, err
		}
		var entries []Entry
		for _, e := range all {
			if !tried[e.Key] {
				tried[e.Key] = true
				entries = append(entries, e)
			}
		}
		if len(entries) == 0 {
			return saved, nil
		}
		outs, logErr := l.Log(ctx, entries)
		if len(outs) > 0 {
			if err := ob.Save(ctx, outs); err != nil {
				return saved, err
			}
			saved += len(outs)
		}
		if logErr != nil {
			return saved, logErr
		}
	}
}
