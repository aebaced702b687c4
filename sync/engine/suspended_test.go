package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Sync now (the dashboard's Force sync) on a suspended account runs a
// session; its success re-enables the account, as Resume does.
func TestForceSyncReEnablesSuspended(t *testing.T) {
	v := newEnv(t)
	v.activate("pw")
	v.session()
	v.mb.FailAll(errors.New("500 Internal Server Error"))
	for range api.MaxFailures {
		v.clock.Advance(interval)
		v.session()
	}
	if st := v.status(); st.State != api.Suspended {
		t.Fatalf("state %v, want suspended", st.State)
	}
	v.mb.FailAll(nil)
	v.clock.Advance(interval)
	if err := v.e.SyncNow(context.Background(), "work"); err != nil {
		t.Fatalf("force sync on a suspended account: %v", err)
	}
	if s := v.session(); s.Outcome != "ok" || s.Trigger != "manual" {
		t.Fatalf("after force sync: %+v", s)
	}
	if st := v.status(); st.State != api.Idle || st.Failures != 0 {
		t.Fatalf("after force sync: %v, %d failures", st.State, st.Failures)
	}
}
