package exactonline

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var wcfDate = regexp.MustCompile(`^/Date\(-?\d+\)/$`)

func TestAccountLifecycle(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()

	acc := c.mustCreate("crm/Accounts", map[string]any{"Name": "Bakkerij Jansen", "City": "Utrecht", "Country": "nl", "Code": "42"})
	id := acc["ID"].(string)
	if acc["Code"] != strings.Repeat(" ", 16)+"42" {
		t.Errorf("Code %q: want it right-aligned in 18 characters", acc["Code"])
	}
	if acc["Country"] != "NL" || acc["CountryName"] != "Netherlands" || acc["Status"] != "C" || acc["IsSales"] != true {
		t.Errorf("defaults and derived fields: %v", acc)
	}
	if num(t, acc["Division"]) != float64(sb.Division()) || acc["Creator"] == nil || !wcfDate.MatchString(acc["Created"].(string)) || acc["Created"] != acc["Modified"] {
		t.Errorf("audit fields: Division %v Creator %v Created %v Modified %v", acc["Division"], acc["Creator"], acc["Created"], acc["Modified"])
	}
	meta := acc["__metadata"].(map[string]any)
	if meta["uri"] != sb.url+"/api/v1/"+strconv.Itoa(sb.Division())+"/crm/Accounts(guid'"+id+"')" || meta["type"] != "Exact.Web.Api.Models.Account" {
		t.Errorf("__metadata %v", meta)
	}

	sb.clock.Advance(time.Minute)
	if r := c.do(http.MethodPut, "crm/Accounts(guid'"+id+"')", map[string]any{"City": "Zwolle"}); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Fatalf("PUT: %d %s, want 204 without a body", r.status, r.body)
	}
	got := c.get("crm/Accounts(guid'" + id + "')").d(t)
	if got["City"] != "Zwolle" || got["Name"] != "Bakkerij Jansen" {
		t.Errorf("after a partial PUT: City %v Name %v", got["City"], got["Name"])
	}
	if got["Modified"] == got["Created"] {
		t.Error("PUT did not move Modified")
	}

	if r := c.do(http.MethodDelete, "crm/Accounts(guid'"+id+"')", nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r := c.get("crm/Accounts(guid'" + id + "')"); r.status != http.StatusNotFound {
		t.Errorf("GET after DELETE: %d", r.status)
	} else {
		r.message(t)
	}
}

func TestAccountCodesAreAssignedPaddedAndUnique(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	c.mustCreate("crm/Accounts", map[string]any{"Name": "A", "Code": "100"})
	b := c.mustCreate("crm/Accounts", map[string]any{"Name": "B"})
	if b["Code"] != strings.Repeat(" ", 15)+"101" {
		t.Errorf("assigned Code %q, want the next number padded to 18", b["Code"])
	}
	for _, code := range []string{"100", "   100", strings.Repeat(" ", 15) + "100"} {
		r := c.do(http.MethodPost, "crm/Accounts", map[string]any{"Name": "C", "Code": code})
		if r.status != http.StatusBadRequest || !strings.Contains(r.message(t), "already used") {
			t.Errorf("duplicate Code %q: %d %s", code, r.status, r.body)
		}
	}
	if r := c.do(http.MethodPost, "crm/Accounts", map[string]any{"Name": "D", "Code": strings.Repeat("9", 19)}); r.status != http.StatusBadRequest {
		t.Errorf("a 19-character Code: %d", r.status)
	}
	rows := c.get("crm/Accounts?$filter=Code eq '" + strings.Repeat(" ", 15) + "101'").rows(t)
	if len(rows) != 1 {
		t.Errorf("filter on the padded code: %d rows", len(rows))
	}
	rows = c.get("crm/Accounts?$filter=trim(Code) eq '101'").rows(t)
	if len(rows) != 1 {
		t.Errorf("filter on trim(Code): %d rows", len(rows))
	}
}

