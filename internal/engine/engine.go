// Package engine runs the sync cycle: collect changes from each system
// datatype, map them into canonical properties, merge them into golden
// records, and share the golden records back out. It owns the merge rules,
// insert intents, delete policies, the circuit breaker and dead letters. It
// holds no SQL (it talks to store.Store) and no wire protocol (it talks to
// connector.Connector).
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/store"
	"github.com/google/uuid"
)

// ErrCrash is what a crash hook returns to abort a cycle at a crash point,
// as if the process had died there.
var ErrCrash = errors.New("simulated crash")

// Crash points the simulation injects crashes at.
const (
	PointCollectPage      = "collect.after-page"    // a page is stored, the listing not finished
	PointCollectDone      = "collect.before-cursor" // all pages read, cursor not yet saved
	PointMergeBatch       = "merge.before-commit"   // a merge batch computed, not committed
	PointShareBeforeWrite = "share.before-write"    // intents stored, API calls not made
	PointShareAfterInsert = "share.after-insert"    // insert made, link not stored
	PointShareAfterUpdate = "share.after-update"    // update made, new version not stored
	PointShareMidBatch    = "share.mid-batch"       // some writes of a batch made
	PointShareAfterDelete = "share.after-delete"    // delete made, not stored
	PointShareCommit      = "share.before-commit"   // batch done, not committed
	// With a commit in flight (ADR 13): the next page or batch has been
	// read (and, for collect, compared and merged; for share, planned),
	// the commit before it has not landed. A crash here may drop it.
	PointCollectInFlight = "collect.in-flight" // next page read, the page before it not yet stored
	PointShareInFlight   = "share.in-flight"   // next batch planned, the batch before it not yet stored
)

// Options tune an Engine.
type Options struct {
	Logger *slog.Logger
	// Now is the engine's clock (history and status times).
	Now func() time.Time
	// NewID makes golden record and intent ids.
	NewID func() string
	// Crash, when set, is called at every crash point; a non-nil error
	// aborts the cycle with that error.
	Crash func(point string) error
	// OnEvent, when set, receives every history event as it is committed
	// (the demo prints them).
	OnEvent func(store.Event)
	// Async runs a commit that overlaps the reads of the next page or
	// batch (ADR 13) and returns a function that waits for it and returns
	// its error; the engine calls that function once. Nil runs the commit
	// on a goroutine. The simulation sets it to land such commits at points
	// of its choosing, or to drop them in a crash.
	Async func(commit func() error) (wait func() error)
}

// Engine syncs the systems of one configuration.
type Engine struct {
	cfg   *config.Config
	maps  *mapping.Set
	st    store.Store
	conns map[string]connector.Connector
	opt   Options
	log   *slog.Logger

	mu   sync.Mutex      // serialises cycles
	stop <-chan struct{} // closed when the running cycle must stop early
	// unread holds the datatypes whose listing did not complete in this
	// cycle: nothing is inserted into them, since what they hold is not
	// known (a record a user just created there would be duplicated).
	unread map[string]bool
	// seenUpdates are update intents whose record a listing in progress
	// has brought back; they are removed when the listing completes.
	seenUpdates []string
	// whole holds, per datatype, the collect generation reached by the
	// last listing this process completed that is known to be whole (see
	// collect): an insert intent made before it is settled. It starts empty
	// after a restart, which only makes intents wait for the next whole
	// listing.
	whole map[string]int64
	// down holds the systems found unavailable in the cycle in progress
	// (connector.IsUnavailable), with the error that said so: they are
	// not called again until the next cycle.
	down map[string]error
}

// stopping tells whether the cycle in progress was asked to stop.
func (e *Engine) stopping() bool {
	select {
	case <-e.stop:
		return true
	default:
		return false
	}
}

// BreakerAccepted is the breaker state an operator sets (`concord breaker
// reset`, through the store) to let the next listing's deletions through.
const BreakerAccepted = "accepted"

