package webshop_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/sandbox/webshop"
)

// A test starts the shop in-process, acts as its staff through the Go
// helpers and as a connector over HTTP, and moves its clock by hand.
func Example() {
	clock := webshop.NewManualClock(time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC))
	srv, _ := webshop.New(webshop.Options{Now: clock.Now, Seed: 1, SeedDemo: true})
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	call := func(method, path, body string) string {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+srv.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprint(resp.StatusCode, " ", len(b) > 0)
	}
	clock.Advance(time.Minute)
	srv.Edit(webshop.Products, 1, webshop.Record{"price": "10.95"}) // the shop's staff
	fmt.Println(call("DELETE", "/api/v1/orders/1", ""))             // a connector
	for _, r := range srv.Changes(webshop.Orders, webshop.Time{Time: clock.Now()}) {
		fmt.Println(r["id"], r["number"], r["deleted_at"])
	}
	fmt.Println(srv.Calls()["DELETE /api/v1/orders/{id}"])
	// Output:
	// 204 false
	// 1 WS-1001 2024-01-02T10:01:00.000+01:00
	// 1
}
