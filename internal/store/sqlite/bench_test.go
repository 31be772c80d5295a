package sqlite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/benchmark"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/sqlite"
)

// The benchmarks measure the store's ceiling for the engine's batch size:
// every operation moves benchBatch records, and each reports records/s.
// Records look like a webshop customer: a dozen fields, one nested.
const benchBatch = 1000

var benchT0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

func benchFields(i int) map[string]any {
	return map[string]any{
		"id":         fmt.Sprintf("c%07d", i),
		"name":       fmt.Sprintf("Customer %d B.V.", i),
		"email":      fmt.Sprintf("info%d@example.com", i),
		"phone":      "+31 15 123 4567",
		"vat":        fmt.Sprintf("NL%09dB01", i),
		"kvk":        float64(10000000 + i),
		"balance":    float64(i%10000) / 100,
		"active":     i%7 != 0,
		"created_at": "2024-01-02T03:04:05Z",
		"tags":       []any{"retail", "nl"},
		"address": map[string]any{
			"street": "Markt", "number": float64(i % 300), "postcode": "2611 GP", "city": "Delft", "country": "NL",
		},
		"notes": nil,
	}
}

func benchVersion(i int, hash string) store.Record {
	f := benchFields(i)
	times := make(map[string]time.Time, len(f))
	for k := range f {
		times[k] = benchT0
	}
	return store.Record{
		Key:        store.Key{System: "shop", Datatype: "Customer", ID: fmt.Sprintf("c%07d", i)},
		Hash:       hash,
		Fields:     f,
		FieldTimes: times,
		Modified:   benchT0,
	}
}

func benchGolden(i int) store.Golden {
	f := benchFields(i)
	prov := make(map[string]store.Provenance, len(f))
	for k := range f {
		prov[k] = store.Provenance{System: "shop", Datatype: "Customer", ID: fmt.Sprintf("c%07d", i), Time: benchT0}
	}
	return store.Golden{ID: fmt.Sprintf("g%07d", i), Type: "customer", Props: f, Prov: prov, Dirty: true, Updated: benchT0}
}

// seed stores n shop customers in batches.
func seed(b *testing.B, s *sqlite.Store, n int) {
	b.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += benchBatch {
		vs := make([]store.Record, 0, benchBatch)
		for i := start; i < min(n, start+benchBatch); i++ {
			vs = append(vs, benchVersion(i, "h1"))
		}
		if err := s.CommitCollect(ctx, store.CollectBatch{System: "shop", Datatype: "Customer", Versions: vs}); err != nil {
			b.Fatal(err)
		}
	}
}

// startTimer resets the benchmark timer and returns the function that
// reports records/s (wall time) and records/cpu-s (CPU time of the whole
// process, GC included), for perOp records per iteration.
func startTimer(b *testing.B, perOp int) func() {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := benchmark.CPUTime()
	return func() {
		b.StopTimer()
		b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "records/s")
		if cpu := benchmark.CPUTime() - cpu0; cpu > 0 {
			b.ReportMetric(float64(b.N*perOp)/cpu.Seconds(), "records/cpu-s")
		}
	}
}

// BenchmarkCommitCollect stores 1000 new versions per commit (insert), or
// 1000 changed versions of stored records (update).
func BenchmarkCommitCollect(b *testing.B) {
	for _, mode := range []string{"insert", "update"} {
		b.Run(mode, func(b *testing.B) {
			s := openTemp(b)
			ctx := context.Background()
			const pool = 100 * benchBatch
			if mode == "update" {
				seed(b, s, pool)
			}
			batches := make([][]store.Record, 0, pool/benchBatch)
			for start := 0; start < pool; start += benchBatch {
				vs := make([]store.Record, benchBatch)
				for i := range vs {
					vs[i] = benchVersion(start+i, "h2")
				}
				batches = append(batches, vs)
			}
			report := startTimer(b, benchBatch)
			for n := 0; n < b.N; n++ {
				vs := batches[n%len(batches)]
				if mode == "insert" && n >= len(batches) {
					b.StopTimer()
					for i := range vs {
						vs[i].ID = fmt.Sprintf("n%07d-%d", i, n)
					}
					b.StartTimer()
				}
				if err := s.CommitCollect(ctx, store.CollectBatch{System: "shop", Datatype: "Customer", Versions: vs}); err != nil {
					b.Fatal(err)
				}
			}
			report()
		})
	}
}

