package exactonline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// SalesPriceField is the field of Items that carries an item's default
// sales price both ways. Exact's StandardSalesPrice is read-only: prices
// are records of logistics/SalesItemPrices (one per item, currency, unit,
// quantity break and date range). Reading an item gives SalesPriceField
// the value of StandardSalesPrice, which is what the default price shows.
// Writing it (Insert after the item's POST, Update after its PUT) upserts
// the item's default price record: the one in the division's currency
// (the `currency` setting), for the item's own unit, without a quantity
// break (Quantity 0 or 1), without an EndDate and started (no StartDate
// after now). That costs one GET of the item's prices and, when the price
// differs, one PUT of the default record, or one POST when there is none.
// The GET comes before every POST, so a write repeated after a lost answer
// finds the record the first one made instead of making a second one.
const SalesPriceField = "DefaultSalesPrice"

const pricesPath = "logistics/SalesItemPrices"

// takeSalesPrice removes the sales price from the fields of a write of d.
// has says whether there is one to write: an empty value writes nothing
// (Exact keeps no price without a record, and deleting the record is not
// what an empty value in a mapping means).
func takeSalesPrice(d *datatype, f connector.Fields) (price float64, has bool, err error) {
	if !d.salesPrice {
		return 0, false, nil
	}
	v, ok := f[SalesPriceField]
	if !ok {
		return 0, false, nil
	}
	delete(f, SalesPriceField)
	if v == nil {
		return 0, false, nil
	}
	p, ok := floatOf(v)
	if !ok {
		return 0, false, fmt.Errorf("%s: %v is not a number", SalesPriceField, v)
	}
	return p, true, nil
}

// floatOf reads a number as the engine or the API hands it over.
func floatOf(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			return 0, false
		}
		f = n
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, false
		}
		f = n
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// writeSalesPrice makes price the item's default sales price: it reads
// the item's prices, and puts the new price on the default one, or posts
// one when the item has none. A default price that already holds the
// price costs no write.
func (c *Conn) writeSalesPrice(ctx context.Context, item string, price float64) error {
	what := fmt.Sprintf("exactonline system %q: sales price of item %s", c.system, item)
	next := pricesPath + "?" + query("$filter", "Item eq guid'"+item+"'",
		"$select", "ID,Currency,Price,Quantity,Unit,DefaultItemUnit,StartDate,EndDate,Modified")
	now := c.now()
	var best map[string]any
	var bestStart, bestModified time.Time
	for next != "" {
		path, q, _ := strings.Cut(next, "?")
		resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q, endpoint: pricesPath, retry: true})
		if err != nil {
			return fmt.Errorf("%s: read the prices: %w", what, err)
		}
		rs, link, err := rows(resp.body)
		if err != nil {
			return connector.Temporary(fmt.Errorf("%s: read the prices: %w", what, err))
		}
		for _, row := range rs {
			start, ok := c.defaultPriceStart(row, now)
			if !ok {
				continue
			}
			modified, _ := c.rowTime(row["Modified"])
			if best == nil || start.After(bestStart) || start.Equal(bestStart) && modified.After(bestModified) {
				best, bestStart, bestModified = row, start, modified
			}
		}
		next = ""
		if link != "" {
			if next, err = relativeLink(link); err != nil {
				return connector.Temporary(fmt.Errorf("%s: %w", what, err))
			}
		}
	}
	if best == nil {
		body := map[string]any{"Item": item, "Price": price, "Currency": c.s.Currency}
		if _, err := c.do(ctx, request{method: http.MethodPost, path: pricesPath, endpoint: pricesPath, body: body, write: true}); err != nil {
			return fmt.Errorf("%s: create the default price: %w", what, err)
		}
		return nil
	}
	if old, ok := floatOf(best["Price"]); ok && old == price {
		return nil
	}
	id, _ := best["ID"].(string)
	if !isGUID(id) {
		return connector.Temporary(fmt.Errorf("%s: the default price has no ID (%v)", what, best["ID"]))
	}
	if _, err := c.do(ctx, request{method: http.MethodPut, path: pricesPath + "(guid'" + id + "')", endpoint: pricesPath,
		body: map[string]any{"Price": price}, retry: true, write: true}); err != nil {
		return fmt.Errorf("%s: change the default price %s: %w", what, id, err)
	}
	return nil
}

// defaultPriceStart says whether a price row is a default price at now
// (the division's currency, the item's unit, no quantity break, an open
// date range), and when it started (zero without a StartDate).
func (c *Conn) defaultPriceStart(row map[string]any, now time.Time) (time.Time, bool) {
	if cur, _ := row["Currency"].(string); strings.TrimSpace(cur) != "" && !strings.EqualFold(strings.TrimSpace(cur), c.s.Currency) {
		return time.Time{}, false
	}
	if q, ok := floatOf(row["Quantity"]); ok && q > 1 {
		return time.Time{}, false
	}
	unit, _ := row["Unit"].(string)
	itemUnit, _ := row["DefaultItemUnit"].(string)
	if u := strings.TrimSpace(unit); u != "" && strings.TrimSpace(itemUnit) != "" && !strings.EqualFold(u, strings.TrimSpace(itemUnit)) {
		return time.Time{}, false
	}
	if end, _ := row["EndDate"].(string); strings.TrimSpace(end) != "" {
		return time.Time{}, false
	}
	start, ok := c.rowTime(row["StartDate"])
	if ok && start.After(now) {
		return time.Time{}, false
	}
	return start, true
}

// rowTime reads a date of a row (/Date(…)/) as an instant.
func (c *Conn) rowTime(v any) (time.Time, bool) {
	s, _ := v.(string)
	if s == "" {
		return time.Time{}, false
	}
	_, instant, ok := parseWCFDate(s, c.s.Location)
	return instant, ok
}
