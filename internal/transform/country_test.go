package transform

import (
	"testing"
)

func TestCountryCode(t *testing.T) {
	tests := []struct {
		in   any
		want any
	}{
		{"Denmark", "DK"},
		{"Danmark", "DK"},
		{"  danmark ", "DK"},
		{"DANMARK", "DK"},
		{"Tyskland", "DE"},
		{"Deutschland", "DE"},
		{"Pays-Bas", "NL"},
		{"The Netherlands", "NL"},
		{"Holland", "NL"},
		{"Storbritannien", "GB"},
		{"UK", "GB"},
		{"United  States of America", "US"},
		{"U.S.A.", "US"},
		{"Færøerne", "FO"},
		{"Österreich", "AT"},
		{"Island", "IS"},
		{"dk", "DK"},
		{"DE", "DE"},
		{"Narnia", "Narnia"}, // unknown names pass through unchanged
		{"XX", "XX"},         // so do codes of countries the table lacks
		{"", ""},
		{nil, nil},
		{42.0, 42.0},
	}
	for _, tc := range tests {
		if got := CountryCode(tc.in); got != tc.want {
			t.Errorf("CountryCode(%#v) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestCountryName(t *testing.T) {
	tests := []struct {
		in   any
		lang string
		want any
	}{
		{"DK", "en", "Denmark"},
		{"dk", "da", "Danmark"},
		{"DE", "da", "Tyskland"},
		{"NL", "nl", "Nederland"},
		{"NO", "no", "Norge"},
		{"GB", "fr", "Royaume-Uni"},
		{"DK", "xx", "DK"},           // a language the table has no names in
		{"ZZ", "en", "ZZ"},           // a code it does not know
		{"Denmark", "en", "Denmark"}, // a name already
		{nil, "en", nil},
	}
	for _, tc := range tests {
		if got := CountryName(tc.in, tc.lang); got != tc.want {
			t.Errorf("CountryName(%#v, %q) = %#v, want %#v", tc.in, tc.lang, got, tc.want)
		}
	}
}

// Every name of the table reads back as its own country, so that no two
// countries share a name (a later row would silently win the lookup), and
// every name round-trips: code → name → code.
func TestCountryTableIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, row := range countryTable {
		code := row[0]
		if len(code) != 2 || code != CountryCode(code) {
			t.Errorf("%q is not a code the table knows", code)
		}
		if seen[code] {
			t.Errorf("%s twice in the table", code)
		}
		seen[code] = true
		if len(row) != len(countryLanguages)+1 {
			t.Errorf("%s: %d names, want one per language (%d)", code, len(row)-1, len(countryLanguages))
			continue
		}
		for i, lang := range countryLanguages {
			name := row[i+1]
			if got := CountryCode(name); got != code {
				t.Errorf("%s's %s name %q reads as %v", code, lang, name, got)
			}
			if got := CountryName(code, lang); got != name {
				t.Errorf("CountryName(%s, %s) = %v, want %q", code, lang, got, name)
			}
		}
	}
	for alias, code := range countryAliases {
		if countryNames[code] == nil {
			t.Errorf("alias %q names %s, which the table does not have", alias, code)
		}
	}
}

func TestCountryExpressions(t *testing.T) {
	tests := []struct {
		src  string
		kind Kind
		vars Vars
		want any
	}{
		{"country_code(value)", In, Vars{Value: "Sverige"}, "SE"},
		{"country_code(value)", In, Vars{Value: nil}, nil},
		{"country_code(value)", In, Vars{Value: "Atlantis"}, "Atlantis"},
		{"country_name(value)", Out, Vars{Value: "SE"}, "Sweden"},
		{"country_name(value, 'da')", Out, Vars{Value: "SE"}, "Sverige"},
		{"country_name(value, 'de')", Out, Vars{Value: nil}, nil},
		{"country_code(record.OrganisationCountry) == 'DK'", Filter, Vars{Record: map[string]any{"OrganisationCountry": "Danmark"}}, true},
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
	if _, err := Compile("country_name(value, 'da', 'x')", Out); err == nil {
		t.Error("country_name with three arguments compiled")
	}
}

func FuzzCountryCode(f *testing.F) {
	for _, s := range []string{"Danmark", "dk", "  The  Netherlands. ", "", "Ø"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := CountryCode(s)
		code, ok := got.(string)
		if !ok {
			t.Fatalf("CountryCode(%q) = %#v, not a text", s, got)
		}
		if code != s && countryNames[code] == nil {
			t.Fatalf("CountryCode(%q) = %q, neither the input nor a code of the table", s, code)
		}
		// A code is stable: reading it again gives itself.
		if countryNames[code] != nil && CountryCode(code) != code {
			t.Fatalf("CountryCode(%q) = %q, but CountryCode(%q) = %v", s, code, code, CountryCode(code))
		}
	})
}
