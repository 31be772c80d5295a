package erp

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/sandbox/custom/customtest"
)

func TestAPIKeyAuth(t *testing.T) {
	e := startERP(t, Options{})
	for _, key := range []string{"", "wrong", strings.ToUpper(e.key)} {
		a, err := e.Try(key, "GET", "/erp/customers", nil)
		if err != nil || a.Status != 401 {
			t.Fatalf("key %q: %v %v", key, a, err)
		}
		if code, _, _ := apiErr(t, a); code != "unauthorized" {
			t.Errorf("code %q", code)
		}
	}
	e.Must(200, e.Call("GET", "/erp/customers", nil))
	if got := e.Srv.Calls()["GET /erp/customers"]; got != 4 {
		t.Errorf("calls %d, want 4", got)
	}
}

func TestPagingToTheEnd(t *testing.T) {
	e := startERP(t, Options{})
	for i := range 7 {
		e.Put(Products, Record{"item_number": fmt.Sprintf("I-%d", i), "name": "Item", "price": 1})
	}
	items, _, pages := e.changes(Products, "", 3, nil)
	if pages != 3 || len(items) != 7 || items[0]["item_number"] != "I-0" || items[6]["item_number"] != "I-6" {
		t.Fatalf("%d pages, items %v", pages, field(items, "item_number"))
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x", "changed_after=42", "changed_after=ZXJwMS4t", "after=1"} {
		a := e.Must(400, e.Call("GET", "/erp/products?"+q, nil))
		apiErr(t, a)
	}
	a := e.Must(200, e.Call("GET", "/erp/products?item_number=i-3", nil)).Obj(t)
	if n := len(a["items"].([]any)); n != 1 || a["has_more"] != false {
		t.Errorf("filter by item_number: %v", a)
	}
}

