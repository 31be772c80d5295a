package webcrm

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzBind checks that no request body makes binding panic, and that what
// binds is stored and written back as valid JSON holding the same values.
func FuzzBind(f *testing.F) {
	for _, s := range []string{
		`{"OrganisationName": "Acme", "OrganisationOwner": 3, "OrganisationNoAds": true}`,
		`{"PersonLastName": "Lee", "PersonStatus": "guest", "PersonBirthday": "1990-05-17T00:00:00+02:00", "PersonOrganisationId": 1}`,
		`{"QuotationLineData1": "", "QuotationLinePrice": 1e400, "QuotationLineId": 2.5}`,
		`{"OpportunityOrderDate": null, "OpportunityWinYesNo": "yes", "opportunityerpstatus": "synchronized"}`,
		`{"ProductCustom1": "\u0000\ud800x", "ProductId": 9999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var obj map[string]any
		if dec.Decode(&obj) != nil || obj == nil {
			return
		}
		for _, e := range entities {
			vals, _, err := bind(e, obj, time.UTC)
			if err != nil {
				if _, ok := err.(*apiError); !ok {
					t.Fatalf("%s: error %v is not an API error", e.name, err)
				}
				continue
			}
			out := appendRow(nil, e, &row{id: 1, v: vals}, time.UTC)
			var back map[string]any
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("%s: %s is not valid JSON: %v", e.name, out, err)
			}
			again, _, err := bind(e, back, time.UTC)
			if err != nil {
				t.Fatalf("%s: written record %s does not bind again: %v", e.name, out, err)
			}
			for k, v := range vals {
				if w := again[k]; !equalStored(v, w) {
					t.Fatalf("%s: %s was %#v, read back as %#v", e.name, k, v, w)
				}
			}
		}
	})
}

func equalStored(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	if sa, ok := a.(string); ok && sa == "" {
		return b == nil || b == "" // an unset data field is left out
	}
	return a == b || (a != a && b != b)
}

// FuzzAppendString checks the JSON string writer against encoding/json.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"plain", "quote\" back\\slash", "tab\tnew\nline\r", "\x00\x1f\x7f", "\xff\xfe bad", "æøå €", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("%q written as invalid JSON: %v", s, err)
		}
		std, _ := json.Marshal(s)
		json.Unmarshal(std, &want)
		if got != want {
			t.Fatalf("%q reads back as %q, want %q", s, got, want)
		}
	})
}

// FuzzDataFile checks that no data file makes loading panic, and that a
// loaded one saves and loads again to the same records.
func FuzzDataFile(f *testing.F) {
	f.Add([]byte(`{"version": 1, "authCode": "x", "tables": {"Organisations": {"nextId": 3, "records": [{"OrganisationId": 2, "OrganisationName": "A", "OrganisationUpdatedAt": "2024-01-02T10:11:12"}]}}}`))
	f.Add([]byte(`{"version": 1, "tables": {"Users": {"records": [{"UserId": 1}], "inactive": [1, 7]}}, "hooks": [{"id": 4, "entity": "Products", "eventType": "Create"}]}`))
	f.Add([]byte(`{"version": 1, "tables": {"QuotationLines": {"records": [{"QuotationLineId": -1, "QuotationLineData1": ""}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var snap snapshot
		if dec.Decode(&snap) != nil {
			return
		}
		s := New(Options{})
		defer s.Close()
		s.mu.Lock()
		err := s.restoreLocked(snap, time.UTC)
		if err != nil {
			s.mu.Unlock()
			return
		}
		saved := s.snapshotLocked()
		s.mu.Unlock()
		before := map[string][]Record{}
		for _, e := range entities {
			before[e.name] = s.Records(e.name)
		}
		text, err := json.Marshal(saved)
		if err != nil {
			t.Fatalf("saving a loaded file: %v", err)
		}
		dec = json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		var again snapshot
		if err := dec.Decode(&again); err != nil {
			t.Fatal(err)
		}
		s2 := New(Options{})
		defer s2.Close()
		s2.mu.Lock()
		err = s2.restoreLocked(again, time.UTC)
		s2.mu.Unlock()
		if err != nil {
			t.Fatalf("a saved file does not load: %v\n%s", err, text)
		}
		for _, e := range entities {
			if a, b := before[e.name], s2.Records(e.name); len(a) != len(b) {
				t.Fatalf("%s: %d records, %d after a save and load", e.name, len(a), len(b))
			}
		}
	})
}
