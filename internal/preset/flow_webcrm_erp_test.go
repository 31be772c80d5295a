package preset_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	erpsb "github.com/concordsync/concord/internal/sandbox/erp"
	crmsb "github.com/concordsync/concord/internal/sandbox/webcrm"
)

// crmERPData is what WebCRM and the ERP hold before the first sync.
type crmERPData struct {
	acme, beta, own   int // WebCRM organisations
	ann, cy           int // WebCRM persons (Cy is also a user)
	cyUser, diUser    int // WebCRM users
	widget, gadget    int // WebCRM products
	won, open, lost   int // WebCRM opportunities
	acmeERP, deltaERP erpsb.Record
	gadgetERP         erpsb.Record
}

func (w *crmERP) seed() crmERPData {
	var d crmERPData
	// The ERP already has Acme (same VAT number, its own code, e-mail and
	// an older spelling of its name) and the gadget, and a customer of its
	// own.
	d.acmeERP = w.erpPut(erpsb.Customers, erpsb.Record{"code": "C-ACME", "name": "Acme", "vat_number": "DK11111111", "email": "info@acme.test", "country": "DK"})
	d.deltaERP = w.erpPut(erpsb.Customers, erpsb.Record{"code": "C-DELTA", "name": "Delta BV", "email": "sales@delta.test", "country": "NL"})
	d.gadgetERP = w.erpPut(erpsb.Products, erpsb.Record{"item_number": "G-1", "name": "Gadget", "price": 5.0, "unit": "box", "vat_code": "R"})

	d.acme = w.crmPut(crmsb.Organisations, crmsb.Record{"OrganisationName": "Acme A/S", "OrganisationVatNumber": "dk 1111-1111",
		"OrganisationAddress": "Havnegade 1", "OrganisationPostCode": "8000", "OrganisationCity": "Aarhus", "OrganisationCountry": "Danmark",
		"OrganisationTelephone": "+45 8000 0000", "OrganisationWww": "acme.test", "OrganisationComment": "a field Concord does not map"})
	d.beta = w.crmPut(crmsb.Organisations, crmsb.Record{"OrganisationName": "Beta GmbH", "OrganisationCity": "Kiel", "OrganisationCountry": "Tyskland",
		"OrganisationState": "Schleswig-Holstein"})
	d.own = w.crmPut(crmsb.Organisations, crmsb.Record{"OrganisationName": "Our Company ApS", "OrganisationVatNumber": "DK99999999", "OrganisationCountry": "Denmark"})
	d.ann = w.crmPut(crmsb.Persons, crmsb.Record{"PersonOrganisationId": d.acme, "PersonFirstName": "Ann", "PersonLastName": "Lee",
		"PersonEmail": "ann@acme.test", "PersonDirectPhone": "+45 8000 0001", "PersonMobilePhone": "+45 2000 0001", "PersonTitle": "CFO"})
	// Cy works here: a person of the company's own organisation and a user.
	d.cy = w.crmPut(crmsb.Persons, crmsb.Record{"PersonOrganisationId": d.own, "PersonFirstName": "Cy", "PersonLastName": "Dahl",
		"PersonEmail": "cy@own.test", "PersonTitle": "Sales"})
	d.cyUser = w.crmPut(crmsb.Users, crmsb.Record{"UserName": "Cy Dahl", "UserEmail": "cy@own.test", "UserMobilePhone": "+45 3000 0003", "UserTitle": "Sales"})
	d.diUser = w.crmPut(crmsb.Users, crmsb.Record{"UserName": "Di van Eng", "UserEmail": "di@own.test", "UserTelephone": "+45 7000 0004", "UserTitle": "Support"})
	d.widget = w.crmPut(crmsb.Products, crmsb.Record{"ProductCustom1": "W-1", "ProductCustom2": "Widget", "ProductPrice": 10.0, "ProductCostPrice": 6.0, "ProductVatCode": "25%"})
	d.gadget = w.crmPut(crmsb.Products, crmsb.Record{"ProductCustom1": "G-1", "ProductCustom2": "Gadget", "ProductPrice": 5.0})
	d.won = w.crmPut(crmsb.Opportunities, crmsb.Record{"OpportunityNumber": "O-1", "OpportunityOrganisationId": d.acme, "OpportunityPersonId": d.ann,
		"OpportunityDescription": "Widgets for Acme", "OpportunityCurrencyName": "DKK", "OpportunityOrderDate": "2024-03-01T00:00:00", "OpportunityLevel": 5})
	d.open = w.crmPut(crmsb.Opportunities, crmsb.Record{"OpportunityNumber": "O-2", "OpportunityOrganisationId": d.beta,
		"OpportunityDescription": "Gadgets for Beta", "OpportunityCurrencyName": "EUR", "OpportunityOrderDate": "2024-03-04T00:00:00", "OpportunityLevel": 3})
	d.lost = w.crmPut(crmsb.Opportunities, crmsb.Record{"OpportunityNumber": "O-3", "OpportunityOrganisationId": d.acme,
		"OpportunityDescription": "Lost to a competitor", "OpportunityLevel": 6})
	for _, l := range []crmsb.Record{
		{"QuotationLineOpportunityId": d.won, "QuotationLineData1": "W-1", "QuotationLineData2": "Widget", "QuotationLineQuantity": 2.0,
			"QuotationLinePrice": 10.0, "QuotationLineDiscount": 5.0, "QuotationLineVatPercentage": 25.0, "QuotationLineComment": "Blue ones"},
		{"QuotationLineOpportunityId": d.won, "QuotationLineData1": "G-1", "QuotationLineData2": "Gadget", "QuotationLineQuantity": 1.0, "QuotationLinePrice": 5.0},
		{"QuotationLineOpportunityId": d.open, "QuotationLineData1": "G-1", "QuotationLineData2": "Gadget", "QuotationLineQuantity": 4.0, "QuotationLinePrice": 4.5},
	} {
		w.crmPut(crmsb.QuotationLines, l)
	}

	return d
}

