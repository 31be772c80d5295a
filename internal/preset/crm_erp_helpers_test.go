package preset_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/rest"
	webcrmconn "github.com/concordsync/concord/internal/connector/webcrm"
	"github.com/concordsync/concord/internal/engine"
	erpsb "github.com/concordsync/concord/internal/sandbox/erp"
	crmsb "github.com/concordsync/concord/internal/sandbox/webcrm"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/memstore"
)

// crmERP is Concord running the flow "WebCRM → Custom ERP" as a user
// configures it: two systems that name the built-in presets and give only
// where the systems are and their credentials. The WebCRM sandbox and the
// reference ERP are served in-process over HTTP, and everything (the
// sandboxes, the connectors, the engine) runs on one manual clock.
type crmERP struct {
	t     testing.TB
	clock *crmsb.ManualClock
	crm   *crmsb.Server
	erp   *erpsb.Server
	cfg   *config.Config
	st    store.Store
	eng   *engine.Engine
}

// crmERPStart is when the clock of every such test starts: 2024-03-05
// 09:00 UTC.
var crmERPStart = time.Date(2024, 3, 5, 9, 0, 0, 0, time.UTC)

var crmERPLog = slog.New(slog.DiscardHandler)

const crmERPKey = "erp_flow_key"

// newCRMERP starts the two systems and Concord. extra is YAML appended to
// the user's configuration (mappings laid over the presets'); erpSettings
// are laid over the ERP's settings.
func newCRMERP(t testing.TB, extra string, erpSettings map[string]any) *crmERP {
	t.Helper()
	clock := crmsb.NewManualClock(crmERPStart)
	crm := crmsb.New(crmsb.Options{Now: clock.Now, Logger: crmERPLog})
	crmTS := httptest.NewServer(crm.Handler())
	t.Cleanup(func() { crmTS.Close(); crm.Close() })
	erp, err := erpsb.New(erpsb.Options{Now: clock.Now, APIKey: crmERPKey, Seed: 3, Logger: crmERPLog})
	if err != nil {
		t.Fatal(err)
	}
	erpTS := httptest.NewServer(erp.Handler())
	t.Cleanup(func() { erpTS.Close(); erp.Close() })

	user := map[string]any{
		"systems": map[string]any{
			"webcrm": map[string]any{"preset": "webcrm", "settings": map[string]any{
				"base_url": crmTS.URL, "api_token": crm.APIToken(), "rate_limit": 0, "page_size": 50}},
			// Keyed erp, not customerp: the preset's mappings follow the
			// user's name for the system.
			"erp": map[string]any{"preset": "customerp", "settings": map[string]any{
				"base_url": erpTS.URL + "/erp", "auth": map[string]any{"api_key": crmERPKey}, "rate_limit": 0}},
		},
	}
	maps.Copy(user["systems"].(map[string]any)["erp"].(map[string]any)["settings"].(map[string]any), erpSettings)
	data, err := yaml.Marshal(user)
	if err != nil {
		t.Fatal(err)
	}
	if extra != "" {
		data = append(data, []byte(extra)...)
	}
	cfg, err := config.Parse("concord.yaml", data)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	st := memstore.New()
	ctx := connector.WithState(context.Background(), st)
	sleep := func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		clock.Advance(d)
		return nil
	}
	crmConn, err := webcrmconn.Open(ctx, "webcrm", cfg.Systems["webcrm"].Settings, webcrmconn.Options{Now: clock.Now, Sleep: sleep, Logger: crmERPLog})
	if err != nil {
		t.Fatalf("open webcrm: %v", err)
	}
	erpConn, err := rest.Open(ctx, "erp", cfg.Systems["erp"].Settings, rest.Options{Now: clock.Now, Sleep: sleep, Logger: crmERPLog})
	if err != nil {
		t.Fatalf("open erp: %v", err)
	}
	eng, err := engine.New(cfg, st, map[string]connector.Connector{"webcrm": crmConn, "erp": erpConn}, engine.Options{Now: clock.Now, Logger: crmERPLog})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	return &crmERP{t: t, clock: clock, crm: crm, erp: erp, cfg: cfg, st: st, eng: eng}
}

// cycle runs one sync cycle a little later than the last.
func (w *crmERP) cycle() engine.Report {
	w.t.Helper()
	w.clock.Advance(2 * time.Second)
	rep, err := w.eng.SyncOnce(context.Background())
	if err != nil {
		w.t.Fatalf("sync: %v", err)
	}
	return rep
}

// settle syncs until a cycle neither collects nor writes anything, and
// fails on errors, dead letters or a sync that never comes to rest.
func (w *crmERP) settle() {
	w.t.Helper()
	var reps []string
	for range 10 {
		rep := w.cycle()
		reps = append(reps, fmt.Sprintf("%+v", rep))
		if len(rep.Errors) > 0 || rep.Failed > 0 {
			w.deadLetters()
			w.t.Fatalf("sync failed: %+v", rep)
		}
		if rep.Writes() == 0 && rep.Collected == 0 && rep.Deferred == 0 {
			return
		}
	}
	w.deadLetters()
	w.t.Fatalf("no quiescence after 10 cycles:\n%s", strings.Join(reps, "\n"))
}

