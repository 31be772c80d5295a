package webshop

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBearerAuth(t *testing.T) {
	sh := startShop(t, Options{})
	for _, auth := range []string{"", "Bearer wrong", "Basic " + sh.token, sh.token} {
		a := sh.Must(401, sh.CallAs(auth, "GET", "/api/v1/customers", nil))
		if got := a.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Errorf("auth %q: WWW-Authenticate %q", auth, got)
		}
		fieldErrors(t, a)
	}
	sh.Must(200, sh.Call("GET", "/api/v1/customers", nil))
	sh.Must(200, sh.CallAs("bearer "+sh.token, "GET", "/api/v1/customers", nil))
	if got := sh.Srv.Calls()["GET /api/v1/customers"]; got != 6 {
		t.Errorf("calls counted %d, want 6 (refused ones too)", got)
	}
}

func TestPagingToTheEnd(t *testing.T) {
	sh := startShop(t, Options{})
	for i := range 7 {
		sh.Put(Products, Record{"sku": fmt.Sprintf("SKU-%d", i), "name": "P", "price": "1.00"})
	}
	recs, pages := sh.listAll("/api/v1/products?per_page=3", nil)
	if pages != 3 || !slices.Equal(ids(recs), []int64{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("got %d pages with ids %v, want 3 pages with 1..7", pages, ids(recs))
	}
	a := sh.Must(200, sh.Call("GET", "/api/v1/products?page=9&per_page=3", nil))
	if m := a.Obj(t); len(m["data"].([]any)) != 0 || m["links"].(map[string]any)["next"] != nil || m["meta"].(map[string]any)["total"] != 7.0 {
		t.Errorf("a page past the end: %s", a)
	}
	for _, q := range []string{"per_page=0", "per_page=101", "page=0", "page=x", "updated_since=yesterday", "updatedSince=2024-01-01T00:00:00Z"} {
		sh.Must(400, sh.Call("GET", "/api/v1/products?"+q, nil))
	}
	sh.Must(200, sh.Call("GET", "/api/v1/products?sku=sku-3", nil))
}

// A change listing is every record updated at or after updated_since, in
// id order, deleted ones included. Since a changed record keeps its place,
// paging never skips one: records changed during a pass are in the next
// pass from the time the pass began.
func TestChangeListingTombstonesAndChangesDuringPaging(t *testing.T) {
	sh := startShop(t, Options{})
	for i := range 6 {
		sh.Put(Customers, customer(fmt.Sprintf("Customer %d", i+1)))
	}
	sh.Clock.Advance(time.Minute)
	passStart := sh.Clock.Now()
	since := url.QueryEscape(start.Format(time.RFC3339))
	recs, _ := sh.listAll("/api/v1/customers?per_page=2&updated_since="+since, func(page int) {
		if page != 1 {
			return
		}
		sh.Clock.Advance(time.Millisecond)
		if _, err := sh.Srv.Edit(Customers, 1, Record{"phone": "111"}); err != nil { // read already
			t.Fatal(err)
		}
		if _, err := sh.Srv.Edit(Customers, 5, Record{"phone": "555"}); err != nil { // still to come
			t.Fatal(err)
		}
		if err := sh.Srv.Remove(Customers, 2); err != nil { // read already
			t.Fatal(err)
		}
		sh.Put(Customers, customer("Customer 7"))
	})
	if got := ids(recs); !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("pass saw %v, want every customer once", got)
	}
	if recs[4]["phone"] != "555" {
		t.Errorf("customer 5 read after its change: %v", recs[4])
	}

	next, _ := sh.listAll("/api/v1/customers?updated_since="+url.QueryEscape(passStart.Format(time.RFC3339Nano)), nil)
	if got := ids(next); !slices.Equal(got, []int64{1, 2, 5, 7}) {
		t.Fatalf("next pass saw %v, want the changed 1, 2, 5, 7", got)
	}
	if next[0]["phone"] != "111" || next[0]["deleted_at"] != nil {
		t.Errorf("customer 1: %v", next[0])
	}
	if next[1]["deleted_at"] == nil || next[1]["updated_at"] != next[1]["deleted_at"] {
		t.Errorf("tombstone of customer 2 wants deleted_at = updated_at: %v", next[1])
	}
	sh.Must(404, sh.Call("GET", "/api/v1/customers/2", nil))
	sh.Must(404, sh.Call("PATCH", "/api/v1/customers/2", map[string]any{"phone": "1"}))
	sh.Must(404, sh.Call("DELETE", "/api/v1/customers/2", nil))
	live, _ := sh.listAll("/api/v1/customers", nil)
	if got := ids(live); !slices.Equal(got, []int64{1, 3, 4, 5, 6, 7}) {
		t.Errorf("listing without updated_since: %v, want the live ones", got)
	}
	// Times: RFC 3339, the shop's offset, milliseconds; the bound is inclusive.
	if got := next[0]["updated_at"]; got != "2024-01-02T10:01:00.001+01:00" {
		t.Errorf("updated_at %v", got)
	}
	tie, _ := sh.listAll("/api/v1/customers?updated_since="+url.QueryEscape("2024-01-02T10:01:00.001+01:00"), nil)
	if len(tie) != 4 {
		t.Errorf("updated_since equal to updated_at: %d records, want 4", len(tie))
	}
}

