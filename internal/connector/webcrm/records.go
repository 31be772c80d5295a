package webcrm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// wireLayout is how WebCRM writes date-times: wall-clock time in its own
// (undocumented) zone, no offset, no fraction.
const wireLayout = "2006-01-02T15:04:05"

const zeroWireTime = "0001-01-01T00:00:00"

// wireRecord is one record as read, with what the listing needs besides the
// presented fields.
type wireRecord struct {
	id      int64
	updated string // the *UpdatedAt text as WebCRM wrote it (its wall clock)
	rec     connector.Record
	rawHash string // hash of the presented fields before product resolution (de-duplication)
	code    string // QuotationLines: the product code the line holds
}

// decodeObjects reads a JSON array of objects, numbers kept exact.
func decodeObjects(body []byte) ([]map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out []map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("the answer is not a JSON array of records: %w", err)
	}
	return out, nil
}

func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil || out == nil {
		return nil, fmt.Errorf("the answer is not a JSON object: %v", err)
	}
	return out, nil
}

// present turns a WebCRM object into a record as the engine sees it:
//   - ids and references as decimal strings, 0 (no reference) left out;
//   - numbers as float64; texts and booleans as they are;
//   - date fields as "2006-01-02", other date-times as UTC RFC 3339 read in
//     the configured zone; unset date-times (0001-01-01) left out;
//   - *UpdatedAt and *UpdatedBy not as fields: UpdatedAt is Record.Modified
//     (a write that changes nothing changes no hash);
//   - the custom fields holding product code and name under their virtual
//     names; nulls and empty QuotationLineData fields left out.
//
// Listings (queries) and Get present a record identically, so its content
// hash does not depend on how it was read.
func (c *Conn) present(e *entity, obj map[string]any) (wireRecord, error) {
	var w wireRecord
	fields := make(connector.Fields, len(obj))
	for k, v := range obj {
		f := e.field(k)
		if f == nil {
			if v != nil {
				fields[k] = plain(v)
			}
			continue
		}
		name := f.name
		if name == e.idField() {
			n, ok := wholeOf(v)
			if !ok || n <= 0 {
				return w, fmt.Errorf("%s record without a valid %s (%v)", e.name, name, v)
			}
			w.id = n
			fields[name] = strconv.FormatInt(n, 10)
			continue
		}
		if name == e.updatedField() {
			w.updated, _ = v.(string)
			continue
		}
		if v == nil || f.kind == kStamp {
			continue
		}
		switch f.kind {
		case kRef:
			if n, ok := wholeOf(v); ok {
				if n != 0 {
					fields[name] = strconv.FormatInt(n, 10)
				}
				continue
			}
			fields[name] = plain(v)
		case kInt, kFloat:
			fields[name] = plain(v)
		case kDate:
			if s, ok := v.(string); ok {
				if s == "" || strings.HasPrefix(s, zeroWireTime[:10]) {
					continue
				}
				if len(s) >= 10 {
					fields[name] = s[:10]
					continue
				}
			}
			fields[name] = plain(v)
		case kDateTime:
			if s, ok := v.(string); ok {
				if s == "" || strings.HasPrefix(s, zeroWireTime[:10]) {
					continue
				}
				if t, err := c.parseWireTime(s); err == nil {
					fields[name] = t.UTC().Format(time.RFC3339)
					continue
				}
			}
			fields[name] = plain(v)
		default:
			if f.nonEmpty && v == "" {
				continue
			}
			fields[name] = plain(v)
		}
	}
	if w.id == 0 {
		return w, fmt.Errorf("%s record without %s", e.name, e.idField())
	}
	if e.name == QuotationLines && c.cfg.QuotationLineCodeField != "" {
		w.code, _ = fields[c.cfg.QuotationLineCodeField].(string)
	}
	for _, v := range c.cfg.virtuals(e.name) {
		if val, ok := fields[v.raw]; ok {
			fields[v.name] = val
			delete(fields, v.raw)
		}
	}
	w.rec = connector.Record{ID: strconv.FormatInt(w.id, 10), Fields: fields}
	if w.updated != "" {
		if t, err := c.parseWireTime(w.updated); err == nil {
			w.rec.Modified = c.notAhead(t)
		}
	}
	w.rawHash = connector.Hash(fields)
	return w, nil
}

// maxAhead is how far in the future a WebCRM timestamp may seem before the
// connector takes it for a sign of a wrong time_zone.
const maxAhead = 15 * time.Minute

// notAhead dates a change that would seem to come from the future at the
// moment it is read instead: WebCRM's timestamps are read in the configured
// time_zone, and a zone east of WebCRM's own would make every WebCRM change
// look hours newer than it is, beating later edits made elsewhere.
func (c *Conn) notAhead(t time.Time) time.Time {
	now := c.c.now()
	ahead := t.Sub(now)
	if ahead <= maxAhead {
		return t
	}
	c.mu.Lock()
	if ahead > c.ahead {
		c.ahead = ahead
	}
	c.mu.Unlock()
	return now
}

