package engine

// The CRM rules' settings (issue 20, docs/salesforce.md "Rules"): keep
// out, log by hand, automatic logging, whole threads, opportunities and
// new Leads. Each resolves on its own like the engine's settings: locked
// policy > the user's own choice > the policy as a default > the built-in
// default (policy.Default). The store keeps only the user's choices, so
// "no choice" must be told from a choice: Auto and Threads default to
// true, and a store written before the rules existed has no keys at all.

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/policy"
)

// Names of the CRM rules' settings in the policy.
const (
	nameCRMKeepOut   = "salesforce.keep_out_categories"
	nameCRMByHand    = "salesforce.log_categories"
	nameCRMAuto      = "salesforce.auto_log"
	nameCRMThreads   = "salesforce.threads"
	nameCRMOpp       = "salesforce.opportunity"
	nameCRMNewLeads  = "salesforce.create_leads"
	crmRuleSeparator = ","
)

// crmRuleNames are the rules' settings, in the order they are shown.
var crmRuleNames = []string{nameCRMAuto, nameCRMKeepOut, nameCRMByHand, nameCRMThreads, nameCRMOpp, nameCRMNewLeads}

// crmRuleWords names each rule setting for people (in errors).
var crmRuleWords = map[string]string{
	nameCRMKeepOut: "the keep-out categories", nameCRMByHand: "the log-by-hand categories", nameCRMAuto: "automatic logging",
	nameCRMThreads: "logging whole threads", nameCRMOpp: "relating items to opportunities", nameCRMNewLeads: "creating Leads",
}

// crmStored is the CRM settings as the store keeps them: the user's own.
// The embedded settings hold everything but the rules, whose fields here
// hide the embedded ones (in JSON too) and say "no choice" with nil (or
// "" for Opportunity). The embedded rule fields are unused.
type crmStored struct {
	api.CRMSettings
	// KeepOut and LogByHand: nil is no choice, empty is "none".
	KeepOut   []string `json:"keep_out"`
	LogByHand []string `json:"log_by_hand"`
	Auto      *bool    `json:"auto,omitempty"`
	Threads   *bool    `json:"threads,omitempty"`
	// Opportunity: "" is no choice.
	Opportunity string `json:"opportunity,omitempty"`
	CreateLeads *bool  `json:"create_leads,omitempty"`
}

// clone returns a copy of s sharing no slice or pointer with it.
func (s crmStored) clone() crmStored {
	s.InternalDomains, s.Blocklist = slices.Clone(s.InternalDomains), slices.Clone(s.Blocklist)
	s.KeepOut, s.LogByHand = slices.Clone(s.KeepOut), slices.Clone(s.LogByHand)
	for _, p := range []**bool{&s.Auto, &s.Threads, &s.CreateLeads} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	s.CRMSettings.KeepOut, s.CRMSettings.LogByHand, s.CRMSettings.Opportunity = nil, nil, ""
	s.CRMSettings.Auto, s.CRMSettings.Threads, s.CRMSettings.CreateLeads = false, false, false
	return s
}

// own returns the user's choice for a rule setting in the policy's
// canonical text form; ok is false for no choice.
func (s crmStored) own(name string) (v string, ok bool) {
	boolText := func(b *bool) (string, bool) {
		if b == nil {
			return "", false
		}
		return strconv.FormatBool(*b), true
	}
	switch name {
	case nameCRMKeepOut:
		return strings.Join(s.KeepOut, crmRuleSeparator), s.KeepOut != nil
	case nameCRMByHand:
		return strings.Join(s.LogByHand, crmRuleSeparator), s.LogByHand != nil
	case nameCRMAuto:
		return boolText(s.Auto)
	case nameCRMThreads:
		return boolText(s.Threads)
	case nameCRMOpp:
		return s.Opportunity, s.Opportunity != ""
	case nameCRMNewLeads:
		return boolText(s.CreateLeads)
	}
	return "", false
}

