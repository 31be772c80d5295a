package preset_test

import (
	"slices"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/preset"
)

// Every preset is a complete configuration on its own: it parses as a file
// `concord run` reads, its one system is keyed by the preset's name, and
// every property row says its data type.
func TestPresetsParse(t *testing.T) {
	for _, name := range []string{"customwebshop", "exactonline"} {
		if !slices.Contains(preset.Names(), name) {
			t.Errorf("preset %s is not embedded: %v", name, preset.Names())
		}
	}
	for _, name := range preset.Names() {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Parse(name+".yaml", presetYAML(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Systems) != 1 {
				t.Fatalf("%d systems, want the one named %s", len(cfg.Systems), name)
			}
			sys, ok := cfg.Systems[name]
			if !ok || sys.Title == "" || sys.Kind == "" {
				t.Fatalf("system %s: %+v", name, sys)
			}
			if len(cfg.Mappings) == 0 {
				t.Fatal("no mappings")
			}
			for _, m := range cfg.Mappings {
				if m.System != name || m.Title == "" {
					t.Errorf("mapping %s:%s has system %q and title %q", m.System, m.Datatype, m.System, m.Title)
				}
				rows := m.Properties
				if m.Lines != nil {
					rows = append(append([]config.PropertyMap(nil), rows...), m.Lines.Properties...)
				}
				for _, r := range rows {
					if r.Type == "" {
						t.Errorf("%s:%s field %s has no type", m.System, m.Datatype, r.Field)
					}
				}
			}
			if _, err := mapping.Compile(cfg); err != nil {
				t.Errorf("the mappings do not compile: %v", err)
			}
		})
	}
}

// The flow "Custom Webshop → Exact Online" on the built-in definitions:
// customers and products made in the shop arrive in Exact, records both
// systems already hold are linked rather than doubled, edits in Exact reach
// the shop, edits on both sides end at the latest, nothing is created in
// the shop, and a quiet round writes nothing.
func TestFlowWebshopToExactCustomersAndProducts(t *testing.T) {
	for _, store := range []string{"memory", "sqlite"} {
		t.Run(store, func(t *testing.T) { flowCustomersAndProducts(t, newFlow(t, nil, store == "sqlite")) })
	}
}

