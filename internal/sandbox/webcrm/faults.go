package webcrm

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults are the troubles the sandbox makes on purpose, so that a client's
// retries and timeouts can be tested. The zero value makes none. Given a
// seed (Options.Seed), which calls fail is the same on every run that makes
// the same calls in the same order.
type Faults struct {
	// Latency is added before every answer.
	Latency time.Duration
	// ErrorRate is the fraction of calls (0..1) answered with a 500 or 503
	// before anything is done.
	ErrorRate float64
	// DropRate is the fraction of calls (0..1) whose connection is closed
	// without an answer, before anything is done.
	DropRate float64
	// CreateFailureRate is the fraction (0..1) of creates that fail with a
	// 500 when they come within CreateFailureWindow of the previous create
	// (the service's id generation fails under fast inserts). Nothing is
	// created; every attempt, failed or not, restarts the window.
	CreateFailureRate float64
	// CreateFailureWindow is how close creates must follow each other to
	// fail; zero means DefaultCreateFailureWindow.
	CreateFailureWindow time.Duration
}

// DefaultCreateFailureWindow is the CreateFailureWindow when none is set.
const DefaultCreateFailureWindow = 200 * time.Millisecond

func (f Faults) normalized() Faults {
	f.ErrorRate = clamp01(f.ErrorRate)
	f.DropRate = clamp01(f.DropRate)
	f.CreateFailureRate = clamp01(f.CreateFailureRate)
	if f.Latency < 0 {
		f.Latency = 0
	}
	if f.CreateFailureWindow <= 0 {
		f.CreateFailureWindow = DefaultCreateFailureWindow
	}
	return f
}

func clamp01(x float64) float64 {
	if x != x || x < 0 { // NaN or negative
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// dice is the sandbox's random source for faults, safe for concurrent use.
type dice struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newDice(seed int64) *dice {
	if seed == 0 {
		return &dice{rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	}
	return &dice{rng: rand.New(rand.NewPCG(uint64(seed), 0x5eed))}
}

// hit reports true with probability p. It draws no number when p is 0, so
// that switching one fault on does not change which calls another hits.
func (d *dice) hit(p float64) bool {
	if p <= 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.Float64() < p
}

func (d *dice) uint64() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rng.Uint64()
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// drop closes the connection of a call without answering it.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	// HTTP/2 cannot hand its connection over: abort the stream instead.
	panic(http.ErrAbortHandler)
}

// injectedError answers a call with a server error.
func (s *Server) injectedError(w http.ResponseWriter) {
	if s.dice.hit(0.5) {
		w.Header().Set("Retry-After", "1")
		writeError(w, &apiError{status: http.StatusServiceUnavailable, typ: "ServiceUnavailableException",
			message: "The service is temporarily unavailable (sandbox fault). Try again."})
		return
	}
	writeError(w, &apiError{status: http.StatusInternalServerError, typ: "InternalServerErrorException",
		message: "An error has occurred (sandbox fault)."})
}

// createFailsLocked decides whether a create fails because it follows the
// previous one too closely. The caller holds s.mu.
func (s *Server) createFailsLocked(f Faults) bool {
	now := s.clock()
	prev := s.lastCreate
	s.lastCreate = now
	if f.CreateFailureRate <= 0 || prev.IsZero() || now.Sub(prev) >= f.CreateFailureWindow {
		return false
	}
	return s.dice.hit(f.CreateFailureRate)
}

var errCreateFailed = &apiError{status: http.StatusInternalServerError, typ: "InternalServerErrorException",
	message: "Could not generate an id for the new record (creates too fast). Try again."}
