package rest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/rest"
	"github.com/concordsync/concord/internal/engine"
)

// restart opens the connectors and the engine again on the same store, as
// `concord run` does after a crash: what the connectors remember (the
// lines of each order they listed) is in the store, nothing in memory.
func (h *hub) restart() {
	h.t.Helper()
	h.shopConn = openWith(h.t, "webshop", h.cfg.Systems["webshop"].Settings, h.shop.front, rest.Options{State: h.st})
	h.erpConn = openWith(h.t, "erp", h.cfg.Systems["erp"].Settings, h.erp.front, rest.Options{State: h.st})
	var err error
	h.eng, err = engine.New(h.cfg, h.st, map[string]connector.Connector{"webshop": h.shopConn, "erp": h.erpConn},
		engine.Options{Now: h.clock.Now, Logger: quiet})
	if err != nil {
		h.t.Fatalf("engine: %v", err)
	}
}

// lineSummary describes an order's lines as "sku×qty@price" in line order,
// from the shop's line_items or the ERP's lines.
func lineSummary(order map[string]any) string {
	var out []string
	for _, field := range []string{"line_items", "lines"} {
		list, _ := order[field].([]any)
		for _, e := range list {
			l, _ := e.(map[string]any)
			sku := fmt.Sprint(l["sku"])
			if _, erp := l["item_number"]; erp {
				sku = fmt.Sprint(l["item_number"])
			}
			qty := l["quantity"]
			if qty == nil {
				qty = l["qty"]
			}
			out = append(out, fmt.Sprintf("%s×%v@%v", sku, qty, strings.TrimSuffix(strings.TrimSuffix(fmt.Sprint(l["price"]), ".00"), ".0")))
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// orderByNumber finds the one live order of a sandbox with the number.
func orderByNumber(t testing.TB, recs []map[string]any, what, number string) map[string]any {
	t.Helper()
	return find(t, recs, what, "number", number)
}

func lineList(order map[string]any, field string) []any {
	list, _ := order[field].([]any)
	return slices.Clone(list)
}

// TestSyncOrdersWithNestedLines: orders whose lines are nested in them
// (the shop's line_items with ids, the ERP's lines numbered by line_no)
// sync both ways through the engine, lines included: created once on the
// other side with their lines, and a line added, changed or removed on
// either side reaches the other.
func TestSyncOrdersWithNestedLines(t *testing.T) {
	t.Parallel()
	h := newHub(t, nil)
	h.restart() // the connectors keep their state in the engine's store
	shop, ledger := h.shop, h.erp

	acme := shop.put("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "info@acme.test"})
	mug := shop.put("products", map[string]any{"sku": "MUG-1", "name": "Mug", "price": "12.50", "active": true})
	tea := shop.put("products", map[string]any{"sku": "TEA-1", "name": "Tea", "price": "7.50", "active": true})
	ledger.put("products", map[string]any{"item_number": "PEN-1", "name": "Pen", "price": 2.0})
	h.settle()

	// An order placed in the shop arrives in the ERP with its lines, once.
	wsOrder := shop.put("orders", map[string]any{"customer_id": acme["id"], "customer_note": "Leave at the door",
		"line_items": []any{map[string]any{"product_id": mug["id"], "quantity": 2}, map[string]any{"product_id": tea["id"], "quantity": 1}}})
	wsNumber := wsOrder["number"].(string)
	shop.srv.ResetCalls()
	ledger.srv.ResetCalls()
	h.settle()
	if c := ledger.srv.Calls(); c["POST /erp/orders"] != 1 || writes(c) != 1 {
		t.Errorf("an order of two lines reaches the ERP in one POST that carries its lines: %v", c)
	}
	t.Logf("an order of two lines made in the shop: ERP %v; shop %v", ledger.srv.Calls(), shop.srv.Calls())
	erpOrder := orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", wsNumber)
	if got, want := lineSummary(erpOrder), "MUG-1×2@12.5 TEA-1×1@7.5"; got != want {
		h.deadLetters()
		t.Fatalf("the shop's order in the ERP has lines %q, want %q: %v", got, want, erpOrder)
	}
	if erpOrder["description"] != "Leave at the door" {
		t.Errorf("the shop's order in the ERP: %v", erpOrder)
	}
	if got := lineSummary(orderByNumber(t, shop.srv.Records("orders"), "shop orders", wsNumber)); got != "MUG-1×2@12.50 TEA-1×1@7.50" {
		t.Errorf("the shop's order after the sync has lines %q", got)
	}

	// An order entered in the ERP arrives in the shop with its lines, once.
	erpCustomer := find(t, ledger.srv.Records("customers"), "ERP customers", "email", "info@acme.test")
	soOrder := ledger.put("orders", map[string]any{"customer_id": erpCustomer["id"], "reference": "PO-7",
		"lines": []any{map[string]any{"item_number": "PEN-1", "qty": 10}, map[string]any{"item_number": "MUG-1", "qty": 1, "price": 11}}})
	soNumber := soOrder["number"].(string)
	h.settle()
	if got, want := lineSummary(orderByNumber(t, shop.srv.Records("orders"), "shop orders", soNumber)), "MUG-1×1@11 PEN-1×10@2"; got != want {
		h.deadLetters()
		t.Fatalf("the ERP's order in the shop has lines %q, want %q", got, want)
	}
	if got := lineSummary(orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", soNumber)); got != "MUG-1×1@11 PEN-1×10@2" {
		t.Errorf("the ERP's order after the sync has lines %q", got)
	}

	// In the shop: a line added, one changed, one removed.
	shopOrder := orderByNumber(t, shop.srv.Records("orders"), "shop orders", wsNumber)
	items := lineList(shopOrder, "line_items")
	mugLine := connector.CloneValue(items[0]).(map[string]any)
	mugLine["quantity"] = 5
	if _, err := shop.srv.Edit("orders", shopOrder["id"].(int64), map[string]any{"line_items": []any{
		map[string]any{"id": mugLine["id"], "quantity": 5},                   // changed
		map[string]any{"product_id": mug["id"], "quantity": 1, "price": "0"}, // added: a free mug
	}}); err != nil { // the tea line is removed
		t.Fatal(err)
	}
	shop.srv.ResetCalls()
	ledger.srv.ResetCalls()
	h.settle()
	if got, want := lineSummary(orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", wsNumber)), "MUG-1×1@0 MUG-1×5@12.5"; got != want {
		h.deadLetters()
		t.Fatalf("after the shop's line edits the ERP's order has lines %q, want %q", got, want)
	}
	erpCalls, shopCalls := ledger.srv.Calls(), shop.srv.Calls()
	// Three line writes, each a GET and a PUT of the order.
	if erpCalls["GET /erp/orders/{id}"] != 3 || erpCalls["PUT /erp/orders/{id}"] != 3 || writes(erpCalls) != 3 || writes(shopCalls) != 0 {
		t.Errorf("calls for three line changes in the shop: ERP %v, shop %v", erpCalls, shopCalls)
	}
	t.Logf("three line changes made in the shop: ERP %v; shop %v", erpCalls, shopCalls)

	// In the ERP: a line added, one changed, one removed.
	erpOrder = orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", soNumber)
	lines := lineList(erpOrder, "lines")
	var kept []any
	for _, e := range lines {
		l := connector.CloneValue(e).(map[string]any)
		switch l["item_number"] {
		case "PEN-1":
			l["qty"] = 12.0 // changed
			kept = append(kept, l)
		case "MUG-1": // removed
		}
	}
	kept = append(kept, map[string]any{"item_number": "TEA-1", "qty": 3}) // added
	if _, err := ledger.srv.Edit("orders", erpOrder["id"].(string), map[string]any{"lines": kept}); err != nil {
		t.Fatal(err)
	}
	shop.srv.ResetCalls()
	ledger.srv.ResetCalls()
	h.settle()
	if got, want := lineSummary(orderByNumber(t, shop.srv.Records("orders"), "shop orders", soNumber)), "PEN-1×12@2 TEA-1×3@7.50"; got != want {
		h.deadLetters()
		t.Fatalf("after the ERP's line edits the shop's order has lines %q, want %q", got, want)
	}
	erpCalls, shopCalls = ledger.srv.Calls(), shop.srv.Calls()
	if shopCalls["GET /api/v1/orders/{id}"] != 3 || shopCalls["PATCH /api/v1/orders/{id}"] != 3 || writes(shopCalls) != 3 || writes(erpCalls) != 0 {
		t.Errorf("calls for three line changes in the ERP: shop %v, ERP %v", shopCalls, erpCalls)
	}
	t.Logf("three line changes made in the ERP: shop %v; ERP %v", shopCalls, erpCalls)

	// A quiet round writes nothing, and reads each system's orders twice
	// (the orders, and their lines).
	shop.srv.ResetCalls()
	ledger.srv.ResetCalls()
	if rep := h.cycle(); rep.Writes() != 0 || len(rep.Errors) != 0 {
		t.Errorf("a quiet round: %+v", rep)
	}
	if c := shop.srv.Calls(); c["GET /api/v1/orders"] != 2 || writes(c) != 0 {
		t.Errorf("a quiet round's calls to the shop: %v", c)
	}

	// A line removed while Concord is down (and restarted without memory
	// of its own) still reaches the other side: the ids of the lines the
	// connector listed are in the store.
	shopOrder = orderByNumber(t, shop.srv.Records("orders"), "shop orders", soNumber)
	items = lineList(shopOrder, "line_items")
	if _, err := shop.srv.Edit("orders", shopOrder["id"].(int64), map[string]any{"line_items": items[:1]}); err != nil {
		t.Fatal(err)
	}
	h.restart()
	h.settle()
	if got, want := lineSummary(orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", soNumber)), "PEN-1×12@2"; got != want {
		h.deadLetters()
		t.Fatalf("a line removed in the shop while Concord was down: the ERP's order has lines %q, want %q", got, want)
	}
}

// TestNestedLinesWithLostAnswers: a line write whose answer is lost is
// repeated within the call; the repeat sends the order's list again, so
// the line is there once, not twice, and an order inserted with its lines
// whose answer is lost is found again by its number, with its lines once.
func TestNestedLinesWithLostAnswers(t *testing.T) {
	t.Parallel()
	h := newHub(t, nil)
	h.restart()
	shop, ledger := h.shop, h.erp

	shop.put("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "info@acme.test"})
	shop.put("products", map[string]any{"sku": "MUG-1", "name": "Mug", "price": "12.50", "active": true})
	h.settle()
	erpCustomer := find(t, ledger.srv.Records("customers"), "ERP customers", "email", "info@acme.test")

	// The POST of the ERP's new order to the shop is made, its answer lost.
	lost := 0
	shop.faultBy(func(r *http.Request, _ int) *fault {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/orders") && lost == 0 {
			lost++
			return &fault{lose: true}
		}
		return nil
	})
	so := ledger.put("orders", map[string]any{"customer_id": erpCustomer["id"], "lines": []any{map[string]any{"item_number": "MUG-1", "qty": 2}}})
	h.settle()
	shopOrders := shop.srv.Records("orders")
	if len(shopOrders) != 1 || lineSummary(shopOrders[0]) != "MUG-1×2@12.50" || lost != 1 {
		h.deadLetters()
		t.Fatalf("after a lost answer to the order's POST (%d lost) the shop has %d orders: %v", lost, len(shopOrders), shopOrders)
	}

	// The PATCH that adds a line in the shop is made, its answer lost.
	lost = 0
	shop.faultBy(func(r *http.Request, _ int) *fault {
		if r.Method == http.MethodPatch && lost == 0 {
			lost++
			return &fault{lose: true}
		}
		return nil
	})
	lines := lineList(orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", so["number"].(string)), "lines")
	if _, err := ledger.srv.Edit("orders", so["id"].(string), map[string]any{"lines": append(lines, map[string]any{"item_number": "MUG-1", "qty": 7})}); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if got := lineSummary(orderByNumber(t, shop.srv.Records("orders"), "shop orders", so["number"].(string))); got != "MUG-1×2@12.50 MUG-1×7@12.50" || lost != 1 {
		h.deadLetters()
		t.Fatalf("after a lost answer to the PATCH that adds a line (%d lost), the shop's order has lines %q", lost, got)
	}
	if got := lineSummary(orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", so["number"].(string))); got != "MUG-1×2@12.5 MUG-1×7@12.5" {
		t.Errorf("the ERP's order has lines %q", got)
	}
}

// The virtual datatype of nested lines: listings, tombstones, writes.
func TestNestedLinesDatatype(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newShop(t, c)
	cust := s.put("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "a@acme.test"})
	mug := s.put("products", map[string]any{"sku": "MUG", "name": "Mug", "price": "4.50"})
	tea := s.put("products", map[string]any{"sku": "TEA", "name": "Tea", "price": "2.25"})
	order := s.put("orders", map[string]any{"customer_id": cust["id"], "line_items": []any{map[string]any{"product_id": mug["id"], "quantity": 2}}})
	conn := open(t, "webshop", readConfig(t, "webshop.yaml").Systems["webshop"].Settings, s.front)
	ctx := context.Background()
	const dt = "orders/line_items"

	recs, cursor := listAll(t, conn, dt, connector.ListRequest{Full: true})
	if len(recs) != 1 || recs[0].Fields[rest.ParentField] != fmt.Sprint(order["id"]) || recs[0].Fields["sku"] != "MUG" || recs[0].Modified.IsZero() {
		t.Fatalf("a full listing of the lines: %+v", recs)
	}
	first := recs[0]
	if !strings.HasPrefix(first.ID, fmt.Sprint(order["id"])+"/") {
		t.Errorf("a line's id is <order id>/<line id>: %q", first.ID)
	}
	got, err := conn.Get(ctx, dt, first.ID)
	if err != nil || connector.Hash(got.Fields) != connector.Hash(first.Fields) {
		t.Fatalf("Get of a listed line: %+v %v", got, err)
	}

	// Insert appends a line (the product id as text, as the engine writes
	// references); its id is read from the answer.
	c.Advance(2e9)
	added, err := conn.Insert(ctx, dt, connector.Fields{rest.ParentField: fmt.Sprint(order["id"]), "product_id": fmt.Sprint(tea["id"]), "quantity": 3.0})
	if err != nil || added.ID == "" || added.Fields["sku"] != "TEA" {
		t.Fatalf("insert of a line: %+v %v", added, err)
	}
	// Update with an outdated hash conflicts; with the current one it
	// changes the line in place.
	if _, err := conn.Update(ctx, dt, first.ID, connector.Fields{"quantity": 4.0}, "outdated"); !errors.Is(err, connector.ErrConflict) {
		t.Errorf("an update based on an outdated line: %v, want a conflict", err)
	}
	up, err := conn.Update(ctx, dt, first.ID, connector.Fields{"quantity": 4.0}, connector.Hash(first.Fields))
	if err != nil || up.Fields["quantity"] != 4.0 || up.ID != first.ID {
		t.Fatalf("update of a line: %+v %v", up, err)
	}
	// Changes since the cursor: both lines, the order's time.
	c.Advance(2e9)
	recs, cursor = listAll(t, conn, dt, connector.ListRequest{Cursor: cursor})
	if len(recs) != 2 {
		t.Fatalf("changes after an insert and an update: %+v", recs)
	}
	// Delete removes the line; the next change listing has its tombstone,
	// and so has every later one that reads the order.
	if err := conn.Delete(ctx, dt, first.ID); err != nil {
		t.Fatal(err)
	}
	if err := conn.Delete(ctx, dt, first.ID); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("deleting a deleted line: %v, want not found", err)
	}
	if _, err := conn.Get(ctx, dt, first.ID); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("Get of a deleted line: %v, want not found", err)
	}
	c.Advance(2e9)
	recs, cursor = listAll(t, conn, dt, connector.ListRequest{Cursor: cursor})
	var tomb []string
	for _, r := range recs {
		if r.Deleted {
			tomb = append(tomb, r.ID)
		}
	}
	if len(recs) != 2 || len(tomb) != 1 || tomb[0] != first.ID {
		t.Errorf("changes after a delete: %+v", recs)
	}
	// A full listing holds the live lines only.
	if recs, _ = listAll(t, conn, dt, connector.ListRequest{Full: true}); len(recs) != 1 || recs[0].ID != added.ID {
		t.Errorf("a full listing after a delete: %+v", recs)
	}
	// A deleted order tombstones every line it had.
	c.Advance(2e9)
	if err := s.srv.Remove("orders", order["id"].(int64)); err != nil {
		t.Fatal(err)
	}
	recs, _ = listAll(t, conn, dt, connector.ListRequest{Cursor: cursor})
	if len(recs) != 2 || !recs[0].Deleted || !recs[1].Deleted {
		t.Errorf("changes after the order was deleted: %+v", recs)
	}
	if _, err := conn.Get(ctx, dt, added.ID); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("Get of a line of a deleted order: %v, want not found", err)
	}
	if _, err := conn.List(ctx, "orders/items", connector.ListRequest{}); err == nil || !strings.Contains(err.Error(), "settings.datatypes.orders.lines") {
		t.Errorf("lines the settings do not name: %v", err)
	}
}

// The engine's circuit breaker counts the tombstones of nested lines like
// any deletions of their datatype: an order deleted with most of the
// lines there are stops at the breaker until someone accepts it, and its
// lines then go from the other side (lines follow their order).
func TestNestedLinesAndTheBreaker(t *testing.T) {
	t.Parallel()
	h := newHub(t, nil)
	h.restart()
	shop, ledger := h.shop, h.erp
	acme := shop.put("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "info@acme.test"})
	mug := shop.put("products", map[string]any{"sku": "MUG-1", "name": "Mug", "price": "12.50", "active": true})
	lines := func(n int) []any {
		var out []any
		for i := range n {
			out = append(out, map[string]any{"product_id": mug["id"], "quantity": i + 1})
		}
		return out
	}
	big := shop.put("orders", map[string]any{"customer_id": acme["id"], "line_items": lines(7)})
	shop.put("orders", map[string]any{"customer_id": acme["id"], "line_items": lines(4)})
	h.settle()
	if n := strings.Count(lineSummary(orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", big["number"].(string))), "×"); n != 7 {
		h.deadLetters()
		t.Fatalf("the big order reached the ERP with %d lines, want 7: %v", n, lineSummary(orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", big["number"].(string))))
	}

	if err := shop.srv.Remove("orders", big["id"].(int64)); err != nil {
		t.Fatal(err)
	}
	rep := h.cycle()
	if !slices.Contains(rep.BreakerHit, "webshop:orders/line_items") {
		t.Fatalf("7 of 11 lines gone in one read: breaker hits %v", rep.BreakerHit)
	}
	h.settle()
	if n := strings.Count(lineSummary(orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", big["number"].(string))), "×"); n != 7 {
		t.Fatalf("with the breaker open the ERP's order has %d lines, want 7 still", n)
	}
	if err := h.st.SetBreaker(context.Background(), "webshop", "orders/line_items", engine.BreakerAccepted); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if got := lineSummary(orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", big["number"].(string))); got != "" {
		t.Errorf("once accepted, the deleted order's lines are removed from the ERP's order (its header stays: delete ignore): %q", got)
	}
}

// A crash at any point of a cycle that carries line changes (a line added,
// one changed, one removed in the ERP) loses none and makes no line twice:
// after a restart on the same store the shop's order has the ERP's lines.
func TestNestedLinesSurviveACrashAtEveryPoint(t *testing.T) {
	t.Parallel()
	points := []string{engine.PointCollectPage, engine.PointCollectDone, engine.PointMergeBatch, engine.PointShareBeforeWrite,
		engine.PointShareAfterInsert, engine.PointShareAfterUpdate, engine.PointShareAfterDelete, engine.PointShareMidBatch, engine.PointShareCommit}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			// Pages of one record, so that listings have pages to crash between.
			h := newHub(t, func(doc map[string]any) {
				dig(doc, "systems.erp.settings.defaults.paging")["size"] = 1
				dig(doc, "systems.webshop.settings.defaults.paging")["size"] = 1
			})
			h.restart()
			shop, ledger := h.shop, h.erp
			acme := ledger.put("customers", map[string]any{"name": "Acme", "email": "info@acme.test"})
			ledger.put("customers", map[string]any{"name": "Brick", "email": "info@brick.test"})
			pen := ledger.put("products", map[string]any{"item_number": "PEN-1", "name": "Pen", "price": 2.0})
			ledger.put("products", map[string]any{"item_number": "INK-1", "name": "Ink", "price": 5.0})
			so := ledger.put("orders", map[string]any{"customer_id": acme["id"], "lines": []any{
				map[string]any{"item_id": pen["id"], "qty": 1}, map[string]any{"item_number": "INK-1", "qty": 2}}})
			number := so["number"].(string)
			h.settle()

			lines := lineList(orderByNumber(t, ledger.srv.Records("orders"), "ERP orders", number), "lines")
			pens := connector.CloneValue(lines[0]).(map[string]any)
			pens["qty"] = 4.0 // changed; INK removed; a new pen line added
			if _, err := ledger.srv.Edit("orders", so["id"].(string), map[string]any{"lines": []any{pens, map[string]any{"item_number": "PEN-1", "qty": 9}}}); err != nil {
				t.Fatal(err)
			}
			crashed := false
			eng, err := engine.New(h.cfg, h.st, map[string]connector.Connector{"webshop": h.shopConn, "erp": h.erpConn}, engine.Options{
				Now: h.clock.Now, Logger: quiet, Crash: func(p string) error {
					if p == point && !crashed {
						crashed = true
						return engine.ErrCrash
					}
					return nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			for range 4 {
				h.clock.Advance(time.Minute)
				if _, err := eng.SyncOnce(context.Background()); err != nil && !errors.Is(err, engine.ErrCrash) {
					t.Fatal(err)
				}
				if crashed {
					break
				}
			}
			if !crashed {
				t.Errorf("the cycles never reached %s", point)
			}
			h.restart()
			h.settle()
			if got, want := lineSummary(orderByNumber(t, shop.srv.Records("orders"), "shop orders", number)), "PEN-1×4@2 PEN-1×9@2"; got != want {
				h.deadLetters()
				t.Fatalf("crashed at %s (%v): the shop's order has lines %q, want %q", point, crashed, got, want)
			}
		})
	}
}
