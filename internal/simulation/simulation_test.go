package simulation

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/store"
)

func at(ms int) time.Time { return Epoch.Add(time.Duration(ms) * time.Millisecond) }

// seenEdit is an edit of value val made at ms, read by the engine between
// lo and hi.
func seenEdit(val string, ms, lo, hi int) *propEdit {
	return &propEdit{edit: edit{a: &action{at: at(ms)}, val: val, seen: true, lo: at(lo), hi: at(hi)}}
}

func unseenEdit(val string, ms int) *propEdit {
	return &propEdit{edit: edit{a: &action{at: at(ms)}, val: val, overridden: true}}
}

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits []*propEdit
		want  []string
	}{
		{"no edits: empty", nil, []string{""}},
		{"the most recent wins", []*propEdit{seenEdit("x", 1, 1, 1), seenEdit("y", 2, 2, 2)}, []string{"y"}},
		{"an empty edit never wins", []*propEdit{seenEdit("x", 1, 1, 1), seenEdit("", 5, 5, 5)}, []string{"x"}},
		{"only empty edits: empty", []*propEdit{seenEdit("", 1, 1, 1)}, []string{""}},
		// x made at 1 but first read in a version written at 4 (another
		// field of the record edited then): the engine may date it at 4.
		{"record-level dating", []*propEdit{seenEdit("x", 1, 4, 4), seenEdit("y", 2, 2, 2)}, []string{"x", "y"}},
		{"read too late to matter", []*propEdit{seenEdit("x", 1, 1, 1), seenEdit("y", 2, 3, 3), seenEdit("z", 5, 5, 5)}, []string{"z"}},
		{"never read, changed again: invisible", []*propEdit{unseenEdit("x", 1)}, []string{"x", ""}},
		{"an invisible edit does not block the others", []*propEdit{seenEdit("x", 1, 1, 1), unseenEdit("y", 2)}, []string{"x", "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, _ := allowed(tc.edits)
			if len(ok) != len(tc.want) {
				t.Fatalf("allowed %v, want %v", ok, tc.want)
			}
			for _, v := range tc.want {
				if !ok[v] {
					t.Fatalf("allowed %v, want %v", ok, tc.want)
				}
			}
		})
	}
}

// syncFunc adapts a function to Syncer.
type syncFunc func(ctx context.Context) error

func (f syncFunc) SyncOnce(ctx context.Context) error { return f(ctx) }

func runSeed(t *testing.T, seed int64, opt Options, f Factory) *Failure {
	t.Helper()
	err := Run(context.Background(), seed, opt, f)
	var fail *Failure
	if err != nil && !errors.As(err, &fail) {
		t.Fatalf("Run: %v", err)
	}
	return fail
}

// An engine that does nothing leaves every entity in the one system a user
// made it in: the oracle must say so.
func TestNullEngineIsCaught(t *testing.T) {
	idle := func(*config.Config, store.Store, map[string]connector.Connector, Env) (Syncer, error) {
		return syncFunc(func(context.Context) error { return nil }), nil
	}
	fail := runSeed(t, 1, Options{}, idle)
	if fail == nil || !fail.Has(tagMissing) {
		t.Fatalf("want %s violations, got %v", tagMissing, fail)
	}
	if !strings.HasPrefix(fail.Error(), "seed 1: ") {
		t.Fatalf("the error must start with the seed: %q", fail.Error())
	}
}

// An engine that writes in every cycle never quiesces.
func TestPingPongIsCaught(t *testing.T) {
	busy := func(_ *config.Config, _ store.Store, conns map[string]connector.Connector, _ Env) (Syncer, error) {
		return syncFunc(func(ctx context.Context) error {
			_, err := conns["a"].Insert(ctx, "notes", connector.Fields{"n": 1})
			if connector.IsTemporary(err) {
				return nil
			}
			return err
		}), nil
	}
	fail := runSeed(t, 1, Options{}, busy)
	if fail == nil || !fail.Has(tagQuiesce) {
		t.Fatalf("want a %s violation, got %v", tagQuiesce, fail)
	}
}

// A crash aborts the cycle; the run builds a new engine and goes on.
func TestCrashRestarts(t *testing.T) {
	built := 0
	crashy := func(_ *config.Config, _ store.Store, _ map[string]connector.Connector, env Env) (Syncer, error) {
		built++
		return syncFunc(func(context.Context) error {
			for range 50 {
				if err := env.Crash("somewhere"); err != nil {
					return err
				}
			}
			return nil
		}), nil
	}
	runSeed(t, 1, Options{CrashRate: 0.5, MaxCrashes: 3}, crashy)
	if built < 2 {
		t.Fatalf("the engine was built %d times; want restarts after crashes", built)
	}
}

// An error that is not a crash is reported.
func TestEngineErrorIsCaught(t *testing.T) {
	failing := func(*config.Config, store.Store, map[string]connector.Connector, Env) (Syncer, error) {
		return syncFunc(func(context.Context) error { return errors.New("boom") }), nil
	}
	fail := runSeed(t, 1, Options{Rounds: 1}, failing)
	if fail == nil || !fail.Has(tagEngine) {
		t.Fatalf("want %s violations, got %v", tagEngine, fail)
	}
}

// The configuration compiles, and c's code transform round-trips exactly.
func TestConfigCodeTransformRoundTrips(t *testing.T) {
	set, err := mapping.Compile(Config(10))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := set.Lookup("c", "clients")
	if !ok {
		t.Fatal("no mapping for c:clients")
	}
	in, err := m.In(map[string]any{"number": "C-K001", "company": "Acme"}, nil, Epoch)
	if err != nil {
		t.Fatal(err)
	}
	if in.Props["code"] != "K001" {
		t.Fatalf("code mapped in as %v, want K001", in.Props["code"])
	}
	out, _, err := m.Out(in.Props, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out["number"] != "C-K001" {
		t.Fatalf("code mapped out as %v, want C-K001", out["number"])
	}
	dt := datatypeIn(customer, "c")
	if got := dt.key(out); got != "K001" {
		t.Fatalf("the oracle reads the key as %q, want K001", got)
	}
}

func TestClockTicks(t *testing.T) {
	c := NewClock(Epoch)
	a, b := c.Now(), c.Now()
	if b.Sub(a) != time.Millisecond || !a.After(Epoch) {
		t.Fatalf("clock read %v then %v", a, b)
	}
}
