package rest_test

import (
	"context"
	"net"
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
}
