package sqlite

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/concordsync/concord/internal/store"
)

// reference decodes with encoding/json and applies the store's number rule.
// A number beyond float64 is an error: the store cannot hold it.
func reference(s string) (map[string]any, error) {
	if !json.Valid([]byte(s)) {
		return nil, strconv.ErrSyntax
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	v, err := normNumbers(m)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

func normNumbers(v any) (any, error) {
	var err error
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			if n > maxExactInt || n < -maxExactInt {
				return n, nil
			}
			return float64(n), nil
		}
		return strconv.ParseFloat(string(x), 64)
	case map[string]any:
		for k, e := range x {
			if x[k], err = normNumbers(e); err != nil {
				return nil, err
			}
		}
	case []any:
		for i, e := range x {
			if x[i], err = normNumbers(e); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

var codecSeeds = []string{
	`{}`,
	` { "a" : 1 , "b":[ ] ,"c":{}} `,
	`{"s":"plain","e":"q\"b\\s\/n\nr\rt\tb\bf\f","u":"\u00e9\u20ac\ud83d\ude00","lone":"\ud800x","low":"\udc00"}`,
	`{"n":[0,-0,1.5,-2e3,1E-7,9007199254740993,-9223372036854775808,18446744073709551616,1e308]}`,
	`{"t":true,"f":false,"z":null,"nested":{"l":[[1],[{"x":"y"}]]}}`,
	`{"dup":1,"dup":2}`,
	`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":.5}`, `{"a":1e}`, `{"a":"x}`, `{"a":tru}`, `{"a" 1}`, `{"a":1,}`,
	`{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `[1]`, `{"a":1}x`, `{"a":1e400}`,
}

func FuzzDecodeFields(f *testing.F) {
	for _, s := range codecSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := decodeFields(s)
		if !utf8.ValidString(s) {
			return // encoding/json rewrites invalid UTF-8; we only must not panic
		}
		want, werr := reference(s)
		if (err == nil) != (werr == nil) {
			t.Fatalf("decodeFields(%q) err = %v, encoding/json err = %v", s, err, werr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeFields(%q)\n got %#v\nwant %#v", s, got, want)
		}
		// What was decoded encodes to text that decodes to the same.
		enc, err := appendFields(nil, got)
		if err != nil {
			t.Fatalf("appendFields(%#v): %v", got, err)
		}
		if !json.Valid(enc) {
			t.Fatalf("appendFields wrote invalid JSON %q", enc)
		}
		again, err := decodeFields(string(enc))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip of %q via %q: %#v, %v", s, enc, again, err)
		}
	})
}

func FuzzEncodeString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\/\n\r\t\x00\x1f", "é€😀", "\xff\xfe", "a\xc3", "\u2028\u2029"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := appendString(nil, s)
		var ref string
		if err := json.Unmarshal(enc, &ref); err != nil {
			t.Fatalf("appendString(%q) = %q: not JSON: %v", s, enc, err)
		}
		d := decoder{s: string(enc)}
		got := d.str()
		if err := d.end(); err != nil {
			t.Fatalf("decode %q: %v", enc, err)
		}
		if got != ref {
			t.Fatalf("decode %q = %q, encoding/json says %q", enc, got, ref)
		}
		if utf8.ValidString(s) && got != s {
			t.Fatalf("round trip of %q = %q", s, got)
		}
	})
}

func TestTimesAndProvenanceRoundTrip(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	t1 := time.Date(2025, 1, 2, 3, 4, 5, 6, cet)
	times := map[string]time.Time{"a": t1, "zero": {}, "\"odd\"": t1.Add(time.Hour)}
	got, err := decodeTimes(string(appendTimes(nil, times)))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range times {
		if !got[k].Equal(want) || (!want.IsZero() && got[k].Location() != time.UTC) {
			t.Errorf("time %q = %v, want %v in UTC", k, got[k], want)
		}
	}
	prov := map[string]store.Provenance{"name": {System: "s", Datatype: "d", ID: "i\"1", Time: t1}, "none": {}}
	gotProv, err := decodeProv(string(appendProv(nil, prov)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]store.Provenance{"name": {System: "s", Datatype: "d", ID: "i\"1", Time: t1.UTC()}, "none": {}}
	if !reflect.DeepEqual(gotProv, want) {
		t.Errorf("provenance = %#v, want %#v", gotProv, want)
	}
}

func TestDecisionsRoundTrip(t *testing.T) {
	ds := []store.PropDecision{{Property: "p", Value: map[string]any{"x": 1.0}, Outcome: "won", Reason: "newer"}, {Property: "q"}}
	enc, err := appendDecisions(nil, ds)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeDecisions(string(enc))
	if err != nil || !reflect.DeepEqual(got, ds) {
		t.Fatalf("decisions = %#v, %v; want %#v", got, err, ds)
	}
	if enc, _ := appendDecisions(nil, nil); len(enc) != 0 {
		t.Errorf("no decisions encoded as %q, want empty", enc)
	}
}

// FuzzDecodeColumns feeds the decoders of the structured columns anything:
// they must fail cleanly on what they did not write, and what they accept
// must survive a round trip.
func FuzzDecodeColumns(f *testing.F) {
	for _, s := range []string{
		`{"1736000000000000000":["a","b"],"0":["c"]}`,
		`[{"system":"s","datatype":"d","id":"i","time":5,"props":["p","q"]}]`,
		`[["p",1,"won","newer"],["q",{"x":[true,null]},"kept",""]]`,
		`{"x":["a"]}`, `[{"time":"x"}]`, `[["p"]]`, `[[1,2,3,4,5]]`, `{}`, `[]`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			// The encoder never writes invalid UTF-8 and turns it into
			// U+FFFD; decoding it must only not panic.
			decodeTimes(s)     //nolint:errcheck
			decodeProv(s)      //nolint:errcheck
			decodeDecisions(s) //nolint:errcheck
			return
		}
		if times, err := decodeTimes(s); err == nil {
			again, err := decodeTimes(string(appendTimes(nil, times)))
			if err != nil || !reflect.DeepEqual(again, times) {
				t.Fatalf("times %q: round trip %v, %v", s, again, err)
			}
		}
		if prov, err := decodeProv(s); err == nil {
			again, err := decodeProv(string(appendProv(nil, prov)))
			if err != nil || !reflect.DeepEqual(again, prov) {
				t.Fatalf("provenance %q: round trip %v, %v", s, again, err)
			}
		}
		if ds, err := decodeDecisions(s); err == nil {
			enc, err := appendDecisions(nil, ds)
			if err != nil {
				t.Fatalf("decisions %q: encode: %v", s, err)
			}
			again, err := decodeDecisions(string(enc))
			if err != nil || !reflect.DeepEqual(again, ds) {
				t.Fatalf("decisions %q: round trip %#v, %v", s, again, err)
			}
		}
	})
}
