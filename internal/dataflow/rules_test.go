package dataflow

import (
	"slices"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/qa"
)

// Where the webshop and the ERP nest their lines, the webshop's lines fold
// into its order's sections, and WebCRM's separate QuotationLines get a
// section named by the ERP's order, with the ERP's nested line fields.
func TestNestedLinesFoldIntoTheirRecord(t *testing.T) {
	set := compile(t, "testdata/flows.yaml")
	for _, tc := range []struct {
		source, target string
		want           []string
	}{
		{"webshop", "exact", []string{
			"Custom Webshop Order to Exact Online Quotations",
			"Custom Webshop Order to Exact Online SalesOrders",
			"Custom Webshop Customer to Exact Online Accounts",
			"Custom Webshop Product to Exact Online Items",
		}},
		{"webcrm", "erp", []string{
			"WebCRM Opportunities to Custom ERP Order",
			"WebCRM QuotationLines to Custom ERP Order",
			"WebCRM Organisations to Custom ERP Customer",
			"WebCRM Users to Custom ERP Contact",
			"WebCRM Persons to Custom ERP Contact",
			"WebCRM Products to Custom ERP Product",
		}},
	} {
		doc, err := Build(set, tc.source, tc.target, generatedAt)
		if err != nil {
			t.Fatal(err)
		}
		if got := titles(doc); !slices.Equal(got, tc.want) {
			t.Errorf("%s → %s: sections\n%s\nwant\n%s", tc.source, tc.target, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}

	doc, err := Build(set, "webshop", "exact", generatedAt)
	if err != nil {
		t.Fatal(err)
	}
	rows := tableRows(doc.Sections[1].Properties)
	for _, want := range []string{
		"number | OrderNumber | integer",
		"line_items[].product_id | SalesOrderLines.Item | string",
		"line_items[].quantity | SalesOrderLines.Quantity | number",
		"line_items[].price | SalesOrderLines.UnitPrice | number",
	} {
		if !slices.Contains(rows, want) {
			t.Errorf("Order to SalesOrders has no row %q:\n%s", want, strings.Join(rows, "\n"))
		}
	}

	doc, err = Build(set, "webcrm", "erp", generatedAt)
	if err != nil {
		t.Fatal(err)
	}
	lines := doc.Sections[1]
	if lines.Source != "webcrm:QuotationLines" || lines.Target != "erp:orders" {
		t.Errorf("QuotationLines section joins %s and %s", lines.Source, lines.Target)
	}
	rows = tableRows(lines.Properties)
	want := []string{
		"QuotationLineData2 | lines[].description | string",
		"QuotationLineQuantity | lines[].qty | number",
		"QuotationLinePrice | lines[].price | number",
		"QuotationLineDiscount | lines[].discount_pct | number",
	}
	if !slices.Equal(rows, want) {
		t.Errorf("QuotationLines to Order rows\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
}

func tableRows(tab *Table) []string {
	var out []string
	for _, r := range tab.Rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = c.String()
		}
		out = append(out, strings.Join(cells, " | "))
	}
	return out
}

// Every row joins two fields of one canonical property: a first name never
// lands on a last name.
func TestRowsJoinOneProperty(t *testing.T) {
	for _, f := range append(slices.Clone(flows), separateFlows...) {
		set := compile(t, f.config)
		doc, err := Build(set, f.source, f.target, generatedAt)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range doc.Sections {
			src, dst := lookup(set, sec.Source), lookup(set, sec.Target)
			for _, r := range sec.Properties.Rows {
				sp, tp := propertyOf(set, src, r[0].String()), propertyOf(set, dst, r[1].String())
				if sp == "(computed)" {
					continue
				}
				if sp == "" || sp != tp {
					t.Errorf("%s: row %q (%s) → %q (%s)", sec.Title, r[0].String(), sp, r[1].String(), tp)
				}
			}
		}
	}
}

func lookup(set *mapping.Set, name string) *mapping.Mapping {
	for _, m := range set.Mappings {
		if m.Name() == name {
			return m
		}
	}
	return nil
}

// propertyOf finds the property a field as a table shows it maps: a field
// of the mapping itself, or of its lines (line_items[].quantity,
// SalesOrderLines.Quantity).
func propertyOf(set *mapping.Set, m *mapping.Mapping, shown string) string {
	if strings.HasPrefix(shown, "(set to ") {
		return "(computed)"
	}
	for _, r := range m.Rows {
		if r.Field == shown {
			return r.Property
		}
	}
	for _, lm := range set.Mappings {
		if lm.Parent != m {
			continue
		}
		for _, r := range lm.Rows {
			if shown == m.Lines.Field+"[]."+r.Field || shown == datatypeTitle(lm)+"."+r.Field {
				return r.Property
			}
		}
	}
	return ""
}

// The document and `concord qa` list the same sections: the checklist QA
// runs is the one the document promises.
func TestSectionsAreTheQAChecklist(t *testing.T) {
	for _, f := range append(slices.Clone(flows), separateFlows...) {
		set := compile(t, f.config)
		doc, err := Build(set, f.source, f.target, generatedAt)
		if err != nil {
			t.Fatal(err)
		}
		var checklist []string
		for _, s := range qa.Sections(set, f.source, f.target) {
			checklist = append(checklist, s.Title)
		}
		if got := titles(doc); !slices.Equal(got, checklist) {
			t.Errorf("%s (%s → %s): document sections\n%s\nQA checklist sections\n%s", f.config, f.source, f.target, strings.Join(got, "\n"), strings.Join(checklist, "\n"))
		}
	}
}
