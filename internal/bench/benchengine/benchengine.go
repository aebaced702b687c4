// Package benchengine holds what the benchmark commands that drive the
// engine (internal/bench/ingest, internal/bench/storebench) share.
package benchengine

import (
	"database/sql"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // the driver of WaitIndexed's connection

	"github.com/inboxsync/inboxsync/sync/api"
)

// WaitSession waits on events for the end of a sync session and returns
// the number of items it added or updated, or an error if it did not end
// ok.
func WaitSession(events <-chan api.Event) (int, error) {
	for ev := range events {
		if ev.Type == api.EventSessionEnded {
			if ev.Session.Outcome != "ok" {
				return 0, fmt.Errorf("session %s: %s", ev.Session.Outcome, ev.Session.Error)
			}
			return ev.Session.Added + ev.Session.Updated, nil
		}
	}
	return 0, fmt.Errorf("the engine's events ended")
}

// WaitIndexed waits until the search index of the store at path (an
// engine's, whose upkeep builds it) holds every item. It asks every 5 ms
// on its own read-only connection, whether the index's mark is past the
// last item: cheaper than store.SearchIndexProgress, which counts the items
// that wait and, asked that often, slowed what it measured.
func WaitIndexed(path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		var ready bool
		if err := db.QueryRow("SELECT upto > (SELECT coalesce(max(id), 0) FROM items) FROM search_state").Scan(&ready); err != nil {
			return err
		}
		if ready {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}
