package preset_test

import (
	"fmt"
	"strings"
	"testing"

	erpsb "github.com/concordsync/concord/internal/sandbox/erp"
	crmsb "github.com/concordsync/concord/internal/sandbox/webcrm"
)

// WebCRM's QuotationLines, kept apart and keyed by their opportunity,
// become the lines nested in the won opportunity's ERP order; a line added
// in WebCRM is added to the order, a quantity changed in the ERP reaches
// WebCRM, a line removed in the ERP is removed in WebCRM, and a line added
// in the ERP stays there (Concord creates nothing in WebCRM).
func TestFlowQuotationLinesBecomeERPOrderLines(t *testing.T) {
	t.Parallel()
	w := newCRMERP(t, "", nil)
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

	// A line the ERP adds stays in the ERP: lines follow their
	// opportunity's insert right, and Concord creates nothing in WebCRM.
	o1 = w.erpOne(erpsb.Orders, "number", "O-1")
	w.erpEdit(erpsb.Orders, o1["id"], erpsb.Record{"lines": append(orderLines(t, o1), map[string]any{"item_id": widget["id"], "qty": 7.0})})
	w.settle()
	if lines := orderLines(t, w.erpOne(erpsb.Orders, "number", "O-1")); len(lines) != 3 {
		t.Errorf("O-1 in the ERP has %d lines after the ERP added one, want 3: %v", len(lines), lines)
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
