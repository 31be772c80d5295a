package webcrm_test

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	sandbox "github.com/concordsync/concord/internal/sandbox/webcrm"
)

var measureOrgs = flag.Int("webcrm.orgs", 250, "organisations in TestAPICalls (10000 for the figures in docs/adr/0008)")

// TestAPICalls measures the API calls a sync costs: an initial load of N
// organisations from WebCRM into a memory ERP, then rounds of 100 changes.
// The figures in docs/adr/0008 come from
//
//	go test ./internal/connector/webcrm -run TestAPICalls -v -webcrm.orgs=10000
func TestAPICalls(t *testing.T) {
	t.Parallel()
	n := max(*measureOrgs, 100)
	w := newWorld(t, worldOptions{yaml: orgsYAML, pageSize: 1000})
	for i := range n {
		w.crm.put(sandbox.Organisations, sandbox.Record{"OrganisationName": fmt.Sprintf("Org %d", i), "OrganisationVatNumber": fmt.Sprintf("DK%08d", i), "OrganisationCity": "Aarhus"})
	}
	var rows []string
	measure := func(what string, f func()) {
		t.Helper()
		w.crm.srv.ResetCalls()
		began := time.Now()
		f()
		calls := w.crm.srv.Calls()
		total := 0
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(calls)) {
			total += calls[k]
			parts = append(parts, fmt.Sprintf("%s ×%d", k, calls[k]))
		}
		rows = append(rows, fmt.Sprintf("%-62s %6d calls  (%s; %v)", what, total, strings.Join(parts, ", "), time.Since(began).Round(time.Millisecond)))
	}
	measure(fmt.Sprintf("initial load of %d organisations (first cycle)", n), func() { w.sync() })
	if got := w.erp.Count("customers"); got != n {
		t.Fatalf("the ERP has %d customers, want %d", got, n)
	}
	measure("next cycle (nothing changed; all within the overlap)", func() { w.sync() })

	edit := func(from int, city string) {
		for k := from; k < from+100; k++ {
			w.crm.edit(sandbox.Organisations, 1+k%n, sandbox.Record{"OrganisationCity": city})
		}
	}
	measure("100 changes in WebCRM right after (the load within the overlap)", func() { edit(0, "Odense"); w.sync() })
	w.crm.clock.Advance(15 * time.Hour)
	measure("100 changes 15 h later (read from the cursor before them)", func() { edit(100, "Vejle"); w.sync() })
	w.crm.clock.Advance(time.Hour)
	measure("100 changes an hour later (steady state)", func() { edit(200, "Skive"); w.sync() })
	measure("cycle with nothing changed (steady state)", func() { w.sync() })
	measure("100 changes in the ERP (written to WebCRM: GET+PUT each)", func() {
		customers := w.erp.Records("customers")
		for k := 300; k < 400; k++ {
			w.erp.Edit("customers", customers[k%n].ID, connector.Fields{"city": "Ry"})
		}
		w.sync()
	})
	measure("next cycle (the echo of those writes)", func() { w.sync() })
	measure("100 customers created in the ERP (inserted in WebCRM by bulk PATCH)", func() {
		for k := range 100 {
			w.erp.Create("customers", connector.Fields{"name": fmt.Sprintf("New %d", k), "vat": fmt.Sprintf("NL%08d", k), "city": "Ry"})
		}
		w.sync()
	})
	if got := w.crm.srv.Calls()["PATCH /Organisations"]; got != 1 {
		t.Errorf("100 inserts took %d bulk PATCH calls, want 1 (calls: %v)", got, w.crm.srv.Calls())
	}
	if n := len(w.crm.srv.Records(sandbox.Organisations)); n != max(*measureOrgs, 100)+100 {
		t.Errorf("WebCRM holds %d organisations after the inserts", n)
	}
	for _, r := range rows {
		t.Log(r)
	}
}
