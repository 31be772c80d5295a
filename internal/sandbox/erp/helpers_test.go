package erp

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

var start = time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)

// erpSys is a running ERP, its clock and a client holding its key.
type erpSys struct {
	t     *testing.T
	srv   *Server
	url   string
	clock *ManualClock
	key   string
}

func startERP(t *testing.T, opts Options) *erpSys {
	t.Helper()
	clock := NewManualClock(start)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Seed == 0 {
		opts.Seed = 11
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &erpSys{t: t, srv: srv, url: ts.URL, clock: clock, key: srv.APIKey()}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (a reply) String() string { return http.StatusText(a.status) + " " + string(a.body) }

func (a reply) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", a.body, err)
	}
	return m
}

// apiErr decodes an error body, which must have a code and a message.
func (a reply) apiErr(t *testing.T) (code, message, field string) {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(a.body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %q lacks code or message: %v", a.body, err)
	}
	return e.Error.Code, e.Error.Message, e.Error.Field
}

func (e *erpSys) call(method, path string, body any) reply {
	e.t.Helper()
	a, err := e.try(e.key, method, path, body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

func (e *erpSys) try(key, method, path string, body any) (reply, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

func (e *erpSys) must(want int, a reply) reply {
	e.t.Helper()
	if a.status != want {
		e.t.Fatalf("got %s, want %d", a, want)
	}
	return a
}

func (e *erpSys) put(coll string, rec Record) Record {
	e.t.Helper()
	out, err := e.srv.Put(coll, rec)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

type testPage struct {
	Items      []map[string]any `json:"items"`
	NextCursor string           `json:"next_cursor"`
	HasMore    bool             `json:"has_more"`
}

// changes pages through a collection's change listing from cursor (""
// for the beginning) with limit, calling between after each page that has
// more, and returns the items and the cursor to keep.
func (e *erpSys) changes(coll, cursor string, limit int, between func(page int)) ([]map[string]any, string, int) {
	e.t.Helper()
	var items []map[string]any
	for pages := 1; ; pages++ {
		q := url.Values{"limit": {itoa(limit)}}
		if cursor != "" {
			q.Set("changed_after", cursor)
		}
		a := e.must(200, e.call("GET", "/erp/"+coll+"?"+q.Encode(), nil))
		var p testPage
		if err := json.Unmarshal(a.body, &p); err != nil {
			e.t.Fatal(err)
		}
		if p.NextCursor == "" {
			e.t.Fatalf("page without next_cursor: %s", a.body)
		}
		items = append(items, p.Items...)
		cursor = p.NextCursor
		if !p.HasMore {
			return items, cursor, pages
		}
		if between != nil {
			between(pages)
		}
		if pages > 100 {
			e.t.Fatal("listing does not end")
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func field(items []map[string]any, name string) []any {
	var out []any
	for _, it := range items {
		out = append(out, it[name])
	}
	return out
}
