package connector

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

func TestUnavailableAndNotSent(t *testing.T) {
	refused := fmt.Errorf("list: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	reset := fmt.Errorf("update: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})
	for _, c := range []struct {
		name                         string
		err                          error
		unavailable, notSent, tempor bool
	}{
		{"refused at connect", Temporary(refused), true, true, true},
		{"reset after sending", Temporary(reset), true, false, true},
		{"name not resolved", &net.DNSError{Err: "no such host", Name: "erp.invalid"}, true, false, true},
		{"503 after retries", Unavailable(errors.New("503")), true, false, true},
		{"budget spent", Throttled(errors.New("429")), false, true, true},
		{"500", Temporary(errors.New("500")), false, false, true},
		{"rejected", fmt.Errorf("422: %w", ErrRejected), false, false, false},
		{"nil", nil, false, false, false},
	} {
		if got := IsUnavailable(c.err); got != c.unavailable {
			t.Errorf("%s: IsUnavailable = %v", c.name, got)
		}
		if got := NotSent(c.err); got != c.notSent {
			t.Errorf("%s: NotSent = %v", c.name, got)
		}
		if got := c.err != nil && IsTemporary(c.err); got != c.tempor {
			t.Errorf("%s: IsTemporary = %v", c.name, got)
		}
	}
}
