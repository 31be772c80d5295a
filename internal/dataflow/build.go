package dataflow

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/mapping"
)

// Build makes the dataflow document of records flowing from the system
// source to the system target (configuration keys).
//
// There is one section per source datatype that reads (direction both or
// in) and target datatype that writes (both or out) of the same canonical
// type. Sections come in the configuration's order of the source mappings
// and, for each, of the target mappings. Lines:
//   - lines nested in a source record (line_items) are folded into the
//     sections of their record: the line rows follow the record's rows;
//   - lines kept in a separate source datatype (WebCRM QuotationLines) get
//     sections of their own, one per target lines datatype, named by the
//     target record datatype when the target nests its lines in the record
//     and by the target lines datatype otherwise.
//
// A section whose table would be empty, or two sections with one title, are
// errors: the document never promises a flow without properties, and never
// shows one twice.
func Build(set *mapping.Set, source, target string, now time.Time) (*Document, error) {
	if source == target {
		return nil, fmt.Errorf("source and target are both %q: a dataflow document describes two different systems", source)
	}
	systems := map[string]bool{}
	for _, m := range set.Mappings {
		systems[m.System] = true
	}
	for _, s := range []string{source, target} {
		if !systems[s] {
			names := make([]string, 0, len(systems))
			for n := range systems {
				names = append(names, n)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("no mappings of a system %q (systems with mappings: %s)", s, strings.Join(names, ", "))
		}
	}
	b := &builder{set: set}
	var pairs []pair
	for _, mt := range set.Meetings(source, target) {
		pairs = append(pairs, b.pairOf(mt.Source, mt.Target))
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no datatype of %s reaches %s: no canonical type has a mapping in %s that reads and one in %s that writes",
			source, target, source, target)
	}
	doc := &Document{Generated: now}
	srcTitle, dstTitle := systemTitle(pairs[0].src.m), systemTitle(pairs[0].dst.m)
	doc.Title = srcTitle + " to " + dstTitle + " Dataflow"
	seen := map[string]string{}
	for _, p := range pairs {
		sec, err := b.section(p)
		if err != nil {
			return nil, err
		}
		if other, ok := seen[sec.Title]; ok {
			return nil, fmt.Errorf("sections %s → %s and %s are both titled %q; give the datatypes distinct titles (title: in their mappings)",
				other, sec.Target, sec.Source, sec.Title)
		}
		seen[sec.Title] = sec.Source + " → " + sec.Target
		doc.Sections = append(doc.Sections, sec)
	}
	doc.Intro = intro(srcTitle, dstTitle, doc.Sections)
	return doc, nil
}

type builder struct{ set *mapping.Set }

// part is the rows of one mapping as a section shows them: field names of
// lines shown in their record's section carry where the lines are
// (line_items[].quantity, SalesOrderLines.Quantity).
type part struct {
	m     *mapping.Mapping
	field func(string) string
}

func asIs(m *mapping.Mapping) part { return part{m: m, field: func(f string) string { return f }} }

// inRecord shows the fields of a lines mapping inside its record's section.
func inRecord(lm *mapping.Mapping) part {
	if nested(lm) {
		arr := lm.Parent.Lines.Field
		return part{m: lm, field: func(f string) string { return arr + "[]." + f }}
	}
	return part{m: lm, field: func(f string) string { return datatypeTitle(lm) + "." + f }}
}

// pair is two mappings that meet, with the lines folded into them.
type pair struct {
	src, dst           part
	srcTitle, dstTitle string // the datatypes as the section's title names them
	srcLines, dstLines *part  // nested source lines folded into a record section
	lines              bool   // a section of a separate source lines datatype
}

// pairOf shows a meeting (mapping.Set.Meetings) as a section: separate
// source lines against the target's lines (named after their record when
// nested in it), or two records with the source's nested lines folded in.
func (b *builder) pairOf(s, t *mapping.Mapping) pair {
	if s.Parent != nil {
		p := pair{src: asIs(s), srcTitle: datatypeTitle(s), lines: true}
		if nested(t) {
			p.dst, p.dstTitle = inRecord(t), datatypeTitle(t.Parent)
		} else {
			p.dst, p.dstTitle = asIs(t), datatypeTitle(t)
		}
		return p
	}
	p := pair{src: asIs(s), dst: asIs(t), srcTitle: datatypeTitle(s), dstTitle: datatypeTitle(t)}
	if sl := b.linesOf(s); sl != nil && nested(sl) && sl.Reads() {
		if tl := b.linesOf(t); tl != nil && tl.Writes() {
			sp, tp := inRecord(sl), inRecord(tl)
			p.srcLines, p.dstLines = &sp, &tp
		}
	}
	return p
}

