package simulation

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
)

// recKey names one record of one system datatype.
type recKey struct{ system, datatype, id string }

func (k recKey) String() string { return k.system + ":" + k.datatype + "/" + k.id }

// version is one record version the engine was given.
type version struct {
	modified time.Time
	fields   connector.Fields
	deleted  bool
	// uncertain: given in a sync attempt that crashed, so the engine may
	// have lost it (its page's commit in flight, or not begun).
	uncertain bool
}

// tape records, from the systems' side of the wire, what the engine was
// told and what it wrote: every record version in a successful response,
// and every write call. It is how the oracle knows which user edits the
// engine could have seen, and how quiescence is judged without asking the
// engine.
type tape struct {
	mu        sync.Mutex
	seen      map[recKey][]version
	lastHash  map[recKey]string
	writes    int      // write calls made (failed ones too)
	changed   int      // listed versions the engine had not been given before
	cycleLog  []string // write calls since the last mark, for ping-pong reports
	recording bool     // whether cycleLog is kept

	// given holds every record a response has given the engine, listed
	// those a listing returned. What an attempt of a sync was given is
	// durable only once its commits land, which a crash may prevent
	// (ADR 13: with a commit in flight, a page read and compared may be
	// lost), so a crash forgets the records first given in its attempt
	// (freshGiven, freshListed) until a later response gives them again.
	given, listed           map[recKey]bool
	freshGiven, freshListed map[recKey]bool
	// freshSeen are the versions given in the attempt in progress (key
	// and index in seen); a crash marks them uncertain. durableOnly makes
	// versions leave the uncertain ones out (the oracle's second look).
	freshSeen   []freshVersion
	durableOnly bool
	uncertain   bool // some version is
	// made holds every record an insert of the engine's created, whether
	// or not the engine got the answer.
	made map[recKey]bool
	// lost holds, per record, the record as each update whose answer was
	// lost left it.
	lost map[recKey][]version
	// emptyRate is the chance that a listing page comes back empty (see
	// tap.List); rng draws it.
	emptyRate float64
	rng       *rand.Rand
}

func newTape(seed int64) *tape {
	return &tape{
		seen: map[recKey][]version{}, lastHash: map[recKey]string{}, listed: map[recKey]bool{}, made: map[recKey]bool{}, lost: map[recKey][]version{},
		given: map[recKey]bool{}, freshGiven: map[recKey]bool{}, freshListed: map[recKey]bool{},
		rng: rand.New(rand.NewPCG(uint64(seed), 0x656d707479)),
	}
}

// setEmptyRate sets the rate of empty pages.
func (t *tape) setEmptyRate(p float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.emptyRate = p
}

// deliver notes a record version given to the engine; listed says it came
// from a listing (and counts towards "read something new").
func (t *tape) deliver(system, datatype string, r connector.Record, listed bool) {
	k := recKey{system, datatype, r.ID}
	h := connector.Hash(r.Fields)
	if r.Deleted {
		h = "deleted:" + h
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.freshSeen = append(t.freshSeen, freshVersion{k, len(t.seen[k])})
	t.seen[k] = append(t.seen[k], version{modified: r.Modified, fields: maps.Clone(r.Fields), deleted: r.Deleted})
	if !t.given[k] {
		t.given[k], t.freshGiven[k] = true, true
	}
	if listed && !t.listed[k] {
		t.listed[k], t.freshListed[k] = true, true
	}
	if t.lastHash[k] != h {
		t.lastHash[k] = h
		if listed {
			t.changed++
		}
	}
}

// crashed forgets the records first given in the attempt that crashed:
// the engine may have lost them with it.
func (t *tape) crashed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.freshGiven {
		delete(t.given, k)
	}
	for k := range t.freshListed {
		delete(t.listed, k)
	}
	clear(t.freshGiven)
	clear(t.freshListed)
	for _, f := range t.freshSeen {
		t.seen[f.k][f.i].uncertain = true
		t.uncertain = true
	}
	t.freshSeen = t.freshSeen[:0]
}

// freshVersion points at a version in tape.seen.
type freshVersion struct {
	k recKey
	i int
}

// completed notes that an attempt finished: what it was given is stored.
func (t *tape) completed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.freshGiven)
	clear(t.freshListed)
	t.freshSeen = t.freshSeen[:0]
}

