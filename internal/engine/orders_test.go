package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
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

// linesInOrderPost is an ERP that, like Exact Online, creates a sales order
// only together with its lines: a POST of SalesOrders must carry them in
// SalesOrderLines, and they become records of the SalesOrderLines datatype.
// Lines are read and changed through that datatype afterwards.
type linesInOrderPost struct {
	*memory.System
	posts     int // order inserts
	linePosts int // line inserts of their own
	// loseNext makes the next order insert happen but answer with a
	// temporary error, as a dropped connection would.
	loseNext bool
}

func (c *linesInOrderPost) Insert(ctx context.Context, datatype string, fields connector.Fields) (connector.Record, error) {
	if datatype == "SalesOrderLines" {
		c.linePosts++
	}
	if datatype != "SalesOrders" {
		return c.System.Insert(ctx, datatype, fields)
	}
	lines, _ := fields["SalesOrderLines"].([]any)
	if len(lines) == 0 {
		return connector.Record{}, fmt.Errorf("SalesOrderLines is required: %w", connector.ErrRejected)
	}
	order := connector.CloneFields(fields)
	delete(order, "SalesOrderLines")
	rec, err := c.System.Insert(ctx, datatype, order)
	if err != nil {
		return rec, err
	}
	c.posts++
	for _, l := range lines {
		line := connector.CloneFields(l.(map[string]any))
		if _, ok := line["OrderID"]; ok {
			return rec, fmt.Errorf("a line posted with its order carries OrderID")
		}
		line["OrderID"] = rec.ID
		c.System.Create("SalesOrderLines", line)
	}
	if c.loseNext {
		c.loseNext = false
		return connector.Record{}, connector.Temporary(fmt.Errorf("connection reset after the order was created"))
	}
	return rec, nil
}

// shopOrder is an order made in the shop by newLinesInPostWorld.
type shopOrder struct {
	customer, order string
	products        []string
	lines           []connector.Record
}

// newLinesInPostWorld is the orders world with an ERP that creates orders
// only with their lines (insert_field), and a confirmed shop order of two
// lines. loseNext makes the first order insert lose its answer.
func newLinesInPostWorld(t *testing.T, loseNext bool) (*world, *linesInOrderPost, shopOrder) {
	yaml := strings.Replace(ordersYAML, "      datatype: SalesOrderLines\n", "      datatype: SalesOrderLines\n      insert_field: SalesOrderLines\n", 1)
	w := newWorld(t, yaml)
	erpConn := &linesInOrderPost{loseNext: loseNext}
	w.wrap = map[string]func(*memory.System) connector.Connector{"erp": func(s *memory.System) connector.Connector {
		erpConn.System = s
		return erpConn
	}}
	w.restart()
	shop := w.sys["shop"]
	var o shopOrder
	o.customer = shop.Create("customers", connector.Fields{"code": "C1"}).ID
	o.products = []string{shop.Create("products", connector.Fields{"sku": "P1"}).ID, shop.Create("products", connector.Fields{"sku": "P2"}).ID}
	o.order = shop.Create("orders", connector.Fields{"number": "SO-1", "customer_id": o.customer, "status": "confirmed"}).ID
	for i, qty := range []float64{2, 1} {
		o.lines = append(o.lines, shop.Create("order_lines", connector.Fields{"order_id": o.order, "product_id": o.products[i], "qty": qty}))
	}
	return w, erpConn, o
}

func TestOrderInsertWithLinesWhoseAnswerIsLostIsNotRepeated(t *testing.T) {
	w, erpConn, _ := newLinesInPostWorld(t, true)
	w.settle()
	if n, l := w.count("erp", "SalesOrders"), w.count("erp", "SalesOrderLines"); n != 1 || l != 2 || erpConn.posts != 1 || erpConn.linePosts != 0 {
		t.Fatalf("after a lost answer: %d orders (%d posts), %d lines (%d posted alone); want 1 (1), 2 (0)", n, erpConn.posts, l, erpConn.linePosts)
	}
	// Linked: a line edited in the ERP reaches the shop's line.
	erpLine := w.records("erp", "SalesOrderLines")[0]
	w.sys["erp"].Edit("SalesOrderLines", erpLine.ID, connector.Fields{"Quantity": 6.0})
	w.settle()
	var qty6 bool
	for _, l := range w.records("shop", "order_lines") {
		qty6 = qty6 || l.Fields["qty"] == 6.0
	}
	if !qty6 || w.count("shop", "order_lines") != 2 {
		t.Fatalf("the ERP line edit did not reach its shop line: %v", w.records("shop", "order_lines"))
	}
}

