package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/store"
)

// share writes the dirty golden records of a canonical type to every
// datatype that takes them, batch by batch.
//
// A batch's commit runs while the next batch is read and planned (on the
// second core): those reads concern other golden records, which the commit
// does not touch. The next batch waits for it before anything that could
// depend on it (references to the golden records being committed) and
// before its first write, so no API call is made before the previous batch
// is stored, as in a sequential run. Types with lines are shared one batch
// after the other: sharing a parent marks its lines (redirtyLines).
func (e *Engine) share(ctx context.Context, typ string) (rep Report, err error) {
	var outs []*mapping.Mapping
	for _, m := range e.maps.ForType(typ) {
		if m.Writes() {
			outs = append(outs, m)
		}
	}
	_, hasLines := e.maps.Criteria[mapping.LinesType(typ)]
	var inflight *shareCommit
	defer func() {
		if werr := e.awaitShare(&inflight); err == nil {
			err = werr
		}
	}()
	after := ""
	cursors := map[string]store.Cursor{}
	for {
		gs, err := e.st.DirtyGoldens(ctx, typ, after, e.batchSize())
		if err != nil {
			return rep, stErr(err)
		}
		if len(gs) == 0 {
			return rep, nil
		}
		r, err := e.shareBatch(ctx, outs, gs, cursors, &inflight, !hasLines)
		rep.add(r)
		if err != nil {
			return rep, err
		}
		if len(gs) < e.batchSize() || e.stopping() {
			return rep, nil
		}
		after = gs[len(gs)-1].ID
	}
}

// shareCommit is the commit of a share batch, running.
type shareCommit struct {
	wait    func() error
	goldens map[string]bool // the batch's golden ids
	events  []store.Event
}

// awaitShare waits for the commit in flight, if any, and emits its events.
func (e *Engine) awaitShare(c **shareCommit) error {
	if *c == nil {
		return nil
	}
	err := (*c).wait()
	evs := (*c).events
	*c = nil
	if err != nil {
		return stErr(err)
	}
	e.emit(evs)
	return nil
}

// write is one planned write to one system record.
type write struct {
	g      *store.Golden
	m      *mapping.Mapping
	op     string // insert, update, delete
	rec    store.Record
	fields map[string]any // insert: all fields; update: the changed ones
	intent store.Intent
	// earlier are open intents of earlier updates of the record whose
	// outcome is unknown; a successful update supersedes them.
	earlier []store.Intent
	// lines are the intents of the lines an insert carries in its parent
	// (Lines.InsertField). They stay open after the insert: the lines are
	// linked when the next read of the lines datatype brings them back.
	lines []store.Intent
	// made is the outcome of an insert already sent in a bulk call.
	made *connector.InsertResult
}

type shareState struct {
	batch  store.ShareBatch
	rep    Report
	done   map[string]bool // golden id -> every target is in sync
	writes []write
	// waitWas is the recorded wait of the golden record and target being
	// planned; waited tells whether the plan waits again.
	waitWas store.DeadLetter
	waited  bool
	// waits are the recorded waits of the batch, by mapping and golden id.
	waits map[string]map[string]store.DeadLetter
	// unlinked are the records of a datatype collected but not linked, by
	// mapping name, loaded when an insert is about to be made again.
	unlinked map[string][]store.Record
}

// wait records that a golden record waits before it can be written to a
// target. The history gets one line per reason, not one per cycle.
func (s *shareState) wait(m *mapping.Mapping, g *store.Golden, detail string, now time.Time) {
	s.waited = true
	s.done[g.ID] = false
	if s.waitWas.Attempts > 0 && s.waitWas.Reason == detail {
		return
	}
	s.batch.DeadLetters = append(s.batch.DeadLetters, store.DeadLetter{System: m.System, Datatype: m.Datatype, Ref: g.ID,
		Stage: StageWaitWrite, Reason: detail, Attempts: 1, First: now, Last: now})
	s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: g.ID, Key: store.Key{System: m.System, Datatype: m.Datatype},
		Action: "deferred", Detail: detail})
}

