package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/transform"
)

// RefValue is a reference field's system id before translation.
type RefValue struct {
	Datatype string
	ID       string
}

// Input is a record mapped into canonical properties.
type Input struct {
	Props map[string]any
	Times map[string]time.Time
	// Refs holds, per reference property, the system id to translate into a
	// golden id. Props holds nil for them until the engine translates.
	Refs map[string]RefValue
}

// Keep evaluates the mapping's filter on a system record.
func (m *Mapping) Keep(fields map[string]any) (bool, error) {
	if m.filter == nil {
		return true, nil
	}
	return m.filter.Test(transform.Filter, transform.Vars{Record: fields})
}

// Takes evaluates the mapping's `when` condition on a golden record.
func (m *Mapping) Takes(golden map[string]any) (bool, error) {
	if m.when == nil {
		return true, nil
	}
	return m.when.Test(transform.When, transform.Vars{Golden: golden})
}

// Conditional tells whether the mapping has a `when` condition.
func (m *Mapping) Conditional() bool { return m.when != nil }

// InsertTakes evaluates the mapping's `insert_when` condition on a golden
// record: whether Concord may create a record here for it (Takes must hold
// too).
func (m *Mapping) InsertTakes(golden map[string]any) (bool, error) {
	if m.insertWhen == nil {
		return true, nil
	}
	return m.insertWhen.Test(transform.When, transform.Vars{Golden: golden})
}

// In maps a record's fields to canonical properties. times gives each
// field's modification time; fields without one get modified.
func (m *Mapping) In(fields map[string]any, times map[string]time.Time, modified time.Time) (Input, error) {
	in := Input{Props: map[string]any{}, Times: map[string]time.Time{}}
	for i := range m.Rows {
		r := &m.Rows[i]
		if !r.Reads() {
			continue
		}
		v, err := r.mapIn(fields, m.propType(r.Property, false))
		if err != nil {
			return Input{}, fmt.Errorf("field %q → %s: %w", r.Field, r.Property, err)
		}
		// A zero time is kept: it marks a value known to be older than any
		// other (the echo of a write of ours).
		t, ok := times[TopField(r.Field)]
		if !ok {
			t = modified
		}
		in.Times[r.Property] = t
		if r.Ref != "" {
			in.Props[r.Property] = nil
			if !IsEmpty(v) {
				if in.Refs == nil {
					in.Refs = map[string]RefValue{}
				}
				in.Refs[r.Property] = RefValue{Datatype: r.Ref, ID: idString(v)}
			}
			continue
		}
		in.Props[r.Property] = v
	}
	return in, nil
}

func (r *Row) mapIn(fields map[string]any, typ string) (any, error) {
	v, _ := FieldValue(fields, r.Field)
	if r.in != nil {
		out, err := r.in.Eval(transform.In, transform.Vars{Value: v, Record: fields})
		if err != nil {
			return nil, err
		}
		v = out
	}
	if r.Ref != "" {
		return v, nil
	}
	return Coerce(v, typ)
}

// Agrees tells whether a field the system holds already means the golden
// record's value: the field, read through the row that maps it in, gives
// the property's value. A system that spells a value its own way (a
// country as "Danmark" where the hub holds DK, a pipeline level where the
// hub holds a status, a date with a time of day) is then not written the
// hub's spelling of the same thing, which would overwrite what its users
// typed with no change in meaning. Reference fields and rows that do not
// read never agree this way (references compare by id). Nor does a row
// whose in and out are the same expression: that is a normal form the
// system is meant to hold (vatnumber(value) both ways writes "GB 123 456
// 789" as GB123456789), not a translation between two vocabularies.
func (m *Mapping) Agrees(field string, fields, golden map[string]any) bool {
	for i := range m.Rows {
		r := &m.Rows[i]
		if r.Field != field || !r.Reads() || r.Ref != "" {
			continue
		}
		if r.in != nil && r.out != nil && r.in.Source() == r.out.Source() {
			return false
		}
		want := golden[r.Property]
		if IsEmpty(want) {
			return false
		}
		v, err := r.mapIn(fields, m.propType(r.Property, false))
		return err == nil && Equal(v, want)
	}
	return false
}

// Resolver translates a golden id in a reference property into the id of the
// linked record in the given datatype of the target system.
type Resolver func(datatype, goldenID string) (id string, ok bool)

// Out maps golden properties to the fields this mapping writes. Reference
// properties that cannot be resolved yet are listed in unresolved.
func (m *Mapping) Out(golden map[string]any, resolve Resolver) (fields map[string]any, unresolved []string, err error) {
	fields = make(map[string]any, len(m.Rows))
	for i := range m.Rows {
		r := &m.Rows[i]
		if !r.Writes() {
			continue
		}
		v := golden[r.Property]
		if r.Ref != "" && !IsEmpty(v) {
			id, ok := resolve(r.Ref, fmt.Sprint(v))
			if !ok {
				unresolved = append(unresolved, r.Property)
				continue
			}
			v = id
		}
		if r.out != nil {
			if v, err = r.out.Eval(transform.Out, transform.Vars{Value: v, Golden: golden}); err != nil {
				return nil, nil, fmt.Errorf("property %s → field %q: %w", r.Property, r.Field, err)
			}
		}
		if r.Ref == "" {
			if v, err = Coerce(v, r.Type); err != nil {
				return nil, nil, fmt.Errorf("property %s → field %q: %w", r.Property, r.Field, err)
			}
		}
		setField(fields, r.Field, v)
	}
	return fields, unresolved, nil
}

