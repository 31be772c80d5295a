package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The CLI writes the same document as the dataflow package's golden file.
func TestDocsWritesTheGoldenDocument(t *testing.T) {
	const flows = "../../internal/dataflow/testdata/"
	// Without a configuration (none given, no concord.yaml here): the
	// built-in presets of the two systems.
	out, err := run(t, "docs", "customwebshop", "exactonline", "--generated", "2026-11-22 06:00:00")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(flows + "customwebshop-exactonline.rst")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("concord docs customwebshop exactonline differs from %scustomwebshop-exactonline.rst", flows)
	}

	// -o FILE: the format follows the extension; systems by title.
	file := filepath.Join(t.TempDir(), "webcrm-customerp.html")
	if _, err := run(t, "docs", "-c", flows+"presets.yaml", "WebCRM", "Custom ERP", "-o", file, "--generated", "2026-11-22 06:00:00"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(file)
	want, _ = os.ReadFile(flows + "webcrm-customerp.html")
	if !bytes.Equal(got, want) {
		t.Errorf("concord docs WebCRM \"Custom ERP\" -o %s differs from %swebcrm-customerp.html", file, flows)
	}

	t.Setenv("SOURCE_DATE_EPOCH", "1795327200")
	out, err = run(t, "docs", "-c", flows+"flows.yaml", "webcrm", "erp", "--format", "md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "\nGenerated: 2026-11-22 06:00:00\n") || !strings.HasPrefix(out, "# WebCRM to Custom ERP Dataflow\n") {
		t.Errorf("markdown with SOURCE_DATE_EPOCH:\n%.200s", out)
	}

	if _, err := run(t, "docs", "-c", flows+"flows.yaml", "webcrm", "nowhere"); err == nil || !strings.Contains(err.Error(), `no system "nowhere" (systems: erp, exact, webcrm, webshop)`) {
		t.Errorf("unknown system: %v", err)
	}
	if _, err := run(t, "docs", "-c", flows+"flows.yaml", "webcrm", "erp", "--format", "pdf"); err == nil || !strings.Contains(err.Error(), "use rst, markdown or html") {
		t.Errorf("unknown format: %v", err)
	}
}

// The examples of concord docs --help run as written (without -c, in a
// folder without concord.yaml: on the built-in presets).
func TestDocsExamplesRun(t *testing.T) {
	cmd := docsCmd(nil)
	t.Chdir(t.TempDir())
	for _, line := range strings.Split(cmd.Example, "\n") {
		if strings.Contains(line, " -c ") {
			continue
		}
		var args []string
		for i, part := range strings.Split(strings.TrimSpace(line), `"`) {
			if i%2 == 1 {
				args = append(args, part)
			} else {
				args = append(args, strings.Fields(part)...)
			}
		}
		if out, err := run(t, args[1:]...); err != nil {
			t.Errorf("%s: %v\n%.300s", line, err, out)
		}
	}
}
