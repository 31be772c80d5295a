package connectortest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/concordsync/concord/internal/connector"
)

// Harness tells the suite how to reach one datatype of the system under
// test and what valid content looks like there.
type Harness struct {
	// Open returns a connector to the system. It is called once per
	// subtest; the suite closes what it returns. Subtests run one after
	// another, never in parallel, so UserEdit may act on the system the
	// last Open reached. The system may hold records of earlier subtests
	// or of other users: the suite only checks the records it wrote.
	Open func(t *testing.T) connector.Connector
	// Datatype is the datatype the suite writes and lists.
	Datatype string
	// NewFields returns valid fields for a new record; i differs per call,
	// so that records can be told apart by content.
	NewFields func(i int) connector.Fields
	// Change returns a valid partial update of a record whose fields are f.
	// It must change the value of at least one field, also when applied to
	// its own result (append a character, increment a number).
	Change func(f connector.Fields) connector.Fields
	// UserEdit, when set, writes fields over the record's the way a user of
	// the system would, bypassing the connector. It gives the ifMatch and
	// incremental listing tests a change the connector did not make.
	UserEdit func(t *testing.T, id string, fields connector.Fields)
	// Tick, when set, moves the system's clock on by more than the
	// granularity of its modification times (a sandbox's logical clock, or
	// a sleep), so that the next write gets a later timestamp than the
	// last. Without it, the suite relies on the volume of its writes.
	Tick func(t *testing.T)

	// CanDelete: Delete removes records. Without it, Delete must report
	// connector.ErrNotSupported.
	CanDelete bool
	// ChecksIfMatch: Update refuses a write based on an outdated hash.
	ChecksIfMatch bool
	// IncrementalTombstones: an incremental listing reports deleted records
	// as tombstones (Deleted set).
	IncrementalTombstones bool

	// Records is how many records the listing tests insert (default 250).
	// Choose it well above the connector's page size, so that listings
	// cross several page boundaries.
	Records int
	// MissingID is an id the system certainly does not hold (default
	// "concordtest-missing-0"); set it where ids have a required shape.
	MissingID string
}

// suite runs the subtests of one Harness.
type suite struct {
	h Harness
	n int // NewFields calls so far
}

// Run checks that a connector behaves as the engine relies on. Every
// connector package runs it against itself (and its local sandbox).
func Run(t *testing.T, h Harness) {
	t.Helper()
	switch {
	case h.Open == nil:
		t.Fatal("connectortest: Harness.Open is required")
	case h.Datatype == "":
		t.Fatal("connectortest: Harness.Datatype is required")
	case h.NewFields == nil:
		t.Fatal("connectortest: Harness.NewFields is required")
	case h.Change == nil:
		t.Fatal("connectortest: Harness.Change is required")
	}
	if h.Records <= 0 {
		h.Records = 250
	}
	if h.MissingID == "" {
		h.MissingID = "concordtest-missing-0"
	}
	s := &suite{h: h}
	t.Run("DescribeIncludesDatatype", s.describeIncludesDatatype)
	t.Run("InsertThenGet", s.insertThenGet)
	t.Run("UpdateWritesOnlyGivenFields", s.updateWritesOnlyGivenFields)
	if h.ChecksIfMatch {
		t.Run("UpdateWithOutdatedIfMatchConflicts", s.updateWithOutdatedIfMatchConflicts)
	}
	t.Run("GetMissingIsNotFound", s.getMissingIsNotFound)
	t.Run("FullListingHasEveryRecordOnce", s.fullListingHasEveryRecordOnce)
	t.Run("IncrementalListingHasEveryChange", s.incrementalListingHasEveryChange)
	t.Run("ListingResumedFromAnyPageCursorMissesNothing", s.listingResumedFromAnyPageCursorMissesNothing)
	t.Run("ChangesDuringListingAreNotLost", s.changesDuringListingAreNotLost)
	if h.CanDelete {
		t.Run("DeleteLeavesTombstone", s.deleteLeavesTombstone)
	} else {
		t.Run("DeleteNotSupported", s.deleteNotSupported)
	}
}

