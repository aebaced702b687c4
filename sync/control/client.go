package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

var _ api.Control = (*Client)(nil)

// Client is a Control served by the agent over its socket. Every call
// opens its own connection, so a Client may be used by any number of
// goroutines at once.
type Client struct {
	path string

	// closed is done after Close; it ends every call and subscription.
	closed context.Context
	close  context.CancelFunc
}

// dialTimeout bounds Dial's check that the agent answers when the caller's
// ctx has no deadline.
const dialTimeout = 10 * time.Second

// Dial returns a Client for the agent listening on the unix socket at path
// (on Windows, on the named pipe derived from path: see Listen),
// after checking that the agent answers. When no agent listens there (no
// socket, or a stale one that refuses connections) the error matches
// api.ErrNotRunning.
func Dial(ctx context.Context, path string) (*Client, error) {
	c := &Client{path: path}
	c.closed, c.close = context.WithCancel(context.Background())
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialTimeout)
		defer cancel()
	}
	var pong string
	if err := c.call(ctx, methodPing, nil, &pong); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// Close ends the Client: calls in flight return, subscriptions' channels
// close, later calls fail. It always returns nil.
func (c *Client) Close() error {
	c.close()
	return nil
}

// ErrClientClosed is returned by calls on a closed Client.
var ErrClientClosed = errors.New("control: client closed")

// Status implements Control.
func (c *Client) Status(ctx context.Context) (api.Status, error) {
	var st api.Status
	err := c.call(ctx, methodStatus, nil, &st)
	return st, err
}

// Pause implements Control.
func (c *Client) Pause(ctx context.Context, req api.PauseRequest) error {
	return c.call(ctx, methodPause, req, nil)
}

// Resume implements Control.
func (c *Client) Resume(ctx context.Context, account string) error {
	return c.call(ctx, methodResume, accountParams{Account: account}, nil)
}

// SyncNow implements Control.
func (c *Client) SyncNow(ctx context.Context, account string) error {
	return c.call(ctx, methodSyncNow, accountParams{Account: account}, nil)
}

// Accounts implements Control.
func (c *Client) Accounts(ctx context.Context) ([]api.Account, error) {
	var v []api.Account
	err := c.call(ctx, methodAccounts, nil, &v)
	return v, err
}

// RemoveAccount implements Control.
func (c *Client) RemoveAccount(ctx context.Context, account string, purge bool) error {
	return c.call(ctx, methodRemoveAccount, removeParams{Account: account, Purge: purge}, nil)
}

// Sessions implements Control.
func (c *Client) Sessions(ctx context.Context, q api.SessionQuery) ([]api.Session, error) {
	var v []api.Session
	err := c.call(ctx, methodSessions, q, &v)
	return v, err
}

// Activity implements Control.
func (c *Client) Activity(ctx context.Context, q api.ActivityQuery) (api.ActivityPage, error) {
	var v api.ActivityPage
	err := c.call(ctx, methodActivity, q, &v)
	return v, err
}

// Items implements Control.
func (c *Client) Items(ctx context.Context, q api.ItemsQuery) (api.ItemsPage, error) {
	var v api.ItemsPage
	err := c.call(ctx, methodItems, q, &v)
	return v, err
}

// Issues implements Control.
func (c *Client) Issues(ctx context.Context, account string, limit int) ([]api.Issue, error) {
	var v []api.Issue
	err := c.call(ctx, methodIssues, issuesParams{Account: account, Limit: limit}, &v)
	return v, err
}

// Settings implements Control.
func (c *Client) Settings(ctx context.Context) (api.Settings, error) {
	var v api.Settings
	err := c.call(ctx, methodSettings, nil, &v)
	return v, err
}

// UpdateSettings implements Control.
func (c *Client) UpdateSettings(ctx context.Context, s api.Settings) (api.Settings, error) {
	var v api.Settings
	err := c.call(ctx, methodUpdateSettings, s, &v)
	return v, err
}

// Policy implements Control.
func (c *Client) Policy(ctx context.Context) (api.Policy, error) {
	var v api.Policy
	err := c.call(ctx, methodPolicy, nil, &v)
	return v, err
}

