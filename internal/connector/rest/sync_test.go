package rest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/rest"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/memstore"
)

// hub is Concord syncing the webshop and the ERP sandboxes over HTTP, both
// through kind rest, configured by testdata/webshop.yaml and
// testdata/erp.yaml together, on one clock.
type hub struct {
	t        testing.TB
	clock    *clock
	shop     *shop
	erp      *ledger
	cfg      *config.Config
	st       store.Store
	shopConn *rest.Conn
	erpConn  *rest.Conn
	eng      *engine.Engine
}

// newHub opens the sync. edit, when set, changes the joined configuration
// first (a mistake a test wants to make).
func newHub(t testing.TB, edit func(doc map[string]any)) *hub {
	t.Helper()
	c := newClock()
	h := &hub{t: t, clock: c, shop: newShop(t, c), erp: newERP(t, c), st: memstore.New()}
	h.cfg = joinConfigs(t, edit, "webshop.yaml", "erp.yaml")
	h.shopConn = open(t, "webshop", h.cfg.Systems["webshop"].Settings, h.shop.front)
	h.erpConn = open(t, "erp", h.cfg.Systems["erp"].Settings, h.erp.front)
	var err error
	h.eng, err = engine.New(h.cfg, h.st, map[string]connector.Connector{"webshop": h.shopConn, "erp": h.erpConn},
		engine.Options{Now: c.Now, Logger: quiet})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	return h
}

// cycle runs one sync cycle a minute after the last, as `concord run`
// would.
func (h *hub) cycle() engine.Report {
	h.t.Helper()
	h.clock.Advance(time.Minute)
	rep, err := h.eng.SyncOnce(context.Background())
	if err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	return rep
}

// settle syncs until a cycle neither collects nor writes anything.
func (h *hub) settle() {
	h.t.Helper()
	var reps []string
	for range 12 {
		rep := h.cycle()
		reps = append(reps, fmt.Sprintf("%+v", rep))
		if rep.Writes() == 0 && rep.Collected == 0 && len(rep.Errors) == 0 && rep.Failed == 0 && rep.Deferred == 0 {
			return
		}
	}
	h.deadLetters()
	h.t.Fatalf("no quiescence after 12 cycles:\n%s", strings.Join(reps, "\n"))
}

func (h *hub) deadLetters() {
	for _, m := range h.cfg.Mappings {
		dls, _ := h.st.DeadLetters(context.Background(), m.System, m.Datatype)
		for _, d := range dls {
			h.t.Logf("dead letter %s:%s %s: %s", d.System, d.Datatype, d.Ref, d.Reason)
		}
	}
}

// find returns the one record of a sandbox collection whose field has the
// value, failing when there is not exactly one.
func find(t testing.TB, recs []map[string]any, what, field string, value any) map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range recs {
		if r[field] == value {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%s: %d records with %s = %v, want 1: %v", what, len(out), field, value, recs)
	}
	return out[0]
}

