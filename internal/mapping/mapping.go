// Package mapping compiles the configuration's mappings into the functions
// the engine runs: a system record's fields into canonical properties (map
// in) and a golden record's properties into a system's fields (map out),
// with conditions, merge keys and reference fields. The same compiled spec
// is what documentation and QA views are built from. It does no I/O.
package mapping

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/canonical"
	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/transform"
)

// Directions.
const (
	Both = "both"
	In   = "in"
	Out  = "out"
)

// Delete policies.
const (
	DeleteIgnore    = "ignore"
	DeleteUnlink    = "unlink"
	DeletePropagate = "propagate"
)

// Row is one compiled property row.
type Row struct {
	Field     string
	Property  string
	Type      string
	Direction string
	Ref       string // datatype of the same system the field's id refers to
	in, out   *transform.Program
}

// Reads tells whether the row feeds the hub.
func (r *Row) Reads() bool { return r.Direction != Out }

// Writes tells whether the row is written to the system.
func (r *Row) Writes() bool { return r.Direction != In }

// Lines is the compiled child-line mapping of a datatype.
type Lines struct {
	// Field is the array field that holds the lines inside the record
	// (nested lines). They are read and written as the records of the
	// system's datatype NestedDatatype(parent, Field), whose parent field
	// is ParentProperty and whose insert field is Field.
	Field       string
	Datatype    string // the datatype of the lines (separate, or the nested lines' own)
	ParentField string
	IDField     string
	// InsertField is the parent's array field that carries the lines
	// (mapped out by the lines mapping, without the parent field) when a
	// new parent record is inserted.
	InsertField string
	Rows        []Row
}

// Mapping is one compiled datatype mapping.
type Mapping struct {
	System   string
	Datatype string
	// Title and SystemTitle name the datatype and its system in documents
	// and reports; they default to Datatype and System.
	Title       string
	SystemTitle string
	Canonical   string
	Direction   string
	Insert      bool
	Delete      string
	Merge       [][]string
	Schedule    time.Duration
	FullScan    time.Duration
	Rows        []Row
	Lines       *Lines
	// Defaults are fields an insert carries when the mapping gives them
	// no value.
	Defaults map[string]any
	// Parent is, for the mapping of a type's lines, the mapping of the
	// record the lines belong to.
	Parent *Mapping
	// Repeats is true where one record may share its merge key with another
	// of the same datatype and still be a different entity (two lines of
	// one order for the same product): a key already linked in the datatype
	// then means "a new one", not "a duplicate".
	Repeats bool
	// ReadProps lists the canonical properties the mapping reads, in row
	// order: the order merge decisions are made and recorded in.
	ReadProps  []string
	typ        *canonical.Type
	when       *transform.Program
	insertWhen *transform.Program
	filter     *transform.Program
}

// Name is "system:datatype".
func (m *Mapping) Name() string { return m.System + ":" + m.Datatype }

// Reads tells whether the datatype's records feed the hub.
func (m *Mapping) Reads() bool { return m.Direction != Out }

// Writes tells whether the hub writes to the datatype.
func (m *Mapping) Writes() bool { return m.Direction != In }

// Set is every compiled mapping of a configuration.
type Set struct {
	Model    canonical.Model
	Mappings []*Mapping
	// Order lists canonical types so that referenced types come first.
	Order []string
	// Criteria are, per canonical type, every merge criterion any mapping of
	// the type uses, by name (properties joined with "+").
	Criteria map[string]map[string][]string
	bySysDT  map[string]*Mapping
}

