package emailnotice

import (
	"fmt"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/store"
)

// The emails' texts. They are plain text, for people who did not expect
// them: what stopped, why, since when, and exactly what brings it back.
// They never hold a secret (the engine's reasons never do).

// stamp formats a time for an email: the local time with its zone, so an
// administrator elsewhere can read it.
func stamp(t time.Time) string {
	return t.Local().Format("Monday 2 January 2006, 15:04 MST")
}

// mailbox names the account for an email.
func mailbox(a api.AccountStatus) string {
	who := a.Email
	if who == "" {
		who = "(address not known yet)"
	}
	return fmt.Sprintf("%s — account %q, %s", who, a.Account, api.ProviderWords(a.Provider))
}

func stoppedBody(a api.AccountStatus, since time.Time, lastOK *api.Session, host string, forAdmin bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Inbox Sync has stopped syncing this mailbox:\n\n    %s\n\n", mailbox(a))
	b.WriteString("Until it is fixed, new mail and meetings from it do not reach the CRM.\n\n")
	what := a.Reason
	if what == "" {
		what = a.State.Words()
	}
	fmt.Fprintf(&b, "What happened: %s\n", what)
	fmt.Fprintf(&b, "Since: %s\n", stamp(since))
	if lastOK != nil {
		end := lastOK.End
		if end.IsZero() {
			end = lastOK.Start
		}
		fmt.Fprintf(&b, "Last successful sync: %s\n", stamp(end))
	} else {
		b.WriteString("Last successful sync: never\n")
	}
	if host != "" {
		fmt.Fprintf(&b, "Computer: %s\n", host)
	}
	b.WriteString("\nHow to turn it back on:\n")
	switch a.State {
	case api.NeedsReactivation:
		b.WriteString("  1. Click the Inbox Sync icon in the system tray (or start Inbox Sync from the applications menu).\n")
		fmt.Fprintf(&b, "  2. Choose \"Re-activate…\" (\"Re-activate %s…\" with several mailboxes).\n", a.Account)
		b.WriteString("  3. Sign in with the mailbox's current password or account. Sync starts again at once.\n")
		fmt.Fprintf(&b, "  From a terminal: inboxsync account add %s --account %s\n", a.Provider, a.Account)
	default:
		b.WriteString("  1. Fix the cause above (for example the network, a proxy or the server's address).\n")
		b.WriteString("  2. Click the Inbox Sync icon in the system tray and choose \"Open dashboard\".\n")
		fmt.Fprintf(&b, "  3. On the Connections tab, choose \"Force sync\" for %s. Once a sync succeeds, the account runs every 30 minutes again.\n", a.Account)
		fmt.Fprintf(&b, "  From a terminal: inboxsync sync --account %s --wait\n", a.Account)
	}
	if forAdmin {
		b.WriteString("\nYou get this as the administrator: the user may need your help with the steps above (a changed password, a locked account, a revoked consent or a blocked server).\n")
	}
	b.WriteString("\nYou get one email per stop; the next one comes only if sync stops again after working.\n")
	return b.String()
}

func resumedBody(a api.AccountStatus, inc store.Incident, last api.Session, host string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Inbox Sync syncs this mailbox again:\n\n    %s\n\n", mailbox(a))
	fmt.Fprintf(&b, "It had stopped on %s.\n", stamp(inc.OpenedAt))
	end := last.End
	if end.IsZero() {
		end = last.Start
	}
	fmt.Fprintf(&b, "First successful sync since: %s\n", stamp(end))
	if host != "" {
		fmt.Fprintf(&b, "Computer: %s\n", host)
	}
	b.WriteString("\nNothing needs to be done.\n")
	return b.String()
}

func testBody(host string) string {
	var b strings.Builder
	b.WriteString("This is a test notice from Inbox Sync.\n\n")
	b.WriteString("If sync stops on a mailbox and needs someone, an email titled \"" + SubjectStopped + "\" is sent to this address.\n")
	if host != "" {
		fmt.Fprintf(&b, "Sent from: %s\n", host)
	}
	return b.String()
}

// crmStoppedBody is the stop notice of the CRM connection.
func crmStoppedBody(c api.CRMStatus, since time.Time, host string, forAdmin bool) string {
	var b strings.Builder
	b.WriteString("Inbox Sync has stopped logging mail and meetings to Salesforce")
	if c.Instance != "" {
		fmt.Fprintf(&b, " (%s)", c.Instance)
	}
	b.WriteString(".\n\nMailbox sync goes on, but new mail and meetings do not reach the CRM until this is fixed; nothing is lost meanwhile.\n\n")
	what := c.Reason
	if what == "" {
		what = "the Salesforce connection " + strings.ReplaceAll(c.State.String(), "-", " ")
	}
	fmt.Fprintf(&b, "What happened: %s\n", what)
	fmt.Fprintf(&b, "Since: %s\n", stamp(since))
	if !c.LastRun.IsZero() {
		fmt.Fprintf(&b, "Last run: %s\n", stamp(c.LastRun))
	}
	if host != "" {
		fmt.Fprintf(&b, "Computer: %s\n", host)
	}
	b.WriteString("\nHow to turn it back on:\n")
	if c.State == api.ConnNeedsReactivation {
		b.WriteString("  1. Click the Inbox Sync icon in the system tray and choose \"Sign in to Salesforce again…\".\n")
		b.WriteString("  2. Sign in to Salesforce in the browser. Logging starts again at once.\n")
		b.WriteString("  From a terminal: inboxsync crm connect salesforce\n")
	} else {
		b.WriteString("  1. Fix the cause above.\n")
		b.WriteString("  2. Open the dashboard (tray icon → Open dashboard), Connections tab, and choose Refresh on the CRM tile.\n")
		b.WriteString("  From a terminal: inboxsync crm sync --wait\n")
	}
	if forAdmin {
		b.WriteString("\nYou get this as the administrator: the user may need your help (a revoked or uninstalled connected app, a changed password, the org's API limit).\n")
	}
	b.WriteString("\nYou get one email per stop; the next one comes only if logging stops again after working.\n")
	return b.String()
}

// crmResumedBody is the notice that CRM logging works again.
func crmResumedBody(c api.CRMStatus, inc store.Incident, host string) string {
	var b strings.Builder
	b.WriteString("Inbox Sync logs mail and meetings to Salesforce again.\n\n")
	fmt.Fprintf(&b, "It had stopped on %s.\n", stamp(inc.OpenedAt))
	fmt.Fprintf(&b, "First successful run since: %s\n", stamp(c.LastRun))
	if host != "" {
		fmt.Fprintf(&b, "Computer: %s\n", host)
	}
	b.WriteString("\nNothing needs to be done.\n")
	return b.String()
}