// setOwn sets the user's choice for a rule setting from its text form;
// ok false makes it no choice.
func (s *crmStored) setOwn(name, v string, ok bool) {
	boolPtr := func() *bool {
		if !ok {
			return nil
		}
		b := policy.Bool(v)
		return &b
	}
	list := func() []string {
		if !ok {
			return nil
		}
		return categoryList(v)
	}
	switch name {
	case nameCRMKeepOut:
		s.KeepOut = list()
	case nameCRMByHand:
		s.LogByHand = list()
	case nameCRMAuto:
		s.Auto = boolPtr()
	case nameCRMThreads:
		s.Threads = boolPtr()
	case nameCRMOpp:
		s.Opportunity = ""
		if ok {
			s.Opportunity = v
		}
	case nameCRMNewLeads:
		s.CreateLeads = boolPtr()
	}
}

// categoryList splits a canonical list of category names; "" is the
// empty list (not nil: "none" is a choice).
func categoryList(v string) []string {
	if v == "" {
		return []string{}
	}
	return strings.Split(v, crmRuleSeparator)
}

// crmRuleText returns a rule setting's value in force (s) in the policy's
// canonical text form.
func crmRuleText(s api.CRMSettings, name string) string {
	switch name {
	case nameCRMKeepOut:
		return strings.Join(s.KeepOut, crmRuleSeparator)
	case nameCRMByHand:
		return strings.Join(s.LogByHand, crmRuleSeparator)
	case nameCRMAuto:
		return strconv.FormatBool(s.Auto)
	case nameCRMThreads:
		return strconv.FormatBool(s.Threads)
	case nameCRMOpp:
		return s.Opportunity
	case nameCRMNewLeads:
		return strconv.FormatBool(s.CreateLeads)
	}
	return ""
}

// setCRMRule sets a rule setting in force from its text form.
func setCRMRule(s *api.CRMSettings, name, v string) {
	switch name {
	case nameCRMKeepOut:
		s.KeepOut = categoryList(v)
	case nameCRMByHand:
		s.LogByHand = categoryList(v)
	case nameCRMAuto:
		s.Auto = policy.Bool(v)
	case nameCRMThreads:
		s.Threads = policy.Bool(v)
	case nameCRMOpp:
		s.Opportunity = v
	case nameCRMNewLeads:
		s.CreateLeads = policy.Bool(v)
	}
}

// crmRuleBase is a rule setting's value when the user made no choice:
// the policy's (locked or default), else the built-in default. A key
// locked without a value locks the built-in default.
func crmRuleBase(p api.Policy, name string) string {
	if v, ok := p.Get(name); ok {
		return v
	}
	return policy.Default(name)
}

// sameRuleText compares two values of a rule setting; category names
// compare case-insensitively, as the logger matches them.
func sameRuleText(name, a, b string) bool {
	if name == nameCRMKeepOut || name == nameCRMByHand {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// resolveCRMRules fills s's rule settings from the user's own choices and
// the policy.
func resolveCRMRules(p api.Policy, s *api.CRMSettings, own crmStored) {
	for _, n := range crmRuleNames {
		v := crmRuleBase(p, n)
		if u, ok := own.own(n); ok && !p.IsLocked(n) {
			v = u
		}
		setCRMRule(s, n, v)
	}
}

// checkCRMRules validates the rule settings of s and returns them
// normalized: category names trimmed and each once (case-insensitively),
// the opportunity choice lower-case. Nil lists and an empty opportunity
// stay (the default).
func checkCRMRules(s api.CRMSettings) (api.CRMSettings, error) {
	var err error
	if s.KeepOut, err = checkCategories("keep-out", s.KeepOut); err != nil {
		return s, err
	}
	if s.LogByHand, err = checkCategories("log-by-hand", s.LogByHand); err != nil {
		return s, err
	}
	s.Opportunity = strings.ToLower(strings.TrimSpace(s.Opportunity))
	switch s.Opportunity {
	case "", api.OppOff, api.OppSingleOpen, api.OppMostRecent:
	default:
		return s, fmt.Errorf("%w: relating items to opportunities %q: choose off, single-open (the Account's one open Opportunity) or most-recent (its open Opportunity changed last)", api.ErrInvalid, s.Opportunity)
	}
	return s, nil
}

// checkCategories checks a list of category or label names.
func checkCategories(what string, names []string) ([]string, error) {
	if names == nil {
		return nil, nil
	}
	out := []string{}
	for _, n := range names {
		c, err := policy.CheckCategory(n)
		if err != nil {
			return nil, fmt.Errorf("%w: the %s categories: %v", api.ErrInvalid, what, err)
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, c) }) {
			out = append(out, c)
		}
	}
	return out, nil
}

