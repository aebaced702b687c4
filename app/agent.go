package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/inboxsync/inboxsync/internal/install"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/sync/desktopnotice"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/policy"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/secret/keyring"
	"github.com/inboxsync/inboxsync/sync/store"
)

// KeyringService is the service name of Inbox Sync's keyring entries.
const KeyringService = "inboxsync"

// AgentOptions tune the agent.
type AgentOptions struct {
	// Stderr also receives the log (foreground agents); nil for none.
	Stderr io.Writer
	// Ready, when set, is called once the control socket accepts clients.
	Ready func()
	// Tray shows the tray icon. RunAgent then runs the tray's loop on the
	// calling goroutine, which must be the main one (macOS needs its UI
	// on the main thread), and the engine in goroutines.
	//
	// Tray also marks the agent a user started on a desktop (`inboxsync`,
	// `inboxsync agent`), as opposed to the headless agent (--no-tray:
	// servers, tests): only such an agent opens the activation window by
	// itself when it starts with no account (a new user's first start),
	// and only it tells the user, and opens windows instead, when no panel
	// shows its icon.
	Tray bool
}

// connectors make the providers linked into this build, by name, for the
// agent of a home. Provider packages add theirs from this package's wiring
// files.
var connectors = map[string]func(install.Paths) provider.Connector{}

// engineTuning adjusts the engine's limits; test builds shorten them.
var engineTuning = func(*engine.Config) {}

// RunAgent runs the agent for paths until ctx is done: it takes the
// single-agent lock, opens the store, starts the engine and serves the
// control socket.
//
// Its folders are made owner-only (0700) and its files (the store and
// SQLite's files beside it, the logs) 0600 as they are created, and those
// found looser at start, in a folder made or shared before, are tightened
// and logged ("tightened"); the lock and socket are sync/control's, which
// makes them owner-only itself.
func RunAgent(ctx context.Context, paths install.Paths, opts AgentOptions) error {
	tightened, err := paths.Ensure()
	if err != nil {
		return err
	}
	lock, err := control.Lock(paths.Lock)
	if err != nil {
		return err
	}
	defer lock.Release()

	logFile, err := openRotating(logPath(paths.LogDir), 5<<20, 3)
	if err != nil {
		return err
	}
	defer logFile.Close()
	var w io.Writer = logFile
	if opts.Stderr != nil {
		w = io.MultiWriter(logFile, opts.Stderr)
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
	log.Info("agent starting", "version", install.Version, "pid", os.Getpid(), "store", paths.DB)
	logTightened(log, tightened)
	// Before the store opens: SQLite gives the -wal and -shm files it
	// creates the database's mode.
	if err := tighten(log, append(store.Files(paths.DB), logFile.files()...)...); err != nil {
		return err
	}

	st, err := store.Open(paths.DB)
	if err != nil {
		log.Error("opening the store", "err", err)
		return err
	}
	defer st.Close()
	// Once more after the open: a command reading the store while the
	// agent started may have made a -shm file from the database's old mode.
	if err := tighten(log, store.Files(paths.DB)...); err != nil {
		return err
	}

	polPath := PolicyPath()
	polStamp := stampOf(polPath)
	pol := policy.Load(polPath)
	logPolicy(log, pol)
	current.Store(&pol)
	secrets := keyring.NewKeyring(KeyringService)
	cfg := engine.Config{
		Store: st, Secrets: secrets,
		Connectors: map[string]provider.Connector{}, Log: log,
		Policy: pol, User: LoginName(),
	}
	for name, make := range connectors {
		cfg.Connectors[name] = make(paths)
	}
	cfg.CRM = crmConnectors(paths, secrets)
	engineTuning(&cfg)
	eng, err := engine.New(cfg)
	if err != nil {
		log.Error("starting the engine", "err", err)
		return err
	}

	windows := newWindowLauncher(paths, log, w)
	mailer := newNoticeService(st, eng, secrets, log)
	ctl := &agentControl{Engine: eng, items: eng.Items, notices: mailer, open: windows.Open}

	l, err := control.Listen(paths.Socket)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := control.NewServer(ctl, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ctx, l) }()
	notifier := desktopnotice.Desktop{AppName: "Inbox Sync"}
	iconHidden := func() bool { return false } // headless: no icon to stand in for
	var presence *trayPresence
	if opts.Tray {
		presence = newTrayPresence(noHostGrace, func() {
			log.Info("no panel shows the tray icon: telling the user how to reach Inbox Sync")
			sendNotice(ctx, ctl, notifier, log, noHostNotice(paths.Home))
		})
		defer presence.stop()
		iconHidden = presence.hidden
	}
	go relayNotices(ctx, ctl, notifier, log, windows.Open, iconHidden)
	go watchPolicy(ctx, polPath, polStamp, policyPoll, log, func(p api.Policy) {
		current.Store(&p)
		eng.SetPolicy(p)
	})
	go mailer.Run(ctx)
	if opts.Ready != nil {
		opts.Ready()
	}
	log.Info("agent ready", "socket", l.Addr().String()) // on Windows, the named pipe
	if opts.Tray {
		openFirstStart(ctx, ctl, log, windows.Open)
	}
	startPageRelease(ctx, ctl, log)
	var runErr error
	if opts.Tray {
		runErr = runWithTray(ctx, cancel, ctl, log, presence.changed)
	} else {
		runErr = eng.Run(ctx)
	}
	cancel()
	if err := <-serveErr; err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("control server", "err", err)
	}
	log.Info("agent stopped")
	return runErr
}

// tighten makes the files at paths owner-only (see install.Tighten) and
// logs each one it changed.
func tighten(log *slog.Logger, paths ...string) error {
	done, err := install.TightenAll(install.PrivateFile, paths...)
	logTightened(log, done)
	if err != nil {
		log.Error("making the agent's files owner-only", "err", err)
	}
	return err
}