func TestOrderInsertCarriesItsLines(t *testing.T) {
	w, erpConn, shopOrder := newLinesInPostWorld(t, false)
	shop := w.sys["shop"]
	l2 := shopOrder.lines[1]
	// An order without lines waits for them rather than failing.
	shop.Create("orders", connector.Fields{"number": "SO-2", "customer_id": shopOrder.customer, "status": "confirmed"})
	w.settle()

	so := w.records("erp", "SalesOrders")
	lines := w.records("erp", "SalesOrderLines")
	if len(so) != 1 || len(lines) != 2 || erpConn.posts != 1 {
		t.Fatalf("erp has %d orders (%d posts) and %d lines, want 1 order posted once with 2 lines", len(so), erpConn.posts, len(lines))
	}
	if got := erpConn.linePosts; got != 0 {
		t.Fatalf("%d lines were posted on their own as well; the order carried them", got)
	}
	for _, l := range lines {
		if l.Fields["OrderID"] != so[0].ID {
			t.Fatalf("line %s belongs to %v, want %s", l.ID, l.Fields["OrderID"], so[0].ID)
		}
	}
	dls, err := w.st.DeadLetters(context.Background(), "erp", "SalesOrders")
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || dls[0].Stage != StageWaitWrite || !strings.Contains(dls[0].Reason, "waiting for lines") {
		t.Fatalf("the order without lines should wait for them, got %+v", dls)
	}
	// The lines came back through their datatype and are linked: a change
	// to a shop line is an update of the ERP line, not a new line.
	shop.Edit("order_lines", l2.ID, connector.Fields{"qty": 4.0})
	w.settle()
	lines = w.records("erp", "SalesOrderLines")
	if len(lines) != 2 {
		t.Fatalf("erp has %d lines after a line update, want 2", len(lines))
	}
	var qty4 bool
	for _, l := range lines {
		qty4 = qty4 || l.Fields["Quantity"] == 4.0
	}
	if !qty4 {
		t.Fatalf("the line update did not reach the ERP: %v", lines)
	}
	// A line added to the posted order goes through the lines datatype.
	shop.Create("order_lines", connector.Fields{"order_id": shopOrder.order, "product_id": shopOrder.products[0], "qty": 9.0})
	w.settle()
	if n := w.count("erp", "SalesOrderLines"); n != 3 || erpConn.linePosts != 1 {
		t.Fatalf("erp has %d lines (%d posted on their own) after a third was added, want 3 (1)", n, erpConn.linePosts)
	}
	if erpConn.posts != 1 {
		t.Fatalf("the order was posted %d times", erpConn.posts)
	}
}

// budgetSpent is a system whose call budget is spent for a number of
// write calls: they fail as throttled, without being made.
type budgetSpent struct {
	*memory.System
	left int // writes still refused
}

func (c *budgetSpent) Insert(ctx context.Context, datatype string, fields connector.Fields) (connector.Record, error) {
	if c.left > 0 {
		c.left--
		return connector.Record{}, connector.Throttled(fmt.Errorf("daily budget spent"))
	}
	return c.System.Insert(ctx, datatype, fields)
}