func TestWritesAreCheckedLikeExact(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	acc := sb.seedAccount("Klant")
	item := sb.seedItem("WIDGET", 10)
	ghost := "00000000-0000-0000-0000-00000000beef"
	for _, tc := range []struct {
		name, path string
		body       map[string]any
		want       string
	}{
		{"account without Name", "crm/Accounts", map[string]any{"City": "x"}, "Name is mandatory"},
		{"unknown property", "crm/Accounts", map[string]any{"Name": "x", "Colour": "red"}, "The property 'Colour' does not exist"},
		{"wrong type", "crm/Accounts", map[string]any{"Name": 12}, "Edm.String"},
		{"bad status", "crm/Accounts", map[string]any{"Name": "x", "Status": "Q"}, "Status"},
		{"item without Description", "logistics/Items", map[string]any{"Code": "X1"}, "Description is mandatory"},
		{"item without Code", "logistics/Items", map[string]any{"Description": "x"}, "Code is mandatory"},
		{"duplicate item code", "logistics/Items", map[string]any{"Code": "widget", "Description": "x"}, "already exists"},
		{"contact of an unknown account", "crm/Contacts", map[string]any{"Account": ghost, "LastName": "x"}, "does not exist"},
		{"contact without a name", "crm/Contacts", map[string]any{"Account": acc}, "FirstName or LastName"},
		{"order without lines", "salesorder/SalesOrders", map[string]any{"OrderedBy": acc}, "SalesOrderLines is mandatory"},
		{"order without OrderedBy", "salesorder/SalesOrders", map[string]any{"SalesOrderLines": []any{map[string]any{"Item": item}}}, "OrderedBy is mandatory"},
		{"order of an unknown account", "salesorder/SalesOrders", map[string]any{"OrderedBy": ghost, "SalesOrderLines": []any{map[string]any{"Item": item}}}, "does not exist"},
		{"order line of an unknown item", "salesorder/SalesOrders", map[string]any{"OrderedBy": acc, "SalesOrderLines": []any{map[string]any{"Item": ghost}}}, "SalesOrderLines[0]"},
		{"order line without Item", "salesorder/SalesOrders", map[string]any{"OrderedBy": acc, "SalesOrderLines": []any{map[string]any{"Quantity": 1}}}, "Item is mandatory"},
		{"line alone without OrderID", "salesorder/SalesOrderLines", map[string]any{"Item": item}, "OrderID is mandatory"},
		{"line of an unknown order", "salesorder/SalesOrderLines", map[string]any{"Item": item, "OrderID": ghost}, "does not exist"},
		{"quotation without lines", "crm/Quotations", map[string]any{"OrderAccount": acc}, "QuotationLines is mandatory"},
		{"quotation without OrderAccount", "crm/Quotations", map[string]any{"QuotationLines": []any{map[string]any{"Item": item}}}, "OrderAccount is mandatory"},
		{"quotation line alone without QuotationID", "crm/QuotationLines", map[string]any{"Item": item}, "QuotationID is mandatory"},
		{"bad guid", "crm/Contacts", map[string]any{"Account": "not-a-guid", "LastName": "x"}, "not a guid"},
		{"bad date", "crm/Contacts", map[string]any{"Account": acc, "LastName": "x", "BirthDate": "yesterday"}, "not a date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(http.MethodPost, tc.path, tc.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("%d %s, want 400", r.status, r.body)
			}
			if msg := r.message(t); !strings.Contains(msg, tc.want) {
				t.Errorf("message %q does not contain %q", msg, tc.want)
			}
		})
	}
	if n := len(sb.Records("SalesOrders")) + len(sb.Records("SalesOrderLines")) + len(sb.Records("Contacts")); n != 0 {
		t.Errorf("refused writes stored %d records", n)
	}
}

func TestReadOnlyPropertiesAreIgnored(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	acc := c.mustCreate("crm/Accounts", map[string]any{
		"Name": "X", "ID": "11111111-1111-1111-1111-111111111111", "Created": "2001-01-01", "CountryName": "Narnia", "Division": 7,
	})
	if acc["ID"] == "11111111-1111-1111-1111-111111111111" || acc["CountryName"] == "Narnia" || num(t, acc["Division"]) == 7 {
		t.Errorf("read-only properties were taken: %v", acc)
	}
	item := c.mustCreate("logistics/Items", map[string]any{"Code": "P", "Description": "p", "StandardSalesPrice": 99})
	if num(t, item["StandardSalesPrice"]) != 0 {
		t.Errorf("StandardSalesPrice is read-only but became %v", item["StandardSalesPrice"])
	}
}

