package store

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/internal/procstat"
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
		c, err := s.ApplyPage(ctx, "work", provider.Inbox, pages[i], t0)
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
	if _, err := s.ApplyPage(ctx, "work", provider.Inbox, page, t0); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ResetTimer()
	c0 := procstat.CPU()
	for i := 0; i < b.N; i++ {
		c, err := s.ApplyPage(ctx, "work", provider.Inbox, page, t0)
		if err != nil {
			b.Fatal(err)
		}
		if c != (Counts{}) {
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
	if _, err := s.ApplyPage(ctx, "work", provider.Inbox, page, t0); err != nil {
		b.Fatal(err)
	}
	page.More = true
	runtime.GC()
	b.ResetTimer()
	c0 := procstat.CPU()
	for i := 0; i < b.N; i++ {
		// Each round is a new full sync, so that every page stamps.
		b.StopTimer()
		if err := s.BeginFullSync(ctx, "work", provider.Inbox, Window{}, t0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c, err := s.ApplyPage(ctx, "work", provider.Inbox, page, t0)
		if err != nil {
			b.Fatal(err)
		}
		if c != (Counts{}) {
			b.Fatalf("counts %+v", c)
		}
	}
	b.StopTimer()
	reportCPU(b, c0)
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "items/s")
}
