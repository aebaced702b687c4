//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/godbus/dbus/v5"
)

// trayHost checks that there is a D-Bus session bus for the
// StatusNotifierItem. It never starts one: without DBUS_SESSION_BUS_ADDRESS
// or $XDG_RUNTIME_DIR/bus godbus would run dbus-launch, which starts a
// private bus no panel listens on (and leaves it running).
func trayHost() error {
	conn, err := privateSessionBus()
	if err != nil {
		return err
	}
	return conn.Close()
}

// privateSessionBus connects to the session bus on a connection of its
// own, without starting a bus (see trayHost).
func privateSessionBus() (*dbus.Conn, error) {
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		return nil, fmt.Errorf("no D-Bus session bus for the tray: %w", err)
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("the D-Bus session bus refused the tray: %w", err)
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("the D-Bus session bus refused the tray: %w", err)
	}
	return conn, nil
}

const (
	watcherName = "org.kde.StatusNotifierWatcher"
	watcherPath = dbus.ObjectPath("/StatusNotifierWatcher")
)

// watchHost tells changed whether a panel shows tray icons on the session
// bus: once at once, then on every change, until ctx is done. A panel
// shows them when someone owns org.kde.StatusNotifierWatcher and, where
// the watcher says so, a StatusNotifierHost has registered with it. Stock
// GNOME has no watcher at all.
//
// It only watches: fyne.io/systray registers the item by itself when the
// watcher's name gets an owner (NameOwnerChanged). Its own connection
// keeps these signals away from systray's, which takes every signal on
// the shared connection for a change of the watcher's owner.
func watchHost(ctx context.Context, log *slog.Logger, changed func(present bool)) {
	watchHostOn(ctx, log, watcherName, changed)
}

// watchHostOn is watchHost for the watcher called name (its bus name and
// interface); the tests use names of their own.
func watchHostOn(ctx context.Context, log *slog.Logger, name string, changed func(present bool)) {
	conn, err := privateSessionBus()
	if err != nil {
		log.Warn("tray: cannot watch for a panel", "err", err)
		changed(false)
		return
	}
	defer conn.Close()
	signals := make(chan *dbus.Signal, 16)
	conn.Signal(signals)
	matches := [][]dbus.MatchOption{
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchInterface("org.freedesktop.DBus"),
			dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, name)},
		{dbus.WithMatchInterface(name), dbus.WithMatchMember("StatusNotifierHostRegistered")},
		{dbus.WithMatchInterface(name), dbus.WithMatchMember("StatusNotifierHostUnregistered")},
	}
	for _, m := range matches {
		if err := conn.AddMatchSignalContext(ctx, m...); err != nil {
			log.Warn("tray: cannot watch for a panel", "err", err)
		}
	}
	present, known := false, false
	check := func() {
		p := hostPresent(ctx, conn, name)
		if ctx.Err() != nil || (known && p == present) {
			return
		}
		present, known = p, true
		if p {
			log.Info("tray: a panel shows tray icons; the icon registers with it")
		} else {
			log.Info("tray: no panel shows tray icons on this desktop (no StatusNotifierWatcher with a host); the icon registers when one appears")
		}
		changed(p)
	}
	check()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-signals:
			if !ok {
				return
			}
			check()
		}
	}
}

// hostPresent asks the bus whether a panel shows tray icons, through the
// watcher called name.
func hostPresent(ctx context.Context, conn *dbus.Conn, name string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&owned); err != nil || !owned {
		return false
	}
	var v dbus.Variant
	err := conn.Object(name, watcherPath).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0,
		name, "IsStatusNotifierHostRegistered").Store(&v)
	if err != nil {
		return true // a watcher that does not say: believe it has a host
	}
	registered, ok := v.Value().(bool)
	return !ok || registered
}
