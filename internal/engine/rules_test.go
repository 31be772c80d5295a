package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/store"
)

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	prov := func(system string, at time.Time) store.Provenance {
		return store.Provenance{System: system, Datatype: "dt", ID: "1", Time: at}
	}
	tests := []struct {
		name    string
		v       any
		t       time.Time
		system  string
		cur     any
		prov    store.Provenance
		outcome string
	}{
		{"newer value wins", "b", t0.Add(time.Second), "a", "x", prov("b", t0), Won},
		{"older value loses", "b", t0.Add(-time.Second), "a", "x", prov("b", t0), Lost},
		{"equal value is no decision", "x", t0.Add(time.Hour), "a", "x", prov("b", t0), Equal},
		{"empty string never overwrites", "", t0.Add(time.Hour), "a", "x", prov("b", t0), Kept},
		{"nil never overwrites", nil, t0.Add(time.Hour), "a", "x", prov("b", t0), Kept},
		{"blank string counts as empty", "  ", t0.Add(time.Hour), "a", "x", prov("b", t0), Kept},
		{"value fills an empty property even when older", "v", t0.Add(-time.Hour), "a", nil, prov("b", t0), Won},
		{"empty on empty is equal", "", t0, "a", nil, prov("b", t0), Equal},
		{"numbers compare by value", int64(3), t0.Add(time.Hour), "a", 3.0, prov("b", t0), Equal},
		{"tie: lower system name wins", "v", t0, "a", "x", prov("b", t0), Won},
		{"tie: higher system name loses", "v", t0, "c", "x", prov("b", t0), Lost},
		{"tie in one system: lower value wins", "a", t0, "b", "z", prov("b", t0), Won},
		{"tie in one system: higher value loses", "z", t0, "b", "a", prov("b", t0), Lost},
		{"false is a value, not empty", false, t0.Add(time.Hour), "a", true, prov("b", t0), Won},
		{"zero is a value, not empty", 0.0, t0.Add(time.Hour), "a", 5.0, prov("b", t0), Won},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, reason := decide(tc.v, tc.t, tc.system, tc.cur, tc.prov)
			if got != tc.outcome {
				t.Fatalf("decide(%v@%s from %s, current %v@%s from %s) = %s (%s), want %s",
					tc.v, tc.t.Format(time.TimeOnly), tc.system, tc.cur, tc.prov.Time.Format(time.TimeOnly), tc.prov.System, got, reason, tc.outcome)
			}
			if reason == "" {
				t.Fatal("every decision must say why")
			}
		})
	}
}

func TestMergePropsRecordsProvenance(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	g := &store.Golden{ID: "g1", Props: map[string]any{"name": "Old", "city": "Delft"},
		Prov: map[string]store.Provenance{"name": {System: "a", Time: t0}, "city": {System: "a", Time: t0}}}
	ds, changed, _ := mergeProps(g, []string{"name", "city", "phone"}, map[string]any{"name": "New", "city": "", "phone": "123"},
		map[string]time.Time{"name": t0.Add(time.Minute), "city": t0.Add(time.Minute), "phone": t0.Add(-time.Hour)},
		Source{System: "b", Datatype: "Accounts", ID: "7"})
	if !changed {
		t.Fatal("expected a change")
	}
	if g.Props["name"] != "New" || g.Props["city"] != "Delft" || g.Props["phone"] != "123" {
		t.Fatalf("props after merge: %v", g.Props)
	}
	if p := g.Prov["name"]; p.System != "b" || p.ID != "7" || !p.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("provenance of name: %+v", p)
	}
	if p := g.Prov["city"]; p.System != "a" {
		t.Fatalf("an empty value must not take provenance: %+v", p)
	}
	outcomes := map[string]string{}
	for _, d := range ds {
		outcomes[d.Property] = d.Outcome
	}
	want := map[string]string{"name": Won, "city": Kept, "phone": Won}
	for p, o := range want {
		if outcomes[p] != o {
			t.Errorf("%s: outcome %q, want %q (all: %v)", p, outcomes[p], o, outcomes)
		}
	}
}

func TestMatchKeysNeverEmpty(t *testing.T) {
	crit := map[string][]string{"email": {"email"}, "name+postcode": {"name", "postcode"}}
	keys := matchKeys(map[string]any{"email": "  Info@Acme.Example ", "name": "Acme", "postcode": ""}, crit)
	if keys["email"] != "info@acme.example" {
		t.Fatalf("email key not normalised: %q", keys["email"])
	}
	if _, ok := keys["name+postcode"]; ok {
		t.Fatal("a criterion with an empty part must yield no key")
	}
	if keys := matchKeys(map[string]any{"email": nil}, crit); len(keys) != 0 {
		t.Fatalf("empty values yielded keys: %v", keys)
	}
}

