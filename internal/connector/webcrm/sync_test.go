package webcrm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
	"github.com/concordsync/concord/internal/connector/webcrm"
	"github.com/concordsync/concord/internal/engine"
	sandbox "github.com/concordsync/concord/internal/sandbox/webcrm"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/memstore"
)

// syncYAML is the configuration a user would write to sync WebCRM with an
// ERP (here an in-process memory system): customers, contacts (persons, and
// users as employees), products, and orders with their lines.
const syncYAML = `
systems:
  crm:
    kind: webcrm
    settings:
      base_url: {{.URL}}
      api_token: {{.Token}}
      rate_limit: {{.RateLimit}}
      page_size: {{.PageSize}}
      hook_secret: s3cret
      product_code_field: ProductCustom1
      product_name_field: ProductCustom2
      quotation_line_code_field: QuotationLineData1
      quotation_line_name_field: QuotationLineData2
  erp:
    kind: memory
    settings: {instance: {{.ERP}}}
mappings:
  - system: crm
    datatype: Organisations
    canonical: customer
    merge: [[vat_number], [name]]
    properties:
      - {field: OrganisationName, property: name}
      - {field: OrganisationVatNumber, property: vat_number}
      - {field: OrganisationCity, property: city}
      - {field: OrganisationTelephone, property: phone}
  - system: erp
    datatype: customers
    canonical: customer
    merge: [[vat_number], [name]]
    properties:
      - {field: name, property: name}
      - {field: vat, property: vat_number}
      - {field: city, property: city}
      - {field: phone, property: phone}

  - system: crm
    datatype: Persons
    canonical: contact
    merge: [[email]]
    when: "golden.is_employee != true"
    properties:
      - {field: PersonFirstName, property: first_name}
      - {field: PersonLastName, property: last_name}
      - {field: PersonEmail, property: email}
      - {field: PersonMobilePhone, property: mobile}
      - {field: PersonOrganisationId, property: customer, ref: Organisations}
  - system: crm
    datatype: Users
    canonical: contact
    merge: [[email]]
    when: "golden.is_employee == true"
    properties:
      - {field: UserName, property: last_name}
      - {field: UserEmail, property: email}
      - {field: UserMobilePhone, property: mobile}
      - {field: UserId, property: is_employee, type: boolean, in: "true", direction: in}
  - system: erp
    datatype: contacts
    canonical: contact
    merge: [[email]]
    properties:
      - {field: first_name, property: first_name}
      - {field: last_name, property: last_name}
      - {field: email, property: email}
      - {field: mobile, property: mobile}
      - {field: customer_id, property: customer, ref: customers}
      - {field: employee, property: is_employee, type: boolean}

  - system: crm
    datatype: Products
    canonical: product
    merge: [[code]]
    delete: propagate
    full_scan: 1m
    properties:
      - {field: ProductCode, property: code}
      - {field: ProductName, property: name}
      - {field: ProductPrice, property: unit_price, type: number}
  - system: erp
    datatype: products
    canonical: product
    merge: [[code]]
    delete: propagate
    properties:
      - {field: sku, property: code}
      - {field: title, property: name}
      - {field: price, property: unit_price, type: number}

  - system: crm
    datatype: Opportunities
    canonical: order
    merge: [[number]]
    properties:
      - {field: OpportunityNumber, property: number}
      - {field: OpportunityOrganisationId, property: customer, ref: Organisations}
      - {field: OpportunityDescription, property: description}
      - {field: OpportunityOrderDate, property: order_date, type: date}
    lines:
      datatype: QuotationLines
      parent_field: QuotationLineOpportunityId
      properties:
        - {field: QuotationLineProductId, property: product, ref: Products}
        - {field: QuotationLineQuantity, property: quantity, type: number}
        - {field: QuotationLinePrice, property: unit_price, type: number}
  - system: erp
    datatype: orders
    canonical: order
    merge: [[number]]
    properties:
      - {field: number, property: number}
      - {field: customer_id, property: customer, ref: customers}
      - {field: description, property: description}
      - {field: date, property: order_date, type: date}
    lines:
      datatype: order_lines
      parent_field: order_id
      properties:
        - {field: product_id, property: product, ref: products}
        - {field: qty, property: quantity, type: number}
        - {field: price, property: unit_price, type: number}
`

