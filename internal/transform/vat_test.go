package transform

import (
	"encoding/json"
	"testing"
)

func TestVATCategory(t *testing.T) {
	tests := []struct {
		in, want any
	}{
		{25.0, "S"},
		{21, "S"},
		{int64(17), "S"},
		{16.9, "R"},
		{12.5, "R"},
		{6.0, "R"},
		{0.0, "Z"},
		{json.Number("25.00"), "S"},
		{"25", "S"},
		{"25 %", "S"},
		{" 12,5% ", "R"},
		{"0%", "Z"},
		{"s", "S"},
		{" E ", "E"},
		{"z", "Z"},
		{"Moms", "Moms"}, // unknown: passed through for the target to refuse by name
		{-5.0, -5.0},
		{"NaN", "NaN"},
		{"inf %", "inf %"},
		{true, true},
		{"", nil},
		{nil, nil},
	}
	for _, tc := range tests {
		if got := VATCategory(tc.in); got != tc.want {
			t.Errorf("VATCategory(%#v) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
	p, err := Compile("value == 0 ? nil : vat_category(value)", In)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[float64]any{0: nil, 25: "S", 15: "R"} {
		if got, err := p.Eval(In, Vars{Value: in}); err != nil || got != want {
			t.Errorf("%s with %v = %#v, %v; want %#v", p.Source(), in, got, err, want)
		}
	}
}

func FuzzVATCategory(f *testing.F) {
	for _, s := range []string{"25", "25 %", "12,5%", "s", "", "-1", "1e3", "NaN", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := VATCategory(s)
		switch got {
		case nil, "S", "R", "Z", "E", s:
		default:
			t.Fatalf("VATCategory(%q) = %#v: neither a category, nil, nor the input", s, got)
		}
		if c, ok := got.(string); ok && c != s && VATCategory(c) != c {
			t.Fatalf("the category %q of %q does not read as itself", c, s)
		}
	})
}