// The same value set again later makes the value that recent; the newer
// provenance time must be stored (refreshed) even though nothing changed,
// or an older different value merged next would beat it.
func TestEqualValueSetLaterRefreshesProvenance(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	g := &store.Golden{ID: "g1", Props: map[string]any{"customer": "K8"},
		Prov: map[string]store.Provenance{"customer": {System: "a", Time: t0}}}
	_, changed, refreshed := mergeProps(g, []string{"customer"}, map[string]any{"customer": "K8"},
		map[string]time.Time{"customer": t0.Add(26 * time.Millisecond)}, Source{System: "b", Datatype: "People", ID: "b2"})
	if changed || !refreshed {
		t.Fatalf("changed=%v refreshed=%v, want a refresh only", changed, refreshed)
	}
	// An older edit of another value, read afterwards, loses.
	_, changed, _ = mergeProps(g, []string{"customer"}, map[string]any{"customer": "K7"},
		map[string]time.Time{"customer": t0.Add(25 * time.Millisecond)}, Source{System: "a", Datatype: "contacts", ID: "a3"})
	if changed || g.Props["customer"] != "K8" {
		t.Fatalf("an older value beat the refreshed one: %v", g.Props)
	}
	_, _, refreshed = mergeProps(g, []string{"customer"}, map[string]any{"customer": "K8"},
		map[string]time.Time{"customer": t0}, Source{System: "a", Datatype: "contacts", ID: "a3"})
	if refreshed {
		t.Fatal("an older setting of the same value must not move the provenance back")
	}
}

// Systems that date records to the second give two versions of one record
// the same time: the later version wins over the value the earlier one set.
func TestLaterVersionOfTheSameRecordWinsATie(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	src := Source{System: "crm", Datatype: "Organisations", ID: "7"}
	g := &store.Golden{ID: "g1", Props: map[string]any{"name": "Zeta"},
		Prov: map[string]store.Provenance{"name": {System: "crm", Datatype: "Organisations", ID: "7", Time: t0}}}
	_, changed, _ := mergeProps(g, []string{"name"}, map[string]any{"name": "Alpha"}, map[string]time.Time{"name": t0}, src)
	if !changed || g.Props["name"] != "Alpha" {
		t.Fatalf("the later version lost a same-second tie: %v", g.Props)
	}
	// Another record with the same time still goes by the tie-break.
	other := Source{System: "crm", Datatype: "Organisations", ID: "8"}
	_, changed, _ = mergeProps(g, []string{"name"}, map[string]any{"name": "Beta"}, map[string]time.Time{"name": t0}, other)
	if changed {
		t.Fatalf("another record's same-time value must go by the tie-break, got %v", g.Props)
	}
}

// A system that keeps amounts as text ("12.50") is not written again
// because the hub holds the number 12.5; a different amount still is.
func TestDiffTakesAnAmountInTextForTheSameNumber(t *testing.T) {
	current := map[string]any{"price": "12.50", "sku": "007", "qty": 3.0}
	if d := diff(map[string]any{"price": 12.5, "qty": 3.0}, current); len(d) != 0 {
		t.Fatalf("same amounts gave a write: %v", d)
	}
	if d := diff(map[string]any{"price": 12.75}, current); d["price"] != 12.75 {
		t.Fatalf("a new amount was not written: %v", d)
	}
	if d := diff(map[string]any{"sku": "7"}, current); d["sku"] != "7" {
		t.Fatalf("two texts are compared as texts, got %v", d)
	}
}

// A system that presents a calendar date as a time (Exact: midnight UTC) is
// not written again because the hub holds the date; another date still is.
func TestDiffTakesADateAsATimeForTheSameDate(t *testing.T) {
	current := map[string]any{"OrderDate": "2026-03-10T00:00:00Z"}
	if d := diff(map[string]any{"OrderDate": "2026-03-10"}, current); len(d) != 0 {
		t.Fatalf("the same date gave a write: %v", d)
	}
	if d := diff(map[string]any{"OrderDate": "2026-03-11"}, current); d["OrderDate"] != "2026-03-11" {
		t.Fatalf("a new date was not written: %v", d)
	}
}

// An object a mapping fills member by member is compared by the members the
// hub has values for, and written as the system's object with the changed
// members laid over it; an object mapped whole is compared and written whole.
func TestDiffComparesNestedMembers(t *testing.T) {
	current := map[string]any{"addr": map[string]any{"city": "Delft", "street": "Markt 1", "country": "NL"}}
	byMember := map[string]bool{"addr": true}
	if d := diffMembers(map[string]any{"addr": map[string]any{"city": "Delft"}}, current, byMember); len(d) != 0 {
		t.Fatalf("the same member gave a write: %v", d)
	}
	d := diffMembers(map[string]any{"addr": map[string]any{"city": "Leiden", "country": nil}}, current, byMember)
	if want := map[string]any{"city": "Leiden", "street": "Markt 1", "country": "NL"}; !reflect.DeepEqual(d["addr"], want) {
		t.Fatalf("a changed member is written as %v, want %v", d["addr"], want)
	}
	if d := diff(map[string]any{"addr": map[string]any{"city": "Delft"}}, current); d["addr"] == nil {
		t.Fatal("an object mapped whole that lost members was not written")
	}
}
