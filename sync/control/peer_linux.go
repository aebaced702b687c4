package control

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// checkPeer refuses a unix-socket peer running as another user than uid
// (SO_PEERCRED). Connections of other kinds are not checked.
func checkPeer(conn net.Conn, uid int) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("reading the peer's credentials: %w", cerr)
	}
	if int(cred.Uid) != uid {
		return fmt.Errorf("peer pid %d runs as uid %d, not as this agent's uid %d", cred.Pid, cred.Uid, uid)
	}
	return nil
}
