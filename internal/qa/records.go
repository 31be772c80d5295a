package qa

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/store"
)

// linesKey is where a test record's expected values keep its one line's.
const linesKey = "\x00lines"

// maxDepth bounds the chain of referenced records made for one record.
const maxDepth = 4

// propType is the canonical data type of a mapping's property.
func propType(set *mapping.Set, m *mapping.Mapping, prop string) string {
	if p, ok := set.Model[m.Canonical].Properties[prop]; ok && p.Type != "" {
		return p.Type
	}
	return "string"
}

// create makes the test record of a section in its source: with the
// records it refers to, a parent for a line, and one line for a record
// whose lines travel with it. It returns the canonical values it wrote.
func (r *run) create(ctx context.Context, s, t *mapping.Mapping) (map[string]any, store.Key, error) {
	if s.Parent != nil {
		// A line of a separate lines datatype: make its parent first, one
		// the target's parent takes.
		_, pk, err := r.record(ctx, s.Parent, t.Parent, false, 0, nil)
		if err != nil {
			return nil, store.Key{}, fmt.Errorf("parent %s: %w", s.Parent.Name(), err)
		}
		want, err := r.values(ctx, s, nil, 0, nil)
		if err != nil {
			return nil, store.Key{}, err
		}
		want[mapping.ParentProperty] = r.placeholder(pk)
		k, err := r.insert(ctx, s, want, nil)
		return want, k, err
	}
	return r.record(ctx, s, t, true, 0, nil)
}

// record makes one record of m (and what it refers to), with values the
// condition of cond (the target mapping) takes; withLines adds one line
// where the lines go in the record's insert.
func (r *run) record(ctx context.Context, m, cond *mapping.Mapping, withLines bool, depth int, inherit map[string]string) (map[string]any, store.Key, error) {
	want, err := r.values(ctx, m, cond, depth, inherit)
	if err != nil {
		return nil, store.Key{}, err
	}
	extra := map[string]any{}
	if withLines && m.Lines != nil && m.Lines.InsertField != "" {
		lm, ok := r.set.Lookup(m.System, m.Lines.Datatype)
		if ok {
			lv, err := r.values(ctx, lm, nil, depth, nil)
			if err != nil {
				return nil, store.Key{}, fmt.Errorf("line: %w", err)
			}
			delete(lv, mapping.ParentProperty)
			lf, _, err := lm.ComposeLine(lv, r.resolveSource)
			if err != nil {
				return nil, store.Key{}, fmt.Errorf("line: %w", err)
			}
			extra[m.Lines.InsertField] = []any{lf}
			want[linesKey] = lv
		}
	}
	k, err := r.insert(ctx, m, want, extra)
	if err != nil {
		return want, k, err
	}
	// Lines kept in a datatype of their own, for a target that creates a
	// record only together with its lines: add one.
	if withLines && m.Lines != nil && m.Lines.InsertField == "" && cond != nil && cond.Lines != nil && cond.Lines.InsertField != "" {
		lm, ok := r.set.Lookup(m.System, m.Lines.Datatype)
		if ok {
			lv, err := r.values(ctx, lm, nil, depth, nil)
			if err != nil {
				return want, k, fmt.Errorf("line: %w", err)
			}
			lv[mapping.ParentProperty] = r.placeholder(k)
			if _, err := r.insert(ctx, lm, lv, nil); err != nil {
				return want, k, fmt.Errorf("line: %w", err)
			}
			want[linesKey] = lv
		}
	}
	return want, k, r.twins(ctx, m, want)
}

// twins makes the record in the target's datatypes of its type that
// Concord only links to (insert: false) and whose condition takes it: the
// target must already hold such a record for the flow to link it.
func (r *run) twins(ctx context.Context, m *mapping.Mapping, want map[string]any) error {
	for _, tm := range r.set.Mappings {
		if tm.System != r.opt.Target || tm.Canonical != m.Canonical || tm.Insert || !tm.Writes() || tm.Parent != nil {
			continue
		}
		if ok, _ := tm.Takes(want); !ok {
			continue
		}
		// Its references must be linked in the target first.
		if err := r.settle(ctx); err != nil {
			return err
		}
		if err := r.twin(ctx, tm, want); err != nil {
			return fmt.Errorf("the matching record in %s, which Concord only links to: %w", tm.Name(), err)
		}
	}
	return nil
}

