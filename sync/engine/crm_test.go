package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth/authtest"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// newCRMEnv is newEnv with a Salesforce emulator behind the engine's CRM
// connector and a mailbox at seller.example whose scripted mail (from
// alice@scripted.test to bob@scripted.test) involves a Contact and a Lead.
func newCRMEnv(t *testing.T) (*env, *sftest.Server) {
	t.Helper()
	sf := sftest.New(t, sftest.Options{})
	sf.AddContact("alice@scripted.test", sf.AddAccount("Scripted Inc"))
	sf.AddLead("bob@scripted.test", false)
	b := authtest.NewBrowser(sf.Client())
	v := newEnvWith(t, func(v *env) {
		v.crm = map[string]crm.Connector{api.CRMSalesforce: &salesforce.Connector{Secrets: v.sec, OpenBrowser: b.Open, Timeout: 10 * time.Second}}
	})
	if _, err := v.e.Activate(context.Background(), api.ActivationRequest{
		Provider: "scripted", Account: "work", Login: "ann", Email: "ann@seller.example", Password: "pw",
		Settings: map[string]string{"mailbox": "mb"}}, nil); err != nil {
		t.Fatal(err)
	}
	if s := v.session(); s.Outcome != "ok" || s.Added != 33 {
		t.Fatalf("first session: %+v", s)
	}
	return v, sf
}

func (v *env) crmConnect(sf *sftest.Server) api.CRMStatus {
	v.t.Helper()
	var prompts []api.ActivationProgress
	st, err := v.e.CRMConnect(context.Background(), api.CRMConnectRequest{CRM: api.CRMSalesforce,
		LoginURL: sf.URL, ClientID: sf.ClientID(), RedirectPort: sf.RedirectPort()},
		func(p api.ActivationProgress) { prompts = append(prompts, p) })
	if err != nil {
		v.t.Fatalf("CRMConnect: %v", err)
	}
	if len(prompts) == 0 || prompts[0].URL == "" {
		v.t.Errorf("CRMConnect reported no sign-in link: %+v", prompts)
	}
	return st
}

func (v *env) crmSync() api.CRMStatus {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := v.e.CRMSync(ctx, true)
	if err != nil {
		v.t.Fatalf("CRMSync: %v", err)
	}
	return st
}

// crmSettled syncs and waits, and then, should another run have started
// meanwhile (a kick from the connect or a mailbox session), waits for it
// to end too, so that the state read is the one after the runs.
func (v *env) crmSettled() api.CRMStatus {
	v.t.Helper()
	st := v.crmSync()
	deadline := time.Now().Add(10 * time.Second)
	for st.State == api.ConnLogging && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		var err error
		if st, err = v.e.CRMStatus(context.Background()); err != nil {
			v.t.Fatal(err)
		}
	}
	return st
}

// crmItems returns the CRM state of the account's items by provider id.
func (v *env) crmItems() map[string]api.CRMItem {
	v.t.Helper()
	items, err := v.st.Activity(context.Background(), api.ActivityQuery{Account: "work", Limit: 1000, IncludeDeleted: true})
	if err != nil {
		v.t.Fatal(err)
	}
	out := map[string]api.CRMItem{}
	for _, it := range items.Items {
		if it.CRM != nil {
			out[it.ProviderID] = *it.CRM
		}
	}
	return out
}