func TestValidation(t *testing.T) {
	sh := startShop(t, Options{})
	sh.Put(Customers, customer("Acme"))
	sh.Put(Products, Record{"sku": "A-1", "name": "A", "price": "2.50"})
	order := sh.Put(Orders, Record{"customer_id": 1, "line_items": []Record{{"product_id": 1, "quantity": 1}}})
	for _, tc := range []struct {
		method, path string
		body         any
		field        string
	}{
		{"POST", "/api/v1/products", map[string]any{"name": "B"}, "sku"},
		{"POST", "/api/v1/products", map[string]any{"sku": "a-1", "name": "B"}, "sku"},
		{"POST", "/api/v1/products", map[string]any{"sku": "B", "name": "B", "price": "1.999"}, "price"},
		{"POST", "/api/v1/products", map[string]any{"sku": "B", "name": "B", "price": true}, "price"},
		{"POST", "/api/v1/products", map[string]any{"sku": "B", "name": "B", "colour": "red"}, "colour"},
		{"POST", "/api/v1/customers", map[string]any{"type": "company", "email": "x@example.com"}, "company_name"},
		{"POST", "/api/v1/customers", map[string]any{"type": "robot", "email": "x@example.com"}, "type"},
		{"POST", "/api/v1/customers", map[string]any{"type": "person", "last_name": "X", "email": "ACME@example.com"}, "email"},
		{"POST", "/api/v1/customers", map[string]any{"type": "person", "last_name": "X", "email": "x@example.com", "billing_address": map[string]any{"country": "Holland"}}, "billing_address.country"},
		{"POST", "/api/v1/orders", map[string]any{"customer_id": 9, "line_items": []any{map[string]any{"product_id": 1, "quantity": 1}}}, "customer_id"},
		{"POST", "/api/v1/orders", map[string]any{"customer_id": 1}, "line_items"},
		{"POST", "/api/v1/orders", map[string]any{"customer_id": 1, "line_items": []any{map[string]any{"product_id": 7, "quantity": 1}}}, "line_items[0].product_id"},
		{"POST", "/api/v1/orders", map[string]any{"customer_id": 1, "line_items": []any{map[string]any{"sku": "A-1", "quantity": 0}}}, "line_items[0].quantity"},
		{"POST", "/api/v1/orders", map[string]any{"customer_id": 1, "status": "shipped", "line_items": []any{map[string]any{"sku": "A-1", "quantity": 1}}}, "status"},
		{"PATCH", "/api/v1/orders/1", map[string]any{"number": "X-1"}, "number"},
		{"PATCH", "/api/v1/orders/1", map[string]any{"line_items": []any{map[string]any{"id": 99, "quantity": 1}}}, "line_items[0].id"},
	} {
		a := sh.Must(422, sh.Call(tc.method, tc.path, tc.body))
		if errs := fieldErrors(t, a); len(errs[tc.field]) == 0 {
			t.Errorf("%s %s %v: errors %v, want one for %s", tc.method, tc.path, tc.body, errs, tc.field)
		}
	}
	sh.Must(400, sh.Call("POST", "/api/v1/products", `{"sku": `))
	sh.Must(405, sh.Call("PUT", "/api/v1/orders/1", map[string]any{}))
	sh.Must(404, sh.Call("GET", "/api/v1/invoices", nil))
	sh.Must(404, sh.Call("GET", "/api/v1/orders/abc", nil))

	// Status transitions: forward only, completed and cancelled are final.
	for _, step := range []struct {
		to   string
		want int
	}{{"processing", 200}, {"pending", 422}, {"completed", 200}, {"cancelled", 422}, {"processing", 422}, {"completed", 200}} {
		a := sh.Call("PATCH", fmt.Sprint("/api/v1/orders/", order["id"]), map[string]any{"status": step.to})
		if a.Status != step.want {
			t.Fatalf("to %s: %s, want %d", step.to, a, step.want)
		}
	}
	a := sh.Must(422, sh.Call("PATCH", "/api/v1/orders/1", map[string]any{"line_items": []any{map[string]any{"sku": "A-1", "quantity": 2}}}))
	if len(fieldErrors(t, a)["line_items"]) == 0 {
		t.Errorf("lines of a completed order changed: %s", a)
	}
	sh.Must(200, sh.Call("PATCH", "/api/v1/orders/1", map[string]any{"customer_note": "thanks"}))
	sh.Must(409, sh.Call("DELETE", "/api/v1/customers/1", nil))
}

