package transform

import (
	"strings"
	"testing"
	"unicode"
)

func TestExpressions(t *testing.T) {
	tests := []struct {
		src  string
		kind Kind
		vars Vars
		want any
	}{
		{"lower(value)", In, Vars{Value: "ABC"}, "abc"},
		{"trimpad(value)", In, Vars{Value: "      C1001"}, "C1001"},
		{"pad(value, 8, ' ')", Out, Vars{Value: "C1"}, "      C1"},
		{"value ?? 'none'", Out, Vars{}, "none"},
		{"record.first + ' ' + record.last", In, Vars{Record: map[string]any{"first": "Ada", "last": "Lovelace"}}, "Ada Lovelace"},
		{"golden.status in ['confirmed', 'completed']", When, Vars{Golden: map[string]any{"status": "confirmed"}}, true},
		{"empty(record.email)", Filter, Vars{Record: map[string]any{"email": "  "}}, true},
		{"vatnumber(value)", In, Vars{Value: "nl 8012.34.567-b01"}, "NL801234567B01"},
		{"vatnumber(value)", In, Vars{Value: "NL801234567B01"}, "NL801234567B01"},
		{"vatnumber(value)", In, Vars{Value: " "}, nil},
		{"vatnumber(value)", In, Vars{}, nil},
	}
	for _, tc := range tests {
		p, err := Compile(tc.src, tc.kind)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		got, err := p.Eval(tc.kind, tc.vars)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if got != tc.want {
			t.Errorf("%s = %#v, want %#v", tc.src, got, tc.want)
		}
	}
}

func TestConditionMustBeBoolean(t *testing.T) {
	if _, err := Compile("1 + 2", When); err == nil {
		t.Fatal("a condition yielding a number compiled")
	}
	p, err := Compile("golden.name", When)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Test(When, Vars{Golden: map[string]any{"name": "x"}}); err == nil {
		t.Fatal("a condition that gave a string was taken as false instead of an error")
	}
	if _, err := Compile("nosuchvar + 1", In); err == nil {
		t.Fatal("an unknown variable compiled")
	}
}

// vatnumber gives nil or a non-empty number without the separators people
// type, in upper case, and reads its own output as itself.
func FuzzVATNumber(f *testing.F) {
	for _, s := range []string{"nl 8012.34.567-b01", "NL801234567B01", "", " ", "-", ". -", "ß", "de\u00a0123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := vatNumber(s)
		if got == nil {
			return
		}
		n, ok := got.(string)
		if !ok || n == "" || strings.ContainsFunc(n, func(r rune) bool { return r == '.' || r == '-' || unicode.IsSpace(r) }) {
			t.Fatalf("vatnumber(%q) = %#v", s, got)
		}
		if again := vatNumber(n); again != n {
			t.Fatalf("vatnumber(%q) = %q, but vatnumber(%q) = %#v", s, n, n, again)
		}
	})
}
