package dataflow

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/mapping"
)

var update = flag.Bool("update", false, "rewrite the golden dataflow documents in testdata")

// generatedAt is the time the golden documents say they were generated.
var generatedAt = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)

// flow is one golden dataflow document: the configuration it is generated
// from, the two systems, and the golden files' name (testdata/<name>.rst,
// .md, .html). To check the documents of other mappings (the built-in
// presets), add a flow whose config names them.
type flow struct {
	config, source, target, name string
	sections                     []string
}

var flows = []flow{
	{
		config: "testdata/presets.yaml", source: "customwebshop", target: "exactonline", name: "customwebshop-exactonline",
		sections: []string{
			"Custom Webshop Customer to Exact Online Accounts",
			"Custom Webshop Product to Exact Online Items",
			"Custom Webshop Order to Exact Online Quotations",
			"Custom Webshop Order to Exact Online SalesOrders",
		},
	},
	{
		config: "testdata/presets.yaml", source: "webcrm", target: "customerp", name: "webcrm-customerp",
		sections: []string{
			"WebCRM Organisations to Custom ERP Customer",
			"WebCRM Persons to Custom ERP Contact",
			"WebCRM Users to Custom ERP Contact",
			"WebCRM Products to Custom ERP Product",
			"WebCRM Opportunities to Custom ERP Order",
			"WebCRM QuotationLines to Custom ERP Order",
		},
	},
}

// separateFlows are the flows with every system's lines in a datatype of
// their own: no golden files, only the sections.
var separateFlows = []flow{
	{
		config: "testdata/flows-separate.yaml", source: "webshop", target: "exact",
		sections: []string{
			"Custom Webshop Order to Exact Online Quotations",
			"Custom Webshop Order to Exact Online SalesOrders",
			"Custom Webshop order_line_items to Exact Online QuotationLines",
			"Custom Webshop order_line_items to Exact Online SalesOrderLines",
			"Custom Webshop Customer to Exact Online Accounts",
			"Custom Webshop Product to Exact Online Items",
		},
	},
	{
		config: "testdata/flows-separate.yaml", source: "webcrm", target: "erp",
		sections: []string{
			"WebCRM Opportunities to Custom ERP Order",
			"WebCRM QuotationLines to Custom ERP order_lines",
			"WebCRM Organisations to Custom ERP Customer",
			"WebCRM Users to Custom ERP Contact",
			"WebCRM Persons to Custom ERP Contact",
			"WebCRM Products to Custom ERP Product",
		},
	},
}

var extensions = map[Format]string{RST: ".rst", Markdown: ".md", HTML: ".html"}

func compile(t *testing.T, path string) *mapping.Set {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	set, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestGoldenDocuments regenerates every golden document and fails when it
// differs from the file: a mapping changed and the documents were not
// generated again (go test ./internal/dataflow -update does it).
func TestGoldenDocuments(t *testing.T) {
	for _, f := range flows {
		set := compile(t, f.config)
		for _, format := range Formats {
			t.Run(f.name+extensions[format], func(t *testing.T) {
				got, err := Generate(set, f.source, f.target, format, generatedAt)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", f.name+extensions[format])
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (generate it with go test ./internal/dataflow -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s is not what the mappings in %s give now: %s\nRegenerate with go test ./internal/dataflow -update and review the diff.",
						path, f.config, firstDifference(string(want), string(got)))
				}
			})
		}
	}
}

func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  file:      " + wl + "\n  generated: " + gl
		}
	}
	return "same lines"
}

// TestSections checks the sections of every flow: the ones DATAFLOWS.md
// lists where the webshop and the ERP nest their lines, and with separate
// lines on both sides, a section per pair of lines datatypes.
func TestSections(t *testing.T) {
	for _, f := range append(slices.Clone(flows), separateFlows...) {
		t.Run(f.config+":"+f.source, func(t *testing.T) {
			doc, err := Build(compile(t, f.config), f.source, f.target, generatedAt)
			if err != nil {
				t.Fatal(err)
			}
			if got := titles(doc); !slices.Equal(got, f.sections) {
				t.Errorf("sections\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(f.sections, "\n"))
			}
		})
	}
}

func titles(doc *Document) []string {
	var out []string
	for _, s := range doc.Sections {
		out = append(out, s.Title)
	}
	return out
}