// hasUncertain tells whether some version was given in an attempt that
// crashed.
func (t *tape) hasUncertain() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.uncertain
}

// setDurableOnly makes versions leave out (or keep) the uncertain ones.
func (t *tape) setDurableOnly(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.durableOnly = on
}

// known tells whether the engine has been given a record in an attempt
// that finished, so that it holds it whatever crashes come.
func (t *tape) known(k recKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.given[k] && !t.freshGiven[k]
}

func (t *tape) wrote(system, op, datatype, id string, fields connector.Fields, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writes++
	if !t.recording {
		return
	}
	s := fmt.Sprintf("%s %s:%s/%s %s", op, system, datatype, id, showFields(fields))
	if err != nil {
		s += " → " + err.Error()
	}
	t.cycleLog = append(t.cycleLog, s)
}

// counts returns the write calls and new listed versions so far.
func (t *tape) counts() (writes, changed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.writes, t.changed
}

// startCycleLog starts keeping the write calls of one cycle.
func (t *tape) startCycleLog() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recording, t.cycleLog = true, nil
}

func (t *tape) takeCycleLog() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.cycleLog
	t.recording, t.cycleLog = false, nil
	return out
}

// inserted notes a record an insert of the engine's created.
func (t *tape) inserted(system, datatype, id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.made[recKey{system, datatype, id}] = true
}

// lie decides whether a listing page of the datatype comes back empty.
func (t *tape) lie(sys *memory.System, datatype string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.emptyRate <= 0 || t.rng.Float64() >= t.emptyRate {
		return false
	}
	for _, r := range sys.Records(datatype) {
		k := recKey{sys.Name(), datatype, r.ID}
		// A record the engine inserted may be hidden: it either knows it
		// (it got the answer and stored it) or holds the insert's intent,
		// and must not take a listing that may be cut short for proof that
		// the insert did not happen (ADR 18).
		if !t.listed[k] && !t.made[k] {
			return false
		}
	}
	// Nor the tombstone of a record never listed: it may be an insert of
	// the engine's whose answer was lost, which only a read can settle.
	for _, id := range sys.Tombstones(datatype) {
		if !t.listed[recKey{sys.Name(), datatype, id}] {
			return false
		}
	}
	return true
}

// versions returns the versions of a record the engine was given, in the
// order it was given them.
// lostWrite notes a record as an update left it whose answer was lost.
func (t *tape) lostWrite(system, datatype string, r connector.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := recKey{system, datatype, r.ID}
	t.lost[k] = append(t.lost[k], version{modified: r.Modified, fields: maps.Clone(r.Fields)})
}

// lostWrites returns the records as updates whose answers were lost left
// them.
func (t *tape) lostWrites(k recKey) []version {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lost[k]
}

func (t *tape) versions(k recKey) []version {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.durableOnly {
		return t.seen[k]
	}
	var out []version
	for _, v := range t.seen[k] {
		if !v.uncertain {
			out = append(out, v)
		}
	}
	return out
}

// tap is a connector that passes every call to a memory system and records
// it on the tape.
type tap struct {
	sys  *memory.System
	tape *tape
	logf func(format string, args ...any) // nil: no trace
}

// trace logs one call, when the run is traced.
func (c *tap) trace(op, datatype, detail string, err error) {
	if c.logf == nil {
		return
	}
	if err != nil {
		detail += " → " + err.Error()
	}
	c.logf("  engine %s %s:%s %s", op, c.sys.Name(), datatype, detail)
}

func showRecord(r connector.Record) string {
	s := r.ID + "@" + stamp(r.Modified)
	if r.Deleted {
		return s + " (deleted)"
	}
	return s + " " + showFields(r.Fields)
}

var _ connector.Connector = (*tap)(nil)

func (c *tap) Describe(ctx context.Context) ([]connector.DatatypeInfo, error) {
	return c.sys.Describe(ctx)
}

