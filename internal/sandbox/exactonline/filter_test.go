package exactonline

import (
	"strings"
	"testing"
	"time"
)

// A row of Accounts as the filter tests see it.
var filterRow = map[string]any{
	"ID":        "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
	"Code":      "              1042",
	"Name":      "Bakkerij O'Brien",
	"City":      "Utrecht",
	"Email":     nil,
	"Blocked":   false,
	"Division":  int64(3141592),
	"Timestamp": int64(123456),
	"Discount":  0.25,
	"Modified":  time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
}

func filterProp(name string) (edmType, bool) {
	switch name {
	case "ID":
		return edmGuid, true
	case "Code", "Name", "City", "Email":
		return edmString, true
	case "Blocked":
		return edmBool, true
	case "Division":
		return edmInt32, true
	case "Timestamp":
		return edmInt64, true
	case "Discount":
		return edmDouble, true
	case "Modified":
		return edmDateTime, true
	}
	return 0, false
}

func evalOn(t *testing.T, src string) bool {
	t.Helper()
	loc := mustAmsterdam()
	f, err := parseFilter(src, filterProp, loc)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	b, _ := evalFilter(f, func(n string) any { return filterRow[n] }, loc).(bool)
	return b
}

func TestFilterSelectsLikeExact(t *testing.T) {
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{"ID eq guid'3f2504e0-4f89-11d3-9a0c-0305e82c3301'", true},
		{"ID eq guid'3F2504E0-4F89-11D3-9A0C-0305E82C3301'", true},
		{"ID ne guid'3f2504e0-4f89-11d3-9a0c-0305e82c3301'", false},
		{"Name eq 'Bakkerij O''Brien'", true},
		{"Name eq 'bakkerij o''brien'", true}, // the collation ignores case
		{"Code eq '1042'", false},
		{"trim(Code) eq '1042'", true},
		{"Code eq '              1042'", true},
		{"substringof('brien', Name)", true},
		{"substringof('Amsterdam', City)", false},
		{"startswith(Name, 'Bakk') and endswith(City, 'cht')", true},
		{"tolower(City) eq 'utrecht' and length(City) eq 7", true},
		{"Timestamp gt 1L", true},
		{"Timestamp gt 123456L", false},
		{"Timestamp ge 123456L", true},
		{"Timestamp le 123456", true},
		{"Division eq 3141592", true},
		{"Discount lt 0.3 and Discount gt 0.2d", true},
		{"Discount eq 0.25m", true},
		{"Blocked eq false", true},
		{"Blocked", false},
		{"not Blocked", true},
		{"Email eq null", true},
		{"Email ne null", false},
		{"Email eq 'x'", false},
		{"Email ne 'x'", true},
		{"Email gt 'a'", false}, // comparisons with null are false
		{"Modified gt datetime'2024-05-01'", true},
		{"Modified eq datetime'2024-05-01T12:00:00'", true}, // Dutch summer time
		{"Modified eq datetime'2024-05-01T10:00:00Z'", true},
		{"Modified lt datetime'2024-05-01T11:59'", false},
		{"year(Modified) eq 2024 and month(Modified) eq 5 and day(Modified) eq 1 and hour(Modified) eq 12", true},
		{"City eq 'Utrecht' or City eq 'Zwolle'", true},
		{"(City eq 'Zwolle' or City eq 'Utrecht') and not (Blocked eq true)", true},
		{"City eq 'Zwolle' or (City eq 'Utrecht' and Blocked)", false},
		{"not not (City eq 'Utrecht')", true},
		{"indexof(Name, 'O''') eq 9", true},
		{"concat(City, 'x') eq 'Utrechtx'", true},
		{"  City   eq\t'Utrecht'  ", true},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			if got := evalOn(t, tc.filter); got != tc.want {
				t.Errorf("%s: got %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
}

func TestFilterRefusesWhatExactRefuses(t *testing.T) {
	for _, tc := range []struct {
		filter, wantErr string
	}{
		{"", "expected an operand"},
		{"Name eq", "expected an operand"},
		{"Name eq 'open", "unterminated string"},
		{"Nope eq 1", "no property 'Nope'"},
		{"ID eq '3f2504e0-4f89-11d3-9a0c-0305e82c3301'", "incompatible with operand types 'Edm.Guid' and 'Edm.String'"},
		{"Name eq 5", "incompatible"},
		{"Modified gt '2024-01-01'", "incompatible"},
		{"Blocked gt true", "incompatible"},
		{"ID eq guid'nope'", "Edm.Guid literal"},
		{"Modified gt datetime'yesterday'", "Edm.DateTime literal"},
		{"Name", "not a Boolean"},
		{"Name eq 'a' and Code", "operator 'and' incompatible"},
		{"Timestamp gt 1.5L", "Edm.Int64"},
		{"Timestamp gt 99999999999999999999L", "out of range"},
		{"Timestamp add 1 eq 2", "arithmetic"},
		{"frobnicate(Name)", "unknown function"},
		{"trim(Name, City) eq 'x'", "takes 1 argument"},
		{"trim(Timestamp) eq 'x'", "must be Edm.String"},
		{"(Name eq 'a'", "expected ')'"},
		{"Name eq 'a')", "unexpected ')'"},
		{"Name eq 'a' City eq 'b'", "unexpected 'City'"},
		{"Name # 'a'", "unexpected character"},
		{"Name eq x'00'", "unknown literal prefix"},
		{strings.Repeat("(", 200) + "Blocked" + strings.Repeat(")", 200), "nested deeper"},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			_, err := parseFilter(tc.filter, filterProp, mustAmsterdam())
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want one containing %q", tc.filter, err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "at position") {
				t.Errorf("%q: error %v does not say where", tc.filter, err)
			}
		})
	}
}

