package erp

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// FuzzCursor: a cursor the ERP made reads back as its number; anything
// else is refused or reads as some number, never a panic.
func FuzzCursor(f *testing.F) {
	for _, s := range []string{encodeCursor(0), encodeCursor(42), "ZXJwMS4t", "", "!!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		seq, ok := decodeCursor(c)
		if ok && seq < 0 {
			t.Fatalf("%q → %d", c, seq)
		}
		if ok {
			if again, _ := decodeCursor(encodeCursor(seq)); again != seq {
				t.Fatalf("%d does not round trip", seq)
			}
		}
	})
}

// FuzzWrites: whatever a client sends, the ERP answers 2xx or 4xx, never
// 5xx or a panic.
func FuzzWrites(f *testing.F) {
	srv, err := New(Options{Seed: 1, SeedDemo: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	order := srv.Records(Orders)[0]
	cust := order["customer_id"].(string)
	for _, s := range []string{
		fmt.Sprintf(`{"customer_id":%q,"lines":[{"item_number":"100-WIDGET","qty":1}]}`, cust),
		fmt.Sprintf(`{"customer_id":%q,"number":"SO00001","order_date":"2024-01-01","lines":[{"line_no":3,"item_number":"200-GADGET","qty":0.5,"price":null}]}`, cust),
		`{"lines":[{}]}`, `{"lines":{}}`, `{"contact_id":1}`, `{"order_date":"2024-02-30"}`,
	} {
		f.Add("orders", s)
	}
	f.Add("customers", `{"name":"X","country":"nl","currency":"eur"}`)
	f.Add("contacts", `{"last_name":"X","is_employee":true}`)
	f.Add("products", `{"item_number":"Z","name":"Z","vat_code":"r"}`)
	h := srv.Handler()
	ids := map[string]string{}
	for _, c := range []string{Customers, Contacts, Products, Orders} {
		ids[c] = srv.Records(c)[0]["id"].(string)
	}
	f.Fuzz(func(t *testing.T, coll, body string) {
		id, ok := ids[coll]
		if !ok {
			return
		}
		for _, req := range []*http.Request{
			httptest.NewRequest("POST", "/erp/"+coll, strings.NewReader(body)),
			httptest.NewRequest("PUT", "/erp/"+coll+"/"+id, strings.NewReader(body)),
		} {
			req.Header.Set("X-API-Key", srv.APIKey())
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s %s %s: %d %s", req.Method, coll, body, w.Code, w.Body)
			}
		}
	})
}

// Writers and a reader at the same time: the reader, paging the change
// listing to the end and once more from its cursor, sees every record.
func TestConcurrentWritesAndChangeListing(t *testing.T) {
	e := startERP(t, Options{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				e.Must(201, e.Call("POST", "/erp/products", map[string]any{"item_number": fmt.Sprintf("W%d-%d", w, i), "name": "x"}))
			}
		})
	}
	seen := map[string]bool{}
	items, cursor, _ := e.changes(Products, "", 3, nil)
	wg.Wait()
	more, _, _ := e.changes(Products, cursor, 7, nil)
	for _, it := range append(items, more...) {
		seen[it["item_number"].(string)] = true
	}
	if len(seen) != 40 {
		t.Errorf("saw %d of 40 products", len(seen))
	}
}
