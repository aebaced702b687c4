package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/policy"
	"github.com/inboxsync/inboxsync/sync/store"
)

// This file applies the administrator's policy (sync/policy) to the
// engine's settings and activations. Settings resolve, each on its own, as
// locked policy > user settings > policy as a default > built-in default;
// the user's settings are those they changed themselves, so a policy
// default reaches every user who did not.

// userSetKey stores the names of the settings the user set themselves.
const userSetKey = "settings_user"

// Names of the engine's settings, as the policy and Settings.Sources name
// them.
const (
	nameInterval      = "sync_interval"
	nameHistoryDays   = "history_days"
	nameFolders       = "folders"
	nameNotifications = "notifications"
	nameKeepDays      = "keep_days"
)

// policyNames are the engine settings a policy may set; ownNames all the
// settings a user may set.
var (
	policyNames = []string{nameInterval, nameHistoryDays, nameFolders}
	ownNames    = []string{nameInterval, nameHistoryDays, nameFolders, nameNotifications, nameKeepDays}
)

// settingWords names each engine setting for people.
var settingWords = map[string]string{
	nameInterval: "the sync interval", nameHistoryDays: "the history window", nameFolders: "the folders to sync",
}

// Policy implements api.Control: the administrator's policy as the
// agent read it, with its problems.
func (e *Engine) Policy(ctx context.Context) (api.Policy, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.policy, nil
}

// SetPolicy applies a policy read again: the settings resolve anew (an
// EventSettings follows when they changed, or what Status shows of the
// policy did: the organisation mode, the problems), and the expected mailbox and
// its enforcement follow the policy's expected_mailbox ({user} expanded
// with Config.User) and enforce_mailbox.
func (e *Engine) SetPolicy(p api.Policy) {
	e.mu.Lock()
	shownBefore := policyShown(e.policy)
	crmBefore := crmPolicyShown(e.policy)
	e.policy = p
	before := e.settings
	e.settings = resolveSettings(p, e.user, e.userSet)
	after := e.settings
	e.mu.Unlock()
	if v, ok := p.Get("expected_mailbox"); ok {
		e.SetMailboxPolicy(policy.ExpandUser(v, e.cfg.User), policy.Bool(p.Values["enforce_mailbox"]))
	} else {
		e.SetMailboxPolicy(e.cfg.ExpectedMailbox, e.cfg.EnforceMailbox || policy.Bool(p.Values["enforce_mailbox"]))
	}
	if !sameSettings(before, after) || policyShown(p) != shownBefore || crmPolicyShown(p) != crmBefore {
		// The status shows the organisation mode and the policy's
		// problems, the dashboard the CRM settings in force: the tray
		// and the dashboard read them again on this.
		e.emit(api.Event{Type: api.EventSettings})
		if before.Interval != after.Interval {
			for _, r := range e.runnerList() {
				r.settingsChanged(after.Interval.D())
			}
		}
	}
}

// policyShown is what Status shows of a policy (Organisation, the file's
// problems), as one comparable string.
func policyShown(p api.Policy) string {
	var b strings.Builder
	if o := p.Organisation(); o != nil {
		b.WriteString("organisation " + o.AdminEmail + "\n")
	}
	if p.Found {
		b.WriteString(p.Path + "\n")
		for _, pr := range p.Problems {
			b.WriteString(pr.String() + "\n")
		}
	}
	return b.String()
}

// sameSettings reports whether a and b are the same settings from the same
// sources.
func sameSettings(a, b api.Settings) bool {
	return a.Interval == b.Interval && a.HistoryDays == b.HistoryDays && a.Notifications == b.Notifications && a.KeepDays == b.KeepDays &&
		slices.Equal(a.Folders, b.Folders) && maps.Equal(a.Sources, b.Sources)
}

// loadUserSettings reads the user's own settings and which of them they
// set. A store written before policies existed has no list: the settings
// that differ from the built-in defaults count as the user's.
func loadUserSettings(ctx context.Context, st *store.Store) (api.Settings, []string, error) {
	s, err := loadSettings(ctx, st)
	if err != nil {
		return s, nil, err
	}
	v, ok, err := st.Setting(ctx, userSetKey)
	if err != nil {
		return s, nil, err
	}
	if ok {
		var names []string
		if err := json.Unmarshal([]byte(v), &names); err == nil {
			return s, names, nil
		}
	}
	d := api.DefaultSettings()
	var names []string
	for _, n := range ownNames {
		if SettingText(s, n) != SettingText(d, n) {
			names = append(names, n)
		}
	}
	return s, names, nil
}

