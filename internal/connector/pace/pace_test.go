package pace

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// The window never lets more than its limit through in any window.
func TestWindowKeepsTheLimit(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var sent []time.Time
	p := NewWindow(5, time.Minute+time.Second, clock, func(ctx context.Context, d time.Duration) error { now = now.Add(d); return nil })
	for i := range 23 {
		if err := p.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, now)
		now = now.Add(time.Duration(i%3) * time.Second)
	}
	for i := range sent {
		n := 0
		for _, s := range sent[i:] {
			if s.Sub(sent[i]) < time.Minute {
				n++
			}
		}
		if n > 5 {
			t.Fatalf("%d calls within a minute of %v", n, sent[i])
		}
	}
}

// A hold stops every call until it ends, also without a limit; a wait past
// the deadline fails at once.
func TestHoldAndDeadline(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var slept time.Duration
	p := NewWindow(0, time.Minute, func() time.Time { return now }, func(ctx context.Context, d time.Duration) error {
		slept += d
		now = now.Add(d)
		return nil
	})
	p.Hold(14 * time.Second)
	if err := p.Wait(context.Background()); err != nil || slept != 14*time.Second {
		t.Fatalf("waited %v (%v), want the 14s hold", slept, err)
	}
	p.Hold(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(time.Minute))
	defer cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a wait past the deadline gave %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"14", 14 * time.Second, true}, {" 0 ", 0, true}, {"-3", 0, false}, {"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	} {
		h := http.Header{}
		if tc.v != "" {
			h.Set("Retry-After", tc.v)
		}
		if d, ok := RetryAfter(h, now); d != tc.want || ok != tc.ok {
			t.Errorf("Retry-After %q: %v %v, want %v %v", tc.v, d, ok, tc.want, tc.ok)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "5", "Wed, 21 Oct 2015 07:28:00 GMT", "x", "-1", "99999999999"} {
		f.Add(s)
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set("Retry-After", v)
		if d, ok := RetryAfter(h, now); d < 0 || (!ok && d != 0) {
			t.Fatalf("%q gave %v %v", v, d, ok)
		}
	})
}

func TestRetryAfterIsCappedAtADay(t *testing.T) {
	h := http.Header{}
	h.Set("Retry-After", "99999999999")
	if d, ok := RetryAfter(h, time.Now()); !ok || d != 24*time.Hour {
		t.Fatalf("got %v %v, want a day", d, ok)
	}
}
