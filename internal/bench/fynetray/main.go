// Command fynetray is the comparison point for scripts/bench-tray.sh: a
// plain Fyne app that shows only a tray icon with a menu, no window, the
// way a tray app built on Fyne's app would be. Its GL driver keeps running
// (fyne-io/fyne#2506), which is why Inbox Sync's agent uses
// fyne.io/systray directly. It needs a display (Xvfb will do).
package main

import (
	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/inboxsync/inboxsync/assets"
)

func main() {
	a := fyneapp.NewWithID("io.inboxsync.bench.fynetray")
	d, ok := a.(desktop.App)
	if !ok {
		panic("this Fyne driver has no tray")
	}
	d.SetSystemTrayIcon(fyne.NewStaticResource("idle.png", assets.TrayIcon(assets.TrayIdle, 48)))
	d.SetSystemTrayMenu(fyne.NewMenu("Inbox Sync",
		fyne.NewMenuItem("Sync now", func() {}),
		fyne.NewMenuItem("Open dashboard", func() {}),
	))
	a.Run()
}
