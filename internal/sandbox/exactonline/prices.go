package exactonline

import (
	"cmp"
	"strings"
	"time"
)

// divisionCurrency is the currency of the sandbox's one division: the
// currency a default sales price is in.
const divisionCurrency = "EUR"

// priceRules checks a sales item price about to be stored and fills in
// what Exact defaults: the division's currency, the item's unit, no
// quantity break.
func (w *writer) priceRules(old, r *record) error {
	s := w.s
	id := r.str("Item")
	if strings.TrimSpace(id) == "" {
		return badRequest("Item is mandatory")
	}
	item := s.tables[items].rows[id]
	if item == nil {
		return badRequest("Item: Item %s does not exist", id)
	}
	if r.f["Price"] == nil {
		return badRequest("Price is mandatory")
	}
	if old == nil {
		if strings.TrimSpace(r.str("Currency")) == "" {
			r.f["Currency"] = divisionCurrency
		}
		if strings.TrimSpace(r.str("Unit")) == "" {
			r.f["Unit"] = item.f["Unit"]
		}
		if r.f["Quantity"] == nil {
			r.f["Quantity"] = 0.0
		}
	}
	r.f["Currency"] = strings.ToUpper(strings.TrimSpace(r.str("Currency")))
	if r.num("Quantity") < 0 {
		return badRequest("Quantity must not be negative")
	}
	start, hasStart := r.f["StartDate"].(time.Time)
	end, hasEnd := r.f["EndDate"].(time.Time)
	if hasStart && hasEnd && end.Before(start) {
		return badRequest("EndDate must not be before StartDate")
	}
	r.f["NumberOfItemsPerUnit"] = 1.0
	return nil
}

// pricesOf are the sales prices of an item, in key order.
func (s *Server) pricesOf(item string) []*record {
	var out []*record
	for _, p := range s.tables[salesItemPrices].sortedByKey() {
		if p.str("Item") == item {
			out = append(out, p)
		}
	}
	return out
}

// isDefaultPrice says whether p is a price that applies to every sale of
// its item at now: the division's currency, the item's own unit, no
// quantity break (Quantity 0 or 1), and a date range that is open (no
// EndDate, no StartDate after now).
func (s *Server) isDefaultPrice(p, item *record, now time.Time) bool {
	if !strings.EqualFold(p.str("Currency"), divisionCurrency) || p.num("Quantity") > 1 || p.f["EndDate"] != nil {
		return false
	}
	if u := strings.TrimSpace(p.str("Unit")); u != "" && !strings.EqualFold(u, strings.TrimSpace(item.str("Unit"))) {
		return false
	}
	start, ok := p.f["StartDate"].(time.Time)
	return !ok || !start.After(now)
}

// priceChanged sets an item's StandardSalesPrice to what its default
// price says, after a price of it was written or deleted: the default
// price that started last (the one written last among equals), or 0 when
// it has none. When the value moves the item gets a new row version and
// Modified, so sync/Logistics/Items shows the change, and an Items
// webhook fires.
func (w *writer) priceChanged(itemID string) {
	s := w.s
	t := s.tables[items]
	item := t.rows[itemID]
	if item == nil {
		return
	}
	var best *record
	for _, p := range s.pricesOf(itemID) {
		if !s.isDefaultPrice(p, item, w.now) {
			continue
		}
		if best == nil || comparePriceStart(p, best) > 0 {
			best = p
		}
	}
	price := 0.0
	if best != nil {
		price = best.num("Price")
	}
	if sameValue(item.f["StandardSalesPrice"], price) {
		return
	}
	r := item.clone()
	r.f["StandardSalesPrice"] = price
	w.stamp(r, false)
	t.put(r)
	w.note(items, itemID, "Update")
}

// comparePriceStart orders two default prices: the later StartDate (none
// is earliest), then the later write.
func comparePriceStart(a, b *record) int {
	ta, _ := a.f["StartDate"].(time.Time)
	tb, _ := b.f["StartDate"].(time.Time)
	return cmp.Or(ta.Compare(tb), cmp.Compare(a.ts, b.ts))
}
