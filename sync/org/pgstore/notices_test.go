package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/emailnotice"
	"github.com/inboxsync/inboxsync/sync/emailnotice/queuetest"
)

// The organisation store is the email notices' queue of organisation mode.
var _ emailnotice.Queue = (*Store)(nil)

// The PostgreSQL store passes the same queue suite as the desktop's, and
// hands each due notice to one worker at a time.
func TestNoticeQueueConformance(t *testing.T) {
	queuetest.Run(t, queuetest.Harness{Shared: true, Lease: NoticeLease, Open: func(t *testing.T) (queuetest.Store, string) {
		s := newStore(t)
		addRaw(t, s, "jdoe@contoso.com")
		return s, "jdoe@contoso.com"
	}})
}

// An organisation incident's last success is any of its provider's
// mailboxes'; removing a mailbox removes its incident and notices, not
// the organisation's.
func TestOrganisationIncidentAndRemovedMailbox(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.AddMailboxes(ctx, []NewMailbox{{"a@contoso.com", ProviderOffice365}, {"b@contoso.com", ProviderGmail}}, nil); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for i, a := range []string{"a@contoso.com", "b@contoso.com"} {
		sess, err := s.BeginSession(ctx, a, "schedule", t0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		sess.Outcome, sess.End = api.OutcomeOK, sess.Start.Add(time.Minute)
		if err := s.EndSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	last, ok, err := s.LastOKSession(ctx, api.OrgIncidentAccount(ProviderOffice365))
	if err != nil || !ok || last.Account != "a@contoso.com" {
		t.Fatalf("last success of Microsoft 365 = %+v, %v, %v; want a@contoso.com's", last, ok, err)
	}
	last, ok, err = s.LastOKSession(ctx, api.OrgIncidentAccount(ProviderGmail))
	if err != nil || !ok || last.Account != "b@contoso.com" || !last.Start.Equal(t0.Add(time.Hour)) {
		t.Fatalf("last success of Gmail = %+v, %v, %v; want b@contoso.com's", last, ok, err)
	}
	n := []api.Notice{{Kind: "stopped", Recipient: "it@contoso.com", Subject: "s", Body: "b", CreatedAt: t0}}
	for _, acct := range []string{"a@contoso.com", api.OrgIncidentAccount(ProviderGmail)} {
		if _, opened, err := s.OpenIncident(ctx, api.Incident{Account: acct, State: "needs-reactivation", OpenedAt: t0}, n); err != nil || !opened {
			t.Fatalf("opening %s: %v %v", acct, opened, err)
		}
	}
	// A failed send of the organisation's notice has no mailbox for its
	// issue; a mailbox's goes to its issues.
	due, err := s.DueNotices(ctx, t0)
	if err != nil || len(due) != 2 {
		t.Fatalf("due: %d %v", len(due), err)
	}
	for _, d := range due {
		if err := s.NoticeFailed(ctx, d, t0, t0.Add(time.Minute), "refused", "The email to it@contoso.com could not be sent."); err != nil {
			t.Fatal(err)
		}
	}
	if issues, err := s.Issues(ctx, "a@contoso.com", 10); err != nil || len(issues) != 1 || issues[0].Folder != "email notice" {
		t.Fatalf("issues of a@contoso.com = %+v, %v; want the failed notice", issues, err)
	}
	if open, err := s.OpenIncidentAccounts(ctx); err != nil || len(open) != 2 || open[0] != api.OrgIncidentAccount(ProviderGmail) {
		t.Fatalf("open incidents = %v, %v", open, err)
	}
	if _, err := s.RemoveMailboxes(ctx, []string{"a@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	if open, err := s.OpenIncidentAccounts(ctx); err != nil || len(open) != 1 || open[0] != api.OrgIncidentAccount(ProviderGmail) {
		t.Fatalf("open incidents after removing a@contoso.com = %v, %v; want the organisation's only", open, err)
	}
	if all, err := s.Notices(ctx, "", 0); err != nil || len(all) != 1 || all[0].Account != api.OrgIncidentAccount(ProviderGmail) {
		t.Fatalf("notices after removing a@contoso.com = %+v, %v", all, err)
	}
}
