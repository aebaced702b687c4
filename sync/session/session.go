// Package session runs one sync session of one account: it asks the
// provider for the pages of each folder from its stored cursor, stores each
// page with the cursor after it, begins and completes full syncs (the first
// sync of a folder, or a resync after the provider refused the cursor),
// classifies the error that ends the session and records its outcome and
// counts (docs/architecture.md §3).
//
// It is the one copy of that logic, for every host: the desktop engine's
// per-account runner (sync/engine) calls it and keeps what is the host's —
// the account's state machine, the schedule, the rejection and failure
// counters, events — driven by the Result; an organisation-mode job worker
// calls it the same way. So it imports no engine and no database: a host
// hands it a provider connection, a Store and a clock.
package session

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// Clock tells the time. The engine's clock (fake in its tests) is one.
type Clock interface {
	Now() time.Time
}

// Input is what one session runs on. Account, Open, Store and Clock are
// required; the rest may be left zero.
type Input struct {
	// Account is the ID of the account to sync; the store must hold it.
	Account string
	// Trigger says what started the session ("schedule", "manual",
	// "resume", …; see api.Session.Trigger).
	Trigger string

	// Open connects to the account's mailbox. Run calls it once, after
	// the session is recorded, so that a failure to connect (a refused
	// sign-in, a sign-in missing from the keyring) is a session's outcome
	// like any other; its error should be a classified provider.Error (an
	// unclassified one is failed, or offline for a network error). Run
	// closes the provider it returns.
	Open func(ctx context.Context) (provider.Provider, error)
	// Store is the activity store.
	Store Store
	// Clock times the pages and the session's end.
	Clock Clock

	// Now is when the session starts, the time the history and calendar
	// windows are measured from; zero means Clock.Now().
	Now time.Time
	// HistoryDays is the history window: a first sync of a mail folder
	// lists the items of the last HistoryDays days. 0 lists them all.
	HistoryDays int
	// Folders are the folders to sync: those the provider offers that are
	// in the list, in the provider's order. nil means all it offers.
	Folders []api.Folder

	// Stop, if not nil, is asked before each page is fetched; true stops
	// the session there (a pause), keeping every page stored before. A
	// cancelled ctx (the host quitting) stops it the same way.
	Stop func() bool
	// Started, if not nil, is called once the session is recorded (with
	// ID 0 if the store could not record it).
	Started func(sess api.Session)
	// Progress, if not nil, is called after each stored page with the
	// folder, the number of pages and the counts of the session so far.
	Progress func(p api.Progress)
	// Log receives the session's warnings (a cursor the server refused);
	// nil discards them.
	Log *slog.Logger
}

// Result is how a session ended.
type Result struct {
	// Session is the session as recorded at its end: Outcome is
	// api.OutcomeOK, api.OutcomeStopped, or the outcome named after Class;
	// Counts are what its stored pages changed; Error is the error in
	// words.
	Session api.Session
	// Stopped is set when Stop or ctx stopped the session at a page
	// boundary. The error is then nil.
	Stopped bool
	// Class is the class of the error that ended the session
	// (provider.Classify), one of ClassOffline, ClassThrottled,
	// ClassRejected, ClassGrantGone and ClassFailed: a refused cursor that
	// the resync did not cure is a failure. It is meaningless when the
	// error is nil.
	Class provider.Class
	// RetryAfter is how long a throttling server asked to wait (0 when it
	// did not say).
	RetryAfter time.Duration
	// Reason is the error in words for the user, when the provider or the
	// store gave some ("" otherwise).
	Reason string
}

// Run runs one session of in.Account and records it. It returns how the
// session ended, and the error that ended it as the provider or the store
// gave it (a store's error wrapped by StoreFailure); it is nil when every
// folder is up to date and when the session stopped. Result.Class is the
// class to act on.
func Run(ctx context.Context, in Input) (Result, error) {
	if in.Now.IsZero() {
		in.Now = in.Clock.Now()
	}
	if in.Log == nil {
		in.Log = slog.New(slog.DiscardHandler)
	}
	// Writes are not cancelled by quitting: a page already fetched is
	// committed whole, together with its cursor, and the session's end is
	// recorded.
	wctx := context.WithoutCancel(ctx)
	sess, err := in.Store.BeginSession(wctx, in.Account, in.Trigger, in.Now)
	recorded := err == nil
	if !recorded {
		sess = api.Session{Account: in.Account, Trigger: in.Trigger, Start: in.Now, Outcome: api.OutcomeRunning}
		err = StoreFailure(err)
	}
	if in.Started != nil {
		in.Started(sess)
	}
	var (
		counts  api.Counts
		stopped bool
	)
	if recorded {
		counts, stopped, err = in.syncFolders(ctx, wctx)
	}
	res := Result{Stopped: stopped}
	sess.End, sess.Counts = in.Clock.Now(), counts
	switch {
	case stopped:
		sess.Outcome = api.OutcomeStopped
	case err == nil:
		sess.Outcome = api.OutcomeOK
	default:
		res.Class, res.RetryAfter, res.Reason = classify(err), provider.RetryAfter(err), provider.Reason(err)
		sess.Outcome, sess.Error = outcomes[res.Class], err.Error()
	}
	if recorded {
		if werr := in.Store.EndSession(wctx, sess); werr != nil {
			// The session's pages are stored; only its record is not.
			// Not worth failing a good session over: the next one is
			// recorded afresh.
			in.Log.Error("recording the session's end", "session", sess.ID, "err", werr)
		}
	}
	res.Session = sess
	return res, err
}

