package memory_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/connectortest"
	"github.com/concordsync/concord/internal/connector/memory"
)

// clock is a logical clock for tests: it reads Now, then moves by Step.
type clock struct {
	mu   sync.Mutex
	now  time.Time
	Step time.Duration
}

func newClock(step time.Duration) *clock {
	return &clock{now: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), Step: step}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.Step)
	return t
}

// Set moves the clock to t.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

const customers = "Customers"

func customer(i int) connector.Fields {
	return connector.Fields{
		"name":    fmt.Sprintf("Customer %d", i),
		"email":   fmt.Sprintf("customer%d@example.com", i),
		"credit":  float64(i) * 1.5,
		"active":  i%2 == 0,
		"tags":    []any{"wholesale", strconv.Itoa(i)},
		"address": map[string]any{"city": "Utrecht", "lines": []any{"Oudegracht " + strconv.Itoa(i)}},
	}
}

func renamed(f connector.Fields) connector.Fields {
	name, _ := f["name"].(string)
	return connector.Fields{"name": name + " (renamed)"}
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name      string
		wallClock bool          // time.Now instead of a logical clock
		step      time.Duration // how far the logical clock moves per reading
		opts      memory.Options
		records   int
	}{
		{name: "WallClockDefaultOptions", wallClock: true},
		// A thousand writes per second of system time: ties everywhere.
		{name: "SecondGranularityManyTies", step: time.Millisecond, opts: memory.Options{TimeGranularity: time.Second, PageSize: 7}},
		{name: "FrozenClockOneTimestamp", opts: memory.Options{PageSize: 10, IDPrefix: "C-"}},
		{name: "PageSizeOne", step: time.Second, opts: memory.Options{TimeGranularity: time.Minute, PageSize: 1}, records: 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Open makes a new system per subtest; the suite runs them one
			// at a time, so UserEdit and Tick act on the last one opened.
			var sys *memory.System
			var clk *clock
			h := connectortest.Harness{
				Open: func(t *testing.T) connector.Connector {
					opts := tc.opts
					if !tc.wallClock {
						clk = newClock(tc.step)
						opts.Clock = clk.Now
					}
					sys = memory.New("crm", opts)
					return sys
				},
				Datatype:  customers,
				NewFields: customer,
				Change:    renamed,
				UserEdit: func(t *testing.T, id string, fields connector.Fields) {
					if r := sys.Edit(customers, id, fields); r.ID == "" {
						t.Fatalf("user edit of %q: no such record", id)
					}
				},
				CanDelete:             true,
				ChecksIfMatch:         true,
				IncrementalTombstones: true,
				Records:               tc.records,
			}
			if !tc.wallClock {
				h.Tick = func(t *testing.T) { clk.Set(clk.Now().Add(time.Hour)) }
			}
			connectortest.Run(t, h)
		})
	}
}

// listAll follows page tokens and returns the records and the last cursor.
func listAll(t testing.TB, c connector.Connector, datatype string, req connector.ListRequest) ([]connector.Record, string) {
	t.Helper()
	var out []connector.Record
	for {
		p, err := c.List(context.Background(), datatype, req)
		if err != nil {
			t.Fatalf("list %s: %v", datatype, err)
		}
		out = append(out, p.Records...)
		if p.NextPageToken == "" {
			return out, p.Cursor
		}
		req.PageToken = p.NextPageToken
	}
}

