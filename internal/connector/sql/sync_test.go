package sqlconn

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/store/memstore"
)

// world is Concord syncing a webshop database with an ERP (a memory
// system) through the engine, configured by the backend's example file.
type world struct {
	t    *testing.T
	shop *shop
	erp  *memory.System
	eng  *engine.Engine
}

func newWorld(t *testing.T, backend string) *world {
	t.Helper()
	s := newShop(t, backend)
	name := "erp-" + s.prefix
	erp := memory.NewInstance(name, memory.Options{IDPrefix: "E"})
	t.Cleanup(func() { memory.ForgetInstance(name) })
	cfg := s.exampleConfig(name)
	conns := map[string]connector.Connector{}
	for sys, sc := range cfg.Systems {
		c, err := connector.Open(context.Background(), sc.Kind, sys, sc.Settings)
		if err != nil {
			t.Fatalf("open %s: %v", sys, err)
		}
		t.Cleanup(func() { c.Close() })
		conns[sys] = c
	}
	eng, err := engine.New(cfg, memstore.New(), conns, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, shop: s, erp: erp, eng: eng}
}

// settle syncs until a cycle neither collects nor writes anything: what
// the connector wrote comes back as it was written (no ping-pong).
func (w *world) settle() {
	w.t.Helper()
	for range 8 {
		rep, err := w.eng.SyncOnce(context.Background())
		if err != nil {
			w.t.Fatalf("sync: %v", err)
		}
		for _, e := range rep.Errors {
			w.t.Errorf("sync error: %v", e)
		}
		if rep.Writes() == 0 && rep.Collected == 0 {
			return
		}
	}
	w.t.Fatal("no quiescence after 8 cycles (ping-pong?)")
}

// erpBy returns the one ERP record of a datatype whose field holds value.
func (w *world) erpBy(datatype, field string, value any) connector.Record {
	w.t.Helper()
	var found []connector.Record
	for _, r := range w.erp.Records(datatype) {
		if fmt.Sprint(r.Fields[field]) == fmt.Sprint(value) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		w.t.Fatalf("ERP %s with %s = %v: found %d, want 1: %v", datatype, field, value, len(found), w.erp.Records(datatype))
	}
	return found[0]
}