// The cursor is a change sequence, not a time: every write after it is
// listed after it, also writes within the same second, and a record
// changed during paging comes again later in the same pass.
func TestChangeListingAfterCursor(t *testing.T) {
	e := startERP(t, Options{})
	var ids []string
	for i := range 6 {
		ids = append(ids, e.Put(Customers, Record{"name": fmt.Sprintf("Customer %d", i+1)})["id"].(string))
	}
	seen, cursor, _ := e.changes(Customers, "", 2, func(page int) {
		if page != 1 {
			return
		}
		// The clock stands still: these share the second of the creates.
		if _, err := e.Srv.Edit(Customers, ids[0], Record{"phone": "111"}); err != nil { // read already
			t.Fatal(err)
		}
		if _, err := e.Srv.Edit(Customers, ids[4], Record{"phone": "555"}); err != nil { // still to come
			t.Fatal(err)
		}
		e.Put(Customers, Record{"name": "Customer 7"})
	})
	if got := field(seen, "name"); !reflect.DeepEqual(got, []any{"Customer 1", "Customer 2", "Customer 3", "Customer 4", "Customer 6", "Customer 1", "Customer 5", "Customer 7"}) {
		t.Fatalf("pass saw %v", got)
	}
	if seen[6]["phone"] != "555" || seen[5]["phone"] != "111" {
		t.Errorf("changed records not read as changed: %v %v", seen[5], seen[6])
	}

	// Nothing changed: the cursor stands, the listing is empty.
	again, same, _ := e.changes(Customers, cursor, 2, nil)
	if len(again) != 0 || same != cursor {
		t.Errorf("no changes: %v, cursor %q → %q", again, cursor, same)
	}
	if err := e.Srv.Remove(Customers, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Srv.Edit(Customers, ids[2], Record{"city": "Utrecht"}); err != nil {
		t.Fatal(err)
	}
	next, _, _ := e.changes(Customers, cursor, 50, nil)
	want := []map[string]any{{"id": ids[1], "deleted": true, "updated_at": "2024-01-02T09:00:00Z"}}
	if len(next) != 2 || !reflect.DeepEqual(next[:1], want) || next[1]["city"] != "Utrecht" || next[1]["deleted"] != false {
		t.Errorf("changes after the cursor: %v", next)
	}
	e.Must(404, e.Call("GET", "/erp/customers/"+ids[1], nil))
	live := e.Must(200, e.Call("GET", "/erp/customers?limit=50", nil)).Obj(t)
	if n := len(live["items"].([]any)); n != 6 {
		t.Errorf("listing without changed_after: %d records, want the 6 live ones", n)
	}
	if e.Srv.Cursor() == cursor {
		t.Error("Cursor did not move")
	}
}

func TestValidationErrors(t *testing.T) {
	e := startERP(t, Options{})
	cust := e.Put(Customers, Record{"name": "Acme", "code": "ACME"})
	e.Put(Products, Record{"item_number": "W-1", "name": "Widget", "price": 2})
	e.Put(Products, Record{"item_number": "B-1", "name": "Blocked", "blocked": true})
	for _, tc := range []struct {
		path        string
		body        any
		code, field string
	}{
		{"/erp/customers", map[string]any{"code": "X"}, "required", "name"},
		{"/erp/customers", map[string]any{"name": "Y", "code": "acme"}, "taken", "code"},
		{"/erp/customers", map[string]any{"name": "Y", "country": "Netherlands"}, "invalid", "country"},
		{"/erp/customers", map[string]any{"name": "Y", "colour": "red"}, "unknown_field", "colour"},
		{"/erp/customers", map[string]any{"name": 12}, "invalid", "name"},
		{"/erp/contacts", map[string]any{"last_name": "Lee"}, "required", "customer_id"},
		{"/erp/contacts", map[string]any{"last_name": "Lee", "customer_id": "nope"}, "not_found", "customer_id"},
		{"/erp/contacts", map[string]any{"first_name": "Ann", "is_employee": true}, "required", "last_name"},
		{"/erp/products", map[string]any{"item_number": "w-1", "name": "Again"}, "taken", "item_number"},
		{"/erp/products", map[string]any{"item_number": "V", "name": "V", "vat_code": "HIGH"}, "invalid", "vat_code"},
		{"/erp/orders", map[string]any{"customer_id": "nope"}, "not_found", "customer_id"},
		{"/erp/orders", map[string]any{"customer_id": cust["id"], "order_date": "31-01-2024"}, "invalid", "order_date"},
		{"/erp/orders", map[string]any{"customer_id": cust["id"], "lines": []any{map[string]any{"item_number": "NOPE", "qty": 1}}}, "not_found", "lines[0].item_number"},
		{"/erp/orders", map[string]any{"customer_id": cust["id"], "lines": []any{map[string]any{"item_number": "W-1", "qty": 0}}}, "invalid", "lines[0].qty"},
		{"/erp/orders", map[string]any{"customer_id": cust["id"], "lines": []any{map[string]any{"item_number": "B-1", "qty": 1}}}, "invalid", "lines[0].item_number"},
		{"/erp/orders", map[string]any{"customer_id": cust["id"], "lines": []any{map[string]any{"item_number": "W-1", "qty": 1, "line_no": 2}, map[string]any{"item_number": "W-1", "qty": 1, "line_no": 2}}}, "invalid", "lines[1].line_no"},
	} {
		a := e.Must(422, e.Call("POST", tc.path, tc.body))
		if code, msg, field := apiErr(t, a); code != tc.code || field != tc.field || !strings.Contains(msg, tc.field) {
			t.Errorf("POST %s %v: %s, want %s on %s", tc.path, tc.body, a.Body, tc.code, tc.field)
		}
	}
	e.Must(400, e.Call("POST", "/erp/customers", "[1]"))
	e.Must(405, e.Call("PATCH", "/erp/customers/"+cust["id"].(string), map[string]any{}))
	e.Must(404, e.Call("GET", "/erp/invoices", nil))
	e.Must(404, e.Call("PUT", "/erp/customers/nope", map[string]any{"name": "X", "code": "X"}))
}

func TestPutReplacesTheWholeRecord(t *testing.T) {
	e := startERP(t, Options{})
	a := e.Must(201, e.Call("POST", "/erp/customers", map[string]any{"name": "Acme", "phone": "123", "country": "nl"}))
	c := a.Obj(t)
	id := c["id"].(string)
	if a.Header.Get("Location") != e.URL+"/erp/customers/"+id || c["code"] != "C00001" || c["country"] != "NL" || c["currency"] != "EUR" {
		t.Fatalf("created %s, Location %q", a.Body, a.Header.Get("Location"))
	}
	e.Clock.Advance(5 * time.Second)
	cursor := e.Srv.Cursor()
	// The same record back (read-only fields and all) is no change.
	same := e.Must(200, e.Call("PUT", "/erp/customers/"+id, c)).Obj(t)
	if !reflect.DeepEqual(same, c) || e.Srv.Cursor() != cursor {
		t.Errorf("a PUT of the same record changed it: %v", same)
	}
	// Left out: cleared.
	got := e.Must(200, e.Call("PUT", "/erp/customers/"+id, map[string]any{"code": "C00001", "name": "Acme Ltd"})).Obj(t)
	if got["phone"] != "" || got["country"] != "" || got["name"] != "Acme Ltd" || got["updated_at"] != "2024-01-02T09:00:05Z" || got["created_at"] != c["created_at"] {
		t.Errorf("after PUT: %v", got)
	}
	a = e.Must(422, e.Call("PUT", "/erp/customers/"+id, map[string]any{"name": "Acme Ltd"}))
	if _, _, f := apiErr(t, a); f != "code" {
		t.Errorf("PUT without code: %s", a.Body)
	}
	e.Must(422, e.Call("PUT", "/erp/customers/"+id, map[string]any{"id": "other", "code": "C00001", "name": "X"}))
}

func TestOrderLinesRoundTrip(t *testing.T) {
	e := startERP(t, Options{})
	cust := e.Put(Customers, Record{"name": "Acme", "currency": "GBP"})
	contact := e.Put(Contacts, Record{"customer_id": cust["id"], "last_name": "Lee"})
	w1 := e.Put(Products, Record{"item_number": "W-1", "name": "Widget", "price": 12.5, "vat_code": "R"})
	h1 := e.Put(Products, Record{"item_number": "H-1", "name": "Hour", "price": 100})
	// A line names its item by item number, or by the product's id.
	body := map[string]any{"customer_id": cust["id"], "contact_id": contact["id"], "reference": "PO-1", "delivery_date": "2024-02-01",
		"lines": []any{map[string]any{"item_number": "w-1", "qty": 4}, map[string]any{"item_id": h1["id"], "qty": 1.5, "price": 90, "discount_pct": 10, "description": "Setup"}}}
	a := e.Must(201, e.Call("POST", "/erp/orders", body))
	o := a.Obj(t)
	wantLines := []any{
		map[string]any{"line_no": 1.0, "item_id": w1["id"], "item_number": "W-1", "description": "Widget", "qty": 4.0, "price": 12.5, "discount_pct": 0.0, "vat_code": "R", "amount": 50.0},
		map[string]any{"line_no": 2.0, "item_id": h1["id"], "item_number": "H-1", "description": "Setup", "qty": 1.5, "price": 90.0, "discount_pct": 10.0, "vat_code": "S", "amount": 121.5},
	}
	if !reflect.DeepEqual(o["lines"], wantLines) || o["total"] != 171.5 || o["number"] != "SO00001" || o["currency"] != "GBP" ||
		o["order_date"] != "2024-01-02" || o["status"] != "open" {
		t.Fatalf("created %s", a.Body)
	}
	id := o["id"].(string)
	if !reflect.DeepEqual(o, e.Must(200, e.Call("GET", "/erp/orders/"+id, nil)).Obj(t)) {
		t.Error("GET differs from the POST reply")
	}
	// A full PUT: line 2 kept as read, line 1 left out, a new line numbered after.
	o["lines"] = []any{wantLines[1], map[string]any{"item_number": "W-1", "qty": 1}}
	o["status"] = "confirmed"
	got := e.Must(200, e.Call("PUT", "/erp/orders/"+id, o)).Obj(t)
	lines := got["lines"].([]any)
	if len(lines) != 2 || !reflect.DeepEqual(lines[0], wantLines[1]) || lines[1].(map[string]any)["line_no"] != 3.0 || got["total"] != 134.0 {
		t.Errorf("after PUT: %v", got)
	}
	// An invoiced order is locked; what it refers to cannot go.
	got["status"] = "invoiced"
	e.Must(200, e.Call("PUT", "/erp/orders/"+id, got))
	got["status"] = "invoiced"
	got["reference"] = "changed"
	if code, _, _ := apiErr(t, e.Must(409, e.Call("PUT", "/erp/orders/"+id, got))); code != "conflict" {
		t.Errorf("code %q", code)
	}
	e.Must(409, e.Call("DELETE", "/erp/orders/"+id, nil))
	e.Must(409, e.Call("DELETE", "/erp/customers/"+cust["id"].(string), nil))
	// An item id and an item number that name different products are refused.
	bad := map[string]any{"customer_id": cust["id"], "lines": []any{map[string]any{"item_id": h1["id"], "item_number": "W-1", "qty": 1}}}
	if _, _, field := apiErr(t, e.Must(422, e.Call("POST", "/erp/orders", bad))); field != "lines[0].item_number" {
		t.Errorf("field %q", field)
	}
	e.Must(409, e.Call("DELETE", "/erp/contacts/"+contact["id"].(string), nil))
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	e := startERP(t, Options{RateLimit: 1})
	e.Must(200, e.Call("GET", "/erp/products", nil))
	e.Clock.Advance(59 * time.Second)
	a := e.Must(429, e.Call("GET", "/erp/products", nil))
	if code, _, _ := apiErr(t, a); code != "rate_limited" || a.Header.Get("Retry-After") != "1" {
		t.Errorf("429: %s Retry-After %q", a.Body, a.Header.Get("Retry-After"))
	}
	e.Clock.Advance(time.Second)
	e.Must(200, e.Call("GET", "/erp/products", nil))
}

func TestFaults(t *testing.T) {
	var slept time.Duration
	e := startERP(t, Options{Sleep: func(_ context.Context, d time.Duration) { slept += d }})
	e.Srv.SetFaults(Faults{ErrorRate: 1, Latency: 2 * time.Second})
	a := e.Call("GET", "/erp/products", nil)
	if a.Status != 500 && a.Status != 503 || slept != 2*time.Second {
		t.Errorf("error fault: %s after %v", a, slept)
	}
	if a.Status == 503 && a.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	e.Srv.SetFaults(Faults{DropRate: 1})
	if _, err := e.Try(e.key, "POST", "/erp/products", map[string]any{"item_number": "X", "name": "X"}); err == nil {
		t.Error("dropped POST got an reply")
	}
	e.Srv.SetFaults(Faults{})
	if got := e.Srv.Records(Products); len(got) != 1 {
		t.Errorf("a dropped write is made all the same: %v", got)
	}
}

func TestPersistenceRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "erp.json")
	clock := NewManualClock(customtest.Start)
	srv, err := New(Options{DataFile: file, Now: clock.Now, SeedDemo: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	cursor := srv.Cursor()
	orders := srv.Records(Orders)
	if len(orders) != 2 {
		t.Fatalf("demo orders: %v", orders)
	}
	if err := srv.Remove(Orders, orders[1]["id"].(string)); err != nil {
		t.Fatal(err)
	}
	key, customers := srv.APIKey(), srv.Records(Customers)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := New(Options{DataFile: file, Now: clock.Now, SeedDemo: true, Logger: nil})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.APIKey() != key || !reflect.DeepEqual(again.Records(Customers), customers) || len(again.Records(Orders)) != 1 {
		t.Fatal("data not kept across a restart")
	}
	// The cursor given out before the restart still works.
	page := again.colls[Orders].list(mustCursor(t, cursor), true, 10, nil)
	if len(page.Items) != 1 || page.Items[0].(Tombstone).ID != orders[1]["id"] {
		t.Errorf("changes after the old cursor: %v", page.Items)
	}
	o, err := again.Put(Orders, Record{"customer_id": customers[0]["id"]})
	if err != nil || o["number"] != "SO00003" {
		t.Errorf("order number after a restart: %v %v", o["number"], err)
	}
}

func mustCursor(t *testing.T, c string) int64 {
	t.Helper()
	seq, ok := decodeCursor(c)
	if !ok {
		t.Fatalf("cursor %q", c)
	}
	return seq
}

// Line numbers name a line within its order for ever: a new line never
// gets the number of one removed before, also when the removed line had
// the highest number (the next free number would have been its own).
func TestLineNumbersAreNotHandedOutAgain(t *testing.T) {
	e := startERP(t, Options{})
	cust := e.Put(Customers, Record{"name": "Acme"})
	e.Put(Products, Record{"item_number": "W-1", "name": "Widget", "price": 12.5})
	body := map[string]any{"customer_id": cust["id"], "lines": []any{map[string]any{"item_number": "W-1", "qty": 1}, map[string]any{"item_number": "W-1", "qty": 2}}}
	o := e.Must(201, e.Call("POST", "/erp/orders", body)).Obj(t)
	id := o["id"].(string)
	lineNos := func(o map[string]any) []any { return field(toMaps(o["lines"]), "line_no") }
	// Line 2 removed.
	o["lines"] = o["lines"].([]any)[:1]
	o = e.Must(200, e.Call("PUT", "/erp/orders/"+id, o)).Obj(t)
	// A new line is 3, not 2 again.
	o["lines"] = append(o["lines"].([]any), map[string]any{"item_number": "W-1", "qty": 3})
	o = e.Must(200, e.Call("PUT", "/erp/orders/"+id, o)).Obj(t)
	if got := lineNos(o); !reflect.DeepEqual(got, []any{1.0, 3.0}) {
		t.Errorf("after removing line 2 and adding one: line numbers %v, want [1 3]", got)
	}
	// So through the user helpers too, and across a removal of all but one.
	if _, err := e.Srv.Edit(Orders, id, Record{"lines": []Record{{"line_no": 1, "item_number": "W-1", "qty": 1}}}); err != nil {
		t.Fatal(err)
	}
	got, err := e.Srv.Edit(Orders, id, Record{"lines": []Record{{"line_no": 1, "item_number": "W-1", "qty": 1}, {"item_number": "W-1", "qty": 5}}})
	if err != nil {
		t.Fatal(err)
	}
	if nos := field(toMaps(got["lines"]), "line_no"); len(nos) != 2 || fmt.Sprint(nos[1]) != "4" {
		t.Errorf("line numbers after the user's edits: %v, want [1 4]", nos)
	}
}

func toMaps(v any) []map[string]any {
	var out []map[string]any
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			m, _ := e.(map[string]any)
			out = append(out, m)
		}
	case []Record:
		out = x
	}
	return out
}
