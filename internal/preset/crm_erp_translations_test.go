package preset_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/mapping"
)

// crmERPSet compiles the two presets as a user names them.
func crmERPSet(t *testing.T) *mapping.Set {
	t.Helper()
	cfg, err := config.Parse("concord.yaml", []byte(`
systems:
  webcrm: {preset: webcrm, settings: {api_token: x}}
  erp: {preset: customerp, settings: {base_url: "http://erp.test/erp", auth: {api_key: x}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := mapping.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// The value translations of the two presets, row by row: what a system's
// field reads as in the hub, and what the hub's value is written as (nil:
// the field is left as the system has it).
func TestWebCRMAndERPTranslations(t *testing.T) {
	set := crmERPSet(t)
	tests := []struct {
		datatype, field string
		system          any // the system's value
		hub             any // what it reads as
		golden          any // a hub value…
		written         any // …and what is written for it
		others          map[string]any
	}{
		// Countries: names in the installation's language, codes in the hub.
		{"webcrm:Organisations", "OrganisationCountry", "Danmark", "DK", "DE", "Germany", nil},
		{"webcrm:Organisations", "OrganisationCountry", "Pays-Bas", "NL", "NL", "Netherlands", nil},
		{"webcrm:Organisations", "OrganisationCountry", "Atlantis", "Atlantis", "XX", "XX", nil},
		{"erp:customers", "country", "dk", "DK", "SE", "SE", nil},
		// VAT numbers and e-mail addresses: one spelling in the hub.
		{"webcrm:Organisations", "OrganisationVatNumber", "dk 1111-1111", "DK11111111", "DK11111111", "DK11111111", nil},
		{"erp:customers", "vat_number", "nl.8012.34.567.b01", "NL801234567B01", "NL801234567B01", "NL801234567B01", nil},
		{"webcrm:Persons", "PersonEmail", " Ann@Acme.test ", "ann@acme.test", "ann@acme.test", "ann@acme.test", nil},
		{"webcrm:Users", "UserEmail", "BO@own.test", "bo@own.test", "bo@own.test", "bo@own.test", nil},
		{"erp:contacts", "email", "Cy@Beta.test", "cy@beta.test", "cy@beta.test", "cy@beta.test", nil},
		// A user's one name field.
		{"webcrm:Users", "UserName", "Jan van Dijk", "van Dijk", "Dijk", "Jan Dijk", map[string]any{"first_name": "Jan"}},
		{"webcrm:Users", "UserName", "Cher", "Cher", "Cher", "Cher", nil},
		// Every user is an employee (the row only reads).
		{"webcrm:Users", "UserId", 7.0, true, nil, nil, nil},
		// Pipeline levels and order statuses.
		{"webcrm:Opportunities", "OpportunityLevel", 5.0, "confirmed", "confirmed", 5.0, nil},
		{"webcrm:Opportunities", "OpportunityLevel", 6.0, "cancelled", "cancelled", nil, nil},
		{"webcrm:Opportunities", "OpportunityLevel", 3.0, "quote", "quote", nil, nil},
		{"webcrm:Opportunities", "OpportunityLevel", 0.0, "quote", "completed", 5.0, nil},
		{"webcrm:Opportunities", "OpportunityLevel", 1.0, "quote", "open", 5.0, nil},
		{"erp:orders", "status", "open", "open", "open", "open", nil},
		{"erp:orders", "status", "confirmed", "confirmed", "confirmed", "confirmed", nil},
		{"erp:orders", "status", "delivered", "completed", "completed", nil, nil},
		{"erp:orders", "status", "invoiced", "completed", "quote", nil, nil},
		{"erp:orders", "status", "cancelled", "cancelled", "cancelled", "cancelled", nil},
		// Dates.
		{"webcrm:Opportunities", "OpportunityOrderDate", "2024-03-01", "2024-03-01", "2024-03-02", "2024-03-02", nil},
		{"erp:orders", "order_date", "2024-03-01", "2024-03-01", "2024-03-02", "2024-03-02", nil},
		// VAT categories.
		{"webcrm:Products", "ProductVatCode", "25%", "S", "R", "R", nil},
		{"webcrm:Products", "ProductVatCode", "Moms", "Moms", "Z", "Z", nil},
		{"webcrm:QuotationLines", "QuotationLineVatPercentage", 25.0, "S", "S", 25.0, nil},
		{"webcrm:QuotationLines", "QuotationLineVatPercentage", 0.0, nil, "Z", 0.0, nil},
		{"webcrm:QuotationLines", "QuotationLineVatPercentage", 12.0, "R", "R", nil, nil},
		{"erp:products", "vat_code", "S", "S", "E", "E", nil},
		// Blocked products are inactive ones; empty stays empty.
		{"erp:products", "blocked", true, false, true, false, nil},
		{"erp:products", "blocked", false, true, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s.%s=%v", tc.datatype, tc.field, tc.system), func(t *testing.T) {
			sys, dt, _ := strings.Cut(tc.datatype, ":")
			m, ok := set.Lookup(sys, dt)
			if !ok {
				t.Fatalf("%s is not mapped", tc.datatype)
			}
			var row *mapping.Row
			for i := range m.Rows {
				if m.Rows[i].Field == tc.field {
					row = &m.Rows[i]
				}
			}
			if row == nil {
				t.Fatalf("%s maps no field %s", tc.datatype, tc.field)
			}
			in, err := m.In(map[string]any{tc.field: tc.system}, nil, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got := in.Props[row.Property]; !mapping.Equal(got, tc.hub) {
				t.Errorf("%v reads as %s = %#v, want %#v", tc.system, row.Property, got, tc.hub)
			}
			if !row.Writes() {
				return
			}
			golden := map[string]any{row.Property: tc.golden}
			for k, v := range tc.others {
				golden[k] = v
			}
			out, _, err := m.Out(golden, func(string, string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			if got := out[tc.field]; !mapping.Equal(got, tc.written) {
				t.Errorf("%s = %#v is written as %s = %#v, want %#v", row.Property, tc.golden, tc.field, got, tc.written)
			}
		})
	}
}
