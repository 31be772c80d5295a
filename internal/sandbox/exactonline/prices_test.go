package exactonline

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// itemRow reads an item through the sync endpoint, as a connector does.
func itemSyncRow(t *testing.T, c *client, id string) map[string]any {
	t.Helper()
	for _, row := range c.get("sync/Logistics/Items?$select=Timestamp,ID,StandardSalesPrice,Modified&$filter=Timestamp gt 1L").rows(t) {
		if row["ID"] == id {
			return row
		}
	}
	t.Fatalf("item %s not in sync/Logistics/Items", id)
	return nil
}

func TestSalesItemPricesSetTheItemsStandardSalesPrice(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	item := c.mustCreate("logistics/Items", map[string]any{"Code": "MUG", "Description": "Mug", "Unit": "pc"})
	id := item["ID"].(string)
	before := itemSyncRow(t, c, id)
	if num(t, before["StandardSalesPrice"]) != 0 {
		t.Fatalf("a new item's StandardSalesPrice %v, want 0", before["StandardSalesPrice"])
	}

	sb.clock.Advance(time.Minute)
	p := c.mustCreate("logistics/SalesItemPrices", map[string]any{"Item": id, "Price": 12.5})
	if p["Currency"] != "EUR" || p["Unit"] != "pc" || num(t, p["Quantity"]) != 0 || p["StartDate"] != nil || p["EndDate"] != nil {
		t.Errorf("defaults of a posted price: %v", p)
	}
	if p["ItemCode"] != "MUG" || p["DefaultItemUnit"] != "pc" || p["__metadata"].(map[string]any)["type"] != "Exact.Web.Api.Models.Logistics.SalesItemPrice" {
		t.Errorf("joined and metadata fields: %v", p)
	}
	after := itemSyncRow(t, c, id)
	if num(t, after["StandardSalesPrice"]) != 12.5 {
		t.Errorf("StandardSalesPrice after the default price %v, want 12.5", after["StandardSalesPrice"])
	}
	if num(t, after["Timestamp"]) <= num(t, before["Timestamp"]) || after["Modified"] == before["Modified"] {
		t.Errorf("the item's Timestamp and Modified did not move: %v → %v", before, after)
	}

	// PUT changes it; prices that are not the default one do not.
	pid := p["ID"].(string)
	if r := c.do(http.MethodPut, "logistics/SalesItemPrices(guid'"+pid+"')", map[string]any{"Price": 14}); r.status != http.StatusNoContent {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	c.mustCreate("logistics/SalesItemPrices", map[string]any{"Item": id, "Price": 11, "Quantity": 10})
	c.mustCreate("logistics/SalesItemPrices", map[string]any{"Item": id, "Price": 16, "Currency": "USD"})
	c.mustCreate("logistics/SalesItemPrices", map[string]any{"Item": id, "Price": 9, "EndDate": "2025-03-31"})
	c.mustCreate("logistics/SalesItemPrices", map[string]any{"Item": id, "Price": 15, "StartDate": "2026-01-01"})
	c.mustCreate("logistics/SalesItemPrices", map[string]any{"Item": id, "Price": 99, "Unit": "box"})
	if got := num(t, itemSyncRow(t, c, id)["StandardSalesPrice"]); got != 14 {
		t.Errorf("StandardSalesPrice %v, want 14 (the default price; breaks, other currencies, units and date ranges apart)", got)
	}

	// $filter on Item and $select.
	rows := c.get("logistics/SalesItemPrices?$filter=Item eq guid'" + id + "'&$select=ID,Price,Quantity").rows(t)
	if len(rows) != 6 {
		t.Fatalf("%d prices of the item, want 6", len(rows))
	}
	if _, ok := rows[0]["Currency"]; ok {
		t.Errorf("$select ignored: %v", rows[0])
	}

	// Deleting the default price leaves the item without one.
	if r := c.do(http.MethodDelete, "logistics/SalesItemPrices(guid'"+pid+"')", nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if got := num(t, itemSyncRow(t, c, id)["StandardSalesPrice"]); got != 0 {
		t.Errorf("StandardSalesPrice after deleting the default price %v, want 0", got)
	}
	// Not in sync/Deleted: only the item's change is.
	for _, row := range c.get("sync/Deleted?$select=EntityKey&$filter=Timestamp gt 1L").rows(t) {
		if row["EntityKey"] == pid {
			t.Error("a deleted price is listed in sync/Deleted")
		}
	}
}

func TestSalesItemPricesRefuseWhatExactRefuses(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	id := sb.seedItem("MUG", 0)
	other := sb.seedItem("CUP", 0)
	unknown := "00000000-0000-0000-0000-000000000001"
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"no item", map[string]any{"Price": 1}, "Item is mandatory"},
		{"no price", map[string]any{"Item": id}, "Price is mandatory"},
		{"unknown item", map[string]any{"Item": unknown, "Price": 1}, "does not exist"},
		{"unknown property", map[string]any{"Item": id, "Price": 1, "Colour": "red"}, "does not exist on type"},
		{"dates backwards", map[string]any{"Item": id, "Price": 1, "StartDate": "2025-02-01", "EndDate": "2025-01-01"}, "EndDate"},
	} {
		r := c.do(http.MethodPost, "logistics/SalesItemPrices", tc.body)
		if r.status != http.StatusBadRequest || !strings.Contains(r.message(t), tc.want) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.name, r.status, r.body, tc.want)
		}
	}
	p := c.mustCreate("logistics/SalesItemPrices", map[string]any{"Item": id, "Price": 3})
	key := "logistics/SalesItemPrices(guid'" + p["ID"].(string) + "')"
	if r := c.do(http.MethodPut, key, map[string]any{"Item": other}); r.status != http.StatusBadRequest {
		t.Errorf("PUT moving a price to another item: %d, want 400", r.status)
	}
	if r := c.do(http.MethodPut, key, map[string]any{"Price": nil}); r.status != http.StatusBadRequest {
		t.Errorf("PUT clearing the price: %d, want 400", r.status)
	}
	if r := c.do(http.MethodPut, "logistics/SalesItemPrices(guid'"+unknown+"')", map[string]any{"Price": 1}); r.status != http.StatusNotFound {
		t.Errorf("PUT of an unknown price: %d, want 404", r.status)
	}
	// Deleting the item deletes its prices.
	if err := sb.Delete("Items", id); err != nil {
		t.Fatal(err)
	}
	if n := len(sb.Records("SalesItemPrices")); n != 0 {
		t.Errorf("%d prices left after their item was deleted", n)
	}
}

