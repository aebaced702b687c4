//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

// This build constraint is go-keyring's own for its Secret Service backend.

package keyring

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	dbus "github.com/godbus/dbus/v5"
)

// unavailableDBusErrors are the D-Bus error names that mean the Secret
// Service cannot be used: nobody provides it, it could not be started, it
// went away, or it refused us (a sandbox).
var unavailableDBusErrors = map[string]bool{
	"org.freedesktop.DBus.Error.ServiceUnknown": true, // "The name org.freedesktop.secrets was not provided by any .service files"
	"org.freedesktop.DBus.Error.NameHasNoOwner": true,
	"org.freedesktop.DBus.Error.NoReply":        true,
	"org.freedesktop.DBus.Error.NoServer":       true,
	"org.freedesktop.DBus.Error.Disconnected":   true,
	"org.freedesktop.DBus.Error.TimedOut":       true,
	"org.freedesktop.DBus.Error.Timeout":        true,
	"org.freedesktop.DBus.Error.AccessDenied":   true,
	"org.freedesktop.DBus.Error.UnknownMethod":  true, // something else owns the name
	"org.freedesktop.Secret.Error.IsLocked":     true,
	"org.freedesktop.Secret.Error.NoSession":    true,
}

// dbusError returns err as a D-Bus error reply, if it is one.
func dbusError(err error) (dbus.Error, bool) {
	var v dbus.Error
	if errors.As(err, &v) {
		return v, true
	}
	var p *dbus.Error
	if errors.As(err, &p) && p != nil {
		return *p, true
	}
	return dbus.Error{}, false
}

// isUnavailable reports whether err means there is no usable Secret
// Service, as opposed to a failure of one operation.
func isUnavailable(err error) bool {
	if e, ok := dbusError(err); ok {
		switch {
		case unavailableDBusErrors[e.Name],
			strings.HasPrefix(e.Name, "org.freedesktop.DBus.Error.Spawn."), // activation failed
			e.Name == "org.freedesktop.Secret.Error.NoSuchObject" && strings.Contains(e.Error(), "collection"):
			return true
		}
		return false
	}
	if isLocked(err) {
		return true
	}
	// No session bus, or a bus we cannot talk to.
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.Is(err, dbus.ErrClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{
		"dbus: couldn't determine address of session bus",
		"dbus: invalid bus address",
		"dbus: invalid address",
		"dbus: unsupported address",
		"dbus: authentication",
	} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// isLocked reports whether err says the keyring is locked and could not be
// unlocked. go-keyring returns "failed to unlock correct collection '…'"
// when the unlock prompt was dismissed or could not be shown, or when there
// is no default collection yet and creating one was refused.
func isLocked(err error) bool {
	if e, ok := dbusError(err); ok {
		return e.Name == "org.freedesktop.Secret.Error.IsLocked"
	}
	return strings.Contains(err.Error(), "failed to unlock correct collection")
}

// describe returns err for a log line: D-Bus errors with their name.
func describe(err error) string {
	if e, ok := dbusError(err); ok && e.Error() != e.Name {
		return e.Name + ": " + e.Error()
	}
	return err.Error()
}

// sessionBusMissing returns an error when there is no D-Bus session bus to
// find the Secret Service on. Without it godbus would run dbus-launch,
// which starts a new, private bus (and often a keyring daemon that can
// never be unlocked) on every attempt and leaves them running.
func sessionBusMissing() error {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	// The places godbus looks at before it falls back to dbus-launch.
	dir := fmt.Sprintf("/run/user/%d", os.Getuid())
	for _, name := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(dir + "/" + name); err == nil {
			return nil
		}
	}
	return errNoSessionBus
}

// errNoSessionBus is the underlying error when there is no session bus.
var errNoSessionBus = errors.New("no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and there is no /run/user/<uid>/bus")