// checkCRMRulesLocked refuses a change of a rule setting the policy locks:
// s must keep the value in force (cur). A nil list (back to the default)
// changes nothing while locked.
func checkCRMRulesLocked(p api.Policy, cur, s api.CRMSettings) error {
	for _, n := range crmRuleNames {
		if !p.IsLocked(n) {
			continue
		}
		if (n == nameCRMKeepOut && s.KeepOut == nil) || (n == nameCRMByHand && s.LogByHand == nil) || (n == nameCRMOpp && s.Opportunity == "") {
			continue
		}
		if !sameRuleText(n, crmRuleText(cur, n), crmRuleText(s, n)) {
			return fmt.Errorf("%w: %s (%s) cannot be changed", api.ErrLocked, crmRuleWords[n], crmRuleShown(cur, n))
		}
	}
	return nil
}

// crmRuleShown is a rule setting's value in force as an error shows it.
func crmRuleShown(s api.CRMSettings, name string) string {
	v := crmRuleText(s, name)
	switch name {
	case nameCRMAuto, nameCRMThreads, nameCRMNewLeads:
		if v == "true" {
			return "on"
		}
		return "off"
	case nameCRMKeepOut, nameCRMByHand:
		if v == "" {
			return "none"
		}
		return strings.ReplaceAll(v, crmRuleSeparator, ", ")
	}
	return v
}

// crmRulesOwn returns prev (the user's stored choices) with the rule
// settings of s (checked) as the user's own: a value equal to what applies
// without a choice (the policy's or the built-in default) is no choice, so
// that a later policy reaches the user; a nil list or an empty opportunity
// is no choice; a locked setting keeps the user's earlier choice, for when
// the lock is lifted.
func crmRulesOwn(p api.Policy, prev crmStored, s api.CRMSettings) crmStored {
	out := prev.clone()
	for _, n := range crmRuleNames {
		if p.IsLocked(n) {
			continue
		}
		if (n == nameCRMKeepOut && s.KeepOut == nil) || (n == nameCRMByHand && s.LogByHand == nil) || (n == nameCRMOpp && s.Opportunity == "") {
			out.setOwn(n, "", false)
			continue
		}
		v := crmRuleText(s, n)
		out.setOwn(n, v, !sameRuleText(n, v, crmRuleBase(p, n)))
	}
	return out
}

// crmPolicyShown is what of a policy the CRM settings in force depend on
// (the [salesforce] values and locks), as one comparable string.
func crmPolicyShown(p api.Policy) string {
	var b strings.Builder
	sec := p.Section(api.CRMSalesforce)
	keys := slices.Sorted(maps.Keys(sec))
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s;locked=%v\n", k, sec[k], p.IsLocked(api.CRMSalesforce+"."+k))
	}
	for _, n := range p.Locked {
		if strings.HasPrefix(n, api.CRMSalesforce+".") {
			b.WriteString("locked " + n + "\n")
		}
	}
	return b.String()
}

// CRMSettingText returns one CRM behaviour setting in force, by its
// policy name (salesforce.internal_domains, salesforce.auto_log, …), in
// the policy's canonical form ("Private,Don't log", "true"); ok is false
// for another name.
func CRMSettingText(s api.CRMSettings, name string) (v string, ok bool) {
	switch name {
	case nameCRMInternal:
		return strings.Join(s.InternalDomains, ","), true
	case nameCRMBlock:
		return strings.Join(s.Blocklist, ","), true
	case nameCRMLogAs:
		return s.LogEmailAs, true
	case nameCRMRemove:
		return strconv.FormatBool(s.RemoveDeletedEvents), true
	}
	if slices.Contains(crmRuleNames, name) {
		return crmRuleText(s, name), true
	}
	return "", false
}
