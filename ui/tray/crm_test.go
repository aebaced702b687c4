package tray

import (
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/assets"
	"github.com/inboxsync/inboxsync/sync/api"
)

// A CRM connection that needs the user shows like a mailbox that does:
// the attention icon, its reason on the status line, and the re-activation
// entry signs in to Salesforce again.
func TestBuildCRMNeedsYou(t *testing.T) {
	idle := acct("work", api.Idle, last("14:01", "14:02"), next("14:32"))
	reason := "Your Salesforce sign-in has expired. Sign in to Salesforce again."
	v := Build(api.Status{Accounts: []api.AccountStatus{idle},
		CRM: &api.CRMStatus{State: api.ConnNeedsReactivation, Reason: reason}}, now)
	want(t, v.Icon, assets.TrayAttention)
	want(t, v.Attention, true)
	want(t, v.Reactivate, Item{"Sign in to Salesforce again…", true})
	if !strings.HasPrefix(v.Status, "Salesforce needs you: Your Salesforce sign-in has expired. Sign in to Salesforce again. ") {
		t.Errorf("status line %q", v.Status)
	}
	a, ok := resolve(v, click{item: itemReactivate})
	if !ok || !a.crm || a.reason != reason {
		t.Errorf("resolve = %+v, %v", a, ok)
	}

	// A failed CRM: attention, but re-activation stays the mailbox's.
	v = Build(api.Status{Accounts: []api.AccountStatus{idle},
		CRM: &api.CRMStatus{State: api.ConnFailed, Reason: "Logging to Salesforce stopped after 10 failed runs in a row."}}, now)
	want(t, v.Icon, assets.TrayAttention)
	want(t, v.Reactivate, Item{"Re-activate…", false})

	// A connected CRM changes nothing.
	v = Build(api.Status{Accounts: []api.AccountStatus{idle}, CRM: &api.CRMStatus{State: api.ConnConnected}}, now)
	want(t, v.Icon, assets.TrayIdle)
	want(t, v.Attention, false)
}