func ids(recs []connector.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func TestIDsAreSequentialPerDatatypeWithPrefix(t *testing.T) {
	sys := memory.New("erp", memory.Options{IDPrefix: "E-"})
	var want []string
	for i := 1; i <= 12; i++ {
		want = append(want, "E-"+strconv.Itoa(i))
		r, err := sys.Insert(context.Background(), customers, customer(i))
		if err != nil || r.ID != want[i-1] {
			t.Fatalf("insert %d: id %q, error %v; want id %q", i, r.ID, err, want[i-1])
		}
	}
	if r := sys.Create("Products", nil); r.ID != "E-1" {
		t.Errorf("first product id %q, want E-1: ids are per datatype", r.ID)
	}
	// Shortlex order: E-10 after E-9, so ids list in creation order.
	if got := ids(sys.Records(customers)); !reflect.DeepEqual(got, want) {
		t.Errorf("records in order %v, want %v", got, want)
	}
	full, _ := listAll(t, memory.New("x", memory.Options{}), customers, connector.ListRequest{Full: true})
	if len(full) != 0 {
		t.Errorf("full listing of an empty datatype: %v", full)
	}
}

func TestFieldsAreCopiedInAndOut(t *testing.T) {
	ctx := context.Background()
	sys := memory.New("crm", memory.Options{})
	in := customer(1)
	r, err := sys.Insert(ctx, customers, in)
	if err != nil {
		t.Fatal(err)
	}
	in["address"].(map[string]any)["city"] = "changed by the caller"
	r.Fields["tags"].([]any)[0] = "changed by the caller"
	got, err := sys.Get(ctx, customers, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Fields, customer(1)) {
		t.Fatalf("stored fields changed through the caller's maps: %v", got.Fields)
	}
}

func TestUpdateMergesAndChecksIfMatch(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Second)
	sys := memory.New("crm", memory.Options{Clock: clk.Now})
	r := sys.Create(customers, connector.Fields{"name": "Acme", "vat": "NL1"})
	stale := connector.Hash(r.Fields)
	sys.Edit(customers, r.ID, connector.Fields{"vat": "NL2"})
	moved, _ := sys.Lookup(customers, r.ID)

	_, err := sys.Update(ctx, customers, r.ID, connector.Fields{"name": "Acme BV"}, stale)
	if !errors.Is(err, connector.ErrConflict) {
		t.Fatalf("update based on an outdated hash: want ErrConflict, got %v", err)
	}
	if now, _ := sys.Lookup(customers, r.ID); !reflect.DeepEqual(now, moved) {
		t.Fatalf("refused update wrote: %+v, want %+v", now, moved)
	}

	u, err := sys.Update(ctx, customers, r.ID, connector.Fields{"name": "Acme BV"}, connector.Hash(moved.Fields))
	if err != nil {
		t.Fatal(err)
	}
	want := connector.Fields{"name": "Acme BV", "vat": "NL2"}
	if !reflect.DeepEqual(u.Fields, want) || !u.Modified.After(moved.Modified) {
		t.Fatalf("update returned %+v, want fields %v modified after %v", u, want, moved.Modified)
	}
}

func TestMissingAndDeletedRecordsAreNotFound(t *testing.T) {
	ctx := context.Background()
	sys := memory.New("crm", memory.Options{})
	r := sys.Create(customers, customer(1))
	if err := sys.Delete(ctx, customers, r.ID); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"get missing":    func() error { _, err := sys.Get(ctx, customers, "404"); return err }(),
		"get deleted":    func() error { _, err := sys.Get(ctx, customers, r.ID); return err }(),
		"update deleted": func() error { _, err := sys.Update(ctx, customers, r.ID, connector.Fields{"a": 1.0}, ""); return err }(),
		"delete deleted": sys.Delete(ctx, customers, r.ID),
		"delete missing": sys.Delete(ctx, customers, "404"),
	} {
		if !errors.Is(err, connector.ErrNotFound) {
			t.Errorf("%s: want ErrNotFound, got %v", name, err)
		}
	}
	if _, ok := sys.Lookup(customers, r.ID); ok || !sys.Deleted(customers, r.ID) || sys.Count(customers) != 0 {
		t.Errorf("deleted record: lookup ok %v, deleted %v, count %d", ok, sys.Deleted(customers, r.ID), sys.Count(customers))
	}
	if got := sys.Edit(customers, r.ID, connector.Fields{"name": "back"}); got.ID != "" {
		t.Errorf("edit of a deleted record returned %+v", got)
	}
	sys.Remove(customers, "404") // a no-op
}

func TestIncrementalListingReemitsRecordsAtTheCursor(t *testing.T) {
	clk := newClock(0)
	sys := memory.New("crm", memory.Options{Clock: clk.Now, PageSize: 2})
	for i := range 5 {
		sys.Create(customers, customer(i))
	}
	first, cursor := listAll(t, sys, customers, connector.ListRequest{})
	if len(first) != 5 || cursor != "2025-03-01T09:00:00Z" {
		t.Fatalf("first listing: %d records, cursor %q", len(first), cursor)
	}
	again, _ := listAll(t, sys, customers, connector.ListRequest{Cursor: cursor})
	if len(again) != 5 {
		t.Fatalf("listing from a cursor all records share returned %d records, want all 5 again (>=)", len(again))
	}
	clk.Set(clk.Now().Add(time.Second))
	sys.Edit(customers, "3", connector.Fields{"name": "later"})
	later, next := listAll(t, sys, customers, connector.ListRequest{Cursor: cursor})
	// The edited record moved behind the others: it comes last.
	if got := ids(later); !reflect.DeepEqual(got, []string{"1", "2", "4", "5", "3"}) || next != "2025-03-01T09:00:01Z" {
		t.Fatalf("after an edit: ids %v cursor %q", got, next)
	}
}

