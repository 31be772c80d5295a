// Package canonical holds the canonical model: the small set of types
// (customer, contact, product, order with lines) every system maps to once.
// It owns the built-in definitions and the merge of a configuration's
// additions; it knows nothing of systems or storage.
package canonical

import (
	_ "embed"
	"fmt"
	"sort"

	"go.yaml.in/yaml/v3"
)

//go:embed model.yaml
var builtinYAML []byte

// Type declares a canonical type or extends a built-in one.
type Type struct {
	Properties map[string]Property `yaml:"properties" json:"properties" jsonschema:"required,description=Properties by name."`
	Lines      map[string]Property `yaml:"lines,omitempty" json:"lines,omitempty" jsonschema:"description=Properties of the type's child lines (as order.lines)."`
}

// Property is one canonical property.
type Property struct {
	Type        string `yaml:"type" json:"type" jsonschema:"required,enum=string,enum=number,enum=integer,enum=boolean,enum=date,enum=datetime,enum=reference,enum=object,enum=array,description=Value type (object and array hold nested values as they are)."`
	Ref         string `yaml:"ref,omitempty" json:"ref,omitempty" jsonschema:"description=For type reference: the canonical type referred to."`
	Description string `yaml:"description,omitempty" json:"description,omitempty" jsonschema:"description=What the property means."`
}

// Model is the set of canonical types by name.
type Model map[string]Type

// Builtin returns a fresh copy of the built-in model.
func Builtin() Model {
	var m Model
	if err := yaml.Unmarshal(builtinYAML, &m); err != nil {
		panic("canonical: built-in model does not parse: " + err.Error())
	}
	return m
}

// With returns the built-in model extended by a configuration's additions.
func With(extra map[string]Type) Model {
	m := Builtin()
	for name, t := range extra {
		base, ok := m[name]
		if !ok {
			m[name] = t
			continue
		}
		for p, def := range t.Properties {
			base.Properties[p] = def
		}
		if len(t.Lines) > 0 && base.Lines == nil {
			base.Lines = map[string]Property{}
		}
		for p, def := range t.Lines {
			base.Lines[p] = def
		}
		m[name] = base
	}
	return m
}

// Names lists the type names, sorted.
func (m Model) Names() []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Property looks up a property of a type (line properties with lines=true).
func (m Model) Property(typ, prop string, lines bool) (Property, error) {
	t, ok := m[typ]
	if !ok {
		return Property{}, fmt.Errorf("unknown canonical type %q (known: %v)", typ, m.Names())
	}
	props := t.Properties
	if lines {
		props = t.Lines
	}
	p, ok := props[prop]
	if !ok {
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		return Property{}, fmt.Errorf("canonical type %q has no property %q (known: %v)", typ, prop, names)
	}
	return p, nil
}
