package rest

import (
	"bytes"
	"encoding/json"
	"math/big"
	"os"
	"reflect"
	"strconv"
	"testing"

	"go.yaml.in/yaml/v3"
)

// sameNumber tells whether a decoded value holds the number lit exactly.
func sameNumber(lit json.Number, v any) bool {
	want, ok := new(big.Rat).SetString(string(lit))
	if !ok {
		return false
	}
	var text string
	switch x := v.(type) {
	case float64:
		text = strconv.FormatFloat(x, 'g', -1, 64)
	case json.Number:
		text = string(x)
	default:
		return false
	}
	got, ok := new(big.Rat).SetString(text)
	return ok && got.Cmp(want) == 0
}

// sameValues walks a document decoded with UseNumber (ref) and the
// connector's reading of it side by side.
func sameValues(ref, got any) bool {
	switch r := ref.(type) {
	case json.Number:
		return sameNumber(r, got)
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(r) {
			return false
		}
		for k, v := range r {
			if !sameValues(v, g[k]) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(r) {
			return false
		}
		for i := range r {
			if !sameValues(r[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(ref, got)
}

// A JSON document read by the connector and written back holds the same
// values: every number the same number, exactly, and reading the written
// document again gives what was read.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":17,"price":"12.50","amount":12.5,"qty":12.50,"rate":0.1}`,
		`{"id":12345678901234567890,"x":0.12345678901234567890,"e":1e400,"n":-0,"big":1.7976931348623157e308}`,
		`[{"line_no":1,"qty":2,"lines":[{"a":null,"b":true}]}]`,
		`{"a":{"b":{"c":[1,2,3.25,"x"]}}}`, `3`, `"text"`, `null`, `{} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeJSON(data)
		if err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var ref any
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("decodeJSON took %q, encoding/json does not: %v", data, err)
		}
		if !sameValues(ref, v) {
			t.Fatalf("%q read as %#v", data, v)
		}
		out, err := encodeJSON(v)
		if err != nil {
			t.Fatalf("%q: encode %#v: %v", data, v, err)
		}
		again, err := decodeJSON(out)
		if err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("%q written as %s, read again as %#v (%v), first read %#v", data, out, again, err, v)
		}
	})
}

// Any settings block is either refused with an error or gives a complete
// configuration; none makes ParseSettings panic.
func FuzzParseSettings(f *testing.F) {
	for _, name := range []string{"testdata/webshop.yaml", "testdata/erp.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var doc struct {
			Systems map[string]struct {
				Settings yaml.Node `yaml:"settings"`
			} `yaml:"systems"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			f.Fatal(err)
		}
		for _, s := range doc.Systems {
			b, _ := yaml.Marshal(&s.Settings)
			f.Add(b)
		}
	}
	f.Add([]byte("base_url: http://x\nauth: {type: none}\ndatatypes: {a: {paging: {style: cursor}}, b: false, c: {get: false, update: {full: true}}}"))
	f.Add([]byte("base_url: http://x\nauth: {type: oauth2_client_credentials}\ndefaults: {list: {records: /a~1b/0}}\ndatatypes: {x: null}"))
	env := func(k string) (string, bool) { return "secret", k != "" }
	f.Fuzz(func(t *testing.T, data []byte) {
		var settings map[string]any
		if yaml.Unmarshal(data, &settings) != nil {
			return
		}
		cfg, err := ParseSettings("fuzz", settings, env)
		if err != nil {
			return
		}
		if cfg.BaseURL == nil || len(cfg.Datatypes) == 0 {
			t.Fatalf("accepted without a base URL or datatypes: %+v", cfg)
		}
		for name, d := range cfg.Datatypes {
			if d.IDField.isRoot() || d.ListPath == "" || d.Paging.Style == "" || d.Changes.Style == "" {
				t.Fatalf("datatype %s accepted incomplete: %+v", name, d)
			}
		}
	})
}

// Link headers of any shape are read without a panic, and a next link is
// found where one is.
func FuzzNextLink(f *testing.F) {
	f.Add(`<https://x/a?page=2>; rel="next", <https://x/a?page=9>; rel="last"`)
	f.Add(`<https://x/a?q=a,b>; rel="prev next"; title="a, b"`)
	f.Add(`<>; rel=next`)
	f.Fuzz(func(t *testing.T, header string) {
		got := nextLink([]string{header})
		if got != "" && !bytes.Contains([]byte(header), []byte(got)) {
			t.Fatalf("next link %q is not in %q", got, header)
		}
	})
}

func TestNextLink(t *testing.T) {
	for _, tc := range []struct{ header, want string }{
		{`<https://x/a?page=2>; rel="next", <https://x/a?page=9>; rel="last"`, "https://x/a?page=2"},
		{`<https://x/a?page=9>; rel="last", <https://x/a?q=a,b>; rel="prev next"`, "https://x/a?q=a,b"},
		{`<https://x/a?page=1>; rel="prev"`, ""},
		{`<https://x/b>; title="next, please"; rel=next`, "https://x/b"},
	} {
		if got := nextLink([]string{tc.header}); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.header, got, tc.want)
		}
	}
}

func TestNumbersKeepTheirValue(t *testing.T) {
	for _, tc := range []struct {
		lit  string
		want any
	}{
		{"17", 17.0}, {"12.50", 12.5}, {"0.1", 0.1}, {"-0", 0.0}, {"1e3", 1000.0},
		{"9007199254740993", json.Number("9007199254740993")},
		{"12345678901234567890", json.Number("12345678901234567890")},
		{"0.12345678901234567890", json.Number("0.12345678901234567890")},
		{"1e400", json.Number("1e400")},
	} {
		if got := number(json.Number(tc.lit)); got != tc.want {
			t.Errorf("%s: %#v, want %#v", tc.lit, got, tc.want)
		}
	}
}

func TestPaths(t *testing.T) {
	doc := map[string]any{"links": map[string]any{"next": "u"}, "a.b": map[string]any{"c/d": []any{"x", "y"}}}
	for _, tc := range []struct {
		path string
		want any
		ok   bool
	}{
		{"links.next", "u", true}, {"/links/next", "u", true}, {"/a.b/c~1d/1", "y", true},
		{"links.prev", nil, false}, {"links.next.x", nil, false}, {"/a.b/c~1d/2", nil, false},
	} {
		p, err := parsePath(tc.path, "")
		if err != nil {
			t.Fatal(err)
		}
		got, ok := p.get(doc)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: %v %v, want %v %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
	if p, _ := parsePath(".", ""); !p.isRoot() {
		t.Error(`"." is not the document`)
	}
	if _, err := parsePath("a..b", "x"); err == nil {
		t.Error(`"a..b" accepted`)
	}
}
