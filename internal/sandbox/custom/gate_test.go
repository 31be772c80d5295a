package custom

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestGateRateLimitSlidesAndCountsOnlyAdmittedCalls(t *testing.T) {
	clock := NewManualClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	var retry []int
	g := NewGate(clock.Now, nil, 1, Answers{
		Unauthorized:    func(w http.ResponseWriter) { w.WriteHeader(401) },
		TooManyRequests: func(w http.ResponseWriter, _, s int) { retry = append(retry, s); w.WriteHeader(429) },
		ServerError:     func(w http.ResponseWriter, s int) { w.WriteHeader(s) },
	})
	g.SetRateLimit(2)
	call := func(cred string, ok bool) int {
		w := httptest.NewRecorder()
		g.Serve(w, httptest.NewRequest("GET", "/x", nil), "GET /x", cred, ok, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
		return w.Code
	}
	steps := []struct {
		advance time.Duration
		cred    string
		ok      bool
		want    int
	}{
		{0, "a", true, 200}, {30 * time.Second, "a", true, 200}, {0, "a", true, 429}, {0, "b", true, 200},
		{0, "a", false, 401}, {30 * time.Second, "a", true, 200}, {0, "a", true, 429}, {30 * time.Second, "a", true, 200},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if got := call(s.cred, s.ok); got != s.want {
			t.Fatalf("step %d: %d, want %d", i, got, s.want)
		}
	}
	if len(retry) != 2 || retry[0] != 30 || retry[1] != 30 {
		t.Errorf("Retry-After seconds %v, want [30 30]", retry)
	}
	if got := g.Calls()["GET /x"]; got != len(steps) {
		t.Errorf("calls %d, want %d", got, len(steps))
	}
}