// SettingText returns one setting's value, by its policy name (sync_interval,
// history_days, folders, notifications, keep_days), in the policy's
// canonical form ("30m0s", "inbox,sent"); "" for another name.
func SettingText(s api.Settings, name string) string {
	switch name {
	case nameInterval:
		return s.Interval.D().String()
	case nameHistoryDays:
		return strconv.Itoa(s.HistoryDays)
	case nameFolders:
		f := make([]string, len(s.Folders))
		for i, x := range s.Folders {
			f[i] = string(x)
		}
		return strings.Join(f, ",")
	case nameNotifications:
		return strconv.FormatBool(s.Notifications)
	case nameKeepDays:
		return strconv.Itoa(s.KeepDays)
	}
	return ""
}

// resolveSettings computes the effective settings from the policy, the
// user's settings and the names the user set.
func resolveSettings(p api.Policy, user api.Settings, userSet []string) api.Settings {
	s := api.DefaultSettings()
	s.Sources = map[string]api.SettingSource{}
	for _, n := range policyNames {
		uv := ""
		if slices.Contains(userSet, n) {
			uv = SettingText(user, n)
		}
		v, src := policy.Resolve(p, n, "", uv)
		s.Sources[n] = src
		switch n {
		case nameInterval:
			if d, err := time.ParseDuration(v); err == nil {
				s.Interval = api.Duration(d)
			}
		case nameHistoryDays:
			if d, err := strconv.Atoi(v); err == nil {
				s.HistoryDays = d
			}
		case nameFolders:
			s.Folders = nil
			for _, f := range policy.List(v) {
				s.Folders = append(s.Folders, api.Folder(f))
			}
		}
	}
	// Settings the policy does not hold: the user's, or the default.
	s.Sources[nameNotifications], s.Sources[nameKeepDays] = api.SourceDefault, api.SourceDefault
	if slices.Contains(userSet, nameNotifications) {
		s.Notifications = user.Notifications
		s.Sources[nameNotifications] = api.SourceUser
	}
	if slices.Contains(userSet, nameKeepDays) {
		s.KeepDays = user.KeepDays
		s.Sources[nameKeepDays] = api.SourceUser
	}
	return s
}

// checkLocked refuses a change to a locked setting: s must keep the
// effective value of every setting the policy locks.
func checkLocked(cur, s api.Settings) error {
	for _, n := range policyNames {
		if cur.Sources[n] == api.SourceLocked && SettingText(cur, n) != SettingText(s, n) {
			return fmt.Errorf("%w: %s (%s) cannot be changed", api.ErrLocked, settingWords[n], SettingText(cur, n))
		}
	}
	return nil
}

// keepLockedOwn returns s with the user's own values (from user) in place
// of the settings the policy locks: saving the settings while a value is
// locked keeps what the user had chosen for when the lock is lifted.
func keepLockedOwn(cur, s, user api.Settings) api.Settings {
	for _, n := range policyNames {
		if cur.Sources[n] != api.SourceLocked {
			continue
		}
		switch n {
		case nameInterval:
			s.Interval = user.Interval
		case nameHistoryDays:
			s.HistoryDays = user.HistoryDays
		case nameFolders:
			s.Folders = slices.Clone(user.Folders)
		}
	}
	return s
}

// userChanges returns the names the user sets by saving s: those they had
// set, and those s changes.
func userChanges(cur, s api.Settings, had []string) []string {
	out := slices.Clone(had)
	for _, n := range ownNames {
		if !slices.Contains(out, n) && SettingText(cur, n) != SettingText(s, n) {
			out = append(out, n)
		}
	}
	return out
}

// checkActivationPolicy refuses an activation whose request changes what
// the policy locks: the provider, or a provider setting such as the EWS URL;
// and every activation when the organisation runs sync (activation =
// "organisation").
func (e *Engine) checkActivationPolicy(req api.ActivationRequest) error {
	e.mu.Lock()
	p := e.policy
	e.mu.Unlock()
	if org := p.Organisation(); org != nil {
		// The organisation syncs every mailbox from its servers: the
		// desktop connects none, and signs none in again.
		return &api.OrganisationError{Organisation: *org}
	}
	if p.IsLocked("provider") {
		if want, ok := p.Get("provider"); ok && req.Provider != want {
			return fmt.Errorf("%w: the mailbox service is %s; %s accounts cannot be connected", api.ErrLocked, api.ProviderWords(want), api.ProviderWords(req.Provider))
		}
	}
	for key, want := range e.lockedSettings(req.Provider) {
		if got := req.Settings[key]; got != "" && got != want {
			return fmt.Errorf("%w: %s (%s) cannot be changed", api.ErrLocked, key, shown(key, want))
		}
	}
	return nil
}

