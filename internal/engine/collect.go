package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/store"
)

// confirmReads is how many full reads in a row that end on an empty page
// after the same records (and miss none the store holds) are taken for
// what the datatype holds when an insert waits for its outcome (ADR 18).
const confirmReads = 3

// collect reads the changes of one system datatype since its cursor and
// stores every new or changed version (see list).
//
// An insert whose outcome is unknown is settled only by a whole listing
// made since (ADR 18): one that ended on a page with records, which a
// listing cut short by an empty page never does. When the listing ends on
// an empty page (a read of changes with nothing new ends so too) and such
// an insert waits, the datatype is read in full at once, up to
// confirmReads times: a full read of a datatype that holds records ends on
// a page with them unless it was cut short, and a datatype that holds none
// (or a system whose listings end on an empty page when the records fill
// the pages exactly) gives the same answer each time, which sporadic empty
// pages do not.
func (e *Engine) collect(ctx context.Context, m *mapping.Mapping) (Report, error) {
	rep, l, err := e.list(ctx, m, false)
	if err != nil || !l.done || l.whole() {
		return rep, err
	}
	waiting, err := e.insertsWaiting(ctx, m, l.gen)
	if err != nil || !waiting {
		return rep, err
	}
	var prev listing
	same := 0 // full reads in a row that ended on an empty page after the same records
	for tries := 0; tries < 2*confirmReads && same < confirmReads; tries++ {
		r, f, err := e.list(ctx, m, true)
		rep.add(r)
		if err != nil {
			if fatal(ctx, err) {
				return rep, err
			}
			// The first listing completed: what the datatype holds is known
			// as well as before. The insert waits for the next cycle.
			e.log.Warn("full read to settle an insert failed", "system", m.System, "datatype", m.Datatype, "err", err)
			break
		}
		if !f.done || f.whole() {
			break // stopped or held by the breaker; or whole, which settles
		}
		if f.missed {
			// It did not list records the store holds live (now deleted
			// where the system confirmed it): the next one is compared
			// with the store as it is now.
			same = 0
			continue
		}
		if same > 0 && f.listed != prev.listed {
			same = 0 // another answer: count again from this one
		}
		same++
		prev = f
		if same == confirmReads {
			e.whole[m.Name()] = f.gen
		}
	}
	delete(e.unread, m.Name())
	return rep, nil
}

// listing sums up one listing of a system datatype.
type listing struct {
	done bool  // completed: the cursor and the deletions were stored
	gen  int64 // the datatype's collect generation after it (when done)
	// emptyEnd tells that its last page held no record: the end of the
	// listing, or a listing cut short.
	emptyEnd bool
	listed   int  // records listed, tombstones included
	missed   bool // a full listing missed records the store holds live
}

// whole tells whether the listing completed and is known to be whole: it
// ended on a page with records, which a listing cut short never does.
func (l listing) whole() bool { return l.done && !l.emptyEnd }

// insertsWaiting tells whether an insert into the datatype made before the
// listing that reached generation gen is still open and has not been
// settled by a whole listing.
func (e *Engine) insertsWaiting(ctx context.Context, m *mapping.Mapping, gen int64) (bool, error) {
	ins, err := e.st.OpenIntents(ctx, m.System, m.Datatype)
	if err != nil {
		return false, stErr(err)
	}
	for _, in := range ins {
		if in.RecordID == "" && in.Gen < gen && e.whole[m.Name()] <= in.Gen {
			return true, nil
		}
	}
	return false, nil
}

