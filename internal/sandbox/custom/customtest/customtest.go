// Package customtest holds the test helpers the reference systems
// (internal/sandbox/webshop and internal/sandbox/erp) share: a system
// served over HTTP for the length of a test, with its manual clock, and a
// client that holds its credential. What a system's answers look like
// (envelopes, paging, error bodies) stays with each system's own tests.
package customtest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// Start is the time every test's clock starts at.
var Start = time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)

// Discard is a logger that writes nothing, for a quiet test.
var Discard = slog.New(slog.DiscardHandler)

// Server is what a reference system's Server offers a test.
type Server interface {
	Handler() http.Handler
	Close() error
	Put(collection string, rec map[string]any) (map[string]any, error)
}

// System is a reference system served for a test: the server, its clock,
// and a client that holds its credential.
type System[S Server] struct {
	*Client
	Srv   S
	Clock *custom.ManualClock
}

// Serve serves srv over HTTP until the test ends, then closes it; an error
// of Close fails the test. The client sends credential in header
// ("X-API-Key" and the key; "Authorization" and "Bearer " and the token).
func Serve[S Server](t testing.TB, srv S, clock *custom.ManualClock, header, credential string) *System[S] {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &System[S]{Client: &Client{T: t, URL: ts.URL, Header: header, Credential: credential}, Srv: srv, Clock: clock}
}

// Put creates a record as a user of the system would, through the
// server's Put, and fails the test on an error.
func (s *System[S]) Put(collection string, rec map[string]any) map[string]any {
	s.T.Helper()
	out, err := s.Srv.Put(collection, rec)
	if err != nil {
		s.T.Fatal(err)
	}
	return out
}

// Client calls a system's API over HTTP for a test.
type Client struct {
	T testing.TB
	// URL is the system's base URL; paths are relative to it.
	URL string
	// Header is the request header the credential goes in, Credential
	// what Call sends in it.
	Header, Credential string
}

// Reply is one HTTP answer.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (a Reply) String() string { return http.StatusText(a.Status) + " " + string(a.Body) }

// Obj decodes the body as a JSON object, failing the test when it is not
// one.
func (a Reply) Obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", a.Body, err)
	}
	return m
}

// Call sends a request with the client's credential: body is sent as JSON
// unless it is a string (sent as is) or nil, and path is relative to the
// system's URL unless it is absolute. A request that gets no answer fails
// the test.
func (c *Client) Call(method, path string, body any) Reply {
	c.T.Helper()
	return c.CallAs(c.Credential, method, path, body)
}

// CallAs is Call with another credential; an empty one is not sent.
func (c *Client) CallAs(credential, method, path string, body any) Reply {
	c.T.Helper()
	a, err := c.Try(credential, method, path, body)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// Try is CallAs that returns the error of a request that gets no answer
// (a dropped connection) rather than failing the test.
func (c *Client) Try(credential, method, path string, body any) (Reply, error) {
	c.T.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.T.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = c.URL + path
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		c.T.Fatal(err)
	}
	if credential != "" {
		req.Header.Set(c.Header, credential)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// Must fails the test unless the reply has status want.
func (c *Client) Must(want int, a Reply) Reply {
	c.T.Helper()
	if a.Status != want {
		c.T.Fatalf("got %s, want %d", a, want)
	}
	return a
}
