// Package desktopnotice tells the user at their desk about things that
// need them: a desktop notification through the freedesktop Notifications
// service on the session bus. (Email notices, to the user or the
// administrator when sync stops, are sync/emailnotice.)
package desktopnotice

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// Notice is one message for the user. It never holds a secret.
type Notice struct {
	Title   string
	Message string
}

// Notifier delivers notices.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Desktop sends notices to org.freedesktop.Notifications on the session
// bus (GNOME, KDE, XFCE and most Linux desktops provide it).
type Desktop struct {
	// AppName is shown by the notification server.
	AppName string
}

// Notify sends n. It fails when there is no session bus or no
// notification server; callers log that and go on.
func (d Desktop) Notify(ctx context.Context, n Notice) error {
	conn, err := dbus.ConnectSessionBus(dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("desktop notification: %w", err)
	}
	defer conn.Close()
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	call := obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
		d.AppName, uint32(0), "mail-send-receive", n.Title, n.Message,
		[]string{}, map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(2))}, int32(-1))
	if call.Err != nil {
		return fmt.Errorf("desktop notification: %w", call.Err)
	}
	return nil
}
