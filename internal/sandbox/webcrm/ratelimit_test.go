package webcrm

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRateLimitThrottlesOnASlidingMinute(t *testing.T) {
	sb := startSandbox(t, Options{RateLimit: 5})
	get := func() answer { return sb.call(http.MethodGet, "/Organisations", nil) }

	for range 3 { // three calls at 0 s
		wantStatus(t, get(), http.StatusOK)
	}
	sb.clock.Advance(30 * time.Second)
	for range 2 { // two at 30 s: five in the window
		wantStatus(t, get(), http.StatusOK)
	}
	sb.clock.Advance(16 * time.Second)
	a := get() // at 46 s: the calls at 0 s leave the window at 60 s
	wantStatus(t, a, http.StatusTooManyRequests)
	var body throttleBody
	a.decode(t, &body)
	if a.header.Get("Retry-After") != "14" || body.RetryAfterSeconds != 14 || body.Type != "TooManyRequestsException" || body.Message == "" {
		t.Errorf("Retry-After %q, body %+v; want 14 seconds", a.header.Get("Retry-After"), body)
	}

	sb.clock.Advance(13 * time.Second) // 59 s: still full, and refused calls do not count
	wantStatus(t, get(), http.StatusTooManyRequests)
	sb.clock.Advance(time.Second + time.Millisecond) // just past 60 s: three slots free
	for range 3 {
		wantStatus(t, get(), http.StatusOK)
	}
	a = get()
	wantStatus(t, a, http.StatusTooManyRequests)
	if got, _ := strconv.Atoi(a.header.Get("Retry-After")); got != 30 {
		t.Errorf("Retry-After %d, want 30 (until the calls at 30 s leave)", got)
	}
}

func TestRateLimitCountsPerAPITokenNotPerLogin(t *testing.T) {
	sb := startSandbox(t, Options{RateLimit: 2})
	wantStatus(t, sb.call(http.MethodGet, "/Users", nil), http.StatusOK)
	wantStatus(t, sb.call(http.MethodGet, "/Users", nil), http.StatusOK)
	sb.token = sb.login()                                                             // logging in is not limited...
	wantStatus(t, sb.call(http.MethodGet, "/Users", nil), http.StatusTooManyRequests) // ...and does not reset the window
}

func TestRateLimitCanBeSwitchedOffAndOn(t *testing.T) {
	sb := startSandbox(t, Options{})
	for range 300 {
		wantStatus(t, sb.call(http.MethodGet, "/Products", nil), http.StatusOK)
	}
	sb.srv.SetRateLimit(DefaultRateLimit)
	for range DefaultRateLimit {
		wantStatus(t, sb.call(http.MethodGet, "/Products", nil), http.StatusOK)
	}
	wantStatus(t, sb.call(http.MethodGet, "/Products", nil), http.StatusTooManyRequests)
	sb.srv.SetRateLimit(0)
	wantStatus(t, sb.call(http.MethodGet, "/Products", nil), http.StatusOK)
}
