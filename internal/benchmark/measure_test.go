package benchmark

import (
	"context"
	"runtime"
	"testing"
)

// Measure reports the phase's CPU time and the time spent inside the store,
// reads and writes apart, and the rate the store alone would allow; a round
// without changes writes nothing to the systems (it still commits the
// cursors of its listings).
func TestMeasureReportsStoreAndCPUTime(t *testing.T) {
	ctx := context.Background()
	s, err := New(ctx, 400, "sqlite", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Measure(ctx, "initial", s.N)
	if err != nil {
		t.Fatal(err)
	}
	if r.Writes != 200 {
		t.Errorf("initial sync wrote %d records to the systems, want the 200 that exist on one side only", r.Writes)
	}
	if r.Store.Reads <= 0 || r.Store.Writes <= 0 {
		t.Errorf("store time not measured: %+v", r.Store)
	}
	if r.StoreBound <= 0 {
		t.Errorf("no store-bound rate: %+v", r)
	}
	if runtime.GOOS != "windows" && r.CPUSeconds <= 0 {
		t.Errorf("no CPU time: %+v", r)
	}
	q, err := s.Measure(ctx, "no changes", 0)
	if err != nil {
		t.Fatal(err)
	}
	if q.Writes != 0 {
		t.Errorf("a round without changes wrote %d records", q.Writes)
	}
}
