package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Server serves a Control on a stream listener (the agent's unix socket),
// one request per connection. See the protocol in protocol.go.
type Server struct {
	c   api.Control
	log *slog.Logger

	// writeTimeout bounds every frame's write: a client that stops reading
	// is dropped after it rather than holding anything up.
	writeTimeout time.Duration
	// uid is the only user whose connections are served: the agent's.
	uid int
}

// NewServer returns a Server for c. log may be nil.
func NewServer(c api.Control, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{c: c, log: log, writeTimeout: defaultWriteTimeout, uid: os.Getuid()}
}

// Serve accepts connections on l until ctx is done, then closes l and every
// open connection, cancels the requests they started, waits for their
// handlers to return and returns nil. It returns an error, after the same
// cleanup, if accepting fails for good.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	stop := context.AfterFunc(ctx, func() {
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer func() {
		cancel()
		stop()
		l.Close()
		wg.Wait()
	}()

	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait and retry.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("control: accept", "err", err, "retry", backoff)
				select {
				case <-time.After(backoff):
					continue
				case <-ctx.Done():
					return nil
				}
			}
			return fmt.Errorf("control: accept: %w", err)
		}
		backoff = 0
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			conn.Close()
			return nil
		}
		conns[conn] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(conns, conn)
				mu.Unlock()
			}()
			s.serveConn(ctx, conn)
		}()
	}
}

// isTemporary reports whether an accept error is worth retrying.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// serveConn answers the one request of conn and closes it.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	if err := checkPeer(conn, s.uid); err != nil {
		s.log.Warn("control: refused a connection", "err", err)
		return
	}
	w := &frameWriter{conn: conn, timeout: s.writeTimeout}

	conn.SetReadDeadline(time.Now().Add(requestTimeout))
	br := bufio.NewReader(conn)
	line, err := readLine(br, maxRequest)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			w.error(fmt.Errorf("%w: the request is larger than %d bytes", api.ErrInvalid, maxRequest))
		} else if !errors.Is(err, io.EOF) {
			s.log.Debug("control: reading a request", "err", err)
		}
		return
	}
	conn.SetReadDeadline(time.Time{})
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		w.error(fmt.Errorf("%w: malformed request: %v", api.ErrInvalid, err))
		return
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	switch req.Method {
	case methodSubscribe, methodActivate, methodCRMConnect, methodCRMSync, methodExport:
		// Nothing more is read but the end of the stream: when the client
		// hangs up, the stream it asked for is cancelled. (Unary requests
		// are short and run to the end, so a script may half-close.)
		go func() {
			io.Copy(io.Discard, br)
			cancel()
		}()
	}

	if err := s.dispatch(ctx, req, w); err != nil {
		s.log.Debug("control: writing a response", "method", req.Method, "err", err)
	}
}

// dispatch runs one request and writes its response frames. It returns
// only the error of writing to the client.
func (s *Server) dispatch(ctx context.Context, req request, w *frameWriter) error {
	switch req.Method {
	case methodPing:
		return w.result("pong")
	case methodSubscribe:
		return s.subscribe(ctx, w)
	case methodActivate:
		var p api.ActivationRequest
		if err := decodeParams(req.Params, &p); err != nil {
			return w.error(err)
		}
		return s.activate(ctx, p, w)
	case methodCRMConnect:
		var p api.CRMConnectRequest
		if err := decodeParams(req.Params, &p); err != nil {
			return w.error(err)
		}
		return s.crmConnect(ctx, p, w)
	case methodExport:
		var p api.ExportRequest
		if err := decodeParams(req.Params, &p); err != nil {
			return w.error(err)
		}
		return withProgress(ctx, w, func(ctx context.Context, progress func(api.ExportProgress)) (any, error) {
			return s.c.Export(ctx, p, progress)
		})
	}
	h, ok := unary[req.Method]
	if !ok {
		return w.error(fmt.Errorf("%w: the agent does not know the request %q", api.ErrUnsupported, req.Method))
	}
	v, err := h(ctx, s.c, req.Params)
	if err != nil {
		return w.error(err)
	}
	return w.result(v)
}

// unary holds the methods that answer with one result.
var unary = map[string]func(ctx context.Context, c api.Control, params json.RawMessage) (any, error){
	methodStatus: func(ctx context.Context, c api.Control, _ json.RawMessage) (any, error) {
		return c.Status(ctx)
	},
	methodPause: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var p api.PauseRequest
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return nil, c.Pause(ctx, p)
	},
	methodResume: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var p accountParams
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return nil, c.Resume(ctx, p.Account)
	},
	methodSyncNow: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var p accountParams
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return nil, c.SyncNow(ctx, p.Account)
	},
	methodAccounts: func(ctx context.Context, c api.Control, _ json.RawMessage) (any, error) {
		return c.Accounts(ctx)
	},
	methodRemoveAccount: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var p removeParams
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return nil, c.RemoveAccount(ctx, p.Account, p.Purge)
	},
	methodSessions: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var q api.SessionQuery
		if err := decodeParams(params, &q); err != nil {
			return nil, err
		}
		return c.Sessions(ctx, q)
	},
	methodItems: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var q api.ItemsQuery
		if err := decodeParams(params, &q); err != nil {
			return nil, err
		}
		return c.Items(ctx, q)
	},
	methodActivity: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var q api.ActivityQuery
		if err := decodeParams(params, &q); err != nil {
			return nil, err
		}
		return c.Activity(ctx, q)
	},
	methodIssues: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var p issuesParams
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return c.Issues(ctx, p.Account, p.Limit)
	},
	methodSettings: func(ctx context.Context, c api.Control, _ json.RawMessage) (any, error) {
		return c.Settings(ctx)
	},
	methodUpdateSettings: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var p api.Settings
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return c.UpdateSettings(ctx, p)
	},
	methodPolicy: func(ctx context.Context, c api.Control, _ json.RawMessage) (any, error) {
		return c.Policy(ctx)
	},
	methodTestNotice: func(ctx context.Context, c api.Control, _ json.RawMessage) (any, error) {
		return c.TestNotice(ctx)
	},
	methodCRMStatus: func(ctx context.Context, c api.Control, _ json.RawMessage) (any, error) {
		return c.CRMStatus(ctx)
	},
	methodCRMSync: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var p crmSyncParams
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return c.CRMSync(ctx, p.Wait)
	},
	methodCRMDisconnect: func(ctx context.Context, c api.Control, _ json.RawMessage) (any, error) {
		return nil, c.CRMDisconnect(ctx)
	},
	methodCRMSettings: func(ctx context.Context, c api.Control, _ json.RawMessage) (any, error) {
		return c.CRMSettings(ctx)
	},
	methodUpdateCRMSettings: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var p api.CRMSettings
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return c.UpdateCRMSettings(ctx, p)
	},
	methodOpenWindow: func(ctx context.Context, c api.Control, params json.RawMessage) (any, error) {
		var p api.WindowRequest
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return nil, c.OpenWindow(ctx, p)
	},
}