// TestNotice implements Control.
func (c *Client) TestNotice(ctx context.Context) ([]api.NoticeDelivery, error) {
	var v []api.NoticeDelivery
	err := c.call(ctx, methodTestNotice, nil, &v)
	return v, err
}

// OpenWindow implements Control.
func (c *Client) OpenWindow(ctx context.Context, req api.WindowRequest) error {
	return c.call(ctx, methodOpenWindow, req, nil)
}

// Subscribe implements Control. It returns once the agent has registered
// the subscription, so no event published after it returns is missed. The
// channel closes when ctx is done, the Client is closed or the agent goes
// away. Events that arrive while the channel's buffer is full are dropped
// (Seq jumps), so a slow reader never holds up the agent.
func (c *Client) Subscribe(ctx context.Context) (<-chan api.Event, error) {
	cc, err := c.open(ctx, methodSubscribe, nil)
	if err != nil {
		return nil, err
	}
	f, err := cc.read()
	if err != nil {
		cc.close()
		return nil, err
	}
	if err := f.final(nil); err != nil {
		cc.close()
		return nil, err
	}
	ch := make(chan api.Event, 256)
	go func() {
		defer close(ch)
		defer cc.close()
		for {
			f, err := cc.read()
			if err != nil {
				return
			}
			if f.event == nil {
				continue // a frame kind this client does not know
			}
			var ev api.Event
			if err := json.Unmarshal(f.event, &ev); err != nil {
				continue
			}
			select {
			case ch <- ev:
			default: // the reader is behind: drop, Seq will jump
			}
		}
	}()
	return ch, nil
}

// Export implements api.Control: the agent writes the file. progress (which
// may be nil) is called in this goroutine; closing the connection (ctx
// done) stops the export.
func (c *Client) Export(ctx context.Context, req api.ExportRequest, progress func(api.ExportProgress)) (int, error) {
	var n int
	err := callProgress(ctx, c, methodExport, req, progress, &n)
	return n, err
}

// Activate implements Control. progress (which may be nil) is called in
// order, on the calling goroutine, before Activate returns. Cancelling
// ctx closes the connection, which cancels the activation in the agent.
func (c *Client) Activate(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (api.Account, error) {
	var acct api.Account
	err := callProgress(ctx, c, methodActivate, req, progress, &acct)
	return acct, err
}

// CRMConnect implements Control.
func (c *Client) CRMConnect(ctx context.Context, req api.CRMConnectRequest, progress func(api.ActivationProgress)) (api.CRMStatus, error) {
	var st api.CRMStatus
	err := callProgress(ctx, c, methodCRMConnect, req, progress, &st)
	return st, err
}

// CRMStatus implements Control.
func (c *Client) CRMStatus(ctx context.Context) (api.CRMStatus, error) {
	var st api.CRMStatus
	err := c.call(ctx, methodCRMStatus, nil, &st)
	return st, err
}

// CRMSync implements Control.
func (c *Client) CRMSync(ctx context.Context, wait bool) (api.CRMStatus, error) {
	var st api.CRMStatus
	err := c.call(ctx, methodCRMSync, crmSyncParams{Wait: wait}, &st)
	return st, err
}

// CRMDisconnect implements Control.
func (c *Client) CRMDisconnect(ctx context.Context) error {
	return c.call(ctx, methodCRMDisconnect, nil, nil)
}

// CRMSettings implements Control.
func (c *Client) CRMSettings(ctx context.Context) (api.CRMSettings, error) {
	var s api.CRMSettings
	err := c.call(ctx, methodCRMSettings, nil, &s)
	return s, err
}

// UpdateCRMSettings implements Control.
func (c *Client) UpdateCRMSettings(ctx context.Context, s api.CRMSettings) (api.CRMSettings, error) {
	var out api.CRMSettings
	err := c.call(ctx, methodUpdateCRMSettings, s, &out)
	return out, err
}

// callProgress runs a method that streams progress frames (of type P)
// before its result, decoded into result.
func callProgress[P any](ctx context.Context, c *Client, method string, params any, progress func(P), result any) error {
	cc, err := c.open(ctx, method, params)
	if err != nil {
		return err
	}
	defer cc.close()
	for {
		f, err := cc.read()
		if err != nil {
			return err
		}
		if f.progress != nil {
			var p P
			if err := json.Unmarshal(f.progress, &p); err != nil {
				return fmt.Errorf("control: malformed progress from the agent: %w", err)
			}
			if progress != nil {
				progress(p)
			}
			continue
		}
		if f.isFinal() {
			return f.final(result)
		}
	}
}

// call runs a method that answers with one result, decoded into result
// (which may be nil).
func (c *Client) call(ctx context.Context, method string, params, result any) error {
	return callProgress[struct{}](ctx, c, method, params, nil, result)
}

// clientConn is one request's connection.
type clientConn struct {
	c    *Client
	ctx  context.Context
	conn net.Conn
	br   *bufio.Reader
	stop []func() bool
}

// open connects to the agent and sends the request.
func (c *Client) open(ctx context.Context, method string, params any) (*clientConn, error) {
	if err := c.closed.Err(); err != nil {
		return nil, ErrClientClosed
	}
	req := request{Method: method}
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("control: encoding %s: %w", method, err)
		}
		req.Params = b
	}
	line, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("control: encoding %s: %w", method, err)
	}
	if len(line) > maxRequest {
		return nil, fmt.Errorf("%w: the request is larger than %d bytes", api.ErrInvalid, maxRequest)
	}
	conn, err := dialAgent(ctx, c.path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if isNotRunning(err) {
			return nil, fmt.Errorf("%w: %w", api.ErrNotRunning, err)
		}
		return nil, fmt.Errorf("control: connecting to the agent: %w", err)
	}
	cc := &clientConn{c: c, ctx: ctx, conn: conn, br: bufio.NewReader(conn)}
	closeConn := func() { conn.Close() }
	cc.stop = []func() bool{context.AfterFunc(ctx, closeConn), context.AfterFunc(c.closed, closeConn)}
	if _, err := conn.Write(append(line, '\n')); err != nil {
		err = cc.wrap(err)
		cc.close()
		return nil, err
	}
	return cc, nil
}

