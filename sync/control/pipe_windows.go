//go:build windows

package control

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
	"unsafe"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// pipeListener serves a named pipe: one instance waits for a client at a
// time, created before the previous one is handed out, so a client finds
// one almost always (and go-winio's DialPipeContext retries while every
// instance is busy).
//
// It is written here rather than taken from go-winio's ListenPipe because
// that one creates a first, access-less instance that Windows keeps
// "disconnected" but Wine (where CI runs the Windows build) hands to the
// first client, which then waits forever. Reads and writes of a connected
// instance are go-winio's (overlapped I/O on its completion port, with
// deadlines and cancellation on Close).
type pipeListener struct {
	name string
	sd   *windows.SECURITY_DESCRIPTOR

	// closed is signalled (a Windows event, so that Accept can wait on it
	// together with a client's arrival) by Close.
	closed    windows.Handle
	closeOnce sync.Once
	done      chan struct{}

	mu   sync.Mutex // one Accept at a time; guards next
	next windows.Handle
}

// listenPipe creates the first instance of the pipe name, which must not
// exist yet (FILE_FLAG_FIRST_PIPE_INSTANCE), with the security descriptor
// sddl.
func listenPipe(name, sddl string) (*pipeListener, error) {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return nil, fmt.Errorf("control: the pipe's security descriptor: %w", err)
	}
	l := &pipeListener{name: name, sd: sd, done: make(chan struct{})}
	if l.next, err = l.instance(true); err != nil {
		return nil, err
	}
	// Windows refuses a first instance of a name that exists; Wine 8
	// ignores FILE_FLAG_FIRST_PIPE_INSTANCE, so count the instances too.
	var n uint32
	if err := windows.GetNamedPipeHandleState(l.next, nil, &n, nil, nil, nil, 0); err == nil && n > 1 {
		windows.CloseHandle(l.next)
		return nil, windows.ERROR_ACCESS_DENIED
	}
	if l.closed, err = windows.CreateEvent(nil, 1, 0, nil); err != nil {
		windows.CloseHandle(l.next)
		return nil, fmt.Errorf("control: %w", err)
	}
	return l, nil
}

// instance creates an instance of the pipe: byte mode, local clients only.
func (l *pipeListener) instance(first bool) (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString(l.name)
	if err != nil {
		return 0, err
	}
	flags := uint32(windows.PIPE_ACCESS_DUPLEX | windows.FILE_FLAG_OVERLAPPED)
	if first {
		flags |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: l.sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	h, err := windows.CreateNamedPipe(name, flags,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		windows.PIPE_UNLIMITED_INSTANCES, 64<<10, 64<<10, 0, sa)
	if err != nil {
		return 0, err
	}
	return h, nil
}

// Accept waits for a client on the waiting instance and returns it as a
// connection, after putting the next instance in place.
func (l *pipeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		select {
		case <-l.done:
			return nil, net.ErrClosed
		default:
		}
		if l.next == 0 {
			h, err := l.instance(false)
			if err != nil {
				return nil, fmt.Errorf("control: creating an instance of %s: %w", l.name, err)
			}
			l.next = h
		}
		h := l.next
		err := l.connect(h)
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		l.next = 0
		if err != nil {
			// A client that came and went (ERROR_NO_DATA) or a broken
			// instance: drop it and wait on a fresh one.
			windows.CloseHandle(h)
			if errors.Is(err, windows.ERROR_NO_DATA) {
				continue
			}
			return nil, &net.OpError{Op: "accept", Net: "pipe", Err: err}
		}
		// The next instance, before this one is handed out.
		if next, err := l.instance(false); err == nil {
			l.next = next
		}
		f, err := winio.NewOpenFile(h)
		if err != nil {
			windows.CloseHandle(h)
			return nil, fmt.Errorf("control: %w", err)
		}
		return &pipeConn{f: f.(pipeFile), name: l.name}, nil
	}
}

// connect waits until a client connects to h or the listener closes.
func (l *pipeListener) connect(h windows.Handle) error {
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(ev)
	o := &windows.Overlapped{HEvent: ev}
	switch err := windows.ConnectNamedPipe(h, o); {
	case err == nil, errors.Is(err, windows.ERROR_PIPE_CONNECTED):
		return nil
	case !errors.Is(err, windows.ERROR_IO_PENDING):
		return err
	}
	which, err := windows.WaitForMultipleObjects([]windows.Handle{ev, l.closed}, false, windows.INFINITE)
	if err != nil {
		return err
	}
	if which == windows.WAIT_OBJECT_0+1 {
		windows.CancelIoEx(h, o)
		var n uint32
		windows.GetOverlappedResult(h, o, &n, true)
		return net.ErrClosed
	}
	var n uint32
	return windows.GetOverlappedResult(h, o, &n, false)
}

// Close stops Accept and removes the waiting instance; connections
// already accepted go on.
func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		windows.SetEvent(l.closed)
		l.mu.Lock() // Accept has returned
		if l.next != 0 {
			windows.CloseHandle(l.next)
			l.next = 0
		}
		windows.CloseHandle(l.closed)
		l.mu.Unlock()
	})
	return nil
}

// Addr returns the pipe's name.
func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.name) }

// pipeAddr is a pipe's name as a net.Addr.
type pipeAddr string

func (pipeAddr) Network() string  { return "pipe" }
func (a pipeAddr) String() string { return string(a) }

// pipeFile is what go-winio's NewOpenFile returns.
type pipeFile interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	Fd() uintptr
}

// pipeConn is the server's end of a connected instance.
type pipeConn struct {
	f    pipeFile
	name string
}

func (c *pipeConn) Read(b []byte) (int, error)  { return c.f.Read(b) }
func (c *pipeConn) Write(b []byte) (int, error) { return c.f.Write(b) }

// Close closes the instance; the client still reads what was written
// before it, then the end of the stream.
func (c *pipeConn) Close() error                       { return c.f.Close() }
func (c *pipeConn) LocalAddr() net.Addr                { return pipeAddr(c.name) }
func (c *pipeConn) RemoteAddr() net.Addr               { return pipeAddr(c.name) }
func (c *pipeConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }
func (c *pipeConn) SetDeadline(t time.Time) error {
	c.f.SetReadDeadline(t)
	return c.f.SetWriteDeadline(t)
}

// Fd returns the instance's handle (for checkPeer).
func (c *pipeConn) Fd() uintptr { return c.f.Fd() }
