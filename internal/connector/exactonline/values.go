package exactonline

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// Dates. Exact reads a DateTime out as "/Date(ms)/", where ms counts
// milliseconds to the wall-clock time in the Netherlands as if that were UTC,
// or (some endpoints) as "/Date(ms+hhmm)/", where ms is the true UTC instant
// and the suffix the zone offset. Values written without a zone are Dutch
// local time.
//
// Concord presents an instant (Created, Modified) as RFC 3339 in UTC, and a
// calendar date (OrderDate, BirthDate) as that date at midnight UTC, so that
// a date reads the same in every time zone; writes go back as Dutch
// wall-clock ISO-8601 without a zone, which every variant of the API reads
// the same way.

// parseWCFDate reads "/Date(ms)/" or "/Date(ms±hhmm)/" and returns the Dutch
// wall-clock time (as a UTC time.Time) and the instant.
func parseWCFDate(s string, loc *time.Location) (wall, instant time.Time, ok bool) {
	if !strings.HasPrefix(s, "/Date(") || !strings.HasSuffix(s, ")/") {
		return time.Time{}, time.Time{}, false
	}
	body := s[len("/Date(") : len(s)-len(")/")]
	digits, off := body, ""
	if i := strings.LastIndexAny(body, "+-"); i > 0 {
		digits, off = body[:i], body[i:]
		if len(off) != 5 || strings.Trim(off[1:], "0123456789") != "" {
			return time.Time{}, time.Time{}, false
		}
	}
	ms, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	if off != "" {
		instant = time.UnixMilli(ms).UTC()
		w := instant.In(loc)
		wall = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
		return wall, instant, true
	}
	wall = time.UnixMilli(ms).UTC()
	local := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc)
	return wall, local.UTC(), true
}

// presentDate turns a date as read into what Concord presents.
func presentDate(v string, k kind, loc *time.Location) (string, bool) {
	wall, instant, ok := parseWCFDate(v, loc)
	if !ok {
		return v, false
	}
	if k == kDate {
		return time.Date(wall.Year(), wall.Month(), wall.Day(), 0, 0, 0, 0, time.UTC).Format(time.RFC3339), true
	}
	return instant.Format(time.RFC3339Nano), true
}

var inputLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// parseInputTime reads a date or time as Concord may hand it to a write.
// zoned says whether it named an instant (with a zone or /Date/).
func parseInputTime(s string, loc *time.Location) (wall time.Time, instant time.Time, zoned bool, ok bool) {
	s = strings.TrimSpace(s)
	if w, in, ok := parseWCFDate(s, loc); ok {
		return w, in, true, true
	}
	for i, l := range inputLayouts {
		t, err := time.Parse(l, s)
		if err != nil {
			continue
		}
		if i == 0 {
			return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC), t, true, true
		}
		local := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
		return t, local, false, true
	}
	return time.Time{}, time.Time{}, false, false
}

const wireLayout = "2006-01-02T15:04:05.999"

// wireDate renders a value for a date or datetime property of a write:
// Dutch wall-clock ISO-8601 without a zone. A calendar date keeps the date
// it was given; an instant is moved to Dutch time.
func wireDate(v any, k kind, loc *time.Location) (any, error) {
	var wall, instant time.Time
	zoned := false
	switch x := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		instant, zoned = x, true
		wall = time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC)
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, nil
		}
		var ok bool
		wall, instant, zoned, ok = parseInputTime(x, loc)
		if !ok {
			return nil, fmt.Errorf("%q is not a date: use ISO-8601 (2006-01-02 or 2006-01-02T15:04:05Z)", x)
		}
	default:
		return nil, fmt.Errorf("%v (%T) is not a date", v, v)
	}
	if k == kDate {
		return time.Date(wall.Year(), wall.Month(), wall.Day(), 0, 0, 0, 0, time.UTC).Format(wireLayout), nil
	}
	if zoned {
		w := instant.In(loc)
		return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC).Format(wireLayout), nil
	}
	return wall.Format(wireLayout), nil
}

