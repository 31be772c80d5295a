package exactonline

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// seedAccounts puts n accounts named "Account 001"… in place.
func (sb *sandbox) seedAccounts(n int) []string {
	sb.t.Helper()
	var ids []string
	for i := 1; i <= n; i++ {
		r, err := sb.Put("Accounts", map[string]any{"Name": fmt.Sprintf("Account %03d", i), "City": []string{"Utrecht", "Zwolle", "Delft"}[i%3]})
		if err != nil {
			sb.t.Fatal(err)
		}
		ids = append(ids, r["ID"].(string))
	}
	return ids
}

// readAll follows __next from the first page and returns every row and the
// number of pages.
func (c *client) readAll(path string) (rows []map[string]any, pages int) {
	c.sb.t.Helper()
	for next := path; next != ""; pages++ {
		r := c.get(next)
		if r.status != 200 {
			c.sb.t.Fatalf("GET %s: %d %s", next, r.status, r.body)
		}
		rows = append(rows, r.rows(c.sb.t)...)
		next = r.next(c.sb.t)
		if pages > 1000 {
			c.sb.t.Fatal("__next never ends")
		}
	}
	return rows, pages
}

func TestListsPageBySixtyWithNext(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	ids := sb.seedAccounts(130)

	first := c.get("crm/Accounts?$filter=Name ne null&$select=ID,Name")
	if n := len(first.rows(t)); n != 60 {
		t.Fatalf("first page: %d rows, want 60", n)
	}
	next := first.next(t)
	last := first.rows(t)[59]["ID"].(string)
	if !strings.HasPrefix(next, sb.url+"/api/v1/") || !strings.Contains(next, "$skiptoken=guid'"+last+"'") {
		t.Errorf("__next %q: want an absolute URL with $skiptoken=guid'%s'", next, last)
	}
	u, err := url.Parse(next)
	if err != nil || u.Query().Get("$filter") != "Name ne null" || u.Query().Get("$select") != "ID,Name" {
		t.Errorf("__next %q does not keep the query", next)
	}
	for k := range first.rows(t)[0] {
		if k != "__metadata" && k != "ID" && k != "Name" {
			t.Errorf("$select=ID,Name gave property %s", k)
		}
	}

	rows, pages := c.readAll("crm/Accounts?$filter=Name ne null&$select=ID")
	if pages != 3 || len(rows) != 130 {
		t.Fatalf("%d rows in %d pages, want 130 in 3", len(rows), pages)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r["ID"].(string))
	}
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Error("paging did not return every account once, in key order")
	}
	if _, ok := c.get("crm/Accounts?$filter=Name eq 'Account 001'").d(t)["__next"]; ok {
		t.Error("a single page has a __next")
	}
}

func TestTopSkipOrderbyAndCount(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	sb.seedAccounts(100)

	r := c.get("crm/Accounts?$filter=Name ne null&$top=5&$orderby=Name desc&$inlinecount=allpages")
	rows := r.rows(t)
	if len(rows) != 5 || rows[0]["Name"] != "Account 100" || rows[4]["Name"] != "Account 096" {
		t.Errorf("$top=5 by Name desc: %v…", rows[0]["Name"])
	}
	if r.d(t)["__count"] != "100" {
		t.Errorf("__count %v, want \"100\"", r.d(t)["__count"])
	}
	if r.next(t) != "" {
		t.Error("$top within one page has a __next")
	}

	// $top beyond one page: pages of 60 until $top is reached.
	all, pages := c.readAll("crm/Accounts?$filter=Name ne null&$top=70&$orderby=City,Name desc")
	if len(all) != 70 || pages != 2 {
		t.Fatalf("$top=70: %d rows in %d pages", len(all), pages)
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a["City"].(string) > b["City"].(string) || a["City"] == b["City"] && a["Name"].(string) < b["Name"].(string) {
			t.Fatalf("rows %d and %d out of order: %v %v / %v %v", i-1, i, a["City"], a["Name"], b["City"], b["Name"])
		}
	}

	skipped := c.get("crm/Accounts?$filter=Name ne null&$orderby=Name&$skip=98").rows(t)
	if len(skipped) != 2 || skipped[0]["Name"] != "Account 099" {
		t.Errorf("$skip=98: %d rows", len(skipped))
	}
}

