package session

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// TestJudgeCountsToTheLimits walks the counters up to the limits: the
// sixth rejection in a row needs a new sign-in, the tenth failure
// suspends, and a success in between starts them again.
func TestJudgeCountsToTheLimits(t *testing.T) {
	const interval = 30 * time.Minute
	bad := errors.New("x")
	var st Standing
	for i := 1; i <= api.MaxRejections; i++ {
		v := Judge(st, Result{Class: provider.ClassRejected, Reason: "Wrong password."}, bad, interval)
		st = v.Standing
		if st.Rejections != i || v.Delay != interval {
			t.Fatalf("rejection %d: %+v", i, v)
		}
		if last := i == api.MaxRejections; v.Stopped != last || (v.Next == api.NeedsReactivation) != last {
			t.Fatalf("rejection %d: next %v stopped %v", i, v.Next, v.Stopped)
		}
		if i < api.MaxRejections && !strings.HasPrefix(v.Reason, "Wrong password. ") {
			t.Fatalf("rejection %d: reason %q drops the provider's words", i, v.Reason)
		}
	}
	v := Judge(st, Result{}, nil, interval)
	if v.Standing != (Standing{}) || v.Next != api.Idle || v.Delay != interval || v.Stopped {
		t.Fatalf("success after rejections: %+v", v)
	}
	st = Standing{}
	for i := 1; i <= api.MaxFailures; i++ {
		v = Judge(st, Result{Class: provider.ClassFailed}, bad, interval)
		st = v.Standing
		if (v.Next == api.Suspended) != (i == api.MaxFailures) {
			t.Fatalf("failure %d: next %v", i, v.Next)
		}
	}
	if !strings.Contains(v.Reason, "10 failed attempts") || !strings.Contains(v.Reason, "The sync failed.") {
		t.Fatalf("suspension reason %q", v.Reason)
	}
}

// TestJudgeWaits checks the delays: offline backs off 1, 2, 4 … minutes
// up to the interval and never counts as a rejection; throttling waits the
// server's delay; a stopped session is due at once and changes nothing.
func TestJudgeWaits(t *testing.T) {
	const interval = 30 * time.Minute
	bad := errors.New("x")
	st := Standing{Rejections: 2}
	var delays []time.Duration
	for range 7 {
		v := Judge(st, Result{Class: provider.ClassOffline}, bad, interval)
		st = v.Standing
		delays = append(delays, v.Delay)
		if v.Next != api.Offline || v.Stopped || st.Rejections != 2 {
			t.Fatalf("offline: %+v", v)
		}
	}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30}
	for i, d := range delays {
		if d != want[i]*time.Minute {
			t.Fatalf("offline delays %v", delays)
		}
	}
	v := Judge(st, Result{Class: provider.ClassThrottled, RetryAfter: 90 * time.Second}, bad, interval)
	if v.Next != api.Throttled || v.Delay != 90*time.Second || !strings.Contains(v.Reason, "2 minutes") {
		t.Fatalf("throttled: %+v", v)
	}
	if v := Judge(st, Result{Class: provider.ClassThrottled}, bad, interval); v.Delay != time.Minute {
		t.Fatalf("throttled without Retry-After: %+v", v)
	}
	if v := Judge(st, Result{Stopped: true}, nil, interval); v.Standing != st || v.Delay != 0 || v.Next != api.Idle {
		t.Fatalf("stopped: %+v", v)
	}
	v = Judge(Standing{}, Result{Class: provider.ClassGrantGone}, bad, interval)
	if v.Next != api.NeedsReactivation || !v.Stopped || v.Reason == "" {
		t.Fatalf("grant gone: %+v", v)
	}
}
