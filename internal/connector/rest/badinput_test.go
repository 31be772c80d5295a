package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/connector/rest"
)

// customersOnly keeps the customers mappings: the datatype a bad answer
// breaks is then the only way anything would be written.
func customersOnly(edit func(doc map[string]any)) func(doc map[string]any) {
	return func(doc map[string]any) {
		var keep []any
		for _, m := range doc["mappings"].([]any) {
			if m.(map[string]any)["datatype"] == "customers" {
				keep = append(keep, m)
			}
		}
		doc["mappings"] = keep
		if edit != nil {
			edit(doc)
		}
	}
}

// A listing answer that does not fit the settings is one error naming the
// system, the datatype, the URL, the status and what was expected; the
// engine stores nothing of the page and writes nothing to either system,
// although each side holds customers the other would get.
func TestAnswersThatDoNotFitTheSettings(t *testing.T) {
	t.Parallel()
	const listURL = "GET http://127.0.0.1:8083/api/v1/customers?per_page=100 answered 200 OK, which does not fit the settings: "
	cases := []struct {
		name   string
		edit   func(doc map[string]any) // the configuration's mistake
		answer func(real []byte) (contentType, body string)
		want   string
	}{
		{
			name: "malformed answer",
			answer: func([]byte) (string, string) {
				return "text/html", "<html><body>Down for maintenance</body></html>"
			},
			want: listURL + `expected a JSON body, found text/html "<html><body>Down for maintenance</body></html>"`,
		},
		{
			name: "record without its id",
			answer: func(real []byte) (string, string) {
				var page map[string]any
				if err := json.Unmarshal(real, &page); err != nil {
					panic(err)
				}
				delete(page["data"].([]any)[1].(map[string]any), "id")
				b, _ := json.Marshal(page)
				return "application/json", string(b)
			},
			want: listURL + `expected record 2 of the page to have its id at "id" (settings.defaults.id_field), found no such member (the record has billing_address, company_name, created_at,`,
		},
		{
			name: "wrong envelope path",
			edit: func(doc map[string]any) {
				dig(doc["systems"].(map[string]any), "webshop.settings.datatypes.customers.list")["records"] = "items"
			},
			want: listURL + `expected the records as a list at "items" (settings.datatypes.customers.list.records), found no such member (the body has data, links, meta)`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHub(t, customersOnly(tc.edit))
			for i := range 3 {
				h.shop.put("customers", map[string]any{"type": "company", "company_name": fmt.Sprintf("Shop %d", i), "email": fmt.Sprintf("s%d@shop.test", i)})
			}
			h.erp.put("customers", map[string]any{"name": "ERP 1", "email": "e1@erp.test"})
			if tc.answer != nil {
				h.shop.answerWith(func(r *http.Request) (int, string, string, bool) {
					if r.Method != http.MethodGet || r.URL.Path != "/api/v1/customers" {
						return 0, "", "", false
					}
					rec := httptest.NewRecorder()
					h.shop.srv.Handler().ServeHTTP(rec, r)
					ct, body := tc.answer(rec.Body.Bytes())
					return http.StatusOK, ct, body, true
				})
			}

			for cycle := range 2 {
				rep := h.cycle()
				var ours []error
				for _, err := range rep.Errors {
					if strings.Contains(err.Error(), `"webshop"`) {
						ours = append(ours, err)
					}
				}
				if len(ours) != 1 {
					t.Fatalf("cycle %d: want one error of the webshop, got %d: %v", cycle+1, len(ours), rep.Errors)
				}
				t.Logf("cycle %d: %v", cycle+1, ours[0])
				if msg := ours[0].Error(); !strings.Contains(msg, `system "webshop", datatype "customers": `+tc.want) {
					t.Errorf("cycle %d: the error says\n  %s\nwant it to hold\n  system \"webshop\", datatype \"customers\": %s", cycle+1, msg, tc.want)
				}
				var fe *rest.FitError
				if !errors.As(ours[0], &fe) || fe.Status != http.StatusOK || fe.Datatype != "customers" {
					t.Errorf("cycle %d: want a *rest.FitError for status 200 of customers, got %#v", cycle+1, ours[0])
				}
			}
			if n := h.shop.writes(); n != 0 {
				t.Errorf("%d writes reached the webshop", n)
			}
			if n := h.erp.writes(); n != 0 {
				t.Errorf("%d writes reached the ERP", n)
			}
			stored, err := h.st.PendingRecords(context.Background(), "webshop", "customers", "", 100)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]string, 0, 3)
			for _, r := range h.shop.srv.Records("customers") {
				ids = append(ids, fmt.Sprint(r["id"]))
			}
			known, err := h.st.GetRecords(context.Background(), "webshop", "customers", ids)
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 0 || len(known) != 0 {
				t.Errorf("records of the page were stored: %d pending, %d known", len(stored), len(known))
			}
			if cur, _ := h.st.GetCursor(context.Background(), "webshop", "customers"); cur.Value != "" {
				t.Errorf("the cursor moved to %q", cur.Value)
			}
		})
	}
}
