package crm_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
)

func TestStateAfter(t *testing.T) {
	for _, c := range []struct {
		err  error
		want crm.ConnState
	}{
		{nil, crm.ConnConnected},
		{provider.Offline(errors.New("dns")), crm.ConnConnected},
		{provider.Throttled(30*time.Minute, errors.New("budget")), crm.ConnThrottled},
		{provider.GrantGone("sign in again", errors.New("invalid_grant")), crm.ConnNeedsReactivation},
		{provider.Rejected("refused", errors.New("401")), crm.ConnFailed},
		{errors.New("boom"), crm.ConnFailed},
	} {
		if got := crm.StateAfter(c.err); got != c.want {
			t.Errorf("StateAfter(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	s := crm.Status{State: crm.ConnNeedsReactivation, Counts: map[crm.State]int{crm.Logged: 3, crm.Skipped: 1}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"state":"needs-reactivation"`) || !strings.Contains(string(b), `"logged":3`) || strings.Contains(string(b), "last_run") {
		t.Fatalf("JSON = %s", b)
	}
	var back crm.Status
	if err := json.Unmarshal(b, &back); err != nil || back.State != crm.ConnNeedsReactivation || back.Counts[crm.Logged] != 3 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}
