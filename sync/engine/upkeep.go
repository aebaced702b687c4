package engine

import (
	"context"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/store"
)

// upkeep is the engine's care of the store between syncs, one goroutine
// shaped like a runner: it builds the search index — the items of the
// pages stored since its last step and, the first time an older store is
// opened, all of them — in short batches that never hold the store for
// long.
type upkeep struct {
	mu sync.Mutex
	// index is the index's last known progress; nil once it is complete.
	index *store.IndexProgress
}

// Upkeep's pace.
const (
	// indexBatch is the number of items one index build step indexes: a
	// write transaction of about 0.1 s, which a sync's page waits for at
	// most.
	indexBatch = 2000
	// indexLogEvery is how often a long index build logs its progress.
	indexLogEvery = 10 * time.Second
)

// progress returns the index build's progress for Status, nil when the
// index is complete.
func (u *upkeep) progress() *store.IndexProgress {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.index == nil {
		return nil
	}
	p := *u.index
	return &p
}

func (u *upkeep) setProgress(p store.IndexProgress) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if p.Ready() {
		u.index = nil
	} else {
		u.index = &p
	}
}

// serveUpkeep runs the upkeep until ctx is done. It works at start, after
// each sync session, and when accounts or settings change.
func (e *Engine) serveUpkeep(ctx context.Context) {
	events := e.bus.subscribe(ctx)
	for {
		e.buildIndex(ctx)
		for wake := false; !wake; {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				switch ev.Type {
				case EventSessionEnded, EventAccounts, EventSettings:
					wake = true
				}
			}
		}
	}
}

// buildIndex indexes the items that wait for the search index, batch by
// batch, until none waits or ctx is done.
func (e *Engine) buildIndex(ctx context.Context) {
	start := time.Now()
	lastLog := start
	first, logged := -1, false
	for ctx.Err() == nil {
		p, err := e.cfg.Store.BuildSearchIndex(ctx, indexBatch)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("building the search index", "err", err)
			}
			return
		}
		e.upkeep.setProgress(p)
		if first < 0 {
			first = p.Done
		}
		if time.Since(lastLog) >= indexLogEvery || (p.Ready() && logged) {
			e.log.Info("building the search index", "indexed", p.Done, "of", p.Done+p.Left, "took", time.Since(start).Round(time.Second))
			lastLog, logged = time.Now(), true
		}
		if p.Ready() {
			return
		}
	}
}
