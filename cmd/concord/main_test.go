package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/runner"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := rootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestValidateReportsEveryErrorWithPosition(t *testing.T) {
	_, err := run(t, "validate", "-c", "../../internal/config/testdata/acceptance.yaml")
	var cerrs config.Errors
	if !errors.As(err, &cerrs) {
		t.Fatalf("validate returned %v, want config errors", err)
	}
	if len(cerrs) != 3 {
		t.Fatalf("%d errors, want 3:\n%v", len(cerrs), err)
	}
	for _, e := range cerrs {
		if e.Line < 1 || e.Column < 1 || e.Path == "" || !strings.HasSuffix(e.File, "acceptance.yaml") {
			t.Errorf("error without a full position: %+v", e)
		}
	}
}

func TestSyncOnceStatusExplainAndLinks(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "shop.json")
	os.WriteFile(seed, []byte(`{"customers": [{"id": "1", "fields": {"number": "C1", "company": "Acme"}}]}`), 0o644)
	cfg := filepath.Join(dir, "concord.yaml")
	os.WriteFile(cfg, []byte(`
systems:
  shop: {kind: memory, settings: {instance: cli-test-shop, seed_file: shop.json}}
  erp: {kind: memory, settings: {instance: cli-test-erp}}
mappings:
  - system: shop
    datatype: customers
    canonical: customer
    merge: [[code]]
    properties:
      - {field: number, property: code}
      - {field: company, property: name}
  - system: erp
    datatype: Accounts
    canonical: customer
    merge: [[code]]
    properties:
      - {field: Code, property: code}
      - {field: Name, property: name}
`), 0o644)
	out, err := run(t, "validate", "-c", cfg)
	if err != nil || !strings.Contains(out, "valid") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	out, err = run(t, "sync", "--once", "-c", cfg)
	if err != nil || !strings.Contains(out, "inserted 1") {
		t.Fatalf("sync --once: %v\n%s", err, out)
	}
	out, err = run(t, "status", "-c", cfg)
	if err != nil || !strings.Contains(out, "erp") || !strings.Contains(out, "Accounts") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	// A connector's note (here written as a connector would) is shown.
	loaded, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := runner.OpenStore(context.Background(), loaded)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.SwapState(context.Background(), "erp", connector.StatusKey, "daily API budget nearly spent; writes held until 00:00", 0); !ok || err != nil {
		t.Fatalf("swap state: %v %v", ok, err)
	}
	st.Close()
	out, err = run(t, "status", "-c", cfg)
	if err != nil || !strings.Contains(out, "erp: daily API budget nearly spent") {
		t.Fatalf("status does not show the connector's note: %v\n%s", err, out)
	}
	out, err = run(t, "explain", "shop", "customers", "1", "-c", cfg)
	if err != nil || !strings.Contains(out, "name") || !strings.Contains(out, "Acme") || !strings.Contains(out, "erp:Accounts") {
		t.Fatalf("explain: %v\n%s", err, out)
	}
	out, err = run(t, "links", "-c", cfg)
	if err != nil || strings.Count(out, "\n") < 3 {
		t.Fatalf("links: %v\n%s", err, out)
	}
	out, err = run(t, "schema")
	if err != nil || !strings.Contains(out, `"$schema"`) {
		t.Fatalf("schema: %v\n%.200s", err, out)
	}
}

func TestScriptedDemoRuns(t *testing.T) {
	out, err := run(t, "demo", "--scripted")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"matched", "inserted", "won", "kept", "writes during this sync: 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

func TestValidateKnowsConnectorKinds(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "concord.yaml")
	os.WriteFile(cfg, []byte("systems:\n  shop: {kind: memroy}\nmappings:\n  - {system: shop, datatype: c, canonical: customer, properties: [{field: a, property: code}]}\n"), 0o644)
	_, err := run(t, "validate", "-c", cfg)
	var cerrs config.Errors
	if !errors.As(err, &cerrs) || len(cerrs) != 1 || cerrs[0].Line != 2 || cerrs[0].Path != "systems.shop.kind" || !strings.Contains(cerrs[0].Message, `did you mean "memory"`) {
		t.Fatalf("got %v", err)
	}
}

// The README's first command: the four sandboxes, both dataflows, edits on
// each side and every flow's QA checklist, with a summary of ten green
// flows.
func TestDemoRunsEveryFlowGreen(t *testing.T) {
	if testing.Short() {
		t.Skip("the live demo takes a minute; -short skips it")
	}
	t.Parallel()
	out, err := run(t, "demo")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	i := strings.Index(out, "== Summary")
	if i < 0 {
		t.Fatalf("no summary:\n%s", out)
	}
	summary := out[i:]
	if n := strings.Count(summary, "green"); n != 10 {
		t.Errorf("%d green flows in the summary, want 10:\n%s", n, summary)
	}
	for _, want := range []string{"linked", "created", "Bakkerij de Molen B.V.", "customwebshop → exactonline", "webcrm → customerp",
		`by merge criterion vat_number = "nl812345678b01"`,
		`webcrm Opportunities "OPP-2002" → not in customerp orders: Concord creates records there only when`,
		`updated   customwebshop customers "Bakkerij De Molen" (G1): wrote phone`} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

// concord qa against the sandboxes, for both documents of the product.
func TestQAPassesAgainstTheSandboxes(t *testing.T) {
	if testing.Short() {
		t.Skip("the QA checklists take half a minute each; -short skips them")
	}
	for _, pair := range [][2]string{{"customwebshop", "exactonline"}, {"webcrm", "customerp"}} {
		t.Run(pair[0]+"-"+pair[1], func(t *testing.T) {
			t.Parallel()
			out, err := run(t, "qa", "-q", pair[0], pair[1])
			if err != nil || !strings.Contains(out, " 0 failed") {
				t.Fatalf("qa %s %s: %v\n%s", pair[0], pair[1], err, out)
			}
		})
	}
}
