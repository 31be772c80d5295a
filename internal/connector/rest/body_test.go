package rest

import (
	"encoding/json"
	"testing"

	"github.com/concordsync/concord/internal/connector"
)

// A field declared an integer goes out as a number even when the engine
// holds it as a text id; undeclared fields and texts that are no number are
// sent as they are.
func TestBodySendsDeclaredNumbersAsNumbers(t *testing.T) {
	c := &Conn{system: "shop"}
	d := &Datatype{Name: "orders", Properties: []connector.Property{
		{Name: "customer_id", Type: "integer"}, {Name: "total", Type: "number"}, {Name: "note", Type: "integer"},
	}}
	b, err := c.body(d, &Op{}, connector.Fields{"customer_id": "12", "total": "7.50", "note": "n/a", "number": "0042"})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"customer_id": 12.0, "total": 7.5, "note": "n/a", "number": "0042"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v (body %s)", k, got[k], v, b)
		}
	}
}
