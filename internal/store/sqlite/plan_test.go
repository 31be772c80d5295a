package sqlite

import (
	"context"
	"strings"
	"testing"
)

// The lookups of a batch by golden id go through the golden-id index
// whatever the length of their id list (SQLite without statistics prefers
// an equality on the primary key's prefix to a long IN list).
func TestLookupsByGoldenUseTheIndex(t *testing.T) {
	s, err := Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, n := range []int{1, 64, chunkSize} {
		args := make([]any, n, n+2)
		for i := range args {
			args[i] = "g"
		}
		rows, err := s.w.Query(`EXPLAIN QUERY PLAN `+sqlLinkedIDs(placeholders(n)), append(args, "shop", "customers")...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if !strings.Contains(strings.Join(plan, "; "), "INDEX records_golden") {
			t.Errorf("LinkedIDs with %d ids: plan %q does not use records_golden", n, plan)
		}
	}
}