// world is Concord syncing the WebCRM sandbox with a memory ERP through
// the engine, over HTTP, configured from YAML.
type world struct {
	t     *testing.T
	crm   *crm
	erp   *memory.System
	conn  *webcrm.Conn
	st    store.Store
	eng   *engine.Engine
	hooks *httptest.Server

	mu      sync.Mutex
	changed []string // datatypes webhook notifications named
}

type worldOptions struct {
	sandbox   sandbox.Options
	rateLimit int // the connector's pacing (0: off)
	pageSize  int
	yaml      string // default syncYAML
	zone      string // the connector's time_zone (orgsYAML)
	fullScan  string // the organisations' full_scan (orgsYAML; default 24h)
	// connOptions, when set, gives the connector's Options (default: the
	// sandbox's clock, waits that move it).
	connOptions func(c *crm) webcrm.Options
}

var worldSeq atomic.Int64

func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	if o.pageSize == 0 {
		o.pageSize = 50
	}
	if o.yaml == "" {
		o.yaml = syncYAML
	}
	if o.fullScan == "" {
		o.fullScan = "24h"
	}
	if o.zone == "" {
		o.zone = "Europe/Copenhagen"
	}
	c := newCRM(t, o.sandbox)
	erpName := fmt.Sprintf("erp-%s-%d", t.Name(), worldSeq.Add(1))
	erp := memory.NewInstance(erpName, memory.Options{Clock: c.clock.Now, IDPrefix: "E"})
	t.Cleanup(func() { memory.ForgetInstance(erpName) })

	var buf bytes.Buffer
	err := template.Must(template.New("cfg").Parse(o.yaml)).Execute(&buf, map[string]any{
		"URL": c.ts.URL, "Token": c.srv.APIToken(), "RateLimit": o.rateLimit, "PageSize": o.pageSize, "ERP": strconv.Quote(erpName),
		"Zone": o.zone, "FullScan": o.fullScan,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("concord.yaml", buf.Bytes())
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	st := memstore.New()
	ctx := connector.WithState(context.Background(), st)
	copts := c.options()
	if o.connOptions != nil {
		copts = o.connOptions(c)
	}
	conn, err := webcrm.Open(ctx, "crm", cfg.Systems["crm"].Settings, copts)
	if err != nil {
		t.Fatalf("open crm: %v", err)
	}
	erpConn, err := connector.Open(ctx, "memory", "erp", cfg.Systems["erp"].Settings)
	if err != nil {
		t.Fatalf("open erp: %v", err)
	}
	eng, err := engine.New(cfg, st, map[string]connector.Connector{"crm": conn, "erp": erpConn}, engine.Options{Now: c.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	w := &world{t: t, crm: c, erp: erp, conn: conn, st: st, eng: eng}
	w.hooks = httptest.NewServer(conn.WebhookHandler(func(datatype string) {
		w.mu.Lock()
		w.changed = append(w.changed, datatype)
		w.mu.Unlock()
	}))
	t.Cleanup(w.hooks.Close)
	return w
}

// hook registers a WebCRM hook that notifies Concord of one kind of change.
func (w *world) hook(entity, event string) {
	w.t.Helper()
	body, _ := json.Marshal(map[string]any{"TargetUrl": w.hooks.URL + "/webhooks/crm?secret=s3cret", "IsEnabled": true, "EventType": event})
	w.crm.apiCall(http.MethodPost, "/"+entity+"/Hooks", body)
}

// sync runs one cycle, a little later than the last.
func (w *world) sync() engine.Report {
	w.t.Helper()
	w.crm.clock.Advance(2 * time.Second)
	if err := w.crm.srv.WaitForHooks(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	rep, err := w.eng.SyncOnce(context.Background())
	if err != nil {
		w.t.Fatalf("sync: %v", err)
	}
	for _, e := range rep.Errors {
		w.t.Errorf("sync error: %v", e)
	}
	return rep
}

// syncTolerant runs one cycle that may fail in part (a fault the test
// made); it reports how many datatypes failed.
func (w *world) syncTolerant() (engine.Report, int) {
	w.t.Helper()
	w.crm.clock.Advance(2 * time.Second)
	rep, err := w.eng.SyncOnce(context.Background())
	if err != nil {
		w.t.Fatalf("sync: %v", err)
	}
	return rep, len(rep.Errors)
}

// settle syncs until a cycle neither collects nor writes anything.
func (w *world) settle() {
	w.t.Helper()
	for range 8 {
		if rep := w.sync(); rep.Writes() == 0 && rep.Collected == 0 {
			return
		}
	}
	w.t.Fatal("no quiescence after 8 cycles (ping-pong?)")
}

// crmBy returns the sandbox record of an entity whose field holds value.
func (w *world) crmBy(entity, field string, value any) sandbox.Record {
	w.t.Helper()
	var found []sandbox.Record
	for _, r := range w.crm.srv.Records(entity) {
		if fmt.Sprint(r[field]) == fmt.Sprint(value) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		w.t.Fatalf("WebCRM %s with %s = %v: found %d, want 1: %v", entity, field, value, len(found), w.crm.srv.Records(entity))
	}
	return found[0]
}

// erpBy returns the ERP record of a datatype whose field holds value.
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

func (w *world) wantCounts(crmCounts map[string]int, erpCounts map[string]int) {
	w.t.Helper()
	for e, n := range crmCounts {
		if got := len(w.crm.srv.Records(e)); got != n {
			w.t.Errorf("WebCRM has %d %s, want %d: %v", got, e, n, w.crm.srv.Records(e))
		}
	}
	for dt, n := range erpCounts {
		if got := w.erp.Count(dt); got != n {
			w.t.Errorf("ERP has %d %s, want %d: %v", got, dt, n, w.erp.Records(dt))
		}
	}
}

// apiCall calls the sandbox's API with a fresh login, as an admin setting
// up hooks would.
func (c *crm) apiCall(method, path string, body []byte) []byte {
	c.t.Helper()
	resp, err := http.PostForm(c.ts.URL+"/Auth/ApiLogin", map[string][]string{"authCode": {c.srv.APIToken()}})
	if err != nil {
		c.t.Fatal(err)
	}
	var tok struct{ AccessToken string }
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest(method, c.ts.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	if resp.StatusCode/100 != 2 {
		c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out.String())
	}
	return out.Bytes()
}

func TestSyncBothWaysThroughTheEngine(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	w.hook(sandbox.QuotationLines, "Delete")
	c := w.crm

	// WebCRM, as its users keep it.
	acme := c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": "Acme", "OrganisationVatNumber": "DK1", "OrganisationCity": "Aarhus",
		"OrganisationComment": "a field Concord does not map"})
	c.put(sandbox.Persons, sandbox.Record{"PersonOrganisationId": acme, "PersonFirstName": "Ann", "PersonLastName": "Lee", "PersonEmail": "ann@acme.test", "PersonTitle": "CFO"})
	c.put(sandbox.Users, sandbox.Record{"UserName": "Bo Berg", "UserEmail": "bo@crm.test"})
	widget := c.put(sandbox.Products, sandbox.Record{"ProductCustom1": "W-1", "ProductCustom2": "Widget", "ProductPrice": 10.0})
	o1 := c.put(sandbox.Opportunities, sandbox.Record{"OpportunityOrganisationId": acme, "OpportunityNumber": "O-1", "OpportunityDescription": "Widgets for Acme",
		"OpportunityOrderDate": "2024-03-01T00:00:00"})
	c.put(sandbox.QuotationLines, sandbox.Record{"QuotationLineOpportunityId": o1, "QuotationLineData1": "W-1", "QuotationLineData2": "Widget",
		"QuotationLineQuantity": 2.0, "QuotationLinePrice": 10.0})

	// The ERP.
	beta := w.erp.Create("customers", connector.Fields{"name": "Beta", "vat": "DK2", "city": "Odense"})
	w.erp.Create("contacts", connector.Fields{"first_name": "Cy", "last_name": "Dahl", "email": "cy@beta.test", "customer_id": beta.ID})
	w.erp.Create("contacts", connector.Fields{"last_name": "Di Eng", "email": "di@erp.test", "employee": true})
	gadget := w.erp.Create("products", connector.Fields{"sku": "G-1", "title": "Gadget", "price": 5.0})
	s1 := w.erp.Create("orders", connector.Fields{"number": "S-1", "customer_id": beta.ID, "description": "Gadgets for Beta", "date": "2024-03-02"})
	w.erp.Create("order_lines", connector.Fields{"order_id": s1.ID, "product_id": gadget.ID, "qty": 3.0, "price": 5.0})

	w.settle()

	// Creations on either side appear on the other.
	w.wantCounts(map[string]int{sandbox.Organisations: 2, sandbox.Persons: 2, sandbox.Users: 2, sandbox.Products: 2, sandbox.Opportunities: 2, sandbox.QuotationLines: 2},
		map[string]int{"customers": 2, "contacts": 4, "products": 2, "orders": 2, "order_lines": 2})
	betaCRM := w.crmBy(sandbox.Organisations, "OrganisationName", "Beta")
	cy := w.crmBy(sandbox.Persons, "PersonEmail", "cy@beta.test")
	if cy["PersonOrganisationId"] != betaCRM["OrganisationId"] || cy["PersonFirstName"] != "Cy" {
		t.Errorf("Cy in WebCRM: %v; want organisation %v", cy, betaCRM["OrganisationId"])
	}
	w.crmBy(sandbox.Users, "UserEmail", "di@erp.test")
	gadgetCRM := w.crmBy(sandbox.Products, "ProductCustom1", "G-1")
	if gadgetCRM["ProductCustom2"] != "Gadget" || gadgetCRM["ProductPrice"] != 5.0 {
		t.Errorf("Gadget in WebCRM: %v", gadgetCRM)
	}
	s1CRM := w.crmBy(sandbox.Opportunities, "OpportunityNumber", "S-1")
	if s1CRM["OpportunityOrganisationId"] != betaCRM["OrganisationId"] || !strings.HasPrefix(fmt.Sprint(s1CRM["OpportunityOrderDate"]), "2024-03-02T00:00:00") {
		t.Errorf("S-1 in WebCRM: %v", s1CRM)
	}
	s1Line := w.crmBy(sandbox.QuotationLines, "QuotationLineOpportunityId", s1CRM["OpportunityId"])
	if s1Line["QuotationLineData1"] != "G-1" || s1Line["QuotationLineData2"] != "Gadget" || s1Line["QuotationLineQuantity"] != 3.0 {
		t.Errorf("S-1's line in WebCRM: %v", s1Line)
	}

	acmeERP := w.erpBy("customers", "name", "Acme")
	ann := w.erpBy("contacts", "email", "ann@acme.test")
	if ann.Fields["customer_id"] != acmeERP.ID || ann.Fields["first_name"] != "Ann" {
		t.Errorf("Ann in the ERP: %v", ann.Fields)
	}
	if bo := w.erpBy("contacts", "email", "bo@crm.test"); bo.Fields["employee"] != true || bo.Fields["last_name"] != "Bo Berg" {
		t.Errorf("Bo in the ERP: %v", bo.Fields)
	}
	widgetERP := w.erpBy("products", "sku", "W-1")
	o1ERP := w.erpBy("orders", "number", "O-1")
	if o1ERP.Fields["customer_id"] != acmeERP.ID || o1ERP.Fields["date"] != "2024-03-01" {
		t.Errorf("O-1 in the ERP: %v", o1ERP.Fields)
	}
	o1Line := w.erpBy("order_lines", "order_id", o1ERP.ID)
	if o1Line.Fields["product_id"] != widgetERP.ID || o1Line.Fields["qty"] != 2.0 {
		t.Errorf("O-1's line in the ERP: %v (widget is %s)", o1Line.Fields, widgetERP.ID)
	}

	// Edits flow both ways; lines added, changed and deleted on either side
	// follow.
	c.edit(sandbox.Organisations, acme, sandbox.Record{"OrganisationCity": "Aalborg"})
	betaERP := w.erpBy("customers", "name", "Beta")
	w.erp.Edit("customers", betaERP.ID, connector.Fields{"phone": "+45 7000 0000"})
	w.erp.Edit("customers", acmeERP.ID, connector.Fields{"phone": "+45 8000 0000"})
	w.erp.Edit("contacts", ann.ID, connector.Fields{"first_name": "Anna"})
	s1LineERP := w.erpBy("order_lines", "order_id", w.erpBy("orders", "number", "S-1").ID)
	w.erp.Edit("order_lines", s1LineERP.ID, connector.Fields{"qty": 4.0})
	c.put(sandbox.QuotationLines, sandbox.Record{"QuotationLineOpportunityId": s1CRM["OpportunityId"], "QuotationLineData1": "W-1", "QuotationLineData2": "Widget",
		"QuotationLineQuantity": 1.0, "QuotationLinePrice": 10.0})
	w.erp.Create("order_lines", connector.Fields{"order_id": o1ERP.ID, "product_id": gadget.ID, "qty": 6.0, "price": 5.0})
	w.settle()

	w.wantCounts(map[string]int{sandbox.QuotationLines: 4}, map[string]int{"order_lines": 4})
	if got := w.erpBy("customers", "name", "Acme").Fields["city"]; got != "Aalborg" {
		t.Errorf("Acme's city in the ERP = %v, want Aalborg", got)
	}
	acmeNow := w.crmBy(sandbox.Organisations, "OrganisationName", "Acme")
	if acmeNow["OrganisationTelephone"] != "+45 8000 0000" || acmeNow["OrganisationCity"] != "Aalborg" || acmeNow["OrganisationComment"] != "a field Concord does not map" {
		t.Errorf("Acme in WebCRM after edits on both sides: %v", acmeNow)
	}
	if got := w.crmBy(sandbox.Organisations, "OrganisationName", "Beta")["OrganisationTelephone"]; got != "+45 7000 0000" {
		t.Errorf("Beta's phone in WebCRM = %v", got)
	}
	annCRM := w.crmBy(sandbox.Persons, "PersonEmail", "ann@acme.test")
	if annCRM["PersonFirstName"] != "Anna" || annCRM["PersonTitle"] != "CFO" || annCRM["PersonName"] != "Anna Lee" {
		t.Errorf("Ann in WebCRM after the ERP's edit: %v", annCRM)
	}
	if got := w.crmBy(sandbox.QuotationLines, "QuotationLineId", s1Line["QuotationLineId"])["QuotationLineQuantity"]; got != 4.0 {
		t.Errorf("S-1's line quantity in WebCRM = %v, want 4", got)
	}
	s1Lines := map[string]float64{}
	for _, l := range w.erp.Records("order_lines") {
		if l.Fields["order_id"] == w.erpBy("orders", "number", "S-1").ID {
			s1Lines[fmt.Sprint(l.Fields["product_id"])] = l.Fields["qty"].(float64)
		}
	}
	if s1Lines[gadget.ID] != 4 || s1Lines[widgetERP.ID] != 1 {
		t.Errorf("S-1's lines in the ERP: %v (gadget %s, widget %s)", s1Lines, gadget.ID, widgetERP.ID)
	}
	o1New := w.crmBy(sandbox.QuotationLines, "QuotationLineQuantity", 6.0)
	if o1New["QuotationLineOpportunityId"] != o1 || o1New["QuotationLineData1"] != "G-1" || o1New["QuotationLineData2"] != "Gadget" {
		t.Errorf("the line added to O-1 in the ERP, in WebCRM: %v", o1New)
	}

	// A line deleted in WebCRM (its delete hook notifies Concord) and one
	// deleted in the ERP.
	if err := c.srv.Remove(sandbox.QuotationLines, o1New["QuotationLineId"].(int)); err != nil {
		t.Fatal(err)
	}
	w.erp.Remove("order_lines", s1LineERP.ID)
	w.settle()
	w.wantCounts(map[string]int{sandbox.QuotationLines: 2}, map[string]int{"order_lines": 2})
	w.mu.Lock()
	notified := strings.Join(w.changed, ",")
	w.mu.Unlock()
	if !strings.Contains(notified, "QuotationLines") {
		t.Errorf("no delete notification reached the connector: %q", notified)
	}

	// A product deleted in WebCRM is found by the full scan, confirmed
	// with a Get, and deleted in the ERP (delete: propagate).
	if err := c.srv.Remove(sandbox.Products, widget); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(2 * time.Minute)
	w.settle()
	w.wantCounts(map[string]int{sandbox.Products: 1}, map[string]int{"products": 1})
}
