package simulation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/memstore"
	"github.com/concordsync/concord/internal/store/sqlite"
)

// Syncer is the engine as the simulation drives it.
type Syncer interface {
	SyncOnce(ctx context.Context) error
}

// Env is what a run gives the engine it builds, besides the configuration,
// the store and the connectors.
type Env struct {
	// Crash must be called at every crash point; a non-nil error must abort
	// the cycle as if the process died there. The simulation also uses the
	// call to act while the sync is under way.
	Crash func(point string) error
	// Now is the run's logical clock, shared with the systems.
	Now func() time.Time
	// NewID makes ids that are unique across the restarts of one run and
	// the same for the same seed.
	NewID func() string
	// Async must run every commit the engine overlaps with its next reads:
	// it holds the commit and lands it at a point of the run's choosing
	// (see inflight.go); wait lands it if it has not landed yet.
	Async func(commit func() error) (wait func() error)
}

// Factory builds an engine on the given store and connectors. A run calls
// it again after every crash: a restart on the same store and systems.
type Factory func(cfg *config.Config, st store.Store, conns map[string]connector.Connector, env Env) (Syncer, error)

// Store kinds.
const (
	StoreMem    = "memstore"
	StoreSQLite = "sqlite"
)

// Options shape a run. The zero value gives the defaults noted; a negative
// rate switches that chaos off.
type Options struct {
	// Rounds of chaos; 0 picks 6 to 10 from the seed.
	Rounds int
	// Entities is how many entities users create at most (two thirds
	// customers, the rest contacts); default 15.
	Entities int
	// FaultRate is the per-call rate of each connector fault (temporary
	// error, lost response, empty page; timeouts at half of it) during the
	// rounds' syncs; default 0.04.
	FaultRate float64
	// CrashRate is the chance that a crash point crashes while the round's
	// crash budget (0 to MaxCrashes, drawn per round) lasts; default 0.03.
	CrashRate float64
	// MaxCrashes per round; default 3.
	MaxCrashes int
	// ActRate is the chance that users act at a crash point during a
	// round's sync; default 0.04.
	ActRate float64
	// Store is StoreMem (default) or StoreSQLite.
	Store string
	// Dir holds the SQLite database; default a temporary directory removed
	// at the end.
	Dir string
	// Logf, when set, receives a trace of the run: every user action,
	// crash and restart, and every call the engine makes to the systems.
	Logf func(format string, args ...any)
}

func (o Options) withDefaults() Options {
	if o.Entities <= 0 {
		o.Entities = 15
	}
	def := func(v *float64, d float64) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	def(&o.FaultRate, 0.04)
	def(&o.CrashRate, 0.03)
	def(&o.ActRate, 0.04)
	if o.MaxCrashes == 0 {
		o.MaxCrashes = 3
	}
	if o.MaxCrashes < 0 {
		o.MaxCrashes = 0
	}
	if o.Store == "" {
		o.Store = StoreMem
	}
	return o
}

// quiesceCycles is how many cycles the engine gets to settle.
const quiesceCycles = 10

// errCrash is what the crash hook returns to abort a cycle.
var errCrash = errors.New("simulated crash")

// run is the state of one seed's run.
type run struct {
	seed  int64
	opt   Options
	rng   *rand.Rand
	clock *Clock
	sys   map[string]*memory.System
	tape  *tape
	users *users
	cfg   *config.Config
	conns map[string]connector.Connector

	// down is the system in an outage and downRounds the chaos rounds it
	// has left (ADR 19).
	down       string
	downRounds int

	dir   string
	st    store.Store
	ids   int
	found []string

	mu          sync.Mutex // the crash hook may be called from several goroutines
	chaos       bool
	crashesLeft int
	crashed     bool
	round       int

	// flights are the commits held in flight (see inflight.go); flightRNG
	// makes every choice about them, so that the rest of a seed's run
	// draws what it drew before commits were overlapped.
	flights   []*flight
	flightRNG *rand.Rand
}

