package engine

import (
	"testing"

	"github.com/concordsync/concord/internal/connector"
)

// A system that spells a value its own way (a country name where the hub
// holds the ISO code) is not written the hub's spelling of the same value
// when something else of the record changes: its users' text stays, and
// only a change of meaning is written.
func TestValueInTheSystemsOwnSpellingIsNotRewritten(t *testing.T) {
	w := newWorld(t, `
systems:
  crm: {kind: memory}
  erp: {kind: memory}
mappings:
  - system: crm
    datatype: orgs
    canonical: customer
    merge: [[code]]
    properties:
      - {field: code, property: code}
      - {field: name, property: name}
      - {field: country, property: country, in: "country_code(value)", out: "country_name(value, 'en')"}
  - system: erp
    datatype: customers
    canonical: customer
    merge: [[code]]
    properties:
      - {field: code, property: code}
      - {field: name, property: name}
      - {field: country, property: country}
`)
	org := w.sys["crm"].Create("orgs", connector.Fields{"code": "C1", "name": "Acme", "country": "Danmark"})
	w.settle()
	cust := w.records("erp", "customers")
	if len(cust) != 1 || cust[0].Fields["country"] != "DK" {
		t.Fatalf("the ERP holds %v", cust)
	}
	w.sys["erp"].Edit("customers", cust[0].ID, connector.Fields{"name": "Acme A/S"})
	w.settle()
	got, _ := w.sys["crm"].Lookup("orgs", org.ID)
	if got.Fields["name"] != "Acme A/S" || got.Fields["country"] != "Danmark" {
		t.Fatalf("the CRM holds %v; want the new name and its own spelling of the country", got.Fields)
	}
	// A change of meaning is written, in the CRM's spelling.
	w.sys["erp"].Edit("customers", cust[0].ID, connector.Fields{"country": "DE"})
	w.settle()
	got, _ = w.sys["crm"].Lookup("orgs", org.ID)
	if got.Fields["country"] != "Germany" {
		t.Fatalf("the CRM's country is %v, want Germany", got.Fields["country"])
	}
	if rep := w.sync(); rep.Writes() != 0 {
		t.Fatalf("a settled round wrote: %+v", rep)
	}
}