// nested tells whether a lines mapping's lines are an array field of their
// record (compiled as the datatype "<record datatype>/<field>").
func nested(lm *mapping.Mapping) bool {
	return lm.Parent != nil && lm.Parent.Lines != nil && lm.Parent.Lines.Field != ""
}

func (b *builder) linesOf(m *mapping.Mapping) *mapping.Mapping {
	for _, x := range b.set.Mappings {
		if x.Parent == m {
			return x
		}
	}
	return nil
}

func (b *builder) lookup(system, datatype string) *mapping.Mapping {
	for _, x := range b.set.Mappings {
		if x.System == system && x.Datatype == datatype {
			return x
		}
	}
	return nil
}

func systemTitle(m *mapping.Mapping) string {
	switch {
	case m.SystemTitle != "":
		return m.SystemTitle
	case m.Parent != nil:
		return systemTitle(m.Parent)
	}
	return m.System
}

func datatypeTitle(m *mapping.Mapping) string {
	if m.Title != "" {
		return m.Title
	}
	return m.Datatype
}

// joined is one row of the properties table.
type joined struct {
	s, t         *mapping.Row
	sPart, tPart part
}

// constant tells whether a row writes something other than its property
// (a fixed value): it is not a synchronized property, the notes say it.
func constant(r *mapping.Row) bool { return r.OutSource() != "" && !usesValue(r.OutSource()) }

// computed tells whether a row reads its property from something other than
// its field (a fixed value, other fields).
func computed(r *mapping.Row) bool { return r.InSource() != "" && !usesValue(r.InSource()) }

// join pairs the rows of two mappings on the canonical property: the
// source row reads it, the target row writes it. The parent reference of
// lines is how lines find their record, not a property; the prose says it.
func join(sp, tp part) []joined {
	var out []joined
	for i := range sp.m.Rows {
		sr := &sp.m.Rows[i]
		if !sr.Reads() || sr.Property == mapping.ParentProperty {
			continue
		}
		for j := range tp.m.Rows {
			tr := &tp.m.Rows[j]
			if tr.Writes() && tr.Property == sr.Property && !constant(tr) {
				out = append(out, joined{s: sr, t: tr, sPart: sp, tPart: tp})
			}
		}
	}
	return out
}

