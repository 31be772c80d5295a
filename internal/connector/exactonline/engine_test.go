package exactonline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/memstore"
)

// syncYAML is how a user configures a webshop (here a memory system) and
// Exact Online: customers, contacts, products, quotations and sales orders
// with their lines, both ways. Exact keeps account codes right-aligned in
// 18 characters; the mapping pads and trims them.
const syncYAML = `
canonical:
  quote:
    properties:
      number: {type: string}
      customer: {type: reference, ref: customer}
      description: {type: string}
    lines:
      product: {type: reference, ref: product}
      quantity: {type: number}
      unit_price: {type: number}
systems:
  shop: {kind: memory}
  exact:
    kind: exactonline
    settings:
      base_url: %q
      division: %d
      client_id: %q
      client_secret: %q
      refresh_token: %q
mappings:
  - system: shop
    datatype: customers
    canonical: customer
    merge: [[code]]
    properties:
      - {field: code, property: code}
      - {field: name, property: name}
      - {field: email, property: email}
      - {field: city, property: city}
  - system: exact
    datatype: Accounts
    canonical: customer
    merge: [[code]]
    properties:
      - {field: Code, property: code, in: "trimpad(value)", out: "pad(value, 18, ' ')"}
      - {field: Name, property: name}
      - {field: Email, property: email}
      - {field: City, property: city}
  - system: shop
    datatype: contacts
    canonical: contact
    merge: [[email]]
    properties:
      - {field: first_name, property: first_name}
      - {field: last_name, property: last_name}
      - {field: email, property: email}
      - {field: customer_id, property: customer, ref: customers}
  - system: exact
    datatype: Contacts
    canonical: contact
    merge: [[email]]
    properties:
      - {field: FirstName, property: first_name}
      - {field: LastName, property: last_name}
      - {field: Email, property: email}
      - {field: Account, property: customer, ref: Accounts}
  - system: shop
    datatype: products
    canonical: product
    merge: [[code]]
    properties:
      - {field: sku, property: code}
      - {field: title, property: name}
  - system: exact
    datatype: Items
    canonical: product
    merge: [[code]]
    properties:
      - {field: Code, property: code}
      - {field: Description, property: name}
  - system: shop
    datatype: quotes
    canonical: quote
    merge: [[number]]
    properties:
      - {field: number, property: number}
      - {field: customer_id, property: customer, ref: customers}
      - {field: note, property: description}
    lines:
      datatype: quote_lines
      parent_field: quote_id
      properties:
        - {field: product_id, property: product, ref: products}
        - {field: qty, property: quantity, type: number}
        - {field: price, property: unit_price, type: number}
  - system: exact
    datatype: Quotations
    canonical: quote
    merge: [[number]]
    properties:
      - {field: QuotationNumber, property: number, type: integer}
      - {field: OrderAccount, property: customer, ref: Accounts}
      - {field: Description, property: description}
    lines:
      datatype: QuotationLines
      parent_field: QuotationID
      insert_field: QuotationLines
      properties:
        - {field: Item, property: product, ref: Items}
        - {field: Quantity, property: quantity, type: number}
        - {field: UnitPrice, property: unit_price, type: number}
  - system: shop
    datatype: orders
    canonical: order
    merge: [[number]]
    properties:
      - {field: number, property: number}
      - {field: customer_id, property: customer, ref: customers}
      - {field: reference, property: reference}
    lines:
      datatype: order_lines
      parent_field: order_id
      properties:
        - {field: product_id, property: product, ref: products}
        - {field: qty, property: quantity, type: number}
        - {field: price, property: unit_price, type: number}
  - system: exact
    datatype: SalesOrders
    canonical: order
    merge: [[number]]
    properties:
      - {field: OrderNumber, property: number, type: integer}
      - {field: OrderedBy, property: customer, ref: Accounts}
      - {field: YourRef, property: reference}
    lines:
      datatype: SalesOrderLines
      parent_field: OrderID
      insert_field: SalesOrderLines
      properties:
        - {field: Item, property: product, ref: Items}
        - {field: Quantity, property: quantity, type: number}
        - {field: UnitPrice, property: unit_price, type: number}
`

