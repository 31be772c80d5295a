// Package benchmark measures the engine on the workload the project's
// performance targets are stated for: an initial sync of N customers between
// two in-process memory systems where half exist on both sides and must be
// matched, then rounds of 1% changes and a round without changes. It is used
// by `go test -bench` and by the bench/ command; it asserts nothing about
// time.
package benchmark

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/memstore"
	"github.com/concordsync/concord/internal/store/sqlite"
)

const configYAML = `
systems:
  shop: {kind: memory}
  erp: {kind: memory}
mappings:
  - system: shop
    datatype: customers
    canonical: customer
    merge: [[code]]
    properties:
      - {field: code, property: code}
      - {field: name, property: name}
      - {field: email, property: email}
      - {field: city, property: city}
  - system: erp
    datatype: Accounts
    canonical: customer
    merge: [[code]]
    properties:
      - {field: Code, property: code}
      - {field: Name, property: name}
      - {field: Email, property: email}
      - {field: City, property: city}
`

// Setup is a seeded workload ready to sync.
type Setup struct {
	N      int
	Shop   *Synthetic
	ERP    *Synthetic
	Store  store.Store
	Engine *engine.Engine
	timed  *timedStore
	rng    *rand.Rand
	dir    string
}

// Which customers each side holds: of every four consecutive customer
// numbers, 4b and 4b+2 are on both sides, 4b+1 only in the shop and 4b+3
// only in the ERP, so half of all customers must be matched.
var (
	shopSlots = [3]int{0, 1, 2}
	erpSlots  = [3]int{0, 2, 3}
)

// customerOf is the customer number of a side's generated record k.
func customerOf(slots [3]int, k int) int { return 4*(k/3) + slots[k%3] }

// countBelow is how many of a side's customers have a number below n.
func countBelow(slots [3]int, n int) int {
	c := 0
	for c < n && customerOf(slots, c) < n {
		c++
	}
	return c
}

// New seeds two systems with N customers: N/2 on both sides, N/4 only in
// the shop, N/4 only in the ERP. storeKind is "sqlite" (in dir) or "memory".
// The systems are Synthetic: their initial records are computed, not held,
// so peak RSS is Concord's own.
func New(ctx context.Context, n int, storeKind, dir string) (*Setup, error) {
	cfg, err := config.Parse("bench.yaml", []byte(configYAML))
	if err != nil {
		return nil, err
	}
	cfg.Engine.BatchSize = 1000
	s := &Setup{N: n, rng: rand.New(rand.NewPCG(1, 2)), dir: dir}
	s.Shop = NewSynthetic("customers", "S", []string{"code", "name", "email", "city"}, countBelow(shopSlots, n), genCustomer(shopSlots))
	s.ERP = NewSynthetic("Accounts", "E", []string{"Code", "Name", "Email", "City"}, countBelow(erpSlots, n), genCustomer(erpSlots))
	switch storeKind {
	case "memory":
		s.Store = memstore.New()
	default:
		st, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"))
		if err != nil {
			return nil, err
		}
		s.Store = st
	}
	s.timed = &timedStore{Store: s.Store}
	s.Engine, err = engine.New(cfg, s.timed, map[string]connector.Connector{"shop": s.Shop, "erp": s.ERP}, engine.Options{})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// genCustomer fills the fields of a side's generated record k: the same
// code, name, e-mail and city on both sides for the same customer.
func genCustomer(slots [3]int) func(k int, vals []string) {
	return func(k int, vals []string) {
		i := customerOf(slots, k)
		vals[0] = fmt.Sprintf("C%07d", i)
		vals[1] = "Customer " + strconv.Itoa(i)
		vals[2] = "c" + strconv.Itoa(i) + "@example.com"
		vals[3] = "Amsterdam"
	}
}

// Close releases the store.
func (s *Setup) Close() error { return s.Store.Close() }

// Change edits fraction of the records on a random side each.
func (s *Setup) Change(fraction float64) int {
	k := int(float64(s.N) * fraction)
	for i := 0; i < k; i++ {
		city := fmt.Sprintf("City %d", s.rng.Int())
		if s.rng.IntN(2) == 0 {
			_ = s.Shop.Edit(s.Shop.id(s.rng.IntN(s.Shop.Len())), connector.Fields{"city": city})
		} else {
			_ = s.ERP.Edit(s.ERP.id(s.rng.IntN(s.ERP.Len())), connector.Fields{"City": city})
		}
	}
	return k
}

// Result is one measured phase.
type Result struct {
	Phase         string
	N             int
	Records       int // records the phase had to bring in agreement
	Seconds       float64
	RecordsPerSec float64
	// CPUSeconds is the process's CPU time in the phase, on both cores.
	CPUSeconds   float64
	AllocsPerRec float64
	Writes       int
	// Store is the time spent inside the store, and StoreBound the records/s
	// the phase would reach if everything but the store took no time.
	Store      StoreTime
	StoreBound float64
	Report     engine.Report
}

// Measure runs one sync cycle and measures it.
func (s *Setup) Measure(ctx context.Context, phase string, records int) (Result, error) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w0 := s.Shop.Writes() + s.ERP.Writes()
	s.timed.take()
	cpu0 := CPUTime()
	start := time.Now()
	rep, err := s.Engine.SyncOnce(ctx)
	el := time.Since(start).Seconds()
	cpu := (CPUTime() - cpu0).Seconds()
	runtime.ReadMemStats(&after)
	if err != nil {
		return Result{}, err
	}
	if len(rep.Errors) > 0 {
		return Result{}, fmt.Errorf("%s: %v", phase, rep.Errors[0])
	}
	r := Result{Phase: phase, N: s.N, Records: records, Seconds: el, CPUSeconds: cpu, Report: rep,
		Writes: s.Shop.Writes() + s.ERP.Writes() - w0, Store: s.timed.take()}
	if records > 0 {
		r.RecordsPerSec = float64(records) / el
		if st := (r.Store.Reads + r.Store.Writes).Seconds(); st > 0 {
			r.StoreBound = float64(records) / st
		}
		r.AllocsPerRec = float64(after.Mallocs-before.Mallocs) / float64(records)
	}
	return r, nil
}

// PeakRSS returns the process's peak resident set size in bytes (Linux),
// or 0 where it cannot be read.
func PeakRSS() int64 { return procStatus("VmHWM") }

// RSS returns the process's current resident set size in bytes.
func RSS() int64 { return procStatus("VmRSS") }

func procStatus(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(line, key+": %d kB", &kb); err == nil {
			return kb * 1024
		}
	}
	return 0
}