func flowCustomersAndProducts(t *testing.T, f *flow) {

	// Exact already holds two of the shop's customers, spelt its own way,
	// one of the shop's products, and records of its own.
	brickEx := f.exactPut("Accounts", map[string]any{"Name": "BRICK LTD.", "VATNumber": "GB123456789", "Email": "accounts@brick.test", "City": "London"})
	deltaEx := f.exactPut("Accounts", map[string]any{"Name": "Delta B.V.", "Email": "sales@delta.test", "Country": "NL"})
	f.exactPut("Accounts", map[string]any{"Name": "Initech", "Email": "info@initech.test"})
	mugEx := f.exactPut("Items", map[string]any{"Code": "MUG-1", "Description": "Mug (white)"})
	f.exactPut("Items", map[string]any{"Code": "STAPLER", "Description": "Red stapler"})
	f.clock.Advance(time.Minute)

	acme := f.shopPut("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "info@acme.test",
		"phone": "+31 15 200 0000", "vat_number": "nl 8012.34.567.b01",
		"billing_address": map[string]any{"address_1": "Markt 1", "address_2": "2nd floor", "postcode": "2611 GP", "city": "Delft", "country": "nl"}})
	jan := f.shopPut("customers", map[string]any{"type": "person", "first_name": "Jan", "last_name": "Jansen", "email": "jan@example.test"})
	brick := f.shopPut("customers", map[string]any{"type": "company", "company_name": "Brick Ltd", "email": "hello@brick.test", "vat_number": "GB 123 456 789"})
	f.shopPut("customers", map[string]any{"type": "company", "company_name": "Delta BV", "email": "sales@delta.test", "phone": "+31 20 123 4567"})
	f.shopPut("products", map[string]any{"sku": "MUG-1", "name": "Mug", "price": "12.50", "active": true})
	tea := f.shopPut("products", map[string]any{"sku": "TEA-1", "name": "Green tea", "description": "Loose leaf, 100 g", "price": "3.99", "active": true})
	f.shopPut("products", map[string]any{"sku": "OLD-1", "name": "Retired mug", "price": "5.00", "active": false})

	f.settle()
	// Four accounts for the shop's four customers (two of them linked to
	// the accounts Exact had) plus Exact's own; nothing new in the shop.
	f.want(map[string]int{"exact:Accounts": 5, "shop:customers": 4, "exact:Items": 4, "shop:products": 3})

	accounts := f.exact.Records("Accounts")
	a := one(t, accounts, "Exact accounts", "Email", "info@acme.test")
	if a["Name"] != "Acme" || a["Phone"] != "+31 15 200 0000" || a["VATNumber"] != "NL801234567B01" || len(a["Code"].(string)) != 18 ||
		a["AddressLine1"] != "Markt 1" || a["AddressLine2"] != "2nd floor" || a["Postcode"] != "2611 GP" || a["City"] != "Delft" || a["Country"] != "NL" {
		t.Errorf("the shop's Acme in Exact: %v", a)
	}
	if j := one(t, accounts, "Exact accounts", "Email", "jan@example.test"); j["Name"] != "Jan Jansen" {
		t.Errorf("the shop's person Jan Jansen in Exact: %v", j)
	}
	if j, _ := f.shop.Get("customers", jan["id"].(int64)); j["type"] != "person" || j["company_name"] != "" {
		t.Errorf("the person Jan Jansen in the shop after the sync: %v", j)
	}
	// Linked by VAT number (spelt differently in each): the shop's values
	// are the later ones and win (name, e-mail), what only Exact holds
	// stays (City), and the shop's number is written the one way.
	b := one(t, accounts, "Exact accounts", "ID", brickEx["ID"])
	if b["Name"] != "Brick Ltd" || b["Email"] != "hello@brick.test" || b["City"] != "London" {
		t.Errorf("Brick in Exact after linking: %v", b)
	}
	if s, _ := f.shop.Get("customers", brick["id"].(int64)); s["vat_number"] != "GB123456789" || s["company_name"] != "Brick Ltd" {
		t.Errorf("Brick in the shop after linking: %v", s)
	}
	// Linked by e-mail address.
	if d := one(t, accounts, "Exact accounts", "ID", deltaEx["ID"]); d["Name"] != "Delta BV" || d["Phone"] != "+31 20 123 4567" || d["Country"] != "NL" {
		t.Errorf("Delta in Exact after linking: %v", d)
	}
	if d := one(t, f.shop.Records("customers"), "shop customers", "email", "sales@delta.test"); dig(d, "billing_address")["country"] != "NL" {
		t.Errorf("Delta in the shop after linking has not Exact's country: %v", d)
	}

	items := f.exact.Records("Items")
	if i := one(t, items, "Exact items", "Code", "TEA-1"); i["Description"] != "Green tea" || i["ExtraDescription"] != "Loose leaf, 100 g" || i["IsSalesItem"] != true {
		t.Errorf("the shop's TEA-1 in Exact: %v", i)
	}
	if i := one(t, items, "Exact items", "Code", "OLD-1"); i["IsSalesItem"] != false {
		t.Errorf("the shop's inactive OLD-1 in Exact is for sale: %v", i)
	}
	if i := one(t, items, "Exact items", "ID", mugEx["ID"]); i["Description"] != "Mug" {
		t.Errorf("MUG-1 in Exact after linking: %v", i)
	}
	// The shop's prices become the items' default sales prices in Exact,
	// one price record each, also on the item Exact had without a price:
	// its 0 is no price and does not overwrite the shop's.
	for code, want := range map[string]float64{"TEA-1": 3.99, "OLD-1": 5, "MUG-1": 12.5} {
		i := one(t, items, "Exact items", "Code", code)
		if i["StandardSalesPrice"] != want {
			t.Errorf("%s's sales price in Exact: %v, want %v", code, i["StandardSalesPrice"], want)
		}
		if ps := f.exactPrices(i["ID"]); len(ps) != 1 || ps[0]["Price"] != want {
			t.Errorf("%s's price records in Exact: %v, want one of %v", code, ps, want)
		}
	}
	if p, _ := f.shop.Get("products", tea["id"].(int64)); p["price"] != "3.99" {
		t.Errorf("TEA-1's price in the shop: %v", p["price"])
	}
	teaEx := one(t, items, "Exact items", "Code", "TEA-1")

	// An edit in Exact reaches the shop.
	f.exact.ResetCalls()
	f.clock.Advance(time.Minute)
	f.exactPut("Accounts", map[string]any{"ID": a["ID"], "Phone": "+31 15 999 9999", "VATNumber": "NL801234567B02", "City": "Den Haag", "Postcode": "2511 AA"})
	f.exactPut("Items", map[string]any{"ID": teaEx["ID"], "Description": "Green tea (organic)", "IsSalesItem": false})
	f.exactPut("SalesItemPrices", map[string]any{"ID": f.exactPrices(teaEx["ID"])[0]["ID"], "Price": 4.75})
	f.settle()
	s, _ := f.shop.Get("customers", acme["id"].(int64))
	if s["phone"] != "+31 15 999 9999" || s["vat_number"] != "NL801234567B02" {
		t.Errorf("Exact's edits of Acme in the shop: %v", s)
	}
	if addr := dig(s, "billing_address"); addr["city"] != "Den Haag" || addr["postcode"] != "2511 AA" || addr["address_1"] != "Markt 1" || addr["country"] != "NL" {
		t.Errorf("Exact's edit of Acme's address in the shop: %v", addr)
	}
	if p, _ := f.shop.Get("products", tea["id"].(int64)); p["name"] != "Green tea (organic)" || p["active"] != false || p["price"] != "4.75" {
		t.Errorf("Exact's edits of TEA-1 (its price among them) in the shop: %v", p)
	}
	for _, k := range []string{"PUT crm/Accounts", "PUT logistics/Items", "PUT logistics/SalesItemPrices", "POST logistics/SalesItemPrices"} {
		if n := f.exact.Calls()[k]; n != 0 {
			t.Errorf("Exact's own edits were written back to it: %s %d times", k, n)
		}
	}

	// A price changed in the shop reaches Exact's item, through its one
	// default price record.
	f.clock.Advance(time.Minute)
	f.shopEdit("products", tea["id"], map[string]any{"price": "4.25"})
	f.settle()
	if i, _ := f.exact.Record("Items", teaEx["ID"].(string)); i["StandardSalesPrice"] != 4.25 {
		t.Errorf("TEA-1's sales price in Exact after the shop's change: %v, want 4.25", i["StandardSalesPrice"])
	}
	if ps := f.exactPrices(teaEx["ID"]); len(ps) != 1 || ps[0]["Price"] != 4.25 {
		t.Errorf("TEA-1's price records in Exact: %v, want one of 4.25", ps)
	}
	if p, _ := f.shop.Get("products", tea["id"].(int64)); p["price"] != "4.25" {
		t.Errorf("TEA-1's price in the shop after its own change: %v", p["price"])
	}

	// Edits on both sides between two cycles: the later wins, per property.
	f.clock.Advance(time.Minute)
	f.shopEdit("customers", acme["id"], map[string]any{"phone": "+31 15 111 1111", "email": "sales@acme.test"})
	f.clock.Advance(time.Second)
	f.exactPut("Accounts", map[string]any{"ID": a["ID"], "Phone": "+31 15 222 2222"})
	f.clock.Advance(time.Second)
	f.shopEdit("customers", jan["id"], map[string]any{"phone": "+31 6 1234 5678"})
	f.clock.Advance(time.Second)
	f.exactPut("Accounts", map[string]any{"ID": one(t, accounts, "Exact accounts", "Email", "jan@example.test")["ID"], "Phone": "+31 6 0000 0000"})
	f.settle()
	exA, _ := f.exact.Record("Accounts", a["ID"].(string))
	shA, _ := f.shop.Get("customers", acme["id"].(int64))
	if exA["Phone"] != "+31 15 222 2222" || shA["phone"] != "+31 15 222 2222" || exA["Email"] != "sales@acme.test" || shA["email"] != "sales@acme.test" {
		t.Errorf("Acme edited on both sides: Exact %v / %v, shop %v / %v; want Exact's phone and the shop's e-mail on both",
			exA["Phone"], exA["Email"], shA["phone"], shA["email"])
	}
	shJ, _ := f.shop.Get("customers", jan["id"].(int64))
	if shJ["phone"] != "+31 6 0000 0000" {
		t.Errorf("Jan edited on both sides: shop phone %v, want Exact's later one", shJ["phone"])
	}
	f.want(map[string]int{"exact:Accounts": 5, "shop:customers": 4, "exact:Items": 4, "shop:products": 3})

	// A round with nothing changed writes nothing.
	f.exact.ResetCalls()
	f.shop.ResetCalls()
	rep := f.cycle()
	if rep.Writes() != 0 || rep.Collected != 0 {
		t.Errorf("a quiet round: %+v", rep)
	}
	for k, n := range f.exact.Calls() {
		if k[:4] != "GET " && k != "POST oauth2/token" {
			t.Errorf("a quiet round called Exact %s %d times", k, n)
		}
	}
	for k, n := range f.shop.Calls() {
		if k[:4] != "GET " {
			t.Errorf("a quiet round called the shop %s %d times", k, n)
		}
	}
}

