package store

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/procstat"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// BenchmarkApplyPage500 stores pages of 500 new items with short ids, like
// the scripted provider's, in a first sync's order (each page older than
// the last). It reports items/s and the CPU time per page.
func BenchmarkApplyPage500(b *testing.B) { benchmarkApplyPage(b, scriptedID) }

// BenchmarkApplyPage500GraphIDs is BenchmarkApplyPage500 with ids shaped
// like Microsoft Graph's: 150 characters with a long shared prefix.
func BenchmarkApplyPage500GraphIDs(b *testing.B) { benchmarkApplyPage(b, graphID) }

// BenchmarkApplyPage500RandomIDs is BenchmarkApplyPage500 with ids in
// random order: each new item lands on another page of the (account,
// provider_id) index.
func BenchmarkApplyPage500RandomIDs(b *testing.B) { benchmarkApplyPage(b, randomID) }

func benchmarkApplyPage(b *testing.B, id func(int) string) {
	s := openTemp(b, "work")
	ctx := context.Background()
	pages := make([]provider.Page, b.N)
	for i := range pages {
		pages[i] = realisticPage(i, 500, id)
	}
	runtime.GC()
	b.ResetTimer()
	c0 := procstat.CPU()
	for i := 0; i < b.N; i++ {
		c, err := s.ApplyPage(ctx, "work", api.Inbox, pages[i], t0)
		if err != nil {
			b.Fatal(err)
		}
		if c.Added != 500 {
			b.Fatalf("counts %+v", c)
		}
	}
	b.StopTimer()
	reportCPU(b, c0)
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkApplyPageNoChange applies a stored page of 500 items again,
// unchanged: what every sync after a cursor was lost costs.
func BenchmarkApplyPageNoChange(b *testing.B) {
	s := openTemp(b, "work")
	ctx := context.Background()
	page := realisticPage(0, 500, scriptedID)
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	c0 := procstat.CPU()
	for i := 0; i < b.N; i++ {
		c, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0)
		if err != nil {
			b.Fatal(err)
		}
		if c != (api.Counts{}) {
			b.Fatalf("counts %+v", c)
		}
	}
	b.StopTimer()
	reportCPU(b, c0)
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "items/s")
}

