package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Class says what kind of failure an error is and therefore what the engine
// does about it (docs/architecture.md §3).
type Class int

const (
	// ClassFailed is anything not covered by another class. The session
	// fails; 10 consecutive failed sessions suspend the account.
	ClassFailed Class = iota
	// ClassOffline is a network failure: DNS, connect, timeout, a reset TLS
	// handshake. It never counts against the account; the engine retries
	// after 1, 2, 4 … minutes up to the sync interval.
	ClassOffline
	// ClassThrottled means the server asked us to wait (HTTP 429 or 503 with
	// Retry-After, EWS ErrorServerBusy with BackOffMilliseconds). It never
	// counts; the engine waits at least Error.RetryAfter.
	ClassThrottled
	// ClassRejected means the server refused the credentials (HTTP 401, a
	// bad password). It counts: the 6th consecutive rejection stops all
	// further login attempts until the user re-activates the account.
	ClassRejected
	// ClassGrantGone means an OAuth grant can no longer be used
	// (invalid_grant, interaction_required, consent or MFA required).
	// Retrying cannot help: the account needs re-activation at once.
	ClassGrantGone
	// ClassCursorInvalid means the stored cursor for a folder is no longer
	// accepted. The engine drops it and resyncs that folder.
	ClassCursorInvalid
)

var classNames = [...]string{"failed", "offline", "throttled", "rejected", "grant-gone", "cursor-invalid"}

// String returns the class name used in logs and JSON.
func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return fmt.Sprintf("class(%d)", int(c))
	}
	return classNames[c]
}

// Error is a classified provider error.
type Error struct {
	Class Class
	// RetryAfter is how long the server asked us to wait (ClassThrottled).
	RetryAfter time.Duration
	// Reason is a sentence for the user, in plain words ("Your organisation
	// requires you to sign in again."). It must never contain a secret.
	Reason string
	// Err is the underlying error, for logs. It must never contain a secret.
	Err error
}

// Error returns the reason, followed by the underlying error when there is one.
func (e *Error) Error() string {
	switch {
	case e.Reason != "" && e.Err != nil:
		// Reasons are sentences for people: a cause after a full stop
		// reads as a second one, not as "….: cause".
		if strings.HasSuffix(e.Reason, ".") || strings.HasSuffix(e.Reason, "?") || strings.HasSuffix(e.Reason, "!") {
			return e.Reason + " (" + e.Err.Error() + ")"
		}
		return e.Reason + ": " + e.Err.Error()
	case e.Reason != "":
		return e.Reason
	case e.Err != nil:
		return e.Class.String() + ": " + e.Err.Error()
	}
	return e.Class.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Offline wraps err as a network failure.
func Offline(err error) error { return &Error{Class: ClassOffline, Err: err} }

// Throttled wraps err as a request to wait for d.
func Throttled(d time.Duration, err error) error {
	return &Error{Class: ClassThrottled, RetryAfter: d, Err: err}
}

// Rejected wraps err as refused credentials, with a reason for the user.
func Rejected(reason string, err error) error {
	return &Error{Class: ClassRejected, Reason: reason, Err: err}
}

// GrantGone wraps err as an OAuth grant that can no longer be used.
func GrantGone(reason string, err error) error {
	return &Error{Class: ClassGrantGone, Reason: reason, Err: err}
}

// CursorInvalid wraps err as a cursor the server no longer accepts.
func CursorInvalid(err error) error { return &Error{Class: ClassCursorInvalid, Err: err} }

// Failed wraps err as a plain failure, with a reason for the user.
func Failed(reason string, err error) error {
	return &Error{Class: ClassFailed, Reason: reason, Err: err}
}

// Classify returns the class of err. Unclassified network errors (net.Error,
// *net.OpError, *net.DNSError, timeouts) are ClassOffline; any other
// unclassified error is ClassFailed. A nil error has no class; Classify
// returns ClassFailed for it, so callers check for nil first.
func Classify(err error) Class {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Class
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ClassOffline
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var netErr net.Error
	if errors.As(err, &dnsErr) || errors.As(err, &opErr) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return ClassOffline
	}
	return ClassFailed
}

// RetryAfter returns the wait a throttled error asks for, or 0.
func RetryAfter(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// Reason returns the user-facing reason of err, or "" when it has none.
func Reason(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return ""
}
