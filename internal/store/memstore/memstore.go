package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/store"
)

var _ store.Store = (*Store)(nil)

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("memstore: store is closed")

// Store keeps everything in maps behind one mutex. Every method validates
// and copies its whole input before it changes anything, which is what
// makes each call atomic.
type Store struct {
	mu     sync.RWMutex
	closed bool
	now    func() time.Time

	tables   map[dtKey]*table
	byGolden map[string]map[store.Key]struct{} // links: golden id → records

	goldens map[string]*store.Golden
	dirty   map[string]map[string]struct{} // type → dirty golden ids

	keys   map[keyName]map[string]struct{} // (type, name, value) → golden ids
	keysOf map[string]map[keyName]struct{} // golden id → its keys

	intents   map[string]store.Intent
	intentsOf map[string]map[string]struct{} // golden id → intent ids

	cursors map[dtKey]store.Cursor
	dead    map[deadKey]store.DeadLetter
	state   map[stateKey]stateValue

	events         []store.Event
	eventsOfGolden map[string][]int // indexes into events
	eventsOfRecord map[store.Key][]int
}

type dtKey struct{ system, datatype string }

type keyName struct{ typ, name, value string }

type deadKey struct{ system, datatype, stage, ref string }

// table holds the records of one system datatype.
type table struct {
	rows    map[string]*store.Record
	pending map[string]struct{}

	// ids lists the rows for keyset paging. New ids are appended; the list
	// is sorted when a page is read and it is not, so that inserting many
	// records in random order stays linear. Readers hold the store's read
	// lock only, so sorting takes mu.
	mu     sync.Mutex
	ids    []string
	sorted bool
}

// New returns an empty store.
func New() *Store {
	return &Store{
		now:            time.Now,
		tables:         map[dtKey]*table{},
		byGolden:       map[string]map[store.Key]struct{}{},
		goldens:        map[string]*store.Golden{},
		dirty:          map[string]map[string]struct{}{},
		keys:           map[keyName]map[string]struct{}{},
		keysOf:         map[string]map[keyName]struct{}{},
		intents:        map[string]store.Intent{},
		intentsOf:      map[string]map[string]struct{}{},
		cursors:        map[dtKey]store.Cursor{},
		dead:           map[deadKey]store.DeadLetter{},
		eventsOfGolden: map[string][]int{},
		eventsOfRecord: map[store.Key][]int{},
	}
}

func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// read and write take the lock and check that the store is open and the
// context is live.
func (s *Store) read(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, ErrClosed
	}
	return s.mu.RUnlock, nil
}

func (s *Store) write(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	return s.mu.Unlock, nil
}

// --- records ---

func (s *Store) table(system, datatype string, create bool) *table {
	k := dtKey{system, datatype}
	t := s.tables[k]
	if t == nil && create {
		t = &table{rows: map[string]*store.Record{}, pending: map[string]struct{}{}, sorted: true}
		s.tables[k] = t
	}
	return t
}

// put stores r (owned by the table from now on), keeping the indexes.
func (s *Store) put(r *store.Record) {
	t := s.table(r.System, r.Datatype, true)
	old, exists := t.rows[r.ID]
	if !exists {
		if n := len(t.ids); n > 0 && t.ids[n-1] > r.ID {
			t.sorted = false
		}
		t.ids = append(t.ids, r.ID)
	}
	oldGolden := ""
	if exists {
		oldGolden = old.GoldenID
	}
	t.rows[r.ID] = r
	if r.Pending {
		t.pending[r.ID] = struct{}{}
	} else {
		delete(t.pending, r.ID)
	}
	if oldGolden != r.GoldenID {
		if oldGolden != "" {
			set := s.byGolden[oldGolden]
			delete(set, r.Key)
			if len(set) == 0 {
				delete(s.byGolden, oldGolden)
			}
		}
		if r.GoldenID != "" {
			set := s.byGolden[r.GoldenID]
			if set == nil {
				set = map[store.Key]struct{}{}
				s.byGolden[r.GoldenID] = set
			}
			set[r.Key] = struct{}{}
		}
	}
}

func (s *Store) get(k store.Key) *store.Record {
	if t := s.table(k.System, k.Datatype, false); t != nil {
		return t.rows[k.ID]
	}
	return nil
}

func (s *Store) GetRecords(ctx context.Context, system, datatype string, ids []string) (map[string]store.Record, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := make(map[string]store.Record, len(ids))
	t := s.table(system, datatype, false)
	if t == nil {
		return out, nil
	}
	for _, id := range ids {
		if r := t.rows[id]; r != nil {
			out[id] = cloneRecord(r)
		}
	}
	return out, nil
}

