package graph

import (
	"github.com/inboxsync/inboxsync/sync/auth"
)

// aadstsWords are the Microsoft identity platform error codes a user may
// meet, in words. https://learn.microsoft.com/entra/identity-platform/reference-error-codes
var aadstsWords = map[int]string{
	70043:   "Your organisation's sign-in frequency policy requires you to sign in to Office 365 again (AADSTS70043).",
	700082:  "The Office 365 sign-in was not used for 90 days and has expired: sign in again (AADSTS700082).",
	50173:   "The Office 365 sign-in was revoked, or your password was changed: sign in again (AADSTS50173).",
	65001:   "Inbox Sync is missing consent to read your mail and calendar: sign in again and accept; your administrator may need to approve the app (AADSTS65001).",
	65004:   "You declined to give Inbox Sync access to your mail and calendar (AADSTS65004).",
	50076:   "Your organisation requires multi-factor authentication: sign in to Office 365 again (AADSTS50076).",
	50079:   "Your organisation requires you to set up multi-factor authentication: sign in to Office 365 again (AADSTS50079).",
	50158:   "Your organisation requires an extra security check: sign in to Office 365 again (AADSTS50158).",
	53003:   "Your organisation's Conditional Access policy blocked the sign-in (AADSTS53003).",
	50011:   "The app registration lacks the redirect URI http://localhost: add it under Mobile and desktop applications (AADSTS50011).",
	700016:  "The client ID is not registered in this tenant: check --client-id and --tenant (AADSTS700016).",
	7000218: "The app registration must allow public client flows (Authentication → Allow public client flows) (AADSTS7000218).",
	90002:   "The tenant was not found: check --tenant (AADSTS90002).",
	50020:   "This account does not belong to the tenant: use --tenant common or your organisation's tenant (AADSTS50020).",
	70000:   "The Office 365 sign-in is no longer valid: sign in again (AADSTS70000).",
	70008:   "The Office 365 sign-in expired from inactivity: sign in again (AADSTS70008).",
}

// Explain returns the words for a Microsoft identity platform error, or ""
// when it has none beyond the generic ones. It is auth.Config.Explain for
// Office 365.
func Explain(te *auth.TokenError) string {
	for _, c := range te.Codes {
		if w, ok := aadstsWords[c]; ok {
			return w
		}
	}
	switch te.Code {
	case "interaction_required", "login_required", "mfa_required":
		return "Microsoft requires you to sign in to Office 365 again."
	case "consent_required":
		return "Inbox Sync needs your consent, or your administrator's, to read your mail and calendar."
	case "invalid_grant":
		return "The Office 365 sign-in is no longer valid: sign in again."
	}
	return ""
}
