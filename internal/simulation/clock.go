package simulation

import (
	"sync"
	"time"
)

// Epoch is where every run's logical clock starts.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Clock is a logical clock: every read advances it by one millisecond, so
// every user action and every system write gets a unique, ordered time. The
// memory systems, the simulated users and the engine share one per run.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock whose first reading is one tick after start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now advances the clock by one tick and returns it.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}
