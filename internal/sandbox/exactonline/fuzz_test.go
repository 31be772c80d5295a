package exactonline

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// inProcess is a sandbox reached through its Handler directly, with a
// bearer token that does not expire: fast enough to fuzz.
type inProcess struct {
	srv *Server
	h   http.Handler
}

func newInProcess(t testing.TB) *inProcess {
	srv, err := New(Options{Seed: 3, NoMandatoryFilter: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.mu.Lock()
	srv.access["fuzz"] = &accessToken{Token: "fuzz", ClientID: srv.app.ClientID, Expires: srv.now().Add(100 * 365 * 24 * time.Hour)}
	srv.mu.Unlock()
	acc, err := srv.Put("Accounts", map[string]any{"Name": "Seed", "City": "Utrecht"})
	if err != nil {
		t.Fatal(err)
	}
	item, _ := srv.Put("Items", map[string]any{"Code": "SEED", "Description": "seed", "StandardSalesPrice": 2.0})
	if _, err := srv.Put("SalesOrders", map[string]any{"OrderedBy": acc["ID"], "SalesOrderLines": []map[string]any{{"Item": item["ID"]}}}); err != nil {
		t.Fatal(err)
	}
	return &inProcess{srv: srv, h: srv.Handler()}
}

func (p *inProcess) call(method, target, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	req.URL.Path = "/api/v1/" + strconv.Itoa(p.srv.Division()) + "/" + target
	if i := strings.IndexByte(target, '?'); i >= 0 {
		req.URL.Path = "/api/v1/" + strconv.Itoa(p.srv.Division()) + "/" + target[:i]
		req.URL.RawQuery = target[i+1:]
	}
	req.Header.Set("Authorization", "Bearer fuzz")
	w := httptest.NewRecorder()
	p.h.ServeHTTP(w, req)
	return w
}

// answered checks that an answer is one the API may give: a success or a
// 4xx, always with a JSON body (or none for 204).
func answered(t *testing.T, w *httptest.ResponseRecorder, what string) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s: %d %s", what, w.Code, w.Body)
	}
	if w.Code != http.StatusNoContent && !json.Valid(w.Body.Bytes()) {
		t.Fatalf("%s: %d with a body that is not JSON: %q", what, w.Code, w.Body)
	}
}

// FuzzQuery: any query string on a list, bulk or sync endpoint gets a
// well-formed answer, never a crash.
func FuzzQuery(f *testing.F) {
	for _, seed := range []string{
		"$filter=Name eq 'Seed'&$select=ID,Name&$top=5&$orderby=Name desc,City&$inlinecount=allpages",
		"$skiptoken=guid'3f2504e0-4f89-11d3-9a0c-0305e82c3301'&$skip=2",
		"$skiptoken='a',null,guid'3f2504e0-4f89-11d3-9a0c-0305e82c3301'&$orderby=City,Email",
		"$expand=SalesOrderLines&$select=OrderID,SalesOrderLines",
		"$filter=Timestamp gt 1L&$select=ID,Timestamp&$skiptoken=5L",
		"$format=json&$top=0", "%zz", "$select=*&$orderby=Modified asc",
	} {
		f.Add(seed)
	}
	p := newInProcess(f)
	f.Fuzz(func(t *testing.T, q string) {
		for _, path := range []string{"crm/Accounts", "salesorder/SalesOrders", "bulk/Logistics/Items", "sync/CRM/Accounts", "sync/Deleted"} {
			answered(t, p.call(http.MethodGet, path+"?"+q, ""), "GET "+path+"?"+q)
		}
	})
}

// FuzzBody: any body posted or put gets a well-formed answer, and what is
// stored reads back.
func FuzzBody(f *testing.F) {
	for _, seed := range []string{
		`{"Name":"x","Code":"12","Country":"nl","Status":"P"}`,
		`{"Name":"x","Blocked":true,"Created":"2020-01-01"}`,
		`{"OrderedBy":"` + "00000000-0000-0000-0000-000000000000" + `","SalesOrderLines":{"results":[{"Item":null}]}}`,
		`{"Code":"A","Description":"b","StartDate":"/Date(1700000000000)/","CostPriceStandard":"1.5"}`,
		`[]`, `null`, `{"Name":"x"}{}`, `{"__metadata":{},"Name":"\u0000"}`,
	} {
		f.Add(seed)
	}
	p := newInProcess(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"crm/Accounts", "logistics/Items", "salesorder/SalesOrders", "crm/Contacts"} {
			w := p.call(http.MethodPost, path, body)
			answered(t, w, "POST "+path+" "+body)
			if w.Code != http.StatusCreated {
				continue
			}
			var created struct{ D map[string]any }
			json.Unmarshal(w.Body.Bytes(), &created)
			uri, _ := created.D["__metadata"].(map[string]any)["uri"].(string)
			key := uri[strings.LastIndexByte(uri, '/')+1:]
			answered(t, p.call(http.MethodPut, key, body), "PUT "+key+" "+body)
			answered(t, p.call(http.MethodGet, key, ""), "GET "+key)
		}
	})
}

// FuzzDate: a date either parses to a time that reads out and back to the
// same instant, or is refused.
func FuzzDate(f *testing.F) {
	for _, seed := range []string{"2024-01-02", "2024-03-31T02:30:00", "2024-10-27T02:30:00Z", "/Date(1700000000000)/", "/Date(1700000000000+0100)/", "/Date(-5)/", "1753-01-01T00:00:00"} {
		f.Add(seed)
	}
	loc := mustAmsterdam()
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseDate(s, loc)
		if err != nil {
			return
		}
		for _, offset := range []bool{false, true} {
			out := formatDate(tm, loc, offset)
			back, err := parseDate(out, loc)
			if err != nil {
				t.Fatalf("%q reads out as %q, which does not parse: %v", s, out, err)
			}
			if !offset && !back.Equal(tm.Truncate(time.Millisecond)) {
				// A wall clock in the hour the clocks go back names two
				// instants; only the offset form keeps them apart.
				if _, o1 := back.In(loc).Zone(); o1 == func() int { _, o := tm.In(loc).Zone(); return o }() {
					t.Fatalf("%q → %q → %v, want %v", s, out, back, tm)
				}
			}
			if offset && !back.Equal(tm.Truncate(time.Millisecond)) {
				t.Fatalf("%q → %q → %v, want %v", s, out, back, tm)
			}
		}
	})
}