func TestPatchIsPartial(t *testing.T) {
	sh := startShop(t, Options{})
	a := sh.Must(201, sh.Call("POST", "/api/v1/customers", map[string]any{"type": "person", "first_name": "Ann", "last_name": "Lee",
		"email": "ann@example.com", "phone": "123", "billing_address": map[string]any{"address_1": "Main St 1", "city": "Utrecht", "country": "nl"}}))
	created := a.Obj(t)
	if created["id"] != 1.0 || created["billing_address"].(map[string]any)["country"] != "NL" || created["deleted_at"] != nil {
		t.Fatalf("created %v", created)
	}
	sh.Clock.Advance(time.Second)
	got := sh.Must(200, sh.Call("PATCH", "/api/v1/customers/1", map[string]any{
		"billing_address": map[string]any{"city": "Amsterdam"}, "phone": nil, "id": 42, "created_at": "2000-01-01T00:00:00Z"})).Obj(t)
	addr := got["billing_address"].(map[string]any)
	if got["email"] != "ann@example.com" || got["phone"] != "" || addr["address_1"] != "Main St 1" || addr["city"] != "Amsterdam" {
		t.Errorf("after PATCH: %v", got)
	}
	if got["id"] != 1.0 || got["created_at"] != created["created_at"] || got["updated_at"] == created["updated_at"] {
		t.Errorf("read-only fields moved: %v", got)
	}
	if !reflect.DeepEqual(got, sh.Must(200, sh.Call("GET", "/api/v1/customers/1", nil)).Obj(t)) {
		t.Error("GET differs from the PATCH answer")
	}
}

