package store

import (
	"context"
	"testing"

	"github.com/inboxsync/inboxsync/sync/provider"
)

// BenchmarkApplyPage500 stores pages of 500 new items, shaped like the
// pages of the scripted provider: short ids.
func BenchmarkApplyPage500(b *testing.B) { benchmarkApplyPage(b, scriptedID) }

// BenchmarkApplyPage500GraphIDs stores pages of 500 new items with ids
// shaped like Microsoft Graph's: 150 characters, a long shared prefix.
func BenchmarkApplyPage500GraphIDs(b *testing.B) { benchmarkApplyPage(b, graphID) }

// BenchmarkApplyPage500RandomIDs stores pages of 500 new items whose ids
// are in random order: the worst case for the (account, provider_id) index.
func BenchmarkApplyPage500RandomIDs(b *testing.B) { benchmarkApplyPage(b, randomID) }

func benchmarkApplyPage(b *testing.B, id func(int) string) {
	s := openTemp(b, "work")
	ctx := context.Background()
	pages := make([]provider.Page, b.N)
	for i := range pages {
		pages[i] = realisticPage(i, 500, id)
	}
	b.ResetTimer()
	c0 := cpuNow()
	defer reportCPU(b, c0)
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
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkApplyPageNoChange applies a page of 500 unchanged items again.
func BenchmarkApplyPageNoChange(b *testing.B) {
	s := openTemp(b, "work")
	ctx := context.Background()
	page := realisticPage(0, 500, graphID)
	if _, err := s.ApplyPage(ctx, "work", provider.Inbox, page, t0); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
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
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "items/s")
}
