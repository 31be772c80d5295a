package preset_test

import (
	"maps"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/mapping"
)

// compiled is the two presets joined and compiled, with settings enough to
// parse (no system is opened).
func compiled(t *testing.T) *mapping.Set {
	t.Helper()
	cfg := userConfig(t, map[string]any{
		"customwebshop": map[string]any{"preset": "customwebshop", "settings": map[string]any{"base_url": "http://127.0.0.1:8083/api/v1"}},
		"exactonline":   map[string]any{"preset": "exactonline"},
	}, nil)
	set, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func lookup(t *testing.T, set *mapping.Set, system, datatype string) *mapping.Mapping {
	t.Helper()
	m, ok := set.Lookup(system, datatype)
	if !ok {
		t.Fatalf("no mapping of %s:%s", system, datatype)
	}
	return m
}

func mapIn(t *testing.T, m *mapping.Mapping, fields map[string]any) mapping.Input {
	t.Helper()
	in, err := m.In(fields, nil, time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("%s in: %v", m.Name(), err)
	}
	return in
}

func mapOut(t *testing.T, m *mapping.Mapping, golden map[string]any) map[string]any {
	t.Helper()
	out, unresolved, err := m.Out(golden, func(datatype, goldenID string) (string, bool) { return datatype + "/" + goldenID, true })
	if err != nil || len(unresolved) > 0 {
		t.Fatalf("%s out: %v (unresolved %v)", m.Name(), err, unresolved)
	}
	return out
}

// A webshop order's header as the rest connector reads it becomes the
// canonical order, and that order the header Exact is sent: a Quotation
// while it is a quote, a SalesOrder once it is confirmed. (The lines are
// TestFlowWebshopToExactOrders's.)
func TestOrderHeaderFromTheShopToExact(t *testing.T) {
	set := compiled(t)
	shop := lookup(t, set, "customwebshop", "orders")
	quotations := lookup(t, set, "exactonline", "Quotations")
	orders := lookup(t, set, "exactonline", "SalesOrders")

	in := mapIn(t, shop, map[string]any{
		"id": 7.0, "number": "WS-1001", "customer_id": 3.0, "status": "pending", "currency": "EUR",
		"customer_note": "Gift wrap, please", "placed_at": "2026-03-10T00:30:00.000+01:00", "total": "25.00",
		"line_items": []any{map[string]any{"id": 1.0, "product_id": 2.0, "quantity": 2.0, "price": "12.50"}},
	})
	want := map[string]any{"number": "WS-1001", "status": "quote", "currency": "EUR", "description": "Gift wrap, please",
		"order_date": "2026-03-10", "customer": nil}
	if !maps.EqualFunc(in.Props, want, func(a, b any) bool { return mapping.Equal(a, b) }) {
		t.Errorf("the shop's order in the hub: %v, want %v", in.Props, want)
	}
	if in.Refs["customer"] != (mapping.RefValue{Datatype: "customers", ID: "3"}) {
		t.Errorf("the order's customer: %v", in.Refs)
	}

	golden := maps.Clone(in.Props)
	golden["customer"] = "g-acme"
	for _, tc := range []struct {
		status            string
		quotation, orders bool
	}{
		{"quote", true, false}, {"open", true, false}, {"confirmed", false, true}, {"completed", false, true}, {"cancelled", false, false},
	} {
		golden["status"] = tc.status
		q, err1 := quotations.Takes(golden)
		o, err2 := orders.Takes(golden)
		if err1 != nil || err2 != nil || q != tc.quotation || o != tc.orders {
			t.Errorf("an order of status %s: Quotation %v, SalesOrder %v (%v %v); want %v and %v", tc.status, q, o, err1, err2, tc.quotation, tc.orders)
		}
	}

	golden["status"] = "quote"
	q := mapOut(t, quotations, golden)
	wantQ := map[string]any{"YourRef": "WS-1001", "OrderAccount": "Accounts/g-acme", "QuotationDate": "2026-03-10",
		"Description": "Gift wrap, please", "Currency": "EUR"}
	if !maps.EqualFunc(q, wantQ, func(a, b any) bool { return mapping.Equal(a, b) }) {
		t.Errorf("the Quotation Exact is sent: %v, want %v", q, wantQ)
	}
	golden["status"] = "confirmed"
	o := mapOut(t, orders, golden)
	wantO := map[string]any{"YourRef": "WS-1001", "OrderedBy": "Accounts/g-acme", "OrderDate": "2026-03-10",
		"Description": "Gift wrap, please", "Currency": "EUR", "DeliveryDate": nil}
	if !maps.EqualFunc(o, wantO, func(a, b any) bool { return mapping.Equal(a, b) }) {
		t.Errorf("the SalesOrder Exact is sent: %v, want %v", o, wantO)
	}

	// What Exact answers maps back to the same order: its calendar dates
	// at midnight, its statuses translated.
	back := mapIn(t, orders, map[string]any{"OrderID": "guid-1", "YourRef": "WS-1001", "OrderedBy": "guid-acme",
		"OrderDate": "2026-03-10T00:00:00Z", "Description": "Gift wrap, please", "Currency": "EUR", "Status": 12.0, "OrderNumber": 1.0})
	for _, p := range []string{"number", "order_date", "description", "currency", "status"} {
		if !mapping.Equal(back.Props[p], golden[p]) {
			t.Errorf("Exact's SalesOrder back in the hub: %s = %v, want %v", p, back.Props[p], golden[p])
		}
	}
	if !mapping.SameDate(golden["order_date"], "2026-03-10T00:00:00Z") {
		t.Error("the engine would write Exact's order date again every cycle")
	}
	// The shop gets the status only: the order date is the time the
	// shopper placed it.
	if s := mapOut(t, shop, golden); s["status"] != "processing" || s["number"] != "WS-1001" || s["customer_id"] != "customers/g-acme" {
		t.Errorf("the order the shop is sent: %v", s)
	} else if _, ok := s["placed_at"]; ok {
		t.Errorf("placed_at is written to the shop: %v", s)
	}
}

// Statuses: each system's own, translated to the canonical ones (quote,
// open, confirmed, completed, cancelled) and back.
func TestStatusTranslations(t *testing.T) {
	set := compiled(t)
	shop := lookup(t, set, "customwebshop", "orders")
	quotations := lookup(t, set, "exactonline", "Quotations")
	orders := lookup(t, set, "exactonline", "SalesOrders")
	for _, tc := range []struct {
		m      *mapping.Mapping
		status any
		want   string
	}{
		{shop, "pending", "quote"}, {shop, "processing", "confirmed"}, {shop, "completed", "completed"}, {shop, "cancelled", "cancelled"},
		{shop, "Processing", "confirmed"},
		{quotations, 5.0, "cancelled"}, {quotations, 20.0, "quote"}, {quotations, 25.0, "quote"}, {quotations, 35.0, "quote"},
		{quotations, 40.0, "quote"}, {quotations, 50.0, "confirmed"}, {quotations, int64(25), "quote"},
		{orders, 12.0, "confirmed"}, {orders, 20.0, "confirmed"}, {orders, 21.0, "completed"}, {orders, 45.0, "cancelled"},
	} {
		if got := mapIn(t, tc.m, map[string]any{"status": tc.status, "Status": tc.status}).Props["status"]; got != tc.want {
			t.Errorf("%s status %v → %v, want %s", tc.m.Name(), tc.status, got, tc.want)
		}
	}
	for canon, want := range map[string]string{"quote": "pending", "open": "pending", "confirmed": "processing",
		"completed": "completed", "cancelled": "cancelled"} {
		if got := mapOut(t, shop, map[string]any{"status": canon})["status"]; got != want {
			t.Errorf("canonical %s → shop %v, want %s", canon, got, want)
		}
	}
	// Exact's statuses are read-only: never written.
	for _, m := range []*mapping.Mapping{quotations, orders} {
		if _, ok := mapOut(t, m, map[string]any{"status": "confirmed"})["Status"]; ok {
			t.Errorf("%s writes Status", m.Name())
		}
	}
}

// Values that systems spell differently are translated on the way in and
// out: VAT numbers, Exact's padded account codes, countries, amounts.
func TestValueTranslations(t *testing.T) {
	set := compiled(t)
	accounts := lookup(t, set, "exactonline", "Accounts")
	customers := lookup(t, set, "customwebshop", "customers")
	products := lookup(t, set, "customwebshop", "products")
	items := lookup(t, set, "exactonline", "Items")

	in := mapIn(t, accounts, map[string]any{"Code": "             C1001", "Name": "Acme", "VATNumber": "nl 8012.34.567.b01", "Country": " nl"})
	if in.Props["code"] != "C1001" || in.Props["vat_number"] != "NL801234567B01" || in.Props["country"] != "NL" {
		t.Errorf("an Exact account in the hub: %v", in.Props)
	}
	out := mapOut(t, accounts, map[string]any{"code": "C1001", "name": "Acme", "vat_number": "NL801234567B01", "country": "NL"})
	if out["Code"] != "             C1001" || out["VATNumber"] != "NL801234567B01" || out["Country"] != "NL" {
		t.Errorf("an account Exact is sent: %v", out)
	}
	if out := mapOut(t, accounts, map[string]any{"name": "New"}); !mapping.IsEmpty(out["Code"]) {
		t.Errorf("a customer without a code is sent Code %q: Exact hands one out only when none is sent", out["Code"])
	}

	person := mapIn(t, customers, map[string]any{"type": "person", "first_name": "Jan", "last_name": "Jansen", "company_name": "", "vat_number": nil})
	if person.Props["name"] != "Jan Jansen" || person.Props["vat_number"] != nil {
		t.Errorf("a person in the hub: %v", person.Props)
	}
	addr := mapIn(t, customers, map[string]any{"type": "company", "company_name": "Acme",
		"billing_address": map[string]any{"address_1": "Markt 1", "postcode": "2611 GP", "city": "Delft", "country": " nl"}})
	if addr.Props["address_line1"] != "Markt 1" || addr.Props["postcode"] != "2611 GP" || addr.Props["city"] != "Delft" || addr.Props["country"] != "NL" {
		t.Errorf("a shop customer's address in the hub: %v", addr.Props)
	}
	if out := mapOut(t, customers, map[string]any{"name": "Acme", "city": "Delft", "country": "NL"}); !maps.Equal(out["billing_address"].(map[string]any),
		map[string]any{"city": "Delft", "country": "NL"}) {
		t.Errorf("an address the shop is sent: %v", out["billing_address"])
	}
	if person.Props["is_company"] != false {
		t.Errorf("a person in the hub is a company: %v", person.Props)
	}
	if out := mapOut(t, customers, map[string]any{"name": "Jan Jansen", "is_company": false}); out["company_name"] != nil || out["type"] != "person" {
		t.Errorf("a person's name is written to the shop's company_name: %v", out)
	}
	// A customer from a system that does not say is a company.
	if out := mapOut(t, customers, map[string]any{"name": "Initech"}); out["company_name"] != "Initech" || out["type"] != "company" {
		t.Errorf("a customer from elsewhere in the shop: %v", out)
	}

	if p := mapIn(t, products, map[string]any{"sku": "MUG-1", "price": "12.50", "active": true}); p.Props["unit_price"] != 12.5 || p.Props["is_active"] != true {
		t.Errorf("a shop product in the hub: %v", p.Props)
	}
	if p := mapOut(t, products, map[string]any{"code": "MUG-1", "unit_price": 12.499999}); p["price"] != 12.5 {
		t.Errorf("a price the shop is sent: %v", p["price"])
	}
	// Exact's 0 is an item without a price, which must not overwrite one.
	if i := mapIn(t, items, map[string]any{"Code": "MUG-1", "StandardSalesPrice": 0.0, "CostPriceStandard": 0.0}); i.Props["unit_price"] != nil || i.Props["cost_price"] != nil {
		t.Errorf("an Exact item without prices in the hub: %v", i.Props)
	}
	if i := mapOut(t, items, map[string]any{"code": "MUG-1", "name": "Mug", "unit_price": 12.5}); i["StandardSalesPrice"] != nil {
		t.Errorf("Exact's read-only StandardSalesPrice is written: %v", i)
	}
}

// Exact creates a contact only under an account.
func TestExactContactsNeedTheirCompany(t *testing.T) {
	contacts := lookup(t, compiled(t), "exactonline", "Contacts")
	for golden, want := range map[string]bool{"": false, "g-acme": true} {
		props := map[string]any{"email": "ann@acme.test"}
		if golden != "" {
			props["customer"] = golden
		}
		if got, err := contacts.Takes(props); err != nil || got != want {
			t.Errorf("a contact of customer %q: taken %v (%v), want %v", golden, got, err, want)
		}
	}
}
