package preset_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	exactconn "github.com/concordsync/concord/internal/connector/exactonline"
	"github.com/concordsync/concord/internal/connector/rest"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/preset"
	"github.com/concordsync/concord/internal/sandbox/custom"
	exactsb "github.com/concordsync/concord/internal/sandbox/exactonline"
	"github.com/concordsync/concord/internal/sandbox/webshop"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/memstore"
	"github.com/concordsync/concord/internal/store/sqlite"
)

// presetYAML is a preset's embedded text.
func presetYAML(t testing.TB, name string) []byte {
	t.Helper()
	data, _, ok := preset.Source(name)
	if !ok {
		t.Fatalf("no preset %q among %v", name, preset.Names())
	}
	return data
}

var quiet = slog.New(slog.DiscardHandler)

const shopToken = "ws_flow_token"

// clock is the one clock of a flow test: both sandboxes', the connectors'
// and the engine's. Waiting (pacing, backoff) moves it instead of sleeping.
type clock struct{ *custom.ManualClock }

func (c clock) Sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		c.Advance(d)
	}
	return ctx.Err()
}

// flow is Concord running the built-in definitions of the Custom Webshop and
// Exact Online against both sandboxes over HTTP, on a memory store.
type flow struct {
	t     testing.TB
	clock clock
	shop  *webshop.Server
	exact *exactsb.Server
	cfg   *config.Config
	st    store.Store
	eng   *engine.Engine
}

