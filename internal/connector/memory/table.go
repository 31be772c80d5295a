package memory

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// idLess orders ids shortlex: shorter ids first, then bytewise. Sequential
// ids ("9", "10") therefore sort in creation order, so a new id appends at
// the end of the id index instead of being inserted in the middle, and a
// full listing of a million records pages in creation order.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// stamp is one write in the change index: the record's Modified (unix
// nanoseconds, already truncated to the system's granularity) and its id.
type stamp struct {
	mod int64
	id  string
}

func (a stamp) less(b stamp) bool {
	if a.mod != b.mod {
		return a.mod < b.mod
	}
	return idLess(a.id, b.id)
}

// record is the system's current state of one record, live or tombstone.
type record struct {
	id      string
	fields  connector.Fields
	mod     int64 // Modified as unix nanoseconds, in UTC
	deleted bool
}

func (r *record) export() connector.Record {
	return connector.Record{ID: r.id, Fields: connector.CloneFields(r.fields), Modified: time.Unix(0, r.mod).UTC(), Deleted: r.deleted}
}

// table holds one datatype.
//
// Two indexes make listings cost work proportional to what they return:
//
//   - ids holds every id ever used (tombstones included; ids are never
//     reused) in idLess order, for full listings.
//   - changes holds a stamp per write in (Modified, ID) order, for
//     incremental listings. Entries are never moved: a write appends a new
//     stamp (at the end, as clocks move forward) and leaves the old one
//     behind as stale. A stamp is live when its record still has that
//     Modified. Each record has exactly one live stamp, so len(changes) -
//     len(records) is the number of stale ones; compact drops them once
//     they outnumber the live ones, which keeps the cost amortised O(1) per
//     write. Stale stamps after a cursor are at most the writes since it.
type table struct {
	name    string
	records map[string]*record
	ids     []string
	changes []stamp
	live    int   // records that are not tombstones
	maxMod  int64 // highest Modified of any record; noCursor when empty
	seq     uint64

	props    map[string]string // inferred property types
	declared []connector.Property
}

func newTable(name string) *table {
	return &table{name: name, records: map[string]*record{}, maxMod: noCursor}
}

// nextID returns the next unused sequential id.
func (t *table) nextID(prefix string) string {
	for {
		t.seq++
		id := prefix + strconv.FormatUint(t.seq, 10)
		if _, taken := t.records[id]; !taken {
			return id
		}
	}
}

// add stores a new record with the given id (which must be unused).
func (t *table) add(id string, fields connector.Fields, now time.Time) *record {
	r := &record{id: id, fields: connector.CloneFields(fields)}
	t.records[id] = r
	t.live++
	t.addID(id)
	t.touch(r, now)
	t.learn(r.fields)
	return r
}

// merge writes the given fields over the record's current ones.
func (t *table) merge(r *record, fields connector.Fields, now time.Time) {
	for k, v := range fields {
		r.fields[k] = connector.CloneValue(v)
	}
	t.touch(r, now)
	t.learn(fields)
}

// tombstone marks the record deleted.
func (t *table) tombstone(r *record, now time.Time) {
	r.deleted = true
	t.live--
	t.touch(r, now)
}

// touch sets the record's Modified and records the write in the change index.
func (t *table) touch(r *record, now time.Time) {
	r.mod = now.UnixNano()
	if r.mod > t.maxMod {
		t.maxMod = r.mod
	}
	t.addStamp(stamp{mod: r.mod, id: r.id})
	if len(t.changes) > 2*len(t.records)+1024 {
		t.compact()
	}
}

func (t *table) addID(id string) {
	n := len(t.ids)
	if n == 0 || idLess(t.ids[n-1], id) {
		t.ids = append(t.ids, id)
		return
	}
	i := sort.Search(n, func(i int) bool { return !idLess(t.ids[i], id) })
	t.ids = slices.Insert(t.ids, i, id)
}

func (t *table) addStamp(s stamp) {
	n := len(t.changes)
	if n == 0 || t.changes[n-1].less(s) {
		t.changes = append(t.changes, s)
		return
	}
	i := sort.Search(n, func(i int) bool { return !t.changes[i].less(s) })
	if i < n && t.changes[i] == s {
		return // written twice within one time unit: the stamp is live again
	}
	t.changes = slices.Insert(t.changes, i, s)
}

func (t *table) isLive(s stamp) bool { return t.records[s.id].mod == s.mod }

func (t *table) compact() {
	kept := t.changes[:0]
	for _, s := range t.changes {
		if t.isLive(s) {
			kept = append(kept, s)
		}
	}
	clear(t.changes[len(kept):])
	t.changes = kept
}

// firstChangeFrom returns the index of the first stamp with mod >= from.
func (t *table) firstChangeFrom(from int64) int {
	return sort.Search(len(t.changes), func(i int) bool { return t.changes[i].mod >= from })
}

// firstChangeAfter returns the index of the first stamp strictly after s.
func (t *table) firstChangeAfter(s stamp) int {
	return sort.Search(len(t.changes), func(i int) bool { return s.less(t.changes[i]) })
}

// firstIDAfter returns the index of the first id strictly after id.
func (t *table) firstIDAfter(id string) int {
	return sort.Search(len(t.ids), func(i int) bool { return idLess(id, t.ids[i]) })
}

// learn widens the inferred property types with the given values.
func (t *table) learn(fields connector.Fields) {
	if t.props == nil {
		t.props = map[string]string{}
	}
	for k, v := range fields {
		t.props[k] = widen(t.props[k], typeOf(v))
	}
}

// describe returns the datatype's properties: declared ones as declared,
// then inferred ones, sorted by name. A property only ever seen as null is
// described as a string.
func (t *table) describe() connector.DatatypeInfo {
	info := connector.DatatypeInfo{Name: t.name, CanDelete: true, Properties: []connector.Property{}}
	seen := map[string]bool{}
	for _, p := range t.declared {
		seen[p.Name] = true
	}
	for name, typ := range t.props {
		if seen[name] {
			continue
		}
		if typ == "" {
			typ = "string"
		}
		info.Properties = append(info.Properties, connector.Property{Name: name, Type: typ})
	}
	info.Properties = append(info.Properties, t.declared...)
	sort.Slice(info.Properties, func(i, j int) bool { return info.Properties[i].Name < info.Properties[j].Name })
	return info
}

// typeOf names the property type of a JSON-like value; "" for null.
func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return "datetime"
		}
		if _, err := time.Parse(time.DateOnly, x); err == nil {
			return "date"
		}
		return "string"
	case bool:
		return "boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "integer"
	case float32, float64, json.Number:
		return "number"
	case []any, []string, []map[string]any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return "string"
	}
}

// widen combines the type seen so far with a newly seen one: the first
// non-null type sticks, integers widen to numbers and dates to strings.
func widen(have, seen string) string {
	switch {
	case have == "" || have == seen:
		return seen
	case seen == "":
		return have
	case have == "integer" && seen == "number", have == "number" && seen == "integer":
		return "number"
	case (have == "date" || have == "datetime") && (seen == "string" || seen == "date" || seen == "datetime"),
		have == "string" && (seen == "date" || seen == "datetime"):
		return "string"
	default:
		return have
	}
}