func TestWritesWaitingForACallBudgetAreNeverParked(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	conn := &budgetSpent{left: 12} // more cycles than the retry limit
	w.wrap = map[string]func(*memory.System) connector.Connector{"b": func(s *memory.System) connector.Connector {
		conn.System = s
		return conn
	}}
	w.restart()
	rec := w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme"})
	for i := 0; i < 12; i++ {
		w.sync()
	}
	dls, err := w.st.DeadLetters(context.Background(), "b", "Accounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dls {
		if d.Parked || d.Stage == StageWrite {
			t.Fatalf("a write that waited for the call budget became a failure: %+v", d)
		}
	}
	w.settle()
	if n := w.count("b", "Accounts"); n != 1 {
		t.Fatalf("b has %d accounts once the budget is back, want 1", n)
	}
	// The history says so once, not once per cycle.
	stored, err := w.st.GetRecords(context.Background(), "a", "customers", []string{rec.ID})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := w.st.EventsForGolden(context.Background(), stored[rec.ID].GoldenID)
	if err != nil {
		t.Fatal(err)
	}
	waits := 0
	for _, ev := range evs {
		if ev.Action == "deferred" && strings.Contains(ev.Detail, "call budget") {
			waits++
		}
	}
	if waits != 1 {
		t.Fatalf("%d history lines for the wait, want 1: %+v", waits, evs)
	}
}

// bulkSystem creates records several at a time; it refuses a record whose
// code is "BAD".
type bulkSystem struct {
	*memory.System
	bulkCalls int
}

func (c *bulkSystem) InsertMany(ctx context.Context, datatype string, fields []connector.Fields) []connector.InsertResult {
	c.bulkCalls++
	out := make([]connector.InsertResult, len(fields))
	for i, f := range fields {
		if f["Code"] == "BAD" {
			out[i].Err = fmt.Errorf("Code BAD is not allowed: %w", connector.ErrRejected)
			continue
		}
		out[i].Record, out[i].Err = c.System.Insert(ctx, datatype, f)
	}
	return out
}

func TestInsertsGoInBulkWhereTheSystemTakesThem(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	conn := &bulkSystem{}
	w.wrap = map[string]func(*memory.System) connector.Connector{"b": func(s *memory.System) connector.Connector {
		conn.System = s
		return conn
	}}
	w.restart()
	for i := 0; i < 250; i++ {
		w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprintf("C%03d", i), "name": "Customer"})
	}
	w.sys["a"].Create("customers", connector.Fields{"code": "BAD", "name": "Refused"})
	w.settle()
	if n := w.count("b", "Accounts"); n != 250 {
		t.Fatalf("b has %d accounts, want 250", n)
	}
	if calls := w.sys["b"].Calls()["insert"]; calls != 250 || conn.bulkCalls > 4 {
		t.Fatalf("%d bulk calls for %d inserts; want them in a few bulk calls", conn.bulkCalls, calls)
	}
	dls, err := w.st.DeadLetters(context.Background(), "b", "Accounts")
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || !dls[0].Parked || !strings.Contains(dls[0].Reason, "BAD") {
		t.Fatalf("the refused record should be parked with its reason, got %+v", dls)
	}
	// The inserted records are linked: an edit in b reaches a.
	rec := w.records("b", "Accounts")[0]
	w.sys["b"].Edit("Accounts", rec.ID, connector.Fields{"Name": "Renamed"})
	w.settle()
	var renamed int
	for _, r := range w.records("a", "customers") {
		if r.Fields["name"] == "Renamed" {
			renamed++
		}
	}
	if renamed != 1 || w.count("a", "customers") != 251 {
		t.Fatalf("after an edit in b: %d renamed in a (want 1), %d customers (want 251)", renamed, w.count("a", "customers"))
	}
}

// Lines an insert carried are recognised by what was sent before their
// merge key: lines of one order for the same product, equal lines, and a
// line of another order with the same values are each linked once, and
// none is sent again.
func TestLinesAnInsertCarriedSharingAProductAreLinkedOnce(t *testing.T) {
	w, erpConn, o := newLinesInPostWorld(t, false)
	shop := w.sys["shop"]
	shop.Create("order_lines", connector.Fields{"order_id": o.order, "product_id": o.products[0], "qty": 5.0}) // the product of line 1
	shop.Create("order_lines", connector.Fields{"order_id": o.order, "product_id": o.products[0], "qty": 5.0}) // equal to the one before
	o2 := shop.Create("orders", connector.Fields{"number": "SO-2", "customer_id": o.customer, "status": "confirmed"}).ID
	shop.Create("order_lines", connector.Fields{"order_id": o2, "product_id": o.products[0], "qty": 2.0}) // the values of line 1
	w.settle()
	if n := w.count("erp", "SalesOrderLines"); n != 5 || erpConn.posts != 2 || erpConn.linePosts != 0 {
		t.Fatalf("erp has %d lines (%d posted on their own) of %d orders posted, want 5 lines carried by 2 orders", n, erpConn.linePosts, erpConn.posts)
	}
}

