// Package preset holds Concord's built-in systems: for each system a
// complete configuration of that one system (its connector kind, title,
// settings without credentials, and the mappings of its datatypes), written
// in the same YAML a user writes. A user's configuration names one with
// `preset:` and lays its own settings and mappings over it (see
// internal/config); the files are embedded in the binary.
package preset

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
)

// files holds the presets: <name>.yaml, whose one system is keyed <name>.
// The pattern takes every file of the folder (it must match something
// while the folder holds no preset yet); Names keeps the .yaml ones.
//
//go:embed *
var files embed.FS

// Names lists the built-in presets, sorted.
func Names() []string {
	entries, _ := files.ReadDir(".")
	var out []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Source returns a preset's YAML and the name its errors are reported
// under ("preset/<name>.yaml").
func Source(name string) (data []byte, file string, ok bool) {
	if !slices.Contains(Names(), name) {
		return nil, "", false
	}
	data, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, "", false
	}
	return data, path.Join("preset", name+".yaml"), true
}

// Config is a configuration that connects the named presets under their
// own names, with no settings of the user's: enough to compile their
// mappings (for the dataflow documents), not to reach the systems.
func Config(names ...string) ([]byte, error) {
	var b strings.Builder
	b.WriteString("# The built-in presets, as they come.\nsystems:\n")
	for _, n := range names {
		if !slices.Contains(Names(), n) {
			return nil, fmt.Errorf("%q is not a built-in system (%s)", n, strings.Join(Names(), ", "))
		}
		fmt.Fprintf(&b, "  %s: {preset: %s}\n", n, n)
	}
	return []byte(b.String()), nil
}
