package tray

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// Run shows the tray icon until ctx is done, then removes it. It blocks.
//
// Call it on the main goroutine: on macOS systray's loop must own the main
// thread (fyne.io/systray locks the main goroutine to it in its init), so
// the agent runs the engine in goroutines and the tray here. On Linux and
// the BSDs the tray is a StatusNotifierItem on the D-Bus session bus; with
// no session bus Run logs that and waits for ctx without a tray, and with a
// bus but no StatusNotifierWatcher (no panel shows tray icons) systray logs
// "org.kde.StatusNotifierWatcher was not provided" and registers later if
// a watcher appears. Either way the agent goes on, and opts.HostChanged
// hears whether a panel shows the icon.
//
// systray can run once per process: call Run at most once.
func Run(ctx context.Context, opts Options) {
	logger := opts.Log
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
		opts.Log = logger
	}
	if opts.HostChanged == nil {
		opts.HostChanged = func(bool) {}
	}
	if err := trayHost(); err != nil {
		logger.Warn("running without the tray icon", "err", err)
		opts.HostChanged(false)
		<-ctx.Done()
		return
	}
	// systray reports its errors with the standard logger; send them to
	// the agent's log instead of stderr alone.
	restore := redirectStdLog(logger)
	defer restore()
	defer func() {
		// On Linux systray closes its D-Bus connection at exit without
		// checking that it ever got one.
		if r := recover(); r != nil {
			logger.Warn("the tray stopped badly", "panic", r)
		}
	}()

	runSystray(ctx, opts)
	logger.Info("tray stopped")
}

// build creates the menu and shows the engine's state in it once; start
// then runs the event loop.
func build(ctx context.Context, opts Options, props itemShadow) *loop {
	l := newLoop(opts, newSystrayMenu(ctx, props))
	l.refresh(ctx)
	return l
}

// start runs the event loop; the returned channel is closed when it has
// stopped (ctx is done) and no longer touches the menu.
func (l *loop) start(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(ctx)
	}()
	return done
}

// redirectStdLog sends the standard logger's lines to l as warnings
// until the returned function restores it.
func redirectStdLog(l *slog.Logger) (restore func()) {
	w, flags, prefix := log.Writer(), log.Flags(), log.Prefix()
	log.SetOutput(stdLogWriter{l})
	log.SetFlags(0)
	log.SetPrefix("")
	return func() {
		log.SetOutput(w)
		log.SetFlags(flags)
		log.SetPrefix(prefix)
	}
}

type stdLogWriter struct{ l *slog.Logger }

func (w stdLogWriter) Write(p []byte) (int, error) {
	w.l.Warn(strings.TrimSpace(string(p)), "from", "systray")
	return len(p), nil
}
