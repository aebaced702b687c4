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