func (e *Engine) shareBatch(ctx context.Context, outs []*mapping.Mapping, gs []store.Golden, cursors map[string]store.Cursor,
	inflight **shareCommit, overlap bool) (Report, error) {
	now := e.opt.Now()
	ids := make([]string, len(gs))
	for i := range gs {
		ids[i] = gs[i].ID
	}
	linked, err := e.st.RecordsForGoldens(ctx, ids)
	if err != nil {
		return Report{}, stErr(err)
	}
	intents, err := e.st.Intents(ctx, ids)
	if err != nil {
		return Report{}, stErr(err)
	}
	resolve, err := e.refResolver(ctx, outs, gs, func(refs []string) error {
		// A reference to a golden record of the batch being committed
		// resolves through the records that commit stores.
		if *inflight != nil && slices.ContainsFunc(refs, func(id string) bool { return (*inflight).goldens[id] }) {
			return e.awaitShare(inflight)
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	parents, err := e.conditionalParents(ctx, outs, gs)
	if err != nil {
		return Report{}, err
	}
	dead := map[string]map[string]store.DeadLetter{}
	waits := map[string]map[string]store.DeadLetter{}
	for _, m := range outs {
		dls, err := e.st.GetDeadLetters(ctx, m.System, m.Datatype, StageWrite, ids)
		if err != nil {
			return Report{}, stErr(err)
		}
		dead[m.Name()] = dls
		if waits[m.Name()], err = e.st.GetDeadLetters(ctx, m.System, m.Datatype, StageWaitWrite, ids); err != nil {
			return Report{}, stErr(err)
		}
	}

	s := &shareState{done: map[string]bool{}, waits: waits}
	for i := range gs {
		g := &gs[i]
		s.done[g.ID] = true
		for _, m := range outs {
			if !parentTakes(m, g, parents) {
				continue
			}
			s.waitWas, s.waited = waits[m.Name()][g.ID], false
			if err := e.plan(ctx, s, m, g, linked[g.ID], intents[g.ID], dead[m.Name()][g.ID], resolve, cursors, now); err != nil {
				return s.rep, err
			}
			if !s.waited && s.waitWas.Attempts > 0 {
				s.batch.Cleared = append(s.batch.Cleared, s.waitWas)
			}
		}
	}

	if *inflight != nil {
		// Everything this batch reads is read and planned: a crash here
		// is one while the batch before it is committed, which may or may
		// not have landed.
		if err := e.crash(PointShareInFlight); err != nil {
			return s.rep, err
		}
	}
	// Nothing is written before the previous batch is stored.
	if err := e.awaitShare(inflight); err != nil {
		return s.rep, err
	}
	// A system found down earlier in this cycle is not called again: its
	// writes wait and announce nothing, so that a crash leaves no intent
	// of a write that was never going to be made (ADR 19).
	kept := s.writes[:0]
	for _, w := range s.writes {
		if e.down[w.m.System] != nil {
			s.throttled(w, unavailable(w), now)
			continue
		}
		kept = append(kept, w)
	}
	s.writes = kept
	// Announce every insert before any API call, in one transaction.
	var ins []store.Intent
	for _, w := range s.writes {
		if w.intent.ID != "" {
			ins = append(ins, w.intent)
		}
		ins = append(ins, w.lines...)
	}
	if err := e.st.PutIntents(ctx, ins); err != nil {
		return s.rep, stErr(err)
	}
	if err := e.crash(PointShareBeforeWrite); err != nil {
		return s.rep, err
	}
	for i := range s.writes {
		if err := ctx.Err(); err != nil {
			return s.rep, err
		}
		e.bulkInsert(ctx, s, i)
		w := s.writes[i]
		if e.stopping() && w.made == nil {
			// Leave the remaining writes to the next cycle; intents of
			// inserts not made are resolved by it.
			for _, rest := range s.writes[i:] {
				s.done[rest.g.ID] = false
			}
			break
		}
		if err := e.execute(ctx, s, w, dead[w.m.Name()][w.g.ID], now); err != nil {
			return s.rep, err
		}
		if i < len(s.writes)-1 {
			if err := e.crash(PointShareMidBatch); err != nil {
				return s.rep, err
			}
		}
	}
	for id, ok := range s.done {
		if ok {
			s.batch.Clean = append(s.batch.Clean, id)
		}
	}
	sort.Strings(s.batch.Clean)
	if err := e.crash(PointShareCommit); err != nil {
		return s.rep, err
	}
	if overlap {
		c := &shareCommit{goldens: make(map[string]bool, len(gs)), events: s.batch.Events}
		for i := range gs {
			c.goldens[gs[i].ID] = true
		}
		b := s.batch
		c.wait = e.opt.Async(func() error { return e.st.CommitShare(ctx, b) })
		*inflight = c
		return s.rep, nil
	}
	if err := e.st.CommitShare(ctx, s.batch); err != nil {
		return s.rep, stErr(err)
	}
	e.emit(s.batch.Events)
	return s.rep, e.redirtyLines(ctx, gs)
}

// redirtyLines marks the lines of shared parent records for sharing: a
// parent that was just inserted into (or linked in) a system makes its lines
// resolvable there.
func (e *Engine) redirtyLines(ctx context.Context, parents []store.Golden) error {
	if len(parents) == 0 {
		return nil
	}
	lt := mapping.LinesType(parents[0].Type)
	if _, ok := e.maps.Criteria[lt]; !ok {
		return nil
	}
	keys := make([]string, 0, len(parents))
	for i := range parents {
		if k, ok := keyValue(map[string]any{mapping.ParentProperty: parents[i].ID}, []string{mapping.ParentProperty}); ok {
			keys = append(keys, k)
		}
	}
	hits, err := e.st.FindByKeys(ctx, lt, mapping.ParentProperty, keys)
	if err != nil {
		return stErr(err)
	}
	var ids []string
	for _, gids := range hits {
		ids = append(ids, gids...)
	}
	if len(ids) == 0 {
		return nil
	}
	lines, err := e.st.GetGoldens(ctx, ids)
	if err != nil {
		return stErr(err)
	}
	var b store.MergeBatch
	for _, id := range sortedKeys(lines) {
		l := lines[id]
		if !l.Dirty && !l.Deleted {
			l.Dirty = true
			b.Goldens = append(b.Goldens, l)
		}
	}
	if len(b.Goldens) == 0 {
		return nil
	}
	return stErr(e.st.CommitMerge(ctx, b))
}

// conditionalParents loads the parent golden records of a batch of lines
// when a target's parent mapping has a `when` condition: a line goes where
// its order goes, so the condition is the parent's, not the line's. Nil
// when no target needs them.
func (e *Engine) conditionalParents(ctx context.Context, outs []*mapping.Mapping, gs []store.Golden) (map[string]store.Golden, error) {
	need := false
	for _, m := range outs {
		need = need || (m.Parent != nil && m.Parent.Conditional())
	}
	if !need {
		return nil, nil
	}
	var ids []string
	for i := range gs {
		if id, ok := gs[i].Props[mapping.ParentProperty].(string); ok && id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	ps, err := e.st.GetGoldens(ctx, ids)
	return ps, stErr(err)
}

// parentTakes tells whether a line may be written to a lines datatype: the
// parent mapping's condition must hold for the line's parent. An order
// that moved on from a Quotation to a SalesOrder (Exact) leaves the
// Quotation's lines as they were, as it leaves the Quotation; a new line
// goes to the SalesOrder only. A parent not found is left to plan (it
// waits for the parent's link).
func parentTakes(m *mapping.Mapping, line *store.Golden, parents map[string]store.Golden) bool {
	if m.Parent == nil || !m.Parent.Conditional() {
		return true
	}
	id, _ := line.Props[mapping.ParentProperty].(string)
	p, ok := parents[id]
	if !ok || p.Deleted {
		return true
	}
	takes, err := m.Parent.Takes(p.Props)
	return err == nil && takes // a failing condition is reported where the parent is planned
}

// plan decides what one target datatype needs for one golden record.
func (e *Engine) plan(ctx context.Context, s *shareState, m *mapping.Mapping, g *store.Golden, recs []store.Record,
	intents []store.Intent, dl store.DeadLetter, resolve func(system string) mapping.Resolver, cursors map[string]store.Cursor, now time.Time) error {
	var rec *store.Record
	for i := range recs {
		if recs[i].System == m.System && recs[i].Datatype == m.Datatype {
			rec = &recs[i]
			break
		}
	}
	var mine, updates []store.Intent
	for _, in := range intents {
		if in.System == m.System && in.Datatype == m.Datatype {
			if in.RecordID != "" {
				updates = append(updates, in)
			} else {
				mine = append(mine, in)
			}
		}
	}

	if rec != nil {
		// The record we inserted came back through collect and was linked.
		for _, in := range mine {
			s.batch.IntentsDone = append(s.batch.IntentsDone, in.ID)
		}
		mine = nil
	}
	if dl.Parked && !g.Updated.After(dl.Last) {
		return nil // parked until the golden record changes again
	}
	ev := func(action, detail string) {
		k := store.Key{System: m.System, Datatype: m.Datatype}
		if rec != nil {
			k = rec.Key
		}
		s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: g.ID, Key: k, Action: action, Detail: detail})
	}

	if g.Deleted {
		if rec != nil && !rec.Deleted && !rec.Excluded && m.Delete == mapping.DeletePropagate {
			s.writes = append(s.writes, write{g: g, m: m, op: "delete", rec: *rec})
		}
		if len(mine) > 0 {
			// An insert whose outcome is unknown: keep the golden record
			// dirty until a whole read settles it, so that the record, if
			// it was created, is recognised, linked and deleted.
			if e.settled(m, mine) {
				for _, in := range mine {
					s.batch.IntentsDone = append(s.batch.IntentsDone, in.ID)
				}
			} else {
				s.done[g.ID] = false
			}
		}
		return nil
	}
	if rec != nil && (rec.Deleted || rec.Excluded) {
		return nil // deleted or unlinked there: never re-created
	}
	takes, err := m.Takes(g.Props)
	if err != nil {
		ev("failed", "condition: "+err.Error())
		return nil
	}
	if !takes {
		return nil
	}
	if rec == nil && len(mine) == 0 {
		// Not there yet. A datatype that takes no inserts has nothing to do
		// (not even wait for a reference: it would wait forever), and
		// insert_when says whether to create it (a linked record is kept in
		// sync whatever it says).
		if !m.Insert {
			return nil
		}
		ins, err := m.InsertTakes(g.Props)
		if err != nil {
			ev("failed", "insert_when: "+err.Error())
			return nil
		}
		if !ins {
			return nil
		}
	}
	desired, unresolved, err := m.Out(g.Props, resolve(m.System))
	if err != nil {
		s.fail(e, m, g, dl, err.Error(), true, now)
		return nil
	}
	if len(unresolved) == 1 && unresolved[0] == mapping.ParentProperty {
		// The parent is not (yet) in this datatype's system: sharing the
		// parent there brings its lines along (see redirtyLines).
		return nil
	}
	if len(unresolved) > 0 {
		s.rep.Deferred++
		s.wait(m, g, fmt.Sprintf("waiting for %s to be linked in %s", strings.Join(unresolved, ", "), m.System), now)
		return nil
	}

	if rec != nil {
		if rec.Pending {
			// A newer version waits to be merged: skip, and come back once
			// it is (optimistic: never write over a change we have not seen).
			s.done[g.ID] = false
			return nil
		}
		changes := diffMembers(desired, rec.Fields, m.NestedFields())
		for f := range changes {
			// The system holds the same value in its own spelling (its
			// mapping reads it as the hub's): nothing to write.
			if m.Agrees(f, rec.Fields, g.Props) {
				delete(changes, f)
			}
		}
		if len(changes) == 0 {
			if dl.Attempts > 0 {
				s.batch.Cleared = append(s.batch.Cleared, dl)
			}
			return nil
		}
		cur, err := e.cursor(ctx, cursors, m.System, m.Datatype)
		if err != nil {
			return err
		}
		s.writes = append(s.writes, write{g: g, m: m, op: "update", rec: *rec, fields: changes, earlier: updates, intent: store.Intent{
			ID: e.opt.NewID(), GoldenID: g.ID, System: m.System, Datatype: m.Datatype, Gen: cur.Gen, CreatedAt: now,
			RecordID: rec.ID, Fields: changes,
		}})
		return nil
	}

	if !m.Insert {
		return nil
	}
	if waiting(recs) {
		// A record of this golden record still waits for a reference:
		// inserting now would create a copy without it.
		s.done[g.ID] = false
		return nil
	}
	cur, err := e.cursor(ctx, cursors, m.System, m.Datatype)
	if err != nil {
		return err
	}
	if e.unread[m.Name()] || cur.Gen == 0 {
		// What the datatype holds now is not known: inserting could
		// duplicate a record a user just created there.
		s.wait(m, g, "waiting for a complete read of "+m.Name()+" before inserting", now)
		return nil
	}
	if len(mine) > 0 {
		if !e.settled(m, mine) {
			// An earlier insert may have happened: wait for a collect to
			// bring it back and link it before trying again.
			s.wait(m, g, "an earlier insert is not confirmed yet; waiting for a whole read of "+m.Name(), now)
			return nil
		}
		// A whole read since then did not link it. It may still have
		// brought it in: a record that could not be mapped or matched stays
		// unlinked, and inserting again would make a second one.
		made, err := e.collectedUnlinked(ctx, s, m, mine)
		if err != nil {
			return err
		}
		if made != "" {
			s.wait(m, g, fmt.Sprintf("an earlier insert seems to have created %s, which was read but could not be linked "+
				"(see its dead letter); waiting for it instead of inserting again", made), now)
			return nil
		}
		// Nothing holds what it sent: the insert did not happen.
		for _, in := range mine {
			s.batch.IntentsDone = append(s.batch.IntentsDone, in.ID)
		}
	}
	for f, v := range desired {
		if mapping.IsEmpty(v) {
			delete(desired, f)
		}
	}
	m.WithDefaults(desired)
	var lineIntents []store.Intent
	if m.Lines != nil && m.Lines.InsertField != "" {
		lines, ins, wait, err := e.inlineLines(ctx, m, g, cursors, now)
		if err != nil {
			return err
		}
		if wait != "" {
			s.wait(m, g, wait, now)
			return nil
		}
		desired[m.Lines.InsertField] = lines
		lineIntents = ins
	}
	s.writes = append(s.writes, write{g: g, m: m, op: "insert", fields: desired, lines: lineIntents, intent: store.Intent{
		ID: e.opt.NewID(), GoldenID: g.ID, System: m.System, Datatype: m.Datatype, Gen: cur.Gen, CreatedAt: now,
		Fingerprint: connector.Hash(desired), Fields: desired,
	}})
	return nil
}

// inlineLines maps out the lines of golden record g for an insert that
// carries them in the parent (m.Lines.InsertField), with an insert intent
// per line. wait says why the insert cannot be made yet: the record has no
// lines, the lines datatype was not read, or a line waits for a reference.
func (e *Engine) inlineLines(ctx context.Context, m *mapping.Mapping, g *store.Golden, cursors map[string]store.Cursor, now time.Time) (lines []any, intents []store.Intent, wait string, err error) {
	lm, ok := e.maps.Lookup(m.System, m.Lines.Datatype)
	if !ok {
		return nil, nil, "", fmt.Errorf("internal error: no mapping for the lines of %s", m.Name())
	}
	cur, err := e.cursor(ctx, cursors, lm.System, lm.Datatype)
	if err != nil {
		return nil, nil, "", err
	}
	if e.unread[lm.Name()] || cur.Gen == 0 {
		return nil, nil, "waiting for a complete read of " + lm.Name() + " before inserting with lines", nil
	}
	key, _ := keyValue(map[string]any{mapping.ParentProperty: g.ID}, []string{mapping.ParentProperty})
	hits, err := e.st.FindByKeys(ctx, lm.Canonical, mapping.ParentProperty, []string{key})
	if err != nil {
		return nil, nil, "", stErr(err)
	}
	found, err := e.st.GetGoldens(ctx, hits[key])
	if err != nil {
		return nil, nil, "", stErr(err)
	}
	var live []store.Golden
	for _, id := range sortedKeys(found) {
		l := found[id]
		if l.Deleted || l.Props[mapping.ParentProperty] != g.ID {
			continue
		}
		if takes, err := lm.Takes(l.Props); err != nil || !takes {
			continue
		}
		live = append(live, l)
	}
	if len(live) == 0 {
		return nil, nil, fmt.Sprintf("waiting for lines: %s creates a record only together with its lines (%s)", m.Name(), m.Lines.InsertField), nil
	}
	resolve, err := e.refResolver(ctx, []*mapping.Mapping{lm}, live, nil)
	if err != nil {
		return nil, nil, "", err
	}
	for i := range live {
		l := &live[i]
		out, unresolved, err := lm.Out(l.Props, resolve(m.System))
		if err != nil {
			return nil, nil, fmt.Sprintf("line %s cannot be mapped: %v", l.ID, err), nil
		}
		unresolved = slices.DeleteFunc(unresolved, func(p string) bool { return p == mapping.ParentProperty })
		if len(unresolved) > 0 {
			return nil, nil, fmt.Sprintf("line %s waits for %s to be linked in %s", l.ID, strings.Join(unresolved, ", "), m.System), nil
		}
		delete(out, m.Lines.ParentField)
		for f, v := range out {
			if mapping.IsEmpty(v) {
				delete(out, f)
			}
		}
		lines = append(lines, out)
		intents = append(intents, store.Intent{ID: e.opt.NewID(), GoldenID: l.ID, System: lm.System, Datatype: lm.Datatype,
			Gen: cur.Gen, CreatedAt: now, Fingerprint: connector.Hash(out), Fields: out})
	}
	return lines, intents, "", nil
}

// collectedUnlinked looks, among the records of the datatype collected but
// not linked (waiting to be merged, or parked because they could not be
// mapped or matched), for one that holds what one of the insert intents
// sent (see sentBy), and returns its id ("" when there is none). These
// records are few; they are loaded once per batch, and only when an insert
// is about to be made again.
func (e *Engine) collectedUnlinked(ctx context.Context, s *shareState, m *mapping.Mapping, ins []store.Intent) (string, error) {
	recs, ok := s.unlinked[m.Name()]
	if !ok {
		after := ""
		for {
			page, err := e.st.PendingRecords(ctx, m.System, m.Datatype, after, e.batchSize())
			if err != nil {
				return "", stErr(err)
			}
			recs = append(recs, page...)
			if len(page) < e.batchSize() {
				break
			}
			after = page[len(page)-1].ID
		}
		dls, err := e.st.DeadLetters(ctx, m.System, m.Datatype)
		if err != nil {
			return "", stErr(err)
		}
		var ids []string
		for _, dl := range dls {
			if dl.Stage == StageMap || dl.Stage == StageMerge {
				ids = append(ids, dl.Ref)
			}
		}
		if len(ids) > 0 {
			parked, err := e.st.GetRecords(ctx, m.System, m.Datatype, ids)
			if err != nil {
				return "", stErr(err)
			}
			for _, id := range sortedKeys(parked) {
				recs = append(recs, parked[id])
			}
		}
		recs = slices.DeleteFunc(recs, func(r store.Record) bool { return r.GoldenID != "" || r.Deleted })
		if s.unlinked == nil {
			s.unlinked = map[string][]store.Record{}
		}
		s.unlinked[m.Name()] = recs
	}
	for i := range recs {
		for _, in := range ins {
			if len(in.Fields) > 0 && sentBy(m, in, &recs[i]) {
				return recs[i].ID, nil
			}
		}
	}
	return "", nil
}

// waiting tells whether a linked record has a version not merged yet.
func waiting(recs []store.Record) bool {
	for _, r := range recs {
		if r.Pending && !r.Deleted {
			return true
		}
	}
	return false
}

// settled tells whether a listing of the datatype known to be whole has
// completed since every one of the intents was made: what they created has
// been seen and linked by then. A listing that merely completed is not
// enough: one cut short by an empty page completes too (ADR 18).
func (e *Engine) settled(m *mapping.Mapping, ins []store.Intent) bool {
	for _, in := range ins {
		if e.whole[m.Name()] <= in.Gen {
			return false
		}
	}
	return true
}

// bulkInsert sends the insert at s.writes[i], and the inserts into the same
// datatype after it, in one call when the connector takes several at once.
// Their outcomes are recorded one by one as the loop reaches them.
func (e *Engine) bulkInsert(ctx context.Context, s *shareState, i int) {
	w := s.writes[i]
	bi, ok := e.conns[w.m.System].(connector.BulkInserter)
	if !ok || w.op != "insert" || w.made != nil || e.down[w.m.System] != nil {
		return
	}
	var idx []int
	var fields []connector.Fields
	for j := i; j < len(s.writes) && len(idx) < connector.BulkSize; j++ {
		o := s.writes[j]
		if o.op == "insert" && o.m == w.m && o.made == nil {
			idx = append(idx, j)
			fields = append(fields, o.fields)
		}
	}
	if len(idx) < 2 {
		return
	}
	results := bi.InsertMany(ctx, w.m.Datatype, fields)
	for k, j := range idx {
		r := connector.InsertResult{Err: connector.Temporary(fmt.Errorf("insert %s: the bulk call gave no result for this record", w.m.Name()))}
		if k < len(results) {
			r = results[k]
		}
		s.writes[j].made = &r
	}
}

// execute makes one API call and records its outcome.
func (e *Engine) execute(ctx context.Context, s *shareState, w write, dl store.DeadLetter, now time.Time) error {
	if e.down[w.m.System] != nil && w.made == nil {
		// Found unavailable earlier in this cycle: not called, so nothing
		// was written; it waits, as for a spent call budget.
		for _, in := range append([]store.Intent{w.intent}, w.lines...) {
			if in.ID != "" {
				s.batch.IntentsDone = append(s.batch.IntentsDone, in.ID)
			}
		}
		s.throttled(w, unavailable(w), now)
		return nil
	}
	conn := e.conns[w.m.System]
	var err error
	switch w.op {
	case "insert":
		var got connector.Record
		if w.made != nil {
			got, err = w.made.Record, w.made.Err
		} else {
			got, err = conn.Insert(ctx, w.m.Datatype, w.fields)
		}
		if err == nil {
			if err := e.crash(PointShareAfterInsert); err != nil {
				return err
			}
			if got.Fields == nil {
				got.Fields = w.fields
			}
			rec := store.Record{Key: store.Key{System: w.m.System, Datatype: w.m.Datatype, ID: got.ID}, GoldenID: w.g.ID,
				Fields: got.Fields, Modified: got.Modified, Hash: connector.Hash(got.Fields)}
			rec.FieldTimes = writtenTimes(w.m, w.g, nil, nil, got.Fields, w.fields, got.Modified, now)
			rec.BasedOn = rec.Hash
			s.batch.Written = append(s.batch.Written, rec)
			s.batch.IntentsDone = append(s.batch.IntentsDone, w.intent.ID)
			s.rep.Inserted++
			detail := "created in " + w.m.Name() + " from the golden record; linked"
			if len(w.lines) > 0 {
				detail = fmt.Sprintf("created in %s from the golden record with %d lines; linked (the lines are linked when %s is next read)",
					w.m.Name(), len(w.lines), w.m.Lines.Datatype)
			}
			s.event(w, rec.Key, "inserted", detail, now)
		} else if !connector.IsTemporary(err) || connector.NotSent(err) {
			// The system refused it, or it was not made: nothing was created.
			s.batch.IntentsDone = append(s.batch.IntentsDone, w.intent.ID)
			for _, in := range w.lines {
				s.batch.IntentsDone = append(s.batch.IntentsDone, in.ID)
			}
		}
	case "update":
		var got connector.Record
		got, err = conn.Update(ctx, w.m.Datatype, w.rec.ID, w.fields, w.rec.Hash)
		if err == nil {
			if err := e.crash(PointShareAfterUpdate); err != nil {
				return err
			}
			fields := got.Fields
			if got.ID == "" || fields == nil {
				fields = make(map[string]any, len(w.rec.Fields)+len(w.fields))
				for k, v := range w.rec.Fields {
					fields[k] = v
				}
				for k, v := range w.fields {
					fields[k] = v
				}
			}
			rec := w.rec
			rec.Fields, rec.Hash = fields, connector.Hash(fields)
			rec.BasedOn, rec.Pending = rec.Hash, false
			if !got.Modified.IsZero() {
				rec.Modified = got.Modified
			}
			rec.FieldTimes = writtenTimes(w.m, w.g, w.rec.Fields, w.rec.FieldTimes, fields, w.fields, rec.Modified, now)
			s.batch.Written = append(s.batch.Written, rec)
			s.batch.IntentsDone = append(s.batch.IntentsDone, w.intent.ID)
			for _, in := range w.earlier {
				s.batch.IntentsDone = append(s.batch.IntentsDone, in.ID)
			}
			s.rep.Updated++
			s.event(w, rec.Key, "updated", "wrote "+strings.Join(sortedKeys(w.fields), ", "), now)
		} else if !connector.IsTemporary(err) || connector.NotSent(err) {
			s.batch.IntentsDone = append(s.batch.IntentsDone, w.intent.ID) // nothing was written
		}
		if errors.Is(err, connector.ErrConflict) {
			s.rep.Conflicts++
			s.done[w.g.ID] = false
			s.event(w, w.rec.Key, "conflict", "the record changed since it was read; skipped, its change is merged first", now)
			return nil
		}
	case "delete":
		err = conn.Delete(ctx, w.m.Datatype, w.rec.ID)
		if err == nil || errors.Is(err, connector.ErrNotFound) {
			if err := e.crash(PointShareAfterDelete); err != nil {
				return err
			}
			err = nil
			rec := tombstone(w.rec, now, now)
			rec.BasedOn, rec.Pending = rec.Hash, false
			s.batch.Written = append(s.batch.Written, rec)
			s.rep.Deleted++
			s.event(w, rec.Key, "deleted", "deleted because the golden record was deleted (delete policy propagate)", now)
		}
	}
	if connector.IsUnavailable(err) {
		// The system cannot be reached: not the record's fault either. It
		// is not called again in this cycle. An insert's intent stays open:
		// the call may have been carried out before the connection failed.
		if e.down[w.m.System] == nil {
			e.down[w.m.System] = err
			s.rep.Errors = append(s.rep.Errors, fmt.Errorf("share %s: %w; %s is not called again in this cycle", w.m.Name(), err, w.m.System))
			e.log.Warn("system unavailable; its writes wait for the next cycle", "system", w.m.System, "err", err)
		}
		s.throttled(w, unavailable(w), now)
		return nil
	}
	if connector.IsThrottled(err) {
		// The system's call budget is spent: not the record's fault, so no
		// attempt is counted and nothing is parked; later cycles retry.
		e.log.Info("write waits for the system's call budget", "system", w.m.System, "datatype", w.m.Datatype, "golden", w.g.ID, "err", err)
		s.throttled(w, fmt.Sprintf("%s %s waits for %s's call budget (rate limit or daily quota); retried without counting as a failure", w.op, w.m.Name(), w.m.System), now)
		return nil
	}
	if err != nil {
		s.fail(e, w.m, w.g, dl, fmt.Sprintf("%s %s: %v", w.op, w.m.Name(), err), !connector.IsTemporary(err), now)
		return nil
	}
	if dl.Attempts > 0 {
		s.batch.Cleared = append(s.batch.Cleared, dl)
	}
	return nil
}

// unavailable is the reason a write waits for its system to be reachable.
// It leaves out the error (in the cycle's report and the log), so that
// the history gets one line per outage, not one per cycle.
func unavailable(w write) string {
	return fmt.Sprintf("%s %s waits for %s to be reachable again; retried without counting as a failure", w.op, w.m.Name(), w.m.System)
}

// throttled records that a write waits for its system's call budget (or
// for the system to be reachable). The history gets one line per reason,
// not one per cycle.
func (s *shareState) throttled(w write, detail string, now time.Time) {
	s.done[w.g.ID] = false
	s.rep.Deferred++
	same := func(d store.DeadLetter) bool {
		return d.System == w.m.System && d.Datatype == w.m.Datatype && d.Ref == w.g.ID && d.Stage == StageWaitWrite
	}
	// A wait the plan cleared (it did not wait then) is set again.
	s.batch.Cleared = slices.DeleteFunc(s.batch.Cleared, same)
	s.batch.DeadLetters = append(s.batch.DeadLetters, store.DeadLetter{System: w.m.System, Datatype: w.m.Datatype, Ref: w.g.ID,
		Stage: StageWaitWrite, Reason: detail, Attempts: 1, First: now, Last: now})
	if prev := s.waits[w.m.Name()][w.g.ID]; prev.Attempts > 0 && prev.Reason == detail {
		return
	}
	s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: w.g.ID, Key: store.Key{System: w.m.System, Datatype: w.m.Datatype},
		Action: "deferred", Detail: detail})
}