// The flow "WebCRM → Custom ERP" on the built-in definitions, configured as
// a user does (presets, addresses, credentials): WebCRM's organisations,
// persons, users, products and won opportunities arrive in the ERP with
// every mapped property translated; records the ERP has already are linked,
// not doubled; an opportunity that is not won does not arrive until it is;
// nothing is created in WebCRM; a person who is also a user is one ERP
// contact; edits made in the ERP reach WebCRM; edits on both sides end at
// the later one; and a quiet round writes nothing.
func TestFlowWebCRMToCustomERP(t *testing.T) {
	t.Parallel()
	w := newCRMERP(t, "", nil)
	d := w.seed()
	w.settle()

	// Nothing was created in WebCRM, and the ERP has each record once.
	w.counts(map[string]int{crmsb.Organisations: 3, crmsb.Persons: 2, crmsb.Users: 2, crmsb.Products: 2, crmsb.Opportunities: 3, crmsb.QuotationLines: 3},
		map[string]int{erpsb.Customers: 4, erpsb.Contacts: 3, erpsb.Products: 2, erpsb.Orders: 1})

	// Organisations → customers: countries as codes; Acme linked by its VAT
	// number (spelt differently on each side) and filled in.
	acme := w.erpOne(erpsb.Customers, "vat_number", "DK11111111")
	wantFields(t, "Acme in the ERP", acme, map[string]any{"id": d.acmeERP["id"], "code": "C-ACME", "name": "Acme A/S", "email": "info@acme.test",
		"address_line1": "Havnegade 1", "postcode": "8000", "city": "Aarhus", "country": "DK", "phone": "+45 8000 0000", "website": "acme.test"})
	beta := w.erpOne(erpsb.Customers, "name", "Beta GmbH")
	wantFields(t, "Beta in the ERP", beta, map[string]any{"city": "Kiel", "country": "DE", "vat_number": ""})
	own := w.erpOne(erpsb.Customers, "name", "Our Company ApS")
	wantFields(t, "our company in the ERP", own, map[string]any{"country": "DK", "vat_number": "DK99999999"})

	// Persons and users → contacts: Cy, a person and a user, is one
	// employee contact at the company's own customer; Di, a user only, an
	// employee without a customer.
	ann := w.erpOne(erpsb.Contacts, "email", "ann@acme.test")
	wantFields(t, "Ann in the ERP", ann, map[string]any{"first_name": "Ann", "last_name": "Lee", "phone": "+45 8000 0001", "mobile": "+45 2000 0001",
		"job_title": "CFO", "customer_id": acme["id"], "is_employee": false})
	cy := w.erpOne(erpsb.Contacts, "email", "cy@own.test")
	wantFields(t, "Cy in the ERP", cy, map[string]any{"first_name": "Cy", "last_name": "Dahl", "mobile": "+45 3000 0003", "job_title": "Sales",
		"customer_id": own["id"], "is_employee": true})
	w.oneGolden("Cy", map[string]string{"webcrm:Persons": fmt.Sprint(d.cy), "webcrm:Users": fmt.Sprint(d.cyUser), "erp:contacts": fmt.Sprint(cy["id"])})
	di := w.erpOne(erpsb.Contacts, "email", "di@own.test")
	wantFields(t, "Di in the ERP", di, map[string]any{"first_name": "", "last_name": "van Eng", "phone": "+45 7000 0004", "job_title": "Support",
		"customer_id": nil, "is_employee": true})

	// Products: the rate read as the ERP's VAT category; the gadget linked
	// by its code, its ERP-only values kept.
	widget := w.erpOne(erpsb.Products, "item_number", "W-1")
	wantFields(t, "the widget in the ERP", widget, map[string]any{"name": "Widget", "price": 10, "cost": 6, "vat_code": "S", "blocked": false, "unit": "pcs"})
	gadget := w.erpOne(erpsb.Products, "item_number", "G-1")
	wantFields(t, "the gadget in the ERP", gadget, map[string]any{"id": d.gadgetERP["id"], "name": "Gadget", "price": 5, "unit": "box", "vat_code": "R"})

	// Only the won opportunity is an order; the open and the lost are not.
	o1 := w.erpOne(erpsb.Orders, "number", "O-1")
	wantFields(t, "O-1 in the ERP", o1, map[string]any{"customer_id": acme["id"], "contact_id": ann["id"], "description": "Widgets for Acme",
		"currency": "DKK", "order_date": "2024-03-01", "status": "confirmed"})

	// Nothing came back to WebCRM but what the ERP knew better: Acme's
	// values are WebCRM's own, its comment untouched.
	wantFields(t, "Acme in WebCRM", w.crmOne(crmsb.Organisations, "OrganisationId", d.acme), map[string]any{"OrganisationName": "Acme A/S",
		"OrganisationCountry": "Danmark", "OrganisationVatNumber": "dk 1111-1111", "OrganisationComment": "a field Concord does not map"})

	// The open opportunity is won: now it is an order, with its line.
	w.crmEdit(crmsb.Opportunities, d.open, crmsb.Record{"OpportunityLevel": 5})
	w.settle()
	o2 := w.erpOne(erpsb.Orders, "number", "O-2")
	wantFields(t, "O-2 in the ERP", o2, map[string]any{"customer_id": beta["id"], "contact_id": nil, "currency": "EUR", "order_date": "2024-03-04", "status": "confirmed"})
	if lines := orderLines(t, o2); len(lines) != 1 {
		t.Errorf("O-2 in the ERP has %d lines, want its quotation line: %v", len(lines), lines)
	} else {
		wantFields(t, "O-2's line", lines[0].(map[string]any), map[string]any{"item_number": "G-1", "qty": 4, "price": 4.5})
	}
	w.counts(nil, map[string]int{erpsb.Orders: 2})

	// Edits made in the ERP reach WebCRM, translated back.
	w.erpEdit(erpsb.Customers, beta["id"], erpsb.Record{"country": "NL", "phone": "+49 431 000"})
	w.erpEdit(erpsb.Contacts, ann["id"], erpsb.Record{"job_title": "CEO", "mobile": "+45 2000 0009"})
	w.erpEdit(erpsb.Contacts, di["id"], erpsb.Record{"phone": "+45 7000 0044"})
	w.erpEdit(erpsb.Products, widget["id"], erpsb.Record{"price": 12.5, "cost": 7.0})
	w.erpEdit(erpsb.Orders, o1["id"], erpsb.Record{"description": "Blue widgets for Acme"})
	w.settle()
	wantFields(t, "Beta in WebCRM", w.crmOne(crmsb.Organisations, "OrganisationId", d.beta), map[string]any{"OrganisationCountry": "Netherlands",
		"OrganisationTelephone": "+49 431 000", "OrganisationState": "Schleswig-Holstein"})
	wantFields(t, "Ann in WebCRM", w.crmOne(crmsb.Persons, "PersonId", d.ann), map[string]any{"PersonTitle": "CEO", "PersonMobilePhone": "+45 2000 0009",
		"PersonFirstName": "Ann", "PersonOrganisationId": d.acme})
	wantFields(t, "Di in WebCRM", w.crmOne(crmsb.Users, "UserId", d.diUser), map[string]any{"UserTelephone": "+45 7000 0044", "UserName": "Di van Eng"})
	wantFields(t, "the widget in WebCRM", w.crmOne(crmsb.Products, "ProductId", d.widget), map[string]any{"ProductPrice": 12.5, "ProductCostPrice": 7,
		"ProductVatCode": "25%"})
	wantFields(t, "O-1 in WebCRM", w.crmOne(crmsb.Opportunities, "OpportunityId", d.won), map[string]any{"OpportunityDescription": "Blue widgets for Acme",
		"OpportunityLevel": 5})

	// The same property edited on both sides: the later edit wins on both,
	// whichever side made it.
	w.crmEdit(crmsb.Organisations, d.acme, crmsb.Record{"OrganisationCity": "Aalborg"})
	w.erpEdit(erpsb.Customers, acme["id"], erpsb.Record{"city": "Odense"})
	w.erpEdit(erpsb.Products, gadget["id"], erpsb.Record{"price": 6.0})
	w.crmEdit(crmsb.Products, d.gadget, crmsb.Record{"ProductPrice": 6.5})
	w.settle()
	if got := w.crmOne(crmsb.Organisations, "OrganisationId", d.acme)["OrganisationCity"]; got != "Odense" {
		t.Errorf("Acme's city in WebCRM = %v, want the ERP's later Odense", got)
	}
	if got := w.erpOne(erpsb.Customers, "id", acme["id"])["city"]; got != "Odense" {
		t.Errorf("Acme's city in the ERP = %v, want its own later Odense", got)
	}
	if got := w.erpOne(erpsb.Products, "id", gadget["id"])["price"]; got != 6.5 {
		t.Errorf("the gadget's price in the ERP = %v, want WebCRM's later 6.5", got)
	}
	if got := w.crmOne(crmsb.Products, "ProductId", d.gadget)["ProductPrice"]; got != 6.5 {
		t.Errorf("the gadget's price in WebCRM = %v, want its own later 6.5", got)
	}

	// The ERP delivers O-1: the hub's status is completed, WebCRM's level
	// stays won, and a later WebCRM edit does not turn the ERP's status back.
	w.erpEdit(erpsb.Orders, o1["id"], erpsb.Record{"status": "delivered"})
	w.settle()
	w.crmEdit(crmsb.Opportunities, d.won, crmsb.Record{"OpportunityDescription": "Blue widgets, delivered"})
	w.settle()
	wantFields(t, "O-1 in the ERP after delivery", w.erpOne(erpsb.Orders, "id", o1["id"]), map[string]any{"status": "delivered", "description": "Blue widgets, delivered"})
	wantFields(t, "O-1 in WebCRM after delivery", w.crmOne(crmsb.Opportunities, "OpportunityId", d.won), map[string]any{"OpportunityLevel": 5})

	// No duplicates anywhere, nothing created in WebCRM, and a quiet round
	// reads and writes nothing.
	w.counts(map[string]int{crmsb.Organisations: 3, crmsb.Persons: 2, crmsb.Users: 2, crmsb.Products: 2, crmsb.Opportunities: 3, crmsb.QuotationLines: 3},
		map[string]int{erpsb.Customers: 4, erpsb.Contacts: 3, erpsb.Products: 2, erpsb.Orders: 2})
	if rep := w.cycle(); rep.Writes() != 0 || rep.Collected != 0 {
		t.Errorf("a quiet round: %+v", rep)
	}
}