// lockedSettings returns the provider settings the policy locks, by the
// provider's setting names (which are the policy table's keys).
func (e *Engine) lockedSettings(prov string) map[string]string {
	e.mu.Lock()
	p := e.policy
	e.mu.Unlock()
	out := map[string]string{}
	table := policy.Table(prov)
	if table == "" {
		return out
	}
	for key, v := range p.Section(table) {
		if p.IsLocked(table + "." + key) {
			out[key] = v
		}
	}
	return out
}

// shown is a policy value as an error may show it: never a secret.
func shown(key, v string) string {
	if strings.Contains(key, "secret") {
		return "hidden"
	}
	return v
}

// currentPolicy returns the policy in force.
func (e *Engine) currentPolicy() api.Policy {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.policy
}

// Names of the CRM behaviour settings in the policy.
const (
	nameCRMInternal = "salesforce.internal_domains"
	nameCRMBlock    = "salesforce.blocklist"
	nameCRMLogAs    = "salesforce.log_email_as"
	nameCRMRemove   = "salesforce.remove_deleted_events"
)

// crmPolicy returns the CRM settings s (the user's) with the policy
// applied: a locked value replaces the user's; an unlocked one is the
// default the user's own choice overrides (internal domains add up; a
// blocklist the user never edited, email logging as EmailMessage and
// keeping cancelled meetings' Events count as no choice).
func (e *Engine) crmPolicy(own crmStored) api.CRMSettings {
	p := e.currentPolicy()
	s := own.clone().CRMSettings
	resolveCRMRules(p, &s, own)
	if v, ok := p.Get(nameCRMInternal); ok {
		if p.IsLocked(nameCRMInternal) {
			s.InternalDomains = policy.List(v)
		} else {
			merged := policy.List(v)
			for _, d := range s.InternalDomains {
				if !slices.Contains(merged, d) {
					merged = append(merged, d)
				}
			}
			s.InternalDomains = merged
		}
	}
	if v, ok := p.Get(nameCRMBlock); ok && (p.IsLocked(nameCRMBlock) || s.Blocklist == nil) {
		s.Blocklist = policy.List(v)
	}
	if v, ok := p.Get(nameCRMLogAs); ok && (p.IsLocked(nameCRMLogAs) || s.LogEmailAs == "" || s.LogEmailAs == api.AsEmailMessage) {
		s.LogEmailAs = v
	}
	if v, ok := p.Get(nameCRMRemove); ok && (p.IsLocked(nameCRMRemove) || !s.RemoveDeletedEvents) {
		s.RemoveDeletedEvents = policy.Bool(v)
	}
	return s
}

// checkCRMLocked refuses a change of a CRM setting the policy locks: s
// must keep the value in force (cur).
func (e *Engine) checkCRMLocked(cur, s api.CRMSettings) error {
	p := e.currentPolicy()
	if err := checkCRMRulesLocked(p, cur, s); err != nil {
		return err
	}
	same := map[string]bool{
		nameCRMInternal: slices.Equal(cur.InternalDomains, s.InternalDomains),
		nameCRMBlock:    s.Blocklist == nil || slices.Equal(cur.Blocklist, s.Blocklist),
		nameCRMLogAs:    cur.LogEmailAs == s.LogEmailAs,
		nameCRMRemove:   cur.RemoveDeletedEvents == s.RemoveDeletedEvents,
	}
	words := map[string]string{nameCRMInternal: "the internal domains", nameCRMBlock: "the blocklist", nameCRMLogAs: "how emails are logged", nameCRMRemove: "removing cancelled meetings"}
	for _, n := range []string{nameCRMInternal, nameCRMBlock, nameCRMLogAs, nameCRMRemove} {
		if p.IsLocked(n) && !same[n] {
			return fmt.Errorf("%w: %s cannot be changed", api.ErrLocked, words[n])
		}
	}
	return nil
}

// crmOwn returns what of s is the user's own, given the policy: values
// equal to the policy's unlocked defaults are stored as no choice, so that
// a later policy change reaches the user.
func (e *Engine) crmOwn(s api.CRMSettings) api.CRMSettings {
	e.mu.Lock()
	p := e.policy
	e.mu.Unlock()
	if v, ok := p.Get(nameCRMInternal); ok {
		pol := policy.List(v)
		s.InternalDomains = slices.DeleteFunc(slices.Clone(s.InternalDomains), func(d string) bool { return slices.Contains(pol, d) })
	}
	if v, ok := p.Get(nameCRMBlock); ok && slices.Equal(s.Blocklist, policy.List(v)) {
		s.Blocklist = nil
	}
	if v, ok := p.Get(nameCRMLogAs); ok && s.LogEmailAs == v {
		s.LogEmailAs = api.AsEmailMessage
	}
	if v, ok := p.Get(nameCRMRemove); ok && s.RemoveDeletedEvents == policy.Bool(v) {
		s.RemoveDeletedEvents = false
	}
	return s
}