func (s *shareState) event(w write, k store.Key, action, detail string, now time.Time) {
	s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: w.g.ID, Key: k, Action: action, Detail: detail})
}

// fail counts a failed write. Temporary failures are retried on later
// cycles until the retry limit parks them; permanent ones park at once.
// Either way the rest of the batch keeps flowing.
func (s *shareState) fail(e *Engine, m *mapping.Mapping, g *store.Golden, dl store.DeadLetter, reason string, permanent bool, now time.Time) {
	s.rep.Failed++
	if dl.Attempts == 0 || dl.Parked {
		dl = store.DeadLetter{System: m.System, Datatype: m.Datatype, Ref: g.ID, Stage: StageWrite, First: now}
	}
	dl.Attempts++
	dl.Reason, dl.Last = reason, now
	dl.Parked = permanent || dl.Attempts >= e.retryLimit()
	s.batch.DeadLetters = append(s.batch.DeadLetters, dl)
	action := "failed"
	if dl.Parked {
		action = "parked"
	} else {
		s.done[g.ID] = false
	}
	s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: g.ID, Key: store.Key{System: m.System, Datatype: m.Datatype},
		Action: action, Detail: fmt.Sprintf("%s (attempt %d of %d)", reason, dl.Attempts, e.retryLimit())})
}

