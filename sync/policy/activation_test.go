package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
)

// The activation key: "user" (the default) or "organisation" (also
// spelled "organization"); anything else is a problem on its line and
// falls back to the user activating.
func TestActivationSetting(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		value   string // "" when the policy must not set it
		org     bool
		problem string
	}{
		{doc: ``, org: false},
		{doc: `activation = "user"`, value: "user"},
		{doc: `activation = "organisation"`, value: "organisation", org: true},
		{doc: `activation = "Organization"`, value: "organisation", org: true},
		{doc: "admin_email = \"it@contoso.com\"\nactivation = \"server\"", problem: `line 2: activation: must be one of "user", "organisation", not "server"`},
		{doc: `activation = true`, problem: "line 1: activation: must be text in quotes, not true/false"},
	} {
		p := Parse(tc.doc)
		got, set := p.Get("activation")
		if got != tc.value || set != (tc.value != "") {
			t.Errorf("%q: activation = %q (set %v), want %q", tc.doc, got, set, tc.value)
		}
		if (p.Organisation() != nil) != tc.org {
			t.Errorf("%q: Organisation() = %v, want organisation %v", tc.doc, p.Organisation(), tc.org)
		}
		var problems []string
		for _, pr := range p.Problems {
			problems = append(problems, pr.String())
		}
		if tc.problem == "" && len(problems) > 0 || tc.problem != "" && (len(problems) != 1 || problems[0] != tc.problem) {
			t.Errorf("%q: problems %q, want %q", tc.doc, problems, tc.problem)
		}
		if v, src := Resolve(p, "activation", "", ""); tc.value == "" && (v != "user" || src != api.SourceDefault) {
			t.Errorf("%q: resolves to %q from %s, want the default user", tc.doc, v, src)
		}
	}
	if !strings.Contains(Description("activation"), "organisation") {
		t.Errorf("activation's description %q does not name organisation", Description("activation"))
	}
}

// What the desktop says in organisation mode: the sentence, with the
// administrator's address when the policy has one; the refusal of an
// activation matches ErrLocked and says the same.
func TestOrganisationWords(t *testing.T) {
	with := Parse("activation = \"organisation\"\nadmin_email = \"admin@example.com\"").Organisation()
	if with == nil || with.Words() != "Sync is run by your organisation. Questions: admin@example.com" {
		t.Fatalf("with admin_email: %+v says %q", with, with.Words())
	}
	without := Parse(`activation = "organisation"`).Organisation()
	if without == nil || without.Words() != "Sync is run by your organisation." || without.Questions() != "" {
		t.Fatalf("without admin_email: %+v says %q", without, without.Words())
	}
	if Parse(`admin_email = "admin@example.com"`).Organisation() != nil {
		t.Fatal("admin_email alone made organisation mode")
	}
	err := error(&api.OrganisationError{Organisation: *with})
	if !errors.Is(err, api.ErrLocked) {
		t.Error("OrganisationError does not match ErrLocked")
	}
	if want := "Sync is run by your organisation: mailboxes are not connected on this computer. Questions: admin@example.com"; err.Error() != want {
		t.Errorf("refusal %q, want %q", err, want)
	}
}