// newFlow starts both sandboxes and configures the two presets for them, as
// a user would: the preset's settings with the address and credentials
// added. edit, when set, changes the joined document first. The store is in
// memory, or SQLite in a temporary folder when sqliteStore is set.
func newFlow(t testing.TB, edit func(doc map[string]any), sqliteStore ...bool) *flow {
	t.Helper()
	c := clock{custom.NewManualClock(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))}
	f := &flow{t: t, clock: c, st: memstore.New()}
	if len(sqliteStore) > 0 && sqliteStore[0] {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "concord.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f.st = st
	}

	var err error
	f.shop, err = webshop.New(webshop.Options{Now: c.Now, Token: shopToken, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	shopTS := httptest.NewServer(f.shop.Handler())
	f.shop.SetBaseURL(shopTS.URL)
	t.Cleanup(func() { shopTS.Close(); f.shop.Close() })

	f.exact, err = exactsb.New(exactsb.Options{Now: c.Now, Seed: 42, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	exactTS := httptest.NewServer(f.exact.Handler())
	f.exact.SetBaseURL(exactTS.URL)
	t.Cleanup(func() { exactTS.Close(); f.exact.Close() })
	creds := f.exact.IssueCredentials()

	// The user's configuration: the two presets under names of the user's
	// choosing, with the address and the credentials.
	f.cfg = userConfig(t, map[string]any{
		"shop": map[string]any{"preset": "customwebshop", "settings": map[string]any{
			"base_url": shopTS.URL + "/api/v1", "auth": map[string]any{"token": shopToken}}},
		"exact": map[string]any{"preset": "exactonline", "settings": map[string]any{
			"base_url": exactTS.URL, "division": creds.Division, "client_id": creds.ClientID,
			"client_secret": creds.ClientSecret, "refresh_token": creds.RefreshToken}},
	}, edit)

	hc := &http.Client{Timeout: 30 * time.Second}
	shopConn, err := rest.Open(context.Background(), "shop", f.cfg.Systems["shop"].Settings,
		rest.Options{HTTPClient: hc, Now: c.Now, Sleep: c.Sleep, Logger: quiet})
	if err != nil {
		t.Fatalf("open the webshop: %v", err)
	}
	exactConn, err := exactconn.New(context.Background(), "exact", f.cfg.Systems["exact"].Settings,
		exactconn.Options{HTTPClient: hc, Now: c.Now, Sleep: c.Sleep, Logger: quiet})
	if err != nil {
		t.Fatalf("open Exact: %v", err)
	}
	f.eng, err = engine.New(f.cfg, f.st, map[string]connector.Connector{"shop": shopConn, "exact": exactConn},
		engine.Options{Now: c.Now, Logger: quiet})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	return f
}

// userConfig parses a configuration of the given systems (and mappings
// edit adds) as `concord run` would, presets expanded.
func userConfig(t testing.TB, systems map[string]any, edit func(doc map[string]any)) *config.Config {
	t.Helper()
	doc := map[string]any{"systems": systems}
	if edit != nil {
		edit(doc)
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("concord.yaml", data)
	if err != nil {
		t.Fatalf("the configuration: %v\n%s", err, data)
	}
	return cfg
}

// cycle runs one sync cycle a minute after the last, as `concord run` would.
func (f *flow) cycle() engine.Report {
	f.t.Helper()
	f.clock.Advance(time.Minute)
	rep, err := f.eng.SyncOnce(context.Background())
	if err != nil {
		f.t.Fatalf("sync: %v", err)
	}
	return rep
}

// settle syncs until a cycle neither collects nor writes anything and
// nothing waits or fails.
func (f *flow) settle() {
	f.t.Helper()
	var reps []string
	for range 12 {
		rep := f.cycle()
		reps = append(reps, fmt.Sprintf("%+v", rep))
		if rep.Writes() == 0 && rep.Collected == 0 && len(rep.Errors) == 0 && rep.Failed == 0 && rep.Deferred == 0 {
			return
		}
	}
	f.deadLetters()
	f.t.Fatalf("no quiescence after 12 cycles:\n%s", strings.Join(reps, "\n"))
}

func (f *flow) deadLetters() {
	for _, m := range f.cfg.Mappings {
		for _, dt := range []string{m.Datatype, linesDatatype(m)} {
			if dt == "" {
				continue
			}
			dls, _ := f.st.DeadLetters(context.Background(), m.System, dt)
			for _, d := range dls {
				f.t.Logf("dead letter %s:%s %s (%s): %s", d.System, d.Datatype, d.Ref, d.Stage, d.Reason)
			}
		}
	}
}

func linesDatatype(m config.Mapping) string {
	if m.Lines == nil {
		return ""
	}
	return m.Lines.Datatype
}

// put creates a record in the shop as its staff would.
func (f *flow) shopPut(collection string, rec map[string]any) map[string]any {
	f.t.Helper()
	out, err := f.shop.Put(collection, rec)
	if err != nil {
		f.t.Fatalf("webshop put %s %v: %v", collection, rec, err)
	}
	return out
}

func (f *flow) shopEdit(collection string, id any, changes map[string]any) {
	f.t.Helper()
	if _, err := f.shop.Edit(collection, id.(int64), changes); err != nil {
		f.t.Fatalf("webshop edit %s %v: %v", collection, id, err)
	}
}

// exactPut creates or changes a record in Exact as its user would.
func (f *flow) exactPut(entity string, fields map[string]any) map[string]any {
	f.t.Helper()
	out, err := f.exact.Put(entity, fields)
	if err != nil {
		f.t.Fatalf("Exact put %s %v: %v", entity, fields, err)
	}
	return out
}

// one returns the one record of recs whose field has the value, failing
// when there is not exactly one (a duplicate is as wrong as a missing one).
func one(t testing.TB, recs []map[string]any, what, field string, value any) map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range recs {
		if r[field] == value {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%s: %d records with %s = %v, want 1: %v", what, len(out), field, value, recs)
	}
	return out[0]
}

// want fails unless each collection holds n records: "shop:customers",
// "exact:Accounts".
// exactPrices are the SalesItemPrices records of an Exact item.
func (f *flow) exactPrices(item any) []map[string]any {
	var out []map[string]any
	for _, p := range f.exact.Records("SalesItemPrices") {
		if p["Item"] == item {
			out = append(out, p)
		}
	}
	return out
}

func (f *flow) want(counts map[string]int) {
	f.t.Helper()
	for k, n := range counts {
		sys, coll, _ := strings.Cut(k, ":")
		var got int
		if sys == "shop" {
			got = len(f.shop.Records(coll))
		} else {
			got = len(f.exact.Records(coll))
		}
		if got != n {
			f.deadLetters()
			f.t.Errorf("%s holds %d records, want %d", k, got, n)
		}
	}
	if f.t.Failed() {
		f.t.FailNow()
	}
}
