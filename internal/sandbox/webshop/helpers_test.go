package webshop

import (
	"cmp"
	"encoding/json"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/sandbox/custom/customtest"
)

// start is the time of every test's clock: 09:00 UTC is 10:00 in the shop.
var start = customtest.Start

// shop is a running webshop, its clock and a client holding its token.
type shop struct {
	*customtest.System[*Server]
	token string
}

// startShop serves a webshop with opts for the test, on a manual clock
// that starts at start, with its logs discarded and (unless opts has one)
// seed 7.
func startShop(t *testing.T, opts Options) *shop {
	t.Helper()
	clock := NewManualClock(start)
	opts.Now, opts.Logger = clock.Now, customtest.Discard
	opts.Seed = cmp.Or(opts.Seed, 7)
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &shop{customtest.Serve(t, srv, clock, "Authorization", "Bearer "+srv.Token()), srv.Token()}
}

// fieldErrors decodes a 422 body's errors.
func fieldErrors(t *testing.T, a customtest.Reply) map[string][]string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(a.Body, &e); err != nil || e.Message == "" {
		t.Fatalf("error body %q lacks a message: %v", a.Body, err)
	}
	return e.Errors
}

// testPage is a listing as a client reads it.
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
	sh.T.Helper()
	next := path
	for next != "" {
		a := sh.Must(200, sh.Call("GET", next, nil))
		var p testPage
		if err := json.Unmarshal(a.Body, &p); err != nil {
			sh.T.Fatal(err)
		}
		pages++
		recs = append(recs, p.Data...)
		next = ""
		if p.Links.Next != nil {
			next = *p.Links.Next
			if got := a.Header.Get("Link"); got != "<"+next+`>; rel="next"` {
				sh.T.Errorf("Link header %q does not point to links.next %q", got, next)
			}
			if between != nil {
				between(pages)
			}
		}
		if pages > 100 {
			sh.T.Fatal("listing does not end")
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
