package exactonline

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/concordsync/concord/internal/connector"
)

// losingTransport passes calls on, and loses the answer of the first
// matching call after the sandbox has made its change, as a dropped
// connection does.
type losingTransport struct {
	base   http.RoundTripper
	method string
	path   string // a suffix of the URL path
	mu     sync.Mutex
	lost   int
	limit  int
}

func (t *losingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || r.Method != t.method || !strings.HasSuffix(r.URL.Path, t.path) {
		return resp, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lost >= t.limit {
		return resp, nil
	}
	t.lost++
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, io.ErrUnexpectedEOF
}

// prices are the sandbox's price records of an item.
func (e *env) prices(item string) []map[string]any {
	var out []map[string]any
	for _, p := range e.sb.Records("SalesItemPrices") {
		if p["Item"] == item {
			out = append(out, p)
		}
	}
	return out
}

func (e *env) standardPrice(t *testing.T, item string) any {
	t.Helper()
	r, ok := e.sb.Record("Items", item)
	if !ok {
		t.Fatalf("item %s not in the sandbox", item)
	}
	return r["StandardSalesPrice"]
}

func TestSalesPriceIsWrittenOnInsertAndUpdateAndReadBack(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, sandboxOpts())
	c := e.open()

	e.sb.ResetCalls()
	rec, err := c.Insert(ctx, "Items", connector.Fields{"Code": "MUG", "Description": "Mug", SalesPriceField: "12.50"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Fields[SalesPriceField] != 12.5 || rec.Fields["StandardSalesPrice"] != 12.5 {
		t.Errorf("inserted record: %s %v, StandardSalesPrice %v; want 12.5", SalesPriceField, rec.Fields[SalesPriceField], rec.Fields["StandardSalesPrice"])
	}
	if got := e.standardPrice(t, rec.ID); got != 12.5 {
		t.Errorf("Exact's StandardSalesPrice %v, want 12.5", got)
	}
	if ps := e.prices(rec.ID); len(ps) != 1 || ps[0]["Currency"] != "EUR" || ps[0]["Price"] != 12.5 {
		t.Errorf("price records %v, want one of 12.5 EUR", ps)
	}
	calls := e.sb.Calls()
	if calls["POST logistics/Items"] != 1 || calls["GET logistics/SalesItemPrices"] != 1 || calls["POST logistics/SalesItemPrices"] != 1 {
		t.Errorf("calls of an insert with a price: %v; want one POST of the item, one GET and one POST of its price", calls)
	}

	got, err := c.Get(ctx, "Items", rec.ID)
	if err != nil || got.Fields[SalesPriceField] != 12.5 {
		t.Fatalf("Get: %s %v, %v", SalesPriceField, got.Fields[SalesPriceField], err)
	}
	page, err := c.List(ctx, "Items", connector.ListRequest{Full: true})
	if err != nil || len(page.Records) != 1 || page.Records[0].Fields[SalesPriceField] != 12.5 {
		t.Fatalf("List: %v, %v", page.Records, err)
	}

	// A price change alone: one GET and one PUT of the price, no PUT of
	// the item.
	e.clock.Advance(2e9)
	e.sb.ResetCalls()
	if _, err := c.Update(ctx, "Items", rec.ID, connector.Fields{SalesPriceField: 14.0}, ""); err != nil {
		t.Fatal(err)
	}
	calls = e.sb.Calls()
	if calls["GET logistics/SalesItemPrices"] != 1 || calls["PUT logistics/SalesItemPrices"] != 1 || calls["PUT logistics/Items"] != 0 || calls["POST logistics/SalesItemPrices"] != 0 {
		t.Errorf("calls of a price change: %v; want one GET and one PUT of the price", calls)
	}
	if got := e.standardPrice(t, rec.ID); got != 14.0 || len(e.prices(rec.ID)) != 1 {
		t.Errorf("after the update: StandardSalesPrice %v, %d price records; want 14 and one", got, len(e.prices(rec.ID)))
	}
	next, err := c.List(ctx, "Items", connector.ListRequest{Cursor: page.Cursor})
	if err != nil || len(next.Records) != 1 || next.Records[0].Fields[SalesPriceField] != 14.0 {
		t.Fatalf("the incremental listing after the price change: %v, %v", next.Records, err)
	}

	// Another field and the same price: the item's PUT and one GET.
	e.sb.ResetCalls()
	if _, err := c.Update(ctx, "Items", rec.ID, connector.Fields{"Description": "Big mug", SalesPriceField: 14}, ""); err != nil {
		t.Fatal(err)
	}
	calls = e.sb.Calls()
	if calls["PUT logistics/Items"] != 1 || calls["GET logistics/SalesItemPrices"] != 1 || calls["PUT logistics/SalesItemPrices"]+calls["POST logistics/SalesItemPrices"] != 0 {
		t.Errorf("calls of an update whose price is unchanged: %v", calls)
	}

	// An empty price writes nothing; a price that is no number is refused.
	e.sb.ResetCalls()
	if _, err := c.Update(ctx, "Items", rec.ID, connector.Fields{SalesPriceField: nil}, ""); err != nil || len(e.sb.Calls()) != 0 {
		t.Errorf("an empty price: %v, calls %v; want nothing", err, e.sb.Calls())
	}
	if _, err := c.Update(ctx, "Items", rec.ID, connector.Fields{SalesPriceField: "cheap"}, ""); !errors.Is(err, connector.ErrRejected) {
		t.Errorf("a price that is no number: %v, want ErrRejected", err)
	}

	// Describe names the field.
	infos, _ := c.Describe(ctx)
	found := false
	for _, in := range infos {
		for _, p := range in.Properties {
			found = found || in.Name == "Items" && p.Name == SalesPriceField && p.Type == "number"
		}
	}
	if !found {
		t.Errorf("Describe does not list Items.%s as a number", SalesPriceField)
	}
}

func TestSalesPriceChangesTheDefaultPriceOnly(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, sandboxOpts())
	c := e.open()
	it, err := e.sb.Put("Items", map[string]any{"Code": "MUG", "Description": "Mug", "Unit": "pc"})
	if err != nil {
		t.Fatal(err)
	}
	id := it["ID"].(string)
	for _, p := range []map[string]any{
		{"Item": id, "Price": 9.0, "Quantity": 10.0},           // a quantity break
		{"Item": id, "Price": 11.0, "Currency": "USD"},         // another currency
		{"Item": id, "Price": 8.0, "EndDate": "2026-01-31"},    // a closed period
		{"Item": id, "Price": 10.0, "StartDate": "2026-01-01"}, // the default one
		{"Item": id, "Price": 30.0, "Unit": "box"},             // another unit
	} {
		if _, err := e.sb.Put("SalesItemPrices", p); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.standardPrice(t, id); got != 10.0 {
		t.Fatalf("StandardSalesPrice %v before, want 10", got)
	}
	if _, err := c.Update(ctx, "Items", id, connector.Fields{SalesPriceField: 12.0}, ""); err != nil {
		t.Fatal(err)
	}
	if got := e.standardPrice(t, id); got != 12.0 {
		t.Errorf("StandardSalesPrice %v, want 12", got)
	}
	var prices []float64
	for _, p := range e.prices(id) {
		prices = append(prices, p["Price"].(float64))
	}
	if len(prices) != 5 || !containsAll(prices, 9, 11, 8, 12, 30) {
		t.Errorf("prices %v: want the default one changed to 12 and the others as they were", prices)
	}

	// A division in dollars: the currency setting names the default price.
	usd := e.open(func(s map[string]any) { s["currency"] = "usd" })
	if _, err := usd.Update(ctx, "Items", id, connector.Fields{SalesPriceField: 13.0}, ""); err != nil {
		t.Fatal(err)
	}
	prices = prices[:0]
	for _, p := range e.prices(id) {
		prices = append(prices, p["Price"].(float64))
	}
	if len(prices) != 5 || !containsAll(prices, 9, 13, 8, 12, 30) {
		t.Errorf("prices %v: want the USD price changed to 13", prices)
	}
}

func containsAll(have []float64, want ...float64) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

func TestARetriedPriceWriteMakesNoSecondDefaultPrice(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, sandboxOpts())
	lose := &losingTransport{base: countingTransport{base: http.DefaultTransport, c: e.statuses}, method: http.MethodPost, path: "/logistics/SalesItemPrices", limit: 1}
	o := e.options()
	o.HTTPClient = &http.Client{Transport: lose}
	c, err := New(ctx, "exact", e.settings(), o)
	if err != nil {
		t.Fatal(err)
	}

	// The answer to the price's POST is lost: the insert fails as
	// temporary, though the item and its price exist.
	_, err = c.Insert(ctx, "Items", connector.Fields{"Code": "MUG", "Description": "Mug", SalesPriceField: 12.5})
	if err == nil || !connector.IsTemporary(err) || connector.IsThrottled(err) {
		t.Fatalf("insert whose price answer was lost: %v; want a temporary error that is not throttled", err)
	}
	items := e.sb.Records("Items")
	if len(items) != 1 {
		t.Fatalf("%d items, want 1", len(items))
	}
	id := items[0]["ID"].(string)
	// The engine writes the price again once it has linked the item.
	for range 2 {
		if _, err := c.Update(ctx, "Items", id, connector.Fields{SalesPriceField: 12.5}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.prices(id)); n != 1 {
		t.Errorf("%d price records after the retries, want 1", n)
	}

	// The same for an update whose POST answer is lost.
	it, err := e.sb.Put("Items", map[string]any{"Code": "CUP", "Description": "Cup"})
	if err != nil {
		t.Fatal(err)
	}
	cup := it["ID"].(string)
	lose.mu.Lock()
	lose.lost, lose.limit = 0, 1
	lose.mu.Unlock()
	if _, err := c.Update(ctx, "Items", cup, connector.Fields{SalesPriceField: 4.0}, ""); err == nil || !connector.IsTemporary(err) {
		t.Fatalf("update whose price answer was lost: %v, want a temporary error", err)
	}
	if _, err := c.Update(ctx, "Items", cup, connector.Fields{SalesPriceField: 4.5}, ""); err != nil {
		t.Fatal(err)
	}
	if ps := e.prices(cup); len(ps) != 1 || ps[0]["Price"] != 4.5 {
		t.Errorf("price records %v, want one of 4.5", ps)
	}
	if got := e.standardPrice(t, cup); got != 4.5 {
		t.Errorf("StandardSalesPrice %v, want 4.5", got)
	}
}