// hub is the engine between a memory system and the Exact sandbox, on one
// clock.
type hub struct {
	t    testing.TB
	e    *env
	cfg  *config.Config
	st   store.Store
	shop *memory.System
	conn *Conn
	eng  *engine.Engine
}

// newHub configures a sync as a user would (yaml holds %q/%d verbs for the
// exact system's settings) and opens it.
func newHub(t testing.TB, e *env, yaml string) *hub {
	t.Helper()
	text := fmt.Sprintf(yaml, e.url, e.creds.Division, e.creds.ClientID, e.creds.ClientSecret, e.creds.RefreshToken)
	cfg, err := config.Parse("concord.yaml", []byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &hub{t: t, e: e, cfg: cfg, st: memstore.New()}
	h.shop = memory.New("shop", memory.Options{Clock: h.tick, PageSize: 500})
	h.restart()
	return h
}

// tick is the memory system's clock: the test clock, a millisecond on per
// reading, so that its records are ordered in time with Exact's.
func (h *hub) tick() time.Time {
	h.e.clock.Advance(time.Millisecond)
	return h.e.clock.Now()
}

// restart opens the Exact connector and the engine again on the same store,
// as a new process would.
func (h *hub) restart() {
	h.t.Helper()
	o := h.e.options()
	o.State = h.st // the tokens live in Concord's store
	var err error
	h.conn, err = New(context.Background(), "exact", h.cfg.Systems["exact"].Settings, o)
	if err != nil {
		h.t.Fatal(err)
	}
	h.eng, err = engine.New(h.cfg, h.st, map[string]connector.Connector{"shop": h.shop, "exact": h.conn},
		engine.Options{Now: h.e.clock.Now, Logger: quiet})
	if err != nil {
		h.t.Fatal(err)
	}
}

// cycle runs one sync cycle a minute after the last, as `concord run` would.
func (h *hub) cycle() engine.Report {
	h.t.Helper()
	h.e.clock.Advance(time.Minute)
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
	for range 10 {
		rep := h.cycle()
		reps = append(reps, fmt.Sprintf("%+v", rep))
		if rep.Writes() == 0 && rep.Collected == 0 && len(rep.Errors) == 0 && rep.Failed == 0 {
			return
		}
	}
	h.deadLetters()
	h.t.Fatalf("no quiescence after 10 cycles:\n%s", strings.Join(reps, "\n"))
}

func (h *hub) deadLetters() {
	for _, m := range h.cfg.Mappings {
		dls, _ := h.st.DeadLetters(context.Background(), m.System, m.Datatype)
		for _, d := range dls {
			h.t.Logf("dead letter %s:%s %s: %s", d.System, d.Datatype, d.Ref, d.Reason)
		}
	}
}

func (h *hub) count(system, datatype string) int {
	if system == "shop" {
		return h.shop.Count(datatype)
	}
	return len(h.e.sb.Records(datatype))
}

// want fails unless each datatype holds n records on its side.
func (h *hub) want(counts map[string]int) {
	h.t.Helper()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sys, dt, _ := strings.Cut(k, ":")
		if got := h.count(sys, dt); got != counts[k] {
			h.deadLetters()
			h.t.Errorf("%s holds %d records, want %d", k, got, counts[k])
		}
	}
	if h.t.Failed() {
		h.t.FailNow()
	}
}

func (h *hub) shopRecord(datatype, field string, value any) connector.Record {
	h.t.Helper()
	for _, r := range h.shop.Records(datatype) {
		if r.Fields[field] == value {
			return r
		}
	}
	h.t.Fatalf("shop %s has no record with %s = %v: %v", datatype, field, value, h.shop.Records(datatype))
	return connector.Record{}
}

// exactRecords are the sandbox's records of entity as they are now.
func exactRecords(e *env, entity string) []map[string]any {
	return e.sb.Records(entity)
}

