package graph

// SetMailboxBudget sets the requests each mailbox may receive per
// MailboxWindow (tests).
func SetMailboxBudget(a *App, n int) { a.limit = n }
