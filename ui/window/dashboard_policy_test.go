package window

import (
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

func TestDashboardSaysWhatTheAdministratorSets(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	st := api.Status{Interval: api.Duration(15 * time.Minute), IntervalSource: api.SourceLocked,
		Accounts: []api.AccountStatus{{Account: "work", State: api.Idle}}}
	if got := summary(st, now); !strings.HasPrefix(got, "Sync runs every 15 minutes (set by your administrator).") {
		t.Errorf("summary = %q", got)
	}
	if got := policyNote(st); got != "" {
		t.Errorf("a note without problems: %q", got)
	}
	st.PolicyProblems = []api.PolicyProblem{{Line: 6, Key: "wallpaper", Message: "unknown setting"}}
	if got := policyNote(st); got != "\nYour administrator's policy has a problem; this entry is ignored: line 6: wallpaper: unknown setting." {
		t.Errorf("note = %q", got)
	}
	st.PolicyProblems = append(st.PolicyProblems, api.PolicyProblem{Line: 9, Message: "x"})
	if got := policyNote(st); !strings.Contains(got, "has 2 problems") || !strings.Contains(got, "line 6") {
		t.Errorf("note = %q", got)
	}
}
