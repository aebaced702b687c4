//go:build darwin || freebsd

package control

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// checkPeer refuses a unix-socket peer running as another user than uid
// (LOCAL_PEERCRED). Connections of other kinds are not checked.
func checkPeer(conn net.Conn, uid int) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Xucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("reading the peer's credentials: %w", cerr)
	}
	if int(cred.Uid) != uid {
		return fmt.Errorf("peer runs as uid %d, not as this agent's uid %d", cred.Uid, uid)
	}
	return nil
}
