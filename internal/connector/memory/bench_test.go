package memory_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
)

// bigSystem holds n customers written one millisecond apart, then 100
// edits spread over them; it returns the cursor of a listing made before
// the edits.
func bigSystem(b *testing.B, n int) (*memory.System, string) {
	b.Helper()
	clk := newClock(time.Millisecond)
	sys := memory.New("erp", memory.Options{Clock: clk.Now})
	for i := range n {
		sys.Create(customers, connector.Fields{"n": float64(i)})
	}
	p, err := sys.List(context.Background(), customers, connector.ListRequest{Full: true})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		sys.Edit(customers, strconv.Itoa(1+i*(n/100)), connector.Fields{"n": -1.0})
	}
	return sys, p.Cursor
}

// BenchmarkIncrementalList lists the 100 changes among n records (plus the
// one record at the cursor value, re-emitted). The cost per listing must
// not grow with n.
func BenchmarkIncrementalList(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			sys, cursor := bigSystem(b, n)
			listed := 0
			for b.Loop() {
				recs, _ := listAll(b, sys, customers, connector.ListRequest{Cursor: cursor})
				listed = len(recs)
			}
			if listed != 101 {
				b.Fatalf("listed %d records, want the 100 changed and the one at the cursor", listed)
			}
			b.ReportMetric(float64(listed), "records/op")
		})
	}
}

// BenchmarkFullListPage lists one page from the middle of a full listing of
// a million records.
func BenchmarkFullListPage(b *testing.B) {
	const n = 1_000_000
	sys, _ := bigSystem(b, n)
	ctx := context.Background()
	req := connector.ListRequest{Full: true}
	for range n / 2 / memory.DefaultPageSize {
		p, err := sys.List(ctx, customers, req)
		if err != nil {
			b.Fatal(err)
		}
		req.PageToken = p.NextPageToken
	}
	for b.Loop() {
		if _, err := sys.List(ctx, customers, req); err != nil {
			b.Fatal(err)
		}
	}
}
