package app

import (
	"context"
	"log/slog"

	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/ui/tray"
)

// runWithTray runs the engine in a goroutine and the tray on the calling
// goroutine (the main one: macOS wants its UI there) until ctx is done or
// the engine stops; the tray's Quit cancels ctx. The tray goes last, once
// the engine has stopped (a running sync stops at its next page), so the
// icon stays while the agent is still at work.
func runWithTray(ctx context.Context, cancel context.CancelFunc, eng *engine.Engine, log *slog.Logger) error {
	trayCtx, stopTray := context.WithCancel(context.Background())
	defer stopTray()
	engErr := make(chan error, 1)
	go func() {
		err := eng.Run(ctx)
		cancel()
		engErr <- err
		stopTray()
	}()
	tray.Run(trayCtx, tray.Options{Control: eng, Quit: cancel, Log: log})
	return <-engErr
}
