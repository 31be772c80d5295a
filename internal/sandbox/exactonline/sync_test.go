package exactonline

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// syncCursor reads a sync endpoint the way a connector does: from the
// highest Timestamp seen, following __next, and returns the rows and the
// new highest Timestamp.
func (c *client) syncFrom(path string, since int64) ([]map[string]any, int64) {
	c.sb.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	rows, _ := c.readAll(path + sep + "$filter=" + url.QueryEscape(fmt.Sprintf("Timestamp gt %dL", since)))
	high := since
	for _, r := range rows {
		high = max(high, int64(num(c.sb.t, r["Timestamp"])))
	}
	return rows, high
}

func TestSyncReturnsChangesInRowVersionOrder(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	a := sb.seedAccount("A")
	b := sb.seedAccount("B")

	rows, high := c.syncFrom("sync/CRM/Accounts?$select=ID,Name,Timestamp", 1)
	if len(rows) != 2 || rows[0]["ID"] != a || rows[1]["ID"] != b {
		t.Fatalf("first sync: %v", rows)
	}
	if num(t, rows[0]["Timestamp"]) >= num(t, rows[1]["Timestamp"]) {
		t.Error("Timestamps do not rise")
	}
	if uri := rows[0]["__metadata"].(map[string]any)["uri"].(string); !strings.Contains(uri, "/sync/CRM/Accounts(") || !strings.HasSuffix(uri, "L)") {
		t.Errorf("sync row uri %q", uri)
	}

	// Nothing changed: nothing comes back. A's change comes back alone,
	// and then after B.
	if rows, _ := c.syncFrom("sync/CRM/Accounts?$select=ID,Timestamp", high); len(rows) != 0 {
		t.Errorf("sync without changes: %d rows", len(rows))
	}
	c.do(http.MethodPut, "crm/Accounts(guid'"+a+"')", map[string]any{"City": "Delft"})
	rows, high2 := c.syncFrom("sync/CRM/Accounts?$select=ID,City,Timestamp", high)
	if len(rows) != 1 || rows[0]["ID"] != a || rows[0]["City"] != "Delft" || high2 <= high {
		t.Errorf("sync after one change: %v", rows)
	}
	all, _ := c.syncFrom("sync/CRM/Accounts?$select=ID,Timestamp", 1)
	if len(all) != 2 || all[0]["ID"] != b || all[1]["ID"] != a {
		t.Errorf("full sync after the change: %v, want B then A", all)
	}
}

func TestSyncRowVersionsAreOneCounterPerDivision(t *testing.T) {
	sb := startSandbox(t, Options{})
	before := sb.RowVersion()
	acc := sb.seedAccount("A")
	item := sb.seedItem("I", 1)
	if _, err := sb.Put("SalesOrders", map[string]any{"OrderedBy": acc, "SalesOrderLines": []map[string]any{{"Item": item}}}); err != nil {
		t.Fatal(err)
	}
	// account, item, order header, order line: four row versions, and the
	// clock never moved.
	if got := sb.RowVersion() - before; got != 4 {
		t.Errorf("row version moved by %d, want 4", got)
	}
	c := sb.login()
	h, _ := c.syncFrom("sync/SalesOrder/SalesOrderHeaders?$select=ID,OrderID,OrderNumber,Timestamp", 1)
	l, _ := c.syncFrom("sync/SalesOrder/SalesOrderLines?$select=ID,OrderID,Item,Timestamp", 1)
	if len(h) != 1 || len(l) != 1 || h[0]["ID"] != h[0]["OrderID"] || l[0]["OrderID"] != h[0]["OrderID"] {
		t.Errorf("headers %v lines %v", h, l)
	}
}

