package crm

// Reasons the logger (sync/crm/crmlog) gives for an item it did not log
// or left alone, in the Activity list's words. They are part of the
// contract: the store requeues items skipped for some of them when the
// CRM connection is made again.
const (
	ReasonNoMatch      = "no Contact or Lead for any participant"
	ReasonNoExternal   = "no participant outside your company (internal and free-mail addresses are left out)"
	ReasonDeletedEarly = "deleted in the mailbox before it was logged"
	ReasonLeftAlone    = "cancelled or deleted in the mailbox; left in Salesforce (remove-deleted-events is off)"
	ReasonRemoved      = "cancelled or deleted in the mailbox; removed from Salesforce"
	ReasonEmailKept    = "deleted in the mailbox; the Salesforce record stays"
	ReasonEventGone    = "the Salesforce Event was deleted there; Inbox Sync does not create it again"

	// ReasonKeptOut: the item is marked private (rule 1, keep out).
	ReasonKeptOut = "marked private (sensitivity or a keep-out category or label); never logged to Salesforce"
	// ReasonLeftPrivate: marked private after it was logged (rule 1).
	ReasonLeftPrivate = "marked private after it was logged; left in Salesforce (delete it there if it should go)"
	// ReasonAutoOff: automatic logging is off and the item is not marked
	// (rule 2).
	ReasonAutoOff = "automatic logging is off and the item is not marked for Salesforce"
	// ReasonByHandNoMatch: marked by hand, but nobody matches (rule 2).
	ReasonByHandNoMatch = "marked for Salesforce, but no Contact or Lead matches any participant"
	// ReasonByHand notes a logged item marked by hand (rule 2).
	ReasonByHand = "marked for Salesforce"
	// ReasonThread notes an item logged as part of a logged conversation
	// (rule 3).
	ReasonThread = "part of a conversation already logged to Salesforce; logged to the same people"
	// ReasonThreadUnlinked: part of a logged conversation, but an email
	// can be linked only to the people on it or to their Account, and
	// none applies (rule 3).
	ReasonThreadUnlinked = "part of a logged conversation, but none of its Salesforce people is on this mail and they have no Account to relate it to"
)

// The rules an outcome names (Outcome.Rule, `activity --json` crm.rule):
// which of the logger's rules (docs/salesforce.md "Rules") logged or
// skipped an item.
const (
	// RuleParticipants: the item's participants matched a Contact or Lead
	// (logged), or none did (skipped). The automatic rule.
	RuleParticipants = "participants"
	// RuleKeepOut: marked private (sensitivity, or a keep-out category or
	// label); never logged.
	RuleKeepOut = "keep-out"
	// RuleByHand: marked for Salesforce by the user's category or label.
	RuleByHand = "by-hand"
	// RuleAutoOff: automatic logging is off and the item is not marked.
	RuleAutoOff = "auto-off"
	// RuleThread: part of a conversation already logged.
	RuleThread = "thread"
)