func TestSalesOrderWithInlineLines(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	acc := sb.seedAccount("Klant")
	widget := sb.seedItem("WIDGET", 10)
	gadget := sb.seedItem("GADGET", 2.5)

	for _, shape := range []string{"array", "results"} {
		t.Run(shape, func(t *testing.T) {
			lines := []any{
				map[string]any{"Item": widget, "Quantity": 3},
				map[string]any{"Item": gadget, "Quantity": 4, "UnitPrice": 3, "Discount": 0.5, "Description": "half price"},
			}
			var inline any = lines
			if shape == "results" {
				inline = map[string]any{"results": lines}
			}
			o := c.mustCreate("salesorder/SalesOrders", map[string]any{
				"OrderedBy": acc, "Description": "webshop 1001", "OrderDate": "2025-03-01T10:30:00", "SalesOrderLines": inline,
			})
			if o["DeliverTo"] != acc || o["InvoiceTo"] != acc || num(t, o["Status"]) != 12 || o["OrderedByName"] != "Klant" {
				t.Errorf("header defaults: %v", o)
			}
			if num(t, o["AmountDC"]) != 36 || num(t, o["OrderNumber"]) < 1 {
				t.Errorf("AmountDC %v (want 3×10 + 4×3×0.5 = 36), OrderNumber %v", o["AmountDC"], o["OrderNumber"])
			}
			// 2025-03-01T10:30 Dutch time is read back as its wall clock in ms.
			if o["OrderDate"] != "/Date(1740825000000)/" {
				t.Errorf("OrderDate %v, want /Date(1740825000000)/", o["OrderDate"])
			}
			res := o["SalesOrderLines"].(map[string]any)["results"].([]any)
			if len(res) != 2 {
				t.Fatalf("%d lines in the response", len(res))
			}
			l1, l2 := res[0].(map[string]any), res[1].(map[string]any)
			if num(t, l1["LineNumber"]) != 1 || num(t, l2["LineNumber"]) != 2 || l1["ItemCode"] != "WIDGET" || l1["OrderID"] != o["OrderID"] {
				t.Errorf("lines: %v / %v", l1, l2)
			}
			if num(t, l1["UnitPrice"]) != 10 || num(t, l1["AmountDC"]) != 30 || l1["Description"] != "Item WIDGET" {
				t.Errorf("line 1 takes the item's price and description: %v", l1)
			}
			if num(t, l2["NetPrice"]) != 1.5 || num(t, l2["AmountDC"]) != 6 || l2["Description"] != "half price" {
				t.Errorf("line 2 NetPrice %v AmountDC %v", l2["NetPrice"], l2["AmountDC"])
			}
		})
	}
}

func TestSalesOrderRules(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	acc, other := sb.seedAccount("Klant"), sb.seedAccount("Ander")
	item := sb.seedItem("WIDGET", 10)
	o := c.mustCreate("salesorder/SalesOrders", map[string]any{"OrderedBy": acc, "SalesOrderLines": []any{map[string]any{"Item": item}}})
	key := "salesorder/SalesOrders(guid'" + o["OrderID"].(string) + "')"

	if r := c.do(http.MethodPut, key, map[string]any{"OrderedBy": other}); r.status != 400 || !strings.Contains(r.message(t), "OrderedBy cannot be changed") {
		t.Errorf("changing OrderedBy: %d %s", r.status, r.body)
	}
	if r := c.do(http.MethodPut, key, map[string]any{"DeliverTo": other}); r.status != 400 {
		t.Errorf("changing DeliverTo: %d %s", r.status, r.body)
	}
	if r := c.do(http.MethodPut, key, map[string]any{"OrderedBy": acc, "YourRef": "PO-7"}); r.status != 204 {
		t.Errorf("sending the same OrderedBy with a change: %d %s", r.status, r.body)
	}
	if r := c.do(http.MethodPut, key, map[string]any{"SalesOrderLines": []any{}}); r.status != 400 {
		t.Errorf("lines in a PUT: %d", r.status)
	}

	// A line posted on its own joins the order and moves its total.
	line := c.mustCreate("salesorder/SalesOrderLines", map[string]any{"OrderID": o["OrderID"], "Item": item, "Quantity": 2})
	if num(t, line["LineNumber"]) != 2 || num(t, line["OrderNumber"]) != num(t, o["OrderNumber"]) {
		t.Errorf("line posted alone: %v", line)
	}
	if got := c.get(key).d(t); num(t, got["AmountDC"]) != 30 {
		t.Errorf("order total %v after a second line, want 30", got["AmountDC"])
	}

	// The user completes the order in Exact; the API may no longer change it.
	if _, err := sb.Put("SalesOrders", map[string]any{"OrderID": o["OrderID"], "Status": 21}); err != nil {
		t.Fatal(err)
	}
	if r := c.do(http.MethodPut, key, map[string]any{"Description": "late"}); r.status != 400 || !strings.Contains(r.message(t), "complete") {
		t.Errorf("PUT on a completed order: %d %s", r.status, r.body)
	}
	if r := c.do(http.MethodPut, "salesorder/SalesOrderLines(guid'"+line["ID"].(string)+"')", map[string]any{"Quantity": 5}); r.status != 400 {
		t.Errorf("PUT on a line of a completed order: %d", r.status)
	}
	if r := c.do(http.MethodDelete, key, nil); r.status != 400 {
		t.Errorf("DELETE of a completed order: %d", r.status)
	}
}

