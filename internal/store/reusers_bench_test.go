package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/civicflow/civicflow/internal/store"
	"github.com/civicflow/civicflow/internal/store/storetest"
)

// BenchmarkAPIStatus: the public status page's measure (APILatency over
// 24 h and 7 days, median and p95 per endpoint) on a usage log of 100,000
// calls over a week, against the baseline of counting them in one query.
func BenchmarkAPIStatus(b *testing.B) {
	s := storetest.Open(b, storetest.SQLiteURL(b))
	ctx := context.Background()
	now := time.Now().UTC()
	const n = 100_000
	rows := make([]store.APIUsage, 0, 5000)
	endpoints := []string{"/records", "/exports/csv", "/datasets", "/facets"}
	for i := range n {
		rows = append(rows, store.APIUsage{At: now.Add(-time.Duration(i%(7*24*60)) * time.Minute), Endpoint: endpoints[i%len(endpoints)],
			Status: 200, LatencyUS: int64(500 + (i*7919)%50000)})
		if len(rows) == cap(rows) {
			if err := s.InsertAPIUsage(ctx, rows); err != nil {
				b.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	b.Run("baseline-count-week", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.CountAPIUsage(ctx, store.UsageFilter{From: now.Add(-7 * 24 * time.Hour)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("latency-day-and-week", func(b *testing.B) {
		for b.Loop() {
			for _, since := range []time.Time{now.Add(-24 * time.Hour), now.Add(-7 * 24 * time.Hour)} {
				if _, err := s.APILatency(ctx, since); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
