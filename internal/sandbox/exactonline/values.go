package exactonline

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// edmType is the OData (EDM) type of a property or a literal. Values of each
// type are held in one Go type: String and Guid as string (guids in lower
// case), Int32 and Int64 as int64, Double as float64, Boolean as bool,
// DateTime as time.Time. A missing value is nil.
type edmType int

const (
	edmString edmType = iota + 1
	edmGuid
	edmInt32
	edmInt64
	edmDouble
	edmBool
	edmDateTime
	edmNull // the type of the literal null only
)

func (t edmType) String() string {
	switch t {
	case edmString:
		return "Edm.String"
	case edmGuid:
		return "Edm.Guid"
	case edmInt32:
		return "Edm.Int32"
	case edmInt64:
		return "Edm.Int64"
	case edmDouble:
		return "Edm.Double"
	case edmBool:
		return "Edm.Boolean"
	case edmDateTime:
		return "Edm.DateTime"
	case edmNull:
		return "null"
	}
	return "Edm.Unknown"
}

func (t edmType) numeric() bool { return t == edmInt32 || t == edmInt64 || t == edmDouble }

// parseGUID accepts the 8-4-4-4-12 hex form in any case, optionally in
// braces, and returns it in lower case.
func parseGUID(s string) (string, bool) {
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !isHex(c) {
				return "", false
			}
		}
	}
	return strings.ToLower(s), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// newGUID draws a version-4 style guid from r, so that a seeded server hands
// out the same ids run after run.
func newGUID(r *rand.Rand) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0x0f])
	}
	return string(out)
}

// Dates. Exact Online works in Dutch local time: a DateTime is read as
// "/Date(ms)/" where ms counts milliseconds to the wall-clock time in the
// Netherlands as if that were UTC. A value written without a zone is Dutch
// local time. The sandbox keeps instants (time.Time) and converts at the edge
// with the server's location.

// formatDate renders t the way Exact reads it out: "/Date(ms)/" of the
// wall-clock time in loc. With offset, it renders the WCF form
// "/Date(ms+hhmm)/" instead, where ms is the true UTC instant and the suffix
// the zone offset of loc at that instant.
func formatDate(t time.Time, loc *time.Location, offset bool) string {
	local := t.In(loc)
	_, off := local.Zone()
	if offset {
		sign := '+'
		o := off
		if o < 0 {
			sign, o = '-', -o
		}
		return fmt.Sprintf("/Date(%d%c%02d%02d)/", t.UnixMilli(), sign, o/3600, o/60%60)
	}
	return fmt.Sprintf("/Date(%d)/", t.UnixMilli()+int64(off)*1000)
}

var zonedLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
}

var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseDate reads a DateTime as a client may write it: ISO-8601 with or
// without a zone (without one it is local time in loc), or the "/Date(ms)/"
// form Exact reads out (wall-clock ms in loc), or "/Date(ms±hhmm)/" (UTC ms
// with an informative offset).
func parseDate(s string, loc *time.Location) (time.Time, error) {
	t, err := parseAnyDate(s, loc)
	if err != nil {
		return t, err
	}
	if t.Before(minDate) || t.After(maxDate) {
		return time.Time{}, fmt.Errorf("%q is outside the dates Exact stores (1753 to 9999)", s)
	}
	return t, nil
}

// The range of SQL Server's datetime, which Exact stores dates in.
var (
	minDate = time.Date(1753, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDate = time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC)
)

func parseAnyDate(s string, loc *time.Location) (time.Time, error) {
	if strings.HasPrefix(s, "/Date(") && strings.HasSuffix(s, ")/") {
		return parseWCFDate(s[len("/Date("):len(s)-2], loc)
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date: use ISO-8601 (2006-01-02T15:04:05) or /Date(ms)/", s)
}

func parseWCFDate(body string, loc *time.Location) (time.Time, error) {
	digits := body
	suffix := false
	if i := strings.LastIndexAny(body, "+-"); i > 0 {
		digits, suffix = body[:i], true
		off := body[i+1:]
		if len(off) != 4 || strings.Trim(off, "0123456789") != "" {
			return time.Time{}, fmt.Errorf("/Date(%s)/ has a malformed offset: want ±hhmm", body)
		}
	}
	ms, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("/Date(%s)/ does not hold milliseconds since 1970", body)
	}
	if suffix {
		return time.UnixMilli(ms).UTC(), nil
	}
	// Wall-clock milliseconds: read them as a UTC wall clock and place that
	// wall clock in the local zone.
	w := time.UnixMilli(ms).UTC()
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc), nil
}

// coerce turns a JSON-decoded value (numbers as json.Number) or a Go value
// given to Put into the Go type that holds typ, or says why it cannot.
func coerce(typ edmType, v any, loc *time.Location) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case edmString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case edmGuid:
		if s, ok := v.(string); ok {
			if g, ok := parseGUID(s); ok {
				return g, nil
			}
			return nil, fmt.Errorf("%q is not a guid", s)
		}
	case edmInt32, edmInt64:
		n, err := toInt(v)
		if err != nil {
			return nil, err
		}
		if typ == edmInt32 && (n < math.MinInt32 || n > math.MaxInt32) {
			return nil, fmt.Errorf("%d is out of range for Edm.Int32", n)
		}
		return n, nil
	case edmDouble:
		return toFloat(v)
	case edmBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case edmDateTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			t, err := parseDate(x, loc)
			return t.UTC(), err
		}
	}
	return nil, fmt.Errorf("a %s cannot hold %s", typ, describe(v))
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case json.Number:
		return "the number " + x.String()
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

var errNotNumber = errors.New("not a number")

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(x.String(), 64)
		if err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
		return 0, fmt.Errorf("%s is not a whole number", x)
	case string: // OData v2 writes Int64 as a string
		n, err := strconv.ParseInt(strings.TrimSuffix(x, "L"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a whole number", x)
		}
		return n, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
		return 0, fmt.Errorf("%v is not a whole number", x)
	}
	return 0, fmt.Errorf("%s is %w", describe(v), errNotNumber)
}

func toFloat(v any) (float64, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string: // OData v2 writes Decimal as a string
		s = x
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	default:
		return 0, fmt.Errorf("%s is %w", describe(v), errNotNumber)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is %w", s, errNotNumber)
	}
	return f, nil
}

// jsonValue renders a held value of typ as JSON the way Exact writes it.
func (s *Server) jsonValue(typ edmType, v any) []byte {
	if v == nil {
		return []byte("null")
	}
	switch typ {
	case edmDateTime:
		if t, ok := v.(time.Time); ok {
			return []byte(strconv.Quote(formatDate(t, s.loc, s.opts.DateOffsetSuffix)))
		}
	case edmInt32, edmInt64:
		if n, ok := v.(int64); ok {
			return strconv.AppendInt(nil, n, 10)
		}
	case edmDouble:
		if f, ok := v.(float64); ok {
			return strconv.AppendFloat(nil, f, 'f', -1, 64)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func mustAmsterdam() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		// time/tzdata is linked in (see doc.go), so this cannot happen;
		// a fixed CET keeps the server usable if it ever does.
		return time.FixedZone("CET", 3600)
	}
	return loc
}