func (b *builder) section(p pair) (Section, error) {
	s, t := p.src.m, p.dst.m
	S, T := systemTitle(s), systemTitle(t)
	SD, TD := S+" "+p.srcTitle, T+" "+p.dstTitle
	sec := Section{Title: SD + " to " + TD, Source: s.Name(), Target: t.Name()}
	if p.lines && nested(t) {
		sec.Target = t.Parent.Name()
	}
	rows := join(p.src, p.dst)
	if p.srcLines != nil {
		rows = append(rows, join(*p.srcLines, *p.dstLines)...)
	}
	if len(rows) == 0 {
		return Section{}, fmt.Errorf("%s → %s (%q): the two mappings share no canonical property that %s reads and %s writes; the section would have an empty table",
			s.Name(), t.Name(), sec.Title, s.Name(), t.Name())
	}
	add := func(bl ...Block) { sec.Blocks = append(sec.Blocks, bl...) }

	// What meets what.
	canon := s.Canonical
	meet := Text{plain(SD + " records meet " + TD + " records as the canonical type "), code(canon), plain(".")}
	if p.lines {
		sp := s.Parent
		meet = Text{plain("Each " + SD + " record is a line of the " + S + " " + datatypeTitle(sp) + " record whose id it holds in "),
			code(parentField(s)), plain("; ")}
		if nested(t) {
			meet = append(meet, plain("it becomes a line in "), code(t.Parent.Lines.Field), plain(" of the linked "+TD+" record."))
		} else {
			meet = append(meet, plain("it becomes "+an(TD)+" "+TD+" record of the linked "+T+" "+datatypeTitle(t.Parent)+" record (in "),
				code(parentField(t)), plain(")."))
		}
	} else if p.srcLines != nil {
		meet = append(meet, plain(" Their lines ("), code(p.srcLines.m.Parent.Lines.Field), plain(") become "))
		if nested(p.dstLines.m) {
			meet = append(meet, plain("the lines in "), code(p.dstLines.m.Parent.Lines.Field), plain(" of the "+TD+" record."))
		} else {
			meet = append(meet, plain(T+" "+datatypeTitle(p.dstLines.m)+" records of the "+TD+" record."))
		}
	}
	add(Block{Para: meet})
	if f := filterOf(s); f != "" {
		add(Block{Para: b.condition("Only "+SD+" records for which ", f, s, " are read; the others do not reach "+T+".")})
	}

	// Inserted or only linked.
	owner := t
	if owner.Parent != nil {
		owner = owner.Parent
	}
	var ins Text
	switch {
	case p.lines && t.Insert:
		ins = Text{plain("A line added to, changed in or removed from " + S + " is added to, changed in or removed from the linked " + T + " " + datatypeTitle(owner) + " record.")}
	case p.lines:
		ins = Text{plain(T + " does not take new lines from Concord: a line is only linked to an existing line of " + TD + " that matches it by the merge criteria below.")}
	case t.Insert:
		ins = Text{plain(capital(an(SD)) + " " + SD + " record that is not linked yet is inserted into " + T + " as a new " + TD + " record, unless an existing " + TD +
			" record matches it by the merge criteria below; that record is then linked instead.")}
	default:
		ins = Text{plain("Records are not inserted into " + TD + ": " + an(SD) + " " + SD + " record is only linked to an existing " + TD +
			" record that matches it by the merge criteria below, and is then kept in sync with it.")}
	}
	add(Block{Para: ins})
	if t.Insert && len(t.Defaults) > 0 {
		def := Text{plain(capital(an(TD)) + " " + TD + " record Concord creates also gets ")}
		for i, f := range slices.Sorted(maps.Keys(t.Defaults)) {
			if i > 0 {
				def = append(def, plain(", "))
			}
			def = append(def, code(f), plain(" = "), code(literalOf(t.Defaults[f])))
		}
		add(Block{Para: append(def, plain(", which no other system gives it; updates leave these fields alone."))})
	}
	if w := owner.InsertWhenSource(); w != "" && !p.lines {
		add(Block{Para: b.condition(TD+" records are created only when ", w, owner,
			"; once linked, they stay in sync whether or not it still holds.")})
	}
	if w := owner.WhenSource(); w != "" {
		what := TD + " records are inserted and updated"
		if p.lines {
			what = "Lines reach " + T + " " + datatypeTitle(owner) + " records"
		}
		add(Block{Para: b.condition(what+" only while ", w, owner,
			"; once that no longer holds, Concord leaves the linked "+T+" "+datatypeTitle(owner)+" record as it is.")})
	}

	// Merge criteria.
	add(b.criteria(p, SD, TD, S, T)...)

	// Both ways or one way.
	what := "record"
	if p.lines {
		what = "line"
	}
	twoWay := s.Direction == mapping.Both && t.Direction == mapping.Both
	var sync Text
	switch {
	case twoWay:
		sync = Text{plain("Once linked, the two " + what + "s stay in sync whichever side is edited: a change made in " + S + " or in " + T +
			" reaches the other side with the next sync, property by property (the most recent change wins, and an empty value never overwrites a filled one).")}
	case s.Direction == mapping.In && t.Direction == mapping.Out:
		sync = Text{plain("One-way: " + SD + " only feeds Concord and " + TD + " is only written, so once linked, changes flow from " + S + " to " + T +
			" only; edits made in " + T + " are not read back.")}
	case s.Direction == mapping.In:
		sync = Text{plain("One-way: " + SD + " only feeds Concord (its direction is in), so once linked, changes flow from " + S + " to " + T +
			" only; edits made in " + T + " do not reach " + S + ".")}
	default:
		sync = Text{plain("One-way: Concord only writes " + TD + " (its direction is out) and does not read it, so once linked, changes flow from " + S +
			" to " + T + " only; edits made in " + T + " are not read back.")}
	}
	if twoWay && slices.ContainsFunc(rows, func(r joined) bool { return !r.s.Writes() || !r.t.Reads() }) {
		sync = append(sync, plain(" Properties the notes below mark one-way flow in one direction only."))
	}
	add(Block{Para: sync})

	// The properties.
	tab := &Table{Header: []string{SD + " Property", TD + " Property", T + " Data Type"}}
	for _, r := range rows {
		src := Text{code(r.sPart.field(r.s.Field))}
		if computed(r.s) {
			src = Text{plain("(set to "), code(r.s.InSource()), plain(")")}
		}
		tab.Rows = append(tab.Rows, []Text{src, {code(r.tPart.field(r.t.Field))}, {plain(r.t.Type)}})
	}
	add(para(plain("The synchronized properties, joined on the canonical property each maps:")))
	add(Block{Table: tab})
	sec.Properties = tab
	if notes := b.notes(rows, twoWay, S, T); len(notes) > 0 {
		add(para(plain("Notes:")), Block{List: notes})
	}
	return sec, nil
}