// oneGolden checks that the records (system:datatype → id) are linked to
// one golden record, and that it has no other record in those datatypes.
func (w *crmERP) oneGolden(what string, recs map[string]string) {
	w.t.Helper()
	ctx := context.Background()
	golden := ""
	for sd, id := range recs {
		sys, dt, _ := strings.Cut(sd, ":")
		got, err := w.st.GetRecords(ctx, sys, dt, []string{id})
		if err != nil {
			w.t.Fatal(err)
		}
		r, ok := got[id]
		switch {
		case !ok || r.GoldenID == "":
			w.t.Errorf("%s: %s %s is not linked", what, sd, id)
			return
		case golden == "":
			golden = r.GoldenID
		case r.GoldenID != golden:
			w.t.Errorf("%s: %s %s is linked to golden record %s, the others to %s", what, sd, id, r.GoldenID, golden)
		}
	}
	linked, err := w.st.RecordsForGoldens(ctx, []string{golden})
	if err != nil {
		w.t.Fatal(err)
	}
	per := map[string]int{}
	for _, r := range linked[golden] {
		per[r.System+":"+r.Datatype]++
	}
	for sd := range recs {
		if per[sd] != 1 {
			w.t.Errorf("%s: golden record %s has %d records of %s, want 1", what, golden, per[sd], sd)
		}
	}
}