// BenchmarkCommitMerge commits what merging 1000 records produces: 1000
// golden records, 1000 links, 2000 match keys and 1000 events with a
// decision per property.
func BenchmarkCommitMerge(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	const pool = 100 * benchBatch
	seed(b, s, pool)
	batches := make([]store.MergeBatch, 0, pool/benchBatch)
	for start := 0; start < pool; start += benchBatch {
		var mb store.MergeBatch
		for i := start; i < start+benchBatch; i++ {
			g := benchGolden(i)
			mb.Goldens = append(mb.Goldens, g)
			mb.Links = append(mb.Links, store.Record{Key: store.Key{System: "shop", Datatype: "Customer", ID: fmt.Sprintf("c%07d", i)}, GoldenID: g.ID, Hash: "h1"})
			mb.KeysFor = append(mb.KeysFor, g.ID)
			mb.Keys = append(mb.Keys,
				store.MatchKey{Type: "customer", Name: "email", Value: g.Props["email"].(string), GoldenID: g.ID},
				store.MatchKey{Type: "customer", Name: "vat", Value: g.Props["vat"].(string), GoldenID: g.ID})
			var ds []store.PropDecision
			for p, v := range g.Props {
				ds = append(ds, store.PropDecision{Property: p, Value: v, Outcome: "won", Reason: "only value"})
			}
			mb.Events = append(mb.Events, store.Event{At: benchT0, GoldenID: g.ID, Key: mb.Links[len(mb.Links)-1].Key, Action: "created", Detail: "new golden record", Props: ds})
		}
		batches = append(batches, mb)
	}
	report := startTimer(b, benchBatch)
	for n := 0; n < b.N; n++ {
		if err := s.CommitMerge(ctx, batches[n%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	report()
}

// BenchmarkCommitShare commits 1000 updated records with their links, the
// golden records cleaned and an event each.
func BenchmarkCommitShare(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	const pool = 100 * benchBatch
	seed(b, s, pool)
	batches := make([]store.ShareBatch, 0, pool/benchBatch)
	for start := 0; start < pool; start += benchBatch {
		var sb store.ShareBatch
		for i := start; i < start+benchBatch; i++ {
			r := benchVersion(i, "h3")
			r.GoldenID = fmt.Sprintf("g%07d", i)
			sb.Written = append(sb.Written, r)
			sb.Clean = append(sb.Clean, r.GoldenID)
			sb.Events = append(sb.Events, store.Event{At: benchT0, GoldenID: r.GoldenID, Key: r.Key, Action: "updated", Detail: "wrote name"})
		}
		batches = append(batches, sb)
	}
	report := startTimer(b, benchBatch)
	for n := 0; n < b.N; n++ {
		if err := s.CommitShare(ctx, batches[n%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	report()
}

// BenchmarkGetRecords reads 1000 stored records by id, the way collect
// compares a listed page with what it has.
func BenchmarkGetRecords(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	const pool = 100 * benchBatch
	seed(b, s, pool)
	pages := make([][]string, 0, pool/benchBatch)
	for start := 0; start < pool; start += benchBatch {
		ids := make([]string, benchBatch)
		for i := range ids {
			// Interleave so a page is not one contiguous key range.
			ids[i] = fmt.Sprintf("c%07d", (start+i*97)%pool)
		}
		pages = append(pages, ids)
	}
	report := startTimer(b, benchBatch)
	for n := 0; n < b.N; n++ {
		got, err := s.GetRecords(ctx, "shop", "Customer", pages[n%len(pages)])
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != benchBatch {
			b.Fatalf("got %d records", len(got))
		}
	}
	report()
}

// BenchmarkPendingRecords pages through pending records 1000 at a time.
func BenchmarkPendingRecords(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	const pool = 100 * benchBatch
	seed(b, s, pool)
	report := startTimer(b, benchBatch)
	after := ""
	for n := 0; n < b.N; n++ {
		recs, err := s.PendingRecords(ctx, "shop", "Customer", after, benchBatch)
		if err != nil {
			b.Fatal(err)
		}
		after = ""
		if len(recs) == benchBatch {
			after = recs[len(recs)-1].ID
		}
	}
	report()
}

// BenchmarkGetGoldens reads 1000 golden records by id, as share and merge
// do per batch.
func BenchmarkGetGoldens(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	const pool = 20 * benchBatch
	var ids []string
	for start := 0; start < pool; start += benchBatch {
		var mb store.MergeBatch
		for i := start; i < start+benchBatch; i++ {
			g := benchGolden(i)
			mb.Goldens = append(mb.Goldens, g)
			ids = append(ids, g.ID)
		}
		if err := s.CommitMerge(ctx, mb); err != nil {
			b.Fatal(err)
		}
	}
	report := startTimer(b, benchBatch)
	for n := 0; n < b.N; n++ {
		start := (n * benchBatch) % pool
		if _, err := s.GetGoldens(ctx, ids[start:start+benchBatch]); err != nil {
			b.Fatal(err)
		}
	}
	report()
}

// BenchmarkRecordsForGoldens reads the records linked to 1000 golden
// records (two each), as share does per batch.
func BenchmarkRecordsForGoldens(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	const pool = 100 * benchBatch
	seed(b, s, pool)
	var ids []string
	for start := 0; start < pool; start += benchBatch {
		var mb store.MergeBatch
		for i := start; i < start+benchBatch; i++ {
			g := fmt.Sprintf("g%07d", i/2)
			mb.Links = append(mb.Links, store.Record{Key: store.Key{System: "shop", Datatype: "Customer", ID: fmt.Sprintf("c%07d", i)}, GoldenID: g, Hash: "h1"})
			if i%2 == 0 {
				ids = append(ids, g)
			}
		}
		if err := s.CommitMerge(ctx, mb); err != nil {
			b.Fatal(err)
		}
	}
	report := startTimer(b, 2*benchBatch)
	for n := 0; n < b.N; n++ {
		start := (n * benchBatch) % len(ids)
		got, err := s.RecordsForGoldens(ctx, ids[start:start+benchBatch])
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != benchBatch {
			b.Fatalf("got records of %d golden records", len(got))
		}
	}
	report()
}

// BenchmarkPutIntent is one insert announced: a commit per intent, as the
// interface has no batch form. records/s counts intents.
func BenchmarkPutIntent(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	report := startTimer(b, 1)
	for n := 0; n < b.N; n++ {
		in := store.Intent{ID: fmt.Sprintf("i%09d", n), GoldenID: fmt.Sprintf("g%09d", n), System: "erp", Datatype: "Account", CreatedAt: benchT0}
		if err := s.PutIntent(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	report()
}

// BenchmarkStatus counts 100,000 records; Status scans the records table,
// so its cost grows with the store.
func BenchmarkStatus(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	const pool = 100 * benchBatch
	seed(b, s, pool)
	report := startTimer(b, pool)
	for n := 0; n < b.N; n++ {
		st, err := s.Status(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(st) != 1 || st[0].Records != pool {
			b.Fatalf("status = %+v", st)
		}
	}
	report()
}

// BenchmarkPutIntents announces 1000 inserts in one commit, as share does
// per batch. records/s counts intents.
func BenchmarkPutIntents(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	report := startTimer(b, benchBatch)
	for n := 0; n < b.N; n++ {
		ins := make([]store.Intent, benchBatch)
		for i := range ins {
			ins[i] = store.Intent{ID: fmt.Sprintf("i%06d-%04d", n, i), GoldenID: fmt.Sprintf("g%06d-%04d", n, i), System: "erp", Datatype: "Account",
				CreatedAt: benchT0, Fingerprint: "0123456789abcdefghijklmn"}
		}
		if err := s.PutIntents(ctx, ins); err != nil {
			b.Fatal(err)
		}
	}
	report()
}
