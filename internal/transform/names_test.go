package transform

import "testing"

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
