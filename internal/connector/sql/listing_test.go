package sqlconn

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// listAll follows a listing to its end.
func listAll(t *testing.T, c *Conn, datatype string, req connector.ListRequest) (recs []connector.Record, cursor string) {
	t.Helper()
	for range 10000 {
		p, err := c.List(t.Context(), datatype, req)
		if err != nil {
			t.Fatalf("list %s: %v", datatype, err)
		}
		recs = append(recs, p.Records...)
		cursor = p.Cursor
		if p.NextPageToken == "" {
			return recs, cursor
		}
		req.PageToken = p.NextPageToken
	}
	t.Fatal("the listing never ends")
	return nil, ""
}

func byID(recs []connector.Record) map[string]connector.Record {
	out := map[string]connector.Record{}
	for _, r := range recs {
		out[r.ID] = r
	}
	return out
}

// A row whose transaction stamped its updated_at before a listing began but
// committed after the listing ended is not visible to the listing, and the
// listing's cursor passes its timestamp; the next listing reaches back by
// the overlap and finds it. The same for a change logged with a sequence
// number below one that committed earlier (PostgreSQL and MariaDB hand out
// sequence numbers at insert, not at commit; SQLite has one writer).
func TestCommittedDuringListing(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, b)
			c := s.open(s.settings(map[string]any{"page_size": 5}))
			ctx := context.Background()

			var ids []string
			for i := range 12 {
				ids = append(ids, s.insert("customers", []string{"email", "name"}, fmt.Sprintf("c%d@shop.test", i), "C"))
			}
			_, cursor := listAll(t, c, "customers", connector.ListRequest{})

			late, err := s.db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer late.Rollback()
			if _, err := late.Exec(s.placeholders("UPDATE customers SET city = ? WHERE id = ?"), "committed late", plainValue(ids[3])); err != nil {
				t.Fatal(err)
			}
			stamped := s.value("SELECT CAST(CURRENT_TIMESTAMP AS CHAR(40))") // a reading of the clock before the listing
			time.Sleep(5 * time.Millisecond)
			if b != "sqlite" { // SQLite's one writer is the open transaction
				s.exec("UPDATE customers SET city = ? WHERE id = ?", "committed at once", plainValue(ids[7]))
			}
			during, next := listAll(t, c, "customers", connector.ListRequest{Cursor: cursor})
			if r, ok := byID(during)[ids[3]]; ok && r.Fields["city"] == "committed late" {
				t.Fatalf("the listing saw an uncommitted change")
			}
			if err := late.Commit(); err != nil {
				t.Fatal(err)
			}
			after, _ := listAll(t, c, "customers", connector.ListRequest{Cursor: next})
			r, ok := byID(after)[ids[3]]
			if !ok || r.Fields["city"] != "committed late" {
				t.Fatalf("a change stamped before (at %v) and committed after a listing is lost: the listing from that listing's cursor %q holds %v", stamped, next, r)
			}
			if !strings.HasPrefix(next, "u:") {
				t.Fatalf("cursor %q", next)
			}
			if b == "sqlite" {
				return
			}

			// The change table: a line logged with sequence n commits after
			// one logged with n+1 was listed.
			s.exec("INSERT INTO orders (id, number, customer_id) VALUES (?, ?, ?)", "0190a8e2-8a8e-7000-8000-0000000000bb", "SO-9", plainValue(ids[0]))
			product := s.insert("products", []string{"sku", "name"}, "P", "P")
			_, cursor = listAll(t, c, "order_lines", connector.ListRequest{})
			lateLine, err := s.db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer lateLine.Rollback()
			if _, err := lateLine.Exec(s.placeholders("INSERT INTO order_lines (order_id, product_id, quantity, description) VALUES (?, ?, ?, ?)"),
				"0190a8e2-8a8e-7000-8000-0000000000bb", plainValue(product), "1", "committed late"); err != nil {
				t.Fatal(err)
			}
			s.insert("order_lines", []string{"order_id", "product_id", "quantity", "description"}, "0190a8e2-8a8e-7000-8000-0000000000bb", product, "2", "committed at once")
			during, next = listAll(t, c, "order_lines", connector.ListRequest{Cursor: cursor})
			if len(during) != 1 || during[0].Fields["description"] != "committed at once" {
				t.Fatalf("the listing during the open transaction holds %v, want the committed line only", during)
			}
			if err := lateLine.Commit(); err != nil {
				t.Fatal(err)
			}
			after, _ = listAll(t, c, "order_lines", connector.ListRequest{Cursor: next})
			var found bool
			for _, r := range after {
				found = found || r.Fields["description"] == "committed late"
			}
			if !found {
				t.Fatalf("a change logged before and committed after a listing is lost: the listing from cursor %q holds %v", next, after)
			}
		})
	}
}

// Rows that share one updated time, across several pages, are each listed
// once: the keyset (updated, id) breaks the tie. Products date to the
// second in MariaDB and PostgreSQL's example schemas.
func TestSameTimestampRowsAreNotLost(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			s := newShop(t, b)
			c := s.open(s.settings(map[string]any{"page_size": 4}))
			for _, table := range []string{"customers", "products"} {
				want := map[string]bool{}
				for i := range 23 {
					cols := []string{"email", "name"}
					if table == "products" {
						cols = []string{"sku", "name"}
					}
					want[s.insert(table, cols, fmt.Sprintf("%s-%d", table, i), "x")] = true
				}
				// One statement stamps every row with the same time (a
				// PostgreSQL trigger's now() is the transaction's).
				s.exec("UPDATE "+table+" SET updated_at = ?", c.d.timeParam(time.Now().Add(-time.Hour).Truncate(time.Second)))
				if n := s.count(table, "updated_at = (SELECT MIN(updated_at) FROM "+table+")"); n != 23 {
					t.Fatalf("%s: %d rows share the time, want 23", table, n)
				}
				recs, _ := listAll(t, c, table, connector.ListRequest{})
				seen := map[string]int{}
				for _, r := range recs {
					seen[r.ID]++
				}
				for id := range want {
					if seen[id] != 1 {
						t.Errorf("%s: row %s listed %d times, want once", table, id, seen[id])
					}
				}
				if len(recs) != len(want) {
					t.Errorf("%s: listed %d rows, want %d", table, len(recs), len(want))
				}
			}
		})
	}
}
