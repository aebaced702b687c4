//go:build !windows

package control

import (
	"context"
	"net"
)

// dialAgent connects to the agent's unix socket at path. The socket's
// directory is the user's own (mode 0700), so whoever listens there is
// the user's agent.
func dialAgent(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}
