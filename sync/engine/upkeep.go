package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/store"
)

// upkeep is the engine's care of the store between syncs, one goroutine
// shaped like a runner: it finishes the removal of an account that
// stopped midway (the process was killed during `account remove
// --purge`), it builds the search index — the items of the pages stored
// since its last step and, the first time an older store is opened, all of
// them — and once a day it removes the items older than Settings.KeepDays
// and gives their space back to the disk, in short batches that never hold
// the store for long.
type upkeep struct {
	mu sync.Mutex
	// index is the index's last known progress; nil once it is complete.
	index *api.IndexProgress
	// purging holds the accounts whose data Engine.purge deletes now.
	purging map[string]bool
}

// Upkeep's pace.
const (
	// indexBatch is the number of items one index build step indexes: a
	// write transaction of about 0.25 s, which a sync's page waits for at
	// most. Smaller steps cost more in all: each leaves a segment of the
	// index that later steps merge (2,000 items a step build half as fast).
	indexBatch = 10000
	// indexLogEvery is how often a long index build logs its progress.
	indexLogEvery = 10 * time.Second
	// pruneBatch is the number of old items one write transaction
	// removes.
	pruneBatch = 500
	// pruneEvery is how often old items are removed.
	pruneEvery = 24 * time.Hour
	// lastPruneKey is the setting that holds when old items were last
	// removed, so that a restart does not prune again.
	lastPruneKey = "last_prune"
)

// checkKeepDays validates Settings.KeepDays.
func checkKeepDays(s api.Settings) error {
	if s.KeepDays != 0 && (s.KeepDays < s.HistoryDays || s.KeepDays > 36500) {
		return fmt.Errorf("%w: keep items for 0 days (keep everything) or between the first sync's history (%d days) and 36500 days", api.ErrInvalid, s.HistoryDays)
	}
	return nil
}

// progress returns the index build's progress for Status, nil when the
// index is complete.
func (u *upkeep) progress() *api.IndexProgress {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.index == nil {
		return nil
	}
	p := *u.index
	return &p
}

func (u *upkeep) setProgress(p api.IndexProgress) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if p.Ready() {
		u.index = nil
	} else {
		u.index = &p
	}
}

// beginPurge records that account's data is being deleted; it returns
// false if it already is.
func (u *upkeep) beginPurge(account string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.purging[account] {
		return false
	}
	if u.purging == nil {
		u.purging = map[string]bool{}
	}
	u.purging[account] = true
	return true
}

func (u *upkeep) endPurge(account string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.purging, account)
}

// serveUpkeep runs the upkeep until ctx is done. It works at start, after
// each sync session, and when accounts or settings change.
func (e *Engine) serveUpkeep(ctx context.Context) {
	events := e.bus.subscribe(ctx)
	force := false // a change of the settings prunes at once
	for {
		e.finishRemovals(ctx)
		e.buildIndex(ctx)
		next := e.pruneIfDue(ctx, force)
		force = false
		for wake := false; !wake; {
			// Waits re-read the wall clock at least once a minute (the
			// machine may sleep).
			now := e.cfg.Clock.Now()
			t, due := e.newTimer(now, max(next.Sub(now), 0))
			if due {
				t.Stop()
				break
			}
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
				wake = !e.cfg.Clock.Now().Before(next)
			case ev, ok := <-events:
				t.Stop()
				if !ok {
					return
				}
				switch ev.Type {
				case api.EventSessionEnded, api.EventAccounts:
					wake = true
				case api.EventSettings:
					wake, force = true, true
				}
			}
		}
	}
}

// purge deletes account and all its data, pruneBatch items per write
// transaction (store.DeleteAccount), and gives the space back to the disk;
// with pending, it only finishes a removal that began earlier
// (store.ContinueRemoval). It does nothing if another call is deleting the
// same account's data.
func (e *Engine) purge(ctx context.Context, account string, pending bool) error {
	if !e.upkeep.beginPurge(account) {
		return nil
	}
	defer e.upkeep.endPurge(account)
	start := time.Now()
	remove := e.cfg.Store.DeleteAccount
	if pending {
		e.log.Info("finishing the removal of an account", "account", account)
		remove = e.cfg.Store.ContinueRemoval
	}
	if err := remove(ctx, account, pruneBatch); err != nil {
		return err
	}
	e.log.Info("deleted the account's data", "account", account, "took", time.Since(start).Round(time.Millisecond))
	e.reclaim(ctx)
	return nil
}

