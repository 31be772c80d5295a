package simulation

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"github.com/concordsync/concord/internal/store"
)

// Commits in flight. The engine overlaps a commit with the reads of the
// next page or batch (ADR 13) through Env.Async. The simulation does not
// run such a commit on a goroutine: it holds it and lands it, on the
// engine's goroutine, before a store read or at a crash point, at random,
// or when the engine waits for it. A crash decides whether a commit still
// held had landed just before the process died or is lost with it: a real
// commit is one SQLite transaction, so it lands whole or not at all. Every
// order in which the commit can land between the next batch's store reads
// is so within reach of a seed, and it stays reproducible.

// landRate is the chance that a held commit lands before a store read or
// at a crash point that does not crash.
const landRate = 0.3

// flight is one commit the engine runs in the background.
type flight struct {
	commit  func() error
	landed  bool
	dropped bool
	err     error
}

// async is the run's Env.Async.
func (r *run) async(commit func() error) func() error {
	f := &flight{commit: commit}
	r.mu.Lock()
	r.flights = append(r.flights, f)
	r.mu.Unlock()
	return func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if f.dropped {
			return fmt.Errorf("%w: the commit in flight was lost", errCrash)
		}
		r.landLocked(f)
		return f.err
	}
}

// landLocked lands a held commit (r.mu held).
func (r *run) landLocked(f *flight) {
	if f.landed || f.dropped {
		return
	}
	f.landed = true
	f.err = f.commit()
	r.flights = removeFlight(r.flights, f)
}

func removeFlight(fs []*flight, f *flight) []*flight {
	out := fs[:0]
	for _, g := range fs {
		if g != f {
			out = append(out, g)
		}
	}
	return out
}

// maybeLandLocked lands each held commit with chance landRate (r.mu held).
func (r *run) maybeLandLocked() {
	for _, f := range append([]*flight(nil), r.flights...) {
		if r.flightRNG.Float64() < landRate {
			if r.opt.Logf != nil {
				r.logf("a commit in flight lands")
			}
			r.landLocked(f)
		}
	}
}

// crashFlightsLocked settles the commits held when the process dies: each
// landed just before, or is lost (r.mu held).
func (r *run) crashFlightsLocked(point string) {
	lost := int64(0)
	defer func() { countFlightCrash(point, lost) }()
	for _, f := range r.flights {
		if r.flightRNG.IntN(2) == 0 {
			r.logf("the commit in flight landed before the crash")
			f.landed = true
			f.err = f.commit()
		} else {
			r.logf("the commit in flight is lost in the crash")
			f.dropped = true
			lost++
		}
	}
	r.flights = nil
}

// landingStore is the store the engine is given: before every read it may
// land a commit in flight. Writes go straight through: the engine waits
// for the commit in flight before it writes.
type landingStore struct {
	store.Store
	r *run
}

func (s landingStore) land() {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if len(s.r.flights) > 0 {
		s.r.maybeLandLocked()
	}
}

func (s landingStore) GetRecords(ctx context.Context, system, datatype string, ids []string) (map[string]store.Record, error) {
	s.land()
	return s.Store.GetRecords(ctx, system, datatype, ids)
}

func (s landingStore) PendingRecords(ctx context.Context, system, datatype, afterID string, limit int) ([]store.Record, error) {
	s.land()
	return s.Store.PendingRecords(ctx, system, datatype, afterID, limit)
}

func (s landingStore) RecordsForGoldens(ctx context.Context, goldenIDs []string) (map[string][]store.Record, error) {
	s.land()
	return s.Store.RecordsForGoldens(ctx, goldenIDs)
}

func (s landingStore) LinkedIDs(ctx context.Context, system, datatype string, goldenIDs []string) (map[string][]string, error) {
	s.land()
	return s.Store.LinkedIDs(ctx, system, datatype, goldenIDs)
}

func (s landingStore) UnseenRecords(ctx context.Context, system, datatype string, scanGen int64, afterID string, limit int) ([]store.Record, error) {
	s.land()
	return s.Store.UnseenRecords(ctx, system, datatype, scanGen, afterID, limit)
}

func (s landingStore) GetGoldens(ctx context.Context, ids []string) (map[string]store.Golden, error) {
	s.land()
	return s.Store.GetGoldens(ctx, ids)
}

func (s landingStore) FindByKeys(ctx context.Context, typ, name string, values []string) (map[string][]string, error) {
	s.land()
	return s.Store.FindByKeys(ctx, typ, name, values)
}

func (s landingStore) DirtyGoldens(ctx context.Context, typ, afterID string, limit int) ([]store.Golden, error) {
	s.land()
	return s.Store.DirtyGoldens(ctx, typ, afterID, limit)
}

func (s landingStore) Intents(ctx context.Context, goldenIDs []string) (map[string][]store.Intent, error) {
	s.land()
	return s.Store.Intents(ctx, goldenIDs)
}

func (s landingStore) OpenIntents(ctx context.Context, system, datatype string) ([]store.Intent, error) {
	s.land()
	return s.Store.OpenIntents(ctx, system, datatype)
}

func (s landingStore) GetCursor(ctx context.Context, system, datatype string) (store.Cursor, error) {
	s.land()
	return s.Store.GetCursor(ctx, system, datatype)
}

func (s landingStore) GetDeadLetters(ctx context.Context, system, datatype, stage string, refs []string) (map[string]store.DeadLetter, error) {
	s.land()
	return s.Store.GetDeadLetters(ctx, system, datatype, stage, refs)
}

func (s landingStore) Status(ctx context.Context) ([]store.DatatypeStatus, error) {
	s.land()
	return s.Store.Status(ctx)
}

// inFlightCrashes is how many times more often than elsewhere the points
// that exist only with a commit in flight crash: they are the rarer state.
const inFlightCrashes = 5

// inFlightSuffix ends the names of the crash points that the engine passes
// only while a commit is in flight (engine.PointCollectInFlight, ...).
const inFlightSuffix = ".in-flight"

// FlightCount counts, at one crash point, the crashes that came with a
// commit in flight and the commits they lost.
type FlightCount struct{ Crashes, Lost int64 }

// flightCounts holds, over every run of the process, a FlightCount per
// crash point.
var (
	flightMu     sync.Mutex
	flightCounts = map[string]FlightCount{}
)

func countFlightCrash(point string, lost int64) {
	flightMu.Lock()
	defer flightMu.Unlock()
	c := flightCounts[point]
	c.Crashes++
	c.Lost += lost
	flightCounts[point] = c
}

// FlightCrashes tells, per crash point, how many crashes of the runs so
// far came with a commit in flight and how many commits they lost, so
// that a test can tell that its seeds reach that state.
func FlightCrashes() map[string]FlightCount {
	flightMu.Lock()
	defer flightMu.Unlock()
	return maps.Clone(flightCounts)
}

func (s landingStore) DeadLetters(ctx context.Context, system, datatype string) ([]store.DeadLetter, error) {
	s.land()
	return s.Store.DeadLetters(ctx, system, datatype)
}
