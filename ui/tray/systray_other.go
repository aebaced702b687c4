//go:build !((linux || freebsd || openbsd || netbsd) && !android) && !windows

package tray

import (
	"context"
	"time"

	"fyne.io/systray"
)

// runSystray runs the tray until ctx is done. systray.Run runs the native
// event loop on this goroutine (macOS requires the main thread) and calls
// onReady once the icon exists.
func runSystray(ctx context.Context, opts Options) {
	loopDone := make(chan struct{})
	go func() {
		// Should onReady never run, or the loop hang, still leave.
		<-ctx.Done()
		select {
		case <-loopDone:
		case <-time.After(5 * time.Second):
		}
		systray.Quit()
	}()
	systray.Run(func() {
		l := build(ctx, opts, nil)
		go watchHost(ctx, opts.Log, opts.HostChanged)
		go func() {
			<-l.start(ctx)
			close(loopDone)
			// Quit once the loop no longer touches the menu.
			systray.Quit()
		}()
	}, nil)
}