// New builds an engine. conns holds one open connector per system name.
func New(cfg *config.Config, st store.Store, conns map[string]connector.Connector, opt Options) (*Engine, error) {
	maps, err := mapping.Compile(cfg)
	if err != nil {
		return nil, err
	}
	for _, m := range maps.Mappings {
		if conns[m.System] == nil {
			return nil, fmt.Errorf("mapping %s: system %q has no open connector", m.Name(), m.System)
		}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.NewID == nil {
		opt.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if opt.Async == nil {
		opt.Async = goAsync
	}
	return &Engine{cfg: cfg, maps: maps, st: st, conns: conns, opt: opt, log: opt.Logger, whole: map[string]int64{}}, nil
}

// Mappings exposes the compiled mappings (for status and docs).
func (e *Engine) Mappings() *mapping.Set { return e.maps }

func (e *Engine) batchSize() int {
	if e.cfg.Engine.BatchSize > 0 {
		return e.cfg.Engine.BatchSize
	}
	return 1000
}

func (e *Engine) retryLimit() int {
	if e.cfg.Engine.RetryLimit > 0 {
		return e.cfg.Engine.RetryLimit
	}
	return 5
}

func (e *Engine) crash(point string) error {
	if e.opt.Crash == nil {
		return nil
	}
	if err := e.opt.Crash(point); err != nil {
		return &crashError{point: point, err: err}
	}
	return nil
}

// goAsync runs a commit on a goroutine: on the second core, while the
// engine reads on.
func goAsync(commit func() error) func() error {
	done := make(chan error, 1)
	go func() { done <- commit() }()
	return func() error { return <-done }
}

// crashError is what a crash hook's error becomes: it always aborts the cycle.
type crashError struct {
	point string
	err   error
}

func (e *crashError) Error() string { return "crash at " + e.point + ": " + e.err.Error() }
func (e *crashError) Unwrap() error { return e.err }

// Report counts what one cycle did.
type Report struct {
	Collected  int // new or changed record versions stored
	Unchanged  int // listed records whose content had not changed
	Merged     int // records merged into golden records
	Created    int // golden records created
	Deferred   int // records or writes waiting for a reference
	Inserted   int
	Updated    int
	Deleted    int
	Conflicts  int // writes skipped because the target moved
	Failed     int // failed writes or mappings (dead letters)
	Errors     []error
	BreakerHit []string
}

// Writes is the number of write calls made.
func (r Report) Writes() int { return r.Inserted + r.Updated + r.Deleted }

func (r *Report) add(o Report) {
	r.Collected += o.Collected
	r.Unchanged += o.Unchanged
	r.Merged += o.Merged
	r.Created += o.Created
	r.Deferred += o.Deferred
	r.Inserted += o.Inserted
	r.Updated += o.Updated
	r.Deleted += o.Deleted
	r.Conflicts += o.Conflicts
	r.Failed += o.Failed
	r.Errors = append(r.Errors, o.Errors...)
	r.BreakerHit = append(r.BreakerHit, o.BreakerHit...)
}

// Settle runs cycles until one reads no change and writes nothing, at most
// max of them and at least two (the echo of a cycle's writes is read by
// the next), and returns the sum of their reports. The demo and QA runs
// use it to let an edit reach every system before they look.
func (e *Engine) Settle(ctx context.Context, max int) (Report, error) {
	var total Report
	for i := 0; i < max; i++ {
		rep, err := e.SyncOnce(ctx)
		total.add(rep)
		if err != nil {
			return total, err
		}
		if i >= 1 && rep.Collected == 0 && rep.Writes() == 0 {
			break
		}
	}
	return total, nil
}

// Due chooses which mappings are collected in a cycle; nil means all.
type Due func(m *mapping.Mapping) bool

// SyncOnce runs one full cycle over every canonical type, referenced types
// first. A failing system datatype is reported and skipped; the others keep
// flowing. Only a crash (or a cancelled context) aborts the cycle.
func (e *Engine) SyncOnce(ctx context.Context) (Report, error) {
	return e.Cycle(ctx, nil, nil)
}

// Cycle runs one cycle, collecting only the mappings due says. When stop is
// closed the cycle finishes the write in flight, commits what it did and
// returns early; nothing is lost, the rest is done by the next cycle.
func (e *Engine) Cycle(ctx context.Context, due Due, stop <-chan struct{}) (Report, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stop = stop
	e.unread = map[string]bool{}
	e.down = map[string]error{}
	var rep Report
	done := map[string]bool{}
	for _, typ := range e.maps.Order {
		if e.stopping() {
			break
		}
		if done[typ] {
			continue
		}
		// A type's lines are collected and merged before the type is
		// shared, so that a new order is written together with the lines
		// that arrived with it (and inserts that carry their lines have
		// them).
		types := []string{typ}
		if lt := mapping.LinesType(typ); len(e.maps.ForType(lt)) > 0 {
			types = append(types, lt)
		}
		for _, t := range types {
			r, err := e.collectMerge(ctx, t, due)
			rep.add(r)
			if err != nil {
				return rep, err
			}
		}
		for _, t := range types {
			if e.stopping() {
				break
			}
			done[t] = true
			r, err := e.share(ctx, t)
			rep.add(r)
			if err != nil {
				if fatal(ctx, err) {
					return rep, err
				}
				rep.Errors = append(rep.Errors, fmt.Errorf("share %s: %w", t, err))
			}
		}
	}
	return rep, nil
}

// collectMerge collects and merges every mapping of a canonical type.
func (e *Engine) collectMerge(ctx context.Context, typ string, due Due) (Report, error) {
	var rep Report
	ms := e.maps.ForType(typ)
	for _, m := range ms {
		if due != nil && !due(m) {
			continue
		}
		if e.down[m.System] != nil {
			// Reported once, when it was found down. Not read, as after a
			// failed collect: no insert there until a complete read.
			e.unread[m.Name()] = true
			continue
		}
		r, err := e.collect(ctx, m)
		rep.add(r)
		if err != nil {
			if fatal(ctx, err) {
				return rep, err
			}
			if connector.IsUnavailable(err) {
				e.down[m.System] = err
				err = fmt.Errorf("%w; %s is not called again in this cycle", err, m.System)
			}
			rep.Errors = append(rep.Errors, fmt.Errorf("collect %s: %w", m.Name(), err))
			e.log.Warn("collect failed", "system", m.System, "datatype", m.Datatype, "err", err)
		}
	}
	var waiting []*mapping.Mapping
	for _, m := range ms {
		r, err := e.merge(ctx, m)
		rep.add(r)
		if err != nil {
			if fatal(ctx, err) {
				return rep, err
			}
			rep.Errors = append(rep.Errors, fmt.Errorf("merge %s: %w", m.Name(), err))
		}
		if r.Deferred > 0 {
			waiting = append(waiting, m)
		}
	}
	// Records that wait for a reference were matched against the golden
	// records that existed when their mapping's turn came; a second pass
	// links them to those created since by the other mappings, so that a
	// copy of them is not inserted into their own system meanwhile.
	for _, m := range waiting {
		r, err := e.merge(ctx, m)
		r.Deferred = 0 // counted in the first pass
		rep.add(r)
		if err != nil {
			if fatal(ctx, err) {
				return rep, err
			}
			rep.Errors = append(rep.Errors, fmt.Errorf("merge %s: %w", m.Name(), err))
		}
	}
	return rep, nil
}

// fatal tells whether an error must abort the cycle: a crash, a cancelled
// context, or a store failure (the store is the one thing we cannot work
// around).
func fatal(ctx context.Context, err error) bool {
	if errors.Is(err, ErrCrash) || ctx.Err() != nil {
		return true
	}
	var ce *crashError
	var se *storeError
	return errors.As(err, &ce) || errors.As(err, &se)
}

// storeError marks a store failure.
type storeError struct{ err error }

func (e *storeError) Error() string { return "store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func stErr(err error) error {
	if err == nil {
		return nil
	}
	return &storeError{err}
}
