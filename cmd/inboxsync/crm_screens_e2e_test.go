package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/internal/xtest"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
)

// TestCRMWindowScreens captures the CRM parts of the windows against a
// real agent logging to the Salesforce emulator: the Connections tab's
// CRM tile, the Activity tab with each item's Salesforce state and Open in
// Salesforce, and the "Sign in to Salesforce again" window (saved as
// window-*-crm*.png and window-crm-*.png with INBOXSYNC_SHOTS).
func TestCRMWindowScreens(t *testing.T) {
	needKeyring(t)
	needDisplayTools(t, "import")
	display := xtest.StartXvfb(t)
	sf := sftest.New(t, sftest.Options{})
	sf.AddContact("alice@scripted.test", sf.AddAccount("Scripted Inc"))
	h := newHome(t, "DISPLAY="+display, "WAYLAND_DISPLAY=", "INBOXSYNC_TEST_MIN_SYNC_GAP=1s")
	log := h.startAgent()
	script := h.writeScript(`{"inbox": 12, "sent": 3, "calendar": 2, "email": "ann@example.test"}`)
	h.ok("account", "add", "scripted", "--account", "work", "--login", "ann", "--mailbox", script)
	await(t, "the first sync ends", log, func() bool {
		s := h.status().Accounts
		return len(s) == 1 && s[0].LastSync != nil && s[0].LastSync.Outcome == "ok"
	})
	s := &screens{t: t, h: h, display: display}

	// Before Salesforce: the tile offers it.
	w := s.open("^Inbox Sync$", "dashboard", "--tab", "connections")
	before := s.shoot(w, "window-dashboard-crm-disconnected")
	w.end()

	h.crmConnect(sf)
	await(t, "the mailbox is logged", log, func() bool {
		st := h.crmStatus()
		return st.State == api.ConnConnected && st.Counts[api.CRMPending] == 0 && st.Counts[api.CRMLogged] > 0
	})
	w = s.open("^Inbox Sync$", "dashboard", "--tab", "connections")
	after := s.shoot(w, "window-dashboard-crm")
	s.differ(before, after, "connecting Salesforce")
	w.end()
	w = s.open("^Inbox Sync$", "dashboard", "--tab", "activity")
	s.shoot(w, "window-dashboard-activity-crm")
	w.end()

	// The CRM rules on the tile: the user's own and one the
	// administrator locked (docs/screenshots/crm-rules.png).
	if err := os.WriteFile(filepath.Join(h.dir, "policy.toml"), []byte("locked = [\"salesforce.threads\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	await(t, "the agent reads the policy", log, func() bool {
		out, _, _ := h.run("", "crm", "settings")
		return strings.Contains(out, "whole threads:          on  (Set by your administrator)")
	})
	h.ok("crm", "settings", "--keep-out", "Private,Don't log,HR", "--opportunity", "most-recent")
	w = s.open("^Inbox Sync$", "dashboard", "--tab", "connections")
	rules := s.shoot(w, "crm-rules")
	s.differ(after, rules, "showing other CRM rules")
	w.end()
	if err := os.Remove(filepath.Join(h.dir, "policy.toml")); err != nil {
		t.Fatal(err)
	}

	// The sign-in is revoked: the run after the next mail needs
	// re-activation.
	sf.RevokeGrants()
	sf.ExpireSessions()
	h.writeScript(`{"inbox": 13, "sent": 3, "calendar": 2, "email": "ann@example.test"}`)
	h.ok("sync", "--wait")
	await(t, "the CRM needs re-activation", log, func() bool { return h.crmStatus().State == api.ConnNeedsReactivation })
	if st := h.crmStatus(); !strings.Contains(strings.ToLower(st.Reason), "salesforce") {
		t.Fatalf("after the revocation: %+v", st)
	}
	// The agent opens "Sign in to Salesforce again" by itself. (A second
	// window of the test's own, at the same place on this display without
	// a window manager, lay over it: its capture read the other's blank
	// first frame.)
	ids := windows(t, display, "Salesforce", true)
	if len(ids) != 1 {
		t.Fatalf("%d Salesforce windows, want the one the agent opened", len(ids))
	}
	s.drawn(ids[0], "Sign in to Salesforce again")
	s.shootID(ids[0], "window-crm-sign-in-again")
	w = s.open("^Inbox Sync$", "dashboard", "--tab", "connections")
	s.shoot(w, "window-dashboard-crm-needs-you")
	w.end()
}

// end closes a window of this test as the desktop does (SIGINT); if it
// has not exited after 10 s, it is killed and the log says so.
func (w *shown) end() {
	w.s.t.Helper()
	if ok, err := interruptWindow(w.s.t, w.cmd); !ok {
		w.s.t.Logf("window ignored the interrupt for 10 s and was killed\n%s", w.out)
	} else if err != nil && !endedByInterrupt(err) {
		w.s.t.Errorf("window exited with %v\n%s", err, w.out)
	}
	w.cmd = nil
}