// Compile turns a validated configuration into a Set.
func Compile(cfg *config.Config) (*Set, error) {
	s := &Set{
		Model:    canonical.With(cfg.Canonical),
		Criteria: map[string]map[string][]string{},
		bySysDT:  map[string]*Mapping{},
	}
	for i, cm := range cfg.Mappings {
		m, err := compileMapping(cfg, cm)
		if err != nil {
			return nil, fmt.Errorf("mappings[%d] (%s:%s): %w", i, cm.System, cm.Datatype, err)
		}
		if t, ok := s.Model[m.Canonical]; ok {
			m.typ = &t
		} else {
			return nil, fmt.Errorf("mappings[%d] (%s:%s): unknown canonical type %q", i, cm.System, cm.Datatype, cm.Canonical)
		}
		m.ReadProps = readProps(m.Rows)
		s.Mappings = append(s.Mappings, m)
		s.bySysDT[m.Name()] = m
		if m.Lines != nil {
			lm, err := s.linesMapping(m)
			if err != nil {
				return nil, fmt.Errorf("mappings[%d] (%s:%s) lines: %w", i, cm.System, cm.Datatype, err)
			}
			s.Mappings = append(s.Mappings, lm)
			s.bySysDT[lm.Name()] = lm
		}
		crit := s.Criteria[m.Canonical]
		if crit == nil {
			crit = map[string][]string{}
			s.Criteria[m.Canonical] = crit
		}
		for _, c := range m.Merge {
			crit[CriterionName(c)] = c
		}
	}
	s.Order = typeOrder(s.Model, s.Mappings)
	return s, nil
}

func compileMapping(cfg *config.Config, cm config.Mapping) (*Mapping, error) {
	m := &Mapping{
		System: cm.System, Datatype: cm.Datatype, Canonical: cm.Canonical,
		Direction: or(cm.Direction, Both), Insert: cm.Insert == nil || *cm.Insert,
		Delete: or(cm.Delete, DeleteIgnore), Merge: cm.Merge,
		Schedule: cm.Schedule.Duration, FullScan: cm.FullScan.Duration,
		Title: or(cm.Title, cm.Datatype), SystemTitle: or(cfg.Systems[cm.System].Title, cm.System),
		Defaults: cm.Defaults,
	}
	if m.Schedule == 0 {
		m.Schedule = cfg.Systems[cm.System].Schedule.Duration
	}
	var err error
	if cm.When != "" {
		if m.when, err = transform.Compile(cm.When, transform.When); err != nil {
			return nil, fmt.Errorf("when: %w", err)
		}
	}
	if cm.InsertWhen != "" {
		if m.insertWhen, err = transform.Compile(cm.InsertWhen, transform.When); err != nil {
			return nil, fmt.Errorf("insert_when: %w", err)
		}
	}
	if cm.Filter != "" {
		if m.filter, err = transform.Compile(cm.Filter, transform.Filter); err != nil {
			return nil, fmt.Errorf("filter: %w", err)
		}
	}
	if m.Rows, err = compileRows(cm.Properties); err != nil {
		return nil, err
	}
	if cm.Lines != nil {
		l := &Lines{Field: cm.Lines.Field, Datatype: cm.Lines.Datatype, ParentField: cm.Lines.ParentField, IDField: cm.Lines.IDField, InsertField: cm.Lines.InsertField}
		if l.Field != "" {
			if l.Datatype != "" || l.ParentField != "" || l.InsertField != "" {
				return nil, fmt.Errorf("lines nested in field %q take no datatype, parent_field or insert_field", l.Field)
			}
			// Nested lines are the records of a datatype of their own that
			// the connector serves from the parent's records (the rest
			// connector does, ADR 12); from here on they are lines in a
			// separate datatype that an inserted parent carries (ADR 5).
			l.Datatype = NestedDatatype(cm.Datatype, l.Field)
			l.ParentField = ParentProperty
			l.InsertField = l.Field
		}
		if l.Rows, err = compileRows(cm.Lines.Properties); err != nil {
			return nil, fmt.Errorf("lines: %w", err)
		}
		m.Lines = l
	}
	return m, nil
}