func TestSyncWebshopAndERPBothWays(t *testing.T) {
	t.Parallel()
	h := newHub(t, nil)
	shop, ledger := h.shop, h.erp

	// In the shop.
	acmeShop := shop.put("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "info@acme.test", "phone": "+31 15 200 0000"})
	shop.put("customers", map[string]any{"type": "company", "company_name": "Brick Ltd", "email": "hello@brick.test", "vat_number": "GB123456789"})
	shop.put("products", map[string]any{"sku": "MUG-1", "name": "Mug", "price": "12.50", "active": true})
	mug2 := shop.put("products", map[string]any{"sku": "MUG-2", "name": "Big mug", "price": "3.99", "active": true, "description": "Holds a pint"})
	// In the ERP: one customer and one product that the shop has too
	// (same e-mail, same code), and their own.
	ledger.put("customers", map[string]any{"code": "C-ACME", "name": "Acme", "email": "info@acme.test"})
	delta := ledger.put("customers", map[string]any{"code": "C-DELTA", "name": "Delta BV", "email": "sales@delta.test", "phone": "+31 20 123 4567"})
	ledger.put("products", map[string]any{"item_number": "MUG-1", "name": "Mug", "price": 12.5})
	item := ledger.put("products", map[string]any{"item_number": "TEA-1", "name": "Tea", "price": 7.5, "description": "Green"})
	ledger.put("contacts", map[string]any{"customer_id": delta["id"], "first_name": "Dirk", "last_name": "Delta", "email": "dirk@delta.test"})

	h.settle()
	shopCustomers, erpCustomers := shop.srv.Records("customers"), ledger.srv.Records("customers")
	shopProducts, erpProducts := shop.srv.Records("products"), ledger.srv.Records("products")
	if len(shopCustomers) != 3 || len(erpCustomers) != 3 || len(shopProducts) != 3 || len(erpProducts) != 3 {
		h.deadLetters()
		t.Fatalf("after the first sync: shop %d customers, %d products; ERP %d customers, %d products; want 3 of each",
			len(shopCustomers), len(shopProducts), len(erpCustomers), len(erpProducts))
	}
	if b := find(t, erpCustomers, "ERP customers", "email", "hello@brick.test"); b["name"] != "Brick Ltd" || b["vat_number"] != "GB123456789" || b["code"] == "" {
		t.Errorf("the shop's Brick Ltd in the ERP: %v", b)
	}
	if d := find(t, shopCustomers, "shop customers", "email", "sales@delta.test"); d["company_name"] != "Delta BV" || d["type"] != "company" || d["phone"] != "+31 20 123 4567" {
		t.Errorf("the ERP's Delta BV in the shop: %v", d)
	}
	if p := find(t, erpProducts, "ERP products", "item_number", "MUG-2"); p["price"] != 3.99 || p["description"] != "Holds a pint" || p["blocked"] != false {
		t.Errorf("the shop's MUG-2 in the ERP: %v", p)
	}
	if p := find(t, shopProducts, "shop products", "sku", "TEA-1"); p["price"] != "7.50" || p["name"] != "Tea" || p["active"] != true {
		t.Errorf("the ERP's TEA-1 in the shop: %v", p)
	}
	find(t, erpCustomers, "ERP customers", "email", "info@acme.test")
	find(t, shopCustomers, "shop customers", "email", "info@acme.test")

	// Edits on both sides.
	shop.srv.ResetCalls()
	ledger.srv.ResetCalls()
	if _, err := shop.srv.Edit("customers", acmeShop["id"].(int64), map[string]any{"phone": "+31 15 999 9999"}); err != nil {
		t.Fatal(err)
	}
	if _, err := shop.srv.Edit("products", mug2["id"].(int64), map[string]any{"price": "4.25"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.srv.Edit("customers", delta["id"].(string), map[string]any{"name": "Delta Holding BV"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.srv.Edit("products", item["id"].(string), map[string]any{"blocked": true}); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if a := find(t, ledger.srv.Records("customers"), "ERP customers", "email", "info@acme.test"); a["phone"] != "+31 15 999 9999" || a["code"] != "C-ACME" {
		t.Errorf("the shop's phone edit in the ERP (a full PUT must keep the code): %v", a)
	}
	if p := find(t, ledger.srv.Records("products"), "ERP products", "item_number", "MUG-2"); p["price"] != 4.25 {
		t.Errorf("the shop's price edit in the ERP: %v", p)
	}
	if d := find(t, shop.srv.Records("customers"), "shop customers", "email", "sales@delta.test"); d["company_name"] != "Delta Holding BV" {
		t.Errorf("the ERP's name edit in the shop: %v", d)
	}
	if p := find(t, shop.srv.Records("products"), "shop products", "sku", "TEA-1"); p["active"] != false {
		t.Errorf("the ERP's block in the shop: %v", p)
	}
	shopCalls, erpCalls := shop.srv.Calls(), ledger.srv.Calls()
	if shopCalls["PATCH /api/v1/customers/{id}"] != 1 || shopCalls["PATCH /api/v1/products/{id}"] != 1 || shopCalls["POST /api/v1/customers"] != 0 {
		t.Errorf("writes to the shop for two ERP edits: %v", shopCalls)
	}
	if erpCalls["PUT /erp/customers/{id}"] != 1 || erpCalls["PUT /erp/products/{id}"] != 1 || erpCalls["POST /erp/customers"] != 0 {
		t.Errorf("writes to the ERP for two shop edits: %v", erpCalls)
	}

	// A round with nothing changed writes nothing and reads one page per
	// datatype: three in the shop, four in the ERP, orders twice (once
	// for the orders, once for their lines).
	shop.srv.ResetCalls()
	ledger.srv.ResetCalls()
	if rep := h.cycle(); rep.Writes() != 0 || len(rep.Errors) != 0 {
		t.Errorf("a quiet round: %+v", rep)
	}
	if got, want := shop.srv.Calls(), map[string]int{"GET /api/v1/customers": 1, "GET /api/v1/orders": 2, "GET /api/v1/products": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("a quiet round's calls to the shop: %v, want %v", got, want)
	}
	if got, want := ledger.srv.Calls(), map[string]int{"GET /erp/customers": 1, "GET /erp/contacts": 1, "GET /erp/orders": 2, "GET /erp/products": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("a quiet round's calls to the ERP: %v, want %v", got, want)
	}
}