// Run plays one seed: rounds of user actions and syncs under faults and
// crashes, then quiescence, then the oracle. It returns nil, or an error
// naming the seed and every violation found. An error building the world
// or the engine is returned as such.
func Run(ctx context.Context, seed int64, opt Options, newEngine Factory) (err error) {
	opt = opt.withDefaults()
	r := &run{seed: seed, opt: opt, clock: NewClock(Epoch), tape: newTape(seed), sys: map[string]*memory.System{}, conns: map[string]connector.Connector{}}
	r.rng = rand.New(rand.NewPCG(uint64(seed), 0x73696d756c617465))
	r.flightRNG = rand.New(rand.NewPCG(uint64(seed), 0x696e666c69676874))
	if opt.Rounds <= 0 {
		opt.Rounds = 6 + r.rng.IntN(5)
		r.opt.Rounds = opt.Rounds
	}
	pageSizes := []int{2, 3, 5, 100}
	for i, name := range systemNames {
		s := memory.New(name, memory.Options{
			Clock:    r.clock.Now,
			PageSize: pageSizes[r.rng.IntN(len(pageSizes))],
			IDPrefix: name,
			Seed:     seed*int64(len(systemNames)) + int64(i),
		})
		for _, dt := range schema {
			if dt.system == name {
				props := make([]connector.Property, 0, len(dt.fields))
				for _, f := range dt.fields {
					props = append(props, connector.Property{Name: f.name, Type: "string"})
				}
				s.Declare(dt.name, props...)
			}
		}
		r.sys[name] = s
		r.conns[name] = &tap{sys: s, tape: r.tape, logf: opt.Logf}
	}
	batches := []int{1, 2, 3, 7, 1000}
	r.cfg = Config(batches[r.rng.IntN(len(batches))])
	customers := (opt.Entities*2 + 2) / 3
	r.users = newUsers(r.rng, r.clock, r.sys, r.tape, customers, opt.Entities-customers, opt.Logf)

	if err := r.openStore(ctx); err != nil {
		return fmt.Errorf("seed %d: %w", seed, err)
	}
	defer func() {
		if cerr := r.closeStore(); cerr != nil && err == nil {
			err = fmt.Errorf("seed %d: %w", seed, cerr)
		}
		if r.dir != "" && opt.Dir == "" {
			os.RemoveAll(r.dir)
		}
	}()
	eng, err := r.start(newEngine)
	if err != nil {
		return err
	}

	for r.round = 1; r.round <= opt.Rounds; r.round++ {
		r.users.where = fmt.Sprintf("round %d", r.round)
		for n := 2 + r.rng.IntN(6); n > 0; n-- {
			r.users.act()
		}
		r.mu.Lock()
		r.chaos, r.crashesLeft = true, r.rng.IntN(opt.MaxCrashes+1)
		r.mu.Unlock()
		r.setFaults(true)
		if eng, err = r.syncUntilDone(ctx, eng, newEngine); err != nil {
			return err
		}
		r.setFaults(false)
		r.mu.Lock()
		r.chaos = false
		r.mu.Unlock()
	}

	r.users.where = "quiescence"
	if err := r.quiesce(ctx, eng, newEngine); err != nil {
		return err
	}
	r.found = append(r.found, check(r.users, r.tape)...)
	if len(r.found) == 0 {
		return nil
	}
	return &Failure{Seed: seed, Violations: r.found}
}

// Failure is the error Run returns when the promise is broken. Each
// violation opens with a tag naming the promise and the kind, e.g.
// "[P1 duplicate]", "[P2 unequal]", "[P3 winner]", "[quiescence]" (the
// engine kept writing after the users stopped) or "[engine]" (SyncOnce
// failed where only a crash may abort a cycle), and ends with the user
// actions on the entity concerned.
type Failure struct {
	Seed       int64
	Violations []string
}

// maxShown bounds the violations an error message spells out.
const maxShown = 12

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d violation(s) of the promise", f.Seed, len(f.Violations))
	for i, v := range f.Violations {
		if i == maxShown {
			fmt.Fprintf(&b, "\n… and %d more", len(f.Violations)-maxShown)
			break
		}
		fmt.Fprintf(&b, "\n%d. %s", i+1, v)
	}
	return b.String()
}

