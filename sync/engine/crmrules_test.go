package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/policy"
)

// wantRules fails unless the CRM rule settings in force are these.
func wantRules(t *testing.T, s api.CRMSettings, keepOut, byHand []string, auto, threads bool, opp string, leads bool) {
	t.Helper()
	if !slices.Equal(s.KeepOut, keepOut) || !slices.Equal(s.LogByHand, byHand) || s.Auto != auto || s.Threads != threads ||
		s.Opportunity != opp || s.CreateLeads != leads {
		t.Fatalf("rules in force: keep out %q, by hand %q, auto %v, threads %v, opportunity %q, create leads %v; want %q %q %v %v %q %v",
			s.KeepOut, s.LogByHand, s.Auto, s.Threads, s.Opportunity, s.CreateLeads, keepOut, byHand, auto, threads, opp, leads)
	}
}

// The rules' defaults, also for settings stored before the rules existed
// (no keys: Auto and Threads must read as on), and the logger's
// configuration built from them.
func TestCRMRuleSettingsDefaults(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t)
	s, err := v.e.CRMSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRules(t, s, api.DefaultKeepOut, api.DefaultLogByHand, true, true, api.OppSingleOpen, false)
	c := v.e.LogConfig(ctx)
	if !slices.Equal(c.KeepOut, api.DefaultKeepOut) || !slices.Equal(c.LogByHand, api.DefaultLogByHand) || c.ByHandOnly || !c.Threads ||
		c.Opportunity != api.OppSingleOpen || c.CreateLeads {
		t.Fatalf("logger config from the defaults: %+v", c)
	}

	// An issue-11 store: the settings without any rule key.
	old := `{"internal_domains":["partner.example"],"blocklist":null,"log_email_as":"task","remove_deleted_events":true}`
	if err := v.st.PutSetting(ctx, "crm_settings", old); err != nil {
		t.Fatal(err)
	}
	v.restart()
	s, _ = v.e.CRMSettings(ctx)
	wantRules(t, s, api.DefaultKeepOut, api.DefaultLogByHand, true, true, api.OppSingleOpen, false)
	if s.LogEmailAs != api.AsTask || !s.RemoveDeletedEvents || !slices.Equal(s.InternalDomains, []string{"partner.example"}) {
		t.Fatalf("the old settings were not kept: %+v", s)
	}

	// The defaults sent back unchanged are stored as no choice.
	if _, err := v.e.UpdateCRMSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	raw, _, _ := v.st.Setting(ctx, "crm_settings")
	for _, want := range []string{`"keep_out":null`, `"log_by_hand":null`} {
		if !strings.Contains(raw, want) {
			t.Errorf("stored %s, want %s in it", raw, want)
		}
	}
	for _, key := range []string{`"auto"`, `"threads"`, `"opportunity"`, `"create_leads"`} {
		if strings.Contains(raw, key) {
			t.Errorf("the default %s was stored as a choice: %s", key, raw)
		}
	}
}

// The user's choices are checked, kept across a restart and reach the
// logger (automatic logging off = by hand only).
func TestCRMRuleSettingsChanged(t *testing.T) {
	ctx := context.Background()
	v := newEnv(t)
	s, _ := v.e.CRMSettings(ctx)
	for _, c := range []struct {
		change func(*api.CRMSettings)
		words  string
	}{
		{func(s *api.CRMSettings) { s.Opportunity = "newest" }, "choose off, single-open"},
		{func(s *api.CRMSettings) { s.KeepOut = []string{"Private", " "} }, "keep-out categories: a category or label name cannot be empty"},
		{func(s *api.CRMSettings) { s.LogByHand = []string{"Sales\nforce"} }, "must be on one line"},
		{func(s *api.CRMSettings) { s.LogByHand = []string{strings.Repeat("é", 256)} }, "longer than 255 characters"},
		{func(s *api.CRMSettings) { s.KeepOut = []string{"HR, Payroll"} }, "cannot hold a comma"},
	} {
		bad := s
		c.change(&bad)
		if _, err := v.e.UpdateCRMSettings(ctx, bad); !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), c.words) {
			t.Errorf("UpdateCRMSettings(%q %q %q) = %v, want ErrInvalid saying %q", bad.KeepOut, bad.LogByHand, bad.Opportunity, err, c.words)
		}
	}
	// 255 characters (not bytes) is fine.
	ok := s
	ok.LogByHand = []string{strings.Repeat("é", 255)}
	if _, err := v.e.UpdateCRMSettings(ctx, ok); err != nil {
		t.Fatalf("a 255-character name: %v", err)
	}

	s.KeepOut, s.LogByHand = []string{" HR ", "hr", "Travel"}, []string{}
	s.Auto, s.Threads, s.Opportunity, s.CreateLeads = false, false, "Most-Recent", true
	got, err := v.e.UpdateCRMSettings(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	wantRules(t, got, []string{"HR", "Travel"}, []string{}, false, false, api.OppMostRecent, true)
	v.restart()
	got, _ = v.e.CRMSettings(ctx)
	wantRules(t, got, []string{"HR", "Travel"}, []string{}, false, false, api.OppMostRecent, true)
	c := v.e.LogConfig(ctx)
	if !slices.Equal(c.KeepOut, []string{"HR", "Travel"}) || len(c.LogByHand) != 0 || !c.ByHandOnly || c.Threads ||
		c.Opportunity != api.OppMostRecent || !c.CreateLeads {
		t.Fatalf("logger config: %+v", c)
	}

	// Back to the defaults with nil lists ("default").
	got.KeepOut, got.LogByHand = nil, nil
	if got, err = v.e.UpdateCRMSettings(ctx, got); err != nil {
		t.Fatal(err)
	}
	wantRules(t, got, api.DefaultKeepOut, api.DefaultLogByHand, false, false, api.OppMostRecent, true)
}

