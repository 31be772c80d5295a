package sqlite

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/concordsync/concord/internal/store"
)

// The codec turns the store's maps into JSON text and back. It is
// hand-written because encoding and decoding record fields is most of the
// CPU a batch commit or a page read costs, and encoding/json's reflection is
// three to five times slower for these small maps of plain values.
//
// Numbers follow the rule documented on store.Record: they come back as
// float64, except integers beyond ±2^53 that fit an int64, which come back as
// int64 so that large integer ids keep every digit.

// maxExactInt is the largest integer magnitude a float64 holds exactly.
const maxExactInt = 1 << 53

// errBadFloat is returned for NaN and infinities, which JSON cannot hold.
var errBadFloat = errors.New("NaN or infinite number cannot be stored")

// nanos is how a time is stored: UTC unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos; times come back in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// appendFields appends m as a JSON object. A nil map is stored as {}.
func appendFields(b []byte, m map[string]any) ([]byte, error) {
	b = append(b, '{')
	first := true
	for k, v := range m {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, v); err != nil {
			return b, fmt.Errorf("field %q: %w", k, err)
		}
	}
	return append(b, '}'), nil
}

// appendValue appends one JSON-like value. Types outside the fast set go
// through encoding/json so that anything it can encode can be stored.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return b, errBadFloat
		}
		return appendFloat(b, x, 64), nil
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return b, errBadFloat
		}
		return appendFloat(b, float64(x), 32), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return b, fmt.Errorf("invalid number %q", string(x))
		}
		return append(b, x...), nil
	case map[string]any:
		return appendFields(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, enc...), nil
}

