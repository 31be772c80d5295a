package rest_test

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/connectortest"
	"github.com/concordsync/concord/internal/connector/rest"
)

// TestExampleConfigs keeps the example configurations valid: they parse
// as configuration files, and their REST settings open.
func TestExampleConfigs(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"webshop.yaml", "erp.yaml"} {
		cfg := readConfig(t, name)
		for sys, s := range cfg.Systems {
			if s.Kind != rest.Kind {
				t.Errorf("%s: system %s is of kind %q", name, sys, s.Kind)
				continue
			}
			if _, err := rest.ParseSettings(sys, s.Settings, lookupEnv); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := config.ParseWith(name, mustRead(t, name), config.Options{Kinds: []string{rest.Kind}}); err != nil {
			t.Errorf("%s with the rest kind only: %v", name, err)
		}
	}
}

// The suite runs on the example configurations with one change: pages of
// 40 records instead of 100 or 200, so that its listings cross several page
// boundaries with a hundred records (fast, also under -race).
const (
	conformancePageSize = 40
	conformanceRecords  = 100
)

func smallPages(t *testing.T, file, system string) map[string]any {
	s := settingsOf(readConfig(t, file), system)
	dig(s, "defaults.paging")["size"] = conformancePageSize
	return s
}

// appendText changes a text field by one character.
func appendText(field string) func(f connector.Fields) connector.Fields {
	return func(f connector.Fields) connector.Fields {
		s, _ := f[field].(string)
		return connector.Fields{field: s + "+"}
	}
}

// shopHarness runs the suite against a webshop datatype configured by
// testdata/webshop.yaml. Every Open starts a shop of its own.
func shopHarness(datatype string, newFields func(i int) connector.Fields, change func(connector.Fields) connector.Fields) connectortest.Harness {
	var s *shop
	var c *clock
	return connectortest.Harness{
		Open: func(t *testing.T) connector.Connector {
			c = newClock()
			s = newShop(t, c)
			return open(t, "webshop", smallPages(t, "webshop.yaml", "webshop"), s.front)
		},
		Datatype:  datatype,
		NewFields: newFields,
		Change:    change,
		UserEdit: func(t *testing.T, id string, fields connector.Fields) {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				t.Fatalf("id %q: %v", id, err)
			}
			if _, err := s.srv.Edit(datatype, n, fields); err != nil {
				t.Fatalf("edit %s %s: %v", datatype, id, err)
			}
		},
		Tick:                  func(t *testing.T) { c.Advance(2 * time.Second) },
		CanDelete:             true,
		ChecksIfMatch:         true, // if_match: read
		IncrementalTombstones: true,
		MissingID:             "987654321",
		Records:               conformanceRecords,
	}
}

func TestConformanceWebshopCustomers(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, shopHarness("customers", func(i int) connector.Fields {
		return connector.Fields{"type": "company", "company_name": fmt.Sprintf("Company %d", i), "email": fmt.Sprintf("c%d@shop.test", i),
			"billing_address": map[string]any{"address_1": fmt.Sprintf("Markt %d", i), "address_2": "", "postcode": "2611 GP", "city": "Delft", "state": "", "country": "NL"}}
	}, appendText("company_name")))
}

func TestConformanceWebshopProducts(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, shopHarness("products", func(i int) connector.Fields {
		return connector.Fields{"sku": fmt.Sprintf("SKU-%04d", i), "name": fmt.Sprintf("Mug %d", i), "price": fmt.Sprintf("%d.50", i%90+1), "active": true}
	}, appendText("name")))
}

// erpHarness runs the suite against an ERP datatype configured by
// testdata/erp.yaml. Every Open starts an ERP of its own; prepare adds
// what the datatype's records refer to.
func erpHarness(datatype string, prepare func(l *ledger), newFields func(i int) connector.Fields, change func(connector.Fields) connector.Fields) connectortest.Harness {
	var l *ledger
	var c *clock
	return connectortest.Harness{
		Open: func(t *testing.T) connector.Connector {
			c = newClock()
			l = newERP(t, c)
			if prepare != nil {
				prepare(l)
			}
			return open(t, "erp", smallPages(t, "erp.yaml", "erp"), l.front)
		},
		Datatype:  datatype,
		NewFields: newFields,
		Change:    change,
		UserEdit: func(t *testing.T, id string, fields connector.Fields) {
			if _, err := l.srv.Edit(datatype, id, fields); err != nil {
				t.Fatalf("edit %s %s: %v", datatype, id, err)
			}
		},
		Tick:                  func(t *testing.T) { c.Advance(2 * time.Second) },
		CanDelete:             true,
		ChecksIfMatch:         true, // full updates read the record first
		IncrementalTombstones: true,
		MissingID:             "00000000-0000-4000-8000-000000000000",
		Records:               conformanceRecords,
	}
}

func TestConformanceERPCustomers(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, erpHarness("customers", nil, func(i int) connector.Fields {
		return connector.Fields{"code": fmt.Sprintf("T%05d", i), "name": fmt.Sprintf("Customer %d", i), "email": fmt.Sprintf("c%d@erp.test", i)}
	}, appendText("name")))
}