// A row's field is a member of the record ("city"), or a path to a member
// of an object the record holds ("billing_address.city"), for systems that
// nest a value (an address) in the record. A member named with a dot is
// found by its name first.

// NestedFields are the record's members the mapping writes member by member
// (the tops of its rows with paths), or nil.
func (m *Mapping) NestedFields() map[string]bool {
	var out map[string]bool
	for _, r := range m.Rows {
		if top := TopField(r.Field); top != r.Field && r.Writes() {
			if out == nil {
				out = map[string]bool{}
			}
			out[top] = true
		}
	}
	return out
}

// TopField is the record's member a row's field is in: "billing_address"
// for "billing_address.city".
func TopField(field string) string {
	top, _, _ := strings.Cut(field, ".")
	return top
}

// FieldValue reads a row's field from a record's fields.
func FieldValue(fields map[string]any, field string) (any, bool) {
	if v, ok := fields[field]; ok || !strings.Contains(field, ".") {
		return v, ok
	}
	var cur any = fields
	for _, part := range strings.Split(field, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// setField writes a row's value into fields to be written. A path sets a
// member of an object, made as needed; an empty value for a member is left
// out (an object written holds only the members that have values, so an
// empty one never clears what the system has).
func setField(fields map[string]any, field string, v any) {
	if !strings.Contains(field, ".") {
		fields[field] = v
		return
	}
	if IsEmpty(v) {
		return
	}
	parts := strings.Split(field, ".")
	obj := fields
	for _, part := range parts[:len(parts)-1] {
		next, ok := obj[part].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[part] = next
		}
		obj = next
	}
	obj[parts[len(parts)-1]] = v
}

func (m *Mapping) propType(prop string, lines bool) string {
	t := m.model()
	if t == nil {
		return "string"
	}
	props := t.Properties
	if lines {
		props = t.Lines
	}
	if p, ok := props[prop]; ok {
		return p.Type
	}
	return "string"
}

func idString(v any) string {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) {
			return strconv.FormatInt(int64(x), 10)
		}
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

// IsEmpty tells whether a value counts as empty: nil, blank string, empty
// list or object. An empty value never overwrites a non-empty one.
func IsEmpty(v any) bool { return transform.IsEmpty(v) }

// Coerce converts a value to a data type. Empty values become nil.
func Coerce(v any, typ string) (any, error) {
	if IsEmpty(v) {
		return nil, nil
	}
	switch typ {
	case "", "string", "reference":
		switch x := v.(type) {
		case string:
			return v, nil // v already holds x: no new interface value
		case float64, int, int64, json.Number:
			return idString(x), nil
		case bool:
			return strconv.FormatBool(x), nil
		case time.Time:
			return x.UTC().Format(time.RFC3339), nil
		}
		return v, nil
	case "number", "integer":
		f, err := toFloat(v)
		if err != nil {
			return nil, err
		}
		if typ == "integer" {
			return math.Round(f), nil
		}
		return f, nil
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, fmt.Errorf("expected a boolean, got %q", x)
			}
			return b, nil
		case float64:
			return x != 0, nil
		}
		return nil, fmt.Errorf("expected a boolean, got %T", v)
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return nil, fmt.Errorf("expected an object, got %T", v)
		}
		return v, nil
	case "array":
		if _, ok := v.([]any); !ok {
			return nil, fmt.Errorf("expected an array, got %T", v)
		}
		return v, nil
	case "date", "datetime":
		t, err := toTime(v)
		if err != nil {
			return nil, err
		}
		if typ == "date" {
			return t.Format("2006-01-02"), nil
		}
		return t.UTC().Format(time.RFC3339), nil
	}
	return v, nil
}

// SameNumber tells whether a number and a text hold the same amount
// ("12.50" and 12.5): a system that keeps amounts as text must not be
// written again every cycle because the hub holds the number. Two texts,
// or two numbers, are not its business (see Equal).
func SameNumber(a, b any) bool {
	_, textA := a.(string)
	_, textB := b.(string)
	if textA == textB || IsEmpty(a) || IsEmpty(b) {
		return false
	}
	x, errA := toFloat(a)
	y, errB := toFloat(b)
	return errA == nil && errB == nil && x == y
}

