package exactonline

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// receiver is a connector's webhook endpoint: it hands every notification
// body to the test.
type receiver struct {
	url    string
	bodies chan []byte
	hold   chan struct{} // when not nil, requests wait for it to close
}

func newReceiver(t *testing.T, hold chan struct{}) *receiver {
	rc := &receiver{bodies: make(chan []byte, 100), hold: hold}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if rc.hold != nil {
			<-rc.hold
		}
		rc.bodies <- b
	}))
	t.Cleanup(ts.Close)
	rc.url = ts.URL + "/hook"
	return rc
}

func (rc *receiver) next(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-rc.bodies:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook arrived")
		return nil
	}
}

// notification is a webhook body as a receiver must check it: it takes
// the raw Content text, recomputes the HMAC and compares.
type notification struct {
	Content struct {
		Topic, ClientId, Action, Key, ExactOnlineEndpoint, EventCreatedOn string
		Division                                                          int
	}
	HashCode string
}

func verify(t *testing.T, body []byte, secret string) notification {
	t.Helper()
	var raw struct {
		Content  json.RawMessage
		HashCode string
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("webhook body %s: %v", body, err)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(raw.Content)
	want := strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
	if raw.HashCode != want {
		t.Errorf("HashCode %s, want %s (upper-case HMAC-SHA256 of the Content text)", raw.HashCode, want)
	}
	var n notification
	json.Unmarshal(body, &n)
	return n
}

func TestWebhooksNotifySubscribersWithASignedPayload(t *testing.T) {
	sb := startSandbox(t, Options{WebhookSecret: "s3cret"})
	c := sb.login()
	rc := newReceiver(t, nil)
	sub := c.mustCreate("webhooks/WebhookSubscriptions", map[string]any{"CallbackURL": rc.url, "Topic": "Accounts"})
	if sub["ClientID"] != c.creds.ClientID || sub["Topic"] != "Accounts" {
		t.Errorf("subscription %v", sub)
	}

	acc := c.mustCreate("crm/Accounts", map[string]any{"Name": "Nieuw"})
	id := acc["ID"].(string)
	n := verify(t, rc.next(t), "s3cret")
	want := sb.url + "/api/v1/" + itoa(sb.Division()) + "/crm/Accounts(guid'" + id + "')"
	if n.Content.Topic != "Accounts" || n.Content.Action != "Create" || n.Content.Key != id ||
		n.Content.ClientId != c.creds.ClientID || n.Content.Division != sb.Division() || n.Content.ExactOnlineEndpoint != want {
		t.Errorf("notification %+v", n.Content)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000", n.Content.EventCreatedOn); err != nil {
		t.Errorf("EventCreatedOn %q: %v", n.Content.EventCreatedOn, err)
	}

	c.do(http.MethodPut, "crm/Accounts(guid'"+id+"')", map[string]any{"City": "x"})
	if n := verify(t, rc.next(t), "s3cret"); n.Content.Action != "Update" {
		t.Errorf("after PUT: %s", n.Content.Action)
	}
	// A change made in Exact itself is notified as well.
	if _, err := sb.Put("Accounts", map[string]any{"ID": id, "Remarks": "called"}); err != nil {
		t.Fatal(err)
	}
	if n := verify(t, rc.next(t), "s3cret"); n.Content.Action != "Update" {
		t.Errorf("after Put: %s", n.Content.Action)
	}
	c.do(http.MethodDelete, "crm/Accounts(guid'"+id+"')", nil)
	if n := verify(t, rc.next(t), "s3cret"); n.Content.Action != "Delete" || n.Content.Key != id {
		t.Errorf("after DELETE: %+v", n.Content)
	}
	// Items are another topic: nothing arrives.
	sb.seedItem("X", 1)
	sb.WaitWebhooks(context.Background())
	select {
	case b := <-rc.bodies:
		t.Errorf("an item change reached an Accounts subscriber: %s", b)
	default:
	}
}

func TestSalesOrdersTopicFiresForLines(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	rc := newReceiver(t, nil)
	c.mustCreate("webhooks/WebhookSubscriptions", map[string]any{"CallbackURL": rc.url, "Topic": "SalesOrders"})
	acc, item := sb.seedAccount("K"), sb.seedItem("I", 1)
	o := c.mustCreate("salesorder/SalesOrders", map[string]any{"OrderedBy": acc, "SalesOrderLines": []any{map[string]any{"Item": item}}})
	orderID := o["OrderID"].(string)
	if n := verify(t, rc.next(t), c.creds.WebhookSecret); n.Content.Action != "Create" || n.Content.Key != orderID {
		t.Errorf("order created: %+v", n.Content)
	}
	line := c.mustCreate("salesorder/SalesOrderLines", map[string]any{"OrderID": orderID, "Item": item})
	n := verify(t, rc.next(t), c.creds.WebhookSecret)
	if n.Content.Topic != "SalesOrders" || n.Content.Action != "Update" || n.Content.Key != orderID || !strings.Contains(n.Content.ExactOnlineEndpoint, "/salesorder/SalesOrders(guid'"+orderID+"')") {
		t.Errorf("line added: %+v, want an Update of the order", n.Content)
	}
	c.do(http.MethodDelete, "salesorder/SalesOrderLines(guid'"+line["ID"].(string)+"')", nil)
	if n := verify(t, rc.next(t), c.creds.WebhookSecret); n.Content.Action != "Update" || n.Content.Key != orderID {
		t.Errorf("line deleted: %+v", n.Content)
	}
}

func TestWebhookDeliveryNeverBlocksTheAPI(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	hold := make(chan struct{})
	rc := newReceiver(t, hold)
	c.mustCreate("webhooks/WebhookSubscriptions", map[string]any{"CallbackURL": rc.url, "Topic": "Items"})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 5; i++ {
			r := c.do(http.MethodPost, "logistics/Items", map[string]any{"Code": "C" + itoa(i), "Description": "x"})
			if r.status != 201 {
				t.Errorf("POST while the receiver hangs: %d", r.status)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("API calls waited for a hanging webhook receiver")
	}
	close(hold)
	for i := 0; i < 5; i++ {
		verify(t, rc.next(t), c.creds.WebhookSecret)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sb.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sb.WebhookDeliveries(); len(got) != 5 || got[0].StatusCode != 200 {
		t.Errorf("delivery log: %d entries", len(got))
	}
}

func TestWebhookSubscriptionsAreListedDeletedNeverUpdated(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	sub := c.mustCreate("webhooks/WebhookSubscriptions", map[string]any{"CallbackURL": "https://example.com/a", "Topic": "Contacts"})
	key := "webhooks/WebhookSubscriptions(guid'" + sub["ID"].(string) + "')"
	for body, want := range map[string]string{
		`{"CallbackURL":"https://example.com/a","Topic":"Contacts"}`: "already exists",
		`{"CallbackURL":"https://example.com/a","Topic":"Invoices"}`: "not supported",
		`{"CallbackURL":"ftp://example.com/a","Topic":"Items"}`:      "not an absolute http",
		`{"Topic":"Items"}`: "CallbackURL is mandatory",
	} {
		var m map[string]any
		json.Unmarshal([]byte(body), &m)
		r := c.do(http.MethodPost, "webhooks/WebhookSubscriptions", m)
		if r.status != 400 || !strings.Contains(r.message(t), want) {
			t.Errorf("POST %s: %d %s", body, r.status, r.body)
		}
	}
	if r := c.do(http.MethodPut, key, map[string]any{"Topic": "Items"}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("PUT a subscription: %d", r.status)
	}
	if rows := c.get("webhooks/WebhookSubscriptions").rows(t); len(rows) != 1 {
		t.Errorf("%d subscriptions listed", len(rows))
	}
	if r := c.do(http.MethodDelete, key, nil); r.status != 204 {
		t.Errorf("DELETE: %d", r.status)
	}
	if rows := c.get("webhooks/WebhookSubscriptions").rows(t); len(rows) != 0 {
		t.Errorf("%d subscriptions after DELETE", len(rows))
	}
}

func TestHashCodeMatchesAKnownSignature(t *testing.T) {
	content := []byte(`{"Topic":"Items","ClientId":"c","Division":1,"Action":"Create","Key":"k","ExactOnlineEndpoint":"e","EventCreatedOn":"2024-01-01T00:00:00.000"}`)
	m := hmac.New(sha256.New, []byte("key"))
	m.Write(content)
	if got, want := HashCode(content, "key"), strings.ToUpper(hex.EncodeToString(m.Sum(nil))); got != want || bytes.ContainsAny([]byte(got), "abcdef") {
		t.Errorf("HashCode %s, want %s", got, want)
	}
}

func TestItemsTopicFiresWhenTheDefaultPriceMoves(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	rc := newReceiver(t, nil)
	c.mustCreate("webhooks/WebhookSubscriptions", map[string]any{"CallbackURL": rc.url, "Topic": "Items"})
	item := c.mustCreate("logistics/Items", map[string]any{"Code": "MUG", "Description": "Mug"})["ID"].(string)
	if n := verify(t, rc.next(t), c.creds.WebhookSecret); n.Content.Action != "Create" || n.Content.Key != item {
		t.Errorf("item created: %+v", n.Content)
	}
	c.mustCreate("logistics/SalesItemPrices", map[string]any{"Item": item, "Price": 3})
	n := verify(t, rc.next(t), c.creds.WebhookSecret)
	if n.Content.Topic != "Items" || n.Content.Action != "Update" || n.Content.Key != item {
		t.Errorf("default price posted: %+v, want an Update of the item", n.Content)
	}
}
