package api

import (
	"fmt"
	"time"
)

// CRMSalesforce is the name of the one CRM Inbox Sync connects to.
const CRMSalesforce = "salesforce"

// CRMSettings are the CRM connection's settings (config.json's salesforce
// keys, `inboxsync crm settings`). None is a secret.
type CRMSettings struct {
	// LoginURL, ClientID, RedirectPort and APIVersion are how to sign in
	// (empty or 0: the connector's defaults).
	LoginURL     string `json:"login_url,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	RedirectPort int    `json:"redirect_port,omitempty"`
	APIVersion   string `json:"api_version,omitempty"`
	// InternalDomains are more internal domains than the mailboxes' own.
	InternalDomains []string `json:"internal_domains"`
	// Blocklist are the domains left out before matching ("yahoo.*").
	// Settings returns the list in force (crmlog.DefaultBlocklist unless
	// changed).
	Blocklist []string `json:"blocklist"`
	// LogEmailAs is "email" (an EmailMessage) or "task".
	LogEmailAs string `json:"log_email_as"`
	// RemoveDeletedEvents deletes the Event of a meeting cancelled or
	// deleted in the mailbox.
	RemoveDeletedEvents bool `json:"remove_deleted_events"`
	// Budget is the share of the org's daily API allocation past which
	// logging stops and backs off (0: 0.9).
	Budget float64 `json:"budget,omitempty"`

	// The CRM rules (docs/salesforce.md "Rules"). Settings returns the
	// values in force: the defaults below unless changed.

	// KeepOut are the categories (Exchange, Office 365) or labels (Gmail)
	// that keep an item out of the CRM, compared case-insensitively;
	// default "Private", "Don't log". Items marked Private or
	// Confidential by their sensitivity are always kept out.
	KeepOut []string `json:"keep_out"`
	// LogByHand are the categories or labels that log an item by hand;
	// default "Salesforce".
	LogByHand []string `json:"log_by_hand"`
	// Auto logs items whose participants match (default true); off, only
	// items marked by hand are logged.
	Auto bool `json:"auto"`
	// Threads logs the later messages of a logged conversation to the
	// same people (default true).
	Threads bool `json:"threads"`
	// Opportunity relates logged items to an Opportunity of the matched
	// Contacts' Account: OppOff, OppSingleOpen (default) or OppMostRecent.
	Opportunity string `json:"opportunity"`
	// CreateLeads creates a Lead for an external participant of an item
	// marked by hand who matches nothing (default false).
	CreateLeads bool `json:"create_leads"`
}

// The CRMSettings.Opportunity values.
const (
	// OppOff relates items to the Account only, never an Opportunity.
	OppOff = "off"
	// OppSingleOpen relates an item to the Account's open Opportunity
	// when it has exactly one.
	OppSingleOpen = "single-open"
	// OppMostRecent relates an item to the Account's open Opportunity
	// changed last.
	OppMostRecent = "most-recent"
)

// Default CRM rule settings.
var (
	// DefaultKeepOut are the default keep-out categories and labels.
	DefaultKeepOut = []string{"Private", "Don't log"}
	// DefaultLogByHand are the default log-by-hand categories and labels.
	DefaultLogByHand = []string{"Salesforce"}
)

// CRMConnectRequest asks for a CRM connection. The settings it gives are
// saved with the CRM settings; ClientSecret goes to the keyring only.
type CRMConnectRequest struct {
	// CRM is "salesforce".
	CRM          string `json:"crm"`
	LoginURL     string `json:"login_url,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	RedirectPort int    `json:"redirect_port,omitempty"`
	APIVersion   string `json:"api_version,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	// NoBrowser only reports the sign-in link.
	NoBrowser bool `json:"no_browser,omitempty"`
}

// CRMItem is an item's CRM state as the activity shows it.
type CRMItem struct {
	State    CRMState `json:"state"`
	RecordID string   `json:"record_id,omitempty"`
	Object   string   `json:"object,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	// Rule names the CRM rule that logged or skipped the item
	// ("participants", "keep-out", "by-hand", "auto-off", "thread").
	Rule string `json:"rule,omitempty"`
	// Attempts is how many attempts failed so far.
	Attempts int `json:"attempts,omitempty"`
}