// diff returns the desired fields that differ from the record's. An empty
// desired value never overwrites a value the system has. An amount the
// system keeps as text, or a date it keeps as a time, is the same value as
// the hub's number or date.
func diff(desired, current map[string]any) map[string]any { return diffMembers(desired, current, nil) }

// diffMembers is diff where the fields in byMember are objects the
// mapping fills member by member (rows of fields such as
// "billing_address.city"). Such an object is compared by the members the
// hub has values for only, and when one differs the system's object with
// those members changed is written: a system that replaces a nested object
// whole keeps the members Concord does not map, and one that merges it is
// not written again every cycle. (An object mapped whole, type object, is
// written whole.)
func diffMembers(desired, current map[string]any, byMember map[string]bool) map[string]any {
	var out map[string]any
	for f, v := range desired {
		d, members := v.(map[string]any)
		members = members && byMember[f]
		if members {
			if sameMembers(d, current[f]) {
				continue
			}
			if c, ok := current[f].(map[string]any); ok {
				v = overlay(c, d)
			}
		} else if same(v, current[f]) {
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		out[f] = v
	}
	return out
}

// same tells whether the system's value needs no write for the desired one.
func same(v, cur any) bool {
	return mapping.IsEmpty(v) || mapping.Equal(v, cur) || mapping.SameNumber(v, cur) || mapping.SameDate(v, cur)
}

// sameMembers tells whether the system's object holds every desired member.
func sameMembers(d map[string]any, cur any) bool {
	c, _ := cur.(map[string]any)
	for k, dv := range d {
		if dm, ok := dv.(map[string]any); ok {
			if !sameMembers(dm, c[k]) {
				return false
			}
		} else if !same(dv, c[k]) {
			return false
		}
	}
	return true
}

// overlay is the system's object with the desired members laid over it.
func overlay(cur, desired map[string]any) map[string]any {
	out := make(map[string]any, len(cur)+len(desired))
	for k, v := range cur {
		out[k] = v
	}
	for k, v := range desired {
		if mapping.IsEmpty(v) {
			continue
		}
		if d, ok := v.(map[string]any); ok {
			if c, ok := cur[k].(map[string]any); ok {
				v = overlay(c, d)
			}
		}
		out[k] = v
	}
	return out
}

// writtenTimes gives the fields of a record we wrote their times: a field
// we wrote carries the time of the golden value it came from (not the time
// of our write, which would make an echo look newer than a real edit made
// elsewhere in between); other fields keep their time or take the record's.
func writtenTimes(m *mapping.Mapping, g *store.Golden, oldFields map[string]any, oldTimes map[string]time.Time,
	fields, written map[string]any, mod, now time.Time) map[string]time.Time {
	if mod.IsZero() {
		mod = now
	}
	times := fieldTimes(oldFields, oldTimes, fields, mod, oldFields != nil)
	set := map[string]bool{}
	for _, r := range m.Rows {
		f := mapping.TopField(r.Field)
		if _, ok := written[f]; ok {
			// Members of one object written share its time: the latest of
			// the golden values written into it.
			if p, ok := g.Prov[r.Property]; ok && !p.Time.IsZero() && (!set[f] || p.Time.After(times[f])) {
				times[f] = p.Time
				set[f] = true
			}
		}
	}
	return times
}

func (e *Engine) cursor(ctx context.Context, cache map[string]store.Cursor, system, datatype string) (store.Cursor, error) {
	k := system + ":" + datatype
	if c, ok := cache[k]; ok {
		return c, nil
	}
	c, err := e.st.GetCursor(ctx, system, datatype)
	if err != nil {
		return c, stErr(err)
	}
	cache[k] = c
	return c, nil
}

// refResolver loads the links of every golden record the batch refers to
// and returns, per target system, a resolver from golden id to record id.
func (e *Engine) refResolver(ctx context.Context, outs []*mapping.Mapping, gs []store.Golden, before func(refs []string) error) (func(system string) mapping.Resolver, error) {
	want := map[string]bool{}
	for _, m := range outs {
		for _, r := range m.Rows {
			if r.Ref == "" || !r.Writes() {
				continue
			}
			for i := range gs {
				if v, ok := gs[i].Props[r.Property].(string); ok && v != "" {
					want[v] = true
				}
			}
		}
	}
	var linked map[string][]store.Record
	if len(want) > 0 {
		refs := sortedKeys(want)
		if before != nil {
			if err := before(refs); err != nil {
				return nil, err
			}
		}
		var err error
		if linked, err = e.st.RecordsForGoldens(ctx, refs); err != nil {
			return nil, stErr(err)
		}
	}
	return func(system string) mapping.Resolver {
		return func(datatype, goldenID string) (string, bool) {
			for _, r := range linked[goldenID] {
				if r.System == system && r.Datatype == datatype && !r.Deleted && !r.Excluded {
					return r.ID, true
				}
			}
			return "", false
		}
	}, nil
}