// A line goes where its order goes: once an order has moved on from a
// Quotation to a SalesOrder (the `when` of the Quotation no longer holds),
// a new or changed line of it reaches the SalesOrder only, and the
// Quotation keeps the lines it had, as it keeps its header.
func TestLinesFollowTheConditionOfTheirOrder(t *testing.T) {
	yaml := strings.Replace(ordersYAML, `      - {field: QuotationNumber, property: number}
      - {field: OrderedBy, property: customer, ref: Accounts}
`, `      - {field: QuotationNumber, property: number}
      - {field: OrderedBy, property: customer, ref: Accounts}
    lines:
      datatype: QuotationLines
      parent_field: QuotationID
      properties:
        - {field: Item, property: product, ref: Items}
        - {field: Quantity, property: quantity, type: number}
`, 1)
	w := newWorld(t, yaml)
	shop := w.sys["shop"]
	c := shop.Create("customers", connector.Fields{"code": "C1"})
	p1 := shop.Create("products", connector.Fields{"sku": "P1"})
	p2 := shop.Create("products", connector.Fields{"sku": "P2"})
	o := shop.Create("orders", connector.Fields{"number": "SO-1", "customer_id": c.ID, "status": "quote"})
	l1 := shop.Create("order_lines", connector.Fields{"order_id": o.ID, "product_id": p1.ID, "qty": 2.0})
	w.settle()
	if w.count("erp", "Quotations") != 1 || w.count("erp", "QuotationLines") != 1 || w.count("erp", "SalesOrders") != 0 {
		t.Fatalf("a quote: %d quotations with %d lines, %d sales orders", w.count("erp", "Quotations"),
			w.count("erp", "QuotationLines"), w.count("erp", "SalesOrders"))
	}

	shop.Edit("orders", o.ID, connector.Fields{"status": "confirmed"})
	w.settle()
	shop.Edit("order_lines", l1.ID, connector.Fields{"qty": 5.0})
	shop.Create("order_lines", connector.Fields{"order_id": o.ID, "product_id": p2.ID, "qty": 1.0})
	w.settle()
	if n := w.count("erp", "SalesOrderLines"); n != 2 {
		t.Fatalf("the sales order has %d lines, want 2", n)
	}
	ql := w.records("erp", "QuotationLines")
	if len(ql) != 1 || ql[0].Fields["Quantity"] != 2.0 {
		t.Fatalf("the quotation's lines changed after its order moved on: %v", ql)
	}
}

// insert_when only decides creation: an order created once confirmed is
// still updated when it is cancelled later, where when would freeze it.
func TestInsertWhenGatesCreationOnly(t *testing.T) {
	yaml := `systems:
  a: {kind: memory}
  b: {kind: memory}
mappings:
  - system: a
    datatype: orders
    canonical: order
    merge: [[number]]
    properties:
      - {field: number, property: number}
      - {field: status, property: status}
  - system: b
    datatype: Orders
    canonical: order
    merge: [[number]]
    insert_when: "golden.status == 'confirmed'"
    properties:
      - {field: Number, property: number}
      - {field: Status, property: status}
`
	w := newWorld(t, yaml)
	o := w.sys["a"].Create("orders", connector.Fields{"number": "O1", "status": "quote"})
	w.settle()
	if n := len(w.records("b", "Orders")); n != 0 {
		t.Fatalf("a quote was created in b (%d records)", n)
	}
	w.sys["a"].Edit("orders", o.ID, connector.Fields{"status": "confirmed"})
	w.settle()
	if got := values(w.records("b", "Orders"), "Status"); got != "confirmed" {
		t.Fatalf("b orders after confirmation: %s", got)
	}
	w.sys["a"].Edit("orders", o.ID, connector.Fields{"status": "cancelled"})
	w.settle()
	if got := values(w.records("b", "Orders"), "Status"); got != "cancelled" {
		t.Fatalf("b orders after cancellation: %s, want the linked order updated", got)
	}
}
