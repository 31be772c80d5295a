package memory

import (
	"context"
	"net"
	"syscall"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// Faults make the system misbehave the way real APIs do. Rates are
// probabilities per call, drawn from the random source seeded by
// Options.Seed, so a run is repeatable. Out-of-band user operations
// (Create, Edit, Remove, …) never fail.
type Faults struct {
	// ErrorRate: a call fails with a connector.Temporary error.
	ErrorRate float64
	// TimeoutRate: a call fails with an error wrapping
	// context.DeadlineExceeded.
	TimeoutRate float64
	// EmptyPageRate: a List returns an empty page without NextPageToken,
	// carrying the request's cursor: a listing silently cut short.
	EmptyPageRate float64
	// LostResponseRate: an Insert, Update or Delete is applied but the
	// caller gets a connector.Temporary error, as when the connection drops
	// after the system committed.
	LostResponseRate float64
	// RejectField: an Insert or Update that sets this field to a non-null
	// value fails with connector.ErrRejected and writes nothing.
	RejectField string
	// Latency delays every call (or until its context ends).
	Latency time.Duration
	// FailNext: the next FailNext calls fail with a connector.Temporary
	// error; it counts down as they do.
	FailNext int
	// Down: every call fails with a connector.Unavailable error, as when
	// the system cannot be reached, and does nothing.
	Down bool
}

// SetFaults replaces the faults in force; the zero Faults turns them off.
func (s *System) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Faults returns the faults in force, with what remains of FailNext.
func (s *System) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// enter counts a connector call and decides, before it does anything,
// whether it fails.
func (s *System) enter(ctx context.Context, op, datatype string) error {
	s.mu.Lock()
	s.calls[op]++
	latency := s.faults.Latency
	s.mu.Unlock()

	if latency > 0 {
		timer := time.NewTimer(latency)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
		}
	}
	if err := ctx.Err(); err != nil {
		return s.errorf(op, datatype, "%w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.faults.Down:
		// As a system that is down answers: no connection at all.
		refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		return connector.Unavailable(s.errorf(op, datatype, "simulated outage: %w", refused))
	case s.faults.FailNext > 0:
		s.faults.FailNext--
		return connector.Temporary(s.errorf(op, datatype, "simulated failure (FailNext)"))
	case s.roll(s.faults.ErrorRate):
		return connector.Temporary(s.errorf(op, datatype, "simulated temporary failure"))
	case s.roll(s.faults.TimeoutRate):
		return s.errorf(op, datatype, "simulated timeout: %w", context.DeadlineExceeded)
	}
	return nil
}

// roll reports true with probability p. It draws only when p > 0, so a
// run without faults consumes no randomness. s.mu must be held.
func (s *System) roll(p float64) bool {
	return p > 0 && s.rng.Float64() < p
}

// reject refuses a write that sets the RejectField. s.mu must be held.
func (s *System) reject(op, datatype, id string, fields connector.Fields) error {
	f := s.faults.RejectField
	if f == "" || fields[f] == nil {
		return nil
	}
	if id == "" {
		return s.errorf(op, datatype, "field %q is refused: %w", f, connector.ErrRejected)
	}
	return s.errorf(op, datatype, "record %q: field %q is refused: %w", id, f, connector.ErrRejected)
}

// loseResponse decides, after a write was applied, whether its answer is
// lost. s.mu must be held.
func (s *System) loseResponse(op, datatype, id string) error {
	if !s.roll(s.faults.LostResponseRate) {
		return nil
	}
	return connector.Temporary(s.errorf(op, datatype, "record %q was written but the response was lost", id))
}
