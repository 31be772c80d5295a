package connectortest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/concordsync/concord/internal/connector"
)

// maxPages bounds a listing, so that a connector whose page tokens never end
// fails the test instead of hanging it.
const maxPages = 100_000

// listing is every page of one listing, in order.
type listing struct {
	pages []connector.Page
}

// records returns the records of all pages, in order, repeats included.
func (l listing) records() []connector.Record {
	var out []connector.Record
	for _, p := range l.pages {
		out = append(out, p.Records...)
	}
	return out
}

// cursor returns the cursor to store once the listing is complete: the last
// page's.
func (l listing) cursor() string {
	if len(l.pages) == 0 {
		return ""
	}
	return l.pages[len(l.pages)-1].Cursor
}

// latest returns the last version listed of each record.
func (l listing) latest() map[string]connector.Record {
	out := map[string]connector.Record{}
	for _, r := range l.records() {
		out[r.ID] = r
	}
	return out
}

// listAll follows page tokens from req to the end of the listing.
func listAll(t *testing.T, c connector.Connector, datatype string, req connector.ListRequest) listing {
	t.Helper()
	var l listing
	seen := map[string]bool{}
	for {
		p := listPage(t, c, datatype, req)
		l.pages = append(l.pages, p)
		if p.NextPageToken == "" {
			return l
		}
		if seen[p.NextPageToken] || len(l.pages) >= maxPages {
			t.Fatalf("list %s: page token %q repeats or the listing never ends (%d pages)", datatype, p.NextPageToken, len(l.pages))
		}
		seen[p.NextPageToken] = true
		req.PageToken = p.NextPageToken
	}
}

// listPage lists one page.
func listPage(t *testing.T, c connector.Connector, datatype string, req connector.ListRequest) connector.Page {
	t.Helper()
	p, err := c.List(t.Context(), datatype, req)
	if err != nil {
		t.Fatalf("list %s (cursor %q, full %v, page token %q): %v", datatype, req.Cursor, req.Full, req.PageToken, err)
	}
	return p
}

func get(t *testing.T, c connector.Connector, datatype, id string) connector.Record {
	t.Helper()
	r, err := c.Get(t.Context(), datatype, id)
	if err != nil {
		t.Fatalf("get %s %q: %v", datatype, id, err)
	}
	if r.ID != id {
		t.Fatalf("get %s %q returned record %q", datatype, id, r.ID)
	}
	return r
}

func insert(t *testing.T, c connector.Connector, datatype string, fields connector.Fields) connector.Record {
	t.Helper()
	r, err := c.Insert(t.Context(), datatype, connector.CloneFields(fields))
	if err != nil {
		t.Fatalf("insert %s %v: %v", datatype, fields, err)
	}
	if r.ID == "" {
		t.Fatalf("insert %s %v returned no id", datatype, fields)
	}
	return r
}

func update(t *testing.T, c connector.Connector, datatype, id string, fields connector.Fields) connector.Record {
	t.Helper()
	r, err := c.Update(t.Context(), datatype, id, connector.CloneFields(fields), "")
	if err != nil {
		t.Fatalf("update %s %q with %v: %v", datatype, id, fields, err)
	}
	return r
}

// wantNotFound fails unless Get of id reports connector.ErrNotFound.
func wantNotFound(t *testing.T, c connector.Connector, datatype, id string) {
	t.Helper()
	r, err := c.Get(t.Context(), datatype, id)
	if !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("get %s %q: want an error wrapping ErrNotFound, got record %+v, error %v", datatype, id, r, err)
	}
}

// holds reports the fields of want that got lacks or holds with another
// value. got may hold more fields (a system adds its own).
func holds(got, want connector.Fields) (diffs []string) {
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		if !ok {
			diffs = append(diffs, k+": missing")
			continue
		}
		if !sameValue(g, want[k]) {
			diffs = append(diffs, fmt.Sprintf("%s: have %#v, want %#v", k, g, want[k]))
		}
	}
	return diffs
}

// wantHolds fails when got does not hold the fields of want.
func wantHolds(t *testing.T, what string, got, want connector.Fields) {
	t.Helper()
	if diffs := holds(got, want); diffs != nil {
		t.Fatalf("%s: fields differ %v\n have %v\n want %v", what, diffs, got, want)
	}
}

// sameValue compares two JSON-like values the way connector.Hash does, so
// that 3 and 3.0 are the same.
func sameValue(a, b any) bool {
	return connector.Hash(connector.Fields{"v": a}) == connector.Hash(connector.Fields{"v": b})
}

// overlay returns base with the fields of change written over it.
func overlay(base, change connector.Fields) connector.Fields {
	out := connector.CloneFields(base)
	maps.Copy(out, connector.CloneFields(change))
	return out
}
