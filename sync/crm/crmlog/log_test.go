package crmlog_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/auth/authtest"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
)

const mailbox = "rep@mycorp.example"

// connected returns an emulator and a client signed in to it.
func connected(t testing.TB) (*sftest.Server, *salesforce.Client) {
	t.Helper()
	sf := sftest.New(t, sftest.Options{})
	cfg := salesforce.Config{
		LoginURL: sf.URL, ClientID: sf.ClientID(), RedirectPort: sf.RedirectPort(),
		OpenBrowser: authtest.NewBrowser(sf.Client()).Open,
		Sleep:       func(context.Context, time.Duration) error { return nil },
	}
	c, err := salesforce.Connect(context.Background(), cfg, secrettest.NewMemory(), "crm", auth.SignInOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return sf, c
}

var t0 = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

func mail(key, folder, msgID, subject, from string, to, cc []string) crm.Entry {
	return crm.Entry{Key: key, Item: api.Item{
		ProviderID: key, Folder: api.Folder(folder), Kind: api.KindMail, MessageID: msgID,
		ConversationID: "conv-" + key, Subject: subject, From: from, To: to, Cc: cc,
		Time: t0, Preview: "Preview of " + subject,
	}}
}

func meeting(key, subject string, start time.Time, attendees ...string) crm.Entry {
	return crm.Entry{Key: key, Item: api.Item{
		ProviderID: key, Folder: api.Calendar, Kind: api.KindEvent, Subject: subject,
		Time: start, Start: start, End: start.Add(time.Hour), Location: "Room 1",
		Organizer: mailbox, Attendees: attendees,
	}}
}

func byKey(t *testing.T, outs []crm.Outcome) map[string]crm.Outcome {
	t.Helper()
	m := map[string]crm.Outcome{}
	for _, o := range outs {
		if _, dup := m[o.Key]; dup {
			t.Fatalf("two outcomes for %s", o.Key)
		}
		m[o.Key] = o
	}
	return m
}

func logAll(t *testing.T, rec crm.Recorder, cfg crmlog.Config, entries ...crm.Entry) map[string]crm.Outcome {
	t.Helper()
	outs, err := crmlog.NewLogger(rec, cfg).Log(context.Background(), entries)
	if err != nil {
		t.Fatalf("Log: %v", err)
	}
	if len(outs) != len(entries) {
		t.Fatalf("%d outcomes for %d entries", len(outs), len(entries))
	}
	return byKey(t, outs)
}

func relations(sf *sftest.Server, emailID string) map[string]string {
	out := map[string]string{}
	for _, r := range sf.Records("EmailMessageRelation") {
		if r.Fields["EmailMessageId"] == emailID {
			k := r.Fields["RelationId"].(string) + " " + r.Fields["RelationType"].(string)
			if _, dup := out[k]; dup {
				out[k] = "DUPLICATE"
				continue
			}
			out[k] = r.ID
		}
	}
	return out
}

func TestLogEmailMessages(t *testing.T) {
	sf, c := connected(t)
	acme := sf.AddAccount("Acme")
	ann := sf.AddContact("Ann@Acme.example", acme)
	bob := sf.AddLead("bob@beta.example", false)
	outs := logAll(t, c, crmlog.Config{Mailbox: mailbox},
		mail("in", "inbox", "<m1@acme.example>", "Quote", `"Ann" <ann@acme.example>`, []string{mailbox}, []string{"bob@beta.example", "joe@gmail.com"}),
		mail("sent", "sent", "m2@mycorp.example", "Re: Quote", mailbox, []string{"ann@acme.example"}, nil),
	)
	in, sent := outs["in"], outs["sent"]
	if in.State != api.CRMLogged || sent.State != api.CRMLogged || in.Object != api.ObjEmailMessage {
		t.Fatalf("outcomes: %+v %+v", in, sent)
	}
	r, ok := sf.Get(in.RecordID)
	if !ok {
		t.Fatal("the logged EmailMessage does not exist")
	}
	f := r.Fields
	for k, want := range map[string]any{
		"Subject": "Quote", "FromAddress": "ann@acme.example", "FromName": "Ann", "ToAddress": mailbox,
		"CcAddress": "bob@beta.example; joe@gmail.com", "Incoming": true, "Status": "0",
		"MessageIdentifier": "<m1@acme.example>", "ThreadIdentifier": "conv-in", "RelatedToId": acme,
		"MessageDate": "2026-11-20T09:30:00.000+0000",
	} {
		if f[k] != want {
			t.Errorf("Inbox EmailMessage %s = %v, want %v", k, f[k], want)
		}
	}
	if body, _ := f["TextBody"].(string); !strings.HasPrefix(body, "Preview of Quote") || !strings.Contains(body, "never reads message bodies") {
		t.Errorf("TextBody = %q", body)
	}
	if got := relations(sf, in.RecordID); len(got) != 2 || got[ann+" FromAddress"] == "" || got[bob+" CcAddress"] == "" {
		t.Errorf("Inbox relations = %v", got)
	}
	s, _ := sf.Get(sent.RecordID)
	if s.Fields["Status"] != "3" || s.Fields["Incoming"] != false || s.Fields["MessageIdentifier"] != "<m2@mycorp.example>" {
		t.Errorf("Sent EmailMessage = %v", s.Fields)
	}
	if got := relations(sf, sent.RecordID); len(got) != 1 || got[ann+" ToAddress"] == "" {
		t.Errorf("Sent relations = %v", got)
	}
}

func TestRelatedToOnlyWithOneAccount(t *testing.T) {
	sf, c := connected(t)
	ann := sf.AddContact("ann@acme.example", sf.AddAccount("Acme"))
	sf.AddContact("carl@other.example", sf.AddAccount("Other"))
	_ = ann
	outs := logAll(t, c, crmlog.Config{Mailbox: mailbox},
		mail("two", "inbox", "<two@x>", "Two accounts", "ann@acme.example", []string{mailbox, "carl@other.example"}, nil))
	r, _ := sf.Get(outs["two"].RecordID)
	if _, set := r.Fields["RelatedToId"]; set {
		t.Fatalf("RelatedToId set with two Accounts: %v", r.Fields["RelatedToId"])
	}
}

func TestSkipReasons(t *testing.T) {
	sf, c := connected(t)
	sf.AddLead("old@converted.example", true)
	outs := logAll(t, c, crmlog.Config{Mailbox: mailbox, InternalDomains: []string{"partner.example"}},
		mail("internal", "inbox", "<a@x>", "Lunch", "boss@mycorp.example", []string{mailbox, "p@partner.example", "friend@gmail.com"}, nil),
		mail("unknown", "inbox", "<b@x>", "Hello", "stranger@nowhere.example", []string{mailbox}, nil),
		mail("converted", "inbox", "<c@x>", "Hello", "old@converted.example", []string{mailbox}, nil),
	)
	for key, want := range map[string]string{"internal": crm.ReasonNoExternal, "unknown": crm.ReasonNoMatch, "converted": crm.ReasonNoMatch} {
		if o := outs[key]; o.State != api.CRMSkipped || o.Reason != want {
			t.Errorf("%s: %+v, want skipped: %s", key, o, want)
		}
	}
	if n := len(sf.Records("EmailMessage")); n != 0 {
		t.Fatalf("%d EmailMessages created for skipped items", n)
	}
}

func TestColleaguesEmailMessageIsLinked(t *testing.T) {
	sf, c := connected(t)
	ann := sf.AddContact("ann@acme.example", "")
	carl := sf.AddContact("carl@acme.example", "")
	// A colleague logged the same email with another tool, storing the
	// Message-ID without brackets and relating it to Carl only.
	theirs := sf.Add("EmailMessage", map[string]any{"Subject": "Quote", "Status": "3", "MessageIdentifier": "shared@acme.example"})
	sf.Add("EmailMessageRelation", map[string]any{"EmailMessageId": theirs, "RelationId": carl, "RelationType": "ToAddress"})
	outs := logAll(t, c, crmlog.Config{Mailbox: mailbox},
		mail("mine", "inbox", "<shared@acme.example>", "Quote", "ann@acme.example", []string{mailbox, "carl@acme.example"}, nil))
	if o := outs["mine"]; o.State != api.CRMLogged || o.RecordID != theirs {
		t.Fatalf("outcome %+v, want logged as the colleague's %s", o, theirs)
	}
	if n := len(sf.Records("EmailMessage")); n != 1 {
		t.Fatalf("%d EmailMessages, want the colleague's only", n)
	}
	got := relations(sf, theirs)
	if len(got) != 2 || got[ann+" FromAddress"] == "" || got[carl+" ToAddress"] == "" || got[carl+" ToAddress"] == "DUPLICATE" {
		t.Fatalf("relations = %v", got)
	}
}

func TestRecordErrorsFailOnlyTheirItem(t *testing.T) {
	sf, c := connected(t)
	sf.AddContact("ann@acme.example", "")
	sf.FailWhere("EmailMessage", "Subject", "Blocked", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Emails about Blocked are not allowed", 0)
	sf.FailWhere("Event", "Subject", "Dup", "DUPLICATES_DETECTED", "Use one of these records?", 0)
	sf.FailWhere("EmailMessage", "Subject", "Busy", "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", 1)
	var entries []crm.Entry
	for i := range 5 {
		entries = append(entries, mail(fmt.Sprint("ok", i), "inbox", fmt.Sprintf("<ok%d@x>", i), fmt.Sprint("Fine ", i), "ann@acme.example", []string{mailbox}, nil))
	}
	entries = append(entries,
		mail("blocked", "inbox", "<blocked@x>", "Blocked", "ann@acme.example", []string{mailbox}, nil),
		mail("busy", "inbox", "<busy@x>", "Busy", "ann@acme.example", []string{mailbox}, nil),
		meeting("dup", "Dup", t0, "ann@acme.example"),
		meeting("meet", "Demo", t0, "ann@acme.example"))
	outs := logAll(t, c, crmlog.Config{Mailbox: mailbox}, entries...)
	for k, o := range outs {
		switch k {
		case "blocked":
			if o.State != api.CRMFailed || !o.Retryable || !strings.Contains(o.Reason, "validation rule") || !strings.Contains(o.Reason, "Emails about Blocked") {
				t.Errorf("blocked: %+v", o)
			}
		case "dup":
			if o.State != api.CRMFailed || !strings.Contains(o.Reason, "duplicate rules") {
				t.Errorf("dup: %+v", o)
			}
		default: // busy succeeds on the client's retry
			if o.State != api.CRMLogged || o.RecordID == "" {
				t.Errorf("%s: %+v", k, o)
			}
		}
	}
	if n := len(sf.Records("EmailMessage")); n != 6 {
		t.Fatalf("%d EmailMessages, want 6", n)
	}
}

func TestEvents(t *testing.T) {
	sf, c := connected(t)
	ann := sf.AddContact("ann@acme.example", "")
	lead := sf.AddLead("lee@beta.example", false)
	allDay := meeting("offsite", "Offsite", time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), "lee@beta.example")
	allDay.Item.End = allDay.Item.Start.Add(48 * time.Hour)
	cfg := crmlog.Config{Mailbox: mailbox}
	outs := logAll(t, c, cfg, meeting("demo", "Demo", t0, "lee@beta.example", "ann@acme.example"), allDay)
	demo := outs["demo"]
	r, _ := sf.Get(demo.RecordID)
	if r.Fields["WhoId"] != ann || r.Fields["StartDateTime"] != "2026-11-20T09:30:00.000+0000" || r.Fields["EndDateTime"] != "2026-11-20T10:30:00.000+0000" || r.Fields["OwnerId"] != sftest.UserID || r.Fields["Location"] != "Room 1" {
		t.Fatalf("Event = %v", r.Fields)
	}
	if d, _ := r.Fields["Description"].(string); !strings.Contains(d, "lee@beta.example, ann@acme.example") {
		t.Fatalf("Description = %q", d)
	}
	o, _ := sf.Get(outs["offsite"].RecordID)
	if o.Fields["IsAllDayEvent"] != true || o.Fields["ActivityDate"] != "2026-11-24" || o.Fields["WhoId"] != lead {
		t.Fatalf("all-day Event = %v", o.Fields)
	}

	// The meeting moves: the Event is updated, not created again.
	moved := meeting("demo", "Demo", t0.Add(24*time.Hour), "lee@beta.example", "ann@acme.example")
	moved.RecordID, moved.Object = demo.RecordID, demo.Object
	if o := logAll(t, c, cfg, moved)["demo"]; o.State != api.CRMLogged || o.RecordID != demo.RecordID {
		t.Fatalf("moved: %+v", o)
	}
	if r, _ := sf.Get(demo.RecordID); r.Fields["StartDateTime"] != "2026-11-21T09:30:00.000+0000" || len(sf.Records("Event")) != 2 {
		t.Fatalf("after the move: %v, %d Events", r.Fields["StartDateTime"], len(sf.Records("Event")))
	}

	// Cancelled: left alone by default, deleted with remove-deleted-events.
	moved.Deleted = true
	if o := logAll(t, c, cfg, moved)["demo"]; o.State != api.CRMLogged || o.Reason != crm.ReasonLeftAlone {
		t.Fatalf("cancelled, remove off: %+v", o)
	}
	if _, ok := sf.Get(demo.RecordID); !ok {
		t.Fatal("the Event was deleted with remove-deleted-events off")
	}
	cfg.RemoveDeletedEvents = true
	if o := logAll(t, c, cfg, moved)["demo"]; o.State != api.CRMSkipped || o.Reason != crm.ReasonRemoved {
		t.Fatalf("cancelled, remove on: %+v", o)
	}
	if _, ok := sf.Get(demo.RecordID); ok {
		t.Fatal("the Event is still there")
	}
	// Deleted in Salesforce meanwhile: a later move is not recreated.
	moved.Deleted = false
	if o := logAll(t, c, cfg, moved)["demo"]; o.State != api.CRMSkipped || o.Reason != crm.ReasonEventGone {
		t.Fatalf("moved after deletion: %+v", o)
	}
}

func TestTasks(t *testing.T) {
	sf, c := connected(t)
	acme := sf.AddAccount("Acme")
	ann := sf.AddContact("ann@acme.example", acme)
	cfg := crmlog.Config{Mailbox: mailbox, LogEmailAs: api.AsTask, Location: time.UTC}
	e := mail("in", "inbox", "<t1@x>", "Pricing", "ann@acme.example", []string{mailbox}, []string{"cc@acme.example"})
	o := logAll(t, c, cfg, e)["in"]
	r, _ := sf.Get(o.RecordID)
	for k, want := range map[string]any{"Subject": "Pricing", "TaskSubtype": "Email", "Status": "Completed", "ActivityDate": "2026-11-20", "WhoId": ann, "WhatId": acme} {
		if r.Fields[k] != want {
			t.Errorf("Task %s = %v, want %v", k, r.Fields[k], want)
		}
	}
	if d, _ := r.Fields["Description"].(string); !strings.Contains(d, "From: ann@acme.example") || !strings.Contains(d, "Preview of Pricing") {
		t.Errorf("Description = %q", d)
	}
	// Logged again (outcome lost): found, not created twice.
	if o2 := logAll(t, c, cfg, e)["in"]; o2.RecordID != o.RecordID || len(sf.Records("Task")) != 1 {
		t.Fatalf("second run: %+v, %d Tasks", o2, len(sf.Records("Task")))
	}
}

// crashing forwards calls to a Recorder and, from call number at on,
// lets the call reach Salesforce and then reports a crash: the answer is
// lost, as when the process dies before the local commit.
type crashing struct {
	crm.Recorder
	calls, at int
}

var errCrash = errors.New("killed")

// step returns a call's error, or the crash once the call count reaches at.
func (c *crashing) step(err error) error {
	if err != nil {
		return err
	}
	c.calls++
	if c.calls >= c.at {
		return errCrash
	}
	return nil
}

func (c *crashing) FindPeople(ctx context.Context, a []string) ([]crm.Person, error) {
	r, err := c.Recorder.FindPeople(ctx, a)
	return r, c.step(err)
}
func (c *crashing) FindEmailMessages(ctx context.Context, a []string) ([]crm.Found, error) {
	r, err := c.Recorder.FindEmailMessages(ctx, a)
	return r, c.step(err)
}
func (c *crashing) FindEmailRelations(ctx context.Context, a []string) ([]crm.Found, error) {
	r, err := c.Recorder.FindEmailRelations(ctx, a)
	return r, c.step(err)
}
func (c *crashing) FindEvents(ctx context.Context, a []string) ([]crm.Found, error) {
	r, err := c.Recorder.FindEvents(ctx, a)
	return r, c.step(err)
}
func (c *crashing) FindTasks(ctx context.Context, keys []crm.TaskKey) ([]crm.Found, error) {
	r, err := c.Recorder.FindTasks(ctx, keys)
	return r, c.step(err)
}
func (c *crashing) FindOpportunities(ctx context.Context, a []string) ([]crm.Opportunity, error) {
	r, err := c.Recorder.FindOpportunities(ctx, a)
	return r, c.step(err)
}
func (c *crashing) Create(ctx context.Context, recs []crm.Record) ([]crm.Result, error) {
	r, err := c.Recorder.Create(ctx, recs)
	return r, c.step(err)
}
func (c *crashing) Update(ctx context.Context, recs []crm.Record) ([]crm.Result, error) {
	r, err := c.Recorder.Update(ctx, recs)
	return r, c.step(err)
}
func (c *crashing) Delete(ctx context.Context, ids []string) ([]crm.Result, error) {
	r, err := c.Recorder.Delete(ctx, ids)
	return r, c.step(err)
}

// workload returns a batch: emails (some the same message in Inbox and
// Sent), meetings, and items that are skipped.
func workload(round int) []crm.Entry {
	var es []crm.Entry
	for i := range 30 {
		from, to := fmt.Sprintf("p%d@acme.example", i%12), []string{mailbox, fmt.Sprintf("p%d@acme.example", (i+5)%12)}
		folder := "inbox"
		if i%3 == 0 {
			folder, from, to = "sent", mailbox, []string{fmt.Sprintf("p%d@acme.example", i%12)}
		}
		es = append(es, mail(fmt.Sprintf("r%d-m%d", round, i), folder, fmt.Sprintf("<r%d-%d@x>", round, i%25), fmt.Sprintf("Subject %d", i%25), from, to, []string{"lead@beta.example"}))
	}
	for i := range 8 {
		es = append(es, meeting(fmt.Sprintf("r%d-e%d", round, i), fmt.Sprintf("Meeting %d-%d", round, i%6), t0.Add(time.Duration(i%6)*time.Hour), fmt.Sprintf("p%d@acme.example", i)))
	}
	es = append(es, mail(fmt.Sprintf("r%d-skip", round), "inbox", "<skip@x>", "Spam", "x@nowhere.example", []string{mailbox}, nil))
	return es
}

func TestCrashBeforeCommitMakesNoDuplicate(t *testing.T) {
	sf, c := connected(t)
	acme := sf.AddAccount("Acme")
	for i := range 12 {
		sf.AddContact(fmt.Sprintf("p%d@acme.example", i), acme)
	}
	sf.AddLead("lead@beta.example", false)
	rng := rand.New(rand.NewPCG(11, uint64(time.Now().UnixNano())))
	for round := range 20 {
		cfg := crmlog.Config{Mailbox: mailbox, Location: time.UTC}
		if round%4 == 3 {
			cfg.LogEmailAs = api.AsTask
		}
		entries := workload(round)
		// First attempt: the process dies after a random call; every
		// outcome is lost with it.
		cr := &crashing{Recorder: c, at: 1 + rng.IntN(6)}
		_, err := crmlog.NewLogger(cr, cfg).Log(context.Background(), entries)
		if err != nil && !errors.Is(err, errCrash) {
			t.Fatalf("round %d: %v", round, err)
		}
		// Restart: the whole batch again, then once more for good measure.
		var final map[string]crm.Outcome
		for range 2 {
			final = logAll(t, c, cfg, entries...)
		}
		msgs := map[string]string{}
		events := map[string]string{}
		for _, e := range entries {
			o := final[e.Key]
			if strings.HasSuffix(e.Key, "-skip") {
				if o.State != api.CRMSkipped {
					t.Fatalf("round %d: %s: %+v", round, e.Key, o)
				}
				continue
			}
			if o.State != api.CRMLogged {
				t.Fatalf("round %d: %s: %+v", round, e.Key, o)
			}
			if _, ok := sf.Get(o.RecordID); !ok {
				t.Fatalf("round %d: %s logged as %s, which does not exist", round, e.Key, o.RecordID)
			}
			k := e.Item.MessageID
			if e.Item.Kind == api.KindEvent {
				k = e.Item.Subject + e.Item.Start.String()
			}
			if prev, seen := msgs[k]; seen && prev != o.RecordID && cfg.LogEmailAs != api.AsTask {
				t.Fatalf("round %d: one message logged twice: %s and %s", round, prev, o.RecordID)
			}
			msgs[k] = o.RecordID
			if e.Item.Kind == api.KindEvent {
				events[k] = o.RecordID
			}
		}
		// Salesforce holds exactly one record per message or meeting of the
		// round, and each relation once.
		prefix := fmt.Sprintf("<r%d-", round)
		n := 0
		for _, r := range sf.Records("EmailMessage") {
			if strings.HasPrefix(fmt.Sprint(r.Fields["MessageIdentifier"]), prefix) {
				n++
				for k, v := range relations(sf, r.ID) {
					if v == "DUPLICATE" {
						t.Fatalf("round %d: relation %s twice", round, k)
					}
				}
				if len(relations(sf, r.ID)) == 0 {
					t.Fatalf("round %d: EmailMessage %s without relations", round, r.ID)
				}
			}
		}
		wantMsgs := 25
		if cfg.LogEmailAs == api.AsTask {
			wantMsgs = 0
		}
		if n != wantMsgs {
			t.Fatalf("round %d: %d EmailMessages, want %d", round, n, wantMsgs)
		}
		ev := 0
		for _, r := range sf.Records("Event") {
			if strings.HasPrefix(fmt.Sprint(r.Fields["Subject"]), fmt.Sprintf("Meeting %d-", round)) {
				ev++
			}
		}
		if ev != len(events) || ev != 6 {
			t.Fatalf("round %d: %d Events, want 6", round, ev)
		}
	}
	// Tasks: one per subject, day and person however often the rounds ran.
	seen := map[string]bool{}
	for _, r := range sf.Records("Task") {
		k := fmt.Sprint(r.Fields["Subject"], r.Fields["ActivityDate"], r.Fields["WhoId"])
		if seen[k] {
			t.Fatalf("Task %s twice", k)
		}
		seen[k] = true
	}
	if len(seen) == 0 {
		t.Fatal("no Task rounds ran")
	}
}

func TestThrottledRunKeepsTheRestPending(t *testing.T) {
	sf, c := connected(t)
	sf.AddContact("ann@acme.example", "")
	sf.SetUsage(95, 100)
	outs, err := crmlog.NewLogger(c, crmlog.Config{Mailbox: mailbox}).Log(context.Background(), []crm.Entry{
		mail("a", "inbox", "<a@x>", "A", "ann@acme.example", []string{mailbox}, nil),
		mail("skip", "inbox", "<s@x>", "S", "boss@mycorp.example", []string{mailbox}, nil),
	})
	if provider.Classify(err) != provider.ClassThrottled {
		t.Fatalf("err = %v", err)
	}
	if len(outs) != 1 || outs[0].Key != "skip" {
		t.Fatalf("outcomes %+v: only the skipped one is final", outs)
	}
	if n := len(sf.Records("EmailMessage")); n != 0 {
		t.Fatalf("%d EmailMessages created past the budget", n)
	}
}

func TestFailedRelationIsCompletedLater(t *testing.T) {
	sf, c := connected(t)
	ann := sf.AddContact("ann@acme.example", "")
	bob := sf.AddContact("bob@acme.example", "")
	sf.Inject(func(object string, f map[string]any) bool {
		return object == "EmailMessageRelation" && f["RelationId"] == bob
	}, sftest.RecordError{StatusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION", Message: "not now"}, 1)
	e := mail("m", "inbox", "<rel@x>", "Hi", "ann@acme.example", []string{mailbox, "bob@acme.example"}, nil)
	o := logAll(t, c, crmlog.Config{Mailbox: mailbox}, e)["m"]
	if o.State != api.CRMFailed || o.RecordID == "" || !o.Retryable || !strings.Contains(o.Reason, "linking it to bob@acme.example failed") {
		t.Fatalf("first attempt: %+v", o)
	}
	// The outbox hands it back with its state and record: the relation is
	// completed, the EmailMessage not created again.
	e.State, e.RecordID, e.Object = o.State, o.RecordID, o.Object
	o2 := logAll(t, c, crmlog.Config{Mailbox: mailbox}, e)["m"]
	if o2.State != api.CRMLogged || o2.RecordID != o.RecordID || len(sf.Records("EmailMessage")) != 1 {
		t.Fatalf("retry: %+v, %d EmailMessages", o2, len(sf.Records("EmailMessage")))
	}
	if got := relations(sf, o.RecordID); len(got) != 2 || got[ann+" FromAddress"] == "" || got[bob+" ToAddress"] == "" {
		t.Fatalf("relations = %v", got)
	}
}

func TestMailWithoutMessageIDIsFoundAgain(t *testing.T) {
	sf, c := connected(t)
	sf.AddContact("ann@acme.example", "")
	e := mail("nomid", "inbox", "", "No id", "ann@acme.example", []string{mailbox}, nil)
	first := logAll(t, c, crmlog.Config{Mailbox: mailbox}, e)["nomid"]
	second := logAll(t, c, crmlog.Config{Mailbox: mailbox}, e)["nomid"]
	if first.State != api.CRMLogged || second.RecordID != first.RecordID || len(sf.Records("EmailMessage")) != 1 {
		t.Fatalf("%+v then %+v, %d EmailMessages", first, second, len(sf.Records("EmailMessage")))
	}
	r, _ := sf.Get(first.RecordID)
	if id, _ := r.Fields["MessageIdentifier"].(string); !strings.HasSuffix(id, "@no-message-id.inboxsync.invalid>") {
		t.Fatalf("MessageIdentifier = %q", id)
	}
}
