package erp

import (
	"cmp"
	"encoding/json"
	"net/url"
	"strconv"
	"testing"

	"github.com/concordsync/concord/internal/sandbox/custom/customtest"
)

// erpSys is a running ERP, its clock and a client holding its key.
type erpSys struct {
	*customtest.System[*Server]
	key string
}

// startERP serves an ERP with opts for the test, on a manual clock that
// starts at customtest.Start, with its logs discarded and (unless opts
// has one) seed 11.
func startERP(t *testing.T, opts Options) *erpSys {
	t.Helper()
	clock := NewManualClock(customtest.Start)
	opts.Now, opts.Logger = clock.Now, customtest.Discard
	opts.Seed = cmp.Or(opts.Seed, 11)
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &erpSys{customtest.Serve(t, srv, clock, "X-API-Key", srv.APIKey()), srv.APIKey()}
}

// apiErr decodes an error body, which must have a code and a message.
func apiErr(t *testing.T, a customtest.Reply) (code, message, field string) {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(a.Body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %q lacks code or message: %v", a.Body, err)
	}
	return e.Error.Code, e.Error.Message, e.Error.Field
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
	e.T.Helper()
	var items []map[string]any
	for pages := 1; ; pages++ {
		q := url.Values{"limit": {itoa(limit)}}
		if cursor != "" {
			q.Set("changed_after", cursor)
		}
		a := e.Must(200, e.Call("GET", "/erp/"+coll+"?"+q.Encode(), nil))
		var p testPage
		if err := json.Unmarshal(a.Body, &p); err != nil {
			e.T.Fatal(err)
		}
		if p.NextCursor == "" {
			e.T.Fatalf("page without next_cursor: %s", a.Body)
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
			e.T.Fatal("listing does not end")
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
