package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// decodeJSON reads a whole JSON document. Objects become map[string]any,
// arrays []any, texts string, true/false bool, null nil, and numbers
// float64 when a float64 holds the number's value exactly as written
// (12.5, 12.50, 17, 0.1), or json.Number, which keeps the text, when it
// would not (an id of 20 digits, an amount with more digits than a float64
// carries). So every value written back is the value the system gave:
// a text stays a text ("12.50"), a number the same number.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return normalize(v), nil
}

// normalize turns the json.Numbers of a decoded document into float64
// where that loses nothing.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case json.Number:
		return number(x)
	}
	return v
}

// number is a JSON number as float64 when that holds its value exactly,
// else as json.Number.
func number(n json.Number) any {
	s := string(n)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return n
	}
	short := strconv.FormatFloat(f, 'g', -1, 64)
	if short == s {
		return f
	}
	a, ok1 := new(big.Rat).SetString(s)
	b, ok2 := new(big.Rat).SetString(short)
	if ok1 && ok2 && a.Cmp(b) == 0 {
		return f
	}
	return n
}

// encodeJSON writes a request body.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// idText reads a record id: a text or a whole number, as text.
func idText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, strings.TrimSpace(x) != ""
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), true
		}
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// truthy tells whether a deleted marker is set: any value but null, false,
// 0 and an empty text.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return strings.TrimSpace(x) != "" && !strings.EqualFold(strings.TrimSpace(x), "false")
	case float64:
		return x != 0
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	}
	return true
}

// timeFormat is how a datatype's times are written in a change parameter
// and read from its modified field.
type timeFormat struct {
	name string         // rfc3339, unix, unix_ms, or a Go layout
	loc  *time.Location // for layouts without an offset
}

// format writes t for a request parameter. Precision beyond the format is
// cut off, which moves the time earlier: safe for an "at or after" bound.
func (f timeFormat) format(t time.Time) string {
	switch f.name {
	case "", "rfc3339":
		return t.In(f.loc).Format(time.RFC3339Nano)
	case "unix":
		return strconv.FormatInt(floorDiv(t.UnixNano(), int64(time.Second)), 10)
	case "unix_ms":
		return strconv.FormatInt(floorDiv(t.UnixNano(), int64(time.Millisecond)), 10)
	}
	return t.In(f.loc).Format(f.name)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// fallbackLayouts are tried on a modified time that is not RFC 3339.
var fallbackLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

// parse reads a modified time: RFC 3339, the configured layout, a date-time
// without offset (in the configured zone), or a number of seconds (or
// milliseconds, for the unix_ms format) since 1970.
func (f timeFormat) parse(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, true
		}
		if f.name != "" && f.name != "rfc3339" && f.name != "unix" && f.name != "unix_ms" {
			if t, err := time.ParseInLocation(f.name, s, f.loc); err == nil {
				return t, true
			}
		}
		for _, l := range fallbackLayouts {
			if t, err := time.ParseInLocation(l, s, f.loc); err == nil {
				return t, true
			}
		}
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return f.parse(n)
		}
	case float64:
		if f.name == "unix_ms" {
			return time.UnixMilli(int64(x)), true
		}
		sec, frac := math.Modf(x)
		return time.Unix(int64(sec), int64(frac*1e9)), true
	case json.Number:
		if n, err := x.Float64(); err == nil {
			return f.parse(n)
		}
	}
	return time.Time{}, false
}