// reportZone writes a status note when timestamps seemed to come from the
// future.
func (c *Conn) reportZone(ctx context.Context) {
	c.mu.Lock()
	ahead := c.ahead
	c.mu.Unlock()
	if ahead > 0 {
		c.note(ctx, "zone", fmt.Sprintf("WebCRM's timestamps read %v ahead of the clock: set time_zone to WebCRM's zone (changes are dated when read meanwhile)",
			ahead.Round(15*time.Minute)))
	}
}

// parseWireTime reads a WebCRM date-time: without offset it is a wall-clock
// time in the configured zone.
func (c *Conn) parseWireTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	for _, l := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(l, s, c.cfg.Location); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date-time", s)
}

// plain converts decoded JSON to the engine's value types: json.Number to
// float64, recursively.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	}
	return v
}

// wholeOf reads a whole number from a JSON or engine value.
func wholeOf(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			f, ferr := x.Float64()
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<53 {
				return 0, false
			}
			return int64(f), true
		}
		return n, true
	case float64:
		return int64(x), x == math.Trunc(x) && math.Abs(x) < 1<<53
	case float32:
		return wholeOf(float64(x))
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// wireValue converts a value the engine gives for field f into what the
// API takes. ok is false when the field is to be left out of the body
// (an empty QuotationLineData field, which the API refuses).
func (c *Conn) wireValue(f *field, v any) (out any, ok bool, err error) {
	if f == nil { // a field the connector does not know: as given
		return v, true, nil
	}
	empty := v == nil
	if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
		empty = true
	}
	if f.nonEmpty && empty {
		return nil, false, nil
	}
	switch f.kind {
	case kText, kEnum:
		switch x := v.(type) {
		case nil:
			return "", true, nil
		case string:
			return x, true, nil
		case bool:
			return strconv.FormatBool(x), true, nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1e15 {
				return strconv.FormatInt(int64(x), 10), true, nil
			}
			return strconv.FormatFloat(x, 'f', -1, 64), true, nil
		case int, int64, int32, json.Number:
			return fmt.Sprint(x), true, nil
		}
	case kRef, kInt:
		if empty {
			return 0, true, nil
		}
		if n, whole := wholeOf(v); whole && n >= math.MinInt32 && n <= math.MaxInt32 {
			return n, true, nil
		}
		if f.kind == kRef {
			return nil, false, fmt.Errorf("%s must hold a %s id (a whole number), not %v", f.name, "record", v)
		}
		return nil, false, fmt.Errorf("%s must be a whole number, not %v", f.name, v)
	case kFloat:
		if empty {
			return 0, true, nil
		}
		switch x := v.(type) {
		case float64, int, int64, int32, json.Number:
			return x, true, nil
		case string:
			if n, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return n, true, nil
			}
		}
		return nil, false, fmt.Errorf("%s must be a number, not %v", f.name, v)
	case kBool:
		switch x := v.(type) {
		case nil:
			return false, true, nil
		case bool:
			return x, true, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, true, nil
			}
		case float64:
			return x != 0, true, nil
		}
		return nil, false, fmt.Errorf("%s must be true or false, not %v", f.name, v)
	case kDate, kDateTime:
		if empty {
			return nil, true, nil // null clears a date-time
		}
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case string:
			var perr error
			if f.kind == kDate && len(strings.TrimSpace(x)) == 10 {
				// A date is the same calendar day in every zone.
				return strings.TrimSpace(x) + "T00:00:00", true, nil
			}
			if t, perr = c.parseWireTime(x); perr != nil {
				return nil, false, fmt.Errorf("%s: %w (want e.g. 2024-01-02 or 2024-01-02T10:11:12Z)", f.name, perr)
			}
		default:
			return nil, false, fmt.Errorf("%s must be a date-time text, not %v", f.name, v)
		}
		if f.kind == kDate {
			return t.Format("2006-01-02") + "T00:00:00", true, nil
		}
		return t.In(c.cfg.Location).Format(wireLayout), true, nil
	}
	return nil, false, fmt.Errorf("%s: cannot write %T", f.name, v)
}

// rawName returns the API field a presented field name stands for.
func (c *Conn) rawName(e *entity, name string) string {
	for _, v := range c.cfg.virtuals(e.name) {
		if v.name == name {
			return v.raw
		}
	}
	if f := e.field(name); f != nil {
		return f.name
	}
	return name
}

// wireTimeAdd moves a WebCRM wall-clock text by d, as naive wall-clock
// arithmetic: the connector never needs to know WebCRM's zone to page or
// to move its cursor, since it only ever compares WebCRM's texts with
// WebCRM's texts.
func wireTimeAdd(s string, d time.Duration) (string, error) {
	t, err := time.Parse(wireLayout, s)
	if err != nil {
		if t, err = time.Parse("2006-01-02T15:04:05.999999999", s); err != nil {
			return "", fmt.Errorf("timestamp %q is not in WebCRM's form 2006-01-02T15:04:05", s)
		}
	}
	t = t.Add(d)
	if t.Year() < 1 {
		return zeroWireTime, nil
	}
	return t.Format(wireLayout), nil
}

// laterWire returns the later of two WebCRM texts ("" is earliest). The
// fixed layout sorts as text.
func laterWire(a, b string) string {
	if b > a {
		return b
	}
	return a
}
