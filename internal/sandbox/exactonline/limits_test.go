package exactonline

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

var rateHeaders = []string{
	"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
	"X-RateLimit-Minutely-Limit", "X-RateLimit-Minutely-Remaining", "X-RateLimit-Minutely-Reset",
}

func headerInt(t *testing.T, r reply, name string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(r.header.Get(name), 10, 64)
	if err != nil {
		t.Fatalf("%s: %q is not a number", name, r.header.Get(name))
	}
	return n
}

func TestEveryAPIResponseCarriesTheRateLimitHeaders(t *testing.T) {
	sb := startSandbox(t, Options{MinutelyLimit: 60, DailyLimit: 5000})
	c := sb.login()
	start := sb.clock.Now()
	for i, path := range []string{"/api/v1/current/Me", "crm/Contacts", "crm/Accounts", "crm/Nothing", "sync/CRM/Accounts?$select=ID"} {
		r := c.get(path)
		for _, h := range rateHeaders {
			if r.header.Get(h) == "" {
				t.Errorf("GET %s (%d) has no %s", path, r.status, h)
			}
		}
		if got := headerInt(t, r, "X-RateLimit-Minutely-Remaining"); got != int64(59-i) {
			t.Errorf("call %d: minutely remaining %d, want %d", i+1, got, 59-i)
		}
		if got := headerInt(t, r, "X-RateLimit-Remaining"); got != int64(4999-i) {
			t.Errorf("call %d: daily remaining %d, want %d", i+1, got, 4999-i)
		}
	}
	r := c.get("crm/Contacts")
	if reset := headerInt(t, r, "X-RateLimit-Minutely-Reset"); reset != start.Add(time.Minute).UnixMilli() {
		t.Errorf("minutely reset %d, want %d (ms since 1970)", reset, start.Add(time.Minute).UnixMilli())
	}
	// The day resets at midnight in the Netherlands: 2025-03-10 23:00 UTC.
	if reset := headerInt(t, r, "X-RateLimit-Reset"); reset != time.Date(2025, 3, 10, 23, 0, 0, 0, time.UTC).UnixMilli() {
		t.Errorf("daily reset %d", reset)
	}
}

func TestMinutelyLimitAnswers429WithMinutelyHeadersOnly(t *testing.T) {
	sb := startSandbox(t, Options{MinutelyLimit: 3, DailyLimit: 100})
	c := sb.login()
	for i := 0; i < 3; i++ {
		if r := c.get("crm/Contacts"); r.status != 200 {
			t.Fatalf("call %d: %d", i+1, r.status)
		}
	}
	r := c.get("crm/Contacts")
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("fourth call in a minute: %d, want 429", r.status)
	}
	r.message(t)
	if r.header.Get("X-RateLimit-Minutely-Remaining") != "0" || r.header.Get("X-RateLimit-Minutely-Reset") == "" {
		t.Errorf("429 minutely headers: %v", r.header)
	}
	for _, h := range rateHeaders[:3] {
		if r.header.Get(h) != "" {
			t.Errorf("a minutely 429 carries %s", h)
		}
	}
	sb.clock.Advance(time.Minute)
	if r := c.get("crm/Contacts"); r.status != 200 || headerInt(t, r, "X-RateLimit-Remaining") != 96 {
		t.Errorf("after the minute: %d, daily remaining %s (refused calls do not count)", r.status, r.header.Get("X-RateLimit-Remaining"))
	}
}

func TestDailyLimitAnswers429UntilMidnight(t *testing.T) {
	sb := startSandbox(t, Options{DailyLimit: 2})
	c := sb.login()
	c.get("crm/Contacts")
	c.get("crm/Contacts")
	r := c.get("crm/Contacts")
	if r.status != 429 || r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Minutely-Limit") != "" {
		t.Fatalf("third call of a 2-a-day budget: %d %v", r.status, r.header)
	}
	sb.clock.Advance(14 * time.Hour) // past midnight in Amsterdam
	c = sb.login()
	if r := c.get("crm/Contacts"); r.status != 200 {
		t.Errorf("the next day: %d", r.status)
	}
}

func TestLimitsChangeAtRuntimeAndZeroIsUnlimited(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	r := c.get("crm/Contacts")
	for _, h := range rateHeaders {
		if r.header.Get(h) != "" {
			t.Errorf("without limits, %s is sent", h)
		}
	}
	sb.SetLimits(1, 0)
	c.get("crm/Contacts")
	if r := c.get("crm/Contacts"); r.status != 429 {
		t.Errorf("after SetLimits(1, 0): %d", r.status)
	}
}

func TestLimitsAreKeptPerApp(t *testing.T) {
	sb := startSandbox(t, Options{MinutelyLimit: 1})
	c := sb.login()
	if r := c.get("crm/Contacts"); r.status != 200 {
		t.Fatal(r.status)
	}
	if r := c.get("crm/Contacts"); r.status != 429 {
		t.Fatalf("second call: %d", r.status)
	}
	// A second login of the same app shares the budget.
	if r := sb.login().get("crm/Contacts"); r.status != 429 {
		t.Errorf("same app, other token: %d, want 429", r.status)
	}
}

func TestTooManyErrorsBlockTheEndpointForAnHour(t *testing.T) {
	sb := startSandbox(t, Options{ErrorLimit: 10})
	c := sb.login()
	bad := map[string]any{"Name": "x", "Colour": "red"}
	for i := 0; i < 11; i++ {
		if r := c.do(http.MethodPost, "crm/Accounts", bad); r.status != 400 {
			t.Fatalf("error %d: %d", i+1, r.status)
		}
	}
	r := c.do(http.MethodPost, "crm/Accounts", map[string]any{"Name": "fine now"})
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.message(t), "blocked") || r.header.Get("Retry-After") != "3600" {
		t.Fatalf("after 11 errors: %d %s Retry-After=%q, want 429 blocked for an hour", r.status, r.body, r.header.Get("Retry-After"))
	}
	if r := c.get("crm/Accounts(guid'00000000-0000-0000-0000-000000000000')"); r.status != 429 {
		t.Errorf("a GET of the blocked endpoint: %d", r.status)
	}
	if r := c.get("crm/Contacts"); r.status != 200 {
		t.Errorf("another endpoint: %d, want 200", r.status)
	}
	sb.clock.Advance(59 * time.Minute)
	c = sb.login()
	if r := c.get("crm/Accounts?$filter=Name eq 'x'"); r.status != 429 {
		t.Errorf("59 minutes later: %d", r.status)
	}
	sb.clock.Advance(time.Minute)
	if r := c.get("crm/Accounts?$filter=Name eq 'x'"); r.status != 200 {
		t.Errorf("an hour later: %d", r.status)
	}
}

func TestErrorsSpreadOverMoreThanAnHourDoNotBlock(t *testing.T) {
	sb := startSandbox(t, Options{ErrorLimit: 10})
	c := sb.login()
	for i := 0; i < 30; i++ {
		if r := c.get("crm/Accounts"); r.status != 400 { // mandatory filter missing
			t.Fatalf("call %d: %d", i+1, r.status)
		}
		sb.clock.Advance(7 * time.Minute)
		c = sb.login()
	}
}
