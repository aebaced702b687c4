package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/emailnotice/queuetest"
)

// The CRM's incidents need no mailbox account; removing a mailbox removes
// its incidents and notices, not the CRM's.
func TestIncidentsOfMailboxesAndTheCRM(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "inboxsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddAccount(ctx, api.Account{ID: "work", Provider: "scripted"}); err != nil {
		t.Fatal(err)
	}
	if _, opened, err := s.OpenIncident(ctx, Incident{Account: "work", State: "suspended", Reason: "x", OpenedAt: time.Unix(0, 1)},
		[]Notice{{Kind: "stopped", Recipient: "a@b.test", Subject: "s", Body: "b", CreatedAt: time.Unix(0, 1)}}); err != nil || !opened {
		t.Fatalf("mailbox incident: %v %v", opened, err)
	}
	inc, open, err := s.OpenIncidentOf(ctx, "work")
	if err != nil || !open || inc.ID != 1 || inc.State != "suspended" {
		t.Fatalf("incident: %+v %v %v", inc, open, err)
	}
	due, err := s.DueNotices(ctx, time.Unix(0, 2))
	if err != nil || len(due) != 1 || due[0].Incident != 1 || due[0].Recipient != "a@b.test" {
		t.Fatalf("notices: %+v %v", due, err)
	}
	crmInc, opened, err := s.OpenIncident(ctx, Incident{Account: CRMIncidentAccount, State: "needs-reactivation", OpenedAt: time.Unix(5, 0)},
		[]Notice{{Kind: "stopped", Recipient: "a@b.test", Subject: "s", Body: "b", CreatedAt: time.Unix(5, 0)}})
	if err != nil || !opened || crmInc.ID != 2 {
		t.Fatalf("CRM incident: %+v %v %v", crmInc, opened, err)
	}
	// A failed CRM notice lands on the first mailbox's Issues list.
	crmDue, _ := s.DueNotices(ctx, time.Unix(6, 0))
	for _, n := range crmDue {
		if n.Account == CRMIncidentAccount {
			if err := s.NoticeFailed(ctx, n, time.Unix(6, 0), time.Unix(66, 0), "down", "could not be sent"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if is, _ := s.Issues(ctx, "work", 0); len(is) != 1 || is[0].Folder != "email notice" {
		t.Errorf("issues: %+v", is)
	}
	// Removing the account removes its incidents and notices, not the CRM's.
	if err := s.DeleteAccount(ctx, "work", 100); err != nil {
		t.Fatal(err)
	}
	if _, open, _ := s.OpenIncidentOf(ctx, "work"); open {
		t.Error("the removed account's incident is left")
	}
	if _, open, _ := s.OpenIncidentOf(ctx, CRMIncidentAccount); !open {
		t.Error("the CRM incident went with the account")
	}
}

// The SQLite store passes the email notices' queue suite (one process:
// not a shared queue).
func TestNoticeQueueConformance(t *testing.T) {
	queuetest.Run(t, queuetest.Harness{Open: func(t *testing.T) (queuetest.Store, string) {
		return openTemp(t, "work"), "work"
	}})
}