func (h *hub) exactRecord(entity, field string, value any) map[string]any {
	h.t.Helper()
	for _, r := range exactRecords(h.e, entity) {
		if r[field] == value {
			return r
		}
	}
	h.t.Fatalf("Exact %s has no record with %s = %v", entity, field, value)
	return nil
}

func mustPut(t testing.TB, e *env, entity string, f map[string]any) map[string]any {
	t.Helper()
	r, err := e.sb.Put(entity, f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSyncWithAMemorySystemBothWays(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	h := newHub(t, e, syncYAML)
	shop := h.shop

	// Created in the shop.
	c1 := shop.Create("customers", connector.Fields{"code": "C1", "name": "Acme", "email": "info@acme.example", "city": "Delft"})
	c2 := shop.Create("customers", connector.Fields{"code": "C2", "name": "Globex"})
	shop.Create("contacts", connector.Fields{"first_name": "Ann", "last_name": "Acme", "email": "ann@acme.example", "customer_id": c1.ID})
	p1 := shop.Create("products", connector.Fields{"sku": "P1", "title": "Widget"})
	p2 := shop.Create("products", connector.Fields{"sku": "P2", "title": "Gadget"})
	q := shop.Create("quotes", connector.Fields{"number": "5001", "customer_id": c2.ID, "note": "first offer"})
	shop.Create("quote_lines", connector.Fields{"quote_id": q.ID, "product_id": p1.ID, "qty": 3.0, "price": 10.0})
	shop.Create("quote_lines", connector.Fields{"quote_id": q.ID, "product_id": p2.ID, "qty": 1.0, "price": 25.0})
	o := shop.Create("orders", connector.Fields{"number": "7001", "customer_id": c1.ID, "reference": "PO-1"})
	ol := shop.Create("order_lines", connector.Fields{"order_id": o.ID, "product_id": p1.ID, "qty": 2.0, "price": 10.0})
	shop.Create("order_lines", connector.Fields{"order_id": o.ID, "product_id": p2.ID, "qty": 4.0, "price": 25.0})

	// Created in Exact.
	acc := mustPut(t, e, "Accounts", map[string]any{"Code": "E1", "Name": "Initech", "City": "Utrecht"})
	mustPut(t, e, "Contacts", map[string]any{"Account": acc["ID"], "FirstName": "Bill", "LastName": "Lumbergh", "Email": "bill@initech.example"})
	item := mustPut(t, e, "Items", map[string]any{"Code": "E-ITEM", "Description": "Stapler", "StandardSalesPrice": 7.5})
	mustPut(t, e, "Quotations", map[string]any{"OrderAccount": acc["ID"], "Description": "from Exact",
		"QuotationLines": []map[string]any{{"Item": item["ID"], "Quantity": 2.0}}})
	so := mustPut(t, e, "SalesOrders", map[string]any{"OrderedBy": acc["ID"], "YourRef": "EX-1",
		"SalesOrderLines": []map[string]any{{"Item": item["ID"], "Quantity": 5.0}}})

	h.settle()
	h.want(map[string]int{
		"shop:customers": 3, "exact:Accounts": 3,
		"shop:contacts": 2, "exact:Contacts": 2,
		"shop:products": 3, "exact:Items": 3,
		"shop:quotes": 2, "exact:Quotations": 2,
		"shop:quote_lines": 3, "exact:QuotationLines": 3,
		"shop:orders": 2, "exact:SalesOrders": 2,
		"shop:order_lines": 3, "exact:SalesOrderLines": 3,
	})
	calls := e.sb.Calls()
	if calls["POST salesorder/SalesOrders"] != 1 || calls["POST salesorder/SalesOrderLines"] != 0 ||
		calls["POST crm/Quotations"] != 1 || calls["POST crm/QuotationLines"] != 0 {
		t.Fatalf("orders and quotations must be posted once each with their lines: %v", calls)
	}
	// What the shop created is in Exact as it should be.
	if a := h.exactRecord("Accounts", "Name", "Acme"); a["Code"] != fmt.Sprintf("%18s", "C1") || a["Email"] != "info@acme.example" {
		t.Errorf("Exact's Acme: %v", a)
	}
	exOrder := h.exactRecord("SalesOrders", "YourRef", "PO-1")
	if exOrder["OrderNumber"] != int64(7001) {
		t.Errorf("order number in Exact: %v", exOrder["OrderNumber"])
	}
	lines := 0
	for _, l := range e.sb.Records("SalesOrderLines") {
		if l["OrderID"] == exOrder["OrderID"] {
			lines++
		}
	}
	if lines != 2 {
		t.Errorf("the shop's order has %d lines in Exact, want 2", lines)
	}
	// What Exact created is in the shop, with its references translated.
	initech := h.shopRecord("customers", "code", "E1")
	if initech.Fields["name"] != "Initech" || initech.Fields["city"] != "Utrecht" {
		t.Errorf("shop's Initech: %v", initech.Fields)
	}
	if b := h.shopRecord("contacts", "email", "bill@initech.example"); b.Fields["customer_id"] != initech.ID {
		t.Errorf("shop's Bill belongs to %v, want %s", b.Fields["customer_id"], initech.ID)
	}
	shopOrder := h.shopRecord("orders", "reference", "EX-1")
	if shopOrder.Fields["customer_id"] != initech.ID || shopOrder.Fields["number"] != fmt.Sprint(so["OrderNumber"]) {
		t.Errorf("shop's order from Exact: %v", shopOrder.Fields)
	}
	h.shopRecord("quotes", "note", "from Exact")

	// Edits both ways.
	e.sb.ResetCalls()
	shop.Edit("customers", c1.ID, connector.Fields{"email": "sales@acme.example"})
	shop.Edit("order_lines", ol.ID, connector.Fields{"qty": 6.0})
	mustPut(t, e, "Accounts", map[string]any{"ID": acc["ID"], "Name": "Initech BV"})
	mustPut(t, e, "Items", map[string]any{"ID": item["ID"], "Description": "Red stapler"})
	mustPut(t, e, "SalesOrderLines", map[string]any{"OrderID": so["OrderID"], "Item": item["ID"], "Quantity": 1.0})
	h.settle()
	if a := h.exactRecord("Accounts", "Name", "Acme"); a["Email"] != "sales@acme.example" {
		t.Errorf("the shop's e-mail edit did not reach Exact: %v", a["Email"])
	}
	var qty6 bool
	for _, l := range exactRecords(e, "SalesOrderLines") {
		qty6 = qty6 || l["Quantity"] == 6.0
	}
	if !qty6 {
		t.Error("the shop's line edit did not reach Exact")
	}
	if r, _ := shop.Lookup("customers", initech.ID); r.Fields["name"] != "Initech BV" {
		t.Errorf("Exact's name edit did not reach the shop: %v", r.Fields)
	}
	if r := h.shopRecord("products", "sku", "E-ITEM"); r.Fields["title"] != "Red stapler" {
		t.Errorf("Exact's item edit did not reach the shop: %v", r.Fields)
	}
	h.want(map[string]int{"shop:order_lines": 4, "exact:SalesOrderLines": 4, "shop:customers": 3, "exact:Accounts": 3})
	calls = e.sb.Calls()
	if calls["PUT crm/Accounts"] != 1 || calls["PUT salesorder/SalesOrderLines"] != 1 || calls["POST crm/Accounts"] != 0 {
		t.Errorf("writes to Exact for two shop edits: %v", calls)
	}

	// A round with nothing changed writes nothing and reads one page per
	// datatype and sync/Deleted once.
	e.sb.ResetCalls()
	rep := h.cycle()
	reads, writes := apiCalls(e.sb.Calls())
	if rep.Writes() != 0 || writes != 0 || reads != 8 {
		t.Errorf("a quiet round: %d writes, %d reads (%v); want 0 and 8 (7 datatypes and sync/Deleted)", writes, reads, e.sb.Calls())
	}
}