// list makes one listing of a system datatype: the changes since its
// cursor, or every live record when forceFull is set, the datatype was
// never read, or its full scan is due. Versions are committed page by
// page; the cursor is stored only when the listing completes, together
// with the deletions, so a crash at any point re-reads from the old cursor
// and the content hash drops what was already stored. Deletions are held
// back to the end so the circuit breaker can refuse a listing that would
// delete far more than it should.
func (e *Engine) list(ctx context.Context, m *mapping.Mapping, forceFull bool) (rep Report, l listing, err error) {
	datatype := m.Datatype
	conn := e.conns[m.System]
	e.unread[m.Name()] = true // until the listing completes
	e.seenUpdates = nil
	cur, err := e.st.GetCursor(ctx, m.System, datatype)
	if err != nil {
		return rep, l, stErr(err)
	}
	full := forceFull || cur.Gen == 0 || (m.FullScan > 0 && e.opt.Now().Sub(cur.LastScan) >= m.FullScan)
	scanGen := int64(0)
	if full {
		// Every attempt needs a generation of its own: a scan that failed
		// half-way has marked records seen under the one it used.
		scanGen = max(cur.ScanGen+1, e.opt.Now().UnixNano())
	}

	var deletions []store.Record
	var intents *[]store.Intent // loaded when a page holds a tombstone of an unknown record
	cursor := cur.Value
	req := connector.ListRequest{Cursor: cur.Value, Full: full}
	// A page's commit runs while the next page is read, compared and
	// merged (see collectCommit). It is awaited before anything the next
	// page does could depend on it, and before the next page's own commit.
	var inflight *collectCommit
	defer func() {
		if werr := e.awaitCollect(&inflight, &rep); err == nil {
			err = werr
		}
	}()
	for {
		page, err := conn.List(ctx, datatype, req)
		if err != nil {
			return rep, l, fmt.Errorf("list: %w", err)
		}
		if inflight.holdsAny(page.Records) {
			if err := e.awaitCollect(&inflight, &rep); err != nil {
				return rep, l, err
			}
		}
		versions, seen, dels, replaced, fresh, err := e.diffPage(ctx, m, page.Records, full, &intents)
		if err != nil {
			return rep, l, err
		}
		if len(replaced) > 0 {
			// Versions about to be replaced while still waiting to be merged
			// (a crash before their merge, a reference that did not resolve)
			// are merged first: each version a system showed is merged once,
			// so a value it held is not lost when the next one empties it.
			if err := e.awaitCollect(&inflight, &rep); err != nil {
				return rep, l, err
			}
			if _, err := e.mergeBatch(ctx, m, replaced); err != nil {
				return rep, l, err
			}
		}
		l.listed += len(page.Records)
		l.emptyEnd = len(page.Records) == 0
		rep.Collected += len(versions)
		rep.Unchanged += len(page.Records) - len(versions) - len(dels)
		deletions = append(deletions, dels...)
		if page.Cursor != "" {
			cursor = page.Cursor
		}
		var next *collectCommit
		if len(versions) > 0 || len(seen) > 0 {
			next = &collectCommit{batch: store.CollectBatch{System: m.System, Datatype: datatype, Versions: versions, Seen: seen, ScanGen: scanGen}}
			if fresh && len(versions) > 0 {
				if inflight != nil && (selfReferring(m) || intents == nil || insertIntents(*intents)) {
					// The merge would read what the commit in flight writes:
					// records of this datatype, or the golden records that
					// intents are for.
					if err := e.awaitCollect(&inflight, &rep); err != nil {
						return rep, l, err
					}
				}
				merged, err := e.mergeFresh(ctx, m, versions, func(values map[string]bool) error {
					if inflight.affects(values) {
						return e.awaitCollect(&inflight, &rep)
					}
					return nil
				})
				if err != nil {
					return rep, l, err
				}
				if merged != nil {
					// No crash point of its own: a crash here is one before
					// the page is stored, which collect.after-page covers
					// for the page before it.
					next.batch.Merge = &merged.batch
					next.merged = merged
				}
			}
		}
		if inflight != nil {
			// Everything this page reads is read: a crash here is one
			// while the page before it is committed, which may or may
			// not have landed.
			if err := e.crash(PointCollectInFlight); err != nil {
				return rep, l, err
			}
		}
		// The previous page is stored before this one.
		if err := e.awaitCollect(&inflight, &rep); err != nil {
			return rep, l, err
		}
		if next != nil {
			next.start(ctx, e)
			inflight = next
		}
		if page.NextPageToken == "" {
			break
		}
		// This page's commit may still be in flight: a crash here may or
		// may not have stored it (the cursor is not saved either way). A
		// stop or an error returns through the deferred wait, which lets
		// it land.
		if err := e.crash(PointCollectPage); err != nil {
			return rep, l, err
		}
		if e.stopping() {
			return rep, l, nil // the cursor stays; the next cycle reads again
		}
		req.PageToken = page.NextPageToken
	}
	if err := e.awaitCollect(&inflight, &rep); err != nil {
		return rep, l, err
	}

	var missing []store.Record
	if full {
		if missing, err = e.missingAfterScan(ctx, m.System, datatype, scanGen); err != nil {
			return rep, l, err
		}
		l.missed = len(missing) > 0
	}
	if reason, err := e.breaker(ctx, cur, len(deletions)+len(missing), full); err != nil {
		return rep, l, err
	} else if reason != "" {
		rep.BreakerHit = append(rep.BreakerHit, m.System+":"+datatype)
		e.log.Warn("circuit breaker tripped", "system", m.System, "datatype", datatype, "reason", reason)
		if err := e.st.SetBreaker(ctx, m.System, datatype, reason); err != nil {
			return rep, l, stErr(err)
		}
		return rep, l, nil
	}
	// A record missing from a full listing is deleted only when the system
	// confirms it: a listing cut short by a flaky API must not delete.
	for _, r := range missing {
		_, err := conn.Get(ctx, datatype, r.ID)
		switch {
		case errors.Is(err, connector.ErrNotFound):
			deletions = append(deletions, r)
		case err != nil && ctx.Err() != nil:
			return rep, l, err
		}
	}
	rep.Collected += len(deletions)
	if err := e.crash(PointCollectDone); err != nil {
		return rep, l, err
	}
	if err := e.st.CommitCollect(ctx, store.CollectBatch{
		System: m.System, Datatype: datatype, Versions: deletions,
		Cursor: &cursor, Done: true, FullScan: full, ScanGen: scanGen, At: e.opt.Now(),
	}); err != nil {
		return rep, l, stErr(err)
	}
	delete(e.unread, m.Name())
	l.done, l.gen = true, cur.Gen+1
	if l.whole() {
		e.whole[m.Name()] = l.gen
	}
	if len(e.seenUpdates) > 0 {
		// The outcome of these updates has been seen and dated.
		done := e.seenUpdates
		e.seenUpdates = nil
		if err := e.st.CommitShare(ctx, store.ShareBatch{IntentsDone: done}); err != nil {
			return rep, l, stErr(err)
		}
	}
	if cur.Breaker != "" {
		// A sane listing (or one the operator accepted) closes the breaker.
		if err := e.st.SetBreaker(ctx, m.System, datatype, ""); err != nil {
			return rep, l, stErr(err)
		}
	}
	return rep, l, nil
}

