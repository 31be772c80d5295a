package sqlconn

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// present turns a value as the driver scanned it into the JSON-like value
// the connector presents for the column: the same on every backend,
// whatever the driver hands over (PostgreSQL's typed values, MySQL's bytes,
// SQLite's dynamic types).
func present(c *column, v any) (any, error) {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	if v == nil {
		return nil, nil
	}
	if c.ref {
		return idText(v), nil
	}
	switch c.kind {
	case kInteger:
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
				return int64(x), nil
			}
			return x, nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n, nil
			}
			return x, nil // SQLite keeps what it was given
		}
	case kDecimal:
		switch x := v.(type) {
		case string:
			s := strings.TrimSpace(x)
			if decimalText.MatchString(s) {
				return decimalValue(s), nil
			}
			return x, nil
		case float64:
			return x, nil // SQLite keeps REAL
		case int64:
			if x > -1<<53 && x < 1<<53 {
				return float64(x), nil
			}
			return json.Number(strconv.FormatInt(x, 10)), nil
		}
	case kFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
			return x, nil
		}
	case kBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
				return b, nil
			}
			return x, nil
		}
	case kTimestamp:
		if t, ok := timeOf(v); ok {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	case kDate:
		if t, ok := timeOf(v); ok {
			return t.Format(time.DateOnly), nil
		}
	case kAny:
		switch v.(type) {
		case int64, float64, string, bool:
			return v, nil
		}
	}
	return text(v), nil
}

// decimalValue presents a decimal the database wrote: a float64 where the
// float64 reads back as the same decimal (every amount of up to 15
// significant digits: "12.50" is 12.5), else a json.Number holding the
// database's digits. Both are numbers to the engine; neither loses a digit.
func decimalValue(s string) any {
	if strings.ContainsAny(s, "eE") {
		return json.Number(s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || strconv.FormatFloat(f, 'f', -1, 64) != canonicalDecimal(s) {
		return json.Number(s)
	}
	return f
}

// canonicalDecimal writes a decimal without a sign of +, leading zeros or
// trailing fractional zeros, as strconv formats a float.
func canonicalDecimal(s string) string {
	s = strings.TrimPrefix(s, "+")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	if frac = strings.TrimRight(frac, "0"); frac != "" {
		whole += "." + frac
	}
	if neg {
		return "-" + whole
	}
	return whole
}

// decimalText is a decimal as databases write one.
var decimalText = regexp.MustCompile(`^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$`)

// text renders a scalar as text.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// idText renders a key value as the id text records carry.
func idText(v any) string {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10)
		}
	case json.Number:
		return x.String()
	case [16]byte:
		return uuid.UUID(x).String()
	}
	return text(v)
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999", time.DateOnly}

// timeOf reads a time the driver gave as a time or as text (SQLite).
// Text without a zone is UTC.
func timeOf(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case []byte:
		return timeOf(string(x))
	case string:
		s := strings.TrimSpace(x)
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// valueError is a field value the column cannot take; the write is
// rejected, naming the field.
type valueError struct {
	field string
	msg   string
}

func (e *valueError) Error() string { return fmt.Sprintf("field %q: %s", e.field, e.msg) }

// param turns a field value into a parameter for the column, or explains
// why the column cannot take it.
func (d dialect) param(c *column, v any) (any, error) {
	bad := func(want string) error {
		return &valueError{field: c.name, msg: fmt.Sprintf("want %s for the %s column, got %#v", want, c.dbType, v)}
	}
	if v == nil {
		return nil, nil
	}
	if c.ref && c.kind == kInteger {
		// Row ids are presented as text; the column holds numbers.
		if s, ok := v.(string); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return nil, bad("the id of a row (a whole number)")
			}
			return n, nil
		}
	}
	switch c.kind {
	case kInteger:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		case int32:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<63 {
				return int64(x), nil
			}
		case json.Number:
			if n, err := x.Int64(); err == nil {
				return n, nil
			}
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return n, nil
			}
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
		return nil, bad("a whole number")
	case kDecimal:
		var s string
		switch x := v.(type) {
		case json.Number:
			s = x.String()
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, bad("a number")
			}
			s = strconv.FormatFloat(x, 'f', -1, 64)
		case int64:
			s = strconv.FormatInt(x, 10)
		case int:
			s = strconv.Itoa(x)
		case string:
			s = strings.TrimSpace(x)
		default:
			return nil, bad("a number")
		}
		if !decimalText.MatchString(s) {
			return nil, bad("a number")
		}
		return s, nil
	case kFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case int:
			return float64(x), nil
		case json.Number:
			if f, err := x.Float64(); err == nil {
				return f, nil
			}
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
		}
		return nil, bad("a number")
	case kBool:
		var b bool
		switch x := v.(type) {
		case bool:
			b = x
		case string:
			p, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, bad("true or false")
			}
			b = p
		case float64:
			b = x != 0
		case int64:
			b = x != 0
		case int:
			b = x != 0
		default:
			return nil, bad("true or false")
		}
		if d.driver == DriverPostgres {
			return b, nil
		}
		if b {
			return int64(1), nil
		}
		return int64(0), nil
	case kTimestamp:
		t, ok := timeOf(v)
		if !ok {
			return nil, bad("a time in RFC 3339 (2024-01-02T10:11:12Z)")
		}
		return d.timeParam(t), nil
	case kDate:
		t, ok := timeOf(v)
		if !ok {
			return nil, bad("a date (2024-01-02)")
		}
		return t.Format(time.DateOnly), nil
	case kUUID:
		s, ok := v.(string)
		if _, err := uuid.Parse(s); !ok || err != nil {
			return nil, bad("a UUID")
		}
		return s, nil
	case kJSON:
		if s, ok := v.(string); ok {
			if !json.Valid([]byte(s)) {
				return nil, bad("a JSON document")
			}
			return s, nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, bad("a JSON document")
		}
		return string(b), nil
	case kAny:
		switch x := v.(type) {
		case string, int64, float64:
			return x, nil
		case int:
			return int64(x), nil
		case json.Number:
			return x.String(), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case int64, int, float64, bool:
		return idText(x), nil
	case map[string]any, []any:
		return nil, bad("a text (a list or object goes in a json column)")
	}
	return nil, bad("a text")
}

// idParam turns a record id into the key column's parameter; ok is false
// when the id cannot be a key of that column (such a row does not exist).
func (d dialect) idParam(c *column, id string) (any, bool) {
	switch c.kind {
	case kInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
		return n, err == nil
	case kUUID:
		_, err := uuid.Parse(id)
		return id, err == nil
	}
	return id, true
}
