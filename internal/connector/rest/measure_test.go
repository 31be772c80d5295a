package rest_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMeasureCalls prints what a sync of the webshop and the ERP through
// kind rest costs in API calls, configured by the example files (pages of
// 100 in the shop, 200 in the ERP, reads before the shop's PATCHes): a first
// load of N customers and N/2 products on each side, a round of changes
// (N/10 customers edited in the shop, N/10 products in the ERP), and a
// round without changes.
//
//	go test ./internal/connector/rest -run TestMeasureCalls -v
func TestMeasureCalls(t *testing.T) {
	t.Parallel()
	n := 500
	if raceEnabled || testing.Short() {
		n = 60
	}
	h := newHub(t, nil)
	seed(h, n)
	var rows []string
	measure := func(phase string, f func()) (shop, erp map[string]int) {
		h.shop.srv.ResetCalls()
		h.erp.srv.ResetCalls()
		waited := h.clock.Slept()
		f()
		shop, erp = h.shop.srv.Calls(), h.erp.srv.Calls()
		rows = append(rows, fmt.Sprintf("%s: webshop %d reads, %d writes; ERP %d reads, %d writes; waited %v for the rate limits\n    webshop: %s\n    ERP:     %s",
			phase, reads(shop), writes(shop), reads(erp), writes(erp), (h.clock.Slept()-waited).Round(time.Second), summary(shop), summary(erp)))
		return shop, erp
	}

	shop, erp := measure(fmt.Sprintf("first load: %d customers, %d products each side", n, n/2), h.settle)
	h.wantAllOnce(n)
	if shop["POST /api/v1/customers"] != n || shop["POST /api/v1/products"] != n/2 || erp["POST /erp/customers"] != n || erp["POST /erp/products"] != n/2 {
		t.Errorf("the first load's inserts: shop %v, ERP %v", shop, erp)
	}
	if w := writes(shop) + writes(erp); w != 3*n {
		t.Errorf("the first load made %d writes, want %d (one insert per record)", w, 3*n)
	}

	k := n / 10
	shop, erp = measure(fmt.Sprintf("round: %d customers changed in the shop, %d products in the ERP", k, k), func() {
		for i, r := range h.shop.srv.Records("customers")[:k] {
			if _, err := h.shop.srv.Edit("customers", r["id"].(int64), map[string]any{"phone": fmt.Sprintf("+31 10 %06d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		for i, r := range h.erp.srv.Records("products")[:k] {
			if _, err := h.erp.srv.Edit("products", r["id"].(string), map[string]any{"name": fmt.Sprintf("Renamed %d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		h.settle()
	})
	if erp["PUT /erp/customers/{id}"] != k || shop["PATCH /api/v1/products/{id}"] != k || writes(shop)+writes(erp) != 2*k {
		t.Errorf("the round's writes: shop %v, ERP %v; want %d PUTs of customers to the ERP and %d PATCHes of products to the shop", shop, erp, k, k)
	}
	shop, erp = measure("round without changes", func() { h.cycle() })
	if writes(shop)+writes(erp) != 0 || len(shop) != 3 || len(erp) != 4 {
		t.Errorf("a quiet round: shop %v, ERP %v", shop, erp)
	}
	t.Logf("calls by phase (each run until a cycle collects and writes nothing):\n%s", strings.Join(rows, "\n"))
}

// writes counts the POST, PUT, PATCH and DELETE calls.
func writes(calls map[string]int) int {
	n := 0
	for k, v := range calls {
		if !strings.HasPrefix(k, http.MethodGet+" ") {
			n += v
		}
	}
	return n
}

// reads counts the GET calls.
func reads(calls map[string]int) int {
	n := 0
	for k, v := range calls {
		if strings.HasPrefix(k, http.MethodGet+" ") {
			n += v
		}
	}
	return n
}

// summary is a call count by route, shortest first.
func summary(calls map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(calls)) {
		route := k[strings.Index(k, " ")+1:]
		route = strings.TrimPrefix(strings.TrimPrefix(route, "/api/v1/"), "/erp/")
		parts = append(parts, fmt.Sprintf("%s %s %d", k[:strings.Index(k, " ")], route, calls[k]))
	}
	return strings.Join(parts, ", ")
}
