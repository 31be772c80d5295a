package config

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// parseErrors parses a file and returns its errors, failing the test when
// Parse succeeds or returns something other than Errors.
func parseErrors(t *testing.T, file string, data []byte) Errors {
	t.Helper()
	cfg, err := Parse(file, data)
	if err == nil {
		t.Fatalf("Parse(%s) succeeded, want errors; got %+v", file, cfg)
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse(%s) error is %T, want Errors: %v", file, err, err)
	}
	if cfg != nil {
		t.Errorf("Parse(%s) returned a config along with errors", file)
	}
	return errs
}

func loadErrors(t *testing.T, file string) Errors {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return parseErrors(t, file, data)
}

// The acceptance case: a misspelled key, a wrong type and an unknown
// canonical property give exactly three errors, each at its place.
func TestParseAcceptance(t *testing.T) {
	const file = "testdata/acceptance.yaml"
	got := loadErrors(t, file)
	want := Errors{
		{File: file, Line: 7, Column: 5, Path: "mappings[0].datatyp",
			Message: `unknown key "datatyp"; expected one of: canonical, datatype, defaults, delete, direction, filter, full_scan, insert, insert_when, lines, merge, properties, schedule, system, title, when (did you mean "datatype"?)`},
		{File: file, Line: 9, Column: 13, Path: "mappings[0].insert",
			Message: `expected a boolean (true or false), got string "yes please"`},
		{File: file, Line: 14, Column: 19, Path: "mappings[0].properties[1].property",
			Message: `canonical type "customer" has no property "emial"; known: address_line1, address_line2, city, code, country, currency, email, is_company, name, phone, postcode, state, vat_number, website (did you mean "email"?)`},
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%v\nwant:\n%v", got, want)
	}
}

func TestParseValid(t *testing.T) {
	cfg, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatalf("valid.yaml: %v", err)
	}
	if got, want := len(cfg.Systems), 3; got != want {
		t.Errorf("systems: got %d, want %d", got, want)
	}
	if got, want := len(cfg.Mappings), 10; got != want {
		t.Fatalf("mappings: got %d, want %d", got, want)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"File", cfg.File, "testdata/valid.yaml"},
		{"Store.Driver", cfg.Store.Driver, "sqlite"},
		{"Store.Path (relative to the file)", cfg.Store.Path, filepath.Join("testdata", "state", "concord.db")},
		{"Engine.BatchSize (set)", cfg.Engine.BatchSize, 500},
		{"Engine.RetryLimit (default)", cfg.Engine.RetryLimit, DefaultRetryLimit},
		{"Engine.BreakerThreshold (default)", cfg.Engine.BreakerThreshold, DefaultBreakerThreshold},
		{"Engine.BreakerMinimum (set to zero)", cfg.Engine.BreakerMinimum, 0},
		{"systems.webshop.schedule", cfg.Systems["webshop"].Schedule.Duration, 30 * time.Second},
		{"systems.erp.settings.division", cfg.Systems["erp"].Settings["division"], 1234},
		{"canonical order.sales_rep ref", cfg.Canonical["order"].Properties["sales_rep"].Ref, "contact"},
		{"mappings[0].delete", cfg.Mappings[0].Delete, "unlink"},
		{"mappings[0].direction (default)", cfg.Mappings[0].Direction, "both"},
		{"mappings[0].insert (default)", *cfg.Mappings[0].Insert, true},
		{"mappings[0].properties[0].direction", cfg.Mappings[0].Properties[0].Direction, "in"},
		{"mappings[0].properties[1].type (default)", cfg.Mappings[0].Properties[1].Type, "string"},
		{"mappings[1].merge", cfg.Mappings[1].Merge, [][]string{{"vat_number"}, {"name", "postcode"}}},
		{"mappings[1].full_scan", cfg.Mappings[1].FullScan.Duration, 24 * time.Hour},
		{"mappings[1].delete (default)", cfg.Mappings[1].Delete, "ignore"},
		{"mappings[2].insert", *cfg.Mappings[2].Insert, false},
		{"mappings[3].properties[3].ref", cfg.Mappings[3].Properties[3].Ref, "Accounts"},
		{"mappings[7].lines.datatype", cfg.Mappings[7].Lines.Datatype, "OrderLine"},
		{"mappings[7].lines.properties[0].direction (default)", cfg.Mappings[7].Lines.Properties[0].Direction, "both"},
		{"mappings[8].when", cfg.Mappings[8].When, "golden.status == 'quote'"},
		{"mappings[9].when", cfg.Mappings[9].When, "golden.status != 'quote'"},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func equal(a, b any) bool {
	if as, ok := a.([][]string); ok {
		bs, _ := b.([][]string)
		return slices.EqualFunc(as, bs, slices.Equal)
	}
	return a == b
}