// An installation whose "won" is another pipeline level lays one row over
// the preset's, and nothing else changes. An organisation whose country
// name the table does not know reaches the ERP as the name, which the ERP
// refuses: that one customer is parked with the ERP's reason, its
// opportunity waits for it, and the rest flows.
func TestFlowWonLevelIsOneRowAndUnknownCountriesAreParked(t *testing.T) {
	t.Parallel()
	w := newCRMERP(t, `
mappings:
  - system: webcrm
    datatype: Opportunities
    properties:
      - field: OpportunityLevel
        property: status
        type: integer
        in: "value >= 40 ? 'confirmed' : 'quote'"
        out: "value in ['open', 'confirmed', 'completed'] ? 40 : nil"
`, nil)
	acme := w.crmPut(crmsb.Organisations, crmsb.Record{"OrganisationName": "Acme A/S", "OrganisationCountry": "Sverige"})
	atlantis := w.crmPut(crmsb.Organisations, crmsb.Record{"OrganisationName": "Poseidon Ltd", "OrganisationCountry": "Atlantis"})
	o40 := w.crmPut(crmsb.Opportunities, crmsb.Record{"OpportunityNumber": "O-40", "OpportunityOrganisationId": acme, "OpportunityLevel": 40})
	w.crmPut(crmsb.Products, crmsb.Record{"ProductCustom1": "W-1", "ProductCustom2": "Widget", "ProductPrice": 10.0})
	w.crmPut(crmsb.QuotationLines, crmsb.Record{"QuotationLineOpportunityId": o40, "QuotationLineData1": "W-1", "QuotationLineData2": "Widget", "QuotationLineQuantity": 1.0})
	w.crmPut(crmsb.Opportunities, crmsb.Record{"OpportunityNumber": "O-30", "OpportunityOrganisationId": acme, "OpportunityLevel": 30})
	w.crmPut(crmsb.Opportunities, crmsb.Record{"OpportunityNumber": "O-50", "OpportunityOrganisationId": atlantis, "OpportunityLevel": 50})
	for range 4 {
		w.cycle()
	}
	w.counts(nil, map[string]int{erpsb.Customers: 1, erpsb.Orders: 1})
	wantFields(t, "Acme in the ERP", w.erpOne(erpsb.Customers, "name", "Acme A/S"), map[string]any{"country": "SE"})
	wantFields(t, "O-40 in the ERP", w.erpOne(erpsb.Orders, "number", "O-40"), map[string]any{"status": "confirmed"})
	dls, err := w.st.DeadLetters(context.Background(), "erp", "customers")
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 || !strings.Contains(dls[0].Reason, "country") || !strings.Contains(strings.ToLower(dls[0].Reason), "atlantis") {
		t.Errorf("dead letters of the ERP's customers: %+v; want Poseidon's, naming the country", dls)
	}
	if got := w.crmOne(crmsb.Organisations, "OrganisationId", atlantis)["OrganisationCountry"]; got != "Atlantis" {
		t.Errorf("Poseidon's country in WebCRM = %v", got)
	}
}

