package session

import (
	"fmt"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// Standing is what the rules keep of an account between its sessions: the
// counters of consecutive rejected and failed sessions, and of offline
// ones (for the retry backoff).
type Standing struct {
	Rejections int
	Failures   int
	Offline    int
}

// Verdict is what the rules decide after a session: the account's new
// standing and state, why in words, and when the next session is due.
type Verdict struct {
	Standing Standing
	// Next is the account's state after the session: api.Idle (fine,
	// or a failure below the limits), api.Offline, api.Throttled,
	// api.NeedsReactivation (6 rejections, or the grant gone) or
	// api.Suspended (10 failures). A stopped session leaves Next Idle;
	// the host knows whether it was paused.
	Next api.State
	// Reason says why, in words for the user ("" when all is well).
	Reason string
	// Delay is how long after the session's end the next one is due.
	Delay time.Duration
	// Stopped: the account needs someone to act (Next.NeedsAttention())
	// because of this session: one notice is due.
	Stopped bool
}

// Judge applies the engine's rules (docs/architecture.md §3) to a
// session's result: a success clears the counters; a network fault retries
// with a backoff of 1, 2, 4 … minutes up to interval and never counts as a
// rejection; throttling waits the server's delay (a minute when it gave
// none); api.MaxRejections rejections in a row, or a grant gone, need a new
// sign-in; api.MaxFailures failures in a row suspend the account. A stopped
// session (err nil, res.Stopped) is due again at once. Every host (the
// desktop's engine, organisation mode's workers) decides with it.
func Judge(prev Standing, res Result, err error, interval time.Duration) Verdict {
	v := Verdict{Standing: prev, Next: api.Idle}
	switch {
	case res.Stopped:
		return v
	case err == nil:
		v.Standing = Standing{}
		v.Delay = interval
		return v
	}
	words := res.Reason
	switch res.Class {
	case provider.ClassOffline:
		v.Standing.Offline++
		v.Delay = min(time.Minute<<min(v.Standing.Offline-1, 16), interval)
		v.Next, v.Reason = api.Offline, fmt.Sprintf("Can't reach the mail server; trying again in %s.", HumanDuration(v.Delay))
	case provider.ClassThrottled:
		v.Delay = res.RetryAfter
		if v.Delay <= 0 {
			v.Delay = time.Minute
		}
		v.Next, v.Reason = api.Throttled, fmt.Sprintf("The mail server asked us to wait; continuing in %s.", HumanDuration(v.Delay))
	case provider.ClassRejected:
		v.Standing.Rejections++
		v.Delay = interval
		if v.Standing.Rejections >= api.MaxRejections {
			v.Next = api.NeedsReactivation
			v.Reason = fmt.Sprintf("Your mailbox rejected the last %d sync attempts — has your password changed? Sync is stopped until you sign in again.", v.Standing.Rejections)
		} else {
			v.Reason = fmt.Sprintf("The mailbox refused the sign-in (%d of %d attempts before sync stops).", v.Standing.Rejections, api.MaxRejections)
			if words != "" {
				v.Reason = words + " " + v.Reason
			}
		}
	case provider.ClassGrantGone:
		v.Delay = interval
		v.Next, v.Reason = api.NeedsReactivation, words
		if v.Reason == "" {
			v.Reason = "Your sign-in is no longer valid. Please sign in again."
		}
	default:
		v.Standing.Failures++
		v.Delay = interval
		if words == "" {
			words = "The sync failed."
		}
		v.Reason = words
		if v.Standing.Failures >= api.MaxFailures {
			v.Next = api.Suspended
			v.Reason = fmt.Sprintf("Sync stopped after %d failed attempts in a row. Last error: %s", v.Standing.Failures, words)
		}
	}
	v.Stopped = v.Next.NeedsAttention()
	return v
}

// HumanDuration words d for a reason: "1 second", "5 minutes", "2h0m0s".
func HumanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		s := int(d.Round(time.Second) / time.Second)
		if s == 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", max(s, 1))
	case d < time.Hour:
		m := int(d.Round(time.Minute) / time.Minute)
		if m == 1 {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", m)
	}
	return d.Round(time.Minute).String()
}