// The [salesforce] rule keys: a locked one is refused with its value in
// force, an unlocked one is a default the user overrides, a key locked
// without a value locks the built-in default, and the user's choice
// comes back when a lock is lifted.
func TestPolicyCRMRules(t *testing.T) {
	ctx := context.Background()
	doc := "locked = [\"salesforce.auto_log\", \"salesforce.create_leads\"]\n[salesforce]\nauto_log = false\nthreads = false\n" +
		"keep_out_categories = [\"Confidential HR\"]\nopportunity = \"off\"\n"
	e := policyEngine(t, filepath.Join(t.TempDir(), "inboxsync.db"), policy.Parse(doc), nil)
	s, err := e.CRMSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRules(t, s, []string{"Confidential HR"}, api.DefaultLogByHand, false, false, api.OppOff, false)
	if c := e.LogConfig(ctx); !c.ByHandOnly || c.Threads || c.Opportunity != api.OppOff {
		t.Fatalf("logger config under the policy: %+v", c)
	}

	for _, c := range []struct {
		change func(*api.CRMSettings)
		words  string
	}{
		{func(s *api.CRMSettings) { s.Auto = true }, "automatic logging (off) cannot be changed"},
		{func(s *api.CRMSettings) { s.CreateLeads = true }, "creating Leads (off) cannot be changed"},
	} {
		changed := s
		c.change(&changed)
		if _, err := e.UpdateCRMSettings(ctx, changed); !errors.Is(err, api.ErrLocked) || !strings.Contains(err.Error(), c.words) {
			t.Errorf("changing a locked rule: %v, want ErrLocked saying %q", err, c.words)
		}
	}

	// Unlocked policy values are defaults the user's choice overrides.
	s.Threads, s.Opportunity, s.KeepOut = true, api.OppMostRecent, []string{"Confidential HR", "Payroll"}
	if s, err = e.UpdateCRMSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantRules(t, s, []string{"Confidential HR", "Payroll"}, api.DefaultLogByHand, false, true, api.OppMostRecent, false)

	// A new policy: auto_log unlocked (the user made no choice: the
	// built-in on), threads locked off, the user's opportunity and
	// keep-out choices stay.
	e.SetPolicy(policy.Parse("locked = [\"salesforce.threads\"]\n[salesforce]\nthreads = false\n"))
	s, _ = e.CRMSettings(ctx)
	wantRules(t, s, []string{"Confidential HR", "Payroll"}, api.DefaultLogByHand, true, false, api.OppMostRecent, false)
	// Saving while threads is locked keeps the user's own "on" for later.
	s.CreateLeads = true
	if s, err = e.UpdateCRMSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantRules(t, s, []string{"Confidential HR", "Payroll"}, api.DefaultLogByHand, true, false, api.OppMostRecent, true)
	e.SetPolicy(policy.Parse(""))
	s, _ = e.CRMSettings(ctx)
	wantRules(t, s, []string{"Confidential HR", "Payroll"}, api.DefaultLogByHand, true, true, api.OppMostRecent, true)
}

// Every rule the logger names has words in the activity lists.
func TestCRMRuleWordsKnowEveryRule(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range []string{crm.RuleParticipants, crm.RuleKeepOut, crm.RuleByHand, crm.RuleAutoOff, crm.RuleThread} {
		w := api.CRMRuleWords(r)
		if w == "" || (w == r && r != crm.RuleParticipants) || seen[w] {
			t.Errorf("rule %q has the words %q", r, w)
		}
		seen[w] = true
	}
	if api.CRMRuleWords("") != "" {
		t.Error("no rule has words")
	}
}
