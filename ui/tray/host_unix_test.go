//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// needBus returns a connection of the test's own to the session bus
// (scripts/with-keyring.sh provides one).
func needBus(t *testing.T) *dbus.Conn {
	t.Helper()
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		if os.Getenv("INBOXSYNC_REQUIRE_KEYRING") == "1" {
			t.Fatal("no session bus: run under scripts/with-keyring.sh")
		}
		t.Skip("no session bus: run under scripts/with-keyring.sh")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func awaitHost(t *testing.T, got <-chan bool, want bool, what string) {
	t.Helper()
	select {
	case p := <-got:
		if p != want {
			t.Fatalf("%s: told present=%v, want %v", what, p, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not told within 10 s", what)
	}
}

func TestWatchHostFollowsTheWatcherAndItsHost(t *testing.T) {
	watcher := needBus(t)
	// A name of the test's own, so that no other test's watcher (nor a
	// real panel) interferes.
	name := fmt.Sprintf("io.inboxsync.test.Watcher%d", os.Getpid())
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan bool, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchHostOn(ctx, slog.New(slog.DiscardHandler), name, func(p bool) { got <- p })
	}()
	defer func() { cancel(); <-done }()
	awaitHost(t, got, false, "no watcher")

	// A watcher with no host yet (a panel still starting) shows nothing.
	props, err := prop.Export(watcher, watcherPath, prop.Map{name: {
		"IsStatusNotifierHostRegistered": {Value: false, Emit: prop.EmitTrue},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if reply, err := watcher.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("taking %s: %v, %v", name, reply, err)
	}
	select {
	case p := <-got:
		t.Fatalf("a watcher without a host: told present=%v, want nothing", p)
	case <-time.After(300 * time.Millisecond):
	}
	// Its host registers.
	props.SetMust(name, "IsStatusNotifierHostRegistered", true)
	if err := watcher.Emit(watcherPath, name+".StatusNotifierHostRegistered"); err != nil {
		t.Fatal(err)
	}
	awaitHost(t, got, true, "the host registered")

	// The panel goes away.
	if _, err := watcher.ReleaseName(name); err != nil {
		t.Fatal(err)
	}
	awaitHost(t, got, false, "the watcher left")
	// And comes back (a restarted panel): its host is registered at once.
	if _, err := watcher.RequestName(name, dbus.NameFlagDoNotQueue); err != nil {
		t.Fatal(err)
	}
	awaitHost(t, got, true, "the watcher came back")
}

func TestSetStatusEmitsNewStatus(t *testing.T) {
	item := needBus(t)
	panel := needBus(t)
	p := newItemProps("Inbox Sync")
	p.setStatus(statusNeedsAttention) // before the export: stored, no signal
	if v, _ := p.Get(itemIface, "Status"); v.Value() != statusNeedsAttention {
		t.Fatalf("Status = %v before the export", v)
	}
	if err := p.exportOn(item); err != nil {
		t.Fatal(err)
	}
	if err := panel.AddMatchSignal(dbus.WithMatchSender(item.Names()[0]), dbus.WithMatchInterface(itemIface), dbus.WithMatchMember("NewStatus")); err != nil {
		t.Fatal(err)
	}
	signals := make(chan *dbus.Signal, 8)
	panel.Signal(signals)
	next := func() (string, bool) {
		select {
		case s := <-signals:
			if s.Path != itemPath || s.Name != itemIface+".NewStatus" || len(s.Body) != 1 {
				t.Fatalf("unexpected signal %+v", s)
			}
			return s.Body[0].(string), true
		case <-time.After(500 * time.Millisecond):
			return "", false
		}
	}

	p.setStatus(statusNeedsAttention) // unchanged: no signal
	p.setStatus(statusActive)
	if s, ok := next(); !ok || s != statusActive {
		t.Fatalf("NewStatus %q (%v), want Active", s, ok)
	}
	// A panel reacting to the signal reads the new value.
	var v dbus.Variant
	if err := panel.Object(item.Names()[0], itemPath).Call(propertyIface+".Get", 0, itemIface, "Status").Store(&v); err != nil || v.Value() != statusActive {
		t.Fatalf("Status over the bus = %v, %v", v, err)
	}
	p.setStatus(statusActive)
	p.setStatus(statusNeedsAttention)
	if s, ok := next(); !ok || s != statusNeedsAttention {
		t.Fatalf("NewStatus %q (%v), want NeedsAttention (and no signal for the unchanged Active)", s, ok)
	}
	if s, ok := next(); ok {
		t.Fatalf("an extra NewStatus %q", s)
	}
}

func TestItemStatusFollowsAttention(t *testing.T) {
	if s := itemStatus(View{}); s != "Active" {
		t.Errorf("itemStatus = %q, want Active", s)
	}
	if s := itemStatus(View{Attention: true}); s != "NeedsAttention" {
		t.Errorf("itemStatus = %q, want NeedsAttention", s)
	}
}