func TestConformanceERPContacts(t *testing.T) {
	t.Parallel()
	var customer string
	connectortest.Run(t, erpHarness("contacts", func(l *ledger) {
		customer = l.put("customers", map[string]any{"name": "Acme"})["id"].(string)
	}, func(i int) connector.Fields {
		return connector.Fields{"customer_id": customer, "first_name": "Ann", "last_name": fmt.Sprintf("Lee %d", i), "email": fmt.Sprintf("ann%d@acme.test", i)}
	}, appendText("job_title")))
}

func TestConformanceERPProducts(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, erpHarness("products", nil, func(i int) connector.Fields {
		return connector.Fields{"item_number": fmt.Sprintf("ITEM-%04d", i), "name": fmt.Sprintf("Widget %d", i), "price": float64(i) + 0.25}
	}, func(f connector.Fields) connector.Fields {
		p, _ := f["price"].(float64)
		return connector.Fields{"price": p + 1}
	}))
}

// splitLine splits a nested line's record id for a test's own edits.
func splitLine(t *testing.T, id string) (string, string) {
	t.Helper()
	parent, line, ok := strings.Cut(id, "/")
	if !ok {
		t.Fatalf("line id %q", id)
	}
	return parent, line
}

// The lines nested in the shop's orders, as the datatype orders/line_items:
// sixty lines over 45 orders, which take two pages.
func TestConformanceWebshopOrderLines(t *testing.T) {
	t.Parallel()
	var orders []string
	var product int64
	h := shopHarness("orders/line_items", func(i int) connector.Fields {
		return connector.Fields{rest.ParentField: orders[i%len(orders)], "product_id": product, "quantity": float64(i%5 + 1)}
	}, func(f connector.Fields) connector.Fields {
		q, _ := f["quantity"].(float64)
		return connector.Fields{"quantity": q + 1}
	})
	var srv *shop
	var c *clock
	h.Tick = func(t *testing.T) { c.Advance(2 * time.Second) }
	h.Open = func(t *testing.T) connector.Connector {
		c = newClock()
		srv = newShop(t, c)
		cust := srv.put("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "a@acme.test"})
		product = srv.put("products", map[string]any{"sku": "MUG", "name": "Mug", "price": "4.50"})["id"].(int64)
		orders = nil
		for range 45 { // more than a page of orders
			o := srv.put("orders", map[string]any{"customer_id": cust["id"], "line_items": []any{map[string]any{"product_id": product, "quantity": 1}}})
			orders = append(orders, fmt.Sprint(o["id"]))
		}
		return open(t, "webshop", smallPages(t, "webshop.yaml", "webshop"), srv.front)
	}
	h.UserEdit = func(t *testing.T, id string, fields connector.Fields) {
		parent, line := splitLine(t, id)
		n, _ := strconv.ParseInt(parent, 10, 64)
		o, ok := srv.srv.Get("orders", n)
		if !ok {
			t.Fatalf("no order %d", n)
		}
		var items []any
		for _, e := range o["line_items"].([]any) {
			l := map[string]any{"id": e.(map[string]any)["id"]}
			if fmt.Sprint(l["id"]) == line {
				maps.Copy(l, fields)
			}
			items = append(items, l)
		}
		if _, err := srv.srv.Edit("orders", n, map[string]any{"line_items": items}); err != nil {
			t.Fatal(err)
		}
	}
	h.MissingID = "987654321/1"
	h.Records = 60
	connectortest.Run(t, h)
}

// The lines nested in the ERP's orders, as the datatype orders/lines.
func TestConformanceERPOrderLines(t *testing.T) {
	t.Parallel()
	var orders []string
	var item string
	var l *ledger
	h := erpHarness("orders/lines", func(e *ledger) {
		l = e
		cust := e.put("customers", map[string]any{"name": "Acme"})
		item = e.put("products", map[string]any{"item_number": "W-1", "name": "Widget", "price": 2.5})["id"].(string)
		orders = nil
		for range 45 { // more than a page of orders
			o := e.put("orders", map[string]any{"customer_id": cust["id"], "lines": []any{map[string]any{"item_number": "W-1", "qty": 1}}})
			orders = append(orders, o["id"].(string))
		}
	}, func(i int) connector.Fields {
		return connector.Fields{rest.ParentField: orders[i%len(orders)], "item_id": item, "qty": float64(i%5 + 1), "description": fmt.Sprintf("Line %d", i)}
	}, func(f connector.Fields) connector.Fields {
		q, _ := f["qty"].(float64)
		return connector.Fields{"qty": q + 1}
	})
	h.UserEdit = func(t *testing.T, id string, fields connector.Fields) {
		parent, line := splitLine(t, id)
		o, ok := l.srv.Get("orders", parent)
		if !ok {
			t.Fatalf("no order %s", parent)
		}
		var lines []any
		for _, e := range o["lines"].([]any) {
			ln := maps.Clone(e.(map[string]any))
			if fmt.Sprint(ln["line_no"]) == line {
				maps.Copy(ln, fields)
			}
			lines = append(lines, ln)
		}
		if _, err := l.srv.Edit("orders", parent, map[string]any{"lines": lines}); err != nil {
			t.Fatal(err)
		}
	}
	h.MissingID = "00000000-0000-4000-8000-000000000000/1"
	h.Records = 60
	connectortest.Run(t, h)
}
