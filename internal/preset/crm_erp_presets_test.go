package preset_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector/rest"
	webcrmconn "github.com/concordsync/concord/internal/connector/webcrm"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/preset"
)

// Every built-in preset is a complete configuration of its one system on
// its own: the embedded bytes parse as a file `concord run` reads, the one
// system is keyed by the preset's name and titled, and every property row
// says its data type.
func TestEveryPresetParsesAlone(t *testing.T) {
	names := preset.Names()
	for _, want := range []string{"webcrm", "customerp"} {
		if !slices.Contains(names, want) {
			t.Errorf("preset %s is not built in (presets: %v)", want, names)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, file, ok := preset.Source(name)
			if !ok {
				t.Fatalf("no source for %s", name)
			}
			cfg, err := config.Parse(file, data)
			if err != nil {
				t.Fatal(err)
			}
			sys, ok := cfg.Systems[name]
			if len(cfg.Systems) != 1 || !ok || sys.Title == "" || sys.Kind == "" {
				t.Fatalf("systems %v: want the one system %s, with kind and title", cfg.Systems, name)
			}
			if len(cfg.Mappings) == 0 {
				t.Fatal("no mappings")
			}
			for _, m := range cfg.Mappings {
				if m.System != name {
					t.Errorf("mapping of %s:%s: system is not %s", m.System, m.Datatype, name)
				}
				rows := slices.Clone(m.Properties)
				if m.Lines != nil {
					rows = append(rows, m.Lines.Properties...)
				}
				for _, r := range rows {
					if r.Type == "" {
						t.Errorf("%s:%s field %s has no type", m.System, m.Datatype, r.Field)
					}
				}
			}
		})
	}
}

// The WebCRM and ERP presets, named by a user's systems with only their
// addresses and credentials: the configuration compiles, the connectors
// open with the merged settings, every WebCRM field the mappings name is
// one the connector describes, and the flow's datatypes are all there with
// the titles the dataflow document uses.
func TestWebCRMAndERPPresetsOpen(t *testing.T) {
	cfg, err := config.Parse("concord.yaml", []byte(`
systems:
  crm:
    preset: webcrm
    settings: {api_token: 00000000-0000-4000-8000-000000000000}
  erp:
    preset: customerp
    settings:
      base_url: http://127.0.0.1:8084/erp
      auth: {api_key: erp_key}
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Systems["crm"].Title != "WebCRM" || cfg.Systems["erp"].Title != "Custom ERP" {
		t.Errorf("titles: %q, %q", cfg.Systems["crm"].Title, cfg.Systems["erp"].Title)
	}
	set, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"crm:Organisations": "customer", "crm:Persons": "contact", "crm:Users": "contact",
		"crm:Products": "product", "crm:Opportunities": "order", "crm:QuotationLines": "order.lines",
		"erp:customers": "customer", "erp:contacts": "contact", "erp:products": "product", "erp:orders": "order",
	}
	titles := map[string]string{"erp:customers": "Customer", "erp:contacts": "Contact", "erp:products": "Product", "erp:orders": "Order"}
	for name, typ := range want {
		sys, dt, _ := strings.Cut(name, ":")
		m, ok := set.Lookup(sys, dt)
		if !ok {
			t.Errorf("%s is not mapped", name)
			continue
		}
		if m.Canonical != typ {
			t.Errorf("%s maps to %s, want %s", name, m.Canonical, typ)
		}
		if title, ok := titles[name]; ok && m.Title != title {
			t.Errorf("%s is titled %q, want %q", name, m.Title, title)
		}
	}

	ctx := context.Background()
	crm, err := webcrmconn.Open(ctx, "crm", cfg.Systems["crm"].Settings, webcrmconn.Options{Logger: crmERPLog})
	if err != nil {
		t.Fatalf("open crm: %v", err)
	}
	if _, err := rest.Open(ctx, "erp", cfg.Systems["erp"].Settings, rest.Options{Logger: crmERPLog}); err != nil {
		t.Fatalf("open erp: %v", err)
	}
	infos, err := crm.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]map[string]bool{}
	for _, info := range infos {
		known[info.Name] = map[string]bool{}
		for _, p := range info.Properties {
			known[info.Name][p.Name] = true
		}
	}
	for _, m := range cfg.Mappings {
		if m.System != "crm" {
			continue
		}
		for _, p := range m.Properties {
			if !known[m.Datatype][p.Field] {
				t.Errorf("WebCRM's %s have no field %s", m.Datatype, p.Field)
			}
		}
		if m.Lines != nil {
			for _, p := range m.Lines.Properties {
				if !known[m.Lines.Datatype][p.Field] {
					t.Errorf("WebCRM's %s have no field %s", m.Lines.Datatype, p.Field)
				}
			}
		}
	}
}
