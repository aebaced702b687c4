package api

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors the engine returns that callers branch on. They survive the
// control socket: the client maps them back by code.
var (
	ErrUnknownAccount = errors.New("no such account")
	ErrUnsupported    = errors.New("not available in this build")
	ErrTooSoon        = errors.New("a sync ran less than a minute ago")
	ErrNotRunning     = errors.New("the agent is not running")
	// ErrMailboxMismatch: the mailbox the sign-in resolved is not the
	// expected one (see MailboxMismatchError).
	ErrMailboxMismatch = errors.New("the signed-in mailbox is not the expected one")
)

// MailboxMismatchError stops an activation whose signed-in mailbox is not
// the expected one, before anything is stored or synced. It matches
// ErrMailboxMismatch. The activation goes on when it is sent again with
// ActivationRequest.AcceptMailbox = Got, unless Enforced.
type MailboxMismatchError struct {
	// Expected is the mailbox the user works in: the account's mailbox
	// on re-activation, else the administrator's expected mailbox, else
	// the login or address the user typed.
	Expected string
	// Got is the mailbox the provider resolved after sign-in.
	Got string
	// Account names the existing account on re-activation, else "".
	Account string
	// Enforced means the mailbox cannot be accepted anyway (an
	// administrator's enforce_mailbox).
	Enforced bool
}

// Error names both mailboxes and says what is at stake, in words.
func (e *MailboxMismatchError) Error() string {
	var b strings.Builder
	if e.Account != "" {
		fmt.Fprintf(&b, "You signed in to the mailbox %s, but account %s syncs %s: ", e.Got, e.Account, e.Expected)
	} else {
		fmt.Fprintf(&b, "You signed in to the mailbox %s, but the expected mailbox is %s: ", e.Got, e.Expected)
	}
	b.WriteString("sync would run against a different mailbox than the one you work in.")
	if e.Enforced {
		fmt.Fprintf(&b, " Your administrator allows only %s: sign in with that account.", e.Expected)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrMailboxMismatch) true.
func (e *MailboxMismatchError) Is(target error) bool { return target == ErrMailboxMismatch }

// TooSoonError refuses a sync requested within the minimum gap of the
// last attempt. It matches ErrTooSoon.
type TooSoonError struct{ Wait time.Duration }

// Error says how long to wait, in words.
func (e *TooSoonError) Error() string {
	secs := int(e.Wait.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return fmt.Sprintf("a sync ran less than a minute ago; try again in %d seconds", secs)
}

// Is makes errors.Is(err, ErrTooSoon) true.
func (e *TooSoonError) Is(target error) bool { return target == ErrTooSoon }

// ErrLocked is returned for a change to a setting the administrator
// locked; its text is LockedWords, and the error says which
// setting.
//
//lint:ignore ST1005 the text is the windows' and the CLI's label for a locked setting, a sentence shown as is
var ErrLocked = errors.New(LockedWords)