func filterOf(m *mapping.Mapping) string {
	if m.Parent != nil {
		return "" // lines are read with their record
	}
	return m.FilterSource()
}

func parentField(lm *mapping.Mapping) string {
	for _, r := range lm.Rows {
		if r.Property == mapping.ParentProperty {
			return r.Field
		}
	}
	return mapping.ParentProperty
}

// condition says a `when` or `filter` condition in words, followed by the
// expression itself.
func (b *builder) condition(before, src string, m *mapping.Mapping, after string) Text {
	out := Text{plain(before)}
	words, ok := conditionWords(src, func(variable, prop string) Text {
		if variable == "record" {
			return Text{code(prop)}
		}
		return Text{plain("the " + m.Canonical + "'s "), code(prop)}
	})
	if ok {
		out = append(out, words...)
		out = append(out, plain(" ("), code(src), plain(")"))
	} else {
		out = append(out, code(src), plain(" holds"))
	}
	return append(out, plain(after))
}

// criteria is the merge-criteria paragraph and table: the criteria of the
// target mapping (they link an existing target record when it is read) and
// then those of the source mapping (they link a source record to a golden
// record that came from the target).
func (b *builder) criteria(p pair, SD, TD, S, T string) []Block {
	type crit struct {
		label   Text
		props   []string
		sp, tp  part
		bySrc   bool
		byDst   bool
		isLines bool
	}
	var list []*crit
	addAll := func(sp, tp part, isLines bool) {
		find := func(props []string) *crit {
			for _, c := range list {
				if c.isLines == isLines && slices.Equal(c.props, props) {
					return c
				}
			}
			c := &crit{props: props, sp: sp, tp: tp, isLines: isLines}
			list = append(list, c)
			return c
		}
		// A target that is only written is never read, so its criteria
		// never match anything.
		if tp.m.Reads() {
			for _, c := range tp.m.Merge {
				find(c).byDst = true
			}
		}
		for _, c := range sp.m.Merge {
			find(c).bySrc = true
		}
	}
	addAll(p.src, p.dst, false)
	if p.srcLines != nil {
		addAll(*p.srcLines, *p.dstLines, true)
	}
	if len(list) == 0 {
		t := Text{plain("No merge criteria: records are never matched to existing ones; only the records Concord inserts are linked.")}
		if !p.dst.m.Insert {
			t = append(t, plain(" As Concord does not insert "+TD+" records either, no records of this section are ever linked: add merge criteria to the mappings."))
		}
		return []Block{{Para: t}}
	}
	what := "record"
	if p.lines {
		what = "line"
	}
	intro := Text{plain("Merge criteria: an unlinked " + what + " is linked to an existing one when every property of a criterion is filled and equal on both sides (case and surrounding spaces ignored). " +
		"Criteria are tried in order; one whose values differ on both sides rules out a match by a later one, and a match with more than one record is reported, not guessed. " +
		"The last column says whose records a criterion is tried for when they are read.")}
	tab := &Table{Header: []string{"Canonical Properties", SD + " Fields", TD + " Fields", "Tried For"}}
	for _, c := range list {
		var props, sf, tf Text
		if c.isLines {
			props = Text{plain("lines: ")}
		}
		for i, prop := range c.props {
			if i > 0 {
				props = append(props, plain(" + "))
				sf = append(sf, plain(" + "))
				tf = append(tf, plain(" + "))
			}
			props = append(props, code(prop))
			sf = append(sf, fieldsFor(c.sp, prop)...)
			tf = append(tf, fieldsFor(c.tp, prop)...)
		}
		by := S + " and " + T
		switch {
		case c.bySrc && !c.byDst:
			by = S
		case c.byDst && !c.bySrc:
			by = T
		}
		tab.Rows = append(tab.Rows, []Text{props, sf, tf, {plain(by)}})
	}
	blocks := []Block{{Para: intro}, {Table: tab}}
	if slices.ContainsFunc(list, func(c *crit) bool { return slices.Contains(c.props, mapping.ParentProperty) }) {
		blocks = append(blocks, para(code(mapping.ParentProperty),
			plain(" is the record a line belongs to: two lines match only within the same, already linked record.")))
	}
	return blocks
}

