// Package runner assembles a configured Concord instance: it opens the store
// and one connector per system, builds the engine, and runs cycles once or on
// each datatype's schedule until it is stopped. It owns process lifetime and
// scheduling; it does not merge, map or speak any system's protocol.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/sqlite"

	// Connector kinds register themselves; everything that opens systems
	// through the runner (the CLI, the demo, tests) knows every kind.
	_ "github.com/concordsync/concord/internal/connector/exactonline"
	_ "github.com/concordsync/concord/internal/connector/memory"
	_ "github.com/concordsync/concord/internal/connector/rest"
	_ "github.com/concordsync/concord/internal/connector/sql"
	_ "github.com/concordsync/concord/internal/connector/webcrm"
)

// DefaultSchedule is the collect interval of datatypes that set none.
const DefaultSchedule = time.Minute

// Runner is an open Concord instance.
type Runner struct {
	Config *config.Config
	Store  store.Store
	Engine *engine.Engine
	conns  map[string]connector.Connector
	log    *slog.Logger

	mu     sync.Mutex
	urgent map[string]bool // mappings a notification made due now
	wake   chan struct{}
}

// OpenStore opens the configured store.
func OpenStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	switch cfg.Store.Driver {
	case "", "sqlite":
		path := cfg.Store.Path
		if path == "" {
			path = filepath.Join(filepath.Dir(cfg.File), "concord-data", "concord.db")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("store folder: %w", err)
		}
		return sqlite.Open(ctx, path)
	}
	return nil, fmt.Errorf("store driver %q is not supported", cfg.Store.Driver)
}

// Open opens the store and every system's connector and builds the engine.
func Open(ctx context.Context, cfg *config.Config, opt engine.Options) (*Runner, error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	conns := map[string]connector.Connector{}
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
		st.Close()
	}
	// Connectors find the folder of the configuration (for relative paths)
	// and the store (for their own state, such as OAuth tokens) in the
	// context they are opened with.
	octx := connector.WithState(connector.WithBaseDir(ctx, filepath.Dir(cfg.File)), st)
	for _, name := range sortedSystems(cfg) {
		sys := cfg.Systems[name]
		c, err := connector.Open(octx, sys.Kind, name, sys.Settings)
		if err != nil {
			closeAll()
			// Connectors name the system in their errors; say it once.
			if strings.HasPrefix(err.Error(), fmt.Sprintf("system %q", name)) {
				return nil, err
			}
			return nil, fmt.Errorf("system %q: %w", name, err)
		}
		conns[name] = c
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	eng, err := engine.New(cfg, st, conns, opt)
	if err != nil {
		closeAll()
		return nil, err
	}
	return &Runner{Config: cfg, Store: st, Engine: eng, conns: conns, log: opt.Logger,
		urgent: map[string]bool{}, wake: make(chan struct{}, 1)}, nil
}

// Close closes the connectors and the store.
func (r *Runner) Close() error {
	var errs []error
	for _, c := range r.conns {
		errs = append(errs, c.Close())
	}
	errs = append(errs, r.Store.Close())
	return errors.Join(errs...)
}

// Changed makes a system datatype due for an incremental read at once (a
// webhook said it changed). Unknown datatypes are ignored.
func (r *Runner) Changed(system, datatype string) {
	m, ok := r.Engine.Mappings().Lookup(system, datatype)
	if !ok {
		r.log.Debug("notification for a datatype that is not mapped", "system", system, "datatype", datatype)
		return
	}
	r.mu.Lock()
	r.urgent[m.Name()] = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Handler serves the webhooks of the systems whose connectors take them,
// at /webhooks/<system>, and a liveness check at /healthz.
func (r *Runner) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n")) //nolint:errcheck
	})
	for name, c := range r.conns {
		if n, ok := c.(connector.Notifier); ok {
			system := name
			mux.Handle("/webhooks/"+system, n.WebhookHandler(func(datatype string) { r.Changed(system, datatype) }))
		}
	}
	return mux
}

// Run syncs every datatype on its schedule until ctx is cancelled. A cycle
// in flight when ctx is cancelled finishes its current write and stops: the
// engine checks the context between writes, never in the middle of one.
func (r *Runner) Run(ctx context.Context) error {
	last := map[string]time.Time{}
	tick := r.tick()
	for {
		now := time.Now()
		r.mu.Lock()
		urgent := r.urgent
		r.urgent = map[string]bool{}
		r.mu.Unlock()
		due := func(m *mapping.Mapping) bool {
			every := m.Schedule
			if every <= 0 {
				every = DefaultSchedule
			}
			return urgent[m.Name()] || now.Sub(last[m.Name()]) >= every
		}
		var ran []string
		for _, m := range r.Engine.Mappings().Mappings {
			if due(m) {
				ran = append(ran, m.Name())
			}
		}
		if len(ran) > 0 {
			// The cycle runs without ctx's cancellation so that a signal lets
			// the write in flight finish; ctx.Done() stops it between writes.
			rep, err := r.Engine.Cycle(context.WithoutCancel(ctx), due, ctx.Done())
			if err != nil {
				return err
			}
			for _, n := range ran {
				last[n] = now
			}
			r.log.Info("cycle done", "datatypes", len(ran), "collected", rep.Collected, "inserted", rep.Inserted,
				"updated", rep.Updated, "deleted", rep.Deleted, "conflicts", rep.Conflicts, "failed", rep.Failed, "errors", len(rep.Errors))
			for _, e := range rep.Errors {
				r.log.Warn("cycle error", "err", e)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-time.After(tick):
		}
	}
}

// tick is how often Run looks for due datatypes: the shortest schedule, at
// most a second.
func (r *Runner) tick() time.Duration {
	t := time.Second
	for _, m := range r.Engine.Mappings().Mappings {
		if m.Schedule > 0 && m.Schedule < t {
			t = m.Schedule
		}
	}
	return t
}

func sortedSystems(cfg *config.Config) []string {
	return slices.Sorted(maps.Keys(cfg.Systems))
}

// Connector returns the open connector of a system, or nil.
func (r *Runner) Connector(system string) connector.Connector { return r.conns[system] }
