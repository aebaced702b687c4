//go:build windows

package control

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/inboxsync/inboxsync/sync/api"
)

// These tests run the real named pipe: CI runs this package's tests under
// Wine (scripts/test-windows.sh).

// TestPipeName: the name depends on the user and the path (not on its
// case or form), and fits Windows' pipe names.
func TestPipeName(t *testing.T) {
	a := pipeNameFor("S-1-5-21-1-2-3-1001", `C:\Users\ann\AppData\Local\InboxSync\run\control.sock`)
	if !strings.HasPrefix(a, `\\.\pipe\inboxsync-`) || len(a) != len(`\\.\pipe\inboxsync-`)+32 {
		t.Fatalf("pipe name %q", a)
	}
	if b := pipeNameFor("S-1-5-21-1-2-3-1001", `c:\users\ANN\AppData\Local\InboxSync\run\..\run\control.sock`); b != a {
		t.Errorf("the same path in another case or form gives %q, want %q", b, a)
	}
	if b := pipeNameFor("S-1-5-21-1-2-3-1002", `C:\Users\ann\AppData\Local\InboxSync\run\control.sock`); b == a {
		t.Error("another user gets the same pipe")
	}
	if b := pipeNameFor("S-1-5-21-1-2-3-1001", `D:\other\run\control.sock`); b == a {
		t.Error("another home gets the same pipe")
	}
	// A missing agent is "not running", in words.
	if _, err := Dial(context.Background(), socketPath(t)); !errors.Is(err, api.ErrNotRunning) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Dial with no agent: %v", err)
	}
}

// TestPipeSecondListenerRefused: the pipe's name can be taken once; a
// second listener (another program, or a second agent that somehow got
// past the lock) is refused with a message, and the first one goes on.
func TestPipeSecondListenerRefused(t *testing.T) {
	a := startAgent(t, &fake{status: func(context.Context) (api.Status, error) { return tStatus, nil }})
	if l, err := Listen(a.path); err == nil {
		l.Close()
		t.Fatal("a second listener on the same pipe was allowed")
	} else if !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second Listen: %v", err)
	}
	c := dial(t, a.path)
	if _, err := c.Status(context.Background()); err != nil {
		t.Fatalf("the first agent no longer answers: %v", err)
	}
}

// TestPipePeerRefused: the agent serves only its own user's processes.
// The test cannot run a client as another user, so the agent pretends to
// run as LocalSystem: the client (this process, another user then) gets
// nothing, and the method is never called.
func TestPipePeerRefused(t *testing.T) {
	system, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err != nil {
		t.Fatal(err)
	}
	var called atomic.Bool
	f := &fake{status: func(context.Context) (api.Status, error) {
		called.Store(true)
		return tStatus, nil
	}}
	a := startAgent(t, f)
	c := dial(t, a.path) // served while the agent runs as this user
	if _, err := c.Status(context.Background()); err != nil || !called.Load() {
		t.Fatalf("Status as the agent's user: %v", err)
	}
	called.Store(false)

	agentUser = func() (*windows.SID, error) { return system, nil }
	t.Cleanup(func() { agentUser = currentUserSID })
	if _, err := c.Status(context.Background()); err == nil {
		t.Fatal("a client of another user was served")
	}
	if lines := rawCall(t, a.path, `{"method":"status"}`+"\n"); len(lines) != 0 || called.Load() {
		t.Fatalf("a client of another user got %q", lines)
	}
}

// TestPipeServerChecked: the client refuses a pipe served by a process of
// another user (someone who took the name first), before sending anything.
func TestPipeServerChecked(t *testing.T) {
	a := startAgent(t, &fake{})
	system, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err != nil {
		t.Fatal(err)
	}
	me, err := currentUserSID()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dialAgent(context.Background(), a.path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := checkServer(conn, me); err != nil {
		t.Fatalf("the agent's own user: %v", err)
	}
	err = checkServer(conn, system)
	if err == nil || !strings.Contains(err.Error(), "not your Inbox Sync agent") || !strings.Contains(err.Error(), "S-1-5-18") {
		t.Fatalf("a server of another user: %v", err)
	}
}
