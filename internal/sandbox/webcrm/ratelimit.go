package webcrm

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultRateLimit is the service's limit: requests a minute per API token.
const DefaultRateLimit = 250

// rateWindow is the length of the sliding window.
const rateWindow = time.Minute

// limiter counts requests per API token on a sliding window of one minute.
type limiter struct {
	mu    sync.Mutex
	calls map[string][]time.Time // ascending times of the accepted calls in the window
}

func newLimiter() *limiter { return &limiter{calls: map[string][]time.Time{}} }

// allow records a call at now when fewer than limit calls were accepted in
// the minute before it; otherwise it says how long until one leaves the
// window.
func (l *limiter) allow(key string, now time.Time, limit int) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.calls[key]
	cut := 0
	for cut < len(ts) && !ts[cut].After(now.Add(-rateWindow)) {
		cut++
	}
	ts = ts[cut:]
	if len(ts) >= limit {
		l.calls[key] = ts
		return false, ts[len(ts)-limit].Add(rateWindow).Sub(now)
	}
	l.calls[key] = append(ts, now)
	return true, 0
}

// throttleBody is the service's answer to a throttled call.
type throttleBody struct {
	RetryAfterSeconds int
	Message           string
	Type              string
}

func throttled(w http.ResponseWriter, wait time.Duration, limit int) {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSON(w, http.StatusTooManyRequests, throttleBody{
		RetryAfterSeconds: secs,
		Message:           fmt.Sprintf("The request was throttled: more than %d requests a minute. Retry after %d seconds.", limit, secs),
		Type:              "TooManyRequestsException",
	})
}
