package preset_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/mapping"
	erpsb "github.com/concordsync/concord/internal/sandbox/erp"
	crmsb "github.com/concordsync/concord/internal/sandbox/webcrm"
)

// erpOrderLines is the ERP orders' lines block, laid over the preset's
// mapping until the preset carries it (the TODO in customerp.yaml): lines
// nested in the order (ADR 12), numbered by line_no, the item named by
// its id.
const erpOrderLines = `
mappings:
  - system: erp
    datatype: orders
    lines:
      field: lines
      id_field: line_no
      properties:
        - {field: item_id, property: product, type: reference, ref: products}
        - {field: description, property: description, type: string}
        - {field: qty, property: quantity, type: number}
        - {field: price, property: unit_price, type: number}
        - {field: discount_pct, property: discount, type: number}
        - {field: vat_code, property: vat_code, type: string}
`

var erpOrderLinesSettings = map[string]any{"datatypes": map[string]any{"orders": map[string]any{
	"read_only": []any{"created_at", "updated_at", "deleted", "total"},
	"lines":     map[string]any{"lines": map[string]any{"id_field": "line_no", "read_only": []any{"item_number", "amount"}}},
}}}

// nestedLines tells whether this build syncs lines nested in a record
// (ADR 12); the test of the order lines waits for it.
func nestedLines(t *testing.T) bool {
	t.Helper()
	cfg, err := config.Parse("probe.yaml", []byte(`
systems:
  erp: {kind: memory}
mappings:
  - system: erp
    datatype: orders
    canonical: order
    properties:
      - {field: number, property: number}
    lines:
      field: lines
      properties:
        - {field: qty, property: quantity, type: number}
`))
	if err != nil {
		return false
	}
	_, err = mapping.Compile(cfg)
	return err == nil
}

// WebCRM's QuotationLines, kept apart and keyed by their opportunity,
// become the lines nested in the won opportunity's ERP order; a line added
// in WebCRM is added to the order, a quantity changed in the ERP reaches
// WebCRM, a line removed in the ERP is removed in WebCRM, and a line added
// in the ERP stays there (Concord creates nothing in WebCRM).
func TestFlowQuotationLinesBecomeERPOrderLines(t *testing.T) {
	t.Parallel()
	if !nestedLines(t) {
		t.Skip("lines nested in a record (ADR 12) are not built yet: the ERP's order lines wait for them")
	}
	w := newCRMERP(t, erpOrderLines, erpOrderLinesSettings)
	d := w.seed()
	w.settle()

	w.counts(map[string]int{crmsb.QuotationLines: 3}, map[string]int{erpsb.Orders: 1})
	widget := w.erpOne(erpsb.Products, "item_number", "W-1")
	gadget := w.erpOne(erpsb.Products, "item_number", "G-1")
	o1 := w.erpOne(erpsb.Orders, "number", "O-1")
	lines := orderLines(t, o1)
	if len(lines) != 2 {
		t.Fatalf("O-1 in the ERP has %d lines, want 2: %v", len(lines), o1["lines"])
	}
	wantFields(t, "O-1's widget line", lineOf(t, lines, "W-1"), map[string]any{"item_id": widget["id"], "description": "Blue ones",
		"qty": 2, "price": 10, "discount_pct": 5, "vat_code": "S"})
	// A line without a VAT rate takes the item's category in the ERP.
	wantFields(t, "O-1's gadget line", lineOf(t, lines, "G-1"), map[string]any{"item_id": gadget["id"], "qty": 1, "price": 5, "vat_code": "R"})

	// A line added to the won opportunity in WebCRM is added to the order.
	w.crmPut(crmsb.QuotationLines, crmsb.Record{"QuotationLineOpportunityId": d.won, "QuotationLineData1": "G-1", "QuotationLineData2": "Gadget",
		"QuotationLineQuantity": 3.0, "QuotationLinePrice": 4.0})
	w.settle()
	o1 = w.erpOne(erpsb.Orders, "number", "O-1")
	if lines = orderLines(t, o1); len(lines) != 3 {
		t.Fatalf("O-1 in the ERP has %d lines after one was added in WebCRM, want 3: %v", len(lines), o1["lines"])
	}

	// The ERP changes the widget line's quantity and removes a gadget line.
	var kept []any
	removed := false
	for _, l := range lines {
		m := l.(map[string]any)
		switch {
		case m["item_number"] == "W-1":
			m["qty"] = 4.0
		case m["item_number"] == "G-1" && !removed && fmt.Sprint(m["qty"]) == "3":
			removed = true
			continue
		}
		kept = append(kept, m)
	}
	w.erpEdit(erpsb.Orders, o1["id"], erpsb.Record{"lines": kept})
	w.settle()
	var crmLines []crmsb.Record
	for _, l := range w.crm.Records(crmsb.QuotationLines) {
		if l["QuotationLineOpportunityId"] == d.won {
			crmLines = append(crmLines, l)
		}
	}
	if len(crmLines) != 2 {
		t.Fatalf("O-1 in WebCRM has %d lines after the ERP removed one, want 2: %v", len(crmLines), crmLines)
	}
	for _, l := range crmLines {
		if l["QuotationLineData1"] == "W-1" && fmt.Sprint(l["QuotationLineQuantity"]) != "4" {
			t.Errorf("the widget line in WebCRM: quantity %v, want the ERP's 4", l["QuotationLineQuantity"])
		}
	}

	// The not-yet-won opportunity's line went nowhere, and nothing doubled.
	w.counts(map[string]int{crmsb.QuotationLines: 3, crmsb.Opportunities: 3}, map[string]int{erpsb.Orders: 1})
	if rep := w.cycle(); rep.Writes() != 0 || rep.Collected != 0 {
		t.Errorf("a quiet round: %+v", rep)
	}
}

func orderLines(t testing.TB, order erpsb.Record) []any {
	t.Helper()
	lines, _ := order["lines"].([]any)
	return lines
}

// lineOf returns the one line of an item.
func lineOf(t testing.TB, lines []any, item string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range lines {
		if m, ok := l.(map[string]any); ok && strings.EqualFold(fmt.Sprint(m["item_number"]), item) {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d lines of %s, want 1: %v", len(found), item, lines)
	}
	return found[0]
}