func TestPageCursorsAndEmptyPages(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Second)
	sys := memory.New("crm", memory.Options{Clock: clk.Now, PageSize: 2})
	for i := range 3 {
		sys.Create(customers, customer(i)) // at 09:00:00, :01, :02
	}
	p, err := sys.List(ctx, customers, connector.ListRequest{Cursor: "2025-03-01T09:00:01Z"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(p.Records); !reflect.DeepEqual(got, []string{"2", "3"}) || p.Cursor != "2025-03-01T09:00:02Z" || p.NextPageToken != "" {
		t.Fatalf("page: ids %v cursor %q token %q", got, p.Cursor, p.NextPageToken)
	}
	empty, err := sys.List(ctx, customers, connector.ListRequest{Cursor: "2030-01-01T00:00:00Z"})
	if err != nil || len(empty.Records) != 0 || empty.Cursor != "2030-01-01T00:00:00Z" {
		t.Fatalf("empty page: %+v, %v; want the request's cursor", empty, err)
	}
	for _, req := range []connector.ListRequest{
		{Cursor: "yesterday"},
		{PageToken: "not a token"},
		{PageToken: "aGVsbG8"}, // base64 of "hello"
	} {
		if _, err := sys.List(ctx, customers, req); err == nil {
			t.Errorf("list %+v: want an error", req)
		}
	}
	p1, _ := sys.List(ctx, customers, connector.ListRequest{})
	if _, err := sys.List(ctx, customers, connector.ListRequest{Full: true, PageToken: p1.NextPageToken}); err == nil {
		t.Error("an incremental page token continued a full listing")
	}
}

// A record written while a listing is under way may sort before the page
// token (same timestamp, smaller id). The page cursors stay at the time the
// listing began, so the next listing returns it.
func TestWriteDuringListingIsNotLost(t *testing.T) {
	ctx := context.Background()
	clk := newClock(0)
	sys := memory.New("crm", memory.Options{Clock: clk.Now, TimeGranularity: time.Second, PageSize: 5})
	for i := range 10 {
		sys.Create(customers, customer(i)) // ids 1-10, all at 09:00:00
	}
	p1, err := sys.List(ctx, customers, connector.ListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	sys.Edit(customers, "2", connector.Fields{"name": "edited between pages"}) // still 09:00:00
	clk.Set(clk.Now().Add(time.Second))
	sys.Create(customers, customer(11)) // 09:00:01
	rest, cursor := listAll(t, sys, customers, connector.ListRequest{PageToken: p1.NextPageToken})
	if got := ids(rest); !reflect.DeepEqual(got, []string{"6", "7", "8", "9", "10", "11"}) {
		t.Fatalf("rest of the listing: %v", got)
	}
	next, _ := listAll(t, sys, customers, connector.ListRequest{Cursor: cursor})
	for _, r := range next {
		if r.ID == "2" && r.Fields["name"] == "edited between pages" {
			return
		}
	}
	t.Fatalf("the edit made during the listing is lost: listing from cursor %q returned %v", cursor, ids(next))
}

func TestFullListing(t *testing.T) {
	ctx := context.Background()
	clk := newClock(time.Second)
	sys := memory.New("crm", memory.Options{Clock: clk.Now, PageSize: 3})
	for i := range 8 {
		sys.Create(customers, customer(i))
	}
	sys.Remove(customers, "4") // the latest write: 09:00:08
	recs, cursor := listAll(t, sys, customers, connector.ListRequest{Full: true})
	if got := ids(recs); !reflect.DeepEqual(got, []string{"1", "2", "3", "5", "6", "7", "8"}) || cursor != "2025-03-01T09:00:08Z" {
		t.Fatalf("full listing: ids %v cursor %q", got, cursor)
	}

	// Every page carries the cursor of the listing's start, so an edit of a
	// record the listing already passed is seen by the next incremental one.
	p1, _ := sys.List(ctx, customers, connector.ListRequest{Full: true})
	sys.Edit(customers, "1", connector.Fields{"name": "edited during the full listing"})
	_, cursor = listAll(t, sys, customers, connector.ListRequest{Full: true, PageToken: p1.NextPageToken})
	if cursor != p1.Cursor {
		t.Fatalf("full listing cursor moved from %q to %q during the listing", p1.Cursor, cursor)
	}
	changed, _ := listAll(t, sys, customers, connector.ListRequest{Cursor: cursor})
	if got := ids(changed); !reflect.DeepEqual(got, []string{"4", "1"}) {
		t.Fatalf("incremental listing after the full one: %v, want the tombstone at the cursor and the edit", got)
	}
}

func TestManyWritesKeepListingsRight(t *testing.T) {
	// Enough rewrites of few records to compact the change index many times.
	clk := newClock(time.Millisecond)
	sys := memory.New("crm", memory.Options{Clock: clk.Now, TimeGranularity: 10 * time.Millisecond, PageSize: 50})
	for i := range 20 {
		sys.Create(customers, customer(i))
	}
	_, cursor := listAll(t, sys, customers, connector.ListRequest{})
	for n := range 20000 {
		sys.Edit(customers, strconv.Itoa(1+n%20), connector.Fields{"n": float64(n)})
	}
	recs, _ := listAll(t, sys, customers, connector.ListRequest{Cursor: cursor})
	latest := map[string]float64{}
	for _, r := range recs {
		latest[r.ID] = r.Fields["n"].(float64)
	}
	if len(latest) != 20 || len(recs) > 40 {
		t.Fatalf("listing after 20000 edits of 20 records: %d records, %d distinct", len(recs), len(latest))
	}
	for id, n := range latest {
		want, _ := strconv.Atoi(id)
		if int(n) != 20000-20+want-1 {
			t.Errorf("record %s listed with n=%v, want its last edit %d", id, n, 20000-20+want-1)
		}
	}
}

func TestDescribeInfersProperties(t *testing.T) {
	sys := memory.New("crm", memory.Options{})
	sys.Declare("Invoices", connector.Property{Name: "total", Type: "number"})
	sys.Create(customers, connector.Fields{
		"name": "Acme", "credit": 1.5, "employees": int64(3), "active": true,
		"founded": "1999-04-01", "updated": "2025-01-02T03:04:05Z", "tags": []any{}, "address": map[string]any{}, "note": nil,
	})
	sys.Create(customers, connector.Fields{"employees": 4.5, "founded": "long ago"})
	infos, err := sys.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []connector.DatatypeInfo{
		{Name: customers, CanDelete: true, Properties: []connector.Property{
			{Name: "active", Type: "boolean"}, {Name: "address", Type: "object"}, {Name: "credit", Type: "number"},
			{Name: "employees", Type: "number"}, {Name: "founded", Type: "string"}, {Name: "name", Type: "string"},
			{Name: "note", Type: "string"}, {Name: "tags", Type: "array"}, {Name: "updated", Type: "datetime"},
		}},
		{Name: "Invoices", CanDelete: true, Properties: []connector.Property{{Name: "total", Type: "number"}}},
	}
	if !reflect.DeepEqual(infos, want) {
		t.Fatalf("describe:\n got %+v\nwant %+v", infos, want)
	}
}

func TestCallsCountConnectorCallsOnly(t *testing.T) {
	ctx := context.Background()
	sys := memory.New("crm", memory.Options{})
	r := sys.Create(customers, customer(1))
	sys.Edit(customers, r.ID, renamed(r.Fields))
	sys.Records(customers)
	if n := len(sys.Calls()); n != 0 {
		t.Fatalf("user operations counted as calls: %v", sys.Calls())
	}
	sys.List(ctx, customers, connector.ListRequest{})
	sys.Get(ctx, customers, r.ID)
	sys.Update(ctx, customers, r.ID, connector.Fields{"a": 1.0}, "")
	sys.Get(ctx, customers, "404")
	want := map[string]int{"list": 1, "get": 2, "update": 1}
	if got := sys.Calls(); !reflect.DeepEqual(got, want) || sys.Writes() != 1 {
		t.Fatalf("calls %v writes %d, want %v and 1 write", got, sys.Writes(), want)
	}
	sys.ResetCalls()
	if sys.Writes() != 0 || len(sys.Calls()) != 0 {
		t.Fatalf("after reset: %v", sys.Calls())
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	sys := memory.New("crm", memory.Options{PageSize: 7, TimeGranularity: time.Millisecond, Seed: 1})
	sys.SetFaults(memory.Faults{ErrorRate: 0.1})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				r := sys.Create(customers, customer(w*1000+i))
				sys.Update(ctx, customers, r.ID, renamed(r.Fields), "")
				sys.Edit(customers, r.ID, connector.Fields{"worker": float64(w)})
				sys.List(ctx, customers, connector.ListRequest{Full: i%2 == 0})
				if i%5 == 0 {
					sys.Delete(ctx, customers, r.ID)
					sys.Remove(customers, r.ID) // in case the delete failed
				}
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			sys.SetFaults(memory.Faults{ErrorRate: 0.2, LostResponseRate: 0.1})
			sys.Describe(ctx)
			sys.Calls()
		}
	})
	wg.Wait()
	if got := sys.Count(customers); got != 4*160 {
		t.Fatalf("count %d, want %d", got, 4*160)
	}
}

func TestTombstonesListsDeletedRecords(t *testing.T) {
	sys := memory.New("crm", memory.Options{})
	a := sys.Create(customers, customer(1))
	b := sys.Create(customers, customer(2))
	sys.Remove(customers, a.ID)
	if got := sys.Tombstones(customers); len(got) != 1 || got[0] != a.ID {
		t.Fatalf("tombstones = %v, want [%s]", got, a.ID)
	}
	if got := sys.Records(customers); len(got) != 1 || got[0].ID != b.ID {
		t.Fatalf("live records = %v", got)
	}
}
