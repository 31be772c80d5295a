package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/concordsync/concord/internal/config"
)

// checkDatatype tells whether the configuration has the system and maps the
// datatype, so that a command given a misspelt name says so instead of
// reporting that nothing is known about it.
func checkDatatype(cfg *config.Config, system, datatype string) error {
	systems := slices.Sorted(maps.Keys(cfg.Systems))
	if _, ok := cfg.Systems[system]; !ok {
		return fmt.Errorf("no system %q in %s; its systems are: %s%s",
			system, cfg.File, strings.Join(systems, ", "), sameButCase(system, systems))
	}
	dts := mappedDatatypes(cfg, system)
	if !slices.Contains(dts, datatype) {
		return fmt.Errorf("system %q maps no datatype %q in %s; its datatypes are: %s%s",
			system, datatype, cfg.File, strings.Join(dts, ", "), sameButCase(datatype, dts))
	}
	return nil
}

// mappedDatatypes lists the datatypes of a system the configuration maps,
// with their line datatypes (a separate one, or <datatype>/<field> for
// nested lines), sorted.
func mappedDatatypes(cfg *config.Config, system string) []string {
	var dts []string
	add := func(dt string) {
		if !slices.Contains(dts, dt) {
			dts = append(dts, dt)
		}
	}
	for _, m := range cfg.Mappings {
		if m.System != system {
			continue
		}
		add(m.Datatype)
		if m.Lines != nil {
			if m.Lines.Datatype != "" {
				add(m.Lines.Datatype)
			}
			if m.Lines.Field != "" {
				add(m.Datatype + "/" + m.Lines.Field)
			}
		}
	}
	slices.Sort(dts)
	return dts
}

// sameButCase suggests the name that differs from got only in case.
func sameButCase(got string, names []string) string {
	for _, n := range names {
		if strings.EqualFold(n, got) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return ""
}
