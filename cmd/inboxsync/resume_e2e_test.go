package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// TestAgentKilledMidSyncResumesAtStart kills the agent (SIGKILL) during the
// first sync after an activation and starts it again: without anybody
// asking, the new agent stores the rest at once (trigger "resume"), and
// the history shows the killed session as interrupted. Before, the
// restarted agent waited for the next interval, 30 minutes away.
func TestAgentKilledMidSyncResumesAtStart(t *testing.T) {
	needKeyring(t)
	h := newHome(t)
	h.startAgent()
	script := h.writeScript(`{"inbox": 300, "sent": 20, "calendar": 5, "page_size": 10, "page_delay": "250ms", "email": "ann@example.test"}`)
	h.ok("account", "add", "scripted", "--account", "big", "--login", "ann", "--mailbox", script)
	h.eventually("the first sync has stored a few pages", func() bool {
		s := h.status()
		return len(s.Accounts) == 1 && s.Accounts[0].Progress != nil && s.Accounts[0].Progress.Pages >= 2
	})
	if err := h.agent.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.agent.Wait()
	h.agent = nil

	// The store, read with no agent running, holds part of the mailbox.
	var sessions []api.Session
	if err := json.Unmarshal([]byte(h.ok("sessions", "--json")), &sessions); err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 1 || sessions[0].Outcome != api.OutcomeInterrupted && sessions[0].Outcome != api.OutcomeRunning {
		t.Fatalf("sessions after the kill: %+v", sessions)
	}

	h.writeScript(`{"inbox": 300, "sent": 20, "calendar": 5, "page_size": 50, "email": "ann@example.test"}`)
	start := time.Now()
	h.startAgent()
	h.eventually("the restarted agent finishes the sync by itself", func() bool {
		s := h.status()
		return len(s.Accounts) == 1 && s.Accounts[0].LastSync != nil && s.Accounts[0].LastSync.Outcome == "ok"
	})
	t.Logf("resumed and finished %v after the restart", time.Since(start).Round(time.Millisecond))

	sessions = nil
	if err := json.Unmarshal([]byte(h.ok("sessions", "--json")), &sessions); err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 2 {
		t.Fatalf("want the killed session and the resumed one, got %+v", sessions)
	}
	resumed, killed := sessions[0], sessions[1]
	if resumed.Trigger != "resume" || resumed.Outcome != "ok" {
		t.Fatalf("the session after the restart: %+v; want trigger resume, outcome ok", resumed)
	}
	if killed.Trigger != "activation" || killed.Outcome != api.OutcomeInterrupted || killed.End.IsZero() {
		t.Fatalf("the killed session: %+v; want activation, interrupted, with an end", killed)
	}
	items := h.items()
	if len(items) != 325 {
		t.Fatalf("activity lists %d items after the resume, want all 325 once", len(items))
	}
	if resumed.Added >= 325 {
		t.Fatalf("the resumed session added all %d items again; it must continue from the committed cursor", resumed.Added)
	}
	if out := h.ok("sessions"); !strings.Contains(out, "interrupted") || !strings.Contains(out, "resume") {
		t.Fatalf("sessions, in words:\n%s", out)
	}
}