func TestOrderedPagesCarryTheOrderInTheSkiptoken(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	sb.seedAccounts(75)
	first := c.get("crm/Accounts?$filter=Name ne null&$orderby=City desc,Name")
	next := first.next(t)
	if !strings.Contains(next, "$skiptoken='") || !strings.Contains(next, ",guid'") {
		t.Errorf("__next %q: want the last row's City, Name and key", next)
	}
	rows, _ := c.readAll("crm/Accounts?$filter=Name ne null&$orderby=City desc,Name")
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r["ID"].(string)] = true
	}
	if len(rows) != 75 || len(seen) != 75 {
		t.Errorf("%d rows, %d distinct, want 75", len(rows), len(seen))
	}
}

func TestFiltersOverHTTP(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	ids := sb.seedAccounts(9)
	for _, tc := range []struct {
		filter string
		want   int
	}{
		{"City eq 'Utrecht'", 3},
		{"City eq 'utrecht' or City eq 'Delft'", 6},
		{"not (City eq 'Utrecht') and substringof('00', Name)", 6},
		{"ID eq guid'" + ids[0] + "'", 1},
		{"Name ge 'Account 005' and Name lt 'Account 007'", 2},
		{"Modified gt datetime'2025-03-10T09:00:00' or Modified eq datetime'2025-03-10T10:00:00'", 9},
		{"startswith(trim(Code), '1')", 1},
		{"Blocked eq false and IsSales eq true and Email eq null", 9},
	} {
		r := c.get("crm/Accounts?$filter=" + url.QueryEscape(tc.filter))
		if r.status != 200 {
			t.Errorf("%s: %d %s", tc.filter, r.status, r.body)
			continue
		}
		if n := len(r.rows(t)); n != tc.want {
			t.Errorf("%s: %d rows, want %d", tc.filter, n, tc.want)
		}
	}
	bad := c.get("crm/Accounts?$filter=" + url.QueryEscape("ID eq 'x'"))
	if bad.status != 400 || !strings.Contains(bad.message(t), "incompatible") {
		t.Errorf("mistyped filter: %d %s", bad.status, bad.body)
	}
}

