package control

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Methods of the protocol.
const (
	methodPing           = "ping"
	methodStatus         = "status"
	methodSubscribe      = "subscribe"
	methodPause          = "pause"
	methodResume         = "resume"
	methodSyncNow        = "sync"
	methodAccounts       = "accounts"
	methodRemoveAccount  = "remove-account"
	methodSessions       = "sessions"
	methodActivity       = "activity"
	methodItems          = "items"
	methodIssues         = "issues"
	methodSettings       = "settings"
	methodUpdateSettings = "update-settings"
	methodActivate       = "activate"
	methodExport         = "export"
	methodOpenWindow     = "open-window"
	methodPolicy         = "policy"
	methodTestNotice     = "test-notice"
	// The CRM connection (issue 11).
	methodCRMConnect        = "crm-connect"
	methodCRMStatus         = "crm-status"
	methodCRMSync           = "crm-sync"
	methodCRMDisconnect     = "crm-disconnect"
	methodCRMSettings       = "crm-settings"
	methodUpdateCRMSettings = "update-crm-settings"
)

// Limits and timeouts.
const (
	// maxRequest bounds one request line.
	maxRequest = 1 << 20
	// maxFrame bounds one response frame as the client reads it.
	maxFrame = 64 << 20
	// requestTimeout is how long the server waits for the request line.
	requestTimeout = 10 * time.Second
	// defaultWriteTimeout is how long the server lets one frame take to
	// reach a client before it gives the client up.
	defaultWriteTimeout = 10 * time.Second
)

// request is the one line a client sends.
type request struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// Parameters of the methods that take plain values.
type (
	accountParams struct {
		Account string `json:"account,omitempty"`
	}
	removeParams struct {
		Account string `json:"account"`
		Purge   bool   `json:"purge,omitempty"`
	}
	issuesParams struct {
		Account string `json:"account,omitempty"`
		Limit   int    `json:"limit,omitempty"`
	}
	crmSyncParams struct {
		Wait bool `json:"wait,omitempty"`
	}
)

// wireError is an error as it travels.
type wireError struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Wait    api.Duration `json:"wait,omitempty"`
	// Mailbox carries a mailbox-mismatch's addresses.
	Mailbox *wireMailbox `json:"mailbox,omitempty"`
}

// wireMailbox is an engine.MailboxMismatchError as it travels.
type wireMailbox struct {
	Expected string `json:"expected"`
	Got      string `json:"got"`
	Account  string `json:"account,omitempty"`
	Enforced bool   `json:"enforced,omitempty"`
}

// Error codes.
const (
	CodeUnknownAccount = "unknown-account"
	CodeInvalid        = "invalid"
	CodeUnsupported    = "unsupported"
	CodeTooSoon        = "too-soon"
	CodeNotRunning     = "not-running"
	CodeCanceled       = "canceled"
	// CodeMailboxMismatch: the signed-in mailbox is not the expected one;
	// the client gets an *engine.MailboxMismatchError back.
	CodeMailboxMismatch = "mailbox-mismatch"
	// CodeLocked: the administrator's policy locks what was asked.
	CodeLocked = "locked"
	CodeError  = "error" // anything else
)

// codes maps a code to the sentinel a client's error matches; the server
// looks them up in this order.
var codes = []struct {
	code string
	err  error
}{
	{CodeUnknownAccount, api.ErrUnknownAccount},
	{CodeInvalid, api.ErrInvalid},
	{CodeUnsupported, api.ErrUnsupported},
	{CodeTooSoon, api.ErrTooSoon},
	{CodeNotRunning, api.ErrNotRunning},
	{CodeCanceled, context.Canceled},
	{CodeMailboxMismatch, api.ErrMailboxMismatch},
	{CodeLocked, api.ErrLocked},
}

// encodeError turns an error into its wire form, keeping its text.
func encodeError(err error) *wireError {
	w := &wireError{Code: CodeError, Message: err.Error()}
	var ts *api.TooSoonError
	if errors.As(err, &ts) {
		w.Code, w.Wait = CodeTooSoon, api.Duration(ts.Wait)
		return w
	}
	var mm *api.MailboxMismatchError
	if errors.As(err, &mm) {
		w.Code = CodeMailboxMismatch
		w.Mailbox = &wireMailbox{Expected: mm.Expected, Got: mm.Got, Account: mm.Account, Enforced: mm.Enforced}
		return w
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			w.Code = c.code
			break
		}
	}
	return w
}

// decodeError turns a wire error back into an error that matches the same
// sentinel (and, for too-soon, a *engine.TooSoonError with the same Wait)
// and says exactly what the server's error said.
func decodeError(w *wireError) error {
	e := &RemoteError{Code: w.Code, Message: w.Message}
	if w.Code == CodeTooSoon && w.Wait > 0 {
		e.err = &api.TooSoonError{Wait: w.Wait.D()}
		return e
	}
	if w.Code == CodeMailboxMismatch && w.Mailbox != nil {
		m := w.Mailbox
		e.err = &api.MailboxMismatchError{Expected: m.Expected, Got: m.Got, Account: m.Account, Enforced: m.Enforced}
		return e
	}
	for _, c := range codes {
		if c.code == w.Code {
			e.err = c.err
			break
		}
	}
	return e
}

// RemoteError is an error the agent returned. Its text is the agent's,
// unchanged; errors.Is matches the engine's sentinel of its code
// (api.ErrUnknownAccount, ErrInvalid, ErrUnsupported, ErrTooSoon,
// ErrNotRunning, ErrMailboxMismatch), errors.As finds a
// *engine.TooSoonError with the agent's Wait for code "too-soon", and a
// *engine.MailboxMismatchError with both addresses for code
// "mailbox-mismatch".
type RemoteError struct {
	// Code is the wire code, e.g. "too-soon"; "error" for anything without
	// a sentinel.
	Code string
	// Message is the agent's error text.
	Message string

	err error
}

// Error returns the agent's text.
func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the sentinel (or *engine.TooSoonError,
// *engine.MailboxMismatchError) the code stands for, or nil.
func (e *RemoteError) Unwrap() error { return e.err }
