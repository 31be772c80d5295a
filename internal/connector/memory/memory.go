package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// Options shape a System. The zero value is usable.
type Options struct {
	// Clock gives the system's time; default time.Now. The simulation
	// injects a logical clock to stay deterministic.
	Clock func() time.Time
	// PageSize is the most records a List returns per page; default 100.
	PageSize int
	// TimeGranularity truncates every Modified (e.g. time.Second, as many
	// APIs report), so that records written close together share a
	// timestamp. Zero keeps the clock's full precision.
	TimeGranularity time.Duration
	// IDPrefix is put before the sequential number of every new id
	// ("A-" gives "A-1", "A-2", …), so the ids of several systems differ.
	IDPrefix string
	// Seed seeds the fault injection's randomness.
	Seed int64
}

// DefaultPageSize is the page size of a System whose Options leave it zero.
const DefaultPageSize = 100

// System is one in-process system: a set of datatypes holding records, with
// the Connector interface an API would give and out-of-band methods (Create,
// Edit, Remove, …) for what a user of the system does. It is safe for
// concurrent use.
type System struct {
	name string
	opts Options

	mu     sync.Mutex
	tables map[string]*table
	calls  map[string]int
	faults Faults
	rng    *rand.Rand
	seeded map[string]bool // seed files loaded, by absolute path
}

var _ connector.Connector = (*System)(nil)

// New makes an empty System. Instances shared by name are made with
// NewInstance or Instance instead.
func New(name string, opts Options) *System {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	return &System{
		name:   name,
		opts:   opts,
		tables: map[string]*table{},
		calls:  map[string]int{},
		seeded: map[string]bool{},
		rng:    rand.New(rand.NewPCG(uint64(opts.Seed), 0x636f6e636f7264)),
	}
}

// Name returns the system's name.
func (s *System) Name() string { return s.name }

// now returns the clock's time in UTC truncated to the granularity, without
// a monotonic reading: the Modified of a write made at this moment.
func (s *System) now() time.Time {
	t := s.opts.Clock().UTC()
	if s.opts.TimeGranularity > 0 {
		return t.Truncate(s.opts.TimeGranularity)
	}
	return t.Round(0)
}

// table returns the datatype's table, creating it on first use.
func (s *System) table(datatype string) *table {
	t, ok := s.tables[datatype]
	if !ok {
		t = newTable(datatype)
		s.tables[datatype] = t
	}
	return t
}

// Declare makes a datatype known before it holds records, optionally with
// its properties; declared properties are described as given, others are
// inferred from the values written.
func (s *System) Declare(datatype string, props ...connector.Property) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(datatype)
	for _, p := range props {
		i := sort.Search(len(t.declared), func(i int) bool { return t.declared[i].Name >= p.Name })
		if i < len(t.declared) && t.declared[i].Name == p.Name {
			t.declared[i] = p
			continue
		}
		t.declared = slices.Insert(t.declared, i, p)
	}
}

// errorf makes an error that says which system, operation and datatype.
func (s *System) errorf(op, datatype, format string, args ...any) error {
	where := op
	if datatype != "" {
		where += " " + datatype
	}
	return fmt.Errorf("memory system %q: %s: "+format, append([]any{s.name, where}, args...)...)
}

