//go:build (linux || freebsd || openbsd || netbsd) && !android

package tray

import (
	"context"

	"fyne.io/systray"
)

// runSystray runs the tray until ctx is done.
//
// The menu, icon and tooltip are all in place before the item goes on the
// bus, so a panel sees the whole item when it registers. systray.Run would
// not allow that: on Linux it calls onReady while it is still exporting the
// StatusNotifierItem, and an icon or tooltip set in that window is kept in
// memory but never published (SetIcon finds no properties to update yet,
// and the properties were made from the old values). RunWithExternalLoop's
// start does the export and returns; the Linux tray needs no event loop of
// its own, D-Bus calls arrive on godbus's goroutines.
func runSystray(ctx context.Context, opts Options) {
	// The Title names the app, and before the export it also becomes the
	// item's Id, which panels use to remember the user's choices for the
	// icon across restarts (systray's default Id holds the process id).
	const title = "Inbox Sync"
	systray.SetTitle(title)
	props := newItemProps(title)
	l := build(ctx, opts, props)
	begin, end := systray.RunWithExternalLoop(nil, nil)
	begin()
	if err := props.export(); err != nil {
		opts.Log.Warn("tray: serving the icon's properties", "err", err)
	}
	hostDone := make(chan struct{})
	go func() {
		defer close(hostDone)
		watchHost(ctx, opts.Log, opts.HostChanged)
	}()
	<-l.start(ctx)
	<-hostDone
	end()
}
