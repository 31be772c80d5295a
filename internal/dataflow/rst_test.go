package dataflow

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// docutilsCheck parses reStructuredText with docutils (the reference
// implementation) and prints the title, the number of sections and tables,
// and every message docutils has about the text, down to level info.
const docutilsCheck = `
import sys
from docutils.core import publish_doctree
import docutils.nodes as n
d = publish_doctree(open(sys.argv[1], encoding="utf-8").read(),
                    settings_overrides={"report_level": 1, "halt_level": 5, "warning_stream": False})
print(d.get("title"))
print(len(list(d.findall(n.section))), len(list(d.findall(n.table))))
for m in d.findall(n.system_message):
    print(m.astext().replace("\n", " "))
`

// TestRSTParsesWithDocutils reads the golden rst documents with docutils,
// where python3 has it (apt-get install python3-docutils): the title, a
// section per datatype pair and the Introduction, every table, and not one
// message. It skips elsewhere.
func TestRSTParsesWithDocutils(t *testing.T) {
	if exec.Command("python3", "-c", "import docutils").Run() != nil {
		t.Skip("python3 with docutils not found (apt-get install python3-docutils); skipping the docutils check of the rst documents")
	}
	for _, f := range flows {
		doc, err := Build(compile(t, f.config), f.source, f.target, generatedAt)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("python3", "-c", docutilsCheck, filepath.Join("testdata", f.name+".rst")).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", f.name, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		want := []string{doc.Title, strconv.Itoa(len(doc.Sections)+1) + " " + strconv.Itoa(countTables(doc))}
		if len(lines) != 2 || lines[0] != want[0] || lines[1] != want[1] {
			t.Errorf("%s.rst as docutils reads it:\n%s\nwant title, sections and tables:\n%s", f.name, out, strings.Join(want, "\n"))
		}
	}
}