// Describe lists the datatypes used so far, sorted by name, with their
// properties inferred from the values written (see Declare).
func (s *System) Describe(ctx context.Context) ([]connector.DatatypeInfo, error) {
	if err := s.enter(ctx, "describe", ""); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]connector.DatatypeInfo, 0, len(s.tables))
	for _, t := range s.tables {
		out = append(out, t.describe())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// List returns one page.
//
// Incremental (req.Full false): live records and tombstones with Modified >=
// the cursor, ordered by (Modified, ID). A page's Cursor is the Modified of
// its last record, but never later than the system's time when the listing
// began, so that nothing written during the listing can fall behind it; an
// empty page carries the request's cursor. Records at the cursor value are
// returned again by the next listing.
//
// Full (req.Full true): every live record in id order (shorter ids first,
// then bytewise, so sequential ids list in creation order), no tombstones.
// Every page's Cursor is the highest Modified of all records when the
// listing began, so an incremental listing from it sees every later write.
func (s *System) List(ctx context.Context, datatype string, req connector.ListRequest) (connector.Page, error) {
	if err := s.enter(ctx, "list", datatype); err != nil {
		return connector.Page{}, err
	}
	from, err := parseCursor(req.Cursor)
	if err != nil {
		return connector.Page{}, s.errorf("list", datatype, "%w", err)
	}
	var tok *pageToken
	if req.PageToken != "" {
		p, err := parsePageToken(req.PageToken, req.Full)
		if err != nil {
			return connector.Page{}, s.errorf("list", datatype, "%w", err)
		}
		tok = &p
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.roll(s.faults.EmptyPageRate) {
		return connector.Page{Cursor: req.Cursor}, nil
	}
	t := s.table(datatype)
	if req.Full {
		return s.listFull(t, tok), nil
	}
	return s.listChanges(t, from, req.Cursor, tok), nil
}

func (s *System) listChanges(t *table, from int64, reqCursor string, tok *pageToken) connector.Page {
	var i int
	var ceiling int64
	if tok != nil {
		i = t.firstChangeAfter(tok.after)
		ceiling = tok.ceiling
	} else {
		i = t.firstChangeFrom(from)
		ceiling = s.now().UnixNano()
	}
	page := connector.Page{Records: make([]connector.Record, 0, min(s.opts.PageSize, len(t.changes)-i))}
	var last stamp
	for ; i < len(t.changes) && len(page.Records) < s.opts.PageSize; i++ {
		st := t.changes[i]
		if !t.isLive(st) {
			continue
		}
		page.Records = append(page.Records, t.records[st.id].export())
		last = st
	}
	if len(page.Records) == 0 {
		page.Cursor = reqCursor
		return page
	}
	page.Cursor = formatCursor(min(last.mod, ceiling))
	for ; i < len(t.changes); i++ {
		if t.isLive(t.changes[i]) {
			page.NextPageToken = pageToken{after: last, ceiling: ceiling}.String()
			break
		}
	}
	return page
}

func (s *System) listFull(t *table, tok *pageToken) connector.Page {
	i, cursor := 0, t.maxMod
	if tok != nil {
		i = t.firstIDAfter(tok.after.id)
		cursor = tok.ceiling
	}
	page := connector.Page{Cursor: formatCursor(cursor)}
	var last string
	for ; i < len(t.ids) && len(page.Records) < s.opts.PageSize; i++ {
		r := t.records[t.ids[i]]
		if r.deleted {
			continue
		}
		page.Records = append(page.Records, r.export())
		last = r.id
	}
	for ; i < len(t.ids) && len(page.Records) > 0; i++ {
		if !t.records[t.ids[i]].deleted {
			page.NextPageToken = pageToken{full: true, after: stamp{id: last}, ceiling: cursor}.String()
			break
		}
	}
	return page
}

// Get returns a live record; a missing or deleted one is an error wrapping
// connector.ErrNotFound.
func (s *System) Get(ctx context.Context, datatype, id string) (connector.Record, error) {
	if err := s.enter(ctx, "get", datatype); err != nil {
		return connector.Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.liveRecord("get", datatype, id)
	if err != nil {
		return connector.Record{}, err
	}
	return r.export(), nil
}

func (s *System) liveRecord(op, datatype, id string) (*record, error) {
	r, ok := s.table(datatype).records[id]
	if !ok {
		return nil, s.errorf(op, datatype, "record %q: %w", id, connector.ErrNotFound)
	}
	if r.deleted {
		return nil, s.errorf(op, datatype, "record %q was deleted: %w", id, connector.ErrNotFound)
	}
	return r, nil
}

// Insert creates a record with the next sequential id and returns it.
func (s *System) Insert(ctx context.Context, datatype string, fields connector.Fields) (connector.Record, error) {
	if err := s.enter(ctx, "insert", datatype); err != nil {
		return connector.Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reject("insert", datatype, "", fields); err != nil {
		return connector.Record{}, err
	}
	t := s.table(datatype)
	r := t.add(t.nextID(s.opts.IDPrefix), fields, s.now())
	if err := s.loseResponse("insert", datatype, r.id); err != nil {
		return connector.Record{}, err
	}
	return r.export(), nil
}

// Update writes the given fields over the record's and returns the whole
// record. With ifMatch set, the write is refused with connector.ErrConflict
// unless connector.Hash of the record's current fields equals it.
func (s *System) Update(ctx context.Context, datatype, id string, fields connector.Fields, ifMatch string) (connector.Record, error) {
	if err := s.enter(ctx, "update", datatype); err != nil {
		return connector.Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.liveRecord("update", datatype, id)
	if err != nil {
		return connector.Record{}, err
	}
	if err := s.reject("update", datatype, id, fields); err != nil {
		return connector.Record{}, err
	}
	if ifMatch != "" {
		if h := connector.Hash(r.fields); h != ifMatch {
			return connector.Record{}, s.errorf("update", datatype, "record %q has hash %s, the update was based on %s: %w", id, h, ifMatch, connector.ErrConflict)
		}
	}
	s.tables[datatype].merge(r, fields, s.now())
	if err := s.loseResponse("update", datatype, id); err != nil {
		return connector.Record{}, err
	}
	return r.export(), nil
}

// Delete turns a live record into a tombstone.
func (s *System) Delete(ctx context.Context, datatype, id string) error {
	if err := s.enter(ctx, "delete", datatype); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.liveRecord("delete", datatype, id)
	if err != nil {
		return err
	}
	s.tables[datatype].tombstone(r, s.now())
	return s.loseResponse("delete", datatype, id)
}

// Close does nothing: the records stay, so a shared instance can be opened
// again (an engine restart) and inspected after the engine is done.
func (s *System) Close() error { return nil }