// collectCommit is a page's commit, running while the next page is read,
// compared with the store and merged. Those reads concern other records (a
// page that lists one of its records waits for it) and, for the merge,
// golden records the commit does not touch: the next page waits for it
// when one of its merge-key values is one the commit adds or removes, when
// the mapping refers to its own datatype, or when insert intents are open.
type collectCommit struct {
	batch  store.CollectBatch
	merged *mergeState
	wait   func() error
	ids    map[string]bool
	// affected holds the merge-key values (criterion name, NUL, value) the
	// commit adds or removes.
	affected map[string]bool
}

func (c *collectCommit) start(ctx context.Context, e *Engine) {
	c.ids = make(map[string]bool, len(c.batch.Versions)+len(c.batch.Seen))
	for _, v := range c.batch.Versions {
		c.ids[v.ID] = true
	}
	for _, id := range c.batch.Seen {
		c.ids[id] = true
	}
	if c.merged != nil {
		c.affected = c.merged.affectedKeys()
	}
	c.wait = e.opt.Async(func() error { return e.st.CommitCollect(ctx, c.batch) })
}

// holdsAny tells whether the commit stores one of the records.
func (c *collectCommit) holdsAny(recs []connector.Record) bool {
	if c == nil {
		return false
	}
	for _, r := range recs {
		if c.ids[r.ID] {
			return true
		}
	}
	return false
}

// affects tells whether the commit changes which golden records hold one of
// the merge-key values.
func (c *collectCommit) affects(values map[string]bool) bool {
	if c == nil {
		return false
	}
	for v := range values {
		if c.affected[v] {
			return true
		}
	}
	return false
}

// awaitCollect waits for the commit in flight, if any, and counts and emits
// its merge.
func (e *Engine) awaitCollect(c **collectCommit, rep *Report) error {
	if *c == nil {
		return nil
	}
	err := (*c).wait()
	merged := (*c).merged
	*c = nil
	if err != nil {
		return stErr(err)
	}
	if merged != nil {
		rep.add(merged.rep)
		e.emit(merged.batch.Events)
	}
	return nil
}