func (s *suite) open(t *testing.T) connector.Connector {
	t.Helper()
	c := s.h.Open(t)
	if c == nil {
		t.Fatal("Harness.Open returned nil")
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func (s *suite) newFields() connector.Fields {
	f := s.h.NewFields(s.n)
	s.n++
	return f
}

// change returns the Harness's change of f, failing when it is empty.
func (s *suite) change(t *testing.T, f connector.Fields) connector.Fields {
	t.Helper()
	ch := s.h.Change(connector.CloneFields(f))
	if len(ch) == 0 {
		t.Fatal("Harness.Change returned no fields")
	}
	return ch
}

// insertMany inserts n new records and returns their fields by id.
func (s *suite) insertMany(t *testing.T, c connector.Connector, n int) map[string]connector.Fields {
	t.Helper()
	out := make(map[string]connector.Fields, n)
	for range n {
		f := s.newFields()
		r := insert(t, c, s.h.Datatype, f)
		if _, dup := out[r.ID]; dup {
			t.Fatalf("insert returned id %q twice", r.ID)
		}
		out[r.ID] = f
	}
	return out
}

func (s *suite) describeIncludesDatatype(t *testing.T) {
	c := s.open(t)
	insert(t, c, s.h.Datatype, s.newFields())
	infos, err := c.Describe(t.Context())
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	var names []string
	for _, info := range infos {
		if info.Name == s.h.Datatype {
			if s.h.CanDelete && !info.CanDelete {
				t.Errorf("describe says %s cannot delete; the harness says it can", info.Name)
			}
			return
		}
		names = append(names, info.Name)
	}
	t.Fatalf("describe does not list datatype %q; it lists %v", s.h.Datatype, names)
}

func (s *suite) insertThenGet(t *testing.T) {
	c := s.open(t)
	dt := s.h.Datatype
	f := s.newFields()
	in := connector.CloneFields(f)
	r, err := c.Insert(t.Context(), dt, in)
	if err != nil {
		t.Fatalf("insert %s %v: %v", dt, f, err)
	}
	if r.ID == "" {
		t.Fatalf("insert %s %v returned no id", dt, f)
	}
	if r.Fields != nil {
		wantHolds(t, "record returned by insert", r.Fields, f)
	}
	for k := range in {
		in[k] = "changed by the caller after insert"
	}
	got := get(t, c, dt, r.ID)
	if got.Deleted {
		t.Fatalf("get %q after insert returned a tombstone", r.ID)
	}
	wantHolds(t, "get after insert", got.Fields, f)

	for k := range got.Fields {
		got.Fields[k] = "changed by the caller after get"
	}
	wantHolds(t, "get after the caller changed a previous get's map", get(t, c, dt, r.ID).Fields, f)
}

func (s *suite) updateWritesOnlyGivenFields(t *testing.T) {
	c := s.open(t)
	dt := s.h.Datatype
	f := s.newFields()
	r := insert(t, c, dt, f)
	before := get(t, c, dt, r.ID)
	change := s.change(t, before.Fields)
	want := overlay(f, change)

	u := update(t, c, dt, r.ID, change)
	if u.ID != "" {
		if u.ID != r.ID {
			t.Fatalf("update of %q returned record %q", r.ID, u.ID)
		}
		wantHolds(t, "record returned by update", u.Fields, want)
	}
	after := get(t, c, dt, r.ID)
	wantHolds(t, "get after update (changed fields written, the others kept)", after.Fields, want)
	if connector.Hash(after.Fields) == connector.Hash(before.Fields) {
		t.Fatalf("update with %v left the content hash unchanged; Harness.Change must change a value", change)
	}
}

func (s *suite) updateWithOutdatedIfMatchConflicts(t *testing.T) {
	c := s.open(t)
	dt := s.h.Datatype
	r := insert(t, c, dt, s.newFields())
	read := get(t, c, dt, r.ID)
	outdated := connector.Hash(read.Fields)

	edit := s.change(t, read.Fields)
	if s.h.UserEdit != nil {
		s.h.UserEdit(t, r.ID, connector.CloneFields(edit))
	} else {
		update(t, c, dt, r.ID, edit)
	}
	moved := get(t, c, dt, r.ID)
	if connector.Hash(moved.Fields) == outdated {
		t.Fatalf("editing %q with %v left its content hash unchanged", r.ID, edit)
	}

	_, err := c.Update(t.Context(), dt, r.ID, s.change(t, moved.Fields), outdated)
	if !errors.Is(err, connector.ErrConflict) {
		t.Fatalf("update of %q based on an outdated hash: want an error wrapping ErrConflict, got %v", r.ID, err)
	}
	after := get(t, c, dt, r.ID)
	if connector.Hash(after.Fields) != connector.Hash(moved.Fields) {
		t.Fatalf("the refused update of %q wrote:\n before %v\n after  %v", r.ID, moved.Fields, after.Fields)
	}

	change := s.change(t, after.Fields)
	if _, err := c.Update(t.Context(), dt, r.ID, connector.CloneFields(change), connector.Hash(after.Fields)); err != nil {
		t.Fatalf("update of %q based on its current hash: %v", r.ID, err)
	}
	wantHolds(t, "get after an update based on the current hash", get(t, c, dt, r.ID).Fields, change)
}

func (s *suite) getMissingIsNotFound(t *testing.T) {
	c := s.open(t)
	wantNotFound(t, c, s.h.Datatype, s.h.MissingID)
}

func (s *suite) fullListingHasEveryRecordOnce(t *testing.T) {
	c := s.open(t)
	dt := s.h.Datatype
	want := s.insertMany(t, c, s.h.Records)
	full := listAll(t, c, dt, connector.ListRequest{Full: true})
	times := map[string]int{}
	for _, r := range full.records() {
		times[r.ID]++
		if r.Deleted {
			t.Errorf("full listing holds tombstone %q", r.ID)
		}
	}
	for id, n := range times {
		if n > 1 {
			t.Errorf("full listing holds record %q %d times", id, n)
		}
	}
	wantListed(t, "full listing", full, want)
	if len(full.pages) < 2 {
		t.Logf("the full listing had one page; raise Harness.Records above the page size to test paging")
	}
}

func (s *suite) incrementalListingHasEveryChange(t *testing.T) {
	c := s.open(t)
	dt := s.h.Datatype
	before := s.insertMany(t, c, s.h.Records)
	first := listAll(t, c, dt, connector.ListRequest{})
	wantListed(t, "incremental listing from the empty cursor", first, before)

	// Changes of every kind since the first listing: new records, updates
	// through the connector, edits by a user of the system.
	want := s.insertMany(t, c, s.h.Records/2)
	ids := slices.Sorted(maps.Keys(before))
	for i, id := range ids {
		switch {
		case i%3 == 0:
			change := s.change(t, before[id])
			update(t, c, dt, id, change)
			want[id] = overlay(before[id], change)
		case i%3 == 1 && s.h.UserEdit != nil:
			change := s.change(t, before[id])
			s.h.UserEdit(t, id, connector.CloneFields(change))
			want[id] = overlay(before[id], change)
		}
	}
	second := listAll(t, c, dt, connector.ListRequest{Cursor: first.cursor()})
	wantListed(t, fmt.Sprintf("incremental listing from cursor %q", first.cursor()), second, want)

	// With nothing changed, a listing may re-emit records at the cursor
	// value only; a change after it must show.
	quiet := listAll(t, c, dt, connector.ListRequest{Cursor: second.cursor()})
	t.Logf("a listing with nothing changed re-emitted %d records at cursor %q", len(quiet.records()), second.cursor())
	id := ids[len(ids)-1]
	current := get(t, c, dt, id)
	change := s.change(t, current.Fields)
	update(t, c, dt, id, change)
	third := listAll(t, c, dt, connector.ListRequest{Cursor: quiet.cursor()})
	wantListed(t, fmt.Sprintf("incremental listing from cursor %q after one update", quiet.cursor()), third,
		map[string]connector.Fields{id: change})
}

// listingResumedFromAnyPageCursorMissesNothing plays an engine that stores
// each page's cursor and stops after any page: what it listed up to that
// page plus a new listing from that page's cursor must hold every record.
// With ">" where ">=" is needed, records that share the cursor's timestamp
// across a page boundary are lost here.
func (s *suite) listingResumedFromAnyPageCursorMissesNothing(t *testing.T) {
	c := s.open(t)
	dt := s.h.Datatype
	s.insertMany(t, c, s.h.Records/2)
	start := listAll(t, c, dt, connector.ListRequest{}).cursor()
	want := s.insertMany(t, c, s.h.Records)

	var upToHere []connector.Record
	req := connector.ListRequest{Cursor: start}
	ties := 0
	for page := 1; ; page++ {
		p := listPage(t, c, dt, req)
		if n := len(upToHere); n > 0 && len(p.Records) > 0 && upToHere[n-1].Modified.Equal(p.Records[0].Modified) {
			ties++
		}
		upToHere = append(upToHere, p.Records...)
		resumed := listAll(t, c, dt, connector.ListRequest{Cursor: p.Cursor})
		got := listing{pages: append([]connector.Page{{Records: upToHere}}, resumed.pages...)}
		wantListed(t, fmt.Sprintf("records of pages 1-%d plus a listing resumed from page %d's cursor %q", page, page, p.Cursor), got, want)
		if p.NextPageToken == "" {
			break
		}
		if page >= maxPages {
			t.Fatalf("list %s: the listing never ends (%d pages)", dt, page)
		}
		req.PageToken = p.NextPageToken
	}
	t.Logf("%d page boundaries fell between records sharing one modified time", ties)
}

// changesDuringListingAreNotLost changes records a listing has already
// passed, while it is under way: they may sort before the page token (same
// timestamp, smaller id), so the rest of the listing need not hold them, but
// then the listing's final cursor must not have passed them either.
func (s *suite) changesDuringListingAreNotLost(t *testing.T) {
	c := s.open(t)
	dt := s.h.Datatype
	before := s.insertMany(t, c, s.h.Records/2)
	start := listAll(t, c, dt, connector.ListRequest{}).cursor()
	for id, f := range s.insertMany(t, c, s.h.Records) {
		before[id] = f
	}

	first := listPage(t, c, dt, connector.ListRequest{Cursor: start})
	if first.NextPageToken == "" {
		t.Skip("the listing has one page; raise Harness.Records above the page size")
	}
	want := map[string]connector.Fields{}
	for _, r := range first.Records {
		if f, ours := before[r.ID]; ours {
			change := s.change(t, f)
			update(t, c, dt, r.ID, change)
			want[r.ID] = overlay(f, change)
		}
	}
	if len(want) == 0 {
		t.Skip("the first page holds none of the records this test inserted")
	}
	// Let the system's time move on, past the changes, before the listing ends.
	if s.h.Tick != nil {
		s.h.Tick(t)
	}
	for id, f := range s.insertMany(t, c, s.h.Records/2) {
		want[id] = f
	}
	rest := listAll(t, c, dt, connector.ListRequest{Cursor: start, PageToken: first.NextPageToken})
	next := listAll(t, c, dt, connector.ListRequest{Cursor: rest.cursor()})
	got := listing{pages: slices.Concat([]connector.Page{first}, rest.pages, next.pages)}
	wantListed(t, fmt.Sprintf("a listing during which its first page's records changed, plus the next listing from its cursor %q", rest.cursor()), got, want)
}

func (s *suite) deleteLeavesTombstone(t *testing.T) {
	c := s.open(t)
	dt := s.h.Datatype
	keep := insert(t, c, dt, s.newFields())
	gone := insert(t, c, dt, s.newFields())
	cursor := listAll(t, c, dt, connector.ListRequest{}).cursor()

	if err := c.Delete(t.Context(), dt, gone.ID); err != nil {
		t.Fatalf("delete %s %q: %v", dt, gone.ID, err)
	}
	wantNotFound(t, c, dt, gone.ID)
	full := listAll(t, c, dt, connector.ListRequest{Full: true}).latest()
	if _, ok := full[gone.ID]; ok {
		t.Errorf("full listing still holds deleted record %q", gone.ID)
	}
	if _, ok := full[keep.ID]; !ok {
		t.Errorf("full listing lost record %q when %q was deleted", keep.ID, gone.ID)
	}
	if !s.h.IncrementalTombstones {
		return
	}
	r, ok := listAll(t, c, dt, connector.ListRequest{Cursor: cursor}).latest()[gone.ID]
	switch {
	case !ok:
		t.Errorf("incremental listing from cursor %q does not report deleted record %q", cursor, gone.ID)
	case !r.Deleted:
		t.Errorf("incremental listing from cursor %q reports deleted record %q as live: %+v", cursor, gone.ID, r)
	}
}

func (s *suite) deleteNotSupported(t *testing.T) {
	c := s.open(t)
	r := insert(t, c, s.h.Datatype, s.newFields())
	if err := c.Delete(t.Context(), s.h.Datatype, r.ID); !errors.Is(err, connector.ErrNotSupported) {
		t.Fatalf("delete %s %q where the harness says deletes are not supported: want an error wrapping ErrNotSupported, got %v", s.h.Datatype, r.ID, err)
	}
}

// wantListed fails unless the listing holds every record of want, live, in
// its latest listed version holding want's fields.
func wantListed(t *testing.T, what string, l listing, want map[string]connector.Fields) {
	t.Helper()
	latest := l.latest()
	var missing []string
	for _, id := range slices.Sorted(maps.Keys(want)) {
		r, ok := latest[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		if r.Deleted {
			t.Fatalf("%s: record %q is listed as deleted", what, id)
		}
		if diffs := holds(r.Fields, want[id]); diffs != nil {
			t.Fatalf("%s: the latest listed version of record %q differs: %v", what, id, diffs)
		}
	}
	if missing != nil {
		shown := missing[:min(len(missing), 10)]
		t.Fatalf("%s (%d pages, %d records): %d of %d expected records missing, e.g. %v", what, len(l.pages), len(l.records()), len(missing), len(want), shown)
	}
}
