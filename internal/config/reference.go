package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"
)

// Reference renders the configuration reference in Markdown from the
// schema, so the documentation describes exactly what Parse accepts. The
// README embeds it; a test keeps the copy current.
func Reference() string {
	s := loadSchema()
	r := &referencer{s: s, usedAt: map[string][]string{}, intro: map[string]string{}}
	r.visit(s.root, "", "")

	var b strings.Builder
	b.WriteString("Generated from the configuration types by `go test ./internal/config -update`; do not edit by hand.\n")
	b.WriteString("The same definitions give the JSON Schema (`config.Schema()`) that Parse validates against.\n")
	r.section(&b, "Config", s.root, s.root.Description)
	for _, def := range r.order {
		r.section(&b, def, s.root.Definitions[def], r.intro[def])
	}
	return b.String()
}

// section renders one type: what it is, where it is used, and its keys.
func (r *referencer) section(b *strings.Builder, name string, t *jsonschema.Schema, intro string) {
	fmt.Fprintf(b, "\n### %s\n\n", name)
	if intro != "" {
		fmt.Fprintf(b, "%s\n\n", intro)
	}
	if where := r.usedAt[name]; len(where) > 0 {
		quoted := make([]string, len(where))
		for i, w := range where {
			quoted[i] = "`" + w + "`"
		}
		fmt.Fprintf(b, "Used at: %s.\n\n", strings.Join(quoted, ", "))
	}
	if t.Type != "object" {
		if len(t.Examples) > 0 {
			fmt.Fprintf(b, "Examples: %s.\n", code(t.Examples))
		}
		return
	}
	b.WriteString("| Key | Type | Required / default | Description |\n")
	b.WriteString("| --- | --- | --- | --- |\n")
	for _, key := range keys(node{t, name}) {
		p, _ := t.Properties.Get(key)
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", key, r.typeOf(p), requirement(t, key, p), cell(p.Description))
	}
}

// referencer walks the schema from the top, collecting each definition
// once, in the order a reader meets them, with the places it is used.
type referencer struct {
	s      *schemaSet
	order  []string
	usedAt map[string][]string // definition -> paths like mappings[].properties[]
	intro  map[string]string   // definition -> description of where it is first used
}

// visit walks t, found at the path at and described there by desc.
func (r *referencer) visit(t *jsonschema.Schema, at, desc string) {
	if def, ok := strings.CutPrefix(t.Ref, "#/$defs/"); ok {
		if !slices.Contains(r.usedAt[def], at) {
			r.usedAt[def] = append(r.usedAt[def], at)
		}
		if slices.Contains(r.order, def) {
			return
		}
		r.order = append(r.order, def)
		d := r.s.root.Definitions[def]
		r.intro[def] = cmp.Or(d.Description, desc)
		r.visit(d, at, "")
		return
	}
	for _, key := range keys(node{t, ""}) {
		p, _ := t.Properties.Get(key)
		r.visit(p, join(at, key), p.Description)
	}
	if t.AdditionalProperties != nil && t.AdditionalProperties != jsonschema.FalseSchema {
		r.visit(t.AdditionalProperties, at+".<name>", desc)
	}
	if t.Items != nil {
		r.visit(t.Items, at+"[]", desc)
	}
}

func join(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

// typeOf describes a value's type for the reference table.
func (r *referencer) typeOf(p *jsonschema.Schema) string {
	if def, ok := strings.CutPrefix(p.Ref, "#/$defs/"); ok {
		return fmt.Sprintf("[%s](#%s)", cmp.Or(r.s.root.Definitions[def].Title, def), strings.ToLower(def))
	}
	switch p.Type {
	case "array":
		t := "list of " + r.typeOf(p.Items)
		if p.MinItems != nil && *p.MinItems > 0 {
			t += fmt.Sprintf(", at least %d", *p.MinItems)
		}
		return t
	case "object":
		if p.AdditionalProperties == nil {
			return "mapping (any keys)"
		}
		return "map of name → " + r.typeOf(p.AdditionalProperties)
	}
	if len(p.Enum) > 0 {
		return "one of " + code(p.Enum)
	}
	t := p.Type
	switch {
	case p.Minimum != "" && p.Maximum != "":
		t += fmt.Sprintf(", %s to %s", p.Minimum, p.Maximum)
	case p.Minimum != "":
		t += fmt.Sprintf(", at least %s", p.Minimum)
	}
	if p.MinLength != nil && *p.MinLength > 0 {
		t += ", not empty"
	}
	return t
}

// requirement says whether a key must be written, and what it is when not.
func requirement(parent *jsonschema.Schema, key string, p *jsonschema.Schema) string {
	switch {
	case slices.Contains(parent.Required, key):
		return "required"
	case p.Default != nil:
		return fmt.Sprintf("default `%v`", p.Default)
	}
	return "optional"
}

// code renders values as inline code: `a`, `b`.
func code(vs []any) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = "`" + fmt.Sprint(v) + "`"
	}
	return strings.Join(out, ", ")
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}
