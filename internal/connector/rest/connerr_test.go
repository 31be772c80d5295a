package rest_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/rest"
)

// A system that does not answer: the error names the call once and says
// why, without Go's repetition of the method and address.
func TestConnectionErrorNamesTheCallOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String() + "/api/v1"
	ln.Close() // nothing listens there any more
	c, err := rest.Open(context.Background(), "shop", map[string]any{
		"base_url":     base,
		"max_attempts": 1,
		"auth":         map[string]any{"type": "none"},
		"datatypes":    map[string]any{"customers": map[string]any{"id_field": "id", "list": map[string]any{"path": "/customers"}}},
	}, rest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.List(context.Background(), "customers", connector.ListRequest{Full: true})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Count(msg, base+"/customers") != 1 || !strings.Contains(msg, "connection refused") || !connector.IsTemporary(err) {
		t.Errorf("got %q", msg)
	}
	if !connector.IsUnavailable(err) {
		t.Errorf("a system nobody answers for is not reported unavailable: %v", err)
	}
}

// Answers that say the system cannot serve now (503, a gateway's 502 or
// 504) are, after the retries, the system's failure (Unavailable); a 500
// is still the call's (Temporary only), and a 422 the record's.
func TestServerErrorsThatMeanUnavailable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status      int
		unavailable bool
		temporary   bool
	}{
		{http.StatusServiceUnavailable, true, true},
		{http.StatusBadGateway, true, true},
		{http.StatusGatewayTimeout, true, true},
		{http.StatusInternalServerError, false, true},
		{http.StatusUnprocessableEntity, false, false},
	} {
		c := newClock()
		s := newShop(t, c)
		settings := settingsOf(readConfig(t, "webshop.yaml"), "webshop")
		settings["max_attempts"] = 2
		conn := open(t, "webshop", settings, s.front)
		s.fail(fault{status: tc.status}, fault{status: tc.status})
		_, err := conn.List(context.Background(), "customers", connector.ListRequest{})
		if err == nil {
			t.Fatalf("%d: no error", tc.status)
		}
		if connector.IsUnavailable(err) != tc.unavailable || connector.IsTemporary(err) != tc.temporary {
			t.Errorf("%d: unavailable %v, temporary %v, want %v, %v (%v)", tc.status,
				connector.IsUnavailable(err), connector.IsTemporary(err), tc.unavailable, tc.temporary, err)
		}
	}
}
