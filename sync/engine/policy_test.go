package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/policy"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
	"github.com/inboxsync/inboxsync/sync/store"
)

// policyEngine starts an engine on the store at path with a policy.
func policyEngine(t *testing.T, path string, p api.Policy, conns map[string]provider.Connector) *engine.Engine {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := engine.New(engine.Config{Store: st, Secrets: secrettest.NewMemory(), Clock: newFakeClock(t0),
		Connectors: conns, Policy: p, User: "jdoe"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func wantSetting(t *testing.T, s api.Settings, interval time.Duration, src api.SettingSource) {
	t.Helper()
	if s.Interval.D() != interval || s.Sources["sync_interval"] != src {
		t.Fatalf("interval %v from %s, want %v from %s", s.Interval, s.Sources["sync_interval"], interval, src)
	}
}

func TestPolicySettingsPrecedence(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	e := policyEngine(t, path, policy.Parse("sync_interval = \"15m\"\nhistory_days = 60\n"), nil)
	s, _ := e.Settings(ctx)
	wantSetting(t, s, 15*time.Minute, api.SourcePolicy)
	if s.HistoryDays != 60 || s.Sources["history_days"] != api.SourcePolicy || s.Sources["folders"] != api.SourceDefault {
		t.Fatalf("settings %+v", s)
	}

	// Saving the settings as shown, with only notifications changed, does
	// not turn the policy's defaults into the user's own.
	s.Notifications = false
	s, err := e.UpdateSettings(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if s.Sources["notifications"] != api.SourceUser {
		t.Errorf("notifications from %s", s.Sources["notifications"])
	}
	e.SetPolicy(policy.Parse("sync_interval = \"25m\"\n"))
	s, _ = e.Settings(ctx)
	wantSetting(t, s, 25*time.Minute, api.SourcePolicy)
	if s.HistoryDays != 30 || s.Notifications {
		t.Errorf("after the policy changed: %+v", s)
	}

	// The user's own interval wins over the policy's default …
	s.Interval = api.Duration(45 * time.Minute)
	if s, err = e.UpdateSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantSetting(t, s, 45*time.Minute, api.SourceUser)

	// … and survives a restart.
	e2 := policyEngine(t, path, policy.Parse("sync_interval = \"25m\"\n"), nil)
	s2, _ := e2.Settings(ctx)
	wantSetting(t, s2, 45*time.Minute, api.SourceUser)

	// A locked interval wins over the user's, and cannot be changed.
	e2.SetPolicy(policy.Parse("sync_interval = \"20m\"\nlocked = [\"sync_interval\"]\n"))
	s2, _ = e2.Settings(ctx)
	wantSetting(t, s2, 20*time.Minute, api.SourceLocked)
	s2.Interval = api.Duration(time.Hour)
	_, err = e2.UpdateSettings(ctx, s2)
	if !errors.Is(err, api.ErrLocked) || !strings.HasPrefix(err.Error(), "Set by your administrator: the sync interval (20m0s) cannot be changed") {
		t.Fatalf("changing a locked interval: %v", err)
	}
	// Other settings still change with the locked one as it is.
	s2.Interval = api.Duration(20 * time.Minute)
	s2.HistoryDays = 10
	if s2, err = e2.UpdateSettings(ctx, s2); err != nil || s2.HistoryDays != 10 {
		t.Fatalf("changing an unlocked setting beside a locked one: %+v %v", s2, err)
	}
	// The lock lifted, the user's own interval is back.
	e2.SetPolicy(api.Policy{})
	s2, _ = e2.Settings(ctx)
	wantSetting(t, s2, 45*time.Minute, api.SourceUser)
}

// A store written before policies existed: the saved settings that differ
// from the defaults are the user's.
func TestPolicyOverAStoreFromBeforePolicies(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutSetting(ctx, "settings", `{"interval":"45m0s","history_days":30,"folders":["inbox","sent","calendar"],"notifications":true}`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	e := policyEngine(t, path, policy.Parse("sync_interval = \"15m\"\nhistory_days = 90\n"), nil)
	s, _ := e.Settings(ctx)
	wantSetting(t, s, 45*time.Minute, api.SourceUser)
	if s.HistoryDays != 90 || s.Sources["history_days"] != api.SourcePolicy {
		t.Errorf("history %d from %s, want the policy's 90", s.HistoryDays, s.Sources["history_days"])
	}
}

// recordingConnector remembers the settings of the last request.
type recordingConnector struct {
	*scripted.Connector
	last map[string]string
}

func (c *recordingConnector) Connect(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (provider.Connection, error) {
	c.last = req.Settings
	return c.Connector.Connect(ctx, req, progress)
}

func TestPolicyLocksActivation(t *testing.T) {
	ctx := context.Background()
	mb := scripted.New()
	mb.SetPassword("pw")
	sc := scripted.NewConnector()
	sc.Register("mb", mb)
	rc := &recordingConnector{Connector: sc}
	doc := "provider = \"exchange\"\nexpected_mailbox = \"{user}@contoso.com\"\nlocked = [\"provider\", \"exchange.ews_url\"]\n[exchange]\news_url = \"https://mail.contoso.com/EWS/Exchange.asmx\"\n"
	e := policyEngine(t, filepath.Join(t.TempDir(), "inboxsync.db"), policy.Parse(doc),
		map[string]provider.Connector{"exchange": rc, "scripted": rc})
	req := api.ActivationRequest{Provider: "scripted", Login: "jdoe", Email: "jdoe@contoso.com", Password: "pw", Settings: map[string]string{"mailbox": "mb"}}
	if _, err := e.Activate(ctx, req, nil); !errors.Is(err, api.ErrLocked) || !strings.Contains(err.Error(), "Exchange") {
		t.Fatalf("another provider than the locked one: %v", err)
	}
	req.Provider = "exchange"
	req.Settings["ews_url"] = "https://evil.example/EWS/Exchange.asmx"
	if _, err := e.Activate(ctx, req, nil); !errors.Is(err, api.ErrLocked) || !strings.Contains(err.Error(), "Set by your administrator: ews_url (https://mail.contoso.com/EWS/Exchange.asmx) cannot be changed") {
		t.Fatalf("another EWS URL than the locked one: %v", err)
	}
	if rc.last != nil {
		t.Fatal("a refused activation reached the connector")
	}
	delete(req.Settings, "ews_url")
	// The policy's expected mailbox, {user} expanded: the scripted
	// mailbox resolves to the email asked for, jdoe@contoso.com.
	if _, err := e.Activate(ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	if rc.last["ews_url"] != "https://mail.contoso.com/EWS/Exchange.asmx" {
		t.Errorf("the connector got settings %v, want the locked EWS URL", rc.last)
	}
	req.Login, req.Email, req.Account = "other", "other@contoso.com", "other"
	var mm *api.MailboxMismatchError
	if _, err := e.Activate(ctx, req, nil); !errors.As(err, &mm) || mm.Expected != "jdoe@contoso.com" {
		t.Fatalf("a mailbox other than {user}@contoso.com: %v", err)
	}
	st, _ := e.Status(ctx)
	if st.PolicyPath != "" || len(st.PolicyProblems) != 0 {
		t.Errorf("a parsed (not loaded) policy shows in the status: %+v", st)
	}
	bad := policy.Parse("colour = 1\n")
	bad.Path, bad.Found = "/etc/inboxsync/policy.toml", true
	e.SetPolicy(bad)
	st, _ = e.Status(ctx)
	if st.PolicyPath != bad.Path || len(st.PolicyProblems) != 1 || st.PolicyProblems[0].Line != 1 {
		t.Errorf("status policy problems: %+v", st)
	}
}

// The administrator's [salesforce] behaviour settings: defaults the user
// may override, locks the user may not; the user's own internal domains
// add to the policy's.
func TestPolicyCRMSettings(t *testing.T) {
	ctx := context.Background()
	doc := "locked = [\"salesforce.blocklist\"]\n[salesforce]\ninternal_domains = [\"contoso.com\"]\nblocklist = [\"gmail.com\"]\nlog_email_as = \"task\"\n"
	e := policyEngine(t, filepath.Join(t.TempDir(), "inboxsync.db"), policy.Parse(doc), nil)
	s, err := e.CRMSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Blocklist, []string{"gmail.com"}) || !slices.Equal(s.InternalDomains, []string{"contoso.com"}) || s.LogEmailAs != "task" || s.RemoveDeletedEvents {
		t.Fatalf("settings in force: %+v", s)
	}
	// The locked blocklist cannot change.
	changed := s
	changed.Blocklist = []string{"yahoo.com"}
	if _, err := e.UpdateCRMSettings(ctx, changed); !errors.Is(err, api.ErrLocked) || !strings.Contains(err.Error(), "the blocklist cannot be changed") {
		t.Fatalf("changing the locked blocklist: %v", err)
	}
	// The rest may: an own internal domain adds up, email logging as an
	// EmailMessage overrides the policy's default.
	s.InternalDomains = append(s.InternalDomains, "fabrikam.com")
	s.LogEmailAs = "email"
	if _, err := e.UpdateCRMSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	s, _ = e.CRMSettings(ctx)
	if !slices.Equal(s.InternalDomains, []string{"contoso.com", "fabrikam.com"}) || s.LogEmailAs != "task" {
		// "email" is the built-in default: it reads as no choice, so the
		// policy's "task" stays (README says so).
		t.Fatalf("after the user's change: %+v", s)
	}
	// A later policy reaches the user where they made no choice.
	e.SetPolicy(policy.Parse("[salesforce]\ninternal_domains = [\"northwind.com\"]\n"))
	s, _ = e.CRMSettings(ctx)
	if !slices.Equal(s.InternalDomains, []string{"northwind.com", "fabrikam.com"}) || s.LogEmailAs != "email" || slices.Equal(s.Blocklist, []string{"gmail.com"}) {
		t.Fatalf("after the policy changed: %+v", s)
	}
}

// activation = "organisation": the organisation syncs every mailbox from
// its servers, so the desktop engine connects none and signs none in
// again (the connector is never reached), and its status says who runs
// sync with the administrator's address. The policy read again turns it
// off and on.
func TestPolicyOrganisationActivation(t *testing.T) {
	ctx := context.Background()
	mb := scripted.New()
	mb.SetPassword("pw")
	sc := scripted.NewConnector()
	sc.Register("mb", mb)
	rc := &recordingConnector{Connector: sc}
	e := policyEngine(t, filepath.Join(t.TempDir(), "inboxsync.db"), policy.Parse("admin_email = \"admin@example.com\"\n"),
		map[string]provider.Connector{"scripted": rc})
	st, err := e.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Organisation != nil {
		t.Fatalf("without activation = organisation the status says %+v", st.Organisation)
	}
	req := api.ActivationRequest{Provider: "scripted", Account: "mine", Login: "jdoe", Email: "jdoe@contoso.com", Password: "pw", Settings: map[string]string{"mailbox": "mb"}}
	if _, err := e.Activate(ctx, req, nil); err != nil {
		t.Fatalf("user activation: %v", err)
	}
	rc.last = nil

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	events, err := e.Subscribe(sctx)
	if err != nil {
		t.Fatal(err)
	}
	e.SetPolicy(policy.Parse("activation = \"organisation\"\nadmin_email = \"admin@example.com\"\n"))
	// The settings did not change, but what the status shows did: the
	// tray and the dashboard are told to read it again.
	for got := false; !got; {
		select {
		case ev := <-events:
			got = ev.Type == api.EventSettings
		case <-time.After(5 * time.Second):
			t.Fatal("no settings event after the organisation mode was switched on")
		}
	}
	st, err = e.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Organisation == nil || st.Organisation.AdminEmail != "admin@example.com" || st.Organisation.Words() != "Sync is run by your organisation. Questions: admin@example.com" {
		t.Fatalf("organisation mode: status says %+v", st.Organisation)
	}
	for _, r := range []api.ActivationRequest{
		{Provider: "scripted", Account: "second", Login: "jdoe", Email: "jdoe@contoso.com", Password: "pw", Settings: map[string]string{"mailbox": "mb"}},
		req, // signing the existing account in again
	} {
		_, err := e.Activate(ctx, r, nil)
		var oe *api.OrganisationError
		if !errors.Is(err, api.ErrLocked) || !errors.As(err, &oe) || !strings.Contains(err.Error(), "Sync is run by your organisation") || !strings.Contains(err.Error(), "admin@example.com") {
			t.Fatalf("activation of %q in organisation mode: %v", r.Account, err)
		}
	}
	if rc.last != nil {
		t.Fatal("an activation refused in organisation mode reached the connector")
	}
	if accts, _ := e.Accounts(ctx); len(accts) != 1 {
		t.Fatalf("accounts after refused activations: %+v", accts)
	}

	e.SetPolicy(policy.Parse("activation = \"user\"\n"))
	if st, _ = e.Status(ctx); st.Organisation != nil {
		t.Fatalf("back to user activation, the status still says %+v", st.Organisation)
	}
	req.Account = "second"
	if _, err := e.Activate(ctx, req, nil); err != nil {
		t.Fatalf("activation once the organisation mode is lifted: %v", err)
	}
}