// close releases the connection.
func (cc *clientConn) close() {
	for _, stop := range cc.stop {
		stop()
	}
	cc.conn.Close()
}

// wrap explains a connection error: the caller's ctx, a closed Client or a
// lost agent.
func (cc *clientConn) wrap(err error) error {
	if e := cc.ctx.Err(); e != nil {
		return e
	}
	if cc.c.closed.Err() != nil {
		return ErrClientClosed
	}
	return fmt.Errorf("control: lost the connection to the agent: %w", err)
}

// frameIn is a response frame as the client reads it. Each field holds
// the raw value of its key when the key is present.
type frameIn struct {
	result   json.RawMessage
	err      *wireError
	event    json.RawMessage
	progress json.RawMessage
}

func (f *frameIn) isFinal() bool { return f.result != nil || f.err != nil }

// final returns the frame's error, or decodes its result into v (nil:
// ignore the result).
func (f *frameIn) final(v any) error {
	if f.err != nil {
		return decodeError(f.err)
	}
	if f.result == nil {
		return errors.New("control: the agent answered without a result")
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(f.result, v); err != nil {
		return fmt.Errorf("control: malformed answer from the agent: %w", err)
	}
	return nil
}

// read reads the next frame.
func (cc *clientConn) read() (*frameIn, error) {
	line, err := readLine(cc.br, maxFrame)
	if err != nil {
		return nil, cc.wrap(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, fmt.Errorf("control: malformed frame from the agent: %w", err)
	}
	f := &frameIn{result: m["result"], event: m["event"], progress: m["progress"]}
	if raw, ok := m["error"]; ok {
		f.err = new(wireError)
		if err := json.Unmarshal(raw, f.err); err != nil {
			return nil, fmt.Errorf("control: malformed error from the agent: %w", err)
		}
		if f.err.Message == "" {
			f.err.Message = "the agent reported an error without a message"
		}
	}
	return f, nil
}

// isNotRunning reports whether a dial error means no agent listens: no
// socket file, or a stale one nobody accepts on.
func isNotRunning(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, errConnRefused)
}