// outcomes names a session's outcome after the class of its error.
var outcomes = map[provider.Class]string{
	provider.ClassOffline:   api.OutcomeOffline,
	provider.ClassThrottled: api.OutcomeThrottled,
	provider.ClassRejected:  api.OutcomeRejected,
	provider.ClassGrantGone: api.OutcomeGrantGone,
	provider.ClassFailed:    api.OutcomeFailed,
}

// classify returns the class a host acts on: a refused cursor that
// reaches the end of a session (a resync refused too) is a failure.
func classify(err error) provider.Class {
	c := provider.Classify(err)
	if _, ok := outcomes[c]; !ok {
		return provider.ClassFailed
	}
	return c
}

// syncFolders brings each folder up to date, page by page.
func (in *Input) syncFolders(ctx, wctx context.Context) (counts api.Counts, stopped bool, err error) {
	p, err := in.Open(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return counts, true, nil
		}
		return counts, false, err
	}
	defer p.Close()
	opts := provider.Options{Now: in.Now}
	if in.HistoryDays > 0 {
		opts.Since = in.Now.AddDate(0, 0, -in.HistoryDays)
	}
	pages := 0
	for _, folder := range p.Folders() {
		if in.Folders != nil && !slices.Contains(in.Folders, folder) {
			continue
		}
		cursor, err := in.Store.Cursor(wctx, in.Account, folder)
		if err != nil {
			return counts, false, StoreFailure(err)
		}
		window := fullSyncWindow(folder, opts)
		if cursor == "" {
			// A full sync: the first one, or one whose start was lost.
			err = in.Store.BeginFullSync(wctx, in.Account, folder, window, in.Now)
		} else {
			// Perhaps the rest of a full sync a stopped or killed
			// session began.
			_, err = in.Store.ContinueFullSync(wctx, in.Account, folder, window)
		}
		if err != nil {
			return counts, false, StoreFailure(err)
		}
		resynced := false
		for {
			if ctx.Err() != nil || (in.Stop != nil && in.Stop()) {
				return counts, true, nil
			}
			page, err := p.Changes(ctx, folder, cursor, opts)
			if err != nil {
				if ctx.Err() != nil {
					return counts, true, nil
				}
				if provider.Classify(err) == provider.ClassCursorInvalid && !resynced && cursor != "" {
					in.Log.Warn("sync state no longer accepted; resyncing folder", "folder", folder, "err", err)
					resynced = true
					// Forgets the cursor. When the full sync completes, the
					// folder's items it did not list (deleted or moved
					// while the cursor was stale) are marked deleted.
					if err := in.Store.BeginFullSync(wctx, in.Account, folder, window, in.Now); err != nil {
						return counts, false, StoreFailure(err)
					}
					cursor = ""
					continue
				}
				return counts, false, err
			}
			c, err := in.Store.ApplyPage(wctx, in.Account, folder, page, in.Clock.Now())
			if err != nil {
				return counts, false, StoreFailure(err)
			}
			counts.Add(c)
			cursor = page.Cursor
			pages++
			if in.Progress != nil {
				in.Progress(api.Progress{Folder: folder, Pages: pages, Counts: counts})
			}
			if !page.More {
				break
			}
		}
	}
	return counts, false, nil
}

// fullSyncMargin keeps the edges of a full sync's window out of the
// reconciliation: near them, what a provider lists (by one date) and the
// item's time (perhaps another: Graph lists Sent Items by received time
// and times them by sent time; Gmail's walk stops at the first page past
// the window's start; calendars list whole days) may disagree.
const fullSyncMargin = 24 * time.Hour

// fullSyncWindow returns the span of item times within which a full sync
// of folder with opts lists every item the folder holds: the history
// window for mail (opts.Since on), the calendar window for events, each
// a margin inside its edges. The store marks deleted the items within it
// that the full sync did not list, and none outside it.
func fullSyncWindow(folder api.Folder, opts provider.Options) provider.Window {
	if folder == api.Calendar {
		from, to := provider.CalendarWindow(opts.Now)
		return provider.Window{From: from.Add(fullSyncMargin), To: to.Add(-fullSyncMargin)}
	}
	var w provider.Window
	if !opts.Since.IsZero() {
		w.From = opts.Since.Add(fullSyncMargin)
	}
	return w
}

// StoreFailure words a store error for the user: it is a failed session,
// never a lost page (the page's transaction rolled back).
func StoreFailure(err error) error {
	return provider.Failed("Could not save to the activity store on this computer (is the disk full?)", err)
}