func TestOrderLinesRoundTrip(t *testing.T) {
	sh := startShop(t, Options{})
	sh.Put(Customers, customer("Acme"))
	sh.Put(Products, Record{"sku": "MUG", "name": "Mug", "price": "9.95"})
	sh.Put(Products, Record{"sku": "CAP", "name": "Cap", "price": "14.00"})
	a := sh.Must(201, sh.Call("POST", "/api/v1/orders", map[string]any{"customer_id": 1, "currency": "eur",
		"line_items": []any{map[string]any{"sku": "MUG", "quantity": 2}, map[string]any{"product_id": 2, "quantity": 1, "price": 12}}}))
	o := a.Obj(t)
	lines := o["line_items"].([]any)
	l0, l1 := lines[0].(map[string]any), lines[1].(map[string]any)
	if o["number"] != "WS-1001" || o["status"] != "pending" || o["currency"] != "EUR" || o["total"] != "31.90" ||
		l0["product_id"] != 1.0 || l0["price"] != "9.95" || l0["total"] != "19.90" || l1["sku"] != "CAP" || l1["price"] != "12.00" {
		t.Fatalf("created %s", a.Body)
	}
	if !reflect.DeepEqual(o, sh.Must(200, sh.Call("GET", "/api/v1/orders/1", nil)).Obj(t)) {
		t.Error("GET differs from the POST answer")
	}
	// One line changed (price kept), one left out (removed), one new.
	p := sh.Must(200, sh.Call("PATCH", "/api/v1/orders/1", map[string]any{"line_items": []any{
		map[string]any{"id": l0["id"], "quantity": 5}, map[string]any{"sku": "CAP", "quantity": 1}}})).Obj(t)
	got := p["line_items"].([]any)
	n0, n1 := got[0].(map[string]any), got[1].(map[string]any)
	if len(got) != 2 || n0["id"] != l0["id"] || n0["quantity"] != 5.0 || n0["price"] != "9.95" ||
		n1["id"] == l1["id"] || n1["price"] != "14.00" || p["total"] != "63.75" {
		t.Errorf("after PATCH: %v", got)
	}
	// A PATCH without line_items leaves them.
	q := sh.Must(200, sh.Call("PATCH", "/api/v1/orders/1", map[string]any{"status": "processing"})).Obj(t)
	if !reflect.DeepEqual(q["line_items"], p["line_items"]) {
		t.Errorf("lines moved: %v", q["line_items"])
	}
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	sh := startShop(t, Options{RateLimit: 2})
	sh.Must(200, sh.Call("GET", "/api/v1/products", nil))
	sh.Clock.Advance(10 * time.Second)
	sh.Must(200, sh.Call("GET", "/api/v1/products", nil))
	a := sh.Must(429, sh.Call("GET", "/api/v1/products", nil))
	if got := a.Header.Get("Retry-After"); got != "50" {
		t.Errorf("Retry-After %q, want 50", got)
	}
	sh.Must(401, sh.CallAs("", "GET", "/api/v1/products", nil)) // refused before the limit
	sh.Clock.Advance(50 * time.Second)
	sh.Must(200, sh.Call("GET", "/api/v1/products", nil))
	sh.Srv.SetRateLimit(0)
	for range 5 {
		sh.Must(200, sh.Call("GET", "/api/v1/products", nil))
	}
}

func TestFaults(t *testing.T) {
	var slept time.Duration
	sh := startShop(t, Options{Sleep: func(_ context.Context, d time.Duration) { slept += d }})
	sh.Srv.SetFaults(Faults{ErrorRate: 1, Latency: time.Second})
	a := sh.Call("GET", "/api/v1/products", nil)
	if a.Status != 500 && a.Status != 503 || slept != time.Second {
		t.Errorf("error fault: %s after %v", a, slept)
	}
	sh.Srv.SetFaults(Faults{DropRate: 1})
	if _, err := sh.Try("Bearer "+sh.token, "GET", "/api/v1/products", nil); err == nil {
		t.Error("dropped GET got an answer")
	}
	if _, err := sh.Try("Bearer "+sh.token, "POST", "/api/v1/products", map[string]any{"sku": "X", "name": "X"}); err == nil {
		t.Error("dropped POST got an answer")
	}
	sh.Srv.SetFaults(Faults{})
	if got := sh.Srv.Records(Products); len(got) != 1 {
		t.Errorf("a dropped write is made all the same: %v", got)
	}
	// net/http may retry the dropped GET on a new connection: it is idempotent.
	if c := sh.Srv.Calls(); c["GET /api/v1/products"] < 2 || c["POST /api/v1/products"] != 1 {
		t.Errorf("calls %v", c)
	}
}

func TestPersistenceRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "shop.json")
	clock := NewManualClock(start)
	srv, err := New(Options{DataFile: file, Now: clock.Now, SeedDemo: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Remove(Orders, 1); err != nil {
		t.Fatal(err)
	}
	token, before := srv.Token(), srv.Changes(Orders, Time{start})
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	again, err := New(Options{DataFile: file, Now: clock.Now, SeedDemo: true})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.Token() != token {
		t.Error("token not kept")
	}
	if after := again.Changes(Orders, Time{start}); !reflect.DeepEqual(before, after) {
		t.Errorf("orders changed across a restart:\n%v\n%v", before, after)
	}
	if len(again.Records(Customers)) != 3 {
		t.Error("--seed-demo seeded a shop that had data")
	}
	c, err := again.Put(Customers, customer("New"))
	if err != nil || c["id"] != int64(4) {
		t.Errorf("new id after a restart: %v %v", c["id"], err)
	}
	o, err := again.Put(Orders, Record{"customer_id": 4, "line_items": []Record{{"sku": "MUG-001", "quantity": 1}}})
	if err != nil || o["number"] != "WS-1004" {
		t.Errorf("order number after a restart: %v %v", o["number"], err)
	}
}
