package sqlconn

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/connectortest"
)

// The conformance suite runs on the example webshop of every backend, on
// three datatypes that between them use every way the connector reads
// changes: customers (updated_at, soft deletes, integer keys), orders
// (updated_at, hard deletes, uuid keys the connector makes) and
// order_lines (a change table kept by triggers, hard deletes).
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			for _, dt := range []string{"customers", "orders", "order_lines"} {
				t.Run(dt, func(t *testing.T) {
					t.Parallel()
					s := newShop(t, b)
					connectortest.Run(t, s.harness(dt))
				})
			}
		})
	}
}

// harness is the suite's view of one datatype of the shop: opened from the
// example configuration with a small page size, and edited by a user
// through the test's own connection. The overlap is off: with it, the
// first page of a listing holds earlier subtests' rows, and the suite's
// check of changes made during a listing would find nothing to check
// (TestCommittedDuringListing covers what the overlap is for).
func (s *shop) harness(datatype string) connectortest.Harness {
	settings := s.settings(map[string]any{"page_size": 15, "overlap": "0s"})
	h := connectortest.Harness{
		Open:          func(t *testing.T) connector.Connector { return s.open(settings) },
		Datatype:      datatype,
		CanDelete:     true,
		ChecksIfMatch: true,
		Records:       45, // three pages and more
		UserEdit: func(t *testing.T, id string, fields connector.Fields) {
			var set []string
			var args []any
			for _, k := range sortedKeys(fields) {
				set = append(set, k+" = ?")
				args = append(args, plainValue(fields[k]))
			}
			s.exec("UPDATE "+datatype+" SET "+strings.Join(set, ", ")+" WHERE id = ?", append(args, id)...)
		},
	}
	tag := s.prefix[len(s.prefix)-6:]
	switch datatype {
	case "customers":
		h.IncrementalTombstones = true // soft deletes
		h.NewFields = func(i int) connector.Fields {
			return connector.Fields{"email": fmt.Sprintf("c%d-%s@shop.test", i, tag), "name": fmt.Sprintf("Customer %d", i),
				"city": "Aarhus", "country": "DK", "credit_limit": float64(i) + 0.25}
		}
		h.Change = appendTo("city")
		h.MissingID = "2147483000"
	case "orders":
		customer := s.insert("customers", []string{"email", "name"}, "buyer-"+tag+"@shop.test", "Buyer")
		h.NewFields = func(i int) connector.Fields {
			return connector.Fields{"number": fmt.Sprintf("SO-%s-%d", tag, i), "customer_id": customer, "status": "open",
				"order_date": fmt.Sprintf("2024-03-%02d", 1+i%28)}
		}
		h.Change = appendTo("reference")
	case "order_lines":
		h.IncrementalTombstones = true // the change table logs deletes
		customer := s.insert("customers", []string{"email", "name"}, "buyer-"+tag+"@shop.test", "Buyer")
		s.exec("INSERT INTO orders (id, number, customer_id) VALUES (?, ?, ?)", "0190a8e2-8a8e-7000-8000-000000000001", "SO-"+tag, plainValue(customer))
		product := s.insert("products", []string{"sku", "name", "price"}, "MUG-"+tag, "Mug", "12.50")
		h.NewFields = func(i int) connector.Fields {
			return connector.Fields{"order_id": "0190a8e2-8a8e-7000-8000-000000000001", "product_id": product,
				"quantity": float64(i + 1), "unit_price": 9.5, "description": fmt.Sprintf("line %d", i)}
		}
		h.Change = func(f connector.Fields) connector.Fields {
			q, _ := strconv.ParseFloat(fmt.Sprint(f["quantity"]), 64)
			return connector.Fields{"quantity": q + 1}
		}
	}
	return h
}

func appendTo(field string) func(f connector.Fields) connector.Fields {
	return func(f connector.Fields) connector.Fields {
		s, _ := f[field].(string)
		return connector.Fields{field: s + "+"}
	}
}

// plainValue is a field value as a driver takes it.
func plainValue(v any) any {
	if n, ok := v.(json.Number); ok {
		return n.String()
	}
	return v
}

func sortedKeys(f connector.Fields) []string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
