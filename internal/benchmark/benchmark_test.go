package benchmark

import (
	"context"
	"testing"
)

// BenchmarkInitialSync syncs N customers (half matched on both sides) from
// scratch; records/s is customers brought in agreement per second.
func BenchmarkInitialSync(b *testing.B) {
	for _, kind := range []string{"sqlite", "memory"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, err := New(ctx, 10000, kind, b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				r, err := s.Measure(ctx, "initial", s.N)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.RecordsPerSec, "records/s")
				b.ReportMetric(r.AllocsPerRec, "allocs/record")
				s.Close()
			}
		})
	}
}

// BenchmarkChangeRound measures a round of 1% changes on 10,000 synced records.
func BenchmarkChangeRound(b *testing.B) {
	ctx := context.Background()
	s, err := New(ctx, 10000, "sqlite", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Measure(ctx, "initial", s.N); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		k := s.Change(0.01)
		b.StartTimer()
		r, err := s.Measure(ctx, "round", k)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.Writes), "writes/round")
	}
}
