package benchmark

import (
	"fmt"
	"testing"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/connectortest"
)

func TestSyntheticConformance(t *testing.T) {
	fields := []string{"code", "name", "city"}
	gen := func(k int, vals []string) {
		vals[0], vals[1], vals[2] = fmt.Sprintf("G%05d", k), fmt.Sprintf("Generated %d", k), "Utrecht"
	}
	for _, base := range []int{0, 2500} {
		t.Run(fmt.Sprintf("generated=%d", base), func(t *testing.T) {
			var sys *Synthetic
			connectortest.Run(t, connectortest.Harness{
				Open: func(t *testing.T) connector.Connector {
					sys = NewSynthetic("customers", "S", fields, base, gen)
					return sys
				},
				Datatype: "customers",
				NewFields: func(i int) connector.Fields {
					return connector.Fields{"code": fmt.Sprintf("N%05d", i), "name": fmt.Sprintf("New %d", i), "city": "Delft"}
				},
				Change: func(f connector.Fields) connector.Fields {
					return connector.Fields{"name": fmt.Sprint(f["name"]) + "!"}
				},
				UserEdit: func(t *testing.T, id string, fields connector.Fields) {
					if err := sys.Edit(id, fields); err != nil {
						t.Fatal(err)
					}
				},
				CanDelete:             true,
				ChecksIfMatch:         true,
				IncrementalTombstones: true,
				Records:               2500,
				MissingID:             "S999999999",
			})
		})
	}
}

// Writes counts the connector's writes, not a user's edits.
func TestSyntheticCountsConnectorWritesOnly(t *testing.T) {
	ctx := t.Context()
	s := NewSynthetic("customers", "S", []string{"code"}, 2, func(k int, vals []string) { vals[0] = fmt.Sprint(k) })
	if err := s.Edit("S0", connector.Fields{"code": "x"}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Insert(ctx, "customers", connector.Fields{"code": "new"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "customers", "S1", connector.Fields{"code": "y"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "customers", r.ID); err != nil {
		t.Fatal(err)
	}
	if n := s.Writes(); n != 3 {
		t.Fatalf("Writes() = %d, want 3 (the edit is a user's)", n)
	}
}
