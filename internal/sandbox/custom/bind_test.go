package custom

import (
	"encoding/json"
	"testing"
)

type inner struct {
	City    string `json:"city"`
	Country string `json:"country"`
}

type outer struct {
	Name    string  `json:"name"`
	Count   int64   `json:"count"`
	Ok      bool    `json:"ok"`
	Address inner   `json:"address"`
	Skipped string  `json:"skipped"`
	Price   float64 `json:"price"`
}

func TestBind(t *testing.T) {
	for _, tc := range []struct {
		body      string
		want      outer
		errField  string
		errorCode string
	}{
		{body: `{"name":"b","address":{"city":"Y"}}`, want: outer{Name: "b", Count: 3, Address: inner{City: "Y", Country: "NL"}, Skipped: "s"}},
		{body: `{"name":null,"address":{"country":null}}`, want: outer{Count: 3, Address: inner{City: "X"}, Skipped: "s"}},
		{body: `{"address":null}`, want: outer{Name: "a", Count: 3, Skipped: "s"}},
		{body: `{"skipped":"changed"}`, want: outer{Name: "a", Count: 3, Address: inner{City: "X", Country: "NL"}, Skipped: "s"}},
		{body: `{"nope":1}`, errField: "nope", errorCode: "unknown_field"},
		{body: `{"address":{"street":"x"}}`, errField: "address.street", errorCode: "unknown_field"},
		{body: `{"address":"x"}`, errField: "address", errorCode: "invalid"},
		{body: `{"count":1.5}`, errField: "count", errorCode: "invalid"},
		{body: `{"ok":"yes"}`, errField: "ok", errorCode: "invalid"},
		{body: `{"name":1}`, errField: "name", errorCode: "invalid"},
	} {
		rec := outer{Name: "a", Count: 3, Address: inner{City: "X", Country: "NL"}, Skipped: "s"}
		obj, err := DecodeObject([]byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		fe := Bind(&rec, obj, "", func(n string) bool { return n == "skipped" })
		switch {
		case tc.errField != "":
			if fe == nil || fe.Field != tc.errField || fe.Code != tc.errorCode {
				t.Errorf("%s: error %v, want %s on %s", tc.body, fe, tc.errorCode, tc.errField)
			}
		case fe != nil:
			t.Errorf("%s: %v", tc.body, fe)
		case rec != tc.want:
			t.Errorf("%s: %+v, want %+v", tc.body, rec, tc.want)
		}
	}
	for _, bad := range []string{``, `null`, `[]`, `{} {}`, `{"a":`} {
		if _, err := DecodeObject([]byte(bad)); err == nil {
			t.Errorf("DecodeObject(%q) took it", bad)
		}
	}
}

// FuzzBind: whatever the body, binding fails with a field error or sets
// values that encode again.
func FuzzBind(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"address":{"city":null}}`, `{"count":1e3}`, `{"price":-0.5,"ok":true}`, `{"x":[1]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		obj, err := DecodeObject(body)
		if err != nil {
			return
		}
		var rec outer
		if fe := Bind(&rec, obj, "", nil); fe != nil {
			if fe.Field == "" || fe.Code == "" || fe.Message == "" {
				t.Fatalf("incomplete error %+v", fe)
			}
			return
		}
		if _, err := json.Marshal(rec); err != nil {
			t.Fatal(err)
		}
	})
}