// insert maps values out through m and creates the record.
func (r *run) insert(ctx context.Context, m *mapping.Mapping, want, extra map[string]any) (store.Key, error) {
	fields, unresolved, err := m.Compose(want, r.resolveSource)
	if err != nil {
		return store.Key{}, err
	}
	if len(unresolved) > 0 {
		return store.Key{}, fmt.Errorf("references not made: %s", strings.Join(unresolved, ", "))
	}
	// What the hub will hold is what the source's mapping reads back from
	// the record (a normalised VAT number, a constant): expect that.
	if in, err := m.In(fields, nil, time.Now()); err == nil {
		for p, v := range in.Props {
			if _, ref := in.Refs[p]; !ref && !isRef(m, p) {
				want[p] = v
			}
		}
	}
	for k, v := range extra {
		fields[k] = v
	}
	m.WithDefaults(fields)
	rec, err := r.conn(m.System).Insert(ctx, m.Datatype, fields)
	if err != nil {
		return store.Key{}, err
	}
	k := store.Key{System: m.System, Datatype: m.Datatype, ID: rec.ID}
	r.created = append(r.created, k)
	return k, nil
}

func isRef(m *mapping.Mapping, prop string) bool {
	for _, row := range m.Rows {
		if row.Property == prop && row.Ref != "" {
			return true
		}
	}
	return false
}

func (r *run) placeholder(k store.Key) string {
	if r.placeholders == nil {
		r.placeholders = map[string]store.Key{}
	}
	r.seq++
	p := fmt.Sprintf("qa:%d", r.seq)
	r.placeholders[p] = k
	return p
}

// resolveSource translates the placeholder of a record the run made into
// its source id.
func (r *run) resolveSource(datatype, golden string) (string, bool) {
	k, ok := r.placeholders[golden]
	return k.ID, ok && k.Datatype == datatype
}

// values makes test values for the properties of m, and the records its
// references need. inherit gives, by canonical type, records made for the
// record that refers to this one: an order's contact then belongs to the
// order's customer, as systems check.
func (r *run) values(ctx context.Context, m, cond *mapping.Mapping, depth int, inherit map[string]string) (map[string]any, error) {
	v := map[string]any{}
	own := map[string]string{}
	for t, p := range inherit {
		own[t] = p
	}
	r.seq++
	n := r.seq
	for _, row := range m.Rows {
		if row.Property == mapping.ParentProperty {
			continue
		}
		if _, done := v[row.Property]; done {
			continue
		}
		if row.Ref != "" {
			if depth >= maxDepth {
				continue
			}
			rm, ok := r.set.Lookup(m.System, row.Ref)
			if !ok {
				continue
			}
			if p, ok := own[rm.Canonical]; ok && r.placeholders[p].Datatype == row.Ref {
				v[row.Property] = p
				continue
			}
			_, k, err := r.record(ctx, rm, nil, false, depth+1, own)
			if err != nil {
				return nil, fmt.Errorf("%s (referenced %s): %w", row.Property, rm.Name(), err)
			}
			v[row.Property] = r.placeholder(k)
			own[rm.Canonical] = v[row.Property].(string)
			continue
		}
		v[row.Property] = r.value(row.Property, propType(r.set, m, row.Property), n)
	}
	if cond != nil {
		r.meet(v, cond)
	}
	return v, nil
}

// meet changes the values a condition usually turns on (an order's
// status, a contact's employee flag) until the target's condition holds.
func (r *run) meet(v map[string]any, cond *mapping.Mapping) {
	if creates(cond, v) {
		return
	}
	statuses := []any{"quote", "open", "confirmed", "completed", "cancelled"}
	flags := []any{false, true}
	for _, s := range statuses {
		for _, f := range flags {
			try := maps.Clone(v)
			if _, has := v["status"]; has {
				try["status"] = s
			}
			if _, has := v["is_employee"]; has {
				try["is_employee"] = f
			}
			if creates(cond, try) {
				for k, x := range try {
					v[k] = x
				}
				return
			}
		}
	}
}

// creates tells whether Concord creates a record of m for a golden record
// with these values: its when and its insert_when hold.
func creates(m *mapping.Mapping, v map[string]any) bool {
	a, _ := m.Takes(v)
	b, _ := m.InsertTakes(v)
	return a && b
}

