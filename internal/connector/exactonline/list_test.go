package exactonline

import (
	"fmt"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/sandbox/exactonline"
)

// listAll follows a listing to its end.
func listAll(t testing.TB, c *Conn, dt string, req connector.ListRequest) ([]connector.Page, string) {
	t.Helper()
	var pages []connector.Page
	for {
		p, err := c.List(t.Context(), dt, req)
		if err != nil {
			t.Fatalf("list %s: %v", dt, err)
		}
		pages = append(pages, p)
		if p.NextPageToken == "" {
			return pages, p.Cursor
		}
		if len(pages) > 1000 {
			t.Fatal("the listing does not end")
		}
		req.PageToken = p.NextPageToken
	}
}

func records(pages []connector.Page) []connector.Record {
	var out []connector.Record
	for _, p := range pages {
		out = append(out, p.Records...)
	}
	return out
}

func putAccounts(t testing.TB, sb *exactonline.Server, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		r, err := sb.Put("Accounts", map[string]any{"Code": fmt.Sprint(100000 + i), "Name": fmt.Sprintf("Account %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = r["ID"].(string)
	}
	return ids
}

func TestListingCrossesPages(t *testing.T) {
	e := newEnv(t, exactonline.Options{Faults: exactonline.Faults{EmptyPageRate: 0.2}})
	c := e.open()
	ids := putAccounts(t, e.sb, 2500)

	pages, cursor := listAll(t, c, "Accounts", connector.ListRequest{Full: true})
	seen := map[string]int{}
	for _, r := range records(pages) {
		seen[r.ID]++
		if r.Deleted {
			t.Errorf("a full listing holds tombstone %s", r.ID)
		}
		if code, _ := r.Fields["Code"].(string); len(code) != 18 {
			t.Errorf("Code %q is not presented as Exact stores it (18 characters, right-aligned)", code)
		}
	}
	if len(seen) != 2500 {
		t.Fatalf("full listing: %d distinct records, want 2500", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	calls := e.sb.Calls()
	if calls["GET crm/Accounts"] != 0 || calls["GET sync/CRM/Accounts"] < 3 {
		t.Errorf("a full load of 2500 used %v; want 1000-row sync pages only", calls)
	}

	// Changes by the user of Exact: edits and deletions come back in one
	// incremental listing, deletions as tombstones after the records.
	e.sb.SetFaults(exactonline.Faults{})
	e.sb.ResetCalls()
	for _, id := range ids[:10] {
		if _, err := e.sb.Put("Accounts", map[string]any{"ID": id, "City": "Utrecht"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids[10:15] {
		if err := e.sb.Delete("Accounts", id); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Minute)
	pages, cursor = listAll(t, c, "Accounts", connector.ListRequest{Cursor: cursor})
	var live, gone int
	for _, r := range records(pages) {
		switch {
		case r.Deleted:
			gone++
			if r.Modified.IsZero() {
				t.Errorf("tombstone %s has no time", r.ID)
			}
		case r.Fields["City"] == "Utrecht":
			live++
		default:
			t.Errorf("unchanged record %s listed", r.ID)
		}
	}
	if live != 10 || gone != 5 {
		t.Fatalf("incremental listing: %d edited and %d deleted, want 10 and 5", live, gone)
	}
	if got := e.sb.Calls(); got["GET sync/CRM/Accounts"] != 1 || got["GET sync/Deleted"] != 1 {
		t.Errorf("an incremental listing of 15 changes used %v, want one sync page and one read of sync/Deleted", got)
	}

	// Nothing changed: nothing listed; the deletions are not repeated.
	e.clock.Advance(time.Minute)
	pages, _ = listAll(t, c, "Accounts", connector.ListRequest{Cursor: cursor})
	if n := len(records(pages)); n != 0 {
		t.Errorf("a listing with nothing changed gave %d records", n)
	}
}

// One read of sync/Deleted serves the listings of every datatype while it
// is fresh.
func TestDeletionsAreReadOncePerRound(t *testing.T) {
	e := newEnv(t, sandboxOpts())
	c := e.open()
	acc := putAccounts(t, e.sb, 3)
	item, _ := e.sb.Put("Items", map[string]any{"Code": "I1", "Description": "one"})
	cursors := map[string]string{}
	for _, dt := range []string{"Accounts", "Items", "Contacts"} {
		_, cursors[dt] = listAll(t, c, dt, connector.ListRequest{Full: true})
	}
	e.sb.Delete("Accounts", acc[0])
	e.sb.Delete("Items", item["ID"].(string))
	e.clock.Advance(time.Minute)
	e.sb.ResetCalls()
	gone := map[string][]string{}
	for _, dt := range []string{"Accounts", "Items", "Contacts"} {
		pages, _ := listAll(t, c, dt, connector.ListRequest{Cursor: cursors[dt]})
		for _, r := range records(pages) {
			if r.Deleted {
				gone[dt] = append(gone[dt], r.ID)
			}
		}
	}
	if len(gone["Accounts"]) != 1 || gone["Accounts"][0] != acc[0] || len(gone["Items"]) != 1 || len(gone["Contacts"]) != 0 {
		t.Fatalf("tombstones by datatype: %v", gone)
	}
	if n := e.calls("GET sync/Deleted"); n != 1 {
		t.Fatalf("three listings read sync/Deleted %d times, want once", n)
	}
}

// A page cursor taken anywhere in a listing resumes it without a loss,
// whatever form the Timestamp comes in.
func TestResumeFromEveryPageCursor(t *testing.T) {
	e := newEnv(t, exactonline.Options{TimestampAsString: true})
	c := e.open()
	putAccounts(t, e.sb, 2100)
	var upTo []connector.Record
	req := connector.ListRequest{}
	for page := 1; ; page++ {
		p, err := c.List(t.Context(), "Accounts", req)
		if err != nil {
			t.Fatal(err)
		}
		upTo = append(upTo, p.Records...)
		rest, _ := listAll(t, c, "Accounts", connector.ListRequest{Cursor: p.Cursor})
		got := map[string]bool{}
		for _, r := range append(upTo, records(rest)...) {
			got[r.ID] = true
		}
		if len(got) != 2100 {
			t.Fatalf("pages 1-%d plus a listing from page %d's cursor %s: %d records, want 2100", page, page, p.Cursor, len(got))
		}
		if p.NextPageToken == "" {
			break
		}
		req.PageToken = p.NextPageToken
	}
}
