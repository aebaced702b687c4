package gmail

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/internal/httpapi"
)

// callKind names the API call an answer belongs to: the same status means
// different things for different calls (404 of history.list is a stale
// cursor, of messages.get a deleted message).
type callKind int

const (
	callProfile callKind = iota
	callList
	callMessage
	callHistory
	callEvents
	callLabels
)

// service names the API of a call, for error text.
func (c callKind) service() string {
	if c == callEvents {
		return "Google Calendar"
	}
	return "Gmail"
}

// scope returns the scope a call needs.
func (c callKind) scope() string {
	if c == callEvents {
		return ScopeCalendarEvents
	}
	return ScopeGmailMetadata
}

// PermissionWords says, for each scope, what Google's consent screen calls
// the permission and why Inbox Sync needs it.
var PermissionWords = map[string]string{
	ScopeGmailMetadata:  "“View your email message metadata such as labels and headers, but not the email body”, which Inbox Sync needs to see the mail in your Inbox and Sent",
	ScopeCalendarEvents: "“View events on all your calendars”, which Inbox Sync needs to sync your calendar events",
}

// missingPermission is the sentence for a permission the user did not
// grant.
func missingPermission(scope string) string {
	w := PermissionWords[scope]
	if w == "" {
		w = scope
	}
	return "Inbox Sync is missing the Google permission " + w + ": sign in again and leave that permission ticked."
}

// APIError is an error answer of the Gmail or Calendar API. Its fields come
// from the server and carry no secret.
type APIError struct {
	Status  int
	Message string
	// Reasons are the errors[].reason values and the details' reasons
	// (rateLimitExceeded, insufficientPermissions, fullSyncRequired,
	// ACCESS_TOKEN_SCOPE_INSUFFICIENT, …).
	Reasons []string
}

// Error returns the status, reasons and message.
func (e *APIError) Error() string {
	s := "Google answered " + strconv.Itoa(e.Status)
	if len(e.Reasons) > 0 {
		s += " " + strings.Join(e.Reasons, ",")
	}
	if e.Message != "" {
		s += ": " + httpapi.Excerpt(e.Message)
	}
	return s
}

// has reports whether one of e's reasons is among rs (case-insensitive).
func (e *APIError) has(rs ...string) bool {
	for _, have := range e.Reasons {
		for _, r := range rs {
			if strings.EqualFold(have, r) {
				return true
			}
		}
	}
	return false
}

// parseAPIError reads Google's error answer; any body gives an APIError.
func parseAPIError(status int, body []byte) *APIError {
	var env apiErrorBody
	json.Unmarshal(body, &env)
	e := &APIError{Status: status, Message: env.Error.Message}
	for _, x := range env.Error.Errors {
		if x.Reason != "" && len(e.Reasons) < 8 {
			e.Reasons = append(e.Reasons, x.Reason)
		}
	}
	for _, d := range env.Error.Details {
		if d.Reason != "" && len(e.Reasons) < 8 {
			e.Reasons = append(e.Reasons, d.Reason)
		}
	}
	return e
}

// Backoff of throttling answers without Retry-After: 30 s, doubling with
// each one in a row, at most 15 minutes.
const (
	backoffFirst = 30 * time.Second
	backoffMax   = 15 * time.Minute
)

// backoff returns the wait for a throttling answer that named none.
func (p *Provider) backoff() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := backoffFirst << min(p.throttles, 10)
	p.throttles++
	return min(d, backoffMax)
}