// A person and a user with one e-mail address are one contact also when
// they come to WebCRM at different times, whichever first: the later one
// is linked to the golden contact the first made, and the ERP's contact is
// updated, not doubled. Case and surrounding space of the address do not
// matter.
func TestFlowPersonAndUserArrivingApartAreOneContact(t *testing.T) {
	t.Parallel()
	w := newCRMERP(t, "", nil)
	own := w.crmPut(crmsb.Organisations, crmsb.Record{"OrganisationName": "Our Company ApS", "OrganisationCountry": "Danmark"})

	// A person first, the user later.
	eva := w.crmPut(crmsb.Persons, crmsb.Record{"PersonOrganisationId": own, "PersonFirstName": "Eva", "PersonLastName": "Holm", "PersonEmail": "eva@own.test"})
	w.settle()
	ownERP := w.erpOne(erpsb.Customers, "name", "Our Company ApS")
	wantFields(t, "Eva in the ERP as a person", w.erpOne(erpsb.Contacts, "email", "eva@own.test"), map[string]any{"is_employee": false, "customer_id": ownERP["id"]})
	evaUser := w.crmPut(crmsb.Users, crmsb.Record{"UserName": "Eva Holm", "UserEmail": " EVA@own.test", "UserMobilePhone": "+45 3000 0005"})
	w.settle()
	evaERP := w.erpOne(erpsb.Contacts, "last_name", "Holm")
	wantFields(t, "Eva in the ERP once also a user", evaERP, map[string]any{"first_name": "Eva", "is_employee": true, "customer_id": ownERP["id"], "mobile": "+45 3000 0005"})
	// Each side keeps its own spelling of the address.
	wantFields(t, "Eva's addresses", map[string]any{"erp": evaERP["email"], "person": w.crmOne(crmsb.Persons, "PersonId", eva)["PersonEmail"],
		"user": w.crmOne(crmsb.Users, "UserId", evaUser)["UserEmail"]}, map[string]any{"erp": "eva@own.test", "person": "eva@own.test", "user": " EVA@own.test"})
	w.oneGolden("Eva", map[string]string{"webcrm:Persons": fmt.Sprint(eva), "webcrm:Users": fmt.Sprint(evaUser), "erp:contacts": fmt.Sprint(evaERP["id"])})

	// A user first, the person later.
	finUser := w.crmPut(crmsb.Users, crmsb.Record{"UserName": "Fin Lund", "UserEmail": "fin@own.test"})
	w.settle()
	wantFields(t, "Fin in the ERP as a user", w.erpOne(erpsb.Contacts, "email", "fin@own.test"), map[string]any{"first_name": "", "last_name": "Lund", "is_employee": true, "customer_id": nil})
	fin := w.crmPut(crmsb.Persons, crmsb.Record{"PersonOrganisationId": own, "PersonFirstName": "Fin", "PersonLastName": "Lund", "PersonEmail": "fin@own.test", "PersonTitle": "Buyer"})
	w.settle()
	finERP := w.erpOne(erpsb.Contacts, "email", "fin@own.test")
	wantFields(t, "Fin in the ERP once also a person", finERP, map[string]any{"first_name": "Fin", "last_name": "Lund", "is_employee": true, "customer_id": ownERP["id"], "job_title": "Buyer"})
	w.oneGolden("Fin", map[string]string{"webcrm:Persons": fmt.Sprint(fin), "webcrm:Users": fmt.Sprint(finUser), "erp:contacts": fmt.Sprint(finERP["id"])})

	w.counts(map[string]int{crmsb.Persons: 2, crmsb.Users: 2}, map[string]int{erpsb.Contacts: 2})
	// The user's name was not rewritten (it already says Fin Lund).
	wantFields(t, "Fin's user in WebCRM", w.crmOne(crmsb.Users, "UserId", finUser), map[string]any{"UserName": "Fin Lund", "UserTitle": "Buyer"})
}
