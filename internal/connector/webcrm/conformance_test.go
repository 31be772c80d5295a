package webcrm_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/connectortest"
	sandbox "github.com/concordsync/concord/internal/sandbox/webcrm"
)

// harness returns the conformance harness of one datatype. Every Open
// starts a sandbox of its own (made by newSandbox, which seeds what the
// datatype needs), so that each subtest sees only its own records; UserEdit
// and Tick act on the latest. rename maps presented field names to the
// sandbox's for edits made as a user.
func harness(t *testing.T, newSandbox func(t *testing.T) *crm, datatype string, newFields func(i int) connector.Fields,
	change func(f connector.Fields) connector.Fields, rename map[string]string) connectortest.Harness {
	var c *crm
	return connectortest.Harness{
		Open: func(t *testing.T) connector.Connector {
			c = newSandbox(t)
			return c.open(map[string]any{"page_size": 25})
		},
		Datatype:  datatype,
		NewFields: newFields,
		Change:    change,
		UserEdit: func(t *testing.T, id string, fields connector.Fields) {
			n, err := strconv.Atoi(id)
			if err != nil {
				t.Fatalf("id %q: %v", id, err)
			}
			rec := sandbox.Record{}
			for k, v := range fields {
				if r, ok := rename[k]; ok {
					k = r
				}
				rec[k] = v
			}
			c.edit(datatype, n, rec)
		},
		Tick:          func(t *testing.T) { c.clock.Advance(2 * time.Second) },
		CanDelete:     datatype == dtProducts || datatype == dtQuotationLines,
		ChecksIfMatch: true,
		Records:       80, // the page size is 25

		MissingID: "2147483000",
	}
}

const (
	dtProducts       = "Products"
	dtQuotationLines = "QuotationLines"
)

func appendText(field string) func(f connector.Fields) connector.Fields {
	return func(f connector.Fields) connector.Fields {
		s, _ := f[field].(string)
		return connector.Fields{field: s + "+"}
	}
}

// Organisations cannot be deleted through the API: the harness says so.
func TestConformanceOrganisations(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, harness(t, func(t *testing.T) *crm { return newCRM(t, sandbox.Options{}) }, "Organisations",
		func(i int) connector.Fields {
			return connector.Fields{"OrganisationName": fmt.Sprintf("Org %d", i), "OrganisationCity": "Aarhus", "OrganisationVatNumber": fmt.Sprintf("DK%08d", i)}
		},
		appendText("OrganisationCity"), nil))
}

func TestConformanceProducts(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, harness(t, func(t *testing.T) *crm { return newCRM(t, sandbox.Options{}) }, "Products",
		func(i int) connector.Fields {
			return connector.Fields{"ProductCode": fmt.Sprintf("P-%04d", i), "ProductName": fmt.Sprintf("Widget %d", i), "ProductPrice": float64(i) + 0.5}
		},
		func(f connector.Fields) connector.Fields {
			p, _ := f["ProductPrice"].(float64)
			return connector.Fields{"ProductPrice": p + 1}
		},
		map[string]string{"ProductCode": "ProductCustom1", "ProductName": "ProductCustom2"}))
}

func TestConformancePersons(t *testing.T) {
	t.Parallel()
	var org int
	connectortest.Run(t, harness(t, func(t *testing.T) *crm {
		c := newCRM(t, sandbox.Options{})
		org = c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": "Acme"})
		return c
	}, "Persons",
		func(i int) connector.Fields {
			return connector.Fields{"PersonOrganisationId": strconv.Itoa(org), "PersonFirstName": "Ann", "PersonLastName": fmt.Sprintf("Lee %d", i), "PersonEmail": fmt.Sprintf("ann%d@acme.test", i)}
		},
		appendText("PersonTitle"), nil))
}

// Users run against the older behaviour of POST /Users (an empty answer),
// so the suite covers finding the new id.
func TestConformanceUsers(t *testing.T) {
	t.Parallel()
	connectortest.Run(t, harness(t, func(t *testing.T) *crm { return newCRM(t, sandbox.Options{EmptyPostBody: true}) }, "Users",
		func(i int) connector.Fields {
			return connector.Fields{"UserName": fmt.Sprintf("User %d", i), "UserEmail": fmt.Sprintf("u%d@crm.test", i)}
		},
		appendText("UserTitle"), nil))
}

func TestConformanceQuotationLines(t *testing.T) {
	t.Parallel()
	var opp, prod int
	connectortest.Run(t, harness(t, func(t *testing.T) *crm {
		c := newCRM(t, sandbox.Options{})
		org := c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": "Acme"})
		opp = c.put(sandbox.Opportunities, sandbox.Record{"OpportunityOrganisationId": org, "OpportunityDescription": "Deal"})
		prod = c.put(sandbox.Products, sandbox.Record{"ProductCustom1": "W-1", "ProductCustom2": "Widget"})
		return c
	}, "QuotationLines",
		func(i int) connector.Fields {
			return connector.Fields{"QuotationLineOpportunityId": strconv.Itoa(opp), "QuotationLineProductId": strconv.Itoa(prod),
				"QuotationLineQuantity": float64(i + 1), "QuotationLinePrice": 9.5}
		},
		func(f connector.Fields) connector.Fields {
			q, _ := f["QuotationLineQuantity"].(float64)
			return connector.Fields{"QuotationLineQuantity": q + 1}
		}, nil))
}

func TestConformanceOpportunities(t *testing.T) {
	t.Parallel()
	var org int
	connectortest.Run(t, harness(t, func(t *testing.T) *crm {
		c := newCRM(t, sandbox.Options{})
		org = c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": "Acme"})
		return c
	}, "Opportunities",
		func(i int) connector.Fields {
			return connector.Fields{"OpportunityOrganisationId": strconv.Itoa(org), "OpportunityNumber": fmt.Sprintf("O-%d", i),
				"OpportunityOrderDate": fmt.Sprintf("2024-03-%02d", 1+i%28), "OpportunityOrderValue": float64(i) * 10}
		},
		appendText("OpportunityDescription"), nil))
}
