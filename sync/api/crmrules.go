package api

// CRMRuleWords names the CRM rule that logged or skipped an item
// (CRMItem.Rule) in a few words for the activity lists: "marked for
// Salesforce", "kept out", "whole thread"…; "" for no rule, the rule's
// own name for one this build does not know.
func CRMRuleWords(rule string) string {
	switch rule {
	case "":
		return ""
	case "participants":
		return "participants"
	case "keep-out":
		return "kept out"
	case "by-hand":
		return "marked for Salesforce"
	case "auto-off":
		return "automatic logging off"
	case "thread":
		return "whole thread"
	}
	return rule
}