func (w *crmERP) deadLetters() {
	w.t.Helper()
	seen := map[string]bool{}
	for _, m := range w.cfg.Mappings {
		for _, dt := range []string{m.Datatype, crmERPLines(m)} {
			if dt == "" || seen[m.System+":"+dt] {
				continue
			}
			seen[m.System+":"+dt] = true
			dls, _ := w.st.DeadLetters(context.Background(), m.System, dt)
			for _, d := range dls {
				w.t.Logf("dead letter %s:%s %s (%s): %s", d.System, d.Datatype, d.Ref, d.Stage, d.Reason)
			}
		}
	}
}

func crmERPLines(m config.Mapping) string {
	if m.Lines == nil {
		return ""
	}
	if m.Lines.Datatype != "" {
		return m.Lines.Datatype
	}
	return m.Datatype + "/" + m.Lines.Field
}

// crmPut creates a WebCRM record as a user of its web interface does, a
// second after whatever happened before.
func (w *crmERP) crmPut(entity string, rec crmsb.Record) int {
	w.t.Helper()
	w.clock.Advance(time.Second)
	id, err := w.crm.Put(entity, rec)
	if err != nil {
		w.t.Fatalf("WebCRM put %s %v: %v", entity, rec, err)
	}
	return id
}

func (w *crmERP) crmEdit(entity string, id any, changes crmsb.Record) {
	w.t.Helper()
	w.clock.Advance(time.Second)
	if err := w.crm.Edit(entity, crmID(w.t, id), changes); err != nil {
		w.t.Fatalf("WebCRM edit %s %v: %v", entity, id, err)
	}
}

func crmID(t testing.TB, id any) int {
	switch x := id.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	t.Fatalf("%v (%T) is not a WebCRM id", id, id)
	return 0
}

// crmOne returns the one WebCRM record of an entity whose field holds
// value.
func (w *crmERP) crmOne(entity, field string, value any) crmsb.Record {
	w.t.Helper()
	var found []crmsb.Record
	for _, r := range w.crm.Records(entity) {
		if fmt.Sprint(r[field]) == fmt.Sprint(value) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		w.t.Fatalf("WebCRM %s with %s = %v: %d, want 1: %v", entity, field, value, len(found), w.crm.Records(entity))
	}
	return found[0]
}

// erpPut creates an ERP record as its own users do.
func (w *crmERP) erpPut(collection string, rec erpsb.Record) erpsb.Record {
	w.t.Helper()
	w.clock.Advance(time.Second)
	out, err := w.erp.Put(collection, rec)
	if err != nil {
		w.t.Fatalf("ERP put %s %v: %v", collection, rec, err)
	}
	return out
}

func (w *crmERP) erpEdit(collection string, id any, changes erpsb.Record) {
	w.t.Helper()
	w.clock.Advance(time.Second)
	if _, err := w.erp.Edit(collection, fmt.Sprint(id), changes); err != nil {
		w.t.Fatalf("ERP edit %s %v: %v", collection, id, err)
	}
}

// erpOne returns the one ERP record of a collection whose field holds
// value.
func (w *crmERP) erpOne(collection, field string, value any) erpsb.Record {
	w.t.Helper()
	var found []erpsb.Record
	for _, r := range w.erp.Records(collection) {
		if fmt.Sprint(r[field]) == fmt.Sprint(value) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		w.t.Fatalf("ERP %s with %s = %v: %d, want 1: %v", collection, field, value, len(found), w.erp.Records(collection))
	}
	return found[0]
}

// counts checks how many records each side holds.
func (w *crmERP) counts(crm map[string]int, erp map[string]int) {
	w.t.Helper()
	for e, n := range crm {
		if got := len(w.crm.Records(e)); got != n {
			w.t.Errorf("WebCRM has %d %s, want %d: %v", got, e, n, w.crm.Records(e))
		}
	}
	for c, n := range erp {
		if got := len(w.erp.Records(c)); got != n {
			w.t.Errorf("ERP has %d %s, want %d: %v", got, c, n, w.erp.Records(c))
		}
	}
}

// fields compares a record's fields with the wanted values (compared as
// printed, so that 10 and 10.0 agree), naming each that differs.
func wantFields(t testing.TB, what string, rec map[string]any, want map[string]any) {
	t.Helper()
	var bad []string
	for k, v := range want {
		if fmt.Sprint(rec[k]) != fmt.Sprint(v) {
			bad = append(bad, fmt.Sprintf("%s = %#v, want %#v", k, rec[k], v))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%s: %s\n(record: %v)", what, strings.Join(bad, "; "), rec)
	}
}
