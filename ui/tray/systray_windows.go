//go:build windows

package tray

import (
	"context"
	"time"

	"fyne.io/systray"
	"golang.org/x/sys/windows"
)

// runSystray runs the tray until ctx is done. systray.Run runs the
// Windows message loop on this goroutine (the main thread, which systray
// locks) and calls onReady once the icon exists.
//
// When the tray cannot come up — no desktop to put it on: systray logs
// "unable to init instance" and never calls onReady — the loop still
// runs, and systray.Quit, which closes the tray's window, cannot end it:
// the agent would never stop. Then a WM_QUIT posted to this thread ends
// the loop. (Found under Wine with no display; on Windows a session with
// no desktop, such as a service's, is the same.)
func runSystray(ctx context.Context, opts Options) {
	thread := windows.GetCurrentThreadId()
	ready := make(chan struct{})
	loopDone := make(chan struct{})
	go func() {
		<-ctx.Done()
		select {
		case <-ready:
			// Should the loop hang, still leave.
			select {
			case <-loopDone:
			case <-time.After(5 * time.Second):
			}
			systray.Quit()
		default:
			postQuit(thread)
		}
	}()
	systray.Run(func() {
		close(ready)
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

var postThreadMessage = windows.NewLazySystemDLL("user32.dll").NewProc("PostThreadMessageW")

// postQuit posts WM_QUIT to thread's message queue: GetMessage returns 0
// and systray's loop ends.
func postQuit(thread uint32) {
	const wmQuit = 0x0012
	postThreadMessage.Call(uintptr(thread), wmQuit, 0, 0)
}