// subscribe acknowledges the subscription, then forwards events until
// the client hangs up, the server stops or the event channel closes. A
// client that stops reading is dropped after the write timeout; the
// Control's channel is never waited on by anyone but this goroutine.
func (s *Server) subscribe(ctx context.Context, w *frameWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also on a write error: the api.Control ends the subscription
	events, err := s.c.Subscribe(ctx)
	if err != nil {
		return w.error(err)
	}
	// The acknowledgement is a result frame, but not the last one.
	if err := w.frame(frameOut{Result: json.RawMessage("null")}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if err := w.frame(frameOut{Event: &ev}); err != nil {
				return err
			}
		}
	}
}

// activate runs an activation, forwarding its progress, then its result.
// When the client hangs up (or a progress frame cannot be written), the
// activation's ctx is cancelled.
func (s *Server) activate(ctx context.Context, req api.ActivationRequest, w *frameWriter) error {
	return withProgress(ctx, w, func(ctx context.Context, progress func(api.ActivationProgress)) (any, error) {
		return s.c.Activate(ctx, req, progress)
	})
}

// crmConnect runs a CRM sign-in as activate runs an activation.
func (s *Server) crmConnect(ctx context.Context, req api.CRMConnectRequest, w *frameWriter) error {
	return withProgress(ctx, w, func(ctx context.Context, progress func(api.ActivationProgress)) (any, error) {
		return s.c.CRMConnect(ctx, req, progress)
	})
}

// withProgress runs f, forwarding its progress frames (P is
// api.ActivationProgress or api.ExportProgress), then writes its result.
// f's ctx is cancelled when a progress frame cannot be written.
func withProgress[P any](ctx context.Context, w *frameWriter, f func(context.Context, func(P)) (any, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	progress := func(p P) {
		if err := w.frame(frameOut{Progress: p}); err != nil {
			cancel()
		}
	}
	v, err := f(ctx, progress)
	if err != nil {
		return w.final(frameOut{Error: encodeError(err)})
	}
	return w.result(v)
}

// decodeParams decodes a request's params; absent params leave v zero.
func decodeParams(params json.RawMessage, v any) error {
	if len(params) == 0 || bytes.Equal(params, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(params, v); err != nil {
		return fmt.Errorf("%w: malformed parameters: %v", api.ErrInvalid, err)
	}
	return nil
}

// frameOut is a response frame as the server writes it.
type frameOut struct {
	Result   json.RawMessage `json:"result,omitempty"`
	Error    *wireError      `json:"error,omitempty"`
	Event    *api.Event      `json:"event,omitempty"`
	Progress any             `json:"progress,omitempty"`
}

// frameWriter writes frames to one connection, each within the write
// timeout. It is safe for concurrent use; after the final frame it writes
// nothing more.
type frameWriter struct {
	conn    net.Conn
	timeout time.Duration

	mu   sync.Mutex
	done bool
	err  error
}

// result writes the final frame {"result":v}.
func (w *frameWriter) result(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return w.error(fmt.Errorf("the agent could not encode its answer: %w", err))
	}
	return w.final(frameOut{Result: b})
}

// error writes the final frame {"error":…}.
func (w *frameWriter) error(err error) error {
	return w.final(frameOut{Error: encodeError(err)})
}

// final writes f and refuses every later frame.
func (w *frameWriter) final(f frameOut) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.writeLocked(f)
	w.done = true
	return err
}

// frame writes a non-final frame.
func (w *frameWriter) frame(f frameOut) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked(f)
}

func (w *frameWriter) writeLocked(f frameOut) error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return errors.New("control: response already complete")
	}
	b, err := json.Marshal(f)
	if err != nil {
		// A value that cannot be encoded is the server's bug; say so
		// rather than leave the client waiting.
		b, _ = json.Marshal(frameOut{Error: &wireError{Code: CodeError, Message: "the agent could not encode its answer: " + err.Error()}})
	}
	b = append(b, '\n')
	w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	if _, err := w.conn.Write(b); err != nil {
		w.err = err
		w.conn.Close() // the client is gone or stuck: drop it
		return err
	}
	return nil
}

// errTooLarge reports a request line over the limit.
var errTooLarge = errors.New("line too long")

// readLine reads one '\n'-terminated line of at most limit bytes, without
// the newline. A final line without a newline is accepted at EOF.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > limit+1 {
			return nil, errTooLarge
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return bytes.TrimSuffix(line[:len(line)-1], []byte("\r")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		default:
			return nil, err
		}
	}
}
