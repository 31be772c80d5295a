package custom

import (
	"context"
	"maps"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults are the troubles a reference system makes on purpose, so that a
// connector's retries, timeouts and crash recovery can be tested. The zero
// value makes none. Given a seed, which calls fail is the same on every run
// that makes the same calls in the same order.
type Faults struct {
	// Latency is added before every API call is handled.
	Latency time.Duration
	// ErrorRate is the fraction of calls (0..1) answered 500 or 503 (with
	// Retry-After: 1) before anything is done.
	ErrorRate float64
	// DropRate is the fraction of calls (0..1) whose connection is closed
	// without an answer. A GET is dropped before it runs; a POST, PUT,
	// PATCH or DELETE after its change is made, as when the answer is lost
	// on the way back: the client cannot tell whether its write happened.
	DropRate float64
}

// Normalized clamps the rates to 0..1 and the latency to 0 or more.
func (f Faults) Normalized() Faults {
	f.ErrorRate, f.DropRate = clamp01(f.ErrorRate), clamp01(f.DropRate)
	f.Latency = max(f.Latency, 0)
	return f
}

func clamp01(x float64) float64 {
	if x != x || x < 0 { // NaN or negative
		return 0
	}
	return min(x, 1)
}

// Answers write a system's own error bodies for what the gate refuses; the
// gate sets the status line's headers (Retry-After, WWW-Authenticate)
// before calling them.
type Answers struct {
	// Unauthorized writes the 401 answer.
	Unauthorized func(w http.ResponseWriter)
	// TooManyRequests writes the 429 answer for a credential over limit
	// calls a minute; Retry-After is set already.
	TooManyRequests func(w http.ResponseWriter, limit, retryAfter int)
	// ServerError writes an injected 500 or 503.
	ServerError func(w http.ResponseWriter, status int)
}

// Gate is what every API call of a reference system passes before its
// handler: it is counted, refused when unauthenticated, throttled over the
// rate limit, then delayed, failed or dropped by the faults in force. It
// is safe for concurrent use.
type Gate struct {
	now     func() time.Time
	sleep   func(context.Context, time.Duration)
	answers Answers

	mu        sync.Mutex
	faults    Faults
	rateLimit int
	rng       *rand.Rand
	window    map[string][]time.Time // accepted calls per credential, ascending

	callsMu sync.Mutex
	calls   map[string]int
}

// NewGate makes a gate. now is the system's clock; sleep waits out the
// latency fault (nil: a real timer that ends early with the request);
// seed makes the faults repeatable (0: random).
func NewGate(now func() time.Time, sleep func(context.Context, time.Duration), seed int64, answers Answers) *Gate {
	if sleep == nil {
		sleep = sleepCtx
	}
	s1, s2 := uint64(seed), uint64(0x5eed)
	if seed == 0 {
		s1, s2 = rand.Uint64(), rand.Uint64()
	}
	return &Gate{now: now, sleep: sleep, answers: answers, rng: rand.New(rand.NewPCG(s1, s2)),
		window: map[string][]time.Time{}, calls: map[string]int{}}
}

// RateWindow is the length of the rate limit's sliding window.
const RateWindow = time.Minute

// SetFaults replaces the faults in force.
func (g *Gate) SetFaults(f Faults) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = f.Normalized()
}

// Faults returns the faults in force.
func (g *Gate) Faults() Faults {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.faults
}

// SetRateLimit sets the calls a credential may make in a minute (sliding
// window); 0 switches the limit off.
func (g *Gate) SetRateLimit(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rateLimit = max(n, 0)
}

// RateLimit returns the calls a credential may make in a minute; 0: no limit.
func (g *Gate) RateLimit() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rateLimit
}

// Calls returns how many calls arrived by label ("GET /erp/customers",
// "PATCH /api/v1/orders/{id}"). Refused, throttled and faulted calls count.
func (g *Gate) Calls() map[string]int {
	g.callsMu.Lock()
	defer g.callsMu.Unlock()
	return maps.Clone(g.calls)
}

// ResetCalls sets every call count back to zero.
func (g *Gate) ResetCalls() {
	g.callsMu.Lock()
	defer g.callsMu.Unlock()
	clear(g.calls)
}

// Count counts a call that does not pass the gate (an unknown path).
func (g *Gate) Count(label string) {
	g.callsMu.Lock()
	defer g.callsMu.Unlock()
	g.calls[label]++
}

// Serve runs one API call: counted under label; answered 401 unless
// authenticated; 429 when credential is over the rate limit; then the
// faults; then handle.
func (g *Gate) Serve(w http.ResponseWriter, r *http.Request, label string, credential string, authenticated bool, handle http.HandlerFunc) {
	g.Count(label)
	if !authenticated {
		g.answers.Unauthorized(w)
		return
	}
	g.mu.Lock()
	if g.rateLimit > 0 {
		if wait, ok := g.admit(credential, g.now()); !ok {
			limit := g.rateLimit
			g.mu.Unlock()
			secs := max(int((wait+time.Second-1)/time.Second), 1)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			g.answers.TooManyRequests(w, limit, secs)
			return
		}
	}
	f := g.faults
	fail := g.roll(f.ErrorRate)
	status := http.StatusInternalServerError
	if fail && g.roll(0.5) {
		status = http.StatusServiceUnavailable
	}
	drop := g.roll(f.DropRate)
	g.mu.Unlock()

	if f.Latency > 0 {
		g.sleep(r.Context(), f.Latency)
		if r.Context().Err() != nil {
			return
		}
	}
	if fail {
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		g.answers.ServerError(w, status)
		return
	}
	if !drop {
		handle(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		handle(discard{h: http.Header{}}, r) // the change is made, its answer lost
	}
	dropConnection(w)
}

// admit records a call at now when fewer than the limit were accepted in
// the window before it, or says how long until one leaves it; g.mu is held.
func (g *Gate) admit(key string, now time.Time) (time.Duration, bool) {
	ts := g.window[key]
	cut := 0
	for cut < len(ts) && !ts[cut].After(now.Add(-RateWindow)) {
		cut++
	}
	ts = ts[cut:]
	if len(ts) >= g.rateLimit {
		g.window[key] = ts
		return ts[len(ts)-g.rateLimit].Add(RateWindow).Sub(now), false
	}
	g.window[key] = append(ts, now)
	return 0, true
}

// roll reports true with probability p; it draws nothing when p is 0, so
// that switching one fault on does not move which calls another hits.
// g.mu is held.
func (g *Gate) roll(p float64) bool { return p > 0 && g.rng.Float64() < p }

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
}

// discard is the answer of a write whose connection is dropped.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
