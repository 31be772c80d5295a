package webshop

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
)

// start is the time of every test's clock: 09:00 UTC is 10:00 in the shop.
var start = time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)

// shop is a running webshop, its clock and a client holding its token.
type shop struct {
	t     *testing.T
	srv   *Server
	url   string
	clock *ManualClock
	token string
}

func startShop(t *testing.T, opts Options) *shop {
	t.Helper()
	clock := NewManualClock(start)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Seed == 0 {
		opts.Seed = 7
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
	return &shop{t: t, srv: srv, url: ts.URL, clock: clock, token: srv.Token()}
}

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) String() string { return http.StatusText(a.status) + " " + string(a.body) }

// obj decodes the body as a JSON object.
func (a answer) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", a.body, err)
	}
	return m
}

// fieldErrors decodes a 422 body's errors.
func (a answer) fieldErrors(t *testing.T) map[string][]string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(a.body, &e); err != nil || e.Message == "" {
		t.Fatalf("error body %q lacks a message: %v", a.body, err)
	}
	return e.Errors
}

// call sends a request with the shop's token; body is sent as JSON
// unless it is a string (sent as is) or nil.
func (sh *shop) call(method, path string, body any) answer {
	sh.t.Helper()
	return sh.callAs("Bearer "+sh.token, method, path, body)
}

func (sh *shop) callAs(auth, method, path string, body any) answer {
	sh.t.Helper()
	a, err := sh.try(auth, method, path, body)
	if err != nil {
		sh.t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

func (sh *shop) try(auth, method, path string, body any) (answer, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			sh.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = sh.url + path
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		sh.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// must fails the test unless the answer has status want.
func (sh *shop) must(want int, a answer) answer {
	sh.t.Helper()
	if a.status != want {
		sh.t.Fatalf("got %s, want %d", a, want)
	}
	return a
}

// put creates a record as a user of the shop would, failing the test on
// an error.
func (sh *shop) put(coll string, rec Record) Record {
	sh.t.Helper()
	out, err := sh.srv.Put(coll, rec)
	if err != nil {
		sh.t.Fatal(err)
	}
	return out
}

// listPage is a listing as a client reads it.
type testPage struct {
	Data  []map[string]any `json:"data"`
	Meta  meta             `json:"meta"`
	Links struct {
		Next *string `json:"next"`
	} `json:"links"`
}

// listAll follows links.next from path to the end, calling between after
// each page but the last, and returns every record in order.
func (sh *shop) listAll(path string, between func(page int)) (recs []map[string]any, pages int) {
	sh.t.Helper()
	next := path
	for next != "" {
		a := sh.must(200, sh.call("GET", next, nil))
		var p testPage
		if err := json.Unmarshal(a.body, &p); err != nil {
			sh.t.Fatal(err)
		}
		pages++
		recs = append(recs, p.Data...)
		next = ""
		if p.Links.Next != nil {
			next = *p.Links.Next
			if got := a.header.Get("Link"); got != "<"+next+`>; rel="next"` {
				sh.t.Errorf("Link header %q does not point to links.next %q", got, next)
			}
			if between != nil {
				between(pages)
			}
		}
		if pages > 100 {
			sh.t.Fatal("listing does not end")
		}
	}
	return recs, pages
}

func ids(recs []map[string]any) []int64 {
	var out []int64
	for _, r := range recs {
		out = append(out, int64(r["id"].(float64)))
	}
	return out
}

func customer(name string) Record {
	return Record{"type": "company", "company_name": name, "email": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"}
}