// appendFloat writes the shortest representation that parses back to f. A
// float that happens to be integral is written as such; it decodes to a
// float64 again because it is within ±2^53 or written with an exponent.
func appendFloat(b []byte, f float64, bits int) []byte {
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// with encoding/json.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendTimes appends a map of times grouped by time, as
// {"<unix nanoseconds>": ["field", ...], ...}: most fields of a version share
// the version's time, so this is a third of the size of one entry per field
// and keeps record rows small.
func appendTimes(b []byte, m map[string]time.Time) []byte {
	b = append(b, '{')
	if len(m) == 0 {
		return append(b, '}')
	}
	// Few distinct times: group with a small slice, not a map.
	type group struct {
		at     int64
		fields []string
	}
	var groups []group
	for k, t := range m {
		n := nanos(t)
		i := 0
		for i < len(groups) && groups[i].at != n {
			i++
		}
		if i == len(groups) {
			groups = append(groups, group{at: n})
		}
		groups[i].fields = append(groups[i].fields, k)
	}
	for i, g := range groups {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = strconv.AppendInt(b, g.at, 10)
		b = append(b, '"', ':', '[')
		for j, f := range g.fields {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendProv appends provenance grouped by source record, as
// [{"system", "datatype", "id", "time", "props": [...]}, ...]: a golden
// record's properties mostly come from one or two records.
func appendProv(b []byte, m map[string]store.Provenance) []byte {
	b = append(b, '[')
	if len(m) == 0 {
		return append(b, ']')
	}
	type group struct {
		src   store.Provenance
		props []string
	}
	var groups []group
	for k, p := range m {
		p.Time = time.Unix(0, nanos(p.Time)) // compare instants, not zones
		i := 0
		for i < len(groups) && groups[i].src != p {
			i++
		}
		if i == len(groups) {
			groups = append(groups, group{src: p})
		}
		groups[i].props = append(groups[i].props, k)
	}
	for i, g := range groups {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"system":`...)
		b = appendString(b, g.src.System)
		b = append(b, `,"datatype":`...)
		b = appendString(b, g.src.Datatype)
		b = append(b, `,"id":`...)
		b = appendString(b, g.src.ID)
		b = append(b, `,"time":`...)
		b = strconv.AppendInt(b, g.src.Time.UnixNano(), 10)
		b = append(b, `,"props":[`...)
		for j, p := range g.props {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, p)
		}
		b = append(b, "]}"...)
	}
	return append(b, ']')
}

// appendDecisions appends an event's property decisions as
// [["property", value, "outcome", "reason"], ...], positional because events
// are the largest rows a merge writes and names would double their size; an
// empty list is stored as the empty string.
func appendDecisions(b []byte, ds []store.PropDecision) ([]byte, error) {
	if len(ds) == 0 {
		return b, nil
	}
	b = append(b, '[')
	for i, d := range ds {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendString(b, d.Property)
		b = append(b, ',')
		var err error
		if b, err = appendValue(b, d.Value); err != nil {
			return b, fmt.Errorf("decision %q: %w", d.Property, err)
		}
		b = append(b, ',')
		b = appendString(b, d.Outcome)
		b = append(b, ',')
		b = appendString(b, d.Reason)
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// decoder reads the JSON text the encoder above writes, and any other valid
// JSON. It keeps the first error and turns every later read into a no-op.
type decoder struct {
	s   string
	i   int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("invalid JSON at offset %d: "+format, append([]any{d.i}, args...)...)
	}
	d.i = len(d.s)
}

func (d *decoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// expect consumes c after optional white space.
func (d *decoder) expect(c byte) {
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return
	}
	d.fail("expected %q", c)
}

// peek returns the next non-space byte, 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// end fails unless only white space is left.
func (d *decoder) end() error {
	d.ws()
	if d.err == nil && d.i != len(d.s) {
		d.fail("trailing data")
	}
	return d.err
}

// object calls fn for each member; fn must consume the member's value.
func (d *decoder) object(fn func(key string)) {
	d.expect('{')
	if d.peek() == '}' {
		d.i++
		return
	}
	for d.err == nil {
		key := d.str()
		d.expect(':')
		fn(key)
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return
		default:
			d.fail("expected ',' or '}'")
		}
	}
}

// array calls fn for each element; fn must consume the element.
func (d *decoder) array(fn func()) {
	d.expect('[')
	if d.peek() == ']' {
		d.i++
		return
	}
	for d.err == nil {
		fn()
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return
		default:
			d.fail("expected ',' or ']'")
		}
	}
}

func (d *decoder) value() any {
	switch c := d.peek(); {
	case c == '{':
		m := make(map[string]any)
		d.object(func(k string) { m[k] = d.value() })
		return m
	case c == '[':
		a := []any{}
		d.array(func() { a = append(a, d.value()) })
		return a
	case c == '"':
		return d.str()
	case c == 't':
		d.literal("true")
		return true
	case c == 'f':
		d.literal("false")
		return false
	case c == 'n':
		d.literal("null")
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	default:
		d.fail("unexpected %q", c)
		return nil
	}
}

func (d *decoder) literal(lit string) {
	if len(d.s)-d.i >= len(lit) && d.s[d.i:d.i+len(lit)] == lit {
		d.i += len(lit)
		return
	}
	d.fail("expected %s", lit)
}

// numberText consumes a JSON number and reports whether it is an integer
// literal (no fraction, no exponent).
func (d *decoder) numberText() (string, bool) {
	d.ws()
	start := d.i
	integer := true
	if d.i < len(d.s) && d.s[d.i] == '-' {
		d.i++
	}
	digits := d.digits()
	if digits == 0 || (digits > 1 && d.s[d.i-digits] == '0') {
		d.fail("malformed number")
		return "", false
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		integer = false
		d.i++
		if d.digits() == 0 {
			d.fail("malformed number")
			return "", false
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		integer = false
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			d.fail("malformed number")
			return "", false
		}
	}
	return d.s[start:d.i], integer
}

func (d *decoder) digits() int {
	n := 0
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// number decodes a number by the store's rule: float64, except integers
// beyond ±2^53 that fit an int64.
func (d *decoder) number() any {
	text, integer := d.numberText()
	if d.err != nil {
		return nil
	}
	if integer {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			if n > maxExactInt || n < -maxExactInt {
				return n
			}
			return float64(n)
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		// Only a magnitude beyond float64 gets here; JSON cannot say more.
		d.fail("number %s out of range", text)
		return nil
	}
	return f
}

// int64 decodes an integer written by strconv.AppendInt.
func (d *decoder) int64() int64 {
	text, integer := d.numberText()
	if d.err != nil {
		return 0
	}
	if !integer {
		d.fail("expected an integer")
		return 0
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		d.fail("integer %s out of range", text)
	}
	return n
}

func (d *decoder) str() string {
	d.ws()
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		d.fail("expected a string")
		return ""
	}
	d.i++
	start := d.i
	// Fast path: no escapes.
	for d.i < len(d.s) {
		c := d.s[d.i]
		if c == '"' {
			s := d.s[start:d.i]
			d.i++
			return s
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			d.fail("control character in string")
			return ""
		}
		d.i++
	}
	buf := []byte(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return string(buf)
		case c < 0x20:
			d.fail("control character in string")
			return ""
		case c != '\\':
			buf = append(buf, c)
			d.i++
			continue
		}
		d.i++
		if d.i >= len(d.s) {
			break
		}
		e := d.s[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r := d.hex4()
			if r >= 0xD800 && r < 0xDC00 {
				// A high surrogate must be followed by a low one; a lone
				// surrogate becomes U+FFFD as with encoding/json.
				if len(d.s)-d.i >= 6 && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					lo := d.hex4()
					if lo >= 0xDC00 && lo < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					} else {
						d.i = save
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
		default:
			d.fail("invalid escape \\%c", e)
			return ""
		}
	}
	d.fail("unterminated string")
	return ""
}

func (d *decoder) hex4() rune {
	if len(d.s)-d.i < 4 {
		d.fail("short \\u escape")
		return 0
	}
	var r rune
	for _, c := range []byte(d.s[d.i : d.i+4]) {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			d.fail("invalid \\u escape")
			return 0
		}
	}
	d.i += 4
	return r
}

// sizeHint bounds the member count of the JSON object s from above, so that
// decoding does not grow the map several times: a map of more than eight
// entries that grows rehashes everything, and record maps have a dozen.
func sizeHint(s string) int {
	return min(strings.Count(s, ",")+1, 256)
}

// decodeFields decodes a JSON object of values.
func decodeFields(s string) (map[string]any, error) {
	d := decoder{s: s}
	m := make(map[string]any, sizeHint(s))
	d.object(func(k string) { m[k] = d.value() })
	if err := d.end(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeTimes decodes what appendTimes wrote.
func decodeTimes(s string) (map[string]time.Time, error) {
	d := decoder{s: s}
	m := make(map[string]time.Time, sizeHint(s))
	d.object(func(k string) {
		n, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			d.fail("time %q is not unix nanoseconds", k)
			return
		}
		t := fromNanos(n)
		d.array(func() { m[d.str()] = t })
	})
	if err := d.end(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeProv decodes what appendProv wrote.
func decodeProv(s string) (map[string]store.Provenance, error) {
	d := decoder{s: s}
	m := make(map[string]store.Provenance, sizeHint(s))
	d.array(func() {
		var p store.Provenance
		var props []string
		d.object(func(k string) {
			switch k {
			case "system":
				p.System = d.str()
			case "datatype":
				p.Datatype = d.str()
			case "id":
				p.ID = d.str()
			case "time":
				p.Time = fromNanos(d.int64())
			case "props":
				d.array(func() { props = append(props, d.str()) })
			default:
				d.value()
			}
		})
		for _, prop := range props {
			m[prop] = p
		}
	})
	if err := d.end(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeDecisions decodes what appendDecisions wrote.
func decodeDecisions(s string) ([]store.PropDecision, error) {
	if s == "" {
		return nil, nil
	}
	d := decoder{s: s}
	var ds []store.PropDecision
	d.array(func() {
		var p store.PropDecision
		i := 0
		d.array(func() {
			switch i {
			case 0:
				p.Property = d.str()
			case 1:
				p.Value = d.value()
			case 2:
				p.Outcome = d.str()
			case 3:
				p.Reason = d.str()
			default:
				d.value()
			}
			i++
		})
		ds = append(ds, p)
	})
	if err := d.end(); err != nil {
		return nil, err
	}
	return ds, nil
}
