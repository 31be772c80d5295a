package engine

import (
	"testing"

	"github.com/concordsync/concord/internal/connector"
)

const ordersYAML = `
systems:
  shop: {kind: memory}
  erp: {kind: memory}
mappings:
  - system: shop
    datatype: customers
    canonical: customer
    merge: [[code]]
    properties:
      - {field: code, property: code}
  - system: erp
    datatype: Accounts
    canonical: customer
    merge: [[code]]
    properties:
      - {field: Code, property: code}
  - system: shop
    datatype: products
    canonical: product
    merge: [[code]]
    properties:
      - {field: sku, property: code}
  - system: erp
    datatype: Items
    canonical: product
    merge: [[code]]
    properties:
      - {field: ItemCode, property: code}
  - system: shop
    datatype: orders
    canonical: order
    merge: [[number]]
    properties:
      - {field: number, property: number}
      - {field: customer_id, property: customer, ref: customers}
      - {field: status, property: status}
    lines:
      datatype: order_lines
      parent_field: order_id
      properties:
        - {field: product_id, property: product, ref: products}
        - {field: qty, property: quantity, type: number}
  - system: erp
    datatype: Quotations
    canonical: order
    merge: [[number]]
    when: "golden.status == 'quote'"
    properties:
      - {field: QuotationNumber, property: number}
      - {field: OrderedBy, property: customer, ref: Accounts}
  - system: erp
    datatype: SalesOrders
    canonical: order
    merge: [[number]]
    when: "golden.status in ['confirmed', 'completed']"
    properties:
      - {field: OrderNumber, property: number}
      - {field: OrderedBy, property: customer, ref: Accounts}
      - {field: Status, property: status}
    lines:
      datatype: SalesOrderLines
      parent_field: OrderID
      properties:
        - {field: Item, property: product, ref: Items}
        - {field: Quantity, property: quantity, type: number}
`

func TestConditionChoosesTargetDatatype(t *testing.T) {
	w := newWorld(t, ordersYAML)
	shop := w.sys["shop"]
	c := shop.Create("customers", connector.Fields{"code": "C1"})
	o := shop.Create("orders", connector.Fields{"number": "SO-1", "customer_id": c.ID, "status": "quote"})
	w.settle()
	if w.count("erp", "Quotations") != 1 || w.count("erp", "SalesOrders") != 0 {
		t.Fatalf("a quote went to quotations=%d salesorders=%d", w.count("erp", "Quotations"), w.count("erp", "SalesOrders"))
	}
	q := w.records("erp", "Quotations")[0]
	acc := w.records("erp", "Accounts")[0]
	if q.Fields["OrderedBy"] != acc.ID {
		t.Fatalf("quotation's customer = %v, want the ERP account %s", q.Fields["OrderedBy"], acc.ID)
	}
	shop.Edit("orders", o.ID, connector.Fields{"status": "confirmed"})
	w.settle()
	if n := w.count("erp", "SalesOrders"); n != 1 {
		t.Fatalf("the confirmed order did not become a sales order: %d", n)
	}
	if got := w.records("erp", "SalesOrders")[0].Fields["OrderNumber"]; got != "SO-1" {
		t.Fatalf("sales order number = %v", got)
	}
}

func TestLinesFlowAsInsertsUpdatesAndDeletes(t *testing.T) {
	w := newWorld(t, ordersYAML)
	shop, erp := w.sys["shop"], w.sys["erp"]
	c := shop.Create("customers", connector.Fields{"code": "C1"})
	p1 := shop.Create("products", connector.Fields{"sku": "P1"})
	p2 := shop.Create("products", connector.Fields{"sku": "P2"})
	o := shop.Create("orders", connector.Fields{"number": "SO-1", "customer_id": c.ID, "status": "confirmed"})
	l1 := shop.Create("order_lines", connector.Fields{"order_id": o.ID, "product_id": p1.ID, "qty": 2.0})
	shop.Create("order_lines", connector.Fields{"order_id": o.ID, "product_id": p2.ID, "qty": 1.0})
	w.settle()
	so := w.records("erp", "SalesOrders")
	lines := w.records("erp", "SalesOrderLines")
	if len(so) != 1 || len(lines) != 2 {
		t.Fatalf("erp has %d orders and %d lines, want 1 and 2", len(so), len(lines))
	}
	for _, l := range lines {
		if l.Fields["OrderID"] != so[0].ID {
			t.Fatalf("line %s belongs to %v, want order %s", l.ID, l.Fields["OrderID"], so[0].ID)
		}
	}
	items := map[string]bool{}
	for _, it := range w.records("erp", "Items") {
		items[it.ID] = true
	}
	for _, l := range lines {
		if !items[l.Fields["Item"].(string)] {
			t.Fatalf("line item %v is not an ERP item id", l.Fields["Item"])
		}
	}

	// An update in the shop becomes a line update in the ERP.
	shop.Edit("order_lines", l1.ID, connector.Fields{"qty": 5.0})
	// A new line in the ERP becomes a line insert in the shop.
	erp.Create("SalesOrderLines", connector.Fields{"OrderID": so[0].ID, "Item": lines[1].Fields["Item"], "Quantity": 7.0})
	w.settle()
	if n := w.count("shop", "order_lines"); n != 3 {
		t.Fatalf("shop has %d lines after a line was added in the ERP, want 3", n)
	}
	var qty5 bool
	for _, l := range w.records("erp", "SalesOrderLines") {
		if l.Fields["Quantity"] == 5.0 {
			qty5 = true
		}
	}
	if !qty5 {
		t.Fatalf("the shop's quantity change did not reach the ERP line: %v", w.records("erp", "SalesOrderLines"))
	}

	// A line deleted in the ERP is deleted in the shop.
	erp.Remove("SalesOrderLines", w.records("erp", "SalesOrderLines")[0].ID)
	w.settle()
	if n := w.count("shop", "order_lines"); n != 2 {
		t.Fatalf("shop has %d lines after a line was deleted in the ERP, want 2", n)
	}
}
