package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Durations read as people say them: one second, never "1 seconds" or
// "60 seconds".
func TestWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "1 second",
		time.Second:              "1 second",
		2 * time.Second:          "2 seconds",
		1990 * time.Millisecond:  "2 seconds",
		59 * time.Second:         "59 seconds",
		59700 * time.Millisecond: "1 minute",
		90 * time.Second:         "2 minutes",
		30 * time.Minute:         "30 minutes",
		3 * time.Hour:            "3 hours",
	} {
		if got := words(d); got != want {
			t.Errorf("words(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 120000: "120,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestPrintStatusSaysWhatIsTrue: "last successful sync" is when the data
// was current and a failed try after it is named as such; without an
// agent nothing is due, so no stored next-sync time is shown.
func TestPrintStatusSaysWhatIsTrue(t *testing.T) {
	now := time.Now()
	ok := &api.Session{Start: now.Add(-71 * time.Minute), End: now.Add(-70 * time.Minute), Outcome: api.OutcomeOK, Counts: api.Counts{Added: 3}}
	failed := &api.Session{Start: now.Add(-2 * time.Minute), End: now.Add(-2 * time.Minute), Outcome: "offline", Error: "can't reach the mail server"}
	offline := api.AccountStatus{Account: "work", Provider: "office365", State: api.Offline, Words: "Offline",
		LastSync: failed, LastSuccess: ok, NextSync: now.Add(time.Minute)}
	for _, tc := range []struct {
		name      string
		status    api.Status
		want, not []string
	}{
		{"agent", api.Status{Source: "agent", AgentRunning: true, Accounts: []api.AccountStatus{offline}},
			[]string{"  last successful sync: " + clock(ok.Start, now) + " (3 added", "  last try:   " + clock(failed.Start, now) + " failed (offline): can't reach the mail server\n", "  next sync:  " + clock(offline.NextSync, now)},
			[]string{"when Inbox Sync starts"}},
		{"no agent", api.Status{Source: "store", Accounts: []api.AccountStatus{func() api.AccountStatus { a := offline; a.NextSync = time.Time{}; return a }()}},
			[]string{"Inbox Sync is not running", "  next sync:  when Inbox Sync starts — run `inboxsync`\n"},
			[]string{"(in "}},
		{"never synced", api.Status{Source: "agent", AgentRunning: true, Accounts: []api.AccountStatus{{Account: "work", State: api.Idle, Words: "Up to date", LastSync: failed}}},
			[]string{"  last successful sync: never\n", "  last try:   " + clock(failed.Start, now) + " failed"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			(&cli{out: &b, errOut: io.Discard}).printStatus(tc.status, now)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("status lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tc.not {
				if strings.Contains(b.String(), w) {
					t.Errorf("status says %q:\n%s", w, b.String())
				}
			}
		})
	}
}
