package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/concordsync/concord/internal/canonical"
	"github.com/concordsync/concord/internal/transform"
)

// The checks here need more than one value at a time, or knowledge the
// schema does not have (the canonical model, the expression language).
// Each reports at the node it is about, and stays quiet where the schema
// already complained (see parser.problem).

// checkDurations parses every value whose schema is a Duration. The schema
// pattern catches most mistakes; this catches the rest (overflow) and keeps
// bad values away from the decoder.
func (p *parser) checkDurations(n *yaml.Node, at path) {
	s := loadSchema()
	var walk func(n *yaml.Node, sch node, at path)
	walk = func(n *yaml.Node, sch node, at path) {
		sch = s.deref(sch)
		if sch.Schema == nil {
			return
		}
		if sch.def == "Duration" {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
				if _, err := parseDuration(n.Value); err != nil {
					p.problem(at, "%v", err)
					p.invalid = append(p.invalid, at)
					replace(p.root, at, emptyLike(n, sch))
				}
			}
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				walk(n.Content[i+1], s.child(sch, k), at.key(k))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, s.child(sch, i), at.index(i))
			}
		}
	}
	walk(n, s.at(at), at)
}

// check runs the semantic checks on the decoded configuration.
func (p *parser) check(cfg *Config) {
	model := canonical.With(cfg.Canonical)
	p.checkStore(cfg.Store)
	p.checkKinds(cfg.Systems)
	p.checkSettings(cfg.Systems)
	p.checkCanonical(cfg.Canonical, model)

	c := &mappingCheck{parser: p, cfg: cfg, model: model, mapped: map[systemDatatype]int{}}
	for i, m := range cfg.Mappings {
		if m.System == "" || m.Datatype == "" {
			continue
		}
		k := systemDatatype{m.System, m.Datatype}
		if first, dup := c.mapped[k]; dup {
			p.problem(path{"mappings", i, "datatype"},
				"datatype %q of system %q is already mapped by mappings[%d] (line %d); map each system datatype once",
				m.Datatype, m.System, first, p.line(path{"mappings", first}))
			continue
		}
		c.mapped[k] = i
	}
	for i := range cfg.Mappings {
		c.mapping(i)
	}
}

func (p *parser) line(at path) int {
	return nearest(p.root, at).Line
}

// checkSettings runs the caller's check of every system's settings.
func (p *parser) checkSettings(systems map[string]System) {
	if p.opts.CheckSettings == nil {
		return
	}
	for _, name := range sortedNames(systems) {
		sys := systems[name]
		if sys.Kind == "" || (len(p.opts.Kinds) > 0 && !slices.Contains(p.opts.Kinds, sys.Kind)) {
			continue
		}
		if err := p.opts.CheckSettings(sys.Kind, name, sys.Settings); err != nil {
			// The path names the system; the check's own prefix would say
			// it a second time.
			msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("system %q (kind %s): ", name, sys.Kind))
			p.problem(path{"systems", name, "settings"}, "%s", msg)
		}
	}
}

