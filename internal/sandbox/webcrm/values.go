package webcrm

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Stored values are string, int64, float64, bool and time.Time (an instant
// at second resolution, in UTC). An absent key is the field's zero value.

// timeLayout is how the API writes date-times: no offset, no fraction, in
// the sandbox's time zone.
const timeLayout = "2006-01-02T15:04:05"

// zeroTimeText is how an unset date-time is written (the service's
// platform has no null date-times).
const zeroTimeText = "0001-01-01T00:00:00"

var errNotValue = errors.New("not a value")

// zeroValue is the value a field has when it is unset.
func zeroValue(f *field) any {
	switch f.kind {
	case kindInt:
		return int64(0)
	case kindFloat:
		return float64(0)
	case kindBool:
		return false
	case kindTime:
		return time.Time{}
	case kindEnum:
		return f.enum[0]
	}
	return ""
}

// convert turns a value from a JSON body (decoded with UseNumber) or from a
// Go caller into the stored form of f. It is strict: a text is not a
// number, a number is not a text. nil clears the field.
func convert(f *field, v any, loc *time.Location) (any, error) {
	if v == nil {
		if f.nonEmpty {
			return "", nil
		}
		return zeroValue(f), nil
	}
	switch f.kind {
	case kindString:
		s, ok := v.(string)
		if !ok {
			return nil, typeError(f, v)
		}
		if f.nonEmpty && s == "" {
			return nil, fmt.Errorf("%s may not be empty; leave it out instead", f.name)
		}
		if f.maxLen > 0 && utf8.RuneCountInString(s) > f.maxLen {
			return nil, fmt.Errorf("%s is longer than %d characters", f.name, f.maxLen)
		}
		return s, nil
	case kindEnum:
		s, ok := v.(string)
		if !ok {
			return nil, typeError(f, v)
		}
		for _, e := range f.enum {
			if strings.EqualFold(e, s) {
				return e, nil
			}
		}
		return nil, fmt.Errorf("%s must be one of %s, not %q", f.name, strings.Join(f.enum, ", "), s)
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return nil, typeError(f, v)
		}
		return b, nil
	case kindInt:
		n, err := toFloat(v)
		if err != nil {
			return nil, numberError(f, v, err)
		}
		if n != math.Trunc(n) {
			return nil, fmt.Errorf("%s must be a whole number, not %v", f.name, n)
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return nil, fmt.Errorf("%s is outside the 32-bit integer range", f.name)
		}
		return int64(n), nil
	case kindFloat:
		n, err := toFloat(v)
		if err != nil {
			return nil, numberError(f, v, err)
		}
		return n, nil
	case kindTime:
		switch t := v.(type) {
		case time.Time:
			return storeTime(t), nil
		case string:
			if t == "" {
				return time.Time{}, nil
			}
			p, err := parseTime(t, loc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
			return p, nil
		}
		return nil, typeError(f, v)
	}
	return nil, fmt.Errorf("%s: unknown field kind", f.name)
}

func typeError(f *field, v any) error {
	return fmt.Errorf("%s must be %s, not %s", f.name, f.kind, jsonType(v))
}

func numberError(f *field, v any, err error) error {
	if err == errNotValue {
		return typeError(f, v)
	}
	return fmt.Errorf("%s: %v is out of range", f.name, v)
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a text"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int32, int64, uint, uint32, uint64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

func toFloat(v any) (float64, error) {
	switch n := v.(type) {
	case json.Number:
		return n.Float64()
	case float64:
		return n, nil
	case float32:
		return float64(n), nil
	case int:
		return float64(n), nil
	case int32:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case uint:
		return float64(n), nil
	case uint32:
		return float64(n), nil
	case uint64:
		return float64(n), nil
	}
	return 0, errNotValue
}

// storeTime brings an instant to the stored form: UTC, whole seconds.
func storeTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Second).UTC()
}

var (
	layoutsWithOffset = []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05Z07:00"}
	layoutsLocal      = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}
)

// parseTime reads a date-time text. One without an offset is a wall-clock
// time in loc, the sandbox's time zone.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range layoutsWithOffset {
		if t, err := time.Parse(l, s); err == nil {
			return storeTime(t), nil
		}
	}
	for _, l := range layoutsLocal {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return storeTime(t), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date-time (want e.g. 2024-01-02T10:11:12)", s)
}

// formatTime writes an instant as the API does: wall-clock time in loc,
// without offset.
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return zeroTimeText
	}
	return t.In(loc).Format(timeLayout)
}

// appendValue writes a stored value as JSON.
func appendValue(b []byte, f *field, v any, loc *time.Location) []byte {
	if v == nil {
		v = zeroValue(f)
	}
	switch x := v.(type) {
	case string:
		return appendString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return append(b, '0')
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		return appendString(b, formatTime(x, loc))
	}
	return append(b, "null"...)
}

// goValue is a stored value as the Go helpers hand it out: int, float64,
// string, bool, and date-times as the API's text.
func goValue(v any, loc *time.Location) any {
	switch x := v.(type) {
	case int64:
		return int(x)
	case time.Time:
		return formatTime(x, loc)
	}
	return v
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