func TestSyncIsStrictAboutItsQuery(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	for path, want := range map[string]string{
		"sync/CRM/Accounts":                                  "$select",
		"sync/CRM/Accounts?$filter=Timestamp gt 1L":          "$select",
		"sync/CRM/Accounts?$select=ID&$filter=Name eq 'x'":   "only use Timestamp",
		"sync/CRM/Accounts?$select=ID&$orderby=Name":         "$orderby is not supported",
		"sync/CRM/Accounts?$select=ID&$inlinecount=allpages": "not supported",
		"sync/Deleted?$filter=Timestamp gt 1L":               "$select",
	} {
		r := c.get(path)
		if r.status != 400 || !strings.Contains(r.message(t), want) {
			t.Errorf("GET %s: %d %s, want 400 about %s", path, r.status, r.body, want)
		}
	}
	if r := c.do(http.MethodPost, "sync/CRM/Accounts", map[string]any{"Name": "x"}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST to sync: %d", r.status)
	}
	for _, path := range []string{
		"sync/CRM/Contacts?$select=ID", "sync/Logistics/Items?$select=ID", "sync/CRM/QuotationHeaders?$select=ID",
		"sync/CRM/QuotationLines?$select=ID", "sync/SalesOrder/SalesOrderLines?$select=ID",
		"sync/CRM/Accounts?$select=ID&$filter=Timestamp gt 5L and Timestamp le 9000L",
	} {
		if r := c.get(path); r.status != 200 {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
}

func TestSyncPagesByThousandWithNext(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	for i := 0; i < 1005; i++ {
		if _, err := sb.Put("Items", map[string]any{"Code": fmt.Sprintf("I%04d", i), "Description": "x"}); err != nil {
			t.Fatal(err)
		}
	}
	first := c.get("sync/Logistics/Items?$select=ID,Code,Timestamp&$filter=Timestamp gt 1L")
	rows := first.rows(t)
	if len(rows) != 1000 {
		t.Fatalf("first sync page: %d rows", len(rows))
	}
	next := first.next(t)
	wantToken := fmt.Sprintf("$skiptoken=%dL", int64(num(t, rows[999]["Timestamp"])))
	if !strings.Contains(next, wantToken) {
		t.Errorf("__next %q, want %s", next, wantToken)
	}
	second := c.get(next)
	if n := len(second.rows(t)); n != 5 || second.next(t) != "" {
		t.Errorf("second page: %d rows, next %q", n, second.next(t))
	}
	if second.rows(t)[0]["Code"] != "I1000" {
		t.Errorf("second page starts at %v", second.rows(t)[0]["Code"])
	}
}

func TestSyncTimestampCanBeAString(t *testing.T) {
	sb := startSandbox(t, Options{TimestampAsString: true})
	c := sb.login()
	sb.seedAccount("A")
	row := c.get("sync/CRM/Accounts?$select=Timestamp,ID").rows(t)[0]
	if _, ok := row["Timestamp"].(string); !ok {
		t.Errorf("Timestamp %v (%T), want a string", row["Timestamp"], row["Timestamp"])
	}
}

func TestDeletedReportsEveryDeletionWithItsType(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	acc := sb.seedAccount("A")
	other := sb.seedAccount("B")
	contact := c.mustCreate("crm/Contacts", map[string]any{"Account": other, "LastName": "x"})["ID"].(string)
	item := sb.seedItem("I", 1)
	o := c.mustCreate("salesorder/SalesOrders", map[string]any{"OrderedBy": acc,
		"SalesOrderLines": []any{map[string]any{"Item": item}, map[string]any{"Item": item}}})
	q := c.mustCreate("crm/Quotations", map[string]any{"OrderAccount": acc, "QuotationLines": []any{map[string]any{"Item": item}}})
	orderID, quoteID := o["OrderID"].(string), q["QuotationID"].(string)
	line := o["SalesOrderLines"].(map[string]any)["results"].([]any)[0].(map[string]any)["ID"].(string)
	_, since := c.syncFrom("sync/Deleted?$select=Timestamp", 1)

	sb.clock.Advance(time.Minute)
	for _, p := range []string{
		"salesorder/SalesOrderLines(guid'" + line + "')",
		"salesorder/SalesOrders(guid'" + orderID + "')",
		"crm/Quotations(guid'" + quoteID + "')",
		"crm/Accounts(guid'" + other + "')", // takes its contact along
		"crm/Accounts(guid'" + acc + "')",
		"logistics/Items(guid'" + item + "')",
	} {
		if r := c.do(http.MethodDelete, p, nil); r.status != 204 {
			t.Fatalf("DELETE %s: %d %s", p, r.status, r.body)
		}
	}
	rows, _ := c.syncFrom("sync/Deleted?$select=Timestamp,ID,EntityKey,EntityType,DeletedBy,DeletedDate,Division", since)
	got := map[string]int{}
	for _, r := range rows {
		got[r["EntityKey"].(string)] = int(num(t, r["EntityType"]))
		if r["DeletedBy"] == nil || r["ID"] == nil || !wcfDate.MatchString(r["DeletedDate"].(string)) {
			t.Errorf("deletion row %v", r)
		}
	}
	want := map[string]int{line: 33, orderID: 32, quoteID: 34, other: 2, contact: 5, acc: 2, item: 9}
	for k, typ := range want {
		if got[k] != typ {
			t.Errorf("deletion of %s: EntityType %d, want %d", k, got[k], typ)
		}
	}
	if len(rows) != 9 { // the two order lines and the quotation line went with their headers
		t.Errorf("%d deletions, want 9", len(rows))
	}
	types := c.get("sync/Deleted?$select=EntityKey&$filter=" + url.QueryEscape(fmt.Sprintf("Timestamp gt %dL and EntityType eq 33", since))).rows(t)
	if len(types) != 2 {
		t.Errorf("deleted order lines: %d, want 2", len(types))
	}

	// Two months later Exact has forgotten.
	sb.clock.Advance(61 * 24 * time.Hour)
	c = sb.login()
	if rows, _ := c.syncFrom("sync/Deleted?$select=ID,Timestamp", since); len(rows) != 0 {
		t.Errorf("%d deletions remembered after two months", len(rows))
	}
}
