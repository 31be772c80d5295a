package webcrm_test

import (
	"context"
	"os"
	"testing"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	_ "github.com/concordsync/concord/internal/connector/memory"
	"github.com/concordsync/concord/internal/connector/webcrm"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/store/memstore"
)

// The example configuration stays valid: it parses, its systems open, the
// engine compiles its mappings, and every WebCRM field it names is one the
// connector describes.
func TestExampleConfig(t *testing.T) {
	t.Setenv("WEBCRM_API_TOKEN", "00000000-0000-4000-8000-000000000000")
	data, err := os.ReadFile("testdata/concord.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseWith("testdata/concord.example.yaml", data, config.Options{Kinds: connector.Kinds()})
	if err != nil {
		t.Fatal(err)
	}
	conns := map[string]connector.Connector{}
	for name, sys := range cfg.Systems {
		c, err := connector.Open(context.Background(), sys.Kind, name, sys.Settings)
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		conns[name] = c
	}
	if _, err := engine.New(cfg, memstore.New(), conns, engine.Options{}); err != nil {
		t.Fatal(err)
	}
	infos, _ := conns["webcrm"].(*webcrm.Conn).Describe(context.Background())
	known := map[string]map[string]bool{}
	for _, info := range infos {
		known[info.Name] = map[string]bool{}
		for _, p := range info.Properties {
			known[info.Name][p.Name] = true
		}
	}
	for _, m := range cfg.Mappings {
		if m.System != "webcrm" {
			continue
		}
		for _, p := range m.Properties {
			if !known[m.Datatype][p.Field] {
				t.Errorf("mapping %s: WebCRM's %s have no field %s", m.Datatype, m.Datatype, p.Field)
			}
		}
		if m.Lines != nil {
			for _, p := range m.Lines.Properties {
				if !known[m.Lines.Datatype][p.Field] {
					t.Errorf("lines of %s: WebCRM's %s have no field %s", m.Datatype, m.Lines.Datatype, p.Field)
				}
			}
		}
	}
}
