package emailnotice

import (
	"fmt"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
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

// stoppedBody is the stop notice of account a, worded for the desktop or
// for organisation mode.
func (s *Service) stoppedBody(a api.AccountStatus, since time.Time, lastOK *api.Session, forAdmin bool) string {
	if s.Organisation {
		return orgStoppedBody(a, since, lastOK, s.Host, forAdmin)
	}
	return stoppedBody(a, since, lastOK, s.Host, forAdmin)
}

// resumedBody is the notice that account a syncs again.
func (s *Service) resumedBody(a api.AccountStatus, inc api.Incident, last api.Session) string {
	if s.Organisation {
		return orgResumedBody(a, inc, last, s.Host)
	}
	return resumedBody(a, inc, last, s.Host)
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
	writeSince(&b, since, lastOK)
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

func resumedBody(a api.AccountStatus, inc api.Incident, last api.Session, host string) string {
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
func crmResumedBody(c api.CRMStatus, inc api.Incident, host string) string {
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

// orgWhat names an account of organisation mode for an email: a mailbox,
// or all the mailboxes of a provider when the organisation's credentials
// were refused (provider is then the part after api.OrgIncidentPrefix).
func orgWhat(a api.AccountStatus) (what, provider string, orgWide bool) {
	if p, ok := strings.CutPrefix(a.Account, api.OrgIncidentPrefix); ok {
		return fmt.Sprintf("every %s mailbox of the organisation (the organisation's app credentials were refused)", api.ProviderWords(p)), p, true
	}
	who := a.Email
	if who == "" {
		who = a.Account
	}
	return fmt.Sprintf("%s — %s", who, api.ProviderWords(a.Provider)), a.Provider, false
}

// orgStoppedBody is the stop notice of organisation mode: what stopped,
// why, since when, and what the administrator does about it.
func orgStoppedBody(a api.AccountStatus, since time.Time, lastOK *api.Session, host string, forAdmin bool) string {
	what, provider, orgWide := orgWhat(a)
	var b strings.Builder
	these := "this mailbox"
	if orgWide {
		these = "these mailboxes"
	}
	fmt.Fprintf(&b, "Inbox Sync has stopped syncing %s:\n\n    %s\n\n", these, what)
	b.WriteString("Until it is fixed, new mail and meetings from it do not reach the CRM; what was synced is kept.\n\n")
	reason := a.Reason
	if reason == "" {
		reason = "disabled due to an error"
	}
	fmt.Fprintf(&b, "What happened: %s\n", reason)
	writeSince(&b, since, lastOK)
	if host != "" {
		fmt.Fprintf(&b, "Noticed by the worker on: %s\n", host)
	}
	switch {
	case !forAdmin:
		b.WriteString("\nYour administrator has been told and turns sync back on once the cause is fixed; you need not do anything unless they ask you.\n")
	case orgWide:
		b.WriteString("\nHow to turn it back on:\n")
		if provider == "gmail" {
			b.WriteString("  1. In the Google Admin console, check the service account's domain-wide delegation and its scopes, and in Google Cloud that its key still exists.\n")
			b.WriteString("  2. Check the credentials: inboxsync org credentials google --service-account KEY.json --check-user SOMEONE@YOUR-DOMAIN\n")
		} else {
			b.WriteString("  1. In the Entra admin center, check the app registration: admin consent for its application permissions, and that its certificate or client secret has not expired or been removed.\n")
			b.WriteString("  2. Check the credentials: inboxsync org credentials microsoft --tenant TENANT --client-id APP-ID --certificate FILE\n")
		}
		b.WriteString("  The mailboxes stay enabled: sync goes on by itself once the credentials work again (see `inboxsync org status`).\n")
	default:
		b.WriteString("\nHow to turn it back on:\n")
		b.WriteString("  1. Fix the cause above (for example the mailbox's access for the app, a deleted or suspended user, or the mail server).\n")
		fmt.Fprintf(&b, "  2. Enable the mailbox again: inboxsync org mailboxes enable %s\n", a.Email)
		b.WriteString("  Its counters start again from zero and it syncs within a minute; `inboxsync org status` shows how it goes.\n")
	}
	b.WriteString("\nYou get one email per stop; the next one comes only if sync stops again after working.\n")
	return b.String()
}

// orgResumedBody is the notice of organisation mode that sync works again.
func orgResumedBody(a api.AccountStatus, inc api.Incident, last api.Session, host string) string {
	what, _, _ := orgWhat(a)
	var b strings.Builder
	fmt.Fprintf(&b, "Inbox Sync syncs again:\n\n    %s\n\n", what)
	fmt.Fprintf(&b, "It had stopped on %s.\n", stamp(inc.OpenedAt))
	end := last.End
	if end.IsZero() {
		end = last.Start
	}
	fmt.Fprintf(&b, "First successful sync since: %s\n", stamp(end))
	if host != "" {
		fmt.Fprintf(&b, "Noticed by the worker on: %s\n", host)
	}
	b.WriteString("\nNothing needs to be done.\n")
	return b.String()
}

// writeSince writes since when sync has stopped and its last success.
func writeSince(b *strings.Builder, since time.Time, lastOK *api.Session) {
	fmt.Fprintf(b, "Since: %s\n", stamp(since))
	if lastOK == nil {
		b.WriteString("Last successful sync: never\n")
		return
	}
	end := lastOK.End
	if end.IsZero() {
		end = lastOK.Start
	}
	fmt.Fprintf(b, "Last successful sync: %s\n", stamp(end))
}