// finishRemovals finishes the removals of accounts that stopped midway:
// the process was killed, or the removal failed, during `account remove
// --purge`.
func (e *Engine) finishRemovals(ctx context.Context) {
	pending, err := e.cfg.Store.PendingRemovals(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("looking for unfinished account removals", "err", err)
		}
		return
	}
	for _, account := range pending {
		if ctx.Err() != nil {
			return
		}
		// Only a pending removal: the ID may have been added again since
		// PendingRemovals.
		if err := e.purge(ctx, account, true); err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrNotFound) {
			e.log.Error("removing an account's data", "account", account, "err", err)
		}
	}
}

// buildIndex indexes the items that wait for the search index, batch by
// batch, until none waits or ctx is done.
func (e *Engine) buildIndex(ctx context.Context) {
	start := time.Now()
	lastLog := start
	logged := false
	for ctx.Err() == nil {
		p, err := e.cfg.Store.BuildSearchIndex(ctx, indexBatch)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("building the search index", "err", err)
			}
			return
		}
		e.upkeep.setProgress(p)
		if time.Since(lastLog) >= indexLogEvery || (p.Ready() && logged) {
			e.log.Info("building the search index", "indexed", p.Done, "of", p.Done+p.Left, "took", time.Since(start).Round(time.Second))
			lastLog, logged = time.Now(), true
		}
		if p.Ready() {
			return
		}
	}
}

// pruneIfDue removes the old items when a day has passed since it last
// did (or when force is set), and returns when it is due next.
func (e *Engine) pruneIfDue(ctx context.Context, force bool) time.Time {
	now := e.cfg.Clock.Now()
	if v, ok, err := e.cfg.Store.Setting(ctx, lastPruneKey); err == nil && ok && !force {
		if last, err := time.Parse(time.RFC3339Nano, v); err == nil && now.Sub(last) < pruneEvery && !last.After(now) {
			return last.Add(pruneEvery)
		}
	}
	e.prune(ctx, now)
	if ctx.Err() == nil {
		if err := e.cfg.Store.PutSetting(ctx, lastPruneKey, now.Format(time.RFC3339Nano)); err != nil {
			e.log.Error("saving when old items were removed", "err", err)
		}
	}
	return now.Add(pruneEvery)
}

// prune removes every account's items older than Settings.KeepDays, a
// batch per write transaction, and gives the space back.
func (e *Engine) prune(ctx context.Context, now time.Time) {
	days := e.currentSettings().KeepDays
	if days <= 0 {
		return
	}
	before := now.AddDate(0, 0, -days)
	accts, err := e.cfg.Store.Accounts(ctx)
	if err != nil {
		e.log.Error("removing old items", "err", err)
		return
	}
	total := 0
	for _, a := range accts {
		for ctx.Err() == nil {
			n, err := e.cfg.Store.PruneOld(ctx, a.ID, before, pruneBatch)
			if err != nil {
				e.log.Error("removing old items", "account", a.ID, "err", err)
				return
			}
			total += n
			if n < pruneBatch {
				break
			}
		}
	}
	if total == 0 {
		return
	}
	e.log.Info("removed old items", "items", total, "older than", before.Format(time.DateOnly))
	e.reclaim(ctx)
}

// reclaim gives the store's free pages back to the disk. A file from before
// Inbox Sync did this is compacted once first, when it has at least
// compactAbove bytes to give back.
func (e *Engine) reclaim(ctx context.Context) {
	st := e.cfg.Store
	ok, err := st.CanReclaim(ctx)
	if err == nil && !ok {
		var free int64
		if free, err = st.FreeBytes(ctx); err == nil && free >= compactAbove {
			start := time.Now()
			e.log.Info("compacting the activity store once, so that it shrinks from now on; syncs wait until it is done", "free_mb", free>>20)
			if err = st.Compact(ctx); err == nil {
				e.log.Info("compacted the activity store", "took", time.Since(start).Round(time.Millisecond))
			}
		}
	}
	if err == nil {
		var n int64
		if n, err = st.Reclaim(ctx); err == nil && n > 0 {
			e.log.Info("gave space back to the disk", "mb", n>>20)
		}
	}
	if err != nil && ctx.Err() == nil {
		e.log.Error("shrinking the activity store", "err", err)
	}
}

// compactAbove is the free space from which an older store is compacted.
const compactAbove = 16 << 20
