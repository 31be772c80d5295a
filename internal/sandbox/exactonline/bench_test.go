package exactonline

import (
	"fmt"
	"net/http/httptest"
	"testing"
)

func BenchmarkFilterParse(b *testing.B) {
	loc := mustAmsterdam()
	src := "(City eq 'Utrecht' or substringof('bakker', Name)) and Timestamp gt 123456L and Modified ge datetime'2024-01-01T00:00:00'"
	for b.Loop() {
		if _, err := parseFilter(src, filterProp, loc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSyncPage reads the last page of changes among 10,000 accounts:
// the cost should follow the page, not the table.
func BenchmarkSyncPage(b *testing.B) {
	sb := startSandbox(b, Options{})
	for i := 0; i < 10000; i++ {
		if _, err := sb.Put("Accounts", map[string]any{"Name": fmt.Sprintf("A%d", i), "Code": fmt.Sprint(i + 1)}); err != nil {
			b.Fatal(err)
		}
	}
	c := sb.login()
	since := sb.RowVersion() - 500
	path := fmt.Sprintf("sync/CRM/Accounts?$select=ID,Name,Timestamp&$filter=Timestamp%%20gt%%20%dL", since)
	for b.Loop() {
		if r := c.get(path); r.status != 200 {
			b.Fatal(r.status)
		}
	}
}

// BenchmarkListPage pages through accounts by key from the middle.
func BenchmarkListPage(b *testing.B) {
	srv, err := New(Options{NoMandatoryFilter: true, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	var mid string
	for i := 0; i < 10000; i++ {
		r, err := srv.Put("Accounts", map[string]any{"Name": fmt.Sprintf("A%d", i), "Code": fmt.Sprint(i + 1)})
		if err != nil {
			b.Fatal(err)
		}
		if i == 5000 {
			mid = r["ID"].(string)
		}
	}
	h := srv.Handler()
	srv.mu.Lock()
	at := &accessToken{Token: "bench", ClientID: srv.app.ClientID, Expires: srv.now().Add(1 << 40)}
	srv.access[at.Token] = at
	srv.mu.Unlock()
	url := fmt.Sprintf("/api/v1/%d/crm/Accounts?$select=ID,Name&$skiptoken=guid'%s'", srv.Division(), mid)
	for b.Loop() {
		req := httptest.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer bench")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
