package crm_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
)

func TestStateAfter(t *testing.T) {
	for _, c := range []struct {
		err  error
		want api.ConnState
	}{
		{nil, api.ConnConnected},
		{provider.Offline(errors.New("dns")), api.ConnConnected},
		{provider.Throttled(30*time.Minute, errors.New("budget")), api.ConnThrottled},
		{provider.GrantGone("sign in again", errors.New("invalid_grant")), api.ConnNeedsReactivation},
		{provider.Rejected("refused", errors.New("401")), api.ConnFailed},
		{errors.New("boom"), api.ConnFailed},
	} {
		if got := crm.StateAfter(c.err); got != c.want {
			t.Errorf("StateAfter(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	s := api.CRMStatus{State: api.ConnNeedsReactivation, Counts: map[api.CRMState]int{api.CRMLogged: 3, api.CRMSkipped: 1}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"state":"needs-reactivation"`) || !strings.Contains(string(b), `"logged":3`) || strings.Contains(string(b), "last_run") {
		t.Fatalf("JSON = %s", b)
	}
	var back api.CRMStatus
	if err := json.Unmarshal(b, &back); err != nil || back.State != api.ConnNeedsReactivation || back.Counts[api.CRMLogged] != 3 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}