func compileRows(rows []config.PropertyMap) ([]Row, error) {
	out := make([]Row, 0, len(rows))
	for i, p := range rows {
		r := Row{Field: p.Field, Property: p.Property, Type: or(p.Type, "string"), Direction: or(p.Direction, Both), Ref: p.Ref}
		var err error
		if p.In != "" {
			if r.in, err = transform.Compile(p.In, transform.In); err != nil {
				return nil, fmt.Errorf("properties[%d].in: %w", i, err)
			}
		}
		if p.Out != "" {
			if r.out, err = transform.Compile(p.Out, transform.Out); err != nil {
				return nil, fmt.Errorf("properties[%d].out: %w", i, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Lookup returns the mapping of a system datatype.
func (s *Set) Lookup(system, datatype string) (*Mapping, bool) {
	m, ok := s.bySysDT[system+":"+datatype]
	return m, ok
}

// ForType lists the mappings of a canonical type, in configuration order.
func (s *Set) ForType(typ string) []*Mapping {
	var out []*Mapping
	for _, m := range s.Mappings {
		if m.Canonical == typ {
			out = append(out, m)
		}
	}
	return out
}

// ParentProperty is the property of a line that refers to its parent.
const ParentProperty = "_parent"

// LinesType names the canonical type of a type's lines ("order.lines").
func LinesType(typ string) string { return typ + ".lines" }

// NestedDatatype names the datatype of lines nested in a parent datatype's
// array field ("orders/line_items"). Its records are the lines, with the
// parent record's id in the field ParentProperty.
func NestedDatatype(parent, field string) string { return parent + "/" + field }

// linesMapping turns the lines of a mapping kept in a separate datatype
// into a mapping of their own: each line is a record of the canonical type
// "<type>.lines" whose _parent property refers to the parent golden record.
// Collect, merge, intents, references and delete policies then work for
// lines exactly as for any record, and a change to a line becomes a line
// insert, update or delete in the other systems.
func (s *Set) linesMapping(m *Mapping) (*Mapping, error) {
	if m.Lines.Datatype == "" {
		return nil, fmt.Errorf("lines need field (nested lines) or datatype (a separate datatype)")
	}
	lt := LinesType(m.Canonical)
	if _, ok := s.Model[lt]; !ok {
		parent := s.Model[m.Canonical]
		props := map[string]canonical.Property{ParentProperty: {Type: "reference", Ref: m.Canonical, Description: "the parent record"}}
		for n, p := range parent.Lines {
			props[n] = p
		}
		s.Model[lt] = canonical.Type{Properties: props}
	}
	t := s.Model[lt]
	rows := append([]Row{{Field: m.Lines.ParentField, Property: ParentProperty, Type: "reference", Direction: Both, Ref: m.Datatype}}, m.Lines.Rows...)
	lm := &Mapping{
		System: m.System, Datatype: m.Lines.Datatype, Canonical: lt,
		Title: m.Lines.Datatype, SystemTitle: m.SystemTitle, Parent: m,
		Direction: m.Direction, Insert: m.Insert, Delete: DeletePropagate,
		Merge:    [][]string{{ParentProperty, "product"}},
		Schedule: m.Schedule, FullScan: m.FullScan, Rows: rows, typ: &t, Repeats: true,
	}
	if _, ok := t.Properties["product"]; !ok {
		lm.Merge = nil
	}
	lm.ReadProps = readProps(lm.Rows)
	// The _parent key is not a merge criterion; it indexes a parent's lines
	// so that sharing a parent can bring its lines along.
	s.Criteria[lt] = map[string][]string{ParentProperty: {ParentProperty}}
	for _, c := range lm.Merge {
		s.Criteria[lt][CriterionName(c)] = c
	}
	return lm, nil
}

func readProps(rows []Row) []string {
	var out []string
	for _, r := range rows {
		if r.Reads() {
			out = append(out, r.Property)
		}
	}
	return out
}

// CriterionName names a merge criterion.
func CriterionName(props []string) string { return strings.Join(props, "+") }

// typeOrder sorts the canonical types that have mappings so that a type
// comes after every type it references.
func typeOrder(model canonical.Model, ms []*Mapping) []string {
	used := map[string]bool{}
	for _, m := range ms {
		used[m.Canonical] = true
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	var order []string
	done := map[string]bool{}
	visiting := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		if done[n] || visiting[n] {
			return // a cycle of references: deferral handles it at run time
		}
		visiting[n] = true
		for _, d := range refsOf(model[n]) {
			if used[d] && d != n {
				visit(d)
			}
		}
		done[n] = true
		order = append(order, n)
	}
	for _, n := range names {
		visit(n)
	}
	return order
}

func refsOf(t canonical.Type) []string {
	var out []string
	for _, props := range []map[string]canonical.Property{t.Properties, t.Lines} {
		for _, p := range props {
			if p.Type == "reference" && p.Ref != "" {
				out = append(out, p.Ref)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (m *Mapping) model() *canonical.Type { return m.typ }
