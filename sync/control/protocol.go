package control

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/inboxsync/inboxsync/sync/engine"
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
	methodIssues         = "issues"
	methodSettings       = "settings"
	methodUpdateSettings = "update-settings"
	methodActivate       = "activate"
	methodOpenWindow     = "open-window"
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
)

// wireError is an error as it travels.
type wireError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Wait    engine.Duration `json:"wait,omitempty"`
}

// Error codes.
const (
	CodeUnknownAccount = "unknown-account"
	CodeInvalid        = "invalid"
	CodeUnsupported    = "unsupported"
	CodeTooSoon        = "too-soon"
	CodeNotRunning     = "not-running"
	CodeCanceled       = "canceled"
	CodeError          = "error" // anything else
)

// codes maps a code to the sentinel a client's error matches; the server
// looks them up in this order.
var codes = []struct {
	code string
	err  error
}{
	{CodeUnknownAccount, engine.ErrUnknownAccount},
	{CodeInvalid, engine.ErrInvalid},
	{CodeUnsupported, engine.ErrUnsupported},
	{CodeTooSoon, engine.ErrTooSoon},
	{CodeNotRunning, engine.ErrNotRunning},
	{CodeCanceled, context.Canceled},
}

// encodeError turns an error into its wire form, keeping its text.
func encodeError(err error) *wireError {
	w := &wireError{Code: CodeError, Message: err.Error()}
	var ts *engine.TooSoonError
	if errors.As(err, &ts) {
		w.Code, w.Wait = CodeTooSoon, engine.Duration(ts.Wait)
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
		e.err = &engine.TooSoonError{Wait: w.Wait.D()}
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
// (engine.ErrUnknownAccount, ErrInvalid, ErrUnsupported, ErrTooSoon,
// ErrNotRunning), and errors.As finds a *engine.TooSoonError with the
// agent's Wait for code "too-soon".
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

// Unwrap returns the sentinel (or *engine.TooSoonError) the code stands
// for, or nil.
func (e *RemoteError) Unwrap() error { return e.err }
