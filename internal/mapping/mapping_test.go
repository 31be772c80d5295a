package mapping

import (
	"reflect"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
)

func compile(t *testing.T, yaml string) *Set {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const testYAML = `
systems: {erp: {kind: memory}, shop: {kind: memory}}
mappings:
  - system: erp
    datatype: Accounts
    canonical: customer
    properties:
      - {field: Code, property: code, in: "trimpad(value)", out: "pad(value, 6, ' ')"}
      - {field: Name, property: name}
  - system: erp
    datatype: Orders
    canonical: order
    properties:
      - {field: Number, property: number}
      - {field: Account, property: customer, ref: Accounts}
      - {field: Date, property: order_date, type: date}
    lines:
      datatype: Lines
      parent_field: OrderID
      properties:
        - {field: Qty, property: quantity, type: number}
  - system: shop
    datatype: products
    canonical: product
    properties:
      - {field: price, property: unit_price, type: number}
`

func TestInAndOutRoundTrip(t *testing.T) {
	s := compile(t, testYAML)
	m, _ := s.Lookup("erp", "Accounts")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	in, err := m.In(map[string]any{"Code": "  C1", "Name": ""}, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	if in.Props["code"] != "C1" || in.Props["name"] != nil {
		t.Fatalf("mapped in: %v", in.Props)
	}
	if !in.Times["code"].Equal(t0) {
		t.Fatalf("a field without its own time takes the record's: %v", in.Times)
	}
	out, unresolved, err := m.Out(map[string]any{"code": "C1", "name": "Acme"}, nil)
	if err != nil || len(unresolved) > 0 {
		t.Fatal(err, unresolved)
	}
	if out["Code"] != "    C1" || out["Name"] != "Acme" {
		t.Fatalf("mapped out: %v", out)
	}
}

func TestReferencesAreLeftToTheEngine(t *testing.T) {
	s := compile(t, testYAML)
	m, _ := s.Lookup("erp", "Orders")
	in, err := m.In(map[string]any{"Number": "SO1", "Account": 42.0, "Date": "/Date(1767225600000)/"}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ref := in.Refs["customer"]; ref.Datatype != "Accounts" || ref.ID != "42" {
		t.Fatalf("reference: %+v", in.Refs)
	}
	if in.Props["order_date"] != "2026-01-01" {
		t.Fatalf("/Date(ms)/ not coerced to a date: %v", in.Props["order_date"])
	}
	_, unresolved, _ := m.Out(map[string]any{"number": "SO1", "customer": "g1"}, func(dt, gid string) (string, bool) { return "", false })
	if len(unresolved) != 1 || unresolved[0] != "customer" {
		t.Fatalf("unresolved = %v", unresolved)
	}
	out, _, _ := m.Out(map[string]any{"number": "SO1", "customer": "g1"}, func(dt, gid string) (string, bool) { return "A-7", dt == "Accounts" })
	if out["Account"] != "A-7" {
		t.Fatalf("reference out = %v", out["Account"])
	}
}

func TestLinesBecomeTheirOwnMapping(t *testing.T) {
	s := compile(t, testYAML)
	lm, ok := s.Lookup("erp", "Lines")
	if !ok || lm.Canonical != "order.lines" || !lm.Repeats {
		t.Fatalf("lines mapping: %+v", lm)
	}
	if lm.Rows[0].Property != ParentProperty || lm.Rows[0].Ref != "Orders" {
		t.Fatalf("first line row must refer to the parent: %+v", lm.Rows[0])
	}
	pos := map[string]int{}
	for i, typ := range s.Order {
		pos[typ] = i
	}
	if !(pos["customer"] < pos["order"] && pos["order"] < pos["order.lines"] && pos["product"] < pos["order.lines"]) {
		t.Fatalf("types out of reference order: %v", s.Order)
	}
}

func TestEqualAndCoerce(t *testing.T) {
	cases := []struct {
		a, b any
		eq   bool
	}{
		{nil, "", true}, {"", "  ", true}, {3.0, int64(3), true}, {"3", 3.0, false},
		{[]any{1.0}, []any{int64(1)}, true}, {map[string]any{"a": nil, "b": 1.0}, map[string]any{"b": 1.0}, true},
		{true, "true", false},
	}
	for _, c := range cases {
		if Equal(c.a, c.b) != c.eq {
			t.Errorf("Equal(%#v, %#v) = %v", c.a, c.b, !c.eq)
		}
	}
	if v, err := Coerce("12.50", "number"); err != nil || v != 12.5 {
		t.Errorf("Coerce number: %v %v", v, err)
	}
	if _, err := Coerce("twelve", "number"); err == nil {
		t.Error("a non-number coerced to a number")
	}
	if v, _ := Coerce(7.0, "string"); v != "7" {
		t.Errorf("Coerce 7.0 to string = %#v", v)
	}
}

func TestSameNumberComparesTextWithNumbers(t *testing.T) {
	for _, tc := range []struct {
		a, b any
		want bool
	}{
		{"12.50", 12.5, true}, {12.5, " 12.5", true}, {"12", int64(12), true},
		{"12.5", "12.50", false}, // two texts: Equal's business
		{12.0, 12.0, false},      // two numbers: the same
		{"", 0.0, false}, {"n/a", 1.0, false}, {"13", 12.0, false},
	} {
		if got := SameNumber(tc.a, tc.b); got != tc.want {
			t.Errorf("SameNumber(%#v, %#v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNestedLinesBecomeTheRecordsOfADatatypeOfTheirOwn(t *testing.T) {
	s := compile(t, `
systems: {shop: {kind: rest}}
mappings:
  - system: shop
    datatype: products
    canonical: product
    properties: [{field: sku, property: code}]
  - system: shop
    datatype: orders
    canonical: order
    properties: [{field: number, property: number}]
    lines:
      field: line_items
      id_field: id
      properties:
        - {field: product_id, property: product, ref: products}
        - {field: quantity, property: quantity, type: integer}
`)
	m, _ := s.Lookup("shop", "orders")
	if l := m.Lines; l.Datatype != "orders/line_items" || l.ParentField != ParentProperty || l.InsertField != "line_items" || l.IDField != "id" {
		t.Fatalf("the nested lines compile to %+v", l)
	}
	lm, ok := s.Lookup("shop", "orders/line_items")
	if !ok || lm.Canonical != "order.lines" || lm.Delete != DeletePropagate {
		t.Fatalf("lines mapping: %+v", lm)
	}
	if r := lm.Rows[0]; r.Field != ParentProperty || r.Property != ParentProperty || r.Ref != "orders" {
		t.Fatalf("the first line row must be the parent reference: %+v", r)
	}
	out, unresolved, err := lm.Out(map[string]any{ParentProperty: "g1", "product": "g2", "quantity": 2.0},
		func(dt, gid string) (string, bool) {
			return map[string]string{"orders": "17", "products": "4"}[dt], true
		})
	if err != nil || len(unresolved) > 0 || out[ParentProperty] != "17" || out["product_id"] != "4" || !Equal(out["quantity"], 2.0) {
		t.Fatalf("a line mapped out: %v %v %v", out, unresolved, err)
	}
}

func TestSameDateComparesADateWithATime(t *testing.T) {
	for _, tc := range []struct {
		a, b any
		want bool
	}{
		{"2026-03-10", "2026-03-10T00:00:00Z", true},          // Exact's calendar date
		{"2026-03-10", "2026-03-10T23:30:00.000+01:00", true}, // the date where the time was taken
		{"2026-03-10", "2026-03-09T23:30:00Z", false},         // another day
		{"2026-03-10", time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC), true},
		{"2026-03-10", "2026-03-10", false},                     // two texts: Equal's business
		{"2026-03-10T00:00:00Z", "2026-03-10T00:00:00Z", false}, // not a date
		{"10-03-2026", "2026-03-10T00:00:00Z", false},
		{"2026-03-10", "soon", false}, {nil, "2026-03-10T00:00:00Z", false}, {"2026-03-10", nil, false},
	} {
		if got := SameDate(tc.a, tc.b); got != tc.want {
			t.Errorf("SameDate(%#v, %#v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// A row's field may be a path to a member of an object the record holds
// (an address nested in a customer): read from it, written into it, with
// empty members left out so that they never clear the system's.
func TestFieldPathsReadAndWriteNestedMembers(t *testing.T) {
	s := compile(t, `
systems: {shop: {kind: memory}}
mappings:
  - system: shop
    datatype: customers
    canonical: customer
    properties:
      - {field: email, property: email}
      - {field: billing_address.city, property: city}
      - {field: billing_address.country, property: country, in: "value == nil ? nil : upper(value)"}
      - {field: billing_address.postcode, property: postcode}
`)
	m, _ := s.Lookup("shop", "customers")
	t0 := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	in, err := m.In(map[string]any{"email": "a@b.test", "billing_address": map[string]any{"city": "Delft", "country": "nl"}},
		map[string]time.Time{"billing_address": t0}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if in.Props["city"] != "Delft" || in.Props["country"] != "NL" || in.Props["postcode"] != nil || !in.Times["city"].Equal(t0) {
		t.Fatalf("in: %v %v", in.Props, in.Times)
	}
	if _, err := m.In(map[string]any{"billing_address": nil}, nil, t0); err != nil {
		t.Fatalf("a record without the object: %v", err)
	}
	out, _, err := m.Out(map[string]any{"email": "a@b.test", "city": "Delft", "country": "NL"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"email": "a@b.test", "billing_address": map[string]any{"city": "Delft", "country": "NL"}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("out: %v, want %v", out, want)
	}
	if out, _, _ := m.Out(map[string]any{"email": "a@b.test"}, nil); out["billing_address"] != nil {
		t.Fatalf("an object of empty members is written: %v", out)
	}
	if f, err := m.FieldsFor(map[string]any{"city": "Leiden", "email": "x@y.test"}, "city"); err != nil ||
		!reflect.DeepEqual(f, map[string]any{"billing_address": map[string]any{"city": "Leiden"}}) {
		t.Fatalf("FieldsFor: %v %v", f, err)
	}
	if n := m.NestedFields(); !reflect.DeepEqual(n, map[string]bool{"billing_address": true}) {
		t.Fatalf("NestedFields: %v", n)
	}
	if v, ok := FieldValue(map[string]any{"a.b": 1.0, "a": map[string]any{"b": 2.0}}, "a.b"); !ok || v != 1.0 {
		t.Fatalf("a member named with a dot is found by its name first: %v", v)
	}
}
func TestAgreesReadsTheSystemsSpelling(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`
systems:
  crm: {kind: memory}
mappings:
  - system: crm
    datatype: orgs
    canonical: customer
    properties:
      - {field: country, property: country, in: "country_code(value)", out: "country_name(value)"}
      - {field: name, property: name, direction: out}
      - {field: web, property: website, in: "lower(value)"}
      - {field: mail, property: email, in: "lower(value)", out: "lower(value)"}
`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := set.Lookup("crm", "orgs")
	fields := map[string]any{"country": "Danmark", "name": "Acme", "web": "ACME.test", "mail": "Info@Acme.test"}
	for _, tc := range []struct {
		field  string
		golden map[string]any
		want   bool
	}{
		{"country", map[string]any{"country": "DK"}, true},
		{"country", map[string]any{"country": "DE"}, false},
		{"country", map[string]any{}, false},            // nothing to agree with
		{"name", map[string]any{"name": "Acme"}, false}, // an out-only row reads nothing
		{"web", map[string]any{"website": "acme.test"}, true},
		{"mail", map[string]any{"email": "info@acme.test"}, false}, // a normal form: written as such
		{"nosuch", map[string]any{"country": "DK"}, false},
	} {
		if got := m.Agrees(tc.field, fields, tc.golden); got != tc.want {
			t.Errorf("Agrees(%s, %v) = %v, want %v", tc.field, tc.golden, got, tc.want)
		}
	}
}

// Compose fills, besides what Out writes, the rows a system only reads: as
// the value is, a reference by its id, and nothing a field cannot hold.
func TestComposeFillsReadOnlyRows(t *testing.T) {
	s := compile(t, `
systems: {crm: {kind: memory}}
mappings:
  - system: crm
    datatype: Organisations
    canonical: customer
    properties: [{field: Name, property: name}]
  - system: crm
    datatype: Persons
    canonical: contact
    properties:
      - {field: First, property: first_name}
      - {field: Last, property: last_name, direction: in, in: "upper(value)"}
      - {field: Org, property: customer, ref: Organisations, direction: in}
      - {field: Level, property: job_title, type: integer, direction: in}
  - system: crm
    datatype: Opportunities
    canonical: order
    properties: [{field: Number, property: number}]
    lines:
      datatype: Lines
      parent_field: OpportunityId
      properties: [{field: Qty, property: quantity, type: number}]
`)
	m, _ := s.Lookup("crm", "Persons")
	resolve := func(datatype, g string) (string, bool) { return "org-" + g, datatype == "Organisations" && g == "g1" }
	fields, unresolved, err := m.Compose(map[string]any{"first_name": "Ann", "last_name": "Lee", "customer": "g1", "job_title": "boss"}, resolve)
	if err != nil || len(unresolved) > 0 {
		t.Fatal(err, unresolved)
	}
	if fields["First"] != "Ann" || fields["Last"] != "Lee" || fields["Org"] != "org-g1" {
		t.Errorf("fields = %v", fields)
	}
	if _, ok := fields["Level"]; ok {
		t.Errorf("a text went into the integer field Level: %v", fields)
	}
	if _, unresolved, _ := m.Compose(map[string]any{"customer": "g2"}, resolve); len(unresolved) != 1 || unresolved[0] != "customer" {
		t.Errorf("unresolved = %v, want customer", unresolved)
	}

	lm, _ := s.Lookup("crm", "Lines")
	line, unresolved, err := lm.ComposeLine(map[string]any{ParentProperty: "g9", "quantity": 2.0}, resolve)
	if err != nil || len(unresolved) > 0 {
		t.Fatal(err, unresolved)
	}
	if _, ok := line["OpportunityId"]; ok || line["Qty"] != 2.0 {
		t.Errorf("a line carried in its parent = %v, want Qty only", line)
	}
}