// classify maps an error answer of call to an error class.
func (p *Provider) classify(e *APIError, call callKind, retryAfterHeader string) error {
	throttled := func() error {
		d := auth.RetryAfterHeader(retryAfterHeader, p.now())
		if d <= 0 {
			d = p.backoff()
		}
		return provider.Throttled(d, e)
	}
	switch {
	case e.Status == http.StatusTooManyRequests:
		return throttled()
	case e.Status == http.StatusForbidden && e.has("rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "RATE_LIMIT_EXCEEDED"):
		return throttled()
	case e.Status == http.StatusNotFound && call == callHistory:
		return provider.CursorInvalid(e)
	case e.Status == http.StatusGone && call == callEvents:
		return provider.CursorInvalid(e)
	case e.Status == http.StatusUnauthorized && p.delegated != nil:
		return provider.GrantGone("Google refused the token of "+p.delegated.String()+" for this mailbox even after renewing it: the user may have been deleted or suspended, or the domain-wide delegation withdrawn.", e)
	case e.Status == http.StatusUnauthorized:
		return provider.GrantGone("Google refused the sign-in even after renewing it: sign in with Google again.", e)
	case e.Status == http.StatusForbidden && e.has("insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT") && p.delegated != nil:
		return provider.GrantGone("The token of "+p.delegated.String()+" lacks the scope "+call.scope()+": in the Google Admin console, Security → API controls → Domain-wide delegation, give client ID "+p.delegated.clientID+" the scopes "+strings.Join(DelegationScopes, ",")+".", e)
	case e.Status == http.StatusForbidden && e.has("insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"):
		return provider.GrantGone(missingPermission(call.scope()), e)
	case e.has("accessNotConfigured", "SERVICE_DISABLED"):
		api := "Gmail API"
		if call == callEvents {
			api = "Google Calendar API"
		}
		if p.delegated != nil {
			return provider.Failed("The "+api+" is not enabled in the Google Cloud project of "+p.delegated.String()+": enable it (see docs/gmail.md).", e)
		}
		return provider.Failed("The "+api+" is not enabled in the Google Cloud project of the client ID: enable it (see docs/gmail.md).", e)
	case e.Status == http.StatusForbidden && e.has("domainPolicy"):
		return provider.Failed("Your Google Workspace administrator does not allow Inbox Sync to read this mailbox.", e)
	case e.Status == http.StatusBadRequest && e.has("failedPrecondition"):
		// Gmail answers so for an account without a mailbox: a user
		// without a Gmail licence or with Gmail turned off, or a service
		// account's token without a user.
		return provider.Failed(call.service()+" has no mailbox for this account: Gmail may be turned off for the user or their organisational unit, or the user has no Google Workspace licence with Gmail.", e)
	case e.Status == http.StatusServiceUnavailable:
		return throttled()
	case e.Status == http.StatusInternalServerError || e.Status == http.StatusBadGateway || e.Status == http.StatusGatewayTimeout:
		return provider.Offline(e)
	}
	return provider.Failed(call.service()+" answered with an error.", e)
}

// testingExpiry is how long Google keeps a grant of an app whose OAuth
// consent screen is in "Testing" status.
const testingExpiry = 7 * 24 * time.Hour

// explainer returns auth.Config.Explain for Google, for a grant given at
// issued (zero when unknown), with now as the clock.
func explainer(issued time.Time, now func() time.Time) func(*auth.TokenError) string {
	return func(te *auth.TokenError) string {
		switch te.Code {
		case "invalid_grant":
			age := now().Sub(issued)
			switch {
			case issued.IsZero():
				return "The Google sign-in is no longer valid: it was revoked, your password changed, or — when the app's OAuth consent screen is left in “Testing” status — it expired after 7 days (see docs/gmail.md). Sign in with Google again."
			case age >= testingExpiry-time.Hour:
				days := int(age.Hours() / 24)
				return "Google ended the sign-in given " + strconv.Itoa(days) + " days ago. Google does this after 7 days when the app's OAuth consent screen is in “Testing” status: publish the app (docs/gmail.md), then sign in with Google again. (The sign-in may also have been revoked or your password changed.)"
			default:
				return "The Google sign-in was revoked or your password changed: sign in with Google again."
			}
		case "invalid_client", "unauthorized_client":
			return "Google does not accept the client ID or client secret: check them (see docs/gmail.md)."
		case "deleted_client":
			return "The OAuth client was deleted in Google Cloud: register a new one (see docs/gmail.md)."
		case "admin_policy_enforced":
			return "Your Google Workspace administrator does not allow Inbox Sync to access this account."
		case "access_denied":
			return "You declined to give Inbox Sync access to your Gmail and calendar, or the app's OAuth consent screen is in “Testing” status and your address is not one of its test users (see docs/gmail.md)."
		case "org_internal":
			return "The app's OAuth consent screen is limited to its own Google Workspace organisation, which this account is not part of."
		}
		return ""
	}
}