// page returns up to limit records of t with id > afterID in id order that
// match keep; limit <= 0 means all.
func page(t *table, afterID string, limit int, keep func(*store.Record) bool) []store.Record {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.sorted {
		slices.Sort(t.ids)
		t.sorted = true
	}
	var out []store.Record
	i, found := slices.BinarySearch(t.ids, afterID)
	if found {
		i++
	}
	for ; i < len(t.ids) && (limit <= 0 || len(out) < limit); i++ {
		if r := t.rows[t.ids[i]]; keep(r) {
			out = append(out, cloneRecord(r))
		}
	}
	return out
}

func (s *Store) PendingRecords(ctx context.Context, system, datatype, afterID string, limit int) ([]store.Record, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	t := s.table(system, datatype, false)
	if t == nil {
		return nil, nil
	}
	// Pending records are usually few among many: sort just those.
	ids := make([]string, 0, len(t.pending))
	for id := range t.pending {
		if id > afterID {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	var out []store.Record
	for _, id := range ids {
		out = append(out, cloneRecord(t.rows[id]))
	}
	return out, nil
}

func (s *Store) RecordsForGoldens(ctx context.Context, goldenIDs []string) (map[string][]store.Record, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := make(map[string][]store.Record, len(goldenIDs))
	for _, gid := range goldenIDs {
		set := s.byGolden[gid]
		if len(set) == 0 || out[gid] != nil {
			continue
		}
		recs := make([]store.Record, 0, len(set))
		for k := range set {
			recs = append(recs, cloneRecord(s.get(k)))
		}
		sortRecords(recs)
		out[gid] = recs
	}
	return out, nil
}

func (s *Store) LinkedIDs(ctx context.Context, system, datatype string, goldenIDs []string) (map[string][]string, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := make(map[string][]string, len(goldenIDs))
	for _, gid := range goldenIDs {
		if out[gid] != nil {
			continue
		}
		var ids []string
		for k := range s.byGolden[gid] {
			if k.System == system && k.Datatype == datatype && !s.get(k).Excluded {
				ids = append(ids, k.ID)
			}
		}
		if len(ids) > 0 {
			sort.Strings(ids)
			out[gid] = ids
		}
	}
	return out, nil
}

func sortRecords(recs []store.Record) {
	sort.Slice(recs, func(i, j int) bool { return keyLess(recs[i].Key, recs[j].Key) })
}

func keyLess(a, b store.Key) bool {
	if a.System != b.System {
		return a.System < b.System
	}
	if a.Datatype != b.Datatype {
		return a.Datatype < b.Datatype
	}
	return a.ID < b.ID
}

func (s *Store) UnseenRecords(ctx context.Context, system, datatype string, scanGen int64, afterID string, limit int) ([]store.Record, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return page(s.table(system, datatype, false), afterID, limit, func(r *store.Record) bool {
		return !r.Deleted && r.SeenGen < scanGen
	}), nil
}

func (s *Store) ListLinks(ctx context.Context, system, datatype, afterID string, limit int) ([]store.Record, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	linked := func(r *store.Record) bool { return r.GoldenID != "" }
	if system != "" || datatype != "" {
		return page(s.table(system, datatype, false), afterID, limit, linked), nil
	}
	if afterID != "" {
		return nil, errors.New("list links: afterID pages one system datatype; give system and datatype, or no afterID")
	}
	dts := make([]dtKey, 0, len(s.tables))
	for k := range s.tables {
		dts = append(dts, k)
	}
	sort.Slice(dts, func(i, j int) bool {
		return keyLess(store.Key{System: dts[i].system, Datatype: dts[i].datatype},
			store.Key{System: dts[j].system, Datatype: dts[j].datatype})
	})
	var out []store.Record
	for _, k := range dts {
		rest := 0
		if limit > 0 {
			if rest = limit - len(out); rest == 0 {
				break
			}
		}
		out = append(out, page(s.tables[k], "", rest, linked)...)
	}
	return out, nil
}

// checkKey rejects a record whose key names another system datatype than
// the batch it came in; an empty System or Datatype takes the batch's.
func checkKey(k store.Key, system, datatype string) error {
	if (k.System != "" && k.System != system) || (k.Datatype != "" && k.Datatype != datatype) {
		return fmt.Errorf("record %s %s %s in a batch for %s %s", k.System, k.Datatype, k.ID, system, datatype)
	}
	if k.ID == "" {
		return fmt.Errorf("record of %s %s without an id", system, datatype)
	}
	return nil
}

func (s *Store) CommitCollect(ctx context.Context, b store.CollectBatch) error {
	// Prepare: validate and copy everything before the lock.
	versions := make([]store.Record, len(b.Versions))
	for i, v := range b.Versions {
		if err := checkKey(v.Key, b.System, b.Datatype); err != nil {
			return fmt.Errorf("commit collect %s %s: %w", b.System, b.Datatype, err)
		}
		nv, err := normRecord(v)
		if err != nil {
			return fmt.Errorf("commit collect %s %s: %w", b.System, b.Datatype, err)
		}
		versions[i] = nv
	}
	var pm preparedMerge
	if b.Merge != nil {
		var err error
		if pm, err = s.prepareMerge(*b.Merge); err != nil {
			return fmt.Errorf("commit collect %s %s: %w", b.System, b.Datatype, err)
		}
	}

	unlock, err := s.write(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	now := normTime(s.now())
	for _, v := range versions {
		k := store.Key{System: b.System, Datatype: b.Datatype, ID: v.ID}
		r := &store.Record{Key: k}
		if old := s.get(k); old != nil {
			*r = *old
		}
		r.Hash, r.Fields, r.FieldTimes = v.Hash, v.Fields, v.FieldTimes
		r.Modified, r.Deleted, r.Pending = v.Modified, v.Deleted, true
		if b.ScanGen > 0 {
			r.SeenGen = b.ScanGen
		}
		s.put(r)
	}
	if t := s.table(b.System, b.Datatype, false); t != nil {
		for _, id := range b.Seen {
			if r := t.rows[id]; r != nil {
				r.SeenGen = b.ScanGen
			}
		}
	}
	if b.Merge != nil {
		s.applyMerge(pm)
	}
	c := s.cursor(b.System, b.Datatype)
	if b.Cursor != nil {
		c.Value = *b.Cursor
	}
	c.PageToken = b.PageToken
	if b.Done {
		at := now
		if !b.At.IsZero() {
			at = normTime(b.At)
		}
		c.Gen++
		c.LastSuccess = at
		if b.FullScan {
			c.ScanGen = b.ScanGen
			c.LastScan = at
		}
	}
	s.cursors[dtKey{b.System, b.Datatype}] = c
	return nil
}

// --- golden records ---

func (s *Store) GetGoldens(ctx context.Context, ids []string) (map[string]store.Golden, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := make(map[string]store.Golden, len(ids))
	for _, id := range ids {
		if g := s.goldens[id]; g != nil {
			out[id] = cloneGolden(g)
		}
	}
	return out, nil
}

func (s *Store) FindByKeys(ctx context.Context, typ, name string, values []string) (map[string][]string, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := map[string][]string{}
	for _, v := range values {
		set := s.keys[keyName{typ, name, v}]
		if len(set) == 0 || out[v] != nil {
			continue
		}
		ids := make([]string, 0, len(set))
		for id := range set {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		out[v] = ids
	}
	return out, nil
}

func (s *Store) DirtyGoldens(ctx context.Context, typ, afterID string, limit int) ([]store.Golden, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var ids []string
	for t, set := range s.dirty {
		if typ != "" && t != typ {
			continue
		}
		for id := range set {
			if id > afterID {
				ids = append(ids, id)
			}
		}
	}
	sort.Strings(ids)
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	var out []store.Golden
	for _, id := range ids {
		out = append(out, cloneGolden(s.goldens[id]))
	}
	return out, nil
}

// putGolden stores g (owned from now on), keeping the dirty index.
func (s *Store) putGolden(g *store.Golden) {
	if old := s.goldens[g.ID]; old != nil {
		s.setDirty(old.Type, old.ID, false)
	}
	s.goldens[g.ID] = g
	s.setDirty(g.Type, g.ID, g.Dirty)
}

func (s *Store) setDirty(typ, id string, dirty bool) {
	set := s.dirty[typ]
	if !dirty {
		delete(set, id)
		if len(set) == 0 {
			delete(s.dirty, typ)
		}
		return
	}
	if set == nil {
		set = map[string]struct{}{}
		s.dirty[typ] = set
	}
	set[id] = struct{}{}
}

func (s *Store) CommitMerge(ctx context.Context, b store.MergeBatch) error {
	pm, err := s.prepareMerge(b)
	if err != nil {
		return fmt.Errorf("commit merge: %w", err)
	}
	unlock, err := s.write(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	s.applyMerge(pm)
	return nil
}

// preparedMerge is a merge batch validated and copied, ready to apply.
type preparedMerge struct {
	b       store.MergeBatch
	goldens []store.Golden
	events  []store.Event
}

func (s *Store) prepareMerge(b store.MergeBatch) (preparedMerge, error) {
	goldens := make([]store.Golden, len(b.Goldens))
	for i, g := range b.Goldens {
		if g.ID == "" {
			return preparedMerge{}, fmt.Errorf("golden record of type %s without an id", g.Type)
		}
		ng, err := normGolden(g)
		if err != nil {
			return preparedMerge{}, err
		}
		goldens[i] = ng
	}
	events, err := normEvents(b.Events, normTime(s.now()))
	if err != nil {
		return preparedMerge{}, err
	}
	return preparedMerge{b: b, goldens: goldens, events: events}, nil
}

// applyMerge applies a prepared merge; the caller holds the write lock.
func (s *Store) applyMerge(pm preparedMerge) {
	b := pm.b
	for i := range pm.goldens {
		s.putGolden(&pm.goldens[i])
	}
	for _, l := range b.Links {
		old := s.get(l.Key)
		if old == nil {
			continue
		}
		r := *old
		r.GoldenID, r.Excluded = l.GoldenID, l.Excluded
		if r.Hash == l.Hash {
			r.BasedOn, r.Pending = l.Hash, false
		}
		s.put(&r)
	}
	for _, gid := range b.KeysFor {
		for k := range s.keysOf[gid] {
			set := s.keys[k]
			delete(set, gid)
			if len(set) == 0 {
				delete(s.keys, k)
			}
		}
		delete(s.keysOf, gid)
	}
	for _, mk := range b.Keys {
		if mk.Value == "" {
			continue
		}
		k := keyName{mk.Type, mk.Name, mk.Value}
		if s.keys[k] == nil {
			s.keys[k] = map[string]struct{}{}
		}
		s.keys[k][mk.GoldenID] = struct{}{}
		if s.keysOf[mk.GoldenID] == nil {
			s.keysOf[mk.GoldenID] = map[keyName]struct{}{}
		}
		s.keysOf[mk.GoldenID][k] = struct{}{}
	}
	s.addEvents(pm.events)
	s.deadLetters(b.DeadLetters, b.Cleared)
}

// --- sharing ---

func (s *Store) PutIntent(ctx context.Context, in store.Intent) error {
	return s.PutIntents(ctx, []store.Intent{in})
}

func (s *Store) deleteIntent(id string) {
	old, ok := s.intents[id]
	if !ok {
		return
	}
	delete(s.intents, id)
	set := s.intentsOf[old.GoldenID]
	delete(set, id)
	if len(set) == 0 {
		delete(s.intentsOf, old.GoldenID)
	}
}

func (s *Store) Intents(ctx context.Context, goldenIDs []string) (map[string][]store.Intent, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := map[string][]store.Intent{}
	for _, gid := range goldenIDs {
		set := s.intentsOf[gid]
		if len(set) == 0 || out[gid] != nil {
			continue
		}
		ins := make([]store.Intent, 0, len(set))
		for id := range set {
			ins = append(ins, cloneIntent(s.intents[id]))
		}
		sortIntents(ins)
		out[gid] = ins
	}
	return out, nil
}

func (s *Store) CommitShare(ctx context.Context, b store.ShareBatch) error {
	written := make([]store.Record, len(b.Written))
	for i, r := range b.Written {
		if r.System == "" || r.Datatype == "" || r.ID == "" {
			return fmt.Errorf("commit share: written record %q %q %q: system, datatype and id are required", r.System, r.Datatype, r.ID)
		}
		nr, err := normRecord(r)
		if err != nil {
			return fmt.Errorf("commit share: %w", err)
		}
		written[i] = nr
	}
	now := normTime(s.now())
	events, err := normEvents(b.Events, now)
	if err != nil {
		return fmt.Errorf("commit share: %w", err)
	}

	unlock, err := s.write(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for i := range written {
		r := &written[i]
		r.BasedOn, r.Pending = r.Hash, false
		if old := s.get(r.Key); old != nil && old.SeenGen > r.SeenGen {
			r.SeenGen = old.SeenGen
		}
		s.put(r)
	}
	for _, k := range b.Unlinked {
		if old := s.get(k); old != nil {
			r := *old
			r.GoldenID = ""
			s.put(&r)
		}
	}
	for _, id := range b.Clean {
		if g := s.goldens[id]; g != nil {
			g.Dirty = false
			s.setDirty(g.Type, g.ID, false)
		}
	}
	for _, id := range b.IntentsDone {
		s.deleteIntent(id)
	}
	s.addEvents(events)
	s.deadLetters(b.DeadLetters, b.Cleared)
	return nil
}

// --- cursors, dead letters, history, status ---

func (s *Store) cursor(system, datatype string) store.Cursor {
	if c, ok := s.cursors[dtKey{system, datatype}]; ok {
		return c
	}
	return store.Cursor{System: system, Datatype: datatype}
}

func (s *Store) GetCursor(ctx context.Context, system, datatype string) (store.Cursor, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return store.Cursor{}, err
	}
	defer unlock()
	return s.cursor(system, datatype), nil
}

func (s *Store) SetBreaker(ctx context.Context, system, datatype, reason string) error {
	unlock, err := s.write(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	c := s.cursor(system, datatype)
	c.Breaker = reason
	s.cursors[dtKey{system, datatype}] = c
	return nil
}

func (s *Store) deadLetters(put, cleared []store.DeadLetter) {
	for _, d := range put {
		s.dead[deadKey{d.System, d.Datatype, d.Stage, d.Ref}] = normDeadLetter(d)
	}
	for _, d := range cleared {
		delete(s.dead, deadKey{d.System, d.Datatype, d.Stage, d.Ref})
	}
}

func (s *Store) DeadLetters(ctx context.Context, system, datatype string) ([]store.DeadLetter, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	all := system == "" && datatype == ""
	var out []store.DeadLetter
	for k, d := range s.dead {
		if all || (k.system == system && k.datatype == datatype) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.System != b.System {
			return a.System < b.System
		}
		if a.Datatype != b.Datatype {
			return a.Datatype < b.Datatype
		}
		if a.Stage != b.Stage {
			return a.Stage < b.Stage
		}
		return a.Ref < b.Ref
	})
	return out, nil
}

func (s *Store) GetDeadLetters(ctx context.Context, system, datatype, stage string, refs []string) (map[string]store.DeadLetter, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := map[string]store.DeadLetter{}
	for _, ref := range refs {
		if d, ok := s.dead[deadKey{system, datatype, stage, ref}]; ok {
			out[ref] = d
		}
	}
	return out, nil
}

func normEvents(evs []store.Event, now time.Time) ([]store.Event, error) {
	out := make([]store.Event, len(evs))
	for i, e := range evs {
		ne, err := normEvent(e, now)
		if err != nil {
			return nil, err
		}
		out[i] = ne
	}
	return out, nil
}

func (s *Store) addEvents(evs []store.Event) {
	for _, e := range evs {
		e.Seq = int64(len(s.events)) + 1
		i := len(s.events)
		s.events = append(s.events, e)
		s.eventsOfGolden[e.GoldenID] = append(s.eventsOfGolden[e.GoldenID], i)
		s.eventsOfRecord[e.Key] = append(s.eventsOfRecord[e.Key], i)
	}
}

func (s *Store) eventsAt(idx []int) []store.Event {
	var out []store.Event
	for _, i := range idx {
		out = append(out, cloneEvent(s.events[i]))
	}
	return out
}

func (s *Store) EventsForGolden(ctx context.Context, goldenID string) ([]store.Event, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.eventsAt(s.eventsOfGolden[goldenID]), nil
}

func (s *Store) EventsForRecord(ctx context.Context, k store.Key) ([]store.Event, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.eventsAt(s.eventsOfRecord[k]), nil
}

func (s *Store) Status(ctx context.Context) ([]store.DatatypeStatus, error) {
	unlock, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rows := map[dtKey]*store.DatatypeStatus{}
	line := func(k dtKey) *store.DatatypeStatus {
		st := rows[k]
		if st == nil {
			st = &store.DatatypeStatus{System: k.system, Datatype: k.datatype}
			rows[k] = st
		}
		return st
	}
	for k, t := range s.tables {
		st := line(k)
		st.Records = int64(len(t.rows))
		st.Pending = int64(len(t.pending))
		for _, r := range t.rows {
			switch {
			case r.Deleted:
				st.Deleted++
			case r.GoldenID != "":
				st.Linked++
			}
		}
	}
	for k, c := range s.cursors {
		st := line(k)
		st.LastSuccess = c.LastSuccess
		st.Breaker = c.Breaker
	}
	for _, in := range s.intents {
		if in.RecordID == "" { // an update's intent is not a pending insert
			line(dtKey{in.System, in.Datatype}).PendingInserts++
		}
	}
	for k, d := range s.dead {
		st := line(dtKey{k.system, k.datatype})
		if d.Parked {
			st.DeadLetters++
		}
	}
	out := make([]store.DatatypeStatus, 0, len(rows))
	for _, st := range rows {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool {
		return keyLess(store.Key{System: out[i].System, Datatype: out[i].Datatype},
			store.Key{System: out[j].System, Datatype: out[j].Datatype})
	})
	return out, nil
}