// selfReferring tells whether a mapping has a reference to its own datatype.
func selfReferring(m *mapping.Mapping) bool {
	for _, r := range m.Rows {
		if r.Ref == m.Datatype {
			return true
		}
	}
	return false
}

// insertIntents tells whether open intents include an insert.
func insertIntents(ins []store.Intent) bool {
	for _, in := range ins {
		if in.RecordID == "" {
			return true
		}
	}
	return false
}

// mergeFresh merges the versions of records seen for the first time, to be
// committed with them (ADR 13): their rows are then written once, already
// linked, instead of stored pending and rewritten by the merge. The merge
// is the one merge would make of them in the same place; it returns nil
// (the versions are stored pending and merged as usual) when that cannot
// be promised: values that the store would give back in another form, or a
// record that fails or waits, which merge counts and retries.
func (e *Engine) mergeFresh(ctx context.Context, m *mapping.Mapping, versions []store.Record, before func(keyValues map[string]bool) error) (*mergeState, error) {
	recs := make([]store.Record, len(versions))
	for i, v := range versions {
		if v.Deleted || !storedFields(v.Fields) || !storedFieldTimes(v.FieldTimes) {
			return nil, nil
		}
		r := v
		r.Modified = storedTime(v.Modified)
		r.FieldTimes = make(map[string]time.Time, len(v.FieldTimes))
		for f, t := range v.FieldTimes {
			r.FieldTimes[f] = storedTime(t)
		}
		r.Pending = true
		recs[i] = r
	}
	// Merge takes pending records in id order.
	sort.Slice(recs, func(i, j int) bool { return recs[i].ID < recs[j].ID })
	s, err := e.planMerge(ctx, m, recs, before)
	if err != nil {
		return nil, err
	}
	if s.rep.Failed > 0 || s.rep.Deferred > 0 || len(s.batch.Links) != len(recs) {
		return nil, nil
	}
	for _, l := range s.batch.Links {
		if l.Hash == "" {
			return nil, nil // kept pending
		}
	}
	return s, nil
}

// diffPage compares a page with the stored versions. It returns the new or
// changed versions, the ids of unchanged records (for a full scan), and
// tombstones, which are held back until the listing completes. fresh tells
// that every version is of a record the store did not have.
func (e *Engine) diffPage(ctx context.Context, m *mapping.Mapping, recs []connector.Record, full bool, intents **[]store.Intent) (versions []store.Record, seen []string, dels, replaced []store.Record, fresh bool, err error) {
	if len(recs) == 0 {
		return nil, nil, nil, nil, false, nil
	}
	fresh = true
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	stored, err := e.st.GetRecords(ctx, m.System, m.Datatype, ids)
	if err != nil {
		return nil, nil, nil, nil, false, stErr(err)
	}
	now := e.opt.Now()
	changed := map[string]map[string]bool{} // record id -> fields whose value changed
	for _, r := range recs {
		old, known := stored[r.ID]
		if r.Deleted {
			if known && !old.Deleted {
				dels = append(dels, tombstone(old, r.Modified, now))
				stored[r.ID] = dels[len(dels)-1]
			} else if !known && len(r.Fields) > 0 {
				// Possibly a record we inserted whose link was never stored,
				// deleted before we saw it: keep it for the merge to
				// recognise by an open intent.
				if *intents == nil {
					ins, err := e.st.OpenIntents(ctx, m.System, m.Datatype)
					if err != nil {
						return nil, nil, nil, nil, false, stErr(err)
					}
					*intents = &ins
				}
				if len(**intents) > 0 {
					t := store.Record{Key: store.Key{System: m.System, Datatype: m.Datatype, ID: r.ID}, Fields: r.Fields, Modified: r.Modified}
					t = tombstone(t, r.Modified, now)
					t.Hash = "deleted:" + connector.Hash(r.Fields)
					dels = append(dels, t)
					stored[r.ID] = t
				}
			}
			continue
		}
		if !known {
			keep, ferr := m.Keep(r.Fields)
			if ferr != nil || !keep {
				continue // not part of the flow; a filter error is a skip, not a stop
			}
		}
		h := connector.Hash(r.Fields)
		if known && old.Hash == h && !old.Deleted {
			if full {
				seen = append(seen, r.ID)
			}
			continue
		}
		if known && old.Pending && !old.Deleted {
			replaced = append(replaced, old)
		}
		if known {
			fresh = false
		}
		v := store.Record{
			Key:      store.Key{System: m.System, Datatype: m.Datatype, ID: r.ID},
			Hash:     h,
			Fields:   r.Fields,
			Modified: r.Modified,
		}
		mod := r.Modified
		if mod.IsZero() {
			mod = now
		}
		v.FieldTimes = fieldTimes(old.Fields, old.FieldTimes, r.Fields, mod, known && !old.Deleted)
		v.GoldenID = old.GoldenID // for echo dating: unlinked ones may be our inserts
		for f, val := range r.Fields {
			if !known || old.Deleted || !mapping.Equal(old.Fields[f], val) {
				if changed[r.ID] == nil {
					changed[r.ID] = map[string]bool{}
				}
				changed[r.ID][f] = true
			}
		}
		versions = append(versions, v)
		stored[r.ID] = v // a record listed twice in one page is stored once
	}
	if len(versions) == 0 {
		return versions, seen, dels, replaced, fresh, nil
	}
	if *intents == nil {
		ins, err := e.st.OpenIntents(ctx, m.System, m.Datatype)
		if err != nil {
			return nil, nil, nil, nil, false, stErr(err)
		}
		*intents = &ins
	}
	e.dateEchoes(m, versions, changed, **intents)
	return versions, seen, dels, replaced, fresh, nil
}