// Has tells whether some violation carries the tag prefix (e.g. "[P3").
func (f *Failure) Has(prefix string) bool {
	for _, v := range f.Violations {
		if strings.HasPrefix(v, prefix) {
			return true
		}
	}
	return false
}

func (r *run) logf(format string, args ...any) {
	if r.opt.Logf != nil {
		r.opt.Logf(format, args...)
	}
}

func (r *run) openStore(ctx context.Context) error {
	switch r.opt.Store {
	case StoreMem:
		if r.st == nil {
			r.st = memstore.New()
		}
		return nil
	case StoreSQLite:
		if r.dir == "" {
			r.dir = r.opt.Dir
			if r.dir == "" {
				d, err := os.MkdirTemp("", "concord-sim-*")
				if err != nil {
					return err
				}
				r.dir = d
			}
		}
		st, err := sqlite.Open(ctx, fmt.Sprintf("%s/seed-%d.db", r.dir, r.seed))
		if err != nil {
			return fmt.Errorf("open sqlite store: %w", err)
		}
		r.st = st
		return nil
	}
	return fmt.Errorf("unknown store kind %q (want %s or %s)", r.opt.Store, StoreMem, StoreSQLite)
}

func (r *run) closeStore() error {
	if r.st == nil {
		return nil
	}
	err := r.st.Close()
	r.st = nil
	return err
}

// start builds an engine.
func (r *run) start(newEngine Factory) (Syncer, error) {
	eng, err := newEngine(r.cfg, landingStore{r.st, r}, r.conns, Env{Crash: r.crash, Now: r.clock.Now, NewID: r.newID, Async: r.async})
	if err != nil {
		return nil, fmt.Errorf("seed %d: build engine: %w", r.seed, err)
	}
	return eng, nil
}

// restart throws the engine away and builds a new one on the same store
// (reopened, when it is a database) and the same systems.
func (r *run) restart(ctx context.Context, newEngine Factory) (Syncer, error) {
	if r.opt.Store != StoreMem {
		if err := r.closeStore(); err != nil {
			return nil, fmt.Errorf("seed %d: close store: %w", r.seed, err)
		}
		if err := r.openStore(ctx); err != nil {
			return nil, fmt.Errorf("seed %d: %w", r.seed, err)
		}
	}
	r.mu.Lock()
	r.flights = nil // a crash settled them all
	r.mu.Unlock()
	r.logf("restart")
	return r.start(newEngine)
}

func (r *run) newID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids++
	return fmt.Sprintf("g%05d", r.ids)
}

// crash is the engine's crash hook: during a round's sync it sometimes
// crashes, and sometimes lets users act while the engine is mid-way.
//
// With a commit in flight the crash takes it along or lets it land first
// (see inflight.go). The points that exist only while a commit is in
// flight draw from flightRNG and let no user act, so that adding them
// left the rest of a seed's run as it was.
func (r *run) crash(point string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.chaos {
		if len(r.flights) > 0 {
			r.maybeLandLocked()
		}
		return nil
	}
	rng, rate := r.rng, r.opt.CrashRate
	if strings.HasSuffix(point, inFlightSuffix) {
		rng, rate = r.flightRNG, min(1, inFlightCrashes*rate)
	}
	if r.crashesLeft > 0 && rng.Float64() < rate {
		r.crashesLeft--
		r.crashed = true
		r.logf("crash at %s", point)
		r.tape.crashed()
		if len(r.flights) > 0 {
			r.crashFlightsLocked(point)
		}
		return fmt.Errorf("%w at %s", errCrash, point)
	}
	if len(r.flights) > 0 {
		r.maybeLandLocked()
	}
	if rng == r.flightRNG {
		return nil
	}
	if r.rng.Float64() < r.opt.ActRate {
		r.users.where = fmt.Sprintf("round %d, during the sync at %s", r.round, point)
		r.users.during = true
		for n := 1 + r.rng.IntN(2); n > 0; n-- {
			r.users.act()
		}
		r.users.during = false
	}
	return nil
}