func TestDeletingRespectsReferences(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	acc := sb.seedAccount("Klant")
	item := sb.seedItem("WIDGET", 10)
	contact := c.mustCreate("crm/Contacts", map[string]any{"Account": acc, "FirstName": "Jan", "LastName": "Jansen"})
	if contact["FullName"] != "Jan Jansen" || contact["AccountName"] != "Klant" {
		t.Errorf("contact: %v", contact)
	}
	o := c.mustCreate("salesorder/SalesOrders", map[string]any{"OrderedBy": acc, "SalesOrderLines": []any{map[string]any{"Item": item}}})
	if r := c.do(http.MethodDelete, "crm/Accounts(guid'"+acc+"')", nil); r.status != 400 || !strings.Contains(r.message(t), "in use") {
		t.Errorf("deleting an account with an order: %d %s", r.status, r.body)
	}
	if r := c.do(http.MethodDelete, "logistics/Items(guid'"+item+"')", nil); r.status != 400 {
		t.Errorf("deleting an item on an order line: %d", r.status)
	}
	if r := c.do(http.MethodDelete, "salesorder/SalesOrders(guid'"+o["OrderID"].(string)+"')", nil); r.status != 204 {
		t.Fatalf("deleting the order: %d %s", r.status, r.body)
	}
	if n := len(sb.Records("SalesOrderLines")); n != 0 {
		t.Errorf("%d lines outlived their order", n)
	}
	if r := c.do(http.MethodDelete, "crm/Accounts(guid'"+acc+"')", nil); r.status != 204 {
		t.Fatalf("deleting the account once unused: %d %s", r.status, r.body)
	}
	if n := len(sb.Records("Contacts")); n != 0 {
		t.Errorf("the account's contact outlived it")
	}
}

func TestQuotationWithLines(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	acc := sb.seedAccount("Prospect")
	item := sb.seedItem("SVC", 100)
	q := c.mustCreate("crm/Quotations", map[string]any{"OrderAccount": acc, "Description": "offer",
		"QuotationLines": map[string]any{"results": []any{map[string]any{"Item": item, "Quantity": 2, "Discount": 0.1}}}})
	if num(t, q["AmountDC"]) != 180 || num(t, q["VersionNumber"]) != 1 || num(t, q["Status"]) != 20 || q["InvoiceAccount"] != acc {
		t.Errorf("quotation: %v", q)
	}
	line := c.mustCreate("crm/QuotationLines", map[string]any{"QuotationID": q["QuotationID"], "Item": item})
	if num(t, line["LineNumber"]) != 2 || num(t, line["QuotationNumber"]) != num(t, q["QuotationNumber"]) {
		t.Errorf("quotation line: %v", line)
	}
	got := c.get("crm/Quotations(guid'" + q["QuotationID"].(string) + "')?$expand=QuotationLines").d(t)
	if num(t, got["AmountDC"]) != 280 || len(got["QuotationLines"].(map[string]any)["results"].([]any)) != 2 {
		t.Errorf("quotation after a second line: %v", got)
	}
}

func TestDatesAreAcceptedInEveryForm(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	acc := sb.seedAccount("Klant")
	for _, in := range []string{
		"1980-06-15", "1980-06-15T00:00:00", "1980-06-15T00:00:00.000", "1980-06-14T22:00:00Z",
		"1980-06-15T00:00:00+02:00", "/Date(329875200000)/", "/Date(329868000000+0200)/",
	} {
		ct := c.mustCreate("crm/Contacts", map[string]any{"Account": acc, "LastName": in, "BirthDate": in})
		if ct["BirthDate"] != "/Date(329875200000)/" {
			t.Errorf("BirthDate written as %q reads %v, want /Date(329875200000)/", in, ct["BirthDate"])
		}
	}
}

func TestDatesCanCarryAnOffset(t *testing.T) {
	sb := startSandbox(t, Options{DateOffsetSuffix: true})
	c := sb.login()
	acc := sb.seedAccount("Klant")
	ct := c.mustCreate("crm/Contacts", map[string]any{"Account": acc, "LastName": "x", "BirthDate": "1980-06-15"})
	if ct["BirthDate"] != "/Date(329868000000+0200)/" {
		t.Errorf("BirthDate %v, want the UTC instant with +0200", ct["BirthDate"])
	}
}

func TestPutCanSetWhatTheAPIKeepsReadOnly(t *testing.T) {
	sb := startSandbox(t, Options{})
	r, err := sb.Put("Items", map[string]any{"Code": "A", "Description": "a", "StandardSalesPrice": 12.5, "Stock": 3.0})
	if err != nil {
		t.Fatal(err)
	}
	if r["StandardSalesPrice"] != 12.5 || r["Stock"] != 3.0 || r["Timestamp"].(int64) <= 1 {
		t.Errorf("Put item: %v", r)
	}
	if _, err := sb.Put("Nope", nil); err == nil || !strings.Contains(err.Error(), "Accounts") {
		t.Errorf("unknown entity: %v", err)
	}
	if _, err := sb.Put("Accounts", map[string]any{"City": "x"}); err == nil {
		t.Error("Put of an account without Name succeeded")
	}
}