// The mailbox's history window is logged on connect, each item once, and
// what later sessions store is logged after them; the store and the
// emulator agree.
func TestCRMConnectLogsHistoryThenEachSession(t *testing.T) {
	v, sf := newCRMEnv(t)
	st := v.crmConnect(sf)
	if st.State == api.ConnNotConnected || st.Instance != sf.URL || st.User != sftest.UserID {
		t.Fatalf("status after connect: %+v", st)
	}
	st = v.crmSync()
	if st.State != api.ConnConnected || st.Counts[api.CRMLogged] != 33 || st.LastRun.IsZero() || st.APILimit == 0 {
		t.Fatalf("status after the first run: %+v", st)
	}
	emails, events := sf.Records(api.ObjEmailMessage), sf.Records(api.ObjEvent)
	if len(emails) != 30 || len(events) != 3 {
		t.Fatalf("Salesforce holds %d EmailMessages and %d Events, want 30 and 3", len(emails), len(events))
	}
	ids := map[string]bool{}
	for _, r := range append(emails, events...) {
		ids[r.ID] = true
	}
	for pid, c := range v.crmItems() {
		if c.State != api.CRMLogged || !ids[c.RecordID] {
			t.Errorf("item %s: %+v, not a record in Salesforce", pid, c)
		}
	}
	// A new mail: the session that stores it starts a run.
	v.mb.Add(api.Inbox, 2, t0.Add(-time.Hour))
	v.clock.Advance(2 * time.Minute)
	if err := v.e.SyncNow(context.Background(), "work"); err != nil {
		t.Fatal(err)
	}
	if s := v.session(); s.Added != 2 {
		t.Fatalf("session: %+v", s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sf.Records(api.ObjEmailMessage)) != 32 {
		if time.Now().After(deadline) {
			t.Fatalf("the new mail was not logged after the session: %d EmailMessages", len(sf.Records(api.ObjEmailMessage)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Nothing twice, however often it runs, and after a restart.
	v.clock.Advance(2 * time.Minute)
	v.crmSync()
	v.restart()
	st, err := v.e.CRMStatus(context.Background())
	if err != nil || st.State != api.ConnConnected || st.Instance != sf.URL || st.Counts[api.CRMLogged] != 35 {
		t.Fatalf("status after a restart: %+v %v", st, err)
	}
	v.crmSync()
	if n := len(sf.Records(api.ObjEmailMessage)); n != 32 {
		t.Errorf("%d EmailMessages after more runs, want 32", n)
	}
	if status, _ := v.e.Status(context.Background()); status.CRM == nil || status.CRM.State != api.ConnConnected {
		t.Errorf("engine status has no CRM: %+v", status.CRM)
	}
}

// A sign-in that is gone needs re-activation: one notice, one "Sign in to
// Salesforce again" window, the tray's worst state; mailbox sync goes on;
// connecting again resumes logging.
func TestCRMGrantGoneNeedsReactivation(t *testing.T) {
	v, sf := newCRMEnv(t)
	v.crmConnect(sf)
	v.crmSync()
	sf.RevokeGrants()
	sf.ExpireSessions()
	v.mb.Add(api.Inbox, 1, t0.Add(-time.Hour))
	v.clock.Advance(2 * time.Minute)
	if err := v.e.SyncNow(context.Background(), "work"); err != nil {
		t.Fatal(err)
	}
	if s := v.session(); s.Outcome != "ok" {
		t.Fatalf("mailbox session while the CRM sign-in is gone: %+v", s)
	}
	notice := v.next(api.EventNotice)
	win := v.next(api.EventOpenWindow)
	if win.Window.Window != api.WindowCRMConnect || win.Window.Reason == "" || notice.Message == "" {
		t.Fatalf("notice %+v, window %+v", notice, win.Window)
	}
	st, _ := v.e.CRMStatus(context.Background())
	if st.State != api.ConnNeedsReactivation || st.Counts[api.CRMPending] != 1 {
		t.Fatalf("status: %+v", st)
	}
	status, _ := v.e.Status(context.Background())
	if status.Worst() != api.NeedsReactivation {
		t.Errorf("Worst() = %v with the CRM sign-in gone", status.Worst())
	}
	if _, err := v.e.CRMSync(context.Background(), false); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("CRMSync with the sign-in gone: %v", err)
	}
	// The mailbox keeps syncing, with no second notice.
	v.mb.Add(api.Inbox, 1, t0.Add(-time.Hour))
	v.clock.Advance(2 * time.Minute)
	v.e.SyncNow(context.Background(), "work")
	if s := v.session(); s.Outcome != "ok" {
		t.Fatalf("second mailbox session: %+v", s)
	}
	timeout := time.After(200 * time.Millisecond)
wait:
	for {
		select {
		case ev := <-v.events:
			if ev.Type == api.EventNotice || ev.Type == api.EventOpenWindow {
				t.Fatalf("a second %s: %+v", ev.Type, ev)
			}
		case <-timeout:
			break wait
		}
	}
	v.crmConnect(sf)
	if st := v.crmSettled(); st.State != api.ConnConnected || st.Counts[api.CRMPending] != 0 || st.Counts[api.CRMLogged] != 35 {
		t.Fatalf("after signing in again: %+v", st)
	}
}

// Past the API budget, logging stops and waits, saying until when.
func TestCRMThrottledByBudget(t *testing.T) {
	v, sf := newCRMEnv(t)
	v.crmConnect(sf)
	sf.SetUsage(95000, 100000)
	st := v.crmSync()
	if st.State != api.ConnThrottled || st.Reason == "" || st.NextRun.IsZero() || st.Counts[api.CRMLogged] == 33 {
		t.Fatalf("status past the budget: %+v", st)
	}
	if _, err := v.e.CRMSync(context.Background(), false); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("CRMSync while throttled: %v", err)
	}
}

// Disconnecting deletes the sign-in from the keyring and stops queueing.
func TestCRMDisconnect(t *testing.T) {
	v, sf := newCRMEnv(t)
	v.crmConnect(sf)
	v.crmSync()
	if err := v.e.CRMDisconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.sec.Get(salesforce.SecretAccount, secret.KeyToken); !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("the sign-in is still in the keyring: %v", err)
	}
	st, _ := v.e.CRMStatus(context.Background())
	if st.State != api.ConnNotConnected {
		t.Errorf("status after disconnect: %+v", st)
	}
	if status, _ := v.e.Status(context.Background()); status.CRM != nil {
		t.Errorf("engine status still has a CRM: %+v", status.CRM)
	}
	v.restart()
	if st, _ := v.e.CRMStatus(context.Background()); st.State != api.ConnNotConnected {
		t.Errorf("status after a restart: %+v", st)
	}
}

// The CRM settings are checked and kept.
func TestCRMSettings(t *testing.T) {
	v := newEnv(t)
	s, err := v.e.CRMSettings(context.Background())
	if err != nil || s.LogEmailAs != api.AsEmailMessage || len(s.Blocklist) != len(crmlog.DefaultBlocklist) {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	for _, bad := range []api.CRMSettings{
		{LogEmailAs: "fax"}, {Budget: 1.5}, {InternalDomains: []string{"not a domain"}}, {Blocklist: []string{"a@b.com"}},
	} {
		if _, err := v.e.UpdateCRMSettings(context.Background(), bad); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("UpdateCRMSettings(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	// The defaults sent back unchanged keep following the built-in list.
	if _, err := v.e.UpdateCRMSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if raw, _, _ := v.st.Setting(context.Background(), "crm_settings"); !strings.Contains(raw, `"blocklist":null`) {
		t.Errorf("the default blocklist was stored as a list: %s", raw)
	}
	s.LogEmailAs, s.InternalDomains, s.Blocklist, s.RemoveDeletedEvents, s.Budget = api.AsTask, []string{" Partner.Example "}, []string{}, true, 0.5
	if _, err := v.e.UpdateCRMSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	v.restart()
	got, _ := v.e.CRMSettings(context.Background())
	if got.LogEmailAs != api.AsTask || len(got.InternalDomains) != 1 || got.InternalDomains[0] != "partner.example" ||
		len(got.Blocklist) != 0 || !got.RemoveDeletedEvents || got.Budget != 0.5 {
		t.Errorf("after a restart: %+v", got)
	}
}

// A record Salesforce refuses fails that item only: the rest is logged,
// and the item is in the Issues list with the reason in words.
func TestCRMRecordErrorGoesToIssues(t *testing.T) {
	v, sf := newCRMEnv(t)
	sf.FailWhere(api.ObjEmailMessage, "Subject", "Scripted inbox item 3", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Subject must name the opportunity", 0)
	v.crmConnect(sf)
	st := v.crmSync()
	if st.State != api.ConnConnected || st.Counts[api.CRMFailed] != 1 || st.Counts[api.CRMLogged] != 32 {
		t.Fatalf("status: %+v", st)
	}
	issues, err := v.e.Issues(context.Background(), "", 0)
	if err != nil || len(issues) != 1 {
		t.Fatalf("issues = %+v, %v", issues, err)
	}
	if is := issues[0]; is.Account != "work" || !strings.Contains(is.Message, "Not logged to Salesforce") ||
		!strings.Contains(is.Message, "Subject must name the opportunity") || !strings.Contains(is.Message, "Scripted inbox item 3") {
		t.Errorf("issue = %+v", is)
	}
}

// Salesforce out of reach: the run is retried after 1, 2 … minutes, the
// connection stays connected (offline never counts) and says why.
func TestCRMOffline(t *testing.T) {
	v, sf := newCRMEnv(t)
	v.crmConnect(sf)
	v.crmSync()
	sf.Close()
	v.mb.Add(api.Inbox, 1, t0.Add(-time.Hour))
	v.clock.Advance(2 * time.Minute)
	if err := v.e.SyncNow(context.Background(), "work"); err != nil {
		t.Fatal(err)
	}
	v.session()
	st := v.crmSync()
	if st.State != api.ConnConnected || !strings.Contains(st.Reason, "Can't reach Salesforce") || st.Counts[api.CRMPending] != 1 ||
		!st.NextRun.After(v.clock.Now()) || st.NextRun.After(v.clock.Now().Add(2*time.Minute)) {
		t.Fatalf("status while Salesforce is out of reach: %+v", st)
	}
}

// Runs that keep failing stop after 10 in a row, with a notice; crm sync
// re-enables logging.
func TestCRMFailedAfterTenRuns(t *testing.T) {
	v, sf := newCRMEnv(t)
	sf.FailNext(api.MaxFailures, 400)
	v.crmConnect(sf)
	var st api.CRMStatus
	for i := 0; i < api.MaxFailures+1 && st.State != api.ConnFailed; i++ {
		st = v.crmSync()
		if st.State != api.ConnFailed && (st.State != api.ConnConnected || st.Reason == "") {
			t.Fatalf("after failed run %d: %+v", i+1, st)
		}
	}
	if st.State != api.ConnFailed || !strings.Contains(st.Reason, "after 10 failed runs") {
		t.Fatalf("after %d failed runs: %+v", api.MaxFailures, st)
	}
	if n := v.next(api.EventNotice); !strings.Contains(n.Title, "Salesforce logging suspended") {
		t.Errorf("notice = %+v", n)
	}
	if status, _ := v.e.Status(context.Background()); status.Worst() != api.Suspended {
		t.Errorf("Worst() = %v", status.Worst())
	}
	if st := v.crmSettled(); st.State != api.ConnConnected || st.Counts[api.CRMLogged] != 33 {
		t.Errorf("crm sync after the suspension: %+v", st)
	}
}