// checkKinds checks every system's connector kind against the kinds this
// binary has, when the caller said which.
func (p *parser) checkKinds(systems map[string]System) {
	if len(p.opts.Kinds) == 0 {
		return
	}
	for _, name := range sortedNames(systems) {
		kind := systems[name].Kind
		if kind == "" || slices.Contains(p.opts.Kinds, kind) {
			continue
		}
		p.problem(path{"systems", name, "kind"}, "unknown connector kind %q; expected one of: %s%s",
			kind, strings.Join(p.opts.Kinds, ", "), didYouMean(kind, p.opts.Kinds))
	}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (p *parser) checkStore(s Store) {
	at := path{"store"}
	if s.Driver != "" && s.Driver != DefaultDriver {
		p.problem(at.key("driver"), "unsupported store driver %q; only sqlite is available for now", s.Driver)
	}
	if s.DSN != "" && (s.Driver == "" || s.Driver == DefaultDriver) {
		p.problem(at.key("dsn"), "dsn is for server backends; the sqlite store is configured with path")
	}
}

// checkCanonical checks the configuration's additions to the model: every
// reference property must say which canonical type it refers to.
func (p *parser) checkCanonical(extra map[string]canonical.Type, model canonical.Model) {
	for _, name := range slices.Sorted(maps.Keys(extra)) {
		t := extra[name]
		at := path{"canonical", name}
		p.checkCanonicalProperties(t.Properties, at.key("properties"), model)
		p.checkCanonicalProperties(t.Lines, at.key("lines"), model)
	}
}

func (p *parser) checkCanonicalProperties(props map[string]canonical.Property, at path, model canonical.Model) {
	for _, name := range slices.Sorted(maps.Keys(props)) {
		prop := props[name]
		pat := at.key(name)
		switch {
		case prop.Type == "reference" && prop.Ref == "":
			p.problem(pat, "a reference property needs ref: the canonical type it refers to (one of: %s)", list(model.Names()))
		case prop.Type == "reference" && !known(model, prop.Ref):
			p.problem(pat.key("ref"), "unknown canonical type %q; known: %s%s", prop.Ref, list(model.Names()), didYouMean(prop.Ref, model.Names()))
		case prop.Type != "reference" && prop.Ref != "":
			p.problem(pat.key("ref"), "ref applies only to properties of type reference, and this one is %s", prop.Type)
		}
	}
}

func known(model canonical.Model, name string) bool {
	_, ok := model[name]
	return ok
}

type systemDatatype struct{ system, datatype string }

// mappingCheck holds what the checks of one mapping need to know about the
// whole configuration.
type mappingCheck struct {
	*parser
	cfg    *Config
	model  canonical.Model
	mapped map[systemDatatype]int // first mapping of each system datatype
}

func (c *mappingCheck) mapping(i int) {
	m := c.cfg.Mappings[i]
	at := path{"mappings", i}

	if m.System != "" {
		if _, ok := c.cfg.Systems[m.System]; !ok {
			names := slices.Sorted(maps.Keys(c.cfg.Systems))
			c.problem(at.key("system"), "unknown system %q; systems are: %s%s", m.System, list(names), didYouMean(m.System, names))
		}
	}
	c.expression(at.key("when"), m.When, transform.When)
	c.expression(at.key("insert_when"), m.InsertWhen, transform.When)
	c.expression(at.key("filter"), m.Filter, transform.Filter)
	if m.Direction == "in" && m.When != "" {
		c.problem(at.key("when"), "when chooses where golden records are written, but this mapping has direction in and is never written to")
	}
	if m.Direction == "out" && m.Filter != "" {
		c.problem(at.key("filter"), "filter chooses which records are collected, but this mapping has direction out and is never collected")
	}

	t, ok := c.model[m.Canonical]
	if m.Canonical == "" {
		return
	}
	if !ok {
		c.problem(at.key("canonical"), "unknown canonical type %q; known: %s%s", m.Canonical, list(c.model.Names()), didYouMean(m.Canonical, c.model.Names()))
		return
	}
	c.rows(m, at.key("properties"), m.Properties, t.Properties, false)
	c.merge(m, at.key("merge"), t)
	if m.Lines != nil {
		c.lines(m, at.key("lines"), t)
	}
}

func (c *mappingCheck) merge(m Mapping, at path, t canonical.Type) {
	props := slices.Sorted(maps.Keys(t.Properties))
	for j, criterion := range m.Merge {
		if len(criterion) == 0 {
			c.problem(at.index(j), "a merge criterion needs at least one property of canonical type %q", m.Canonical)
			continue
		}
		for k, name := range criterion {
			if _, ok := t.Properties[name]; !ok {
				c.problem(at.index(j).index(k), "canonical type %q has no property %q; known: %s%s", m.Canonical, name, list(props), didYouMean(name, props))
			}
		}
	}
}

func (c *mappingCheck) lines(m Mapping, at path, t canonical.Type) {
	l := m.Lines
	if len(t.Lines) == 0 {
		var withLines []string
		for _, name := range c.model.Names() {
			if len(c.model[name].Lines) > 0 {
				withLines = append(withLines, name)
			}
		}
		c.problem(at, "canonical type %q has no lines; only %s can map lines", m.Canonical, list(withLines))
		return
	}
	switch {
	case l.Field == "" && l.Datatype == "":
		c.problem(at, "lines need field (an array field holding the lines in the record) or datatype (a separate datatype with one record per line)")
	case l.Field != "" && l.Datatype != "":
		c.problem(at, "lines need exactly one of field (nested lines) or datatype (a separate datatype), not both: nested lines in %q are served as the datatype %q by the connector", l.Field, m.Datatype+"/"+l.Field)
	case strings.ContainsAny(l.Field, "/{}?#"):
		c.problem(at.key("field"), "%q is not a field name: nested lines name the array member of the record, such as line_items", l.Field)
	case l.Datatype != "" && l.ParentField == "":
		c.problem(at, "lines in a separate datatype need parent_field: the line field that holds the parent record's id")
	case l.Field != "" && l.ParentField != "":
		c.problem(at.key("parent_field"), "parent_field applies only to lines in a separate datatype; nested lines belong to their record (their parent's id is in _parent)")
	case l.Datatype != "" && l.IDField != "":
		c.problem(at.key("id_field"), "id_field applies only to nested lines; records of a lines datatype have their own id")
	case l.Field != "" && l.InsertField != "":
		c.problem(at.key("insert_field"), "insert_field applies only to lines in a separate datatype; nested lines are always written with their record")
	case l.InsertField != "" && m.Insert != nil && !*m.Insert:
		c.problem(at.key("insert_field"), "insert_field carries lines on inserts, but this mapping does not insert (insert: false)")
	}
	c.rows(m, at.key("properties"), l.Properties, t.Lines, true)
	if l.Field != "" && l.Datatype == "" {
		c.nested(m, at)
	}
}

// nested checks what is particular to lines nested in their record: the
// datatype they are served as is free, and their id is not written.
func (c *mappingCheck) nested(m Mapping, at path) {
	l := m.Lines
	virtual := m.Datatype + "/" + l.Field
	for j, other := range c.cfg.Mappings {
		if other.System == m.System && other.Datatype == virtual {
			c.problem(at.key("field"), "nested lines in %q are served as the datatype %q, which mappings[%d] maps too (line %d); map the lines in one place", l.Field, virtual, j, c.line(path{"mappings", j}))
		}
	}
	for j, row := range l.Properties {
		if l.IDField != "" && row.Field == l.IDField && row.Direction != "in" {
			c.problem(at.key("properties").index(j).key("field"), "%q is the lines' id_field, which the system hands out; a row may read it (direction: in) but not write it", row.Field)
		}
		if row.Field == "_parent" {
			c.problem(at.key("properties").index(j).key("field"), "_parent holds the id of a nested line's record and is mapped already; map the line's own members")
		}
	}
}

// rows checks property rows against the canonical type's properties (or
// its lines' properties).
func (c *mappingCheck) rows(m Mapping, at path, rows []PropertyMap, props map[string]canonical.Property, lines bool) {
	known := slices.Sorted(maps.Keys(props))
	what := fmt.Sprintf("canonical type %q has", m.Canonical)
	if lines {
		what = fmt.Sprintf("lines of canonical type %q have", m.Canonical)
	}
	fields := map[string]int{}
	for j, row := range rows {
		rat := at.index(j)
		if row.Field != "" {
			if first, dup := fields[row.Field]; dup {
				c.problem(rat.key("field"), "field %q is already mapped by %s (line %d); map each field once", row.Field, at.index(first), c.line(at.index(first)))
			} else {
				fields[row.Field] = j
			}
		}
		c.expression(rat.key("in"), row.In, transform.In)
		c.expression(rat.key("out"), row.Out, transform.Out)
		if row.Property == "" {
			continue
		}
		prop, ok := props[row.Property]
		if !ok {
			c.problem(rat.key("property"), "%s no property %q; known: %s%s", what, row.Property, list(known), didYouMean(row.Property, known))
			continue
		}
		if row.Ref != "" {
			c.ref(m, rat, row, prop)
		}
	}
}

// ref checks that a reference field names a mapped datatype of the same
// system, of the canonical type the property refers to.
func (c *mappingCheck) ref(m Mapping, at path, row PropertyMap, prop canonical.Property) {
	if prop.Type != "reference" {
		c.problem(at.key("ref"), "ref applies only to reference properties, and %q of canonical type %q is a %s", row.Property, m.Canonical, prop.Type)
		return
	}
	target, ok := c.mapped[systemDatatype{m.System, row.Ref}]
	if !ok {
		var names []string
		for k := range c.mapped {
			if k.system == m.System {
				names = append(names, k.datatype)
			}
		}
		if len(names) == 0 {
			c.problem(at.key("ref"), "datatype %q is not mapped for system %q, which has no mapped datatypes; ref must name one", row.Ref, m.System)
			return
		}
		slices.Sort(names)
		c.problem(at.key("ref"), "datatype %q is not mapped for system %q; ref must name one of its mapped datatypes: %s%s", row.Ref, m.System, list(names), didYouMean(row.Ref, names))
		return
	}
	if got := c.cfg.Mappings[target].Canonical; got != prop.Ref {
		c.problem(at.key("ref"), "datatype %q maps to canonical type %q, but property %q refers to %q", row.Ref, got, row.Property, prop.Ref)
	}
}

func (c *mappingCheck) expression(at path, src string, k transform.Kind) {
	if src == "" {
		return
	}
	if _, err := transform.Compile(src, k); err != nil {
		c.problem(at, "%v", err)
	}
}
