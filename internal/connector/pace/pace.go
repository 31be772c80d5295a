// Package pace keeps a connector's calls under a system's rate limit: a
// sliding window of calls a minute, a hold while a 429's Retry-After runs,
// and a context-aware sleep. Connectors share it so that every one paces
// the same way.
package pace

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Window lets at most Limit calls through in any Per (a sliding window),
// and none while a hold runs. Limit 0 lets every call through except
// during a hold.
type Window struct {
	limit int
	per   time.Duration
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu    sync.Mutex
	sent  []time.Time // the calls in the window, oldest first
	until time.Time
}

// NewWindow makes a Window; now and sleep are the connector's clock and
// wait (Sleep when nil).
func NewWindow(limit int, per time.Duration, now func() time.Time, sleep func(context.Context, time.Duration) error) *Window {
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = Sleep
	}
	return &Window{limit: limit, per: per, now: now, sleep: sleep}
}

// Wait returns when a call may be made, and counts it. When the wait would
// outlast ctx's deadline it fails at once with an error wrapping
// context.DeadlineExceeded.
func (p *Window) Wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := p.now()
		var wait time.Duration
		switch {
		case now.Before(p.until):
			wait = p.until.Sub(now)
		case p.limit <= 0:
			p.mu.Unlock()
			return nil
		default:
			cut := 0
			for cut < len(p.sent) && !p.sent[cut].After(now.Add(-p.per)) {
				cut++
			}
			p.sent = p.sent[cut:]
			if len(p.sent) < p.limit {
				p.sent = append(p.sent, now)
				p.mu.Unlock()
				return nil
			}
			wait = p.sent[0].Add(p.per).Sub(now)
		}
		p.mu.Unlock()
		if dl, ok := ctx.Deadline(); ok && now.Add(wait).After(dl) {
			return fmt.Errorf("the rate limit allows the next call in %v, after the deadline: %w", wait, context.DeadlineExceeded)
		}
		if err := p.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Hold makes every call wait d from now.
func (p *Window) Hold(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u := p.now().Add(d); u.After(p.until) {
		p.until = u
	}
}

// Sleep waits d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RetryAfter reads a Retry-After header, in seconds or as an HTTP date
// (counted from now; a date already past is 0). ok is false when there is
// none or it cannot be read.
func RetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second, true // a day at most
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}
