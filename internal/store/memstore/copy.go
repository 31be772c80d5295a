package memstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/store"
)

// Values are normalised on the way in to what a JSON round trip through a
// persistent store gives back (see store.Record), so that engine tests on
// the memory store see the same types as production on SQLite. What is
// stored is then only nil, bool, string, float64, int64, []any and
// map[string]any, and copying out is a plain deep copy.

const maxExactInt = 1 << 53

var errBadFloat = errors.New("NaN or infinite number cannot be stored")

// normFields normalises and copies a map of values; nil becomes empty.
func normFields(m map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		nv, err := normValue(v)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		out[validUTF8(k)] = nv
	}
	return out, nil
}

func normValue(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return validUTF8(x), nil
	case bool:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, errBadFloat
		}
		return x, nil
	case float32:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, errBadFloat
		}
		// JSON writes a float32 in its shortest 32-bit form.
		f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
		return f, nil
	case int:
		return normInt(int64(x)), nil
	case int8:
		return normInt(int64(x)), nil
	case int16:
		return normInt(int64(x)), nil
	case int32:
		return normInt(int64(x)), nil
	case int64:
		return normInt(x), nil
	case uint:
		return normUint(uint64(x)), nil
	case uint8:
		return normUint(uint64(x)), nil
	case uint16:
		return normUint(uint64(x)), nil
	case uint32:
		return normUint(uint64(x)), nil
	case uint64:
		return normUint(x), nil
	case json.Number:
		return normNumber(string(x))
	case map[string]any:
		return normFields(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			ne, err := normValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = ne
		}
		return out, nil
	}
	// Anything else is stored as encoding/json writes it.
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(enc))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return normValue(generic)
}

func normInt(n int64) any {
	if n > maxExactInt || n < -maxExactInt {
		return n
	}
	return float64(n)
}

func normUint(n uint64) any {
	if n > math.MaxInt64 {
		return float64(n)
	}
	return normInt(int64(n))
}

// normNumber applies the store's number rule to a JSON number literal.
func normNumber(text string) (any, error) {
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return normInt(n), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("invalid number %q", text)
	}
	return f, nil
}

// validUTF8 replaces each invalid byte by U+FFFD, as a JSON encoder does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// normTime is a time as a store keeps it: UTC, nanosecond unix time, zero
// for the zero time (and for the unix epoch, which shares its encoding).
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	n := t.UnixNano()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func normTimes(m map[string]time.Time) map[string]time.Time {
	out := make(map[string]time.Time, len(m))
	for k, t := range m {
		out[validUTF8(k)] = normTime(t)
	}
	return out
}

func cloneTimes(m map[string]time.Time) map[string]time.Time {
	out := make(map[string]time.Time, len(m))
	for k, t := range m {
		out[k] = t
	}
	return out
}

func normProv(m map[string]store.Provenance) map[string]store.Provenance {
	out := make(map[string]store.Provenance, len(m))
	for k, p := range m {
		p.System, p.Datatype, p.ID = validUTF8(p.System), validUTF8(p.Datatype), validUTF8(p.ID)
		p.Time = normTime(p.Time)
		out[validUTF8(k)] = p
	}
	return out
}

func cloneProv(m map[string]store.Provenance) map[string]store.Provenance {
	out := make(map[string]store.Provenance, len(m))
	for k, p := range m {
		out[k] = p
	}
	return out
}

// normRecord copies r for storage, content columns only normalised; the
// caller sets the key and link columns it owns.
func normRecord(r store.Record) (store.Record, error) {
	var err error
	if r.Fields, err = normFields(r.Fields); err != nil {
		return r, fmt.Errorf("record %s: %w", r.ID, err)
	}
	r.FieldTimes = normTimes(r.FieldTimes)
	r.Modified = normTime(r.Modified)
	return r, nil
}

func cloneRecord(r *store.Record) store.Record {
	c := *r
	c.Fields = connector.CloneFields(r.Fields)
	c.FieldTimes = cloneTimes(r.FieldTimes)
	return c
}

func normGolden(g store.Golden) (store.Golden, error) {
	var err error
	if g.Props, err = normFields(g.Props); err != nil {
		return g, fmt.Errorf("golden %s: %w", g.ID, err)
	}
	g.Prov = normProv(g.Prov)
	g.Updated = normTime(g.Updated)
	return g, nil
}

func cloneGolden(g *store.Golden) store.Golden {
	c := *g
	c.Props = connector.CloneFields(g.Props)
	c.Prov = cloneProv(g.Prov)
	return c
}

func normEvent(e store.Event, now time.Time) (store.Event, error) {
	if e.At.IsZero() {
		e.At = now
	}
	e.At = normTime(e.At)
	if len(e.Props) == 0 {
		e.Props = nil
		return e, nil
	}
	props := make([]store.PropDecision, len(e.Props))
	for i, p := range e.Props {
		v, err := normValue(p.Value)
		if err != nil {
			return e, fmt.Errorf("decision %q: %w", p.Property, err)
		}
		p.Value = v
		p.Property, p.Outcome, p.Reason = validUTF8(p.Property), validUTF8(p.Outcome), validUTF8(p.Reason)
		props[i] = p
	}
	e.Props = props
	return e, nil
}

func cloneEvent(e store.Event) store.Event {
	if e.Props != nil {
		props := make([]store.PropDecision, len(e.Props))
		for i, p := range e.Props {
			p.Value = connector.CloneValue(p.Value)
			props[i] = p
		}
		e.Props = props
	}
	return e
}

func normDeadLetter(d store.DeadLetter) store.DeadLetter {
	d.First = normTime(d.First)
	d.Last = normTime(d.Last)
	return d
}
