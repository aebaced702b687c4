package desktopnotice

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// notificationServer is a stand-in for the desktop's notification daemon:
// it owns org.freedesktop.Notifications on the test's session bus and
// records what it is asked to show.
type notificationServer struct {
	got chan [2]string
}

func (s *notificationServer) Notify(app string, id uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.got <- [2]string{summary, body}
	return 7, nil
}

func TestDesktopNotifyReachesTheSessionBus(t *testing.T) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		if os.Getenv("INBOXSYNC_REQUIRE_KEYRING") == "1" {
			t.Fatal("no session bus; run under scripts/with-keyring.sh")
		}
		t.Skip("no session bus")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srv := &notificationServer{got: make(chan [2]string, 1)}
	if err := conn.Export(srv, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Skipf("cannot own org.freedesktop.Notifications here (reply %v, %v)", reply, err)
	}
	defer conn.ReleaseName("org.freedesktop.Notifications")

	n := Notice{Title: "Action required – Sync suspended", Message: "Sync stopped after 10 failed attempts in a row."}
	if err := (Desktop{AppName: "Inbox Sync"}).Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-srv.got:
		if got[0] != n.Title || got[1] != n.Message {
			t.Fatalf("server got %q / %q", got[0], got[1])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the notification never reached the server")
	}
}

func TestDesktopNotifyWithoutBusFails(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := (Desktop{AppName: "Inbox Sync"}).Notify(ctx, Notice{Title: "t"}); err == nil {
		t.Fatal("Notify without a session bus succeeded")
	}
}