func TestParseAliases(t *testing.T) {
	cfg, err := Load("testdata/aliases.yaml")
	if err != nil {
		t.Fatalf("aliases.yaml: %v", err)
	}
	erp := cfg.Systems["erp"]
	if erp.Kind != "memory" || erp.Schedule.Duration != 2*time.Minute {
		t.Errorf("erp merged from the shop anchor: got %+v, want kind memory and its own schedule 2m", erp)
	}
	m := cfg.Mappings[1]
	if m.System != "erp" || m.Datatype != "Customer" || len(m.Merge) != 1 || len(m.Properties) != 2 || m.Properties[1].Field != "Name" {
		t.Errorf("mappings[1] merged from the customer anchor: got %+v", m)
	}
}

// want is one expected error: position and path exactly, the message by a
// telling part of it (the full texts are pinned by the acceptance test).
type want struct {
	pos, path, message string
}

func (w want) matches(e Error) bool {
	pos := ""
	if e.Line > 0 {
		pos = strconv.Itoa(e.Line)
		if e.Column > 0 {
			pos += ":" + strconv.Itoa(e.Column)
		}
	}
	return pos == w.pos && e.Path == w.path && strings.Contains(e.Message, w.message)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		file string
		want []want
	}{
		{"types.yaml", []want{
			{"3:11", "store.driver", `expected sqlite (the only value allowed), got string "postgres"`},
			{"5:15", "engine.batch_size", `expected a whole number, got string "many"`},
			{"6:16", "engine.retry_limit", "must be at least 1, got 0"},
			{"7:22", "engine.breaker_threshold", "must be at most 1, got 1.5"},
			{"10:11", "systems.webshop.kind", "expected a string, got a list"},
			{"11:15", "systems.webshop.schedule", `expected a duration such as 30s, 5m or 1h30m, got string "5 minutes"`},
			{"16:16", "mappings[0].direction", `expected one of: both, in, out; got string "inn" (did you mean "in"?)`},
			{"17:12", "mappings[0].merge", `expected a list, got string "email"`},
			{"18:17", "mappings[0].properties", "expected a list, got a mapping"},
		}},
		{"keys.yaml", []want{
			{"2:1", "sytems", `unknown key "sytems"; expected one of: canonical, engine, mappings, store, systems (did you mean "systems"?)`},
			{"7:5", "systems.webshop.knd", `unknown key "knd"; expected one of: kind, preset, schedule, settings, title (did you mean "kind"?)`},
			{"10:5", "systems.erp.kind", `missing required key "kind"`},
			{"15:5", "mappings[0].canonical", `duplicate key "canonical"; it is already set on line 14`},
			{"19:9", "mappings[0].properties[0].drection", `(did you mean "direction"?)`},
		}},
		{"semantics.yaml", []want{
			{"4:8", "store.dsn", "dsn is for server backends"},
			{"8:15", "systems.shop.schedule", `expected a duration such as 30s, 5m or 1h30m, got "9999999999h"`},
			{"14:15", "canonical.customer.properties.parent", "a reference property needs ref"},
			{"15:47", "canonical.customer.properties.account_manager.ref", `unknown canonical type "employee"; known: contact, customer, order, product`},
			{"16:36", "canonical.customer.properties.segment.ref", "ref applies only to properties of type reference"},
			{"18:13", "mappings[0].system", `unknown system "shp"; systems are: erp, shop (did you mean "shop"?)`},
			{"20:16", "mappings[0].canonical", `unknown canonical type "custmer"; known: contact, customer, order, product (did you mean "customer"?)`},
			{"27:11", "mappings[1].when", `invalid expression "golden.status =="`},
			{"29:9", "mappings[1].merge[0]", "a merge criterion needs at least one property"},
			{"30:10", "mappings[1].merge[1][0]", `canonical type "customer" has no property "emial"`},
			{"33:17", "mappings[1].properties[1].field", `field "name" is already mapped by mappings[1].properties[0] (line 32)`},
			{"34:30", "mappings[1].properties[2].property", `has no property "emial"`},
			{"35:41", "mappings[1].properties[3].in", `invalid expression "value +"`},
			{"36:41", "mappings[1].properties[4].ref", `ref applies only to reference properties, and "code" of canonical type "customer" is a string`},
			{"38:7", "mappings[1].lines", `canonical type "customer" has no lines; only order can map lines`},
			{"43:15", "mappings[2].datatype", `datatype "Accounts" of system "shop" is already mapped by mappings[1] (line 24)`},
			{"52:13", "mappings[3].filter", "this mapping has direction out"},
			{"54:48", "mappings[3].properties[0].ref", `datatype "Invoices" is not mapped for system "shop"; ref must name one of its mapped datatypes: Accounts, Orders`},
			{"55:49", "mappings[3].properties[1].ref", `datatype "Accounts" maps to canonical type "customer", but property "contact" refers to "contact"`},
			{"57:7", "mappings[3].lines", "exactly one of field (nested lines) or datatype"},
			{"60:32", "mappings[3].lines.properties[0].property", `lines of canonical type "order" have no property "produkt"`},
			{"66:11", "mappings[4].when", "this mapping has direction in"},
			{"70:7", "mappings[4].lines", "need parent_field"},
			{"82:17", "mappings[5].lines.id_field", "id_field applies only to nested lines"},
			{"93:21", "mappings[6].lines.parent_field", "parent_field applies only to lines in a separate datatype"},
			{"103:7", "mappings[7].lines", "lines need field"},
			{"112:14", "mappings[8].lines.field", `served as the datatype "Returns/lines", which mappings[9] maps too (line 118)`},
			{"115:19", "mappings[8].lines.properties[0].field", `"line_no" is the lines' id_field, which the system hands out`},
			{"116:19", "mappings[8].lines.properties[1].field", "_parent holds the id of a nested line's record"},
		}},
		// A broken element keeps its index, so later paths and lines stay right.
		{"shifted.yaml", []want{
			{"6:5", "mappings[0]", `expected a mapping (key: value lines), got string "just a string"`},
			{"11:9", "mappings[1].properties[0]", "got number 42"},
			{"12:34", "mappings[1].properties[1].property", `has no property "emial"`},
			{"14:17", "mappings[1].merge[0][1]", "expected a string, got number 7"},
			{"15:10", "mappings[1].merge[1][0]", `has no property "nmae"`},
		}},
		{"syntax.yaml", []want{
			{"4", "", "not valid YAML: did not find expected key"},
		}},
		{"empty.yaml", []want{
			{"", "", "the file is empty"},
		}},
		{"twodocs.yaml", []want{
			{"4:1", "", "a second YAML document"},
		}},
		{"cycle.yaml", []want{
			{"4:15", "systems.shop.settings", "alias *loop refers to a value that contains it"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file := filepath.Join("testdata", tt.file)
			got := loadErrors(t, file)
			for _, e := range got {
				if e.File != file {
					t.Errorf("error names file %q, want %q: %v", e.File, file, e)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if i >= len(got) {
					t.Errorf("missing error %d: %+v", i, w)
					continue
				}
				if !w.matches(got[i]) {
					t.Errorf("error %d:\n got %v\nwant %s: %s: ...%s...", i, got[i], w.pos, w.path, w.message)
				}
			}
		})
	}
}

// Small cases that need no file of their own.
func TestParseInline(t *testing.T) {
	nested := func(depth int) string {
		var b strings.Builder
		b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
		for i := 1; i <= depth; i++ {
			b.WriteString("a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [")
			for j := range 10 {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString("*a" + strconv.Itoa(i-1))
			}
			b.WriteString("]\n")
		}
		return b.String()
	}
	tests := []struct {
		name, yaml string
		want       []want
	}{
		{"only a list", "- a\n- b\n", []want{{"1:1", "", "expected a mapping with systems and mappings at the top of the file, got a list"}}},
		{"null document", "~\n", []want{{"", "", "the file holds no settings"}}},
		{"tab indentation", "systems:\n\tshop: {kind: memory}\n", []want{{"2", "", "(YAML indents with spaces, not tabs)"}}},
		{"alias bomb", nested(5), []want{{"1:16", "a4[7][0][7][5][2]", "aliases expand to more than 100000 values"}}},
		{"missing top-level keys", "store: {}\n", []want{
			{"1:1", "mappings", `missing required key "mappings"`},
			{"1:1", "systems", `missing required key "systems"`},
		}},
		{"misspelled required key is one error", "systms: {}\nmappings: []\n", []want{
			{"1:1", "systms", `(did you mean "systems"?)`},
		}},
		{"empty required values", "systems: {s: {kind: ''}}\nmappings:\n  - {system: s, datatype: '', canonical: product, properties: []}\n", []want{
			{"1:21", "systems.s.kind", "must not be empty"},
			{"3:27", "mappings[0].datatype", "must not be empty"},
			{"3:63", "mappings[0].properties", "needs at least 1 entry, got 0"},
		}},
		{"enum suggestion", "systems: {s: {kind: memory}}\nmappings:\n  - {system: s, datatype: D, canonical: product, delete: propogate, properties: [{field: f, property: code}]}\n", []want{
			{"3:58", "mappings[0].delete", `expected one of: ignore, unlink, propagate; got string "propogate" (did you mean "propagate"?)`},
		}},
		{"key needing quotes in the path", "systems: {'my shop': {kind: memory, color: red}}\nmappings: []\n", []want{
			{"1:37", `systems["my shop"].color`, `unknown key "color"`},
		}},
		{"number where a map is expected", "systems: 3\nmappings: []\n", []want{
			{"1:10", "systems", "expected a mapping (key: value lines), got number 3"},
		}},
		{"non-finite number", "engine: {breaker_threshold: .inf}\nsystems: {}\nmappings: []\n", []want{
			{"1:29", "engine.breaker_threshold", "expected a number, got the non-finite number .inf"},
		}},
		{"complex key", "systems: {[a]: {kind: memory}}\nmappings: []\n", []want{
			{"1:11", "systems", "a key must be a plain name, not a list"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErrors(t, "inline.yaml", []byte(tt.yaml))
			if len(got) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if i < len(got) && !w.matches(got[i]) {
					t.Errorf("error %d:\n got %v\nwant %s: %s: ...%s...", i, got[i], w.pos, w.path, w.message)
				}
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	const minimal = `
systems: {shop: {kind: memory}}
mappings:
  - system: shop
    datatype: Product
    canonical: product
    properties: [{field: sku, property: code}]
`
	tests := []struct {
		name, file, extra string
		check             func(t *testing.T, c *Config)
	}{
		{"defaults", "conf/concord.yaml", "", func(t *testing.T, c *Config) {
			e := Engine{BatchSize: 1000, RetryLimit: 5, BreakerThreshold: 0.5, BreakerMinimum: 10}
			if c.Engine != e {
				t.Errorf("engine: got %+v, want %+v", c.Engine, e)
			}
			if c.Store.Driver != "sqlite" || c.Store.Path != filepath.Join("conf", "concord-data", "concord.db") {
				t.Errorf("store: got %+v", c.Store)
			}
			m := c.Mappings[0]
			if m.Direction != "both" || m.Delete != "ignore" || m.Insert == nil || !*m.Insert {
				t.Errorf("mapping: got direction %q delete %q insert %v", m.Direction, m.Delete, m.Insert)
			}
			if r := m.Properties[0]; r.Type != "string" || r.Direction != "both" {
				t.Errorf("row: got %+v", r)
			}
		}},
		{"zero breaker settings are kept", "c.yaml", "engine: {breaker_threshold: 0, breaker_minimum: 0}\n", func(t *testing.T, c *Config) {
			if c.Engine.BreakerThreshold != 0 || c.Engine.BreakerMinimum != 0 {
				t.Errorf("engine: got %+v, want zero breaker settings kept", c.Engine)
			}
		}},
		{"absolute store path", "conf/c.yaml", "store: {path: /var/lib/concord/c.db}\n", func(t *testing.T, c *Config) {
			if c.Store.Path != "/var/lib/concord/c.db" {
				t.Errorf("store path: got %q", c.Store.Path)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.file, []byte(minimal+tt.extra))
			if err != nil {
				t.Fatal(err)
			}
			if c.File != tt.file {
				t.Errorf("File: got %q, want %q", c.File, tt.file)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want a not-exist error", err)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{Error{File: "c.yaml", Line: 3, Column: 7, Path: "systems.shop.kind", Message: "must not be empty"}, "c.yaml:3:7: systems.shop.kind: must not be empty"},
		{Error{File: "c.yaml", Line: 4, Message: "not valid YAML: x"}, "c.yaml:4: not valid YAML: x"},
		{Error{File: "c.yaml", Message: "the file is empty"}, "c.yaml: the file is empty"},
		{Errors{{File: "a", Line: 1, Column: 2, Message: "x"}, {File: "a", Line: 2, Column: 1, Path: "p", Message: "y"}}, "a:1:2: x\na:2:1: p: y"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	var one Error
	if !errors.As(Errors{{File: "a", Message: "x"}}, &one) || one.Message != "x" {
		t.Errorf("errors.As does not reach a single Error in Errors")
	}
}

func TestSuggest(t *testing.T) {
	candidates := []string{"name", "datatype", "direction", "kind", "in", "properties"}
	tests := []struct{ got, want string }{
		{"nmae", "name"},
		{"datatyp", "datatype"},
		{"drection", "direction"},
		{"Name", "name"},
		{"propertys", "properties"},
		{"xyz", ""},
		{"colour", ""},
		{"knd", "kind"},
	}
	for _, tt := range tests {
		if got := suggest(tt.got, candidates); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.got, got, tt.want)
		}
	}
}

// Duration reads and writes the form users write, in YAML and in JSON.
func TestDurationEncoding(t *testing.T) {
	out, err := yaml.Marshal(System{Kind: "memory", Schedule: Duration{90 * time.Second}})
	if err != nil || !strings.Contains(string(out), "schedule: 1m30s") {
		t.Errorf("yaml.Marshal: got %q, %v; want schedule: 1m30s", out, err)
	}
	js, err := json.Marshal(Duration{5 * time.Minute})
	if err != nil || string(js) != `"5m0s"` {
		t.Errorf("json.Marshal: got %s, %v", js, err)
	}
	var d Duration
	if err := json.Unmarshal([]byte(`"1h30m"`), &d); err != nil || d.Duration != 90*time.Minute {
		t.Errorf("json.Unmarshal: got %v, %v", d, err)
	}
	var s System
	err = yaml.Unmarshal([]byte("kind: memory\nschedule: soon\n"), &s)
	var te *yaml.TypeError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), `line 2: expected a duration such as 30s, 5m or 1h30m, got "soon"`) {
		t.Errorf("yaml.Unmarshal of a bad duration: got %v, want a TypeError naming line 2", err)
	}
	if s.Kind != "memory" {
		t.Errorf("decoding stopped at the bad duration: kind %q", s.Kind)
	}
}

func TestLoadOfAMissingFileSaysHowToGiveOne(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "concord.yaml"))
	if err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "-c FILE") {
		t.Errorf("got %v", err)
	}
}
