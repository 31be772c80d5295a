package qa

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
	"github.com/concordsync/concord/internal/engine"
	"github.com/concordsync/concord/internal/store/memstore"
)

const flow = `systems:
  shop: {kind: memory, title: Shop}
  erp: {kind: memory, title: ERP}
mappings:
  - system: shop
    datatype: customers
    title: Customer
    canonical: customer
    merge: [[email]]
    properties:
      - {field: name, property: name}
      - {field: email, property: email}
      - {field: country, property: country}
  - system: shop
    datatype: products
    title: Product
    canonical: product
    merge: [[code]]
    properties:
      - {field: sku, property: code}
      - {field: title, property: name}
      - {field: price, property: unit_price, type: number}
  - system: shop
    datatype: orders
    title: Order
    canonical: order
    merge: [[number]]
    properties:
      - {field: number, property: number}
      - {field: customer_id, property: customer, ref: customers}
      - {field: status, property: status}
      - {field: note, property: description}
    lines:
      datatype: order_lines
      parent_field: order_id
      properties:
        - {field: product_id, property: product, ref: products}
        - {field: qty, property: quantity, type: number}
  - system: erp
    datatype: Accounts
    canonical: customer
    merge: [[email]]
    properties:
      - {field: Name, property: name}
      - {field: Email, property: email}
      - {field: Country, property: country, in: "value == 'Netherlands' ? 'NL' : value", out: "value == 'NL' ? 'Netherlands' : value"}
  - system: erp
    datatype: Items
    canonical: product
    merge: [[code]]
    properties:
      - {field: Code, property: code}
      - {field: Description, property: name}
      - {field: Price, property: unit_price, type: number}
  - system: erp
    datatype: Quotes
    canonical: order
    merge: [[number]]
    when: "golden.status == 'quote'"
    properties:
      - {field: Number, property: number}
      - {field: Account, property: customer, ref: Accounts}
      - {field: Remarks, property: description}
  - system: erp
    datatype: Orders
    canonical: order
    merge: [[number]]
    when: "golden.status in ['confirmed', 'completed']"
    properties:
      - {field: Number, property: number}
      - {field: Account, property: customer, ref: Accounts}
      - {field: Remarks, property: description}
    lines:
      datatype: OrderLines
      parent_field: OrderID
      properties:
        - {field: Item, property: product, ref: Items}
        - {field: Quantity, property: quantity, type: number}
`

// runQA runs the checklist from shop to erp on memory systems, with the
// flow's configuration changed by edit.
func runQA(t *testing.T, edit func(string) string) Report {
	t.Helper()
	return runQAWith(t, edit, nil)
}

// runQAWith is runQA with the run's progress written to progress.
func runQAWith(t *testing.T, edit func(string) string, progress io.Writer) Report {
	t.Helper()
	cfg, err := config.Parse("qa.yaml", []byte(edit(flow)))
	if err != nil {
		t.Fatal(err)
	}
	conns := map[string]connector.Connector{
		"shop": memory.New("shop", memory.Options{}),
		"erp":  memory.New("erp", memory.Options{}),
	}
	st := memstore.New()
	eng, err := engine.New(cfg, st, conns, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Env{Engine: eng, Store: st, Connectors: func(s string) connector.Connector { return conns[s] }},
		Options{Source: "shop", Target: "erp", Pause: 5 * time.Millisecond, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func asIs(s string) string { return s }

func TestQAPassesOnAFaithfulMapping(t *testing.T) {
	rep := runQA(t, asIs)
	var out bytes.Buffer
	rep.Print(&out)
	if rep.Failed() != 0 {
		t.Fatalf("failed checks:\n%s", out.String())
	}
	t.Log(out.String())
	want := []string{"Shop Customer to ERP Accounts", "Shop Product to ERP Items", "Shop Order to ERP Quotes", "Shop Order to ERP Orders", "Shop order_lines to ERP OrderLines"}
	if strings.Join(rep.Sections, "|") != strings.Join(want, "|") {
		t.Errorf("sections = %q, want %q", rep.Sections, want)
	}
	for _, item := range []string{"country → Country", "customer_id → Account", "lines", "edit both", "no duplicates"} {
		if !strings.Contains(out.String(), item) {
			t.Errorf("checklist lacks %q:\n%s", item, out.String())
		}
	}
	// Every section made its record, edited it on both sides and checked
	// for duplicates.
	steps := map[string]map[string]bool{}
	for _, c := range rep.Checks {
		if steps[c.Section] == nil {
			steps[c.Section] = map[string]bool{}
		}
		steps[c.Section][c.Step] = true
	}
	for _, s := range want {
		for _, step := range []string{"insert", "edit target", "edit both", "no duplicates"} {
			if !steps[s][step] {
				t.Errorf("%s: no %s check", s, step)
			}
		}
	}
}

func TestQAFailsOnALossyMapping(t *testing.T) {
	// The ERP's name row changes the value on its way in: what the
	// document promises (the same name on both sides) does not hold.
	rep := runQA(t, func(s string) string {
		return strings.Replace(s, "{field: Name, property: name}", `{field: Name, property: name, in: "upper(value)"}`, 1)
	})
	var out bytes.Buffer
	rep.Print(&out)
	if rep.Failed() == 0 {
		t.Fatalf("a lossy mapping passed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "FAIL  insert        name → Name") {
		t.Errorf("the failure is not on the name row:\n%s", out.String())
	}
}

// A target Concord only links to: the checklist makes the matching record
// there itself and checks that the two are linked, not duplicated.
func TestQALinksWhereTheTargetTakesNoInserts(t *testing.T) {
	rep := runQA(t, func(s string) string {
		return strings.Replace(s, "    datatype: Accounts\n", "    datatype: Accounts\n    insert: false\n", 1)
	})
	var out bytes.Buffer
	rep.Print(&out)
	if rep.Failed() != 0 {
		t.Fatalf("failed checks:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "PASS  link          email → Email") {
		t.Errorf("the Accounts section does not check a link:\n%s", out.String())
	}
}

// The progress says what the cleanup deleted in words, not with a Go nil.
func TestQAProgressReportsTheCleanup(t *testing.T) {
	var progress bytes.Buffer
	runQAWith(t, asIs, &progress)
	out := progress.String()
	if !strings.Contains(out, "cleanup: deleted shop:") || strings.Contains(out, "<nil>") {
		t.Errorf("progress:\n%s", out)
	}
}