// setFaults switches the connector faults on or off. Empty pages come from
// the tap (see tap.List), the rest from the memory systems.
func (r *run) setFaults(on bool) {
	var f memory.Faults
	empty := 0.0
	if on {
		f = memory.Faults{
			ErrorRate:        r.opt.FaultRate,
			TimeoutRate:      r.opt.FaultRate / 2,
			LostResponseRate: r.opt.FaultRate,
		}
		empty = r.opt.FaultRate
	}
	r.tape.setEmptyRate(empty)
	// Now and then a system is down for whole rounds, longer than the
	// retry limit: the engine must neither park what waits for it nor stop
	// the others, and must catch up once it is back (ADR 19).
	down := ""
	if on && r.opt.FaultRate > 0 {
		if r.downRounds == 0 && r.rng.IntN(outageOdds) == 0 {
			r.down, r.downRounds = systemNames[r.rng.IntN(len(systemNames))], 2+r.rng.IntN(6)
			r.logf("round %d: system %s is down for %d rounds", r.round, r.down, r.downRounds)
		}
		if r.downRounds > 0 {
			down = r.down
			r.downRounds--
		}
	}
	for _, name := range systemNames {
		g := f
		g.Down = name == down
		r.sys[name].SetFaults(g)
	}
}

// outageOdds: an outage starts in one chaos round in outageOdds.
const outageOdds = 8

// maxAttempts bounds the restarts of one round's sync.
const maxAttempts = 20

// syncUntilDone runs one round's sync, restarting after each crash until
// a cycle completes.
func (r *run) syncUntilDone(ctx context.Context, eng Syncer, newEngine Factory) (Syncer, error) {
	for attempt := 1; ; attempt++ {
		r.mu.Lock()
		r.crashed = false
		r.mu.Unlock()
		err := eng.SyncOnce(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.mu.Lock()
		crashed := r.crashed
		r.mu.Unlock()
		switch {
		case err == nil:
			r.tape.completed()
			r.logf("round %d: sync done", r.round)
			return eng, nil
		case !crashed:
			r.found = append(r.found, fmt.Sprintf("%s round %d: SyncOnce failed without a crash (only a crash may abort a cycle): %v", tagEngine, r.round, err))
		case !errors.Is(err, errCrash):
			r.found = append(r.found, fmt.Sprintf("%s round %d: after a crash SyncOnce returned an error that does not wrap it: %v", tagEngine, r.round, err))
		}
		if attempt == maxAttempts {
			r.found = append(r.found, fmt.Sprintf("%s round %d: no cycle completed in %d attempts", tagEngine, r.round, maxAttempts))
			return eng, nil
		}
		var serr error
		if eng, serr = r.restart(ctx, newEngine); serr != nil {
			return nil, serr
		}
	}
}

// quiesce runs cycles without faults, crashes or users until one writes
// nothing and reads nothing new.
func (r *run) quiesce(ctx context.Context, eng Syncer, newEngine Factory) error {
	var last []string
	for i := 1; i <= quiesceCycles; i++ {
		w0, c0 := r.tape.counts()
		r.tape.startCycleLog()
		err := eng.SyncOnce(ctx)
		last = r.tape.takeCycleLog()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			r.found = append(r.found, fmt.Sprintf("%s quiescence cycle %d: SyncOnce failed with no faults and no crash: %v", tagEngine, i, err))
			var serr error
			if eng, serr = r.restart(ctx, newEngine); serr != nil {
				return serr
			}
			continue
		}
		r.tape.completed()
		w1, c1 := r.tape.counts()
		r.logf("quiescence cycle %d: %d writes, %d new versions read", i, w1-w0, c1-c0)
		if w1 == w0 && c1 == c0 {
			return nil
		}
	}
	msg := fmt.Sprintf("%s the engine still wrote or read new versions after %d cycles without user actions (ping-pong?); writes of the last cycle:", tagQuiesce, quiesceCycles)
	for i, w := range last {
		if i == 20 {
			msg += fmt.Sprintf("\n    … and %d more", len(last)-20)
			break
		}
		msg += "\n    " + w
	}
	r.found = append(r.found, msg)
	return nil
}
