//go:build testprovider

// Command storebench measures the activity store at scale for
// scripts/bench-store.sh. Mode build syncs N items from three scripted
// mailboxes through the engine into DIR/inboxsync.db (the store of an
// agent run with --home DIR), waits for the upkeep to index them, measures
// a no-change sync of each account, and leaves the store paused (so that
// an agent started on it later does not try to reach the in-memory
// mailboxes). Mode search times searches on that store. Each prints one
// JSON object.
//
// It links the scripted provider, so it only builds with -tags
// testprovider and is never shipped.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/inboxsync/inboxsync/internal/bench/benchengine"
	"github.com/inboxsync/inboxsync/internal/procstat"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/engine"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
	"github.com/inboxsync/inboxsync/sync/store"
)

func main() {
	mode := flag.String("mode", "build", "build or search")
	dir := flag.String("dir", "", "the agent's home")
	n := flag.Int("n", 1000000, "items in all (build)")
	runs := flag.Int("runs", 50, "runs of each search (search)")
	flag.Parse()
	if *dir == "" {
		check(fmt.Errorf("-dir is required"))
	}
	var r any
	switch *mode {
	case "build":
		r = build(*dir, *n)
	case "search":
		r = search(*dir, *runs)
	default:
		check(fmt.Errorf("unknown mode %q", *mode))
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

type buildResult struct {
	Items          int                `json:"items"`
	IngestSeconds  float64            `json:"ingest_seconds"`
	IngestPerSec   float64            `json:"ingest_per_sec"`
	IndexSeconds   float64            `json:"index_seconds"`
	IndexPerSec    float64            `json:"index_per_sec"`
	NoChangeCPUms  map[string]float64 `json:"nochange_cpu_ms"`
	FileBytes      int64              `json:"file_bytes"`
	BytesPerItem   float64            `json:"bytes_per_item"`
	PeakRSSMB      float64            `json:"peak_rss_mb"`
	IngestCPUSecs  float64            `json:"ingest_cpu_seconds"`
	IndexedByStart int                `json:"indexed_when_ingest_ended"`
}

func build(dir string, n int) buildResult {
	check(os.MkdirAll(dir, 0o700))
	path := filepath.Join(dir, "inboxsync.db")
	st, err := store.Open(path)
	check(err)
	conn := scripted.NewConnector()
	accounts := []string{"north", "south", "west"}
	for i, a := range accounts {
		mb := scripted.New()
		mb.SetPageSize(500)
		// Mail spread over the last 25 days (the first sync takes 30),
		// in 100 steps of 6 hours.
		per := n/len(accounts) + boolInt(i < n%len(accounts))
		for c := range 100 {
			mb.Add(api.Inbox, per/100+boolInt(c < per%100), time.Now().Add(-time.Duration(c)*6*time.Hour))
		}
		conn.Register(a, mb)
	}
	e, err := engine.New(engine.Config{Store: st, Secrets: secrettest.NewMemory(),
		Connectors: map[string]provider.Connector{"scripted": conn}, MinSyncGap: time.Nanosecond})
	check(err)
	ctx, cancel := context.WithCancel(context.Background())
	events, _ := e.Subscribe(ctx)
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()

	var r buildResult
	cpu0, t0 := procstat.CPU(), time.Now()
	for _, a := range accounts {
		_, err := e.Activate(ctx, api.ActivationRequest{Provider: "scripted", Account: a, Login: a,
			Settings: map[string]string{"mailbox": a}}, nil)
		check(err)
		r.Items += waitSession(events)
	}
	r.IngestSeconds = time.Since(t0).Seconds()
	r.IngestPerSec = float64(r.Items) / r.IngestSeconds
	r.IngestCPUSecs = (procstat.CPU() - cpu0).Seconds()
	p, err := st.SearchIndexProgress(ctx)
	check(err)
	r.IndexedByStart = p.Done

	// The upkeep indexes after each session; wait until it is done.
	t1 := time.Now()
	check(benchengine.WaitIndexed(path))
	r.IndexSeconds = time.Since(t1).Seconds()
	r.IndexPerSec = float64(r.Items-r.IndexedByStart) / r.IndexSeconds

	r.NoChangeCPUms = map[string]float64{}
	for _, a := range accounts {
		time.Sleep(5 * time.Millisecond)
		c0 := procstat.CPU()
		check(e.SyncNow(ctx, a))
		waitSession(events)
		r.NoChangeCPUms[a] = float64(procstat.CPU()-c0) / float64(time.Millisecond)
	}
	check(e.Pause(ctx, api.PauseRequest{}))
	cancel()
	<-done
	check(st.Close())
	fi, err := os.Stat(path)
	check(err)
	r.FileBytes = fi.Size()
	r.BytesPerItem = float64(fi.Size()) / float64(r.Items)
	r.PeakRSSMB = procstat.PeakRSSMB()
	return r
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// waitSession waits for the end of a session and returns what it added.
func waitSession(events <-chan api.Event) int {
	n, err := benchengine.WaitSession(events)
	check(err)
	return n
}

type searchFigure struct {
	Query string  `json:"query"`
	Total int     `json:"total"`
	P50ms float64 `json:"p50_ms"`
	P95ms float64 `json:"p95_ms"`
}

// search times a page of 50 for each kind of search, in the store's
// process (the CLI adds its own start-up, which the script measures).
func search(dir string, runs int) []searchFigure {
	st, err := store.OpenReadOnly(filepath.Join(dir, "inboxsync.db"))
	check(err)
	defer st.Close()
	ctx := context.Background()
	var out []searchFigure
	for _, q := range []string{
		`"inbox item 123457"`,    // a rare phrase: one item per account
		"scripted",               // a common word: every item
		"tem",                    // a 3-letter substring of every item
		"alice@scripted.test",    // an address: every item's sender
		`"item 99999" -"item 9"`, // a rare phrase left out again: no item, the whole match set read
	} {
		var times []float64
		f := searchFigure{Query: q}
		for range runs {
			t0 := time.Now()
			p, err := st.Activity(ctx, api.ActivityQuery{Search: q, Limit: 50})
			check(err)
			times = append(times, float64(time.Since(t0).Microseconds())/1000)
			f.Total = p.Total
		}
		slices.Sort(times)
		f.P50ms, f.P95ms = times[len(times)/2], times[len(times)*95/100]
		out = append(out, f)
	}
	return out
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		os.Exit(1)
	}
}