func TestMandatoryFilterOnAccountsAndItems(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	for _, path := range []string{"crm/Accounts", "logistics/Items", "crm/Accounts?$select=ID", "crm/Accounts?$filter=" + url.QueryEscape("Remarks eq 'x'")} {
		r := c.get(path)
		if r.status != 400 || !strings.Contains(r.message(t), "This endpoint has mandatory filtering applied") {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	for _, path := range []string{"crm/Contacts", "salesorder/SalesOrders", "crm/Accounts?$filter=" + url.QueryEscape("Modified gt datetime'2020-01-01'")} {
		if r := c.get(path); r.status != 200 {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	relaxed := startSandbox(t, Options{NoMandatoryFilter: true}).login()
	if r := relaxed.get("crm/Accounts"); r.status != 200 {
		t.Errorf("NoMandatoryFilter: %d", r.status)
	}
}

func TestBulkNeedsSelectAndPagesByThousand(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	sb.seedAccounts(1001)
	r := c.get("bulk/CRM/Accounts")
	if r.status != 400 || !strings.Contains(r.message(t), "$select") {
		t.Errorf("bulk without $select: %d %s", r.status, r.body)
	}
	if r := c.get("bulk/CRM/Accounts?$top=1"); r.status != 200 || len(r.rows(t)) != 1 {
		t.Errorf("bulk with $top=1: %d", r.status)
	}
	page := c.get("bulk/CRM/Accounts?$select=ID,Name")
	if n := len(page.rows(t)); n != 1000 || page.next(t) == "" {
		t.Fatalf("bulk page: %d rows, __next %q", n, page.next(t))
	}
	if uri := page.rows(t)[0]["__metadata"].(map[string]any)["uri"].(string); !strings.Contains(uri, "/bulk/CRM/Accounts(guid'") {
		t.Errorf("bulk row uri %s", uri)
	}
	rest := c.get(page.next(t))
	if n := len(rest.rows(t)); n != 1 || rest.next(t) != "" {
		t.Errorf("second bulk page: %d rows", n)
	}
	if r := c.do(http.MethodPost, "bulk/CRM/Accounts", map[string]any{"Name": "x"}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST to bulk: %d", r.status)
	}
}

func TestKeyedReadsAndLines(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	acc := sb.seedAccount("Klant")
	item := sb.seedItem("W", 1)
	o := c.mustCreate("salesorder/SalesOrders", map[string]any{"OrderedBy": acc,
		"SalesOrderLines": []any{map[string]any{"Item": item}, map[string]any{"Item": item, "Quantity": 2}}})
	key := "salesorder/SalesOrders(guid'" + o["OrderID"].(string) + "')"

	got := c.get(key).d(t)
	deferred := got["SalesOrderLines"].(map[string]any)["__deferred"].(map[string]any)["uri"].(string)
	if !strings.HasSuffix(deferred, key+"/SalesOrderLines") {
		t.Errorf("deferred lines uri %q", deferred)
	}
	lines := c.get(deferred).rows(t)
	if len(lines) != 2 {
		t.Errorf("following the deferred uri: %d lines", len(lines))
	}
	sel := c.get(key + "?$select=OrderNumber").d(t)
	if _, ok := sel["SalesOrderLines"]; ok || sel["OrderNumber"] == nil || sel["OrderID"] != nil {
		t.Errorf("$select=OrderNumber on a keyed read: %v", sel)
	}
	if r := c.get("salesorder/SalesOrders(guid'00000000-0000-0000-0000-000000000001')"); r.status != 404 {
		t.Errorf("unknown key: %d", r.status)
	}
	if r := c.get("salesorder/SalesOrders(42)"); r.status != 400 {
		t.Errorf("a key that is not a guid: %d", r.status)
	}
	named := c.get("crm/Accounts(ID=guid'" + acc + "')")
	if named.status != 200 {
		t.Errorf("named key: %d", named.status)
	}
	listed := c.get("salesorder/SalesOrderLines?$filter=OrderID eq guid'" + o["OrderID"].(string) + "'&$orderby=LineNumber desc").rows(t)
	if len(listed) != 2 || num(t, listed[0]["LineNumber"]) != 2 {
		t.Errorf("lines by OrderID: %v", listed)
	}
}

func TestKeyedReadShapes(t *testing.T) {
	for shape, want := range map[string]string{"object": `{"d":{"__metadata"`, "results": `{"d":{"results":[{"__metadata"`, "array": `{"d":[{"__metadata"`} {
		sb := startSandbox(t, Options{KeyedReadShape: shape})
		c := sb.login()
		id := sb.seedAccount("x")
		if r := c.get("crm/Accounts(guid'" + id + "')"); !strings.HasPrefix(string(r.body), want) {
			t.Errorf("%s: %s", shape, r.body)
		}
	}
}

func TestUnknownOptionsAndPaths(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	for path, want := range map[string]int{
		"crm/Accounts?$filter=Name eq 'x'&$foo=1":        400,
		"crm/Accounts?$filter=Name eq 'x'&$top=-1":       400,
		"crm/Accounts?$filter=Name eq 'x'&$select=Nope":  400,
		"crm/Accounts?$filter=Name eq 'x'&$orderby=Nope": 400,
		"crm/Accounts?$filter=Name eq 'x'&$expand=Nope":  400,
		"crm/Accounts?$filter=Name eq 'x'&$skiptoken=?":  400,
		"crm/Nothing":                               404,
		"CRM/accounts?$filter=Name eq 'x'":          200, // paths ignore case
		"crm/Accounts/?$filter=Name eq 'x'&foo=bar": 200,
	} {
		r := c.get(path)
		if r.status != want {
			t.Errorf("GET %s: %d, want %d (%s)", path, r.status, want, r.body)
		}
		if r.status >= 400 {
			r.message(t)
		}
	}
	if r := c.do(http.MethodPatch, "crm/Accounts", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: %d", r.status)
	}
	if r := c.do(http.MethodPut, "crm/Accounts", map[string]any{}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT without key: %d", r.status)
	}
}

func TestCallsAreCountedByEndpoint(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	id := sb.seedAccount("x")
	c.get("crm/Accounts(guid'" + id + "')")
	c.get("crm/Accounts?$filter=Name eq 'x'")
	c.do(http.MethodPut, "crm/Accounts(guid'"+id+"')", map[string]any{"City": "y"})
	c.get("sync/CRM/Accounts?$select=ID")
	calls := sb.Calls()
	if calls["GET crm/Accounts"] != 2 || calls["PUT crm/Accounts"] != 1 || calls["GET sync/CRM/Accounts"] != 1 || calls["POST oauth2/token"] != 1 {
		t.Errorf("calls %v", calls)
	}
	sb.ResetCalls()
	if len(sb.Calls()) != 0 {
		t.Error("ResetCalls left counts")
	}
}