// Orders with their lines: a webshop order waiting for payment is an Exact
// Quotation, a paid one a SalesOrder (also when a quote is paid later),
// each with its lines, its customer and its products linked; edits of the
// order and of its lines in Exact reach the shop, a line added in the shop
// reaches Exact, and Exact completing the order completes it in the shop.
func TestFlowWebshopToExactOrders(t *testing.T) {
	f := newFlow(t, nil, true) // on SQLite, as concord run keeps it
	acme := f.shopPut("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "info@acme.test"})
	mug := f.shopPut("products", map[string]any{"sku": "MUG-1", "name": "Mug", "price": "12.50", "active": true})
	tea := f.shopPut("products", map[string]any{"sku": "TEA-1", "name": "Green tea", "price": "3.99", "active": true})
	placed := time.Date(2026, 3, 10, 0, 30, 0, 0, time.FixedZone("CET", 3600)) // 9 March in UTC
	quote := f.shopPut("orders", map[string]any{"customer_id": acme["id"], "status": "pending", "currency": "EUR",
		"customer_note": "Gift wrap, please", "placed_at": placed,
		"line_items": []any{
			map[string]any{"product_id": mug["id"], "quantity": 2},
			map[string]any{"product_id": tea["id"], "quantity": 3, "price": "3.50"},
		}})
	paid := f.shopPut("orders", map[string]any{"customer_id": acme["id"], "status": "processing", "currency": "EUR",
		"line_items": []any{map[string]any{"product_id": mug["id"], "quantity": 1}}})
	// An order the shop completed before Concord first ran: a SalesOrder in
	// Exact too, and still completed in the shop (Exact's open order does
	// not take it back).
	done := f.shopPut("orders", map[string]any{"customer_id": acme["id"], "status": "processing",
		"line_items": []any{map[string]any{"product_id": tea["id"], "quantity": 6}}})
	f.shopEdit("orders", done["id"], map[string]any{"status": "completed"})

	f.settle()
	f.want(map[string]int{"exact:Accounts": 1, "exact:Items": 2, "exact:Quotations": 1, "exact:QuotationLines": 2,
		"exact:SalesOrders": 2, "exact:SalesOrderLines": 2, "shop:orders": 3})
	if o, _ := f.shop.Get("orders", done["id"].(int64)); o["status"] != "completed" {
		t.Errorf("the completed order is %v in the shop after the sync", o["status"])
	}
	one(t, f.exact.Records("SalesOrders"), "Exact sales orders", "YourRef", done["number"])
	account := one(t, f.exact.Records("Accounts"), "Exact accounts", "Email", "info@acme.test")
	mugEx := one(t, f.exact.Records("Items"), "Exact items", "Code", "MUG-1")
	teaEx := one(t, f.exact.Records("Items"), "Exact items", "Code", "TEA-1")

	q := one(t, f.exact.Records("Quotations"), "Exact quotations", "YourRef", quote["number"])
	if q["OrderAccount"] != account["ID"] || q["Description"] != "Gift wrap, please" || q["Currency"] != "EUR" ||
		!sameDay(q["QuotationDate"], "2026-03-10") {
		t.Errorf("the shop's pending order as an Exact Quotation: %v", q)
	}
	qlines := linesOf(f.exact.Records("QuotationLines"), "QuotationID", q["QuotationID"])
	if l := one(t, qlines, "quotation lines", "Item", mugEx["ID"]); l["Quantity"] != 2.0 || l["UnitPrice"] != 12.5 {
		t.Errorf("the MUG-1 line of the Quotation: %v", l)
	}
	if l := one(t, qlines, "quotation lines", "Item", teaEx["ID"]); l["Quantity"] != 3.0 || l["UnitPrice"] != 3.5 {
		t.Errorf("the TEA-1 line of the Quotation: %v", l)
	}
	so := one(t, f.exact.Records("SalesOrders"), "Exact sales orders", "YourRef", paid["number"])
	if so["OrderedBy"] != account["ID"] || so["Currency"] != "EUR" {
		t.Errorf("the shop's paid order as an Exact SalesOrder: %v", so)
	}
	if ls := linesOf(f.exact.Records("SalesOrderLines"), "OrderID", so["OrderID"]); len(ls) != 1 || ls[0]["Item"] != mugEx["ID"] || ls[0]["Quantity"] != 1.0 {
		t.Errorf("the lines of the paid order in Exact: %v", ls)
	}
	if calls := f.exact.Calls(); calls["POST crm/QuotationLines"] != 0 || calls["POST salesorder/SalesOrderLines"] != 0 {
		t.Errorf("lines were posted alone, not with their order: %v", calls)
	}

	// The quote is paid: it becomes a SalesOrder with its lines; the
	// Quotation stays as it was.
	f.clock.Advance(time.Minute)
	f.shopEdit("orders", quote["id"], map[string]any{"status": "processing"})
	f.settle()
	f.want(map[string]int{"exact:Quotations": 1, "exact:QuotationLines": 2, "exact:SalesOrders": 3, "exact:SalesOrderLines": 4, "shop:orders": 3})
	so2 := one(t, f.exact.Records("SalesOrders"), "Exact sales orders", "YourRef", quote["number"])
	if so2["OrderedBy"] != account["ID"] || so2["Description"] != "Gift wrap, please" || !sameDay(so2["OrderDate"], "2026-03-10") {
		t.Errorf("the paid quote as an Exact SalesOrder: %v", so2)
	}
	lines := linesOf(f.exact.Records("SalesOrderLines"), "OrderID", so2["OrderID"])
	mugLine := one(t, lines, "sales order lines", "Item", mugEx["ID"])
	if mugLine["Quantity"] != 2.0 || one(t, lines, "sales order lines", "Item", teaEx["ID"])["UnitPrice"] != 3.5 {
		t.Errorf("the lines of the paid quote in Exact: %v", lines)
	}

	// Edits in Exact reach the shop: the order's description, a line's
	// quantity.
	f.clock.Advance(time.Minute)
	f.exactPut("SalesOrders", map[string]any{"OrderID": so2["OrderID"], "Description": "No gift wrap"})
	f.exactPut("SalesOrderLines", map[string]any{"ID": mugLine["ID"], "Quantity": 5.0})
	f.settle()
	o, _ := f.shop.Get("orders", quote["id"].(int64))
	if o["customer_note"] != "No gift wrap" {
		t.Errorf("Exact's description edit in the shop: %v", o["customer_note"])
	}
	if l := one(t, shopLines(o), "shop lines", "product_id", mug["id"]); l["quantity"] != int64(5) {
		t.Errorf("Exact's quantity edit in the shop: %v", l)
	}

	// The order edited on both sides: the later edit wins on both.
	f.clock.Advance(time.Minute)
	f.shopEdit("orders", quote["id"], map[string]any{"customer_note": "Ring twice"})
	f.clock.Advance(time.Second)
	f.exactPut("SalesOrders", map[string]any{"OrderID": so2["OrderID"], "Description": "Ring three times"})
	f.settle()
	o, _ = f.shop.Get("orders", quote["id"].(int64))
	if ex, _ := f.exact.Record("SalesOrders", so2["OrderID"].(string)); o["customer_note"] != "Ring three times" || ex["Description"] != "Ring three times" {
		t.Errorf("the order edited on both sides: shop %q, Exact %q; want Exact's later edit on both", o["customer_note"], ex["Description"])
	}

	// A line added in the shop reaches Exact.
	f.clock.Advance(time.Minute)
	items := append(o["line_items"].([]any), map[string]any{"product_id": tea["id"], "quantity": 1, "price": "4.00"})
	f.shopEdit("orders", quote["id"], map[string]any{"line_items": items})
	f.settle()
	if ls := linesOf(f.exact.Records("SalesOrderLines"), "OrderID", so2["OrderID"]); len(ls) != 3 {
		t.Errorf("the shop's new line in Exact: %d lines, want 3: %v", len(ls), ls)
	}

	// Exact completes the first paid order: it is completed in the shop.
	f.clock.Advance(time.Minute)
	f.exactPut("SalesOrders", map[string]any{"OrderID": so["OrderID"], "Status": 21})
	f.settle()
	if o, _ := f.shop.Get("orders", paid["id"].(int64)); o["status"] != "completed" {
		t.Errorf("the order Exact completed is %v in the shop", o["status"])
	}
	f.want(map[string]int{"exact:Accounts": 1, "exact:Items": 2, "exact:Quotations": 1, "exact:QuotationLines": 2,
		"exact:SalesOrders": 3, "exact:SalesOrderLines": 5, "shop:orders": 3, "shop:customers": 1, "shop:products": 2})

	// A quotation accepted in Exact confirms its order: the shop's order is
	// paid for (processing), and Exact gets the SalesOrder.
	third := f.shopPut("orders", map[string]any{"customer_id": acme["id"], "status": "pending",
		"line_items": []any{map[string]any{"product_id": tea["id"], "quantity": 4}}})
	f.settle()
	q3 := one(t, f.exact.Records("Quotations"), "Exact quotations", "YourRef", third["number"])
	f.clock.Advance(time.Minute)
	f.exactPut("Quotations", map[string]any{"QuotationID": q3["QuotationID"], "Status": 50})
	f.settle()
	if o, _ := f.shop.Get("orders", third["id"].(int64)); o["status"] != "processing" {
		t.Errorf("the order whose quotation Exact accepted is %v in the shop", o["status"])
	}
	so3 := one(t, f.exact.Records("SalesOrders"), "Exact sales orders", "YourRef", third["number"])
	if ls := linesOf(f.exact.Records("SalesOrderLines"), "OrderID", so3["OrderID"]); len(ls) != 1 || ls[0]["Quantity"] != 4.0 {
		t.Errorf("the lines of the accepted quotation's SalesOrder: %v", ls)
	}

	// A round with nothing changed writes nothing.
	if rep := f.cycle(); rep.Writes() != 0 || rep.Collected != 0 {
		t.Errorf("a quiet round: %+v", rep)
	}
}

// dig returns a nested object of a shop record.
func dig(rec map[string]any, field string) map[string]any {
	m, _ := rec[field].(map[string]any)
	return m
}

// shopLines are a shop order's line items.
func shopLines(order map[string]any) []map[string]any {
	var out []map[string]any
	for _, l := range order["line_items"].([]any) {
		out = append(out, l.(map[string]any))
	}
	return out
}

// linesOf are the lines of one order.
func linesOf(lines []map[string]any, parentField string, parent any) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l[parentField] == parent {
			out = append(out, l)
		}
	}
	return out
}

// sameDay tells whether Exact's date is the day: the sandbox gives the
// instant of Dutch midnight.
func sameDay(v any, day string) bool {
	t, ok := v.(time.Time)
	nl, err := time.LoadLocation("Europe/Amsterdam")
	return ok && err == nil && t.In(nl).Format("2006-01-02") == day
}