// fieldsFor names the fields of a part that read a property; for the
// parent reference of nested lines, where the line sits.
func fieldsFor(pt part, prop string) Text {
	if prop == mapping.ParentProperty && nested(pt.m) {
		return Text{plain("(the record holding "), code(pt.m.Parent.Lines.Field), plain(")")}
	}
	var out Text
	for _, r := range pt.m.Rows {
		if r.Property != prop || !r.Reads() {
			continue
		}
		if len(out) > 0 {
			out = append(out, plain(", "))
		}
		out = append(out, code(pt.field(r.Field)))
	}
	if len(out) == 0 {
		return Text{plain("(not mapped: never matches)")}
	}
	return out
}

// notes lists what the table's three columns cannot say: one-way rows,
// transforms and reference fields.
func (b *builder) notes(rows []joined, twoWay bool, S, T string) []Text {
	var out []Text
	seen := map[string]bool{}
	note := func(t Text) {
		if k := t.String(); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	transforms := func(pt part, r *mapping.Row, sys string, read, write bool) {
		var t Text
		if in := r.InSource(); in != "" && read {
			t = append(t, plain(" is read as "), code(in))
		}
		if o := r.OutSource(); o != "" && write {
			if len(t) > 0 {
				t = append(t, plain(" and"))
			}
			t = append(t, plain(" is written as "), code(o))
		}
		if len(t) > 0 {
			note(append(append(Text{code(pt.field(r.Field)), plain(" in " + sys)}, t...), plain(".")))
		}
	}
	ref := func(pt part, r *mapping.Row, sys string) {
		if r.Ref == "" {
			return
		}
		title := r.Ref
		if m := b.lookup(pt.m.System, r.Ref); m != nil {
			title = datatypeTitle(m)
		}
		note(Text{code(pt.field(r.Field)), plain(" in " + sys + " holds the id of the linked " + sys + " " + title + " record; Concord translates it through the links.")})
	}
	seenConst := map[*mapping.Row]bool{}
	for _, r := range rows {
		for i := range r.tPart.m.Rows {
			c := &r.tPart.m.Rows[i]
			if c.Writes() && constant(c) && !seenConst[c] {
				seenConst[c] = true
				note(Text{code(r.tPart.field(c.Field)), plain(" in " + T + " is always written as "), code(c.OutSource()), plain(".")})
			}
		}
	}
	for _, r := range rows {
		back := twoWay && r.s.Writes() && r.t.Reads()
		if twoWay && !back {
			note(Text{code(r.sPart.field(r.s.Field)), plain(" → "), code(r.tPart.field(r.t.Field)), plain(": one-way, from " + S + " to " + T + " only.")})
		}
		transforms(r.sPart, r.s, S, !computed(r.s), back)
		transforms(r.tPart, r.t, T, back, true)
		ref(r.sPart, r.s, S)
		ref(r.tPart, r.t, T)
	}
	return out
}

func intro(S, T string, secs []Section) []Block {
	list := make([]Text, len(secs))
	for i, s := range secs {
		list[i] = Text{plain(s.Title)}
	}
	return []Block{
		para(plain("This document describes how records flow from " + S + " to " + T + " through Concord. " +
			"It is generated from the mappings the sync runs on, so it says what the sync does, and it is generated again whenever they change.")),
		para(plain("Each section covers one " + S + " datatype whose records reach one " + T + " datatype: whether records are inserted into " + T +
			" or only linked to records it already has, which properties match existing records, whether linked records stay in sync both ways, " +
			"and a table of the properties that are synchronized, with the data type " + T + " keeps each in.")),
		para(plain("Use it as a QA checklist: for each section, create or change a record in " + S + " and check, after the next sync, that " + T +
			" holds a linked record with every property the table lists; then edit that record in " + T + " and check the change comes back where the section says it does. " +
			"Sections follow the order of the " + S + " mappings in the configuration, and for each, of the " + T + " mappings.")),
		para(plain("Sections:")),
		{List: list},
	}
}

// literalOf writes a configured value as the conditions write literals.
func literalOf(v any) string {
	if s, ok := v.(string); ok {
		return "'" + s + "'"
	}
	return fmt.Sprint(v)
}

// an is the indefinite article before a name.
func an(name string) string {
	if name != "" && strings.ContainsRune("AEIOUaeiou", rune(name[0])) {
		return "an"
	}
	return "a"
}

func capital(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
