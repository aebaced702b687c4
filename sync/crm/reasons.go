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
)