// Customers, products, and orders with their lines sync both ways between
// a webshop database and an ERP, and settle.
func TestSyncWithERP(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, b)
			s := w.shop

			// The shop has a customer, two products and an order with two lines.
			cust := s.insert("customers", []string{"email", "name", "city", "country"}, "ann@shop.test", "Ann's Bakery", "Aarhus", "DK")
			mug := s.insert("products", []string{"sku", "name", "price"}, "MUG", "Mug", "12.50")
			cup := s.insert("products", []string{"sku", "name", "price", "active"}, "CUP", "Cup", "3.10", false)
			order := "0190a8e2-8a8e-7000-8000-0000000000aa"
			s.exec("INSERT INTO orders (id, number, customer_id, status, order_date) VALUES (?, ?, ?, ?, ?)", order, "SO-1", plainValue(cust), "open", "2024-03-01")
			line := s.insert("order_lines", []string{"order_id", "product_id", "quantity", "unit_price"}, order, mug, "2", "12.50")
			s.insert("order_lines", []string{"order_id", "product_id", "quantity", "unit_price"}, order, cup, "1.5", "3.10")
			w.settle()

			ec := w.erpBy("customers", "email", "ann@shop.test")
			if ec.Fields["name"] != "Ann's Bakery" || ec.Fields["city"] != "Aarhus" {
				t.Fatalf("ERP customer = %v", ec.Fields)
			}
			emug := w.erpBy("products", "sku", "MUG")
			if emug.Fields["price"] != 12.5 || emug.Fields["active"] != true {
				t.Fatalf("ERP product MUG = %v, want price 12.5 and active", emug.Fields)
			}
			if ecup := w.erpBy("products", "sku", "CUP"); ecup.Fields["active"] != false {
				t.Fatalf("ERP product CUP = %v, want inactive", ecup.Fields)
			}
			eo := w.erpBy("orders", "number", "SO-1")
			if eo.Fields["customer_id"] != ec.ID || eo.Fields["date"] != "2024-03-01" {
				t.Fatalf("ERP order = %v, want customer %s and date 2024-03-01", eo.Fields, ec.ID)
			}
			if n := len(w.erp.Records("order_lines")); n != 2 {
				t.Fatalf("ERP has %d order lines, want 2", n)
			}
			el := w.erpBy("order_lines", "product_id", emug.ID)
			if el.Fields["order_id"] != eo.ID || el.Fields["qty"] != 2.0 {
				t.Fatalf("ERP line = %v, want order %s and qty 2", el.Fields, eo.ID)
			}

			// Edits in the ERP reach the shop's rows.
			w.erp.Edit("customers", ec.ID, connector.Fields{"phone": "+45 1234"})
			w.erp.Edit("products", emug.ID, connector.Fields{"price": 13.75})
			w.erp.Edit("order_lines", el.ID, connector.Fields{"qty": 3.0})
			w.settle()
			if got := s.value("SELECT phone FROM customers WHERE id = ?", plainValue(cust)); got != "+45 1234" {
				t.Errorf("shop customer phone = %v", got)
			}
			if got := decimalOf(t, s.value("SELECT price FROM products WHERE id = ?", plainValue(mug))); got != 13.75 {
				t.Errorf("shop product price = %v, want 13.75", got)
			}
			if got := decimalOf(t, s.value("SELECT quantity FROM order_lines WHERE id = ?", plainValue(line))); got != 3 {
				t.Errorf("shop line quantity = %v, want 3", got)
			}

			// Edits in the shop reach the ERP.
			s.exec("UPDATE customers SET city = ? WHERE id = ?", "Odense", plainValue(cust))
			s.exec("UPDATE products SET price = ? WHERE id = ?", "14.00", plainValue(mug))
			s.exec("UPDATE order_lines SET quantity = ? WHERE id = ?", "4", plainValue(line))
			w.settle()
			if got := w.erpBy("customers", "email", "ann@shop.test").Fields["city"]; got != "Odense" {
				t.Errorf("ERP customer city = %v", got)
			}
			if got := w.erpBy("products", "sku", "MUG").Fields["price"]; got != 14.0 {
				t.Errorf("ERP product price = %v", got)
			}
			if got := w.erpBy("order_lines", "product_id", emug.ID).Fields["qty"]; got != 4.0 {
				t.Errorf("ERP line qty = %v", got)
			}

			// New records in the ERP become rows: a customer with an order and a line.
			nc := w.erp.Create("customers", connector.Fields{"email": "bo@erp.test", "name": "Bo", "city": "Vejle"})
			no := w.erp.Create("orders", connector.Fields{"number": "SO-2", "customer_id": nc.ID, "status": "open", "date": "2024-04-02"})
			w.erp.Create("order_lines", connector.Fields{"order_id": no.ID, "product_id": emug.ID, "qty": 1.0, "price": 14.0, "text": "gift wrap"})
			// A line added in the ERP to the shop's order.
			w.erp.Create("order_lines", connector.Fields{"order_id": eo.ID, "product_id": emug.ID, "qty": 6.0, "price": 13.0})
			w.settle()
			newCust := s.value("SELECT id FROM customers WHERE email = ?", "bo@erp.test")
			newOrder := s.value("SELECT id FROM orders WHERE number = ?", "SO-2")
			if got := s.value("SELECT customer_id FROM orders WHERE number = ?", "SO-2"); fmt.Sprint(got) != fmt.Sprint(newCust) {
				t.Errorf("shop order SO-2 belongs to customer %v, want %v", got, newCust)
			}
			if n := s.count("order_lines", "order_id = ? AND description = ?", newOrder, "gift wrap"); n != 1 {
				t.Errorf("shop order SO-2 has %d gift-wrap lines, want 1", n)
			}
			if n := s.count("order_lines", "order_id = ?", order); n != 3 {
				t.Errorf("shop order SO-1 has %d lines, want 3", n)
			}

			// A line deleted in the shop (a hard delete, logged by the change
			// table's trigger) is deleted in the ERP; a customer soft-deleted
			// in the shop is a tombstone the engine reads (and, by the
			// mapping's default delete policy, leaves alone in the ERP).
			s.exec("DELETE FROM order_lines WHERE id = ?", plainValue(line))
			w.settle()
			if n := len(w.erp.Records("order_lines")); n != 3 {
				t.Errorf("ERP has %d order lines after one was deleted in the shop, want 3", n)
			}
			for _, l := range w.erp.Records("order_lines") {
				if l.Fields["order_id"] == eo.ID && l.Fields["qty"] == 4.0 {
					t.Errorf("the line deleted in the shop is still in the ERP: %v", l)
				}
			}
		})
	}
}

func decimalOf(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case string:
		var f float64
		if err := json.Unmarshal([]byte(x), &f); err != nil {
			t.Fatalf("%q is not a number", x)
		}
		return f
	}
	t.Fatalf("%#v is not a number", v)
	return 0
}