// value is the test value of a canonical property: one that looks like
// what the property holds, so that systems that check formats accept it.
func (r *run) value(prop, typ string, n int) any {
	s := r.suffix
	switch prop {
	case "email":
		return fmt.Sprintf("qa-%s-%d@example.com", strings.ToLower(s), n)
	case "country":
		return "NL"
	case "currency":
		return "EUR"
	case "website":
		return fmt.Sprintf("https://qa-%s.example.com", strings.ToLower(s))
	case "phone", "mobile":
		return fmt.Sprintf("+31 20 555 %04d", n%10000)
	case "postcode":
		return "1012 AB"
	case "vat_number":
		return fmt.Sprintf("NL%09dB01", n)
	case "first_name":
		return "Quinn"
	case "last_name":
		return "Tester" + s
	case "code":
		return fmt.Sprintf("QA%s%d", s, n)
	case "number":
		return fmt.Sprintf("QA-%s-%d", s, n)
	case "status":
		return "open"
	case "unit":
		return "pc"
	case "vat_code":
		return "S" // the canonical VAT category: standard rate
	case "barcode":
		return fmt.Sprintf("871234%07d", n)
	case "is_active":
		return true
	case "is_employee":
		return false
	case "quantity":
		return 3.0
	case "unit_price":
		return 12.5
	case "cost_price":
		return 7.25
	case "discount":
		return 0.0
	}
	switch typ {
	case "number":
		return 42.0
	case "integer":
		return 7.0
	case "boolean":
		return true
	case "date":
		return time.Now().UTC().Format("2006-01-02")
	case "datetime":
		return time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return fmt.Sprintf("QA %s %s", strings.ReplaceAll(prop, "_", " "), s)
}

// linked finds the target record the source record is linked to.
func (r *run) linked(ctx context.Context, src store.Key, t *mapping.Mapping) (store.Key, string, error) {
	recs, err := r.env.Store.GetRecords(ctx, src.System, src.Datatype, []string{src.ID})
	if err != nil {
		return store.Key{}, "", err
	}
	rec, ok := recs[src.ID]
	if !ok || rec.GoldenID == "" {
		return store.Key{}, "", fmt.Errorf("%s %s was not merged into a golden record (see concord status and concord explain %s %s %s)",
			src.Datatype, src.ID, src.System, src.Datatype, src.ID)
	}
	id, err := r.linkedIn(ctx, rec.GoldenID, t.System, t.Datatype)
	if err != nil {
		return store.Key{}, rec.GoldenID, fmt.Errorf("%w%s (see concord explain %s %s %s)", err, r.why(ctx, rec.GoldenID, t), src.System, src.Datatype, src.ID)
	}
	return store.Key{System: t.System, Datatype: t.Datatype, ID: id}, rec.GoldenID, nil
}

// why finds in the golden record's history the last reason a write to
// the target did not happen.
func (r *run) why(ctx context.Context, golden string, t *mapping.Mapping) string {
	evs, err := r.env.Store.EventsForGolden(ctx, golden)
	if err != nil {
		return ""
	}
	for _, ev := range slices.Backward(evs) {
		if ev.System == t.System && slices.Contains([]string{"failed", "parked", "deferred", "skipped", "conflict"}, ev.Action) {
			return fmt.Sprintf(": %s: %s", ev.Action, ev.Detail)
		}
	}
	return ""
}

func (r *run) linkedIn(ctx context.Context, golden, system, datatype string) (string, error) {
	all, err := r.env.Store.RecordsForGoldens(ctx, []string{golden})
	if err != nil {
		return "", err
	}
	for _, rec := range all[golden] {
		if rec.Key.System == system && rec.Key.Datatype == datatype {
			return rec.Key.ID, nil
		}
	}
	return "", fmt.Errorf("no %s:%s record is linked to golden record %s", system, datatype, golden)
}

// read gets a record from its system and maps it in.
func (r *run) read(ctx context.Context, m *mapping.Mapping, id string) (mapping.Input, error) {
	rec, err := r.conn(m.System).Get(ctx, m.Datatype, id)
	if err != nil {
		return mapping.Input{}, fmt.Errorf("read %s %s: %w", m.Name(), id, err)
	}
	return m.In(rec.Fields, nil, rec.Modified)
}

// write changes one property of a record in its system.
func (r *run) write(ctx context.Context, m *mapping.Mapping, id, prop string, v any) error {
	fields, err := m.FieldsFor(map[string]any{prop: v}, prop)
	if err != nil {
		return err
	}
	_, err = r.conn(m.System).Update(ctx, m.Datatype, id, fields, "")
	return err
}

// compare checks one property of the target record against the value
// written in the source.
func (r *run) compare(ctx context.Context, sec, step string, p Pair, t *mapping.Mapping, trow *mapping.Row, want map[string]any, got mapping.Input) {
	item := fmt.Sprintf("%s → %s", p.Source.Field, trow.Field)
	if !trow.Reads() {
		r.check(sec, step, item, true, "written; the target's mapping does not read it back")
		return
	}
	w := want[p.Property]
	if trow.Ref != "" {
		if w == nil {
			r.check(sec, step, item, true, "no reference made for the test")
			return
		}
		src, ok := r.placeholders[fmt.Sprint(w)]
		if !ok {
			r.fail(sec, step, item, "unknown test reference")
			return
		}
		exp, err := r.expectRef(ctx, src, t.System, trow.Ref)
		gotID := got.Refs[p.Property].ID
		switch {
		case err != nil:
			r.fail(sec, step, item, err.Error())
		default:
			r.check(sec, step, item, gotID == exp, fmt.Sprintf("want the linked %s %s, got %s", trow.Ref, exp, cmp.Or(gotID, "(empty)")))
		}
		return
	}
	cw, err := mapping.Coerce(w, propType(r.set, t, p.Property))
	if err != nil {
		cw = w
	}
	r.check(sec, step, item, mapping.Equal(cw, got.Props[p.Property]),
		fmt.Sprintf("want %s, got %s", show(cw), show(got.Props[p.Property])))
}

// expectRef is the id, in the target datatype, of the record linked to the
// same golden record as the source record src.
func (r *run) expectRef(ctx context.Context, src store.Key, system, datatype string) (string, error) {
	recs, err := r.env.Store.GetRecords(ctx, src.System, src.Datatype, []string{src.ID})
	if err != nil {
		return "", err
	}
	rec, ok := recs[src.ID]
	if !ok || rec.GoldenID == "" {
		return "", fmt.Errorf("the referenced %s %s was not merged", src.Datatype, src.ID)
	}
	return r.linkedIn(ctx, rec.GoldenID, system, datatype)
}

// checkLines checks the one line a record was created with in the lines
// of its target record.
func (r *run) checkLines(ctx context.Context, sec Section, tgt store.Key, want map[string]any) {
	lv, _ := want[linesKey].(map[string]any)
	t := sec.Target
	if lv == nil || t.Lines == nil {
		return
	}
	tl, ok := r.set.Lookup(t.System, t.Lines.Datatype)
	sl, ok2 := r.set.Lookup(sec.Source.System, sec.Source.Lines.Datatype)
	if !ok || !ok2 {
		return
	}
	var lines []mapping.Input
	var ids []string
	err := r.list(ctx, tl, func(rec connector.Record, in mapping.Input) {
		if in.Refs[mapping.ParentProperty].ID == tgt.ID {
			lines = append(lines, in)
			ids = append(ids, rec.ID)
		}
	})
	if err != nil {
		r.fail(sec.Title, "insert", "lines", err.Error())
		return
	}
	r.check(sec.Title, "insert", "lines", len(lines) == 1, fmt.Sprintf("want 1 line in %s of %s, found %d", tl.Datatype, tgt.ID, len(lines)))
	if len(lines) != 1 {
		return
	}
	r.created = append(r.created, store.Key{System: tl.System, Datatype: tl.Datatype, ID: ids[0]})
	for _, p := range pairs(sl, tl) {
		r.compare(ctx, sec.Title, "insert", p, tl, p.Target, lv, lines[0])
	}
}

// list pages through every live record of a datatype, mapped in.
func (r *run) list(ctx context.Context, m *mapping.Mapping, fn func(connector.Record, mapping.Input)) error {
	req := connector.ListRequest{Full: true}
	for {
		page, err := r.conn(m.System).List(ctx, m.Datatype, req)
		if err != nil {
			return fmt.Errorf("list %s: %w", m.Name(), err)
		}
		for _, rec := range page.Records {
			if rec.Deleted {
				continue
			}
			in, err := m.In(rec.Fields, nil, rec.Modified)
			if err != nil {
				continue
			}
			fn(rec, in)
		}
		if page.NextPageToken == "" {
			return nil
		}
		req.PageToken = page.NextPageToken
	}
}

// noDuplicates checks that each side holds one record with the test
// record's merge keys, and the golden record one record per datatype.
func (r *run) noDuplicates(ctx context.Context, sec Section, golden string, want map[string]any) {
	all, err := r.env.Store.RecordsForGoldens(ctx, []string{golden})
	if err != nil {
		r.fail(sec.Title, "no duplicates", "links", err.Error())
		return
	}
	per := map[string]int{}
	for _, rec := range all[golden] {
		per[rec.Key.System+":"+rec.Key.Datatype]++
	}
	var dup []string
	for k, n := range per {
		if n > 1 {
			dup = append(dup, fmt.Sprintf("%s ×%d", k, n))
		}
	}
	slices.Sort(dup)
	r.check(sec.Title, "no duplicates", "links", len(dup) == 0, "one record per datatype linked to the golden record"+strings.Join(append([]string{""}, dup...), "; "))
	for _, m := range []*mapping.Mapping{sec.Source, sec.Target} {
		if m.Repeats {
			continue
		}
		crit := criterion(m, want)
		if crit == nil {
			r.check(sec.Title, "no duplicates", m.Name(), true, "skipped: no merge criterion with test values")
			continue
		}
		n := 0
		err := r.list(ctx, m, func(_ connector.Record, in mapping.Input) {
			for _, p := range crit {
				if !strings.EqualFold(strings.TrimSpace(fmt.Sprint(in.Props[p])), strings.TrimSpace(fmt.Sprint(want[p]))) {
					return
				}
			}
			n++
		})
		if err != nil {
			r.fail(sec.Title, "no duplicates", m.Name(), err.Error())
			continue
		}
		r.check(sec.Title, "no duplicates", m.Name(), n == 1, fmt.Sprintf("%d record(s) with %s", n, strings.Join(crit, "+")))
	}
}

// criterion is the first merge criterion of m whose properties all have
// plain test values.
func criterion(m *mapping.Mapping, want map[string]any) []string {
	for _, c := range m.Merge {
		ok := true
		for _, p := range c {
			v, has := want[p]
			if !has || mapping.IsEmpty(v) || strings.HasPrefix(fmt.Sprint(v), "qa:") {
				ok = false
			}
		}
		if ok {
			return c
		}
	}
	return nil
}

// cleanup deletes what the run created, newest first. What a system does
// not let Concord delete is reported, not failed.
func (r *run) cleanup(ctx context.Context) {
	seen := map[store.Key]bool{}
	for _, k := range slices.Backward(r.created) {
		if seen[k] {
			continue
		}
		seen[k] = true
		c := r.conn(k.System)
		if c == nil {
			continue
		}
		start := time.Now()
		err := c.Delete(ctx, k.Datatype, k.ID)
		took := time.Since(start).Round(time.Millisecond)
		switch {
		case err == nil:
			r.logf("  cleanup: deleted %s:%s %s (%v)", k.System, k.Datatype, k.ID, took)
		case errors.Is(err, connector.ErrNotFound):
			r.logf("  cleanup: %s:%s %s was already gone", k.System, k.Datatype, k.ID)
		case errors.Is(err, connector.ErrNotSupported):
			r.logf("  cleanup: left %s:%s %s in place: the system does not delete %s", k.System, k.Datatype, k.ID, k.Datatype)
			r.check("cleanup", "cleanup", k.System+":"+k.Datatype+" "+k.ID, true, "left in place: the system does not delete "+k.Datatype)
		default:
			r.logf("  cleanup: left %s:%s %s in place: %v", k.System, k.Datatype, k.ID, err)
			r.check("cleanup", "cleanup", k.System+":"+k.Datatype+" "+k.ID, true, "left in place: "+err.Error())
		}
	}
}

// twin makes, in a datatype Concord only links to, a record with the test
// record's values (its references translated to the target records linked
// to the referenced ones), as a user of that system would have entered it.
func (r *run) twin(ctx context.Context, t *mapping.Mapping, want map[string]any) error {
	vals := map[string]any{}
	for k, v := range want {
		if k != linesKey {
			vals[k] = v
		}
	}
	resolve := func(datatype, placeholder string) (string, bool) {
		src, ok := r.placeholders[placeholder]
		if !ok {
			return "", false
		}
		id, err := r.expectRef(ctx, src, t.System, datatype)
		return id, err == nil
	}
	fields, unresolved, err := t.Compose(vals, resolve)
	if err != nil {
		return err
	}
	if len(unresolved) > 0 {
		return fmt.Errorf("references not linked in %s: %s", t.System, strings.Join(unresolved, ", "))
	}
	t.WithDefaults(fields)
	rec, err := r.conn(t.System).Insert(ctx, t.Datatype, fields)
	if err != nil {
		return err
	}
	r.created = append(r.created, store.Key{System: t.System, Datatype: t.Datatype, ID: rec.ID})
	return nil
}
