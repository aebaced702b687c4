// Package crmlog is the CRM logger: it logs the mail and meetings the
// store holds to a CRM through a crm.Recorder, matched to the CRM's people
// (docs/architecture.md §5).
//
//   - participants of an item and the filter that leaves out internal and
//     free-mail addresses (participants.go);
//   - matching addresses to Contacts and unconverted Leads, at most
//     [MaxAddressesPerLookup] per lookup and cached for a run (match.go);
//   - the [Logger], which turns a batch of outbox entries into records,
//     looks for what already exists before creating anything (so a crash
//     between the CRM's answer and the local commit never makes a
//     duplicate), completes what it finds, and returns one outcome per
//     entry (log.go, email.go, event.go); [Drain] runs it over an outbox.
package crmlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"

	"github.com/inboxsync/inboxsync/sync/api"
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

	// The CRM rules (issue 20; api.CRMSettings has their defaults). A
	// zero Config logs by participants only: no keep-out or by-hand
	// categories (Sensitivity Private/Confidential still keeps an item
	// out), threads off, no opportunities, no new Leads.

	// KeepOut are the categories/labels that keep an item out
	// (case-insensitive).
	KeepOut []string
	// LogByHand are the categories/labels that log an item by hand.
	LogByHand []string
	// ByHandOnly logs only items marked by hand (automatic logging off).
	ByHandOnly bool
	// Threads logs later messages of a logged conversation to its people.
	Threads bool
	// Opportunity is api.OppOff ("" too), api.OppSingleOpen or
	// api.OppMostRecent.
	Opportunity string
	// CreateLeads creates Leads for unmatched external participants of
	// items marked by hand.
	CreateLeads bool
}

// Logger logs batches of outbox entries through a Recorder. One Logger
// serves one run: it caches the people it matched and the Opportunities
// it found.
type Logger struct {
	rec     crm.Recorder
	cfg     Config
	filter  *Filter
	matcher *Matcher
	keepOut map[string]bool
	byHand  map[string]bool
	// opps caches FindOpportunities answers by Account (nil: none open).
	opps       map[string][]crm.Opportunity
	oppLookups int
}

// NewLogger returns a Logger writing through rec.
func NewLogger(rec crm.Recorder, cfg Config) *Logger {
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	set := func(names []string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
				m[n] = true
			}
		}
		return m
	}
	return &Logger{rec: rec, cfg: cfg, filter: NewFilter(cfg.Mailbox, cfg.InternalDomains, cfg.Blocklist), matcher: NewMatcher(rec),
		keepOut: set(cfg.KeepOut), byHand: set(cfg.LogByHand), opps: map[string][]crm.Opportunity{}}
}

// Lookups returns how many people lookups the Logger made.
func (l *Logger) Lookups() int { return l.matcher.Lookups }

// OpportunityLookups returns how many FindOpportunities calls the Logger
// made (one per batch at most).
func (l *Logger) OpportunityLookups() int { return l.oppLookups }

// match is a matched participant. A person logged to through the
// whole-thread rule who is not on the item has an empty Role: no
// EmailMessageRelation is made for them (module doc, rules.go).
type match struct {
	Participant
	person *crm.Person
}

// batch is one Log call's state.
type batch struct {
	*Logger
	entries []crm.Entry
	out     []crm.Outcome
	done    []bool
	matches [][]match
	// rule and notes are each entry's rule and the notes of a logged one.
	rule  []string
	notes [][]string
}

func (b *batch) set(i int, o crm.Outcome) {
	o.Key = b.entries[i].Key
	b.out[i] = o
	b.done[i] = true
}

func (b *batch) fail(i int, recordID, object string, e *crm.RecordError) {
	b.set(i, crm.Outcome{State: api.CRMFailed, RecordID: recordID, Object: object, Reason: e.Error(), Rule: b.rule[i], Retryable: true, Err: e})
}

// skip skips entry i for reason under rule.
func (b *batch) skip(i int, rule, reason string) {
	b.set(i, crm.Outcome{State: api.CRMSkipped, Reason: reason, Rule: rule})
}

// logged sets entry i's outcome: logged as recordID, with its rule, its
// notes and the people it was logged to.
func (b *batch) logged(i int, recordID, object string) {
	var people []crm.Person
	seen := map[string]bool{}
	for _, m := range b.matches[i] {
		if !seen[m.person.ID] {
			seen[m.person.ID] = true
			people = append(people, *m.person)
		}
	}
	b.set(i, crm.Outcome{State: api.CRMLogged, RecordID: recordID, Object: object, Rule: b.rule[i], Reason: strings.Join(b.notes[i], "; "), People: people})
}

