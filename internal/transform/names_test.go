package transform

import (
	"slices"
	"strings"
	"testing"
)

func TestNameParts(t *testing.T) {
	tests := []struct {
		in            any
		given, family any
	}{
		{"Bo Berg", "Bo", "Berg"},
		{"  Jan   van  Dijk ", "Jan", "van Dijk"},
		{"Cher", nil, "Cher"},
		{"   ", nil, nil},
		{nil, nil, nil},
		{7.0, 7.0, 7.0},
	}
	for _, tc := range tests {
		if got := GivenName(tc.in); got != tc.given {
			t.Errorf("GivenName(%#v) = %#v, want %#v", tc.in, got, tc.given)
		}
		if got := FamilyName(tc.in); got != tc.family {
			t.Errorf("FamilyName(%#v) = %#v, want %#v", tc.in, got, tc.family)
		}
	}
	p, err := Compile("family_name(value) + '/' + (given_name(value) ?? '')", In)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Eval(In, Vars{Value: "Ann Lee"}); err != nil || got != "Lee/Ann" {
		t.Errorf("%s = %#v, %v", p.Source(), got, err)
	}
}

// A full name is split, whatever it holds, into words it had: the given name
// and the family name together are its words in order, and a name of one
// word is a family name only.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"Jan van Dijk", "Cher", "", "  ", " Anna\tMaria  Berg ", "é ü", "\u00a0x\u00a0y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words := strings.Fields(s)
		given, family := GivenName(s), FamilyName(s)
		switch len(words) {
		case 0:
			if given != nil || family != nil {
				t.Fatalf("%q: given %#v, family %#v; want nil for a blank name", s, given, family)
			}
		case 1:
			if given != nil || family != words[0] {
				t.Fatalf("%q: given %#v, family %#v; want nil and the one word", s, given, family)
			}
		default:
			g, _ := given.(string)
			fam, _ := family.(string)
			if g != words[0] || !slices.Equal(strings.Fields(fam), words[1:]) {
				t.Fatalf("%q: given %#v, family %#v; not its words", s, given, family)
			}
		}
	})
}
