package main

import (
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// TestWriteSessions checks both tables: with the ACCOUNT column (the
// desktop's sessions) and without (one organisation mailbox's).
func TestWriteSessions(t *testing.T) {
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.Local)
	ss := []api.Session{{Account: "work", Trigger: "schedule", Outcome: api.OutcomeOK, Start: start, End: start.Add(1500 * time.Millisecond),
		Counts: api.Counts{Added: 3, Updated: 1}}}
	var with, without strings.Builder
	writeSessions(&with, ss, true)
	writeSessions(&without, ss, false)
	if f := strings.Fields(strings.Split(with.String(), "\n")[1]); len(f) != 9 || f[2] != "work" || f[3] != "schedule" || f[5] != "3" || f[8] != "1.5s" {
		t.Errorf("with account:\n%s", with.String())
	}
	if !strings.HasPrefix(with.String(), "STARTED") || !strings.Contains(with.String(), "ACCOUNT") {
		t.Errorf("header with account:\n%s", with.String())
	}
	if f := strings.Fields(strings.Split(without.String(), "\n")[1]); len(f) != 8 || f[2] != "schedule" || f[4] != "3" || strings.Contains(without.String(), "ACCOUNT") {
		t.Errorf("without account:\n%s", without.String())
	}
}
