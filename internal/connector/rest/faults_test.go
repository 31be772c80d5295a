package rest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// seed fills both sandboxes with n customers and n/2 products of their own.
func seed(h *hub, n int) {
	for i := range n {
		h.shop.put("customers", map[string]any{"type": "company", "company_name": fmt.Sprintf("Shop customer %d", i), "email": fmt.Sprintf("s%d@shop.test", i)})
		h.erp.put("customers", map[string]any{"name": fmt.Sprintf("ERP customer %d", i), "email": fmt.Sprintf("e%d@erp.test", i)})
	}
	for i := range n / 2 {
		h.shop.put("products", map[string]any{"sku": fmt.Sprintf("S-%d", i), "name": fmt.Sprintf("Shop product %d", i), "price": fmt.Sprintf("%d.50", i+1)})
		h.erp.put("products", map[string]any{"item_number": fmt.Sprintf("E-%d", i), "name": fmt.Sprintf("ERP product %d", i), "price": float64(i) + 0.25})
	}
}

// wantOnce fails unless every value of field occurs exactly once in recs,
// and there are n of them.
func wantOnce(t testing.TB, what string, recs []map[string]any, field string, n int) {
	t.Helper()
	seen := map[any]int{}
	for _, r := range recs {
		seen[r[field]]++
	}
	for v, k := range seen {
		if k > 1 {
			t.Errorf("%s: %s %v is there %d times", what, field, v, k)
		}
	}
	if len(recs) != n || len(seen) != n {
		t.Errorf("%s: %d records with %d distinct %s, want %d", what, len(recs), len(seen), field, n)
	}
}

func (h *hub) wantAllOnce(n int) {
	h.t.Helper()
	wantOnce(h.t, "shop customers", h.shop.srv.Records("customers"), "email", 2*n)
	wantOnce(h.t, "ERP customers", h.erp.srv.Records("customers"), "email", 2*n)
	wantOnce(h.t, "shop products", h.shop.srv.Records("products"), "sku", n)
	wantOnce(h.t, "ERP products", h.erp.srv.Records("products"), "item_number", n)
	if h.t.Failed() {
		h.deadLetters()
	}
}

// Both systems throttle (429 with Retry-After, their own rate limits and
// the front's) and fail in bursts (500, 502, 503 with Retry-After) while
// the first load and a round of edits run: every record arrives once.
func TestSyncSurvivesThrottlingAndServerErrors(t *testing.T) {
	t.Parallel()
	const n = 30
	h := newHub(t, nil)
	seed(h, n)
	h.shop.srv.SetRateLimit(20)
	h.erp.srv.SetRateLimit(20)
	burst := func(r *http.Request, call int) *fault {
		switch call % 19 {
		case 4:
			return &fault{status: http.StatusServiceUnavailable, retryAfter: "1"}
		case 5:
			return &fault{status: http.StatusInternalServerError}
		case 6:
			return &fault{status: http.StatusBadGateway}
		case 11:
			return &fault{status: http.StatusTooManyRequests, retryAfter: "7"}
		}
		return nil
	}
	h.shop.faultBy(burst)
	h.erp.faultBy(burst)

	h.settle()
	h.wantAllOnce(n)

	// A round of edits on both sides, under the same faults.
	for i, r := range h.shop.srv.Records("customers")[:10] {
		if _, err := h.shop.srv.Edit("customers", r["id"].(int64), map[string]any{"phone": fmt.Sprintf("+31 10 000 %04d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range h.erp.srv.Records("products")[:10] {
		if _, err := h.erp.srv.Edit("products", r["id"].(string), map[string]any{"name": fmt.Sprintf("Renamed %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	h.settle()
	h.shop.faultBy(nil)
	h.erp.faultBy(nil)
	h.settle()
	h.wantAllOnce(n)
	phones, names := 0, 0
	for _, r := range h.erp.srv.Records("customers") {
		if strings.HasPrefix(fmt.Sprint(r["phone"]), "+31 10 000 ") {
			phones++
		}
	}
	for _, r := range h.shop.srv.Records("products") {
		if strings.HasPrefix(fmt.Sprint(r["name"]), "Renamed ") {
			names++
		}
	}
	if phones != 10 || names != 10 {
		t.Errorf("edits that arrived: %d of 10 phones in the ERP, %d of 10 names in the shop", phones, names)
	}
	for _, f := range []*front{h.shop.front, h.erp.front} {
		made, own := f.madeFaults(), f.answered()
		t.Logf("faults made by the front %v; the sandbox's own 429s: %d; waited %v on the test clock", made, own[http.StatusTooManyRequests], h.clock.Slept().Round(time.Second))
		if made[500] == 0 || made[502] == 0 || made[503] == 0 || made[429] == 0 || own[http.StatusTooManyRequests] == 0 {
			t.Errorf("the test made too few faults to prove anything: front %v, sandbox's 429s %d", made, own[http.StatusTooManyRequests])
		}
	}
}

// Inserts whose answers are lost (made, but the connection drops before
// the answer arrives) leave no second record behind.
func TestLostInsertAnswersMakeNoDoubles(t *testing.T) {
	t.Parallel()
	const n = 10
	h := newHub(t, nil)
	seed(h, n)
	// The first three inserts into each system (a front's rule runs under
	// its lock, one counter each).
	lose := func() func(r *http.Request, call int) *fault {
		lost := 0
		return func(r *http.Request, call int) *fault {
			if r.Method == http.MethodPost && lost < 3 {
				lost++
				return &fault{lose: true}
			}
			return nil
		}
	}
	h.shop.faultBy(lose())
	h.erp.faultBy(lose())
	h.settle()
	h.wantAllOnce(n)
	if made := h.shop.madeFaults()[0] + h.erp.madeFaults()[0]; made != 6 {
		t.Errorf("%d answers lost, want 6", made)
	}
}

// One call waits out Retry-After up to max_wait, and gives up (Throttled,
// which the engine retries later without counting it as a failure) when
// the system asks for more.
func TestRetryAfterUpToMaxWait(t *testing.T) {
	t.Parallel()
	c := newClock()
	s := newShop(t, c)
	settings := settingsOf(readConfig(t, "webshop.yaml"), "webshop")
	settings["max_wait"] = "30s"
	conn := open(t, "webshop", settings, s.front)
	s.put("customers", map[string]any{"type": "company", "company_name": "Acme", "email": "a@acme.test"})

	s.fail(fault{status: 429, retryAfter: "10"}, fault{status: 429, retryAfter: "15"}, fault{status: 503, retryAfter: "2"})
	before := c.Now()
	recs, _ := listAll(t, conn, "customers", connector.ListRequest{})
	if len(recs) != 1 {
		t.Fatalf("listed %d records, want 1", len(recs))
	}
	if waited := c.Now().Sub(before); waited < 27*time.Second {
		t.Errorf("waited %v, want at least the 10s+15s+2s the system asked for", waited)
	}

	s.fail(fault{status: 429, retryAfter: "20"}, fault{status: 429, retryAfter: "20"})
	_, err := conn.List(context.Background(), "customers", connector.ListRequest{})
	var th *connector.ThrottledError
	if !errors.As(err, &th) || !strings.Contains(err.Error(), "max_wait is 30s") || !strings.Contains(err.Error(), `system "webshop", datatype "customers"`) {
		t.Fatalf("a call asked to wait 40s with max_wait 30s: want a Throttled error naming system and datatype, got %v", err)
	}
	if s.pending() != 0 {
		t.Errorf("%d scripted answers were not asked for", s.pending())
	}
}