// Log handles a batch of entries and returns an outcome for each entry it
// finished. It looks for existing records before creating any, so running
// it again over entries whose outcomes were lost creates nothing twice.
// A record-level refusal fails that entry only. An error (offline,
// throttled, grant gone …) stops the batch: the outcomes returned with it
// are final, and the other entries stay pending.
func (l *Logger) Log(ctx context.Context, entries []crm.Entry) ([]crm.Outcome, error) {
	n := len(entries)
	b := &batch{Logger: l, entries: entries, out: make([]crm.Outcome, n), done: make([]bool, n), matches: make([][]match, n),
		rule: make([]string, n), notes: make([][]string, n)}
	err := b.run(ctx)
	var out []crm.Outcome
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
		event := e.Item.Kind == api.KindEvent
		switch {
		case e.Deleted && e.RecordID == "":
			b.set(i, crm.Outcome{State: api.CRMSkipped, Reason: crm.ReasonDeletedEarly})
		case e.Deleted && event && b.cfg.RemoveDeletedEvents:
			deletes = append(deletes, i)
		case e.Deleted && event:
			b.set(i, crm.Outcome{State: api.CRMLogged, RecordID: e.RecordID, Object: e.Object, Reason: crm.ReasonLeftAlone})
		case e.Deleted:
			b.set(i, crm.Outcome{State: api.CRMLogged, RecordID: e.RecordID, Object: e.Object, Reason: crm.ReasonEmailKept})
		case e.RecordID != "" && b.keptOut(e.Item):
			// Marked private after it was logged: the record is the
			// user's to delete; a meeting is no longer updated.
			b.set(i, crm.Outcome{State: api.CRMLogged, RecordID: e.RecordID, Object: e.Object, Reason: crm.ReasonLeftPrivate, Rule: crm.RuleKeepOut})
		case e.RecordID != "" && event:
			updates = append(updates, i)
		case e.RecordID != "" && e.State != api.CRMFailed:
			// An EmailMessage cannot be edited once sent: a changed email
			// (read, moved, newly categorised) stays as logged.
			b.set(i, crm.Outcome{State: api.CRMLogged, RecordID: e.RecordID, Object: e.Object})
		case b.keptOut(e.Item):
			b.skip(i, crm.RuleKeepOut, crm.ReasonKeptOut)
		case b.cfg.ByHandOnly && !b.markedByHand(e.Item):
			b.skip(i, crm.RuleAutoOff, crm.ReasonAutoOff)
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
		if b.entries[i].Item.Kind == api.KindEvent {
			events = append(events, i)
		} else {
			emails = append(emails, i)
		}
	}
	if err := b.findOpportunities(ctx, append(slices.Clone(emails), events...)); err != nil {
		return err
	}
	if b.cfg.LogEmailAs == api.AsTask {
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

// who returns the person an activity is about: the first matched Contact,
// else the first matched Lead.
func who(ms []match) *crm.Person {
	for _, m := range ms {
		if m.person.Object == api.ObjContact {
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
func subject(it api.Item, max int) string {
	s := strings.TrimSpace(it.Subject)
	if s == "" {
		s = "(no subject)"
	}
	return truncate(s, max)
}

// messageID returns an item's Message-ID, or for a mail without one (rare:
// some drafts and server-generated mail) an identifier made from the
// item's folder and provider id, so that it too is found again after a
// crash instead of logged twice.
func messageID(it api.Item) string {
	if strings.Trim(strings.TrimSpace(it.MessageID), "<>") != "" {
		return it.MessageID
	}
	sum := sha256.Sum256([]byte(string(it.Folder) + "\x00" + it.ProviderID))
	return "<" + hex.EncodeToString(sum[:12]) + "@no-message-id.inboxsync.invalid>"
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

// Drain logs what the outbox holds, batch entries at a time, until it has
// nothing new or an error stops it; it saves each batch's outcomes before
// the next. Each entry is tried at most once per Drain (a failed one waits
// for the next run). It returns the number of outcomes saved.
func Drain(ctx context.Context, ob crm.Outbox, l *Logger, batch int) (int, error) {
	saved := 0
	tried := map[string]bool{}
	for {
		all, err := ob.Pending(ctx, batch)
		if err != nil {
			return saved, err
		}
		var entries []crm.Entry
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
