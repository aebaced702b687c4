//go:build windows

package control

import (
	"fmt"
	"net"

	"golang.org/x/sys/windows"
)

// handleConn is a connection with an OS handle: go-winio's pipes.
type handleConn interface {
	Fd() uintptr
}

// checkPeer refuses a named-pipe client whose process runs as another
// user than the agent (the Windows counterpart of SO_PEERCRED; the uid is
// meaningless here). Connections of other kinds are not checked.
func checkPeer(conn net.Conn, _ int) error {
	me, err := agentUser()
	if err != nil {
		return err
	}
	return checkPeerSID(conn, me)
}

// agentUser returns the user whose clients the agent serves: the one it
// runs as (a test pretends otherwise).
var agentUser = currentUserSID

// checkPeerSID refuses a named-pipe client whose process does not run as
// want.
func checkPeerSID(conn net.Conn, want *windows.SID) error {
	hc, ok := conn.(handleConn)
	if !ok {
		return nil
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(windows.Handle(hc.Fd()), &pid); err != nil {
		return fmt.Errorf("asking which process connected: %w", err)
	}
	return processRunsAs(pid, want, "peer")
}

// checkServer refuses a pipe served by a process of another user: someone
// who created the pipe's name before the agent did.
func checkServer(conn net.Conn, want *windows.SID) error {
	hc, ok := conn.(handleConn)
	if !ok {
		return nil
	}
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(windows.Handle(hc.Fd()), &pid); err != nil {
		return fmt.Errorf("control: asking which process serves the pipe: %w", err)
	}
	if err := processRunsAs(pid, want, "the process serving the pipe"); err != nil {
		return fmt.Errorf("control: %w; it is not your Inbox Sync agent, refusing to talk to it", err)
	}
	return nil
}

// processRunsAs reports an error unless process pid's token belongs to
// want. A process whose token cannot be read (another user's, usually) is
// refused too.
func processRunsAs(pid uint32, want *windows.SID, who string) error {
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return fmt.Errorf("%s (pid %d): cannot open the process to read its user: %w", who, pid, err)
	}
	defer windows.CloseHandle(p)
	var tok windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &tok); err != nil {
		return fmt.Errorf("%s (pid %d): cannot read its user: %w", who, pid, err)
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return fmt.Errorf("%s (pid %d): cannot read its user: %w", who, pid, err)
	}
	if !u.User.Sid.Equals(want) {
		return fmt.Errorf("%s (pid %d) runs as %s, not as %s", who, pid, u.User.Sid, want)
	}
	return nil
}
