//go:build windows

package control

import (
	"context"
	"net"

	"github.com/Microsoft/go-winio"
)

// dialAgent connects to the named pipe of the agent whose socket path is
// path (see Listen) and checks that the process serving it runs as this
// user. A pipe nobody serves fails with an error matching fs.ErrNotExist.
func dialAgent(ctx context.Context, path string) (net.Conn, error) {
	me, err := currentUserSID()
	if err != nil {
		return nil, err
	}
	conn, err := winio.DialPipeContext(ctx, pipeNameFor(me.String(), path))
	if err != nil {
		return nil, err
	}
	if err := checkServer(conn, me); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