func TestFilterPrintsWhatItParses(t *testing.T) {
	loc := mustAmsterdam()
	for _, src := range []string{
		"Name eq 'it''s' and not (Timestamp gt 10L or Discount le -1.5e3)",
		"Modified ge datetime'2024-10-27T02:30:00' and ID ne guid'3f2504e0-4f89-11d3-9a0c-0305e82c3301'",
		"substringof('x', trim(Code)) or Email eq null",
	} {
		f, err := parseFilter(src, filterProp, loc)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		again, err := parseFilter(f.String(), filterProp, loc)
		if err != nil {
			t.Fatalf("printed %q does not parse: %v", f.String(), err)
		}
		if again.String() != f.String() {
			t.Errorf("round trip changed %q into %q", f.String(), again.String())
		}
	}
}

// FuzzFilter: no input makes the parser or evaluator panic, and whatever
// parses prints as a filter that parses to the same thing.
func FuzzFilter(f *testing.F) {
	for _, seed := range []string{
		"Timestamp gt 1L",
		"ID eq guid'3f2504e0-4f89-11d3-9a0c-0305e82c3301'",
		"Name eq 'O''Brien' and (City ne 'x' or not Blocked)",
		"substringof('a', Name) and trim(Code) eq '12'",
		"Modified ge datetime'2024-01-01T00:00:00' and Discount lt 0.5m",
		"year(Modified) eq 2024 or Email eq null",
		"-1.5e-3 lt Discount", "((Blocked))", "not(Blocked)", "Name eq x'00'",
	} {
		f.Add(seed)
	}
	loc := mustAmsterdam()
	f.Fuzz(func(t *testing.T, src string) {
		n, err := parseFilter(src, filterProp, loc)
		if err != nil {
			return
		}
		evalFilter(n, func(name string) any { return filterRow[name] }, loc)
		evalFilter(n, func(string) any { return nil }, loc)
		printed := n.String()
		again, err := parseFilter(printed, filterProp, loc)
		if err != nil {
			t.Fatalf("%q parsed, but its print %q does not: %v", src, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("%q: print %q reparses as %q", src, printed, again.String())
		}
	})
}

func TestSkiptokenLiterals(t *testing.T) {
	lits, err := parseLiterals("'Acme, Inc.',datetime'2024-01-02T03:04:05Z',guid'3f2504e0-4f89-11d3-9a0c-0305e82c3301',12L,null", mustAmsterdam())
	if err != nil {
		t.Fatal(err)
	}
	if len(lits) != 5 || lits[0].v != "Acme, Inc." || lits[3].v != int64(12) || lits[4].v != nil {
		t.Fatalf("literals %+v", lits)
	}
	if _, err := parseLiterals("guid'x'", mustAmsterdam()); err == nil {
		t.Error("a bad guid in a skiptoken parsed")
	}
}