// SameDate tells whether a calendar date ("2026-03-10", what a row of type
// date maps out) and a system's time text are the same date: Exact Online
// presents a date as midnight ("2026-03-10T00:00:00Z"), a webshop as the
// moment with its offset ("2026-03-10T10:11:12.345+01:00", whose date is the
// one in that offset). Without it such a date would be written again every
// cycle. Anything else is not its business (see Equal).
func SameDate(date, current any) bool {
	d, ok := date.(string)
	if !ok || len(strings.TrimSpace(d)) != len("2006-01-02") {
		return false
	}
	want, err := time.Parse("2006-01-02", strings.TrimSpace(d))
	if err != nil {
		return false
	}
	var got time.Time
	switch c := current.(type) {
	case time.Time:
		got = c
	case string:
		c = strings.TrimSpace(c)
		if len(c) <= len("2006-01-02") {
			return false // two dates are texts to compare, not times
		}
		if got, err = time.Parse(time.RFC3339Nano, c); err != nil {
			return false
		}
	default:
		return false
	}
	y, m, dd := got.Date()
	return want.Equal(time.Date(y, m, dd, 0, 0, 0, 0, time.UTC))
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case json.Number:
		return x.Float64()
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("expected a number, got %q", x)
		}
		return f, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("expected a number, got %T", v)
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case string:
		s := strings.TrimSpace(x)
		if strings.HasPrefix(s, "/Date(") && strings.HasSuffix(s, ")/") {
			ms, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(s, "/Date("), ")/"), 10, 64)
			if err == nil {
				return time.UnixMilli(ms).UTC(), nil
			}
		}
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("expected a date, got %q", x)
	case float64:
		return time.UnixMilli(int64(x)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("expected a date, got %T", v)
}

// Equal compares two canonical or field values: empties are equal to each
// other, numbers compare by value whatever their Go type.
func Equal(a, b any) bool {
	ea, eb := IsEmpty(a), IsEmpty(b)
	if ea || eb {
		return ea && eb
	}
	if fa, ok := toFloatStrict(a); ok {
		if fb, ok := toFloatStrict(b); ok {
			return fa == fb
		}
		return false
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range x {
			if !Equal(v, y[k]) {
				return false
			}
		}
		for k, v := range y {
			if _, ok := x[k]; !ok && !IsEmpty(v) {
				return false
			}
		}
		return true
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// toFloatStrict converts a value that is a number; ok is false for any
// other value. (No error value: Equal calls it for every string it
// compares.)
func toFloatStrict(v any) (f float64, ok bool) {
	switch v.(type) {
	case float64, float32, int, int64, int32, json.Number:
		f, err := toFloat(v)
		return f, err == nil
	}
	return 0, false
}

// FieldsFor maps the given properties of a golden record out to the
// fields that hold them, for a change of just those properties (a user's
// edit in a demo or a QA run). References are not translated.
func (m *Mapping) FieldsFor(golden map[string]any, props ...string) (map[string]any, error) {
	all, _, err := m.Out(golden, func(string, string) (string, bool) { return "", false })
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, r := range m.Rows {
		if r.Writes() && r.Ref == "" && slices.Contains(props, r.Property) {
			v, _ := FieldValue(all, r.Field)
			setField(out, r.Field, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s writes no field of %s", m.Name(), strings.Join(props, ", "))
	}
	return out, nil
}

// WithDefaults adds the mapping's defaults to the fields of a record to be
// inserted, where the fields hold no value.
func (m *Mapping) WithDefaults(fields map[string]any) map[string]any {
	for f, v := range m.Defaults {
		if IsEmpty(fields[f]) {
			fields[f] = v
		}
	}
	return fields
}

// Compose makes the fields of a new record as someone would enter it in the
// system itself: Out, plus the fields of rows that only read (direction
// in) and have no out expression, written as the value is. QA runs and the
// demo create their source records with it, so that a property the system
// only feeds to the hub (a name Concord never writes back) is still filled.
func (m *Mapping) Compose(golden map[string]any, resolve Resolver) (fields map[string]any, unresolved []string, err error) {
	fields, unresolved, err = m.Out(golden, resolve)
	if err != nil {
		return nil, nil, err
	}
	for i := range m.Rows {
		r := &m.Rows[i]
		if r.Writes() || r.out != nil {
			continue
		}
		if _, set := FieldValue(fields, r.Field); set {
			continue
		}
		if r.Ref != "" {
			if g := golden[r.Property]; !IsEmpty(g) {
				if id, ok := resolve(r.Ref, fmt.Sprint(g)); ok {
					setField(fields, r.Field, id)
				} else {
					unresolved = append(unresolved, r.Property)
				}
			}
			continue
		}
		// A value the field cannot hold (a status text for a numeric code
		// the row translates on the way in) is left out: the row has no way
		// back to the system's own spelling.
		if v, err := Coerce(golden[r.Property], r.Type); err == nil && v != nil {
			setField(fields, r.Field, v)
		}
	}
	return fields, unresolved, nil
}

// ComposeLine is Compose for a line that travels inside its new parent
// (the parent's lines.insert_field): without the field that refers to the
// parent, which the system fills itself. lm is a lines mapping.
func (lm *Mapping) ComposeLine(golden map[string]any, resolve Resolver) (fields map[string]any, unresolved []string, err error) {
	fields, unresolved, err = lm.Compose(golden, resolve)
	if err != nil {
		return nil, nil, err
	}
	if lm.Parent != nil {
		delete(fields, lm.Parent.Lines.ParentField)
	}
	return fields, slices.DeleteFunc(unresolved, func(p string) bool { return p == ParentProperty }), nil
}