func TestSalesItemPricesCountTowardsTheLimits(t *testing.T) {
	sb := startSandbox(t, Options{MinutelyLimit: 2, ErrorLimit: 2})
	c := sb.login()
	id := sb.seedItem("MUG", 0)
	r := c.get("logistics/SalesItemPrices?$filter=Item eq guid'" + id + "'")
	if r.status != http.StatusOK || r.header.Get("X-RateLimit-Minutely-Remaining") != "1" {
		t.Fatalf("GET: %d, remaining %q", r.status, r.header.Get("X-RateLimit-Minutely-Remaining"))
	}
	c.get("logistics/SalesItemPrices?$filter=Item eq guid'" + id + "'")
	if r := c.get("logistics/SalesItemPrices?$filter=Item eq guid'" + id + "'"); r.status != http.StatusTooManyRequests {
		t.Errorf("third call in a minute of two: %d, want 429", r.status)
	}
}

func TestUserPutOfAPriceMovesTheItem(t *testing.T) {
	sb := startSandbox(t, Options{})
	id := sb.seedItem("MUG", 0)
	before, _ := sb.Record("Items", id)
	if _, err := sb.Put("SalesItemPrices", map[string]any{"Item": id, "Price": 7.25}); err != nil {
		t.Fatal(err)
	}
	after, _ := sb.Record("Items", id)
	if after["StandardSalesPrice"] != 7.25 || after["Timestamp"].(int64) <= before["Timestamp"].(int64) {
		t.Errorf("item after the user's price: %v (was %v)", after, before)
	}
}
