package webshop

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzParseMoney: an amount that parses writes back as a text that parses
// to the same amount.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"12.50", "0", "-1.5", "1.", ".5", "1e3", "99999999999.99", "--1", "1.234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			return
		}
		again, err := ParseMoney(m.String())
		if err != nil || again != m {
			t.Fatalf("%q → %v → %q → %v, %v", s, int64(m), m.String(), int64(again), err)
		}
	})
}

// FuzzWrites: whatever a client sends, the shop answers 2xx or 4xx, never
// 5xx or a panic.
func FuzzWrites(f *testing.F) {
	for _, s := range []string{
		`{"customer_id":1,"line_items":[{"sku":"A","quantity":1}]}`,
		`{"customer_id":1,"line_items":[{"id":1,"quantity":2},{"product_id":1,"quantity":1,"price":"1.00"}]}`,
		`{"status":"completed","line_items":null}`, `{"line_items":[{}]}`, `{"line_items":[1]}`, `{"placed_at":"x"}`,
	} {
		f.Add("orders", s)
	}
	f.Add("customers", `{"type":"person","last_name":"X","email":"x@y","billing_address":{"country":"nl"}}`)
	f.Add("products", `{"sku":"B","name":"B","price":12.5}`)
	srv, err := New(Options{Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	srv.Put(Customers, Record{"type": "person", "last_name": "A", "email": "a@example.com"})
	srv.Put(Products, Record{"sku": "A", "name": "A", "price": "1.00"})
	srv.Put(Orders, Record{"customer_id": 1, "line_items": []Record{{"sku": "A", "quantity": 1}}})
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, coll, body string) {
		if coll != "orders" && coll != "customers" && coll != "products" {
			return
		}
		for _, req := range []*http.Request{
			httptest.NewRequest("POST", "/api/v1/"+coll, strings.NewReader(body)),
			httptest.NewRequest("PATCH", "/api/v1/"+coll+"/1", strings.NewReader(body)),
		} {
			req.Header.Set("Authorization", "Bearer "+srv.Token())
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code >= 500 {
				t.Fatalf("%s %s %s: %d %s", req.Method, coll, body, w.Code, w.Body)
			}
		}
	})
}
