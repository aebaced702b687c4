package api

import (
	"fmt"
	"slices"
	"strings"
)

// SettingSource says where a setting's effective value comes from.
type SettingSource string

// Sources, from weakest to strongest.
const (
	SourceDefault SettingSource = "default"
	SourcePolicy  SettingSource = "policy"
	SourceUser    SettingSource = "user"
	SourceFlag    SettingSource = "flag"
	SourceLocked  SettingSource = "locked"
)

// LockedWords is what a user is told about a setting they cannot change.
const LockedWords = "Set by your administrator"

// PolicyProblem is one thing wrong in the policy file; the entry it names is
// ignored (its setting falls back as if the policy did not set it).
type PolicyProblem struct {
	// Line is the line of the file, from 1; 0 when the problem is not
	// tied to one (the file cannot be read).
	Line int `json:"line,omitempty"`
	// Key is the setting's dotted name, when known.
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
}

func (p PolicyProblem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Policy is a policy file as read: its valid values and its problems.
// The zero Policy is "no policy".
type Policy struct {
	// Path is the file read; Found is false when it does not exist.
	Path  string `json:"path"`
	Found bool   `json:"found"`
	// Values holds the valid entries by dotted name, in canonical form.
	Values map[string]string `json:"values,omitempty"`
	// Locked names the settings users cannot change (whole tables such as
	// "office365" are expanded to their settings).
	Locked   []string        `json:"locked,omitempty"`
	Problems []PolicyProblem `json:"problems,omitempty"`
}

// Get returns the policy's value of a setting and whether it sets one.
func (p Policy) Get(name string) (string, bool) {
	v, ok := p.Values[name]
	return v, ok
}

// IsLocked reports whether users may not change the setting.
func (p Policy) IsLocked(name string) bool { return slices.Contains(p.Locked, name) }

// Section returns the settings of a table ("exchange", "office365",
// "google", "smtp") without the table's prefix, as a map of what the
// policy sets.
func (p Policy) Section(table string) map[string]string {
	out := map[string]string{}
	for k, v := range p.Values {
		if rest, ok := strings.CutPrefix(k, table+"."); ok {
			out[rest] = v
		}
	}
	return out
}

// The values of the policy's "activation" setting: who connects the
// mailboxes of this computer's user.
const (
	// ActivationUser: the user activates their mailbox on the desktop
	// (the default).
	ActivationUser = "user"
	// ActivationOrganisation: the organisation syncs every mailbox from
	// its servers (organisation mode); the desktop app shows how sync is
	// doing but never asks the user to activate.
	ActivationOrganisation = "organisation"
)

// OrganisationWords is what the tray, the dashboard and the CLI say in
// place of asking the user to activate when the policy's activation is
// "organisation".
const OrganisationWords = "Sync is run by your organisation"

// Organisation returns what the desktop tells the user when the policy
// says the organisation runs sync (activation = "organisation"), and nil
// when the user activates their own mailbox.
func (p Policy) Organisation() *Organisation {
	if v, _ := p.Get("activation"); v != ActivationOrganisation {
		return nil
	}
	admin, _ := p.Get("admin_email")
	return &Organisation{AdminEmail: admin}
}

// Organisation says that the organisation runs sync for this computer's
// user (the policy's activation = "organisation"): no activation is
// offered or accepted on the desktop.
type Organisation struct {
	// AdminEmail is the administrator's address (the policy's
	// admin_email), "" when the policy sets none.
	AdminEmail string `json:"admin_email,omitempty"`
}

// Questions returns "Questions: ADDRESS" for the administrator's
// address, or "" when the policy names none.
func (o Organisation) Questions() string {
	if o.AdminEmail == "" {
		return ""
	}
	return "Questions: " + o.AdminEmail
}

// Words returns the sentence for people: "Sync is run by your
// organisation. Questions: admin@example.com" (without the second part
// when no address is set).
func (o Organisation) Words() string {
	if q := o.Questions(); q != "" {
		return OrganisationWords + ". " + q
	}
	return OrganisationWords + "."
}

// OrganisationError refuses an activation (a new mailbox or signing in
// again) on a computer whose organisation runs sync. It matches ErrLocked:
// it is the administrator's locked choice.
type OrganisationError struct{ Organisation }

// Error says so in words, with the administrator's address when known.
func (e *OrganisationError) Error() string {
	s := OrganisationWords + ": mailboxes are not connected on this computer."
	if q := e.Questions(); q != "" {
		s += " " + q
	}
	return s
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *OrganisationError) Is(target error) bool { return target == ErrLocked }
