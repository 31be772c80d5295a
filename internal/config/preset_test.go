package config

import (
	"errors"
	"strings"
	"testing"
)

const testPreset = `systems:
  shop:
    kind: memory
    title: The Shop
    schedule: 5m
    settings:
      page_size: 50
      auth: {type: bearer, header: Authorization}
mappings:
  - system: shop
    datatype: customers
    title: Customer
    canonical: customer
    merge: [[email]]
    properties:
      - {field: name, property: name}
      - {field: mail, property: email}
      - {field: town, property: city}
  - system: shop
    datatype: products
    canonical: product
    merge: [[code]]
    properties:
      - {field: sku, property: code}
`

func withPresets(t *testing.T, presets map[string]string) {
	t.Helper()
	src, names := presetSource, presetNames
	t.Cleanup(func() { presetSource, presetNames = src, names })
	presetSource = func(name string) ([]byte, string, bool) {
		s, ok := presets[name]
		return []byte(s), "preset/" + name + ".yaml", ok
	}
	presetNames = func() []string {
		var out []string
		for n := range presets {
			out = append(out, n)
		}
		return sorted(out)
	}
}

func TestPresetOverlay(t *testing.T) {
	withPresets(t, map[string]string{"shop": testPreset})
	cfg, err := Parse("user.yaml", []byte(`systems:
  webshop:
    preset: shop
    settings:
      base_url: http://127.0.0.1:1
      auth: {token: abc}
mappings:
  - system: webshop
    datatype: customers
    merge: [[email], [name]]
    properties:
      - {field: mail, property: email, in: "lower(value)"}
      - {field: country, property: country}
`))
	if err != nil {
		t.Fatal(err)
	}
	sys := cfg.Systems["webshop"]
	if sys.Kind != "memory" || sys.Title != "The Shop" || sys.Schedule.String() != "5m0s" {
		t.Errorf("system = %+v", sys)
	}
	auth, _ := sys.Settings["auth"].(map[string]any)
	if sys.Settings["page_size"] != 50 || sys.Settings["base_url"] != "http://127.0.0.1:1" || auth["token"] != "abc" || auth["type"] != "bearer" {
		t.Errorf("settings not merged: %#v", sys.Settings)
	}
	if len(cfg.Mappings) != 2 {
		t.Fatalf("mappings = %d, want the user's customers and the preset's products", len(cfg.Mappings))
	}
	c := cfg.Mappings[0]
	if c.System != "webshop" || c.Canonical != "customer" || c.Title != "Customer" || len(c.Merge) != 2 {
		t.Errorf("customers = %+v", c)
	}
	var fields []string
	for _, r := range c.Properties {
		fields = append(fields, r.Field+":"+r.In)
	}
	if got, want := strings.Join(fields, ","), "name:,mail:lower(value),town:,country:"; got != want {
		t.Errorf("rows = %s, want %s", got, want)
	}
	if p := cfg.Mappings[1]; p.System != "webshop" || p.Datatype != "products" {
		t.Errorf("products = %+v", p)
	}
}

func TestPresetErrors(t *testing.T) {
	bad := strings.Replace(strings.ReplaceAll(testPreset, "shop", "broken"), "property: code", "property: cdoe", 1)
	withPresets(t, map[string]string{"shop": testPreset, "broken": bad})
	_, err := Parse("user.yaml", []byte(`systems:
  a: {preset: shpo}
  b: {preset: broken}
  c: {preset: shop}
mappings:
  - system: c
    datatype: customers
    properties:
      - {field: mail, property: emial}
`))
	if err == nil {
		t.Fatal("no error")
	}
	got := err.Error()
	for _, want := range []string{
		`user.yaml:2:15: systems.a.preset: unknown preset "shpo"`,
		`did you mean "shop"`,
		`preset/broken.yaml:24:32: mappings[2].properties[0].property:`,
		`has no property "cdoe"`,
		`user.yaml:9:33: mappings[0].properties[1].property: canonical type "customer" has no property "emial"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "systems.a.kind") || strings.Count(got, "\n") != 2 {
		t.Errorf("want exactly the three errors:\n%s", got)
	}
}

// The embedded presets themselves, overridden as a user would.
func TestEmbeddedPresetsOverlay(t *testing.T) {
	cfg, err := Load("testdata/presets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var shop, orders *Mapping
	for i := range cfg.Mappings {
		m := &cfg.Mappings[i]
		switch m.System + ":" + m.Datatype {
		case "customwebshop:customers":
			shop = m
		case "exactonline:SalesOrders":
			orders = m
		}
	}
	if shop == nil || orders == nil {
		t.Fatalf("the presets' mappings are missing: %d mappings", len(cfg.Mappings))
	}
	if len(shop.Merge) != 1 || shop.Merge[0][0] != "email" || shop.Canonical != "customer" {
		t.Errorf("customers: merge %v, canonical %q", shop.Merge, shop.Canonical)
	}
	if orders.When != "golden.status == 'completed'" || orders.Lines == nil {
		t.Errorf("SalesOrders: when %q, lines %v", orders.When, orders.Lines)
	}
}

// A user's mapping of a preset's system whose datatype the preset does not
// map, with no canonical type: a misspelt datatype, said as such rather
// than as missing required keys; and one of a misspelt system is reported
// as that alone.
func TestPresetOverlayOfAnUnknownDatatype(t *testing.T) {
	withPresets(t, map[string]string{"shop": testPreset})
	_, err := Parse("user.yaml", []byte(`systems:
  c: {preset: shop}
mappings:
  - system: c
    datatype: customer
    merge: [[email]]
  - system: c
    datatype: orders
    canonical: order
    properties:
      - {field: number, property: number}
  - system: cc
    datatype: customers
    merge: [[email]]
`))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 2 {
		t.Fatalf("want two errors, got %v", err)
	}
	if e := errs[1]; e.Path != "mappings[2].system" || !strings.Contains(e.Message, `unknown system "cc"`) {
		t.Errorf("a misspelt system: got %v", e)
	}
	e := errs[0]
	if e.Line != 5 || e.Path != "mappings[0].datatype" || !strings.Contains(e.Message, `maps no datatype "customer"`) || !strings.Contains(e.Message, `did you mean "customers"?`) {
		t.Errorf("got %v", e)
	}
}