// ConnState is the state of a CRM connection, as `crm status` and the
// dashboard's CRM tile show it.
type ConnState int

// The states of a CRM connection.
const (
	// ConnNotConnected: no CRM connection is set up.
	ConnNotConnected ConnState = iota
	// ConnConnected: signed in, idle between runs.
	ConnConnected
	// ConnLogging: a run is under way.
	ConnLogging
	// ConnThrottled: the API budget is used up; Status.NextRun says when the
	// next run starts.
	ConnThrottled
	// ConnNeedsReactivation: the sign-in is gone ("Sign in to Salesforce
	// again"); mailbox sync goes on.
	ConnNeedsReactivation
	// ConnFailed: runs keep failing (Status.Reason says why).
	ConnFailed
)

var connStateNames = [...]string{"not-connected", "connected", "logging", "throttled", "needs-reactivation", "failed"}

// String returns the name used in JSON and logs.
func (s ConnState) String() string {
	if s < 0 || int(s) >= len(connStateNames) {
		return fmt.Sprintf("conn-state(%d)", int(s))
	}
	return connStateNames[s]
}

// MarshalText writes the name.
func (s ConnState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name.
func (s *ConnState) UnmarshalText(b []byte) error {
	for i, n := range connStateNames {
		if n == string(b) {
			*s = ConnState(i)
			return nil
		}
	}
	return fmt.Errorf("unknown CRM connection state %q", b)
}

// CRMStatus is what `crm status --json` prints about the CRM connection.
type CRMStatus struct {
	State ConnState `json:"state"`
	// Reason is the last problem in words ("Salesforce API limit nearly
	// used up; will retry at 16:30").
	Reason string `json:"reason,omitempty"`
	// Instance is the org's instance URL, User the signed-in user's id.
	Instance string `json:"instance,omitempty"`
	User     string `json:"user,omitempty"`
	// APIUsed and APILimit are the org's API usage from the last answer.
	APIUsed  int `json:"api_used"`
	APILimit int `json:"api_limit"`
	// Counts are the items by CRM state.
	Counts map[CRMState]int `json:"counts"`
	// Requests is how many requests the last run made.
	Requests int64     `json:"requests"`
	LastRun  time.Time `json:"last_run,omitzero"`
	NextRun  time.Time `json:"next_run,omitzero"`
}

// Objects the logger writes and people it matches.
const (
	ObjContact      = "Contact"
	ObjLead         = "Lead"
	ObjEmailMessage = "EmailMessage"
	ObjRelation     = "EmailMessageRelation"
	ObjTask         = "Task"
	ObjEvent        = "Event"
)

// CRMState is an item's CRM state in the outbox.
type CRMState string

// The CRM states of an item.
const (
	// CRMPending: not handled yet (or to handle again: a meeting changed).
	CRMPending CRMState = "pending"
	// CRMLogged: in the CRM as RecordID.
	CRMLogged CRMState = "logged"
	// CRMSkipped: not logged, for Reason (no match, deleted before logging …).
	CRMSkipped CRMState = "skipped"
	// CRMFailed: the CRM refused it for Reason; retried while Retryable and
	// under MaxAttempts attempts.
	CRMFailed CRMState = "failed"
)

// Ways to log an email (Config.LogEmailAs).
const (
	// AsEmailMessage logs an Enhanced Email EmailMessage with an
	// EmailMessageRelation per matched person (the default).
	AsEmailMessage = "email"
	// AsTask logs a completed Task of subtype Email, for orgs without
	// Enhanced Email.
	AsTask = "task"
)