// wireFields converts the fields of a write of d to what the API takes: dates
// as ISO-8601, a header's lines with their own datatype's conversions.
func wireFields(d *datatype, f connector.Fields, loc *time.Location) (map[string]any, error) {
	out := make(map[string]any, len(f))
	for name, v := range f {
		if d.lines != nil && name == d.linesField {
			lines, err := wireLines(d.lines, v, loc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[name] = lines
			continue
		}
		k, _ := d.kindOf(name)
		switch k {
		case kDate, kDateTime:
			w, err := wireDate(v, k, loc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[name] = w
		default:
			out[name] = v
		}
	}
	return out, nil
}

func wireLines(d *datatype, v any, loc *time.Location) ([]any, error) {
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case []map[string]any:
		for _, m := range x {
			list = append(list, m)
		}
	case map[string]any: // {"results": […]}
		r, ok := x["results"].([]any)
		if !ok {
			return nil, fmt.Errorf("want an array of lines")
		}
		list = r
	default:
		return nil, fmt.Errorf("want an array of lines, got %T", v)
	}
	out := make([]any, 0, len(list))
	for i, l := range list {
		m, ok := l.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("line %d is %T, not an object", i, l)
		}
		w, err := wireFields(d, m, loc)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// reader turns rows as the API sends them into Concord's fields.
type reader struct {
	d      *datatype
	loc    *time.Location
	fields []string // what Concord presents: the selected properties
}

// record reads one row. It drops __metadata, navigation values
// (__deferred or expanded lines) and the sync Timestamp, and returns the
// Timestamp separately (0 when the row has none).
func (r *reader) record(row map[string]any) (connector.Record, int64, error) {
	var ts int64
	if v, ok := row["Timestamp"]; ok {
		n, err := int64Of(v)
		if err != nil {
			return connector.Record{}, 0, fmt.Errorf("%s: Timestamp: %w", r.d.name, err)
		}
		ts = n
	}
	id, _ := row[r.d.key].(string)
	if id == "" && r.d.key != "ID" {
		id, _ = row["ID"].(string) // sync rows of headers also carry their key as ID
	}
	if id == "" {
		return connector.Record{}, ts, fmt.Errorf("%s: a row without %s", r.d.name, r.d.key)
	}
	f := make(connector.Fields, len(r.fields))
	for _, name := range r.fields {
		v, ok := row[name]
		if !ok {
			if name == r.d.key {
				f[name] = id
			}
			continue
		}
		k, known := r.d.kindOf(name)
		f[name] = r.value(v, k, known)
	}
	if r.d.salesPrice {
		if v, ok := f["StandardSalesPrice"]; ok {
			f[SalesPriceField] = v // what the default price shows
		}
	}
	rec := connector.Record{ID: strings.ToLower(id), Fields: f}
	if m, ok := f["Modified"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, m); err == nil {
			rec.Modified = t
		}
	}
	return rec, ts, nil
}

// value converts one JSON value (numbers as json.Number).
func (r *reader) value(v any, k kind, known bool) any {
	switch x := v.(type) {
	case json.Number:
		if k == kInt || !known {
			if n, err := x.Int64(); err == nil {
				return n
			}
		}
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case string:
		switch {
		case k == kDate || k == kDateTime:
			s, _ := presentDate(x, k, r.loc)
			return s
		case !known && strings.HasPrefix(x, "/Date("):
			s, _ := presentDate(x, kDateTime, r.loc)
			return s
		case k == kInt:
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				return n // OData v2 writes Int64 as a string
			}
		case k == kDouble:
			if f, err := strconv.ParseFloat(x, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f // and Decimal
			}
		}
		return x
	case map[string]any:
		if _, nav := x["__deferred"]; nav {
			return nil
		}
		out := make(map[string]any, len(x))
		for key, e := range x {
			if key == "__metadata" {
				continue
			}
			out[key] = r.value(e, kString, false)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.value(e, kString, false)
		}
		return out
	}
	return v
}

// int64Of reads a sync Timestamp: a number, or a string ("123", "123L").
func int64Of(v any) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
		f, err := x.Float64()
		if err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
	case string:
		if n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(x), "L"), 10, 64); err == nil {
			return n, nil
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	}
	return 0, fmt.Errorf("%v is not a row version", v)
}

// isGUID says whether s has the 8-4-4-4-12 hex form, so that it can stand
// in a URL key literal as it is.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