// logTightened logs each file or folder whose mode was tightened: others
// could read it until now, which the user may want to know.
func logTightened(log *slog.Logger, done []install.Tightened) {
	for _, t := range done {
		log.Warn("tightened to owner-only: others could read it", "path", t.Path,
			"was", fmt.Sprintf("%04o", t.Was), "now", fmt.Sprintf("%04o", t.Now))
	}
}

// relayNotices turns the engine's notices into desktop notifications and
// window requests into windows (through open). While iconHidden reports
// that no tray icon is shown, an account that becomes suspended also opens
// the dashboard, which says why: the icon that would have shown it is not
// there. (An account that needs re-activation opens its activation window
// in any case.)
func relayNotices(ctx context.Context, c api.Control, n desktopnotice.Notifier, log *slog.Logger, open func(api.WindowRequest), iconHidden func() bool) {
	events, err := c.Subscribe(ctx)
	if err != nil {
		return
	}
	for ev := range events {
		switch ev.Type {
		case api.EventNotice:
			sendNotice(ctx, c, n, log, desktopnotice.Notice{Title: ev.Title, Message: ev.Message})
		case api.EventOpenWindow:
			if ev.Window == nil {
				break
			}
			if org := organisation(ctx, c); org != nil && ev.Window.Window == "activate" {
				log.Info("an activation window was asked for, but the organisation runs sync (policy activation = organisation): not opened", "account", ev.Window.Account)
				break
			}
			open(*ev.Window)
		case api.EventState:
			if ev.To == api.Suspended && ev.From != api.Suspended && iconHidden() {
				log.Info("an account is suspended and no tray icon shows it: opening the dashboard", "account", ev.Account)
				open(api.WindowRequest{Window: "dashboard"})
			}
		}
	}
}

// sendNotice shows a desktop notification unless the user turned them off
// in the settings.
func sendNotice(ctx context.Context, c api.Control, n desktopnotice.Notifier, log *slog.Logger, notice desktopnotice.Notice) {
	s, err := c.Settings(ctx)
	if err != nil || !s.Notifications {
		return
	}
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := n.Notify(nctx, notice); err != nil {
		log.Warn("could not show a desktop notification", "err", err)
	}
}

// openFirstStart opens the activation window when the agent starts with
// no account at all: a new user's first start shows the dialog that
// connects a mailbox, not just an icon. It looks once per agent start; a
// user who closes the window without connecting sees it again at the next
// start, and meanwhile reaches it from the tray or the dashboard. When the
// policy says the organisation runs sync (activation = "organisation") it
// opens nothing: there is nothing for the user to activate.
func openFirstStart(ctx context.Context, c api.Control, log *slog.Logger, open func(api.WindowRequest)) {
	if organisation(ctx, c) != nil {
		log.Info("the organisation runs sync (policy activation = organisation): no activation window at start")
		return
	}
	accts, err := c.Accounts(ctx)
	if err != nil {
		log.Warn("could not list the accounts at start-up", "err", err)
		return
	}
	if len(accts) > 0 {
		return
	}
	log.Info("no mailbox is connected yet: opening the activation window")
	open(api.WindowRequest{Window: "activate"})
}

// idleSettle is how long the agent waits, after start-up and after each
// sync session, before it releases the pages of its binary that the work
// touched (see releaseBinaryPages); a session starting meanwhile restarts
// the wait.
const idleSettle = 3 * time.Second

// startPageRelease releases the binary's pages once the agent has settled
// after start-up and again after each sync session, unless
// INBOXSYNC_KEEP_PAGES=1 (scripts/bench-tray.sh measures both). Between
// syncs (29+ minutes of every 30) the agent then holds only the few pages
// its timers touch; the next session maps what it needs again.
func startPageRelease(ctx context.Context, c api.Control, log *slog.Logger) {
	if os.Getenv("INBOXSYNC_KEEP_PAGES") == "1" {
		return
	}
	events, err := c.Subscribe(ctx)
	if err != nil {
		return
	}
	syncing := func() bool {
		st, err := c.Status(ctx)
		if err != nil {
			return true // not now; the next session's end tries again
		}
		for _, a := range st.Accounts {
			if a.State == api.Syncing {
				return true
			}
		}
		return false
	}
	first := true
	go releaseWhenIdle(events, idleSettle, syncing, func() bool {
		before, after, err := releaseBinaryPages()
		if err != nil {
			log.Debug("binary pages not released", "err", err)
			return false
		}
		level := slog.LevelDebug
		if first {
			level, first = slog.LevelInfo, false
		}
		log.Log(ctx, level, "released binary pages", "mapped_file_mb_before", mb(before), "mapped_file_mb_after", mb(after))
		return true
	})
}

// releaseWhenIdle calls release settle after it starts and settle after
// each sync session ends, unless a session is running then (syncing asks
// the engine; the next session's end tries again), until events is closed
// or release returns false. A session starting stops the wait.
func releaseWhenIdle(events <-chan api.Event, settle time.Duration, syncing, release func() bool) {
	t := time.NewTimer(settle)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			switch ev.Type {
			case api.EventSessionStarted:
				t.Stop()
			case api.EventSessionEnded:
				t.Reset(settle)
			}
		case <-t.C:
			if !syncing() && !release() {
				return
			}
		}
	}
}

// mb formats n bytes as megabytes with one decimal.
func mb(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

// organisation returns what the policy the agent applies says about the
// organisation running sync (see api.Policy.Organisation); nil when the
// user activates, or when the policy cannot be read.
func organisation(ctx context.Context, c api.Control) *api.Organisation {
	p, err := c.Policy(ctx)
	if err != nil {
		return nil
	}
	return p.Organisation()
}