// dateEchoes dates the echo of a write of ours whose outcome we never
// learned (a lost answer, a crash before storing it) as old as can be: a
// changed field that holds what an open update intent sent, or a
// first-seen record that an open insert intent sent. Dated by the record, it
// would look newer than a real edit made elsewhere in between and beat it.
func (e *Engine) dateEchoes(m *mapping.Mapping, versions []store.Record, changed map[string]map[string]bool, intents []store.Intent) {
	sent := map[string][]store.Intent{}
	var inserts []store.Intent
	for _, in := range intents {
		if in.RecordID != "" {
			sent[in.RecordID] = append(sent[in.RecordID], in)
		} else if len(in.Fields) > 0 {
			inserts = append(inserts, in)
		}
	}
	for i := range versions {
		v := &versions[i]
		if v.GoldenID == "" {
			// A record seen for the first time may be an insert of ours
			// whose answer was lost: the values it sent are old.
			for _, in := range inserts {
				if sentBy(m, in, v) {
					for f, val := range in.Fields {
						if mapping.Equal(v.Fields[f], val) {
							v.FieldTimes[f] = time.Time{}
						}
					}
				}
			}
		}
		for _, in := range sent[v.ID] {
			// A field that changed to what an update of ours sent is its
			// echo. (A field that holds the value read before the update
			// keeps its old time: whether the update happened and a user
			// put the value back, or the update never happened, cannot be
			// told apart, and taking it for a change would make an old
			// value look new when a user merely made the same change as
			// ours elsewhere.)
			for f, val := range in.Fields {
				if changed[v.ID][f] && mapping.Equal(v.Fields[f], val) {
					v.FieldTimes[f] = time.Time{}
				}
			}
			e.seenUpdates = append(e.seenUpdates, in.ID)
		}
	}
}

// fieldTimes gives every field of a new version its modification time: the
// stored time for a field whose value did not change, the record's
// modification time for one that did.
func fieldTimes(oldFields map[string]any, oldTimes map[string]time.Time, fields map[string]any, mod time.Time, known bool) map[string]time.Time {
	times := make(map[string]time.Time, len(fields))
	for f, v := range fields {
		if known {
			if ov, ok := oldFields[f]; ok && mapping.Equal(ov, v) {
				if t, ok := oldTimes[f]; ok {
					times[f] = t
					continue
				}
			}
		}
		times[f] = mod
	}
	return times
}

func tombstone(old store.Record, mod, now time.Time) store.Record {
	if mod.IsZero() {
		mod = now
	}
	t := old
	t.Deleted = true
	t.Modified = mod
	t.Hash = "deleted:" + old.Hash
	return t
}

