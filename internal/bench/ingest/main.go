//go:build testprovider

// Command ingest measures how fast the engine takes items into the store:
// 100,000 items from the scripted provider in pages of 500, through the
// engine (mode engine), next to a bare loop of the same upserts straight
// into SQLite (mode bare), and the cost of a sync that finds no change
// (mode nochange). Each mode runs in its own process so that its peak RSS
// is its own; scripts/bench.sh runs all three and prints a table.
//
// It links the scripted provider, so it only builds with -tags
// testprovider and is never shipped.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	_ "modernc.org/sqlite"

	"github.com/inboxsync/inboxsync/internal/bench/benchengine"
	"github.com/inboxsync/inboxsync/internal/procstat"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
	"github.com/inboxsync/inboxsync/sync/store"
)

type result struct {
	Mode     string  `json:"mode"`
	Items    int     `json:"items"`
	Seconds  float64 `json:"seconds"`
	PerSec   float64 `json:"items_per_sec"`
	CPU      float64 `json:"cpu_seconds"`
	PeakRSS  float64 `json:"peak_rss_mb"`
	Requests int     `json:"requests,omitempty"`
}

func main() {
	mode := flag.String("mode", "engine", "engine, indexed (engine until the search index holds every item), intx (the index written in each page's transaction), bare or nochange")
	n := flag.Int("n", 100000, "items")
	page := flag.Int("page", 500, "page size")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured part to `file`")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "inboxsync-bench")
	check(err)
	defer os.RemoveAll(dir)

	mb := scripted.New()
	mb.SetPageSize(*page)
	mb.Add(api.Inbox, *n, time.Now().Add(-time.Hour))

	var r result
	switch *mode {
	case "bare":
		r = bare(dir, mb)
	case "engine":
		e, cancel := newEngine(dir, mb)
		r = measure("engine", func() int { return syncOnce(e) })
		cancel()
	case "intx":
		// As engine, with every item put in the search index in the
		// transaction of its page (the store's insert trigger does that
		// for ids below search_state.upto): what the design avoids.
		e, cancel := newEngine(dir, mb)
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "inboxsync.db")+"?_pragma=busy_timeout(10000)")
		check(err)
		_, err = db.Exec("UPDATE search_state SET upto = 1 << 62")
		check(err)
		db.Close()
		r = measure("intx", func() int { return syncOnce(e) })
		cancel()
	case "indexed":
		// As engine, but until the engine's upkeep has also put every
		// item in the search index.
		e, cancel := newEngine(dir, mb)
		r = measure("indexed", func() int {
			n := syncOnce(e)
			check(benchengine.WaitIndexed(filepath.Join(dir, "inboxsync.db")))
			return n
		})
		cancel()
	case "nochange":
		e, cancel := newEngine(dir, mb)
		syncOnce(e)
		calls := mb.Calls()
		r = measure("nochange", func() int { return syncOnce(e) })
		r.Requests = mb.Calls() - calls
		cancel()
	default:
		check(fmt.Errorf("unknown mode %q", *mode))
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

func measure(mode string, f func() int) result {
	cpu0 := procstat.CPU()
	t0 := time.Now()
	items := f()
	secs := time.Since(t0).Seconds()
	return result{Mode: mode, Items: items, Seconds: secs, PerSec: float64(items) / secs,
		CPU: (procstat.CPU() - cpu0).Seconds(), PeakRSS: procstat.PeakRSSMB()}
}

var (
	events <-chan api.Event
	first  = true
)

func newEngine(dir string, mb *scripted.Mailbox) (*engine.Engine, func()) {
	st, err := store.Open(filepath.Join(dir, "inboxsync.db"))
	check(err)
	conn := scripted.NewConnector()
	conn.Register("mb", mb)
	e, err := engine.New(engine.Config{Store: st, Secrets: secrettest.NewMemory(),
		Connectors: map[string]provider.Connector{"scripted": conn}, MinSyncGap: time.Nanosecond})
	check(err)
	ctx, cancel := context.WithCancel(context.Background())
	events, _ = e.Subscribe(ctx)
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	return e, func() { cancel(); <-done; st.Close() }
}

// syncOnce runs one session (the activation's, the first time) and returns
// the number of items it added or updated.
func syncOnce(e *engine.Engine) int {
	ctx := context.Background()
	if first {
		first = false
		_, err := e.Activate(ctx, api.ActivationRequest{Provider: "scripted", Account: "bench", Login: "bench",
			Settings: map[string]string{"mailbox": "mb"}}, nil)
		check(err)
	} else {
		time.Sleep(time.Millisecond)
		check(e.SyncNow(ctx, "bench"))
	}
	n, err := benchengine.WaitSession(events)
	check(err)
	return n
}

// bare upserts the same pages into a table of the same shape with one
// prepared statement and a transaction per page: the floor for the store.
func bare(dir string, mb *scripted.Mailbox) result {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "bare.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)")
	check(err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, account TEXT NOT NULL, provider_id TEXT NOT NULL,
		folder TEXT, kind TEXT, message_id TEXT, conversation_id TEXT, subject TEXT, from_addr TEXT, to_addrs TEXT,
		cc_addrs TEXT, time INTEGER, preview TEXT, hash INTEGER, first_seen INTEGER, updated_at INTEGER);
		CREATE UNIQUE INDEX items_ap ON items(account, provider_id);
		CREATE INDEX items_at ON items(account, time);`)
	check(err)
	p := mb.Provider("")
	return measure("bare", func() int {
		ctx := context.Background()
		cursor, total := "", 0
		for {
			pg, err := p.Changes(ctx, api.Inbox, cursor, provider.Options{})
			check(err)
			tx, err := db.Begin()
			check(err)
			stmt, err := tx.Prepare(`INSERT INTO items (account, provider_id, folder, kind, message_id, conversation_id, subject,
				from_addr, to_addrs, cc_addrs, time, preview, hash, first_seen, updated_at)
				VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
				ON CONFLICT(account, provider_id) DO UPDATE SET subject=excluded.subject, hash=excluded.hash, updated_at=excluded.updated_at`)
			check(err)
			now := time.Now().UnixNano()
			for _, c := range pg.Changes {
				it := c.Item
				_, err := stmt.Exec("bench", it.ProviderID, string(it.Folder), string(it.Kind), it.MessageID, it.ConversationID,
					it.Subject, it.From, strings.Join(it.To, ","), strings.Join(it.Cc, ","), it.Time.UnixNano(), it.Preview, 0, now, now)
				check(err)
				total++
			}
			stmt.Close()
			check(tx.Commit())
			cursor = pg.Cursor
			if !pg.More {
				return total
			}
		}
	})
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}
