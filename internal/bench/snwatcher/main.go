// Command snwatcher plays a desktop panel for benchmarks: it owns
// org.kde.StatusNotifierWatcher on the session bus, waits for a tray icon
// to register, reads its tooltip, icon and menu once (as a panel does when
// it shows the icon), prints a line about it, and then keeps the watcher
// up, idle, until it is killed. Used by scripts/bench-tray.sh.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/inboxsync/inboxsync/ui/tray/traytest"
)

func main() {
	timeout := flag.Duration("timeout", 30*time.Second, "give up when no icon registers within `D`")
	flag.Parse()
	w, err := traytest.NewWatcher()
	if err != nil {
		fail(err)
	}
	defer w.Close()
	fmt.Println("watching")
	item, err := w.Await(*timeout)
	if err != nil {
		fail(err)
	}
	// A panel reads the item when it registers; give the tray a moment to
	// draw its first state, as a panel would see it.
	time.Sleep(500 * time.Millisecond)
	tt, err := item.ToolTip()
	if err != nil {
		fail(err)
	}
	px, err := item.IconPixmap()
	if err != nil || len(px) == 0 {
		fail(fmt.Errorf("reading the icon: %v", err))
	}
	menu, err := item.Menu()
	if err != nil {
		fail(err)
	}
	fmt.Printf("registered %s%s: %q, icon %d×%d, %d menu entries\n", item.Bus, item.Path, tt.Title, px[0].Width, px[0].Height, len(menu.Children))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "snwatcher:", err)
	os.Exit(1)
}
