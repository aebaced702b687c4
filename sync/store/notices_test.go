package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// Schema 6 rebuilds incidents and notices without the mailbox foreign key
// (the CRM has incidents too) and keeps what a schema-5 store held.
func TestNoticesMigrationKeepsIncidents(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range migrations[:5] {
		for _, stmt := range step {
			if _, err := db.Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, q := range []string{
		"PRAGMA user_version = 5",
		"INSERT INTO accounts(id, provider) VALUES ('work', 'scripted')",
		"INSERT INTO incidents(account, state, reason, opened_at) VALUES ('work', 'suspended', 'x', 1)",
		"INSERT INTO notices(incident, account, kind, recipient, subject, body, created_at, next_attempt) VALUES (1, 'work', 'stopped', 'a@b.test', 's', 'b', 1, 1)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inc, open, err := s.OpenIncidentOf(ctx, "work")
	if err != nil || !open || inc.ID != 1 || inc.State != "suspended" {
		t.Fatalf("incident after the migration: %+v %v %v", inc, open, err)
	}
	due, err := s.DueNotices(ctx, time.Unix(0, 2))
	if err != nil || len(due) != 1 || due[0].Incident != 1 || due[0].Recipient != "a@b.test" {
		t.Fatalf("notices after the migration: %+v %v", due, err)
	}
	// The CRM's incident needs no mailbox account; a new id follows the
	// copied ones.
	crmInc, opened, err := s.OpenIncident(ctx, Incident{Account: CRMIncidentAccount, State: "needs-reactivation", OpenedAt: time.Unix(5, 0)},
		[]Notice{{Kind: "stopped", Recipient: "a@b.test", Subject: "s", Body: "b", CreatedAt: time.Unix(5, 0)}})
	if err != nil || !opened || crmInc.ID <= 1 {
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
	if err := s.DeleteAccount(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	if _, open, _ := s.OpenIncidentOf(ctx, "work"); open {
		t.Error("the removed account's incident is left")
	}
	if _, open, _ := s.OpenIncidentOf(ctx, CRMIncidentAccount); !open {
		t.Error("the CRM incident went with the account")
	}
}
