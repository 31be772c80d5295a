package exactonline

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/sandbox/exactonline"
)

func notification(topic, secret string) string {
	content := `{"Topic":"` + topic + `","ClientId":"c1","Division":3141592,"Action":"Update","Key":"9b1f5f0e-2b1a-4c55-8d8e-0a9c1b2d3e4f","ExactOnlineEndpoint":"https://start.exactonline.nl/api/v1/3141592/x","EventCreatedOn":"2026-03-10T10:00:00.000"}`
	return `{"Content":` + content + `,"HashCode":"` + exactonline.HashCode([]byte(content), secret) + `"}`
}

func TestWebhookHandler(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	c := e.open()
	secret := e.creds.WebhookSecret
	tests := []struct {
		name   string
		body   string
		status int
		want   []string
	}{
		{"accounts", notification("Accounts", secret), 200, []string{"Accounts"}},
		{"items", notification("Items", secret), 200, []string{"Items"}},
		{"sales orders cover their lines", notification("SalesOrders", secret), 200, []string{"SalesOrders", "SalesOrderLines"}},
		{"quotations cover their lines", notification("Quotations", secret), 200, []string{"Quotations", "QuotationLines"}},
		{"wrong secret", notification("Accounts", "not-the-secret"), 401, nil},
		{"content changed after signing", strings.Replace(notification("Accounts", secret), `"Update"`, `"Delete"`, 1), 401, nil},
		{"no hash", `{"Content":{"Topic":"Accounts"}}`, 401, nil},
		{"not json", `hello`, 401, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			h := c.WebhookHandler(func(dt string) { got = append(got, dt) })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/exact", strings.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("changed called with %v, want %v", got, tc.want)
			}
		})
	}
}

// The sandbox's own notifications, sent to subscriptions the connector
// made, pass the handler's check.
func TestSubscribeAndReceiveSandboxNotifications(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	c := e.open()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(c.WebhookHandler(func(dt string) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, dt)
	}))
	defer srv.Close()
	callback := srv.URL + "/webhooks/exact"
	made, err := c.Subscribe(t.Context(), callback, "Accounts", "SalesOrders")
	if err != nil || !slices.Equal(made, []string{"Accounts", "SalesOrders"}) {
		t.Fatalf("subscribe: %v %v", made, err)
	}
	if made, err := c.Subscribe(t.Context(), callback, "Accounts"); err != nil || len(made) != 0 {
		t.Fatalf("subscribing again made %v, %v; want nothing", made, err)
	}
	acc, err := e.sb.Put("Accounts", map[string]any{"Name": "Hooked"})
	if err != nil {
		t.Fatal(err)
	}
	item, _ := e.sb.Put("Items", map[string]any{"Code": "H1", "Description": "Hook"})
	if _, err := e.sb.Put("SalesOrders", map[string]any{"OrderedBy": acc["ID"], "SalesOrderLines": []map[string]any{{"Item": item["ID"]}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := e.sb.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	for _, d := range e.sb.WebhookDeliveries() {
		if d.StatusCode != 200 {
			t.Errorf("delivery %s %s: %d %s", d.Topic, d.Action, d.StatusCode, d.Err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"Accounts", "SalesOrders", "SalesOrderLines"}
	if !slices.Equal(got, want) {
		t.Fatalf("changed called with %v, want %v", got, want)
	}
	if n, err := c.Unsubscribe(t.Context(), callback); err != nil || n != 2 {
		t.Fatalf("unsubscribe: %d %v", n, err)
	}
}

func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(notification("Accounts", "s")), "s")
	f.Add([]byte(`{"Content":{},"HashCode":"00"}`), "s")
	f.Add([]byte(`{"Content":"x","HashCode":"ZZ"}`), "")
	f.Fuzz(func(t *testing.T, body []byte, secret string) {
		n, err := ParseNotification(body, secret)
		if err != nil {
			return
		}
		// Accepted: the signature must hold for the given secret.
		if secret == "" {
			t.Fatalf("accepted %q without a secret: %+v", body, n)
		}
	})
}