// missingAfterScan lists the live records a completed full scan did not see.
func (e *Engine) missingAfterScan(ctx context.Context, system, datatype string, scanGen int64) ([]store.Record, error) {
	var out []store.Record
	after := ""
	now := e.opt.Now()
	for {
		recs, err := e.st.UnseenRecords(ctx, system, datatype, scanGen, after, e.batchSize())
		if err != nil {
			return nil, stErr(err)
		}
		for _, r := range recs {
			out = append(out, tombstone(r, now, now))
		}
		if len(recs) < e.batchSize() {
			return out, nil
		}
		after = recs[len(recs)-1].ID
	}
}

// breaker decides whether a listing's deletions look like a broken read
// rather than real deletions. It returns the reason when it trips.
func (e *Engine) breaker(ctx context.Context, cur store.Cursor, deletions int, full bool) (string, error) {
	system, datatype := cur.System, cur.Datatype
	min := e.cfg.Engine.BreakerMinimum
	if min <= 0 {
		min = 10
	}
	if deletions == 0 || deletions < min/2 {
		return "", nil
	}
	if cur.Breaker == BreakerAccepted {
		return "", nil
	}
	live, err := e.liveRecords(ctx, system, datatype)
	if err != nil {
		return "", err
	}
	threshold := e.cfg.Engine.BreakerThreshold
	if threshold <= 0 {
		threshold = 0.5
	}
	if live < int64(min) || float64(deletions) <= threshold*float64(live) {
		return "", nil
	}
	kind := "an incremental read"
	if full {
		kind = "a full read"
	}
	return fmt.Sprintf("%s would delete %d of %d records (more than %.0f%%); nothing was deleted. "+
		"If the deletions are real, run `concord breaker reset %s %s`", kind, deletions, live, threshold*100, system, datatype), nil
}

func (e *Engine) liveRecords(ctx context.Context, system, datatype string) (int64, error) {
	sts, err := e.st.Status(ctx)
	if err != nil {
		return 0, stErr(err)
	}
	for _, s := range sts {
		if s.System == system && s.Datatype == datatype {
			return s.Records - s.Deleted, nil // tombstones are not held by the system
		}
	}
	return 0, nil
}

// sentBy tells whether a record seen for the first time is what an insert
// intent sent: the same content, or the same values in the fields of one of
// the mapping's merge criteria.
func sentBy(m *mapping.Mapping, in store.Intent, v *store.Record) bool {
	if in.Fingerprint != "" && in.Fingerprint == v.Hash {
		return true
	}
	fieldOf := map[string]string{}
	for _, r := range m.Rows {
		fieldOf[r.Property] = r.Field
	}
	for _, crit := range m.Merge {
		all := len(crit) > 0
		for _, p := range crit {
			f := fieldOf[p]
			sentV, ok := in.Fields[f]
			if f == "" || !ok || mapping.IsEmpty(sentV) || !mapping.Equal(v.Fields[f], sentV) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	if len(m.Merge) > 0 {
		return false
	}
	for f, val := range in.Fields {
		if !mapping.Equal(v.Fields[f], val) {
			return false
		}
	}
	return true
}

// storedFields tells whether values are in the form a store gives them back
// (see store.Record): nil, bool, valid UTF-8 strings, float64 that JSON
// keeps as float64, and lists and objects of these.
func storedFields(m map[string]any) bool {
	for k, v := range m {
		if !utf8.ValidString(k) || !storedValue(v) {
			return false
		}
	}
	return true
}

func storedValue(v any) bool {
	switch x := v.(type) {
	case nil, bool:
		return true
	case string:
		return utf8.ValidString(x)
	case float64:
		return !math.IsNaN(x) && !math.IsInf(x, 0) && math.Abs(x) <= 1<<53 && !(x == 0 && math.Signbit(x))
	case []any:
		for _, e := range x {
			if !storedValue(e) {
				return false
			}
		}
		return true
	case map[string]any:
		return storedFields(x)
	}
	return false
}

func storedFieldTimes(m map[string]time.Time) bool {
	for k := range m {
		if !utf8.ValidString(k) {
			return false
		}
	}
	return true
}

// storedTime is a time as a store gives it back: UTC, nanoseconds, and the
// zero time for zero (and for the unix epoch, which shares its encoding).
func storedTime(t time.Time) time.Time {
	if t.IsZero() || t.UnixNano() == 0 {
		return time.Time{}
	}
	return time.Unix(0, t.UnixNano()).UTC()
}