// reportCPU reports the CPU time per operation since start: on a busy
// machine it varies less than the wall time. (Not where CPU time is not
// measured.)
func reportCPU(b *testing.B, start time.Duration) {
	if now := procstat.CPU(); now > 0 {
		b.ReportMetric(float64(now-start)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

// BenchmarkApplyPageNoChangeFullSync is BenchmarkApplyPageNoChange during a
// full sync (a resync after the cursor was refused): the unchanged items
// are recorded as listed, so that the last page can mark the others
// deleted.
func BenchmarkApplyPageNoChangeFullSync(b *testing.B) {
	s := openTemp(b, "work")
	ctx := context.Background()
	page := realisticPage(0, 500, scriptedID)
	if _, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0); err != nil {
		b.Fatal(err)
	}
	page.More = true
	runtime.GC()
	b.ResetTimer()
	c0 := procstat.CPU()
	for i := 0; i < b.N; i++ {
		// Each round is a new full sync, so that every page stamps.
		b.StopTimer()
		if err := s.BeginFullSync(ctx, "work", api.Inbox, provider.Window{}, t0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c, err := s.ApplyPage(ctx, "work", api.Inbox, page, t0)
		if err != nil {
			b.Fatal(err)
		}
		if c != (api.Counts{}) {
			b.Fatalf("counts %+v", c)
		}
	}
	b.StopTimer()
	reportCPU(b, c0)
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkDeleteAccount removes one of three accounts of n items each
// (INBOXSYNC_PURGE_BENCH_ITEMS, default 20,000; the case is
// 100,000 of a 300,000-item store), every item indexed for search, as the
// engine does: DeleteAccount in batches of 500, then Reclaim. It reports
// the removal's time (purge-s) and Reclaim's (reclaim-s: merging the
// search index and giving the pages back), the removal's longest write
// transaction (max-tx-ms: the longest time between two of its commits) and
// the longest time a small write of another writer, running in a loop
// through both, waited for the store (max-wait-ms).
func BenchmarkDeleteAccount(b *testing.B) {
	n := 20000
	if v := os.Getenv("INBOXSYNC_PURGE_BENCH_ITEMS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	const batch = 500
	ctx := context.Background()
	var purge, reclaim, maxTx, maxWait time.Duration
	for range b.N {
		b.StopTimer()
		s := openTemp(b, "work", "home", "other")
		for _, a := range []string{"work", "home", "other"} {
			for p := range n / 500 {
				if _, err := s.ApplyPage(ctx, a, api.Inbox, realisticPage(p, 500, scriptedID), t0); err != nil {
					b.Fatal(err)
				}
			}
		}
		for {
			p, err := s.BuildSearchIndex(ctx, 10000)
			if err != nil {
				b.Fatal(err)
			}
			if p.Ready() {
				break
			}
		}
		// Another writer: a small write every millisecond.
		stop := make(chan struct{})
		waited := make(chan time.Duration)
		go func() {
			var longest time.Duration
			for i := 0; ; i++ {
				select {
				case <-stop:
					waited <- longest
					return
				case <-time.After(time.Millisecond):
				}
				start := time.Now()
				if err := s.PutSetting(ctx, "bench", strconv.Itoa(i)); err != nil {
					b.Error(err)
				}
				longest = max(longest, time.Since(start))
			}
		}()
		b.StartTimer()
		start := time.Now()
		last := start
		testHookPurgeBatch = func(context.Context, int) error {
			now := time.Now()
			maxTx = max(maxTx, now.Sub(last))
			last = now
			return nil
		}
		if err := s.DeleteAccount(ctx, "work", batch); err != nil {
			b.Fatal(err)
		}
		maxTx = max(maxTx, time.Since(last)) // the last transaction
		purge += time.Since(start)
		testHookPurgeBatch = nil
		start = time.Now()
		if _, err := s.Reclaim(ctx); err != nil {
			b.Fatal(err)
		}
		reclaim += time.Since(start)
		b.StopTimer()
		close(stop)
		maxWait = max(maxWait, <-waited)
		if left, _ := s.CountItems(ctx, ""); left != 2*(n/500)*500 {
			b.Fatalf("%d items left", left)
		}
		s.Close()
	}
	b.ReportMetric(purge.Seconds()/float64(b.N), "purge-s")
	b.ReportMetric(reclaim.Seconds()/float64(b.N), "reclaim-s")
	b.ReportMetric(float64(maxTx.Microseconds())/1000, "max-tx-ms")
	b.ReportMetric(float64(maxWait.Microseconds())/1000, "max-wait-ms")
}

// BenchmarkActivityCount measures what counting a plain activity list
// (no search) costs, for the question whether `inboxsync activity` can say
// "of 1,030" instead of "of more than 1000" (issue 23): the store of
// INBOXSYNC_COUNT_BENCH_ITEMS items (default 30,000; the question is asked
// at 1,000,000) in three accounts, and per sub-benchmark one Activity page
// as today (count capped at TotalCap), an exact count of one account's
// and of every account's items not deleted, and the same exact counts
// with a partial index of the live items by account.
func BenchmarkActivityCount(b *testing.B) {
	n := 30000
	if v := os.Getenv("INBOXSYNC_COUNT_BENCH_ITEMS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	accounts := []string{"work", "home", "other"}
	s := openTemp(b, accounts...)
	for _, a := range accounts {
		for p := range n / len(accounts) / 500 {
			if _, err := s.ApplyPage(ctx, a, api.Inbox, realisticPage(p, 500, scriptedID), t0); err != nil {
				b.Fatal(err)
			}
		}
	}
	count := func(b *testing.B, query string, args ...any) {
		for range b.N {
			var got int
			if err := s.db.QueryRowContext(ctx, query, args...).Scan(&got); err != nil {
				b.Fatal(err)
			}
			if got < n/len(accounts)-500 {
				b.Fatalf("counted %d", got)
			}
		}
	}
	page := func(b *testing.B, account string) {
		for range b.N {
			p, err := s.Activity(ctx, api.ActivityQuery{Account: account, Limit: 50})
			if err != nil || len(p.Items) != 50 {
				b.Fatalf("%d items, %v", len(p.Items), err)
			}
		}
	}
	b.Run("page-capped/account", func(b *testing.B) { page(b, "work") })
	b.Run("page-capped/all", func(b *testing.B) { page(b, "") })
	const one, all = `SELECT count(*) FROM items WHERE account = ? AND deleted = 0`, `SELECT count(*) FROM items WHERE deleted = 0`
	b.Run("exact/account", func(b *testing.B) { count(b, one, "work") })
	b.Run("exact/all", func(b *testing.B) { count(b, all) })
	if _, err := s.db.ExecContext(ctx, `CREATE INDEX bench_live ON items(account) WHERE deleted = 0`); err != nil {
		b.Fatal(err)
	}
	b.Run("exact-partial-index/account", func(b *testing.B) { count(b, one, "work") })
	b.Run("exact-partial-index/all", func(b *testing.B) { count(b, all) })
}
