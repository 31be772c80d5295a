// Package demo runs the scripted scenario of `concord demo`: three
// in-process systems (a webshop, an ERP and a CRM) synced through the real
// engine and store, printing step by step what was created, linked, merged
// and why. It owns the scenario only; everything it shows is done by the
// engine.
package demo

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/sqlite"
)

//go:embed demo.yaml
var demoYAML []byte

// Config returns the demo configuration (for docs and tests).
func Config() ([]byte, error) { return demoYAML, nil }

type scenario struct {
	out     io.Writer
	eng     *engine.Engine
	st      store.Store
	clock   time.Time
	shop    *memory.System
	erp     *memory.System
	crm     *memory.System
	printEv bool
}

// Run plays the scenario, keeping its store in dir.
func Run(ctx context.Context, out io.Writer, dir string) error {
	cfg, err := config.Parse("demo.yaml", demoYAML)
	if err != nil {
		return err
	}
	s := &scenario{out: out, clock: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	tick := func() time.Time { s.clock = s.clock.Add(time.Second); return s.clock }
	opts := memory.Options{Clock: tick, PageSize: 50}
	s.shop, s.erp, s.crm = memory.New("webshop", opts), memory.New("erp", opts), memory.New("crm", opts)
	conns := map[string]connector.Connector{"webshop": s.shop, "erp": s.erp, "crm": s.crm}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "demo.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	s.st = st
	n := 0
	s.eng, err = engine.New(cfg, st, conns, engine.Options{
		Now:     tick,
		NewID:   func() string { n++; return fmt.Sprintf("G%03d", n) },
		OnEvent: s.event,
	})
	if err != nil {
		return err
	}
	return s.play(ctx)
}

func (s *scenario) step(title string) {
	fmt.Fprintf(s.out, "\n== %s\n", title)
}

func (s *scenario) say(format string, args ...any) {
	fmt.Fprintf(s.out, "   "+format+"\n", args...)
}

func (s *scenario) event(ev store.Event) {
	if !s.printEv {
		return
	}
	where := ev.System + ":" + ev.Datatype
	if ev.ID != "" {
		where += " " + ev.ID
	}
	fmt.Fprintf(s.out, "   %-9s %-28s golden %s: %s\n", ev.Action, where, ev.GoldenID, ev.Detail)
	for _, d := range ev.Props {
		if d.Outcome == engine.Won && ev.Action != "merged" {
			continue // the creation of a record wins every property; say so once
		}
		fmt.Fprintf(s.out, "             %-12s %-5s %v (%s)\n", d.Property, d.Outcome, d.Value, d.Reason)
	}
}

func (s *scenario) sync(ctx context.Context) error {
	s.printEv = true
	defer func() { s.printEv = false }()
	rep, err := s.eng.SyncOnce(ctx)
	if err != nil {
		return err
	}
	s.say("-> %d changed records collected, %d golden records created, %d inserts, %d updates, %d deletes",
		rep.Collected, rep.Created, rep.Inserted, rep.Updated, rep.Deleted)
	for _, e := range rep.Errors {
		s.say("error: %v", e)
	}
	return nil
}

func (s *scenario) show(sys *memory.System, datatype string, fields ...string) {
	for _, r := range sys.Records(datatype) {
		var parts []string
		for _, f := range fields {
			parts = append(parts, fmt.Sprintf("%s=%v", f, r.Fields[f]))
		}
		s.say("%s:%s %s  %s", sys.Name(), datatype, r.ID, strings.Join(parts, " "))
	}
}

func (s *scenario) play(ctx context.Context) error {
	s.step("1. Each system starts with its own customers; Acme exists in the webshop and the ERP")
	acmeShop := s.shop.Create("customers", connector.Fields{"number": "C1001", "company": "Acme BV", "email": "info@acme.example", "phone": "+31 20 555 0101", "city": "Amsterdam"})
	s.shop.Create("customers", connector.Fields{"number": "C1002", "company": "Globex", "email": "sales@globex.example", "city": "Utrecht"})
	acmeERP := s.erp.Create("Accounts", connector.Fields{"Code": "             C1001", "Name": "Acme B.V.", "Email": "info@acme.example"})
	s.erp.Create("Accounts", connector.Fields{"Code": "             C2001", "Name": "Initech", "Email": "office@initech.example", "City": "Rotterdam"})
	s.crm.Create("Organisations", connector.Fields{"OrganisationName": "Hooli", "OrganisationEmail": "hello@hooli.example", "OrganisationCity": "Delft"})
	s.show(s.shop, "customers", "number", "company", "city")
	s.show(s.erp, "Accounts", "Code", "Name", "City")
	s.show(s.crm, "Organisations", "OrganisationName", "OrganisationCity")

	s.step("2. First sync: Acme is matched by its code (the ERP's padded code is trimmed by the mapping); everything else is created where it is missing")
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.show(s.erp, "Accounts", "Code", "Name", "Phone", "City")
	s.show(s.crm, "Organisations", "OrganisationName", "OrganisationCode", "OrganisationCity")

	s.step("3. Edits on two sides: the ERP changes Acme's phone, the webshop its city")
	s.erp.Edit("Accounts", acmeERP.ID, connector.Fields{"Phone": "+31 20 555 0199"})
	s.shop.Edit("customers", acmeShop.ID, connector.Fields{"city": "Haarlem"})
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.show(s.crm, "Organisations", "OrganisationName", "OrganisationPhone", "OrganisationCity")

	s.step("4. A conflict: the webshop and the CRM both rename Acme; the later edit wins, per property")
	s.shop.Edit("customers", acmeShop.ID, connector.Fields{"company": "Acme Holding"})
	crmAcme := s.find(s.crm, "Organisations", "OrganisationEmail", "info@acme.example")
	s.crm.Edit("Organisations", crmAcme, connector.Fields{"OrganisationName": "ACME Group"})
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.show(s.shop, "customers", "number", "company")
	s.show(s.erp, "Accounts", "Code", "Name")

	s.step("5. An empty value never overwrites: the ERP clears Acme's e-mail, the others keep it")
	s.erp.Edit("Accounts", acmeERP.ID, connector.Fields{"Email": ""})
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.show(s.shop, "customers", "number", "email")

	s.step("6. A contact created in the CRM reaches the ERP, its organisation translated to the ERP's account id")
	s.crm.Create("Persons", connector.Fields{"PersonFirstName": "Ada", "PersonLastName": "Lovelace", "PersonEmail": "ada@acme.example", "PersonOrganisationId": crmAcme})
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.show(s.erp, "Contacts", "FirstName", "LastName", "Account")

	s.step("7. Products and an order with lines: the order only goes to the ERP once it is confirmed")
	p1 := s.shop.Create("products", connector.Fields{"sku": "WIDGET-1", "title": "Widget", "price": 12.5})
	p2 := s.shop.Create("products", connector.Fields{"sku": "GADGET-2", "title": "Gadget", "price": 40.0})
	order := s.shop.Create("orders", connector.Fields{"number": "SO-1", "customer_id": acmeShop.ID, "status": "pending"})
	s.shop.Create("order_lines", connector.Fields{"order_id": order.ID, "product_id": p1.ID, "qty": 3.0, "price": 12.5})
	s.shop.Create("order_lines", connector.Fields{"order_id": order.ID, "product_id": p2.ID, "qty": 1.0, "price": 40.0})
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.say("ERP sales orders: %d (the order is still pending)", s.erp.Count("SalesOrders"))
	s.shop.Edit("orders", order.ID, connector.Fields{"status": "confirmed"})
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.show(s.erp, "SalesOrders", "OrderNumber", "OrderedBy", "Status")
	s.show(s.erp, "SalesOrderLines", "OrderID", "Item", "Quantity", "NetPrice")

	s.step("8. The ERP changes a line's quantity and deletes the other line: the webshop's lines follow")
	lines := s.erp.Records("SalesOrderLines")
	if len(lines) == 2 {
		s.erp.Edit("SalesOrderLines", lines[0].ID, connector.Fields{"Quantity": 5.0})
		s.erp.Remove("SalesOrderLines", lines[1].ID)
	}
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.show(s.shop, "order_lines", "order_id", "product_id", "qty")

	s.step("9. A sync with no changes writes nothing")
	before := s.shop.Writes() + s.erp.Writes() + s.crm.Writes()
	if err := s.sync(ctx); err != nil {
		return err
	}
	s.say("writes during this sync: %d", s.shop.Writes()+s.erp.Writes()+s.crm.Writes()-before)

	s.step("10. Why does Acme's name say what it says? (concord explain webshop customers " + acmeShop.ID + ")")
	return s.explain(ctx, store.Key{System: "webshop", Datatype: "customers", ID: acmeShop.ID})
}

func (s *scenario) find(sys *memory.System, datatype, field, value string) string {
	for _, r := range sys.Records(datatype) {
		if fmt.Sprint(r.Fields[field]) == value {
			return r.ID
		}
	}
	return ""
}

func (s *scenario) explain(ctx context.Context, k store.Key) error {
	recs, err := s.st.GetRecords(ctx, k.System, k.Datatype, []string{k.ID})
	if err != nil {
		return err
	}
	gid := recs[k.ID].GoldenID
	gs, err := s.st.GetGoldens(ctx, []string{gid})
	if err != nil {
		return err
	}
	g := gs[gid]
	props := make([]string, 0, len(g.Props))
	for p := range g.Props {
		props = append(props, p)
	}
	sort.Strings(props)
	for _, p := range props {
		pv := g.Prov[p]
		s.say("%-8s = %-22v set by %s:%s %s at %s", p, g.Props[p], pv.System, pv.Datatype, pv.ID, pv.Time.Format(time.TimeOnly))
	}
	evs, err := s.st.EventsForGolden(ctx, gid)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		for _, d := range ev.Props {
			if d.Property == "name" {
				s.say("%s %s:%s %s: name %v %s — %s", ev.At.Format(time.TimeOnly), ev.System, ev.Datatype, ev.ID, d.Value, d.Outcome, d.Reason)
			}
		}
	}
	return nil
}