// List passes the listing on, except that it sometimes answers with an
// empty last page carrying the request's cursor: a listing silently cut
// short, as flaky APIs do. It lies so only when the datatype holds no live
// record that a listing has never returned, other than records the engine
// inserted itself. No engine can tell such a page from "nothing new", so a
// lie that hid a record the engine has never read would make an insert of
// that record's entity into a duplicate that is not the engine's fault; but
// an insert of its own whose outcome it does not know is one it must not
// make again on the word of such a page.
func (c *tap) List(ctx context.Context, datatype string, req connector.ListRequest) (connector.Page, error) {
	if c.tape.lie(c.sys, datatype) {
		c.trace("list", datatype, fmt.Sprintf("from %q page %q: simulated empty page", req.Cursor, req.PageToken), nil)
		return connector.Page{Cursor: req.Cursor}, nil
	}
	p, err := c.sys.List(ctx, datatype, req)
	if c.logf != nil {
		var recs []string
		for _, r := range p.Records {
			recs = append(recs, showRecord(r))
		}
		kind := "changes"
		if req.Full {
			kind = "full"
		}
		c.trace("list", datatype, fmt.Sprintf("%s from %q page %q: [%s] next %q", kind, req.Cursor, req.PageToken, strings.Join(recs, "; "), p.NextPageToken), err)
	}
	if err == nil {
		for _, r := range p.Records {
			c.tape.deliver(c.sys.Name(), datatype, r, true)
		}
	}
	return p, err
}

func (c *tap) Get(ctx context.Context, datatype, id string) (connector.Record, error) {
	r, err := c.sys.Get(ctx, datatype, id)
	c.trace("get", datatype, id+": "+showRecord(r), err)
	if err == nil {
		c.tape.deliver(c.sys.Name(), datatype, r, false)
	}
	return r, err
}

func (c *tap) Insert(ctx context.Context, datatype string, fields connector.Fields) (connector.Record, error) {
	var before map[string]bool
	if err := ctx.Err(); err == nil {
		before = map[string]bool{}
		for _, r := range c.sys.Records(datatype) {
			before[r.ID] = true
		}
	}
	r, err := c.sys.Insert(ctx, datatype, fields)
	c.trace("insert", datatype, showFields(fields)+" → "+r.ID, err)
	c.tape.wrote(c.sys.Name(), "insert", datatype, r.ID, fields, err)
	if err == nil {
		c.tape.deliver(c.sys.Name(), datatype, r, false)
		c.tape.inserted(c.sys.Name(), datatype, r.ID)
	} else if before != nil {
		// An insert that happened but whose answer was lost: the engine
		// takes what it sent, when it reads the record, for the echo of
		// its insert (see oracle.place).
		for _, made := range c.sys.Records(datatype) {
			if !before[made.ID] {
				c.tape.lostWrite(c.sys.Name(), datatype, made)
				c.tape.inserted(c.sys.Name(), datatype, made.ID)
			}
		}
	}
	return r, err
}

func (c *tap) Update(ctx context.Context, datatype, id string, fields connector.Fields, ifMatch string) (connector.Record, error) {
	before, _ := c.sys.Lookup(datatype, id)
	r, err := c.sys.Update(ctx, datatype, id, fields, ifMatch)
	c.trace("update", datatype, fmt.Sprintf("%s %s if-match %q", id, showFields(fields), ifMatch), err)
	c.tape.wrote(c.sys.Name(), "update", datatype, id, fields, err)
	if err == nil && r.ID != "" {
		c.tape.deliver(c.sys.Name(), datatype, r, false)
	} else if after, ok := c.sys.Lookup(datatype, id); err != nil && ok && !after.Modified.Equal(before.Modified) {
		// The write happened but its answer was lost: the engine cannot
		// tell whether it did, so what it wrote may be what it believes
		// the record holds (see oracle.place).
		c.tape.lostWrite(c.sys.Name(), datatype, after)
	} else if err != nil && ok && connector.IsTemporary(err) {
		// It failed in a way that leaves its outcome unknown (a timeout):
		// to the engine it may have happened just the same.
		sent := maps.Clone(before.Fields)
		maps.Copy(sent, fields)
		c.tape.lostWrite(c.sys.Name(), datatype, connector.Record{ID: id, Fields: sent, Modified: before.Modified.Add(time.Nanosecond)})
	}
	return r, err
}

func (c *tap) Delete(ctx context.Context, datatype, id string) error {
	err := c.sys.Delete(ctx, datatype, id)
	c.trace("delete", datatype, id, err)
	c.tape.wrote(c.sys.Name(), "delete", datatype, id, nil, err)
	return err
}

func (c *tap) Close() error { return c.sys.Close() }

// showFields prints fields sorted by name.
func showFields(f connector.Fields) string {
	if f == nil {
		return ""
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %q", k, str(f[k]))
	}
	b.WriteByte('}')
	return b.String()
}
