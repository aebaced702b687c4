//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

import (
	"fmt"

	"github.com/godbus/dbus/v5"
)

// trayHost checks that there is a D-Bus session bus for the
// StatusNotifierItem. It never starts one: without DBUS_SESSION_BUS_ADDRESS
// or $XDG_RUNTIME_DIR/bus godbus would run dbus-launch, which starts a
// private bus no panel listens on (and leaves it running).
func trayHost() error {
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		return fmt.Errorf("no D-Bus session bus for the tray: %w", err)
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return fmt.Errorf("the D-Bus session bus refused the tray: %w", err)
	}
	if err := conn.Hello(); err != nil {
		return fmt.Errorf("the D-Bus session bus refused the tray: %w", err)
	}
	return nil
}
