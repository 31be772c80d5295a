package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/mapping"
	"github.com/concordsync/concord/internal/store"
)

// Dead-letter stages.
const (
	StageMap   = "map"   // the record could not be mapped in
	StageMerge = "merge" // the record could not be linked (ambiguous match)
	// StageWait marks a record waiting for a reference. It is never parked
	// and is not a failure; it keeps the history from repeating the wait
	// on every cycle.
	StageWait  = "wait"
	StageWrite = "write" // a write to the system failed (Ref is the golden id)
	// StageWaitWrite marks a golden record waiting before it can be written
	// to a datatype (Ref is the golden id); like StageWait, never parked.
	StageWaitWrite = "wait-write"
)

// merge merges the pending records of one mapping, batch by batch.
func (e *Engine) merge(ctx context.Context, m *mapping.Mapping) (Report, error) {
	var rep Report
	after := ""
	for {
		recs, err := e.st.PendingRecords(ctx, m.System, m.Datatype, after, e.batchSize())
		if err != nil {
			return rep, stErr(err)
		}
		if len(recs) == 0 {
			return rep, nil
		}
		r, err := e.mergeBatch(ctx, m, recs)
		rep.add(r)
		if err != nil {
			return rep, err
		}
		if len(recs) < e.batchSize() || e.stopping() {
			return rep, nil
		}
		after = recs[len(recs)-1].ID
	}
}

// mergeState is one merge batch in the making: the golden records it
// touched and the match keys they hold now, so that later records of the
// same batch see earlier ones.
type mergeState struct {
	typ      string
	criteria map[string][]string
	goldens  map[string]*store.Golden
	// keyHits holds, per criterion and value, golden ids known to the store
	// before the batch, plus the keys golden records took in the batch. A
	// hit is checked against the golden record's current properties, so
	// stale entries do no harm.
	keyHits map[string]map[string][]string
	// linkedIn holds, per golden id, the record of this system datatype it
	// is linked to.
	linkedIn map[string]string
	// matchedBy names, per record id, the merge criterion and value that
	// linked it in this batch, for the history.
	matchedBy map[string]string
	touched   map[string]bool
	created   map[string]bool // golden records created in this batch
	// loadedKeys are the match keys of the golden records read from the
	// store, as they were read (criterion name -> value).
	loadedKeys map[string]map[string]string
	// intents are the open insert intents of this system datatype, by
	// golden id: a record matching one is our own insert coming back.
	intents map[string][]store.Intent
	batch   store.MergeBatch
	rep     Report
}

func (e *Engine) mergeBatch(ctx context.Context, m *mapping.Mapping, recs []store.Record) (Report, error) {
	s, err := e.planMerge(ctx, m, recs, nil)
	if err != nil {
		return s.rep, err
	}
	if err := e.crash(PointMergeBatch); err != nil {
		return s.rep, err
	}
	if err := e.st.CommitMerge(ctx, s.batch); err != nil {
		return s.rep, stErr(err)
	}
	e.emit(s.batch.Events)
	return s.rep, nil
}

// planMerge computes the merge of a batch of records without storing it.
// before, when set, is called with the merge-key values the batch looks up
// (criterion name, NUL, value) before the golden records holding them are.
func (e *Engine) planMerge(ctx context.Context, m *mapping.Mapping, recs []store.Record, before func(keyValues map[string]bool) error) (*mergeState, error) {
	s := &mergeState{
		typ:      m.Canonical,
		criteria: e.maps.Criteria[m.Canonical],
		goldens:  map[string]*store.Golden{},
		keyHits:  map[string]map[string][]string{},
		linkedIn: map[string]string{},
		touched:  map[string]bool{},
		created:  map[string]bool{},

		loadedKeys: map[string]map[string]string{},
	}
	now := e.opt.Now()

	// Map every record in, translating references through links.
	inputs := make([]mapping.Input, len(recs))
	errs := make([]error, len(recs))
	for i, r := range recs {
		// A tombstone keeps its last content: its keys find the entity it
		// deletes when it was never linked.
		inputs[i], errs[i] = m.In(r.Fields, r.FieldTimes, r.Modified)
	}
	unresolved, err := e.translateRefs(ctx, m.System, inputs, errs)
	if err != nil {
		return s, err
	}
	if before != nil {
		values := map[string]bool{}
		for i, r := range recs {
			if r.GoldenID != "" || errs[i] != nil {
				continue
			}
			for _, crit := range m.Merge {
				if v, ok := keyValue(inputs[i].Props, crit); ok {
					values[mapping.CriterionName(crit)+"\x00"+v] = true
				}
			}
		}
		if err := before(values); err != nil {
			return s, err
		}
	}

	// Load what the batch needs from the store in a few round trips.
	if err := e.loadGoldens(ctx, s, recs); err != nil {
		return s, err
	}
	if err := e.loadKeyHits(ctx, s, m, recs, inputs, errs); err != nil {
		return s, err
	}
	dead, err := e.deadLettersFor(ctx, m, recs)
	if err != nil {
		return s, err
	}
	if err := e.loadIntents(ctx, s, m, recs); err != nil {
		return s, err
	}

	for i, r := range recs {
		src := Source{System: r.System, Datatype: r.Datatype, ID: r.ID}
		switch {
		case r.Deleted:
			e.mergeDelete(s, m, r, inputs[i], errs[i], now)
		case errs[i] != nil:
			e.failRecord(s, m, r, StageMap, errs[i].Error(), dead, now)
		case unresolved[i] != "":
			e.mergeDeferred(s, m, r, inputs[i], src, unresolved[i], dead, now)
		default:
			e.mergeRecord(s, m, r, inputs[i], src, dead, now)
		}
	}

	for id := range s.touched {
		g := s.goldens[id]
		g.Updated = now
		s.batch.Goldens = append(s.batch.Goldens, *g)
		if !s.created[id] {
			s.batch.KeysFor = append(s.batch.KeysFor, id) // a new one has no keys to replace
		}
		// A deleted golden record keeps its keys: older copies must find it.
		for name, v := range matchKeys(g.Props, s.criteria) {
			s.batch.Keys = append(s.batch.Keys, store.MatchKey{Type: s.typ, Name: name, Value: v, GoldenID: id})
		}
	}
	sort.Slice(s.batch.Goldens, func(i, j int) bool { return s.batch.Goldens[i].ID < s.batch.Goldens[j].ID })
	return s, nil
}

// mergeRecord merges one live record: into its linked golden record, or into
// the one its merge criteria match, or into a new golden record.
func (e *Engine) mergeRecord(s *mergeState, m *mapping.Mapping, r store.Record, in mapping.Input, src Source, dead map[string]store.DeadLetter, now time.Time) {
	link := r
	if r.GoldenID != "" {
		g := s.goldens[r.GoldenID]
		if g == nil || g.Deleted {
			s.batch.Links = append(s.batch.Links, link)
			s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: r.GoldenID, Key: r.Key, Action: "ignored",
				Detail: "the golden record was deleted; the change is not merged"})
			return
		}
		e.applyTo(s, m, g, r, in, src, now, "merged")
		s.batch.Links = append(s.batch.Links, link)
		e.clearDead(s, r, dead)
		return
	}

	g, own, reason := e.identify(s, m, r, in)
	if reason != "" {
		e.failRecord(s, m, r, StageMerge, reason, dead, now)
		return
	}
	if own {
		// Our own insert, whose link was never stored. The values it sent
		// came from the golden record, so they are no newer than what it
		// holds now; a value a user changed since is dated as collected.
		for _, it := range s.intents[g.ID] {
			for _, row := range m.Rows {
				if v, ok := it.Fields[row.Field]; ok && row.Reads() && mapping.Equal(r.Fields[row.Field], v) {
					in.Times[row.Property] = time.Time{}
				}
			}
		}
	}
	if g != nil && g.Deleted {
		link.GoldenID = g.ID
		s.linkedIn[g.ID] = r.ID
		g.Dirty = true // share deletes it where the policy says so
		s.touched[g.ID] = true
		s.batch.Links = append(s.batch.Links, link)
		detail := "a copy of a deleted golden record, older than its deletion; linked so that the deletion reaches it"
		if own {
			detail = "recognised as the record Concord inserted before its golden record was deleted"
		}
		s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: g.ID, Key: r.Key, Action: "matched", Detail: detail})
		return
	}
	action := "matched"
	if g == nil {
		if !m.Reads() {
			// An out-only datatype links to what the hub has; it does not
			// create golden records.
			s.batch.Links = append(s.batch.Links, link)
			return
		}
		g = &store.Golden{ID: e.opt.NewID(), Type: s.typ, Props: map[string]any{}, Prov: map[string]store.Provenance{}}
		s.goldens[g.ID] = g
		s.created[g.ID] = true
		action = "created"
		s.rep.Created++
	}
	link.GoldenID = g.ID
	s.linkedIn[g.ID] = r.ID
	e.applyTo(s, m, g, r, in, src, now, action)
	// A new link must be shared even when no property changed: the new
	// record may lack values the golden record has.
	g.Dirty = true
	s.touched[g.ID] = true
	s.index(g)
	s.batch.Links = append(s.batch.Links, link)
	e.clearDead(s, r, dead)
}

// mergeDeferred handles a record whose reference cannot be translated yet.
// It stays pending and is merged in full once the reference resolves. Its
// identity is settled now, though: when it is (or can be) linked, its other
// properties are merged and the link is stored, so that no one inserts a
// second copy of it into its own system meanwhile.
func (e *Engine) mergeDeferred(s *mergeState, m *mapping.Mapping, r store.Record, in mapping.Input, src Source, why string, dead map[string]store.DeadLetter, now time.Time) {
	s.rep.Deferred++
	if w, ok := dead[StageWait+"\x00"+r.ID]; !ok || w.Reason != why {
		s.batch.DeadLetters = append(s.batch.DeadLetters, store.DeadLetter{System: r.System, Datatype: r.Datatype, Ref: r.ID,
			Stage: StageWait, Reason: why, Attempts: 1, First: now, Last: now})
		s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: r.GoldenID, Key: r.Key, Action: "deferred",
			Detail: why + "; the record waits until it is linked"})
	}
	g := s.goldens[r.GoldenID]
	action := "merged"
	if r.GoldenID == "" {
		var reason string
		g, reason = e.match(s, m, r, in)
		if reason != "" || (g == nil && !m.Reads()) {
			return
		}
		if g == nil {
			// A new entity: its golden record holds what is known now, so a
			// value of this version is not lost if the record changes again
			// before the reference resolves. Sharing waits for it (see
			// waiting in share).
			g = &store.Golden{ID: e.opt.NewID(), Type: s.typ, Props: map[string]any{}, Prov: map[string]store.Provenance{}}
			s.goldens[g.ID] = g
			s.created[g.ID] = true
			s.rep.Created++
			action = "created"
		}
		s.linkedIn[g.ID] = r.ID
		g.Dirty = true
		s.touched[g.ID] = true
	}
	if g.Deleted {
		return
	}
	e.applyTo(s, m, g, r, in, src, now, action)
	s.index(g)
	link := r
	link.GoldenID = g.ID
	link.Hash = "" // link, but keep the version pending
	s.batch.Links = append(s.batch.Links, link)
}

// applyTo merges a record's properties into g and records the decision.
func (e *Engine) applyTo(s *mergeState, m *mapping.Mapping, g *store.Golden, r store.Record, in mapping.Input, src Source, now time.Time, action string) {
	s.rep.Merged++
	var decisions []store.PropDecision
	changed, refreshed := false, false
	if m.Reads() {
		decisions, changed, refreshed = mergeProps(g, m.ReadProps, in.Props, in.Times, src)
	}
	if refreshed {
		s.touched[g.ID] = true // store the newer provenance time
	}
	if changed {
		g.Dirty = true
		s.touched[g.ID] = true
		s.index(g)
	} else if overruled(decisions) && !g.Dirty {
		// The record now disagrees with the golden record (an older or empty
		// value lost): share again so that the record is put right.
		g.Dirty = true
		s.touched[g.ID] = true
	}
	if action == "merged" && len(decisions) == 0 {
		return // an echo or an unmapped change: nothing decided
	}
	if action == "created" {
		// Every property of a new golden record comes from this record; its
		// provenance says so, the history need not repeat it per property.
		decisions = nil
	}
	detail := describe(action, decisions)
	if by, ok := s.matchedBy[r.ID]; ok && action == "matched" {
		detail = strings.Replace(detail, "by merge criteria", "by merge criterion "+by, 1)
	}
	s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: g.ID, Key: r.Key, Action: action, Detail: detail, Props: decisions})
}

func overruled(ds []store.PropDecision) bool {
	for _, d := range ds {
		if d.Outcome == Lost || d.Outcome == Kept {
			return true
		}
	}
	return false
}

func describe(action string, ds []store.PropDecision) string {
	won := 0
	for _, d := range ds {
		if d.Outcome == Won {
			won++
		}
	}
	switch action {
	case "created":
		return "no existing golden record matched; created a new one"
	case "matched":
		return fmt.Sprintf("linked to an existing golden record by merge criteria; %d of %d properties won", won, len(ds))
	}
	return fmt.Sprintf("%d of %d changed properties won", won, len(ds))
}

// match finds the golden record an unlinked record belongs to by the
// mapping's merge criteria, tried in order. It returns a reason instead of
// guessing when the match is ambiguous.
//
// A match on a later criterion is vetoed when an earlier one has values on
// both sides that differ: two customers with different codes are different
// customers even if they share an e-mail address.
func (e *Engine) match(s *mergeState, m *mapping.Mapping, r store.Record, in mapping.Input) (*store.Golden, string) {
	for ci, crit := range m.Merge {
		name := mapping.CriterionName(crit)
		val, ok := keyValue(in.Props, crit)
		if !ok {
			continue // an empty key never matches
		}
		var cands []string
		for _, id := range s.candidates(name, val) {
			g := s.goldens[id]
			if g == nil || (g.Deleted && !predates(r, g)) {
				continue
			}
			if v, ok := keyValue(g.Props, crit); !ok || v != val {
				continue // the golden record's key changed in this batch
			}
			if vetoed(m.Merge[:ci], in.Props, g.Props) {
				continue
			}
			if other, ok := s.linkedIn[id]; ok && other != r.ID && m.Repeats {
				continue // another line for the same product: this one is new
			}
			cands = append(cands, id)
		}
		switch len(cands) {
		case 0:
			continue
		case 1:
			if other, ok := s.linkedIn[cands[0]]; ok && other != r.ID {
				return nil, fmt.Sprintf("merge criterion %s = %q matches golden record %s, which is already linked to %s:%s %s; not linked (a duplicate in this system?)",
					name, strings.ReplaceAll(val, "\x1f", ", "), cands[0], r.System, r.Datatype, other)
			}
			if s.matchedBy == nil {
				s.matchedBy = map[string]string{}
			}
			s.matchedBy[r.ID] = fmt.Sprintf("%s = %q", name, strings.ReplaceAll(val, "\x1f", ", "))
			return s.goldens[cands[0]], ""
		default:
			sort.Strings(cands)
			return nil, fmt.Sprintf("merge criterion %s = %q matches %d golden records (%s); not guessed",
				name, strings.ReplaceAll(val, "\x1f", ", "), len(cands), strings.Join(cands, ", "))
		}
	}
	return nil, ""
}

// identify finds the golden record of an unlinked record: first an open
// insert intent of ours it matches (the answer to an insert was lost, or we
// crashed before storing the link), then the merge criteria. own reports an
// intent match, or a criteria match with a golden record that has an open
// intent here.
func (e *Engine) identify(s *mergeState, m *mapping.Mapping, r store.Record, in mapping.Input) (g *store.Golden, own bool, reason string) {
	if len(s.intents) > 0 {
		// A record that holds what an intent sent (or its golden record's
		// content) and has its merge key is ours before one that has
		// either only: the lines of one order that an insert carried
		// (ADR 5) share their key when they are for the same product, and
		// lines of another order may hold the same values.
		var exact, loose []string
		h := connector.Hash(r.Fields)
		for _, gid := range sortedKeys(s.intents) {
			if _, linked := s.linkedIn[gid]; linked {
				continue
			}
			cand := s.goldens[gid]
			if cand == nil {
				continue
			}
			content, keys := false, false
			for _, it := range s.intents[gid] {
				content = content || it.Fingerprint == h
			}
			content = content || contentMatches(m, cand, r.Fields)
			keys = keysMatch(m.Merge, in.Props, cand.Props)
			switch {
			case content && (keys || len(m.Merge) == 0):
				exact = append(exact, gid)
			case content || keys:
				loose = append(loose, gid)
			}
		}
		hits := exact
		if len(hits) == 0 {
			hits = loose
		}
		if len(hits) > 1 && m.Repeats && len(exact) > 1 && sameContent(s, exact) {
			// Lines alike in every value (two equal lines of one order):
			// whichever is linked first, the other is linked next.
			hits = hits[:1]
		}
		switch len(hits) {
		case 1:
			return s.goldens[hits[0]], true, ""
		case 0:
		default:
			return nil, false, fmt.Sprintf("matches %d inserts Concord made whose answers were lost (golden records %s); not guessed",
				len(hits), strings.Join(hits, ", "))
		}
	}
	g, reason = e.match(s, m, r, in)
	if g != nil && len(s.intents[g.ID]) > 0 {
		own = true
	}
	return g, own, reason
}

// sameContent tells whether golden records hold the same values.
func sameContent(s *mergeState, ids []string) bool {
	for _, id := range ids[1:] {
		a, b := s.goldens[ids[0]].Props, s.goldens[id].Props
		if len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if !mapping.Equal(v, b[k]) {
				return false
			}
		}
	}
	return true
}

// keysMatch tells whether some merge criterion has equal, non-empty values
// on both sides (and no earlier one differs): for a record that may be our
// own insert, later edited by a user, so that its content no longer matches.
func keysMatch(criteria [][]string, props, golden map[string]any) bool {
	for i, c := range criteria {
		a, okA := keyValue(props, c)
		b, okB := keyValue(golden, c)
		if okA && okB && a == b {
			return !vetoed(criteria[:i], props, golden)
		}
	}
	return false
}

// contentMatches tells whether a record holds what the mapping would write
// for a golden record (every non-empty field equal).
func contentMatches(m *mapping.Mapping, g *store.Golden, fields map[string]any) bool {
	desired, _, err := m.Out(g.Props, func(string, string) (string, bool) { return "", false })
	if err != nil {
		return false
	}
	n := 0
	for f, v := range desired {
		if mapping.IsEmpty(v) {
			continue
		}
		if !mapping.Equal(v, fields[f]) {
			return false
		}
		n++
	}
	return n > 0
}

// loadIntents loads the open intents of the batch's datatype and the golden
// records they are for.
func (e *Engine) loadIntents(ctx context.Context, s *mergeState, m *mapping.Mapping, recs []store.Record) error {
	unlinked := false
	for _, r := range recs {
		if r.GoldenID == "" {
			unlinked = true
			break
		}
	}
	if !unlinked {
		return nil
	}
	ins, err := e.st.OpenIntents(ctx, m.System, m.Datatype)
	if err != nil || len(ins) == 0 {
		return stErr(err)
	}
	s.intents = map[string][]store.Intent{}
	var ids []string
	for _, in := range ins {
		if in.RecordID != "" {
			continue // an update's intent: nothing to recognise here
		}
		if s.intents[in.GoldenID] == nil {
			ids = append(ids, in.GoldenID)
		}
		s.intents[in.GoldenID] = append(s.intents[in.GoldenID], in)
	}
	if len(ids) == 0 {
		s.intents = nil
		return nil
	}
	return e.addCandidates(ctx, s, m, ids)
}

// DeletedProp is the provenance key under which a golden record keeps who
// deleted it, and when.
const DeletedProp = "_deleted"

// predates tells whether a record was last modified before its would-be
// golden record was deleted: then it is a copy of the deleted entity that
// was never linked (created while a system could not be read, say), not a
// new entity that happens to share its key.
//
// A record's oldest field time tells when it existed at the latest: a copy
// edited after the deletion still has fields from before it.
func predates(r store.Record, g *store.Golden) bool {
	del, ok := g.Prov[DeletedProp]
	if !ok {
		return false
	}
	oldest := r.Modified
	for _, t := range r.FieldTimes {
		if !t.IsZero() && t.Before(oldest) {
			oldest = t
		}
	}
	return !oldest.IsZero() && !oldest.After(del.Time)
}

// vetoed tells whether an earlier criterion has values on both sides that differ.
func vetoed(earlier [][]string, props, golden map[string]any) bool {
	for _, c := range earlier {
		a, okA := keyValue(props, c)
		b, okB := keyValue(golden, c)
		if okA && okB && a != b {
			return true
		}
	}
	return false
}

// candidates lists golden ids that may hold a key value.
func (s *mergeState) candidates(name, val string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range s.keyHits[name][val] {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// index makes a golden record's current keys visible to the rest of the batch.
func (s *mergeState) index(g *store.Golden) {
	for name, v := range matchKeys(g.Props, s.criteria) {
		byVal := s.keyHits[name]
		if byVal == nil {
			byVal = map[string][]string{}
			s.keyHits[name] = byVal
		}
		byVal[v] = append(byVal[v], g.ID)
	}
}

// mergeDelete applies the mapping's delete policy to a tombstone.
func (e *Engine) mergeDelete(s *mergeState, m *mapping.Mapping, r store.Record, in mapping.Input, inErr error, now time.Time) {
	if r.GoldenID == "" && len(r.Fields) > 0 {
		// Deleted before it was linked: a record we inserted, or a copy of
		// an entity the hub knows (or will know) by its merge keys.
		if inErr == nil {
			if g, _, reason := e.identify(s, m, r, in); g != nil && reason == "" {
				r.GoldenID = g.ID
				s.linkedIn[g.ID] = r.ID
			} else if m.Delete == mapping.DeletePropagate && len(matchKeys(in.Props, s.criteria)) > 0 {
				// Remember the deleted entity as a deleted golden record with
				// its keys, so that copies of it found later (older than the
				// deletion) are linked to it and deleted, not re-created.
				g := &store.Golden{ID: e.opt.NewID(), Type: s.typ, Props: in.Props, Deleted: true,
					Prov: map[string]store.Provenance{DeletedProp: {System: r.System, Datatype: r.Datatype, ID: r.ID, Time: r.Modified}}}
				s.goldens[g.ID] = g
				s.created[g.ID] = true
				s.touched[g.ID] = true
				s.index(g)
				r.GoldenID = g.ID
				s.linkedIn[g.ID] = r.ID
				s.batch.Links = append(s.batch.Links, r)
				s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: g.ID, Key: r.Key, Action: "deleted",
					Detail: "deleted before it was linked; kept as a deleted golden record so that older copies elsewhere are deleted too"})
				return
			}
		}
	}
	link := r
	s.batch.Links = append(s.batch.Links, link)
	if r.GoldenID == "" {
		return
	}
	ev := store.Event{At: now, GoldenID: r.GoldenID, Key: r.Key, Action: "deleted"}
	switch m.Delete {
	case mapping.DeleteUnlink:
		s.batch.Links[len(s.batch.Links)-1].Excluded = true
		ev.Action, ev.Detail = "unlinked", "deleted in the system; delete policy unlink: the link is cut, the golden record stays and is not re-created here"
	case mapping.DeletePropagate:
		g := s.goldens[r.GoldenID]
		if g != nil && !g.Deleted {
			g.Deleted, g.Dirty = true, true
			if g.Prov == nil {
				g.Prov = map[string]store.Provenance{}
			}
			g.Prov[DeletedProp] = store.Provenance{System: r.System, Datatype: r.Datatype, ID: r.ID, Time: r.Modified}
			s.touched[g.ID] = true
		}
		ev.Detail = "deleted in the system; delete policy propagate: the golden record is deleted and so are its linked records where the policy allows"
	default:
		ev.Detail = "deleted in the system; delete policy ignore: nothing propagates and the record is not re-created"
	}
	s.batch.Events = append(s.batch.Events, ev)
}

// failRecord counts a failed attempt for a record; once the retry limit is
// reached it is parked as a dead letter and no longer retried until a new
// version arrives.
func (e *Engine) failRecord(s *mergeState, m *mapping.Mapping, r store.Record, stage, reason string, dead map[string]store.DeadLetter, now time.Time) {
	s.rep.Failed++
	dl := dead[stage+"\x00"+r.ID]
	if dl.Attempts == 0 {
		dl = store.DeadLetter{System: r.System, Datatype: r.Datatype, Ref: r.ID, Stage: stage, First: now}
	}
	dl.Attempts++
	dl.Reason, dl.Last = reason, now
	dl.Parked = dl.Attempts >= e.retryLimit() || stage == StageMap
	s.batch.DeadLetters = append(s.batch.DeadLetters, dl)
	action := "failed"
	if dl.Parked {
		action = "parked"
		// Parked: stop retrying this version; a new version is merged afresh.
		s.batch.Links = append(s.batch.Links, r)
	}
	s.batch.Events = append(s.batch.Events, store.Event{At: now, GoldenID: r.GoldenID, Key: r.Key, Action: action,
		Detail: fmt.Sprintf("%s (attempt %d of %d)", reason, dl.Attempts, e.retryLimit())})
}

func (e *Engine) clearDead(s *mergeState, r store.Record, dead map[string]store.DeadLetter) {
	for _, stage := range []string{StageMap, StageMerge, StageWait} {
		if dl, ok := dead[stage+"\x00"+r.ID]; ok {
			s.batch.Cleared = append(s.batch.Cleared, dl)
		}
	}
}

// translateRefs replaces reference ids in the inputs by golden ids. It
// returns, per record, why it has to wait ("" when it does not).
func (e *Engine) translateRefs(ctx context.Context, system string, inputs []mapping.Input, errs []error) ([]string, error) {
	unresolved := make([]string, len(inputs))
	want := map[string]map[string]bool{} // datatype -> ids
	for i, in := range inputs {
		if errs[i] != nil {
			continue
		}
		for _, ref := range in.Refs {
			if want[ref.Datatype] == nil {
				want[ref.Datatype] = map[string]bool{}
			}
			want[ref.Datatype][ref.ID] = true
		}
	}
	found := map[string]map[string]store.Record{}
	for dt, idset := range want {
		recs, err := e.st.GetRecords(ctx, system, dt, sortedKeys(idset))
		if err != nil {
			return nil, stErr(err)
		}
		found[dt] = recs
	}
	for i, in := range inputs {
		if errs[i] != nil {
			continue
		}
		for _, prop := range sortedKeys(in.Refs) {
			ref := in.Refs[prop]
			rec, ok := found[ref.Datatype][ref.ID]
			if !ok || rec.GoldenID == "" || rec.Excluded {
				if unresolved[i] == "" {
					unresolved[i] = fmt.Sprintf("%s refers to %s:%s %s, which is not linked yet", prop, system, ref.Datatype, ref.ID)
				}
				delete(in.Props, prop)
				delete(in.Times, prop)
				continue
			}
			in.Props[prop] = rec.GoldenID
		}
	}
	return unresolved, nil
}

func (e *Engine) loadGoldens(ctx context.Context, s *mergeState, recs []store.Record) error {
	var ids []string
	for _, r := range recs {
		if r.GoldenID != "" {
			ids = append(ids, r.GoldenID)
		}
	}
	return e.addGoldens(ctx, s, ids)
}

func (e *Engine) addGoldens(ctx context.Context, s *mergeState, ids []string) error {
	var need []string
	for _, id := range ids {
		if _, ok := s.goldens[id]; !ok {
			need = append(need, id)
		}
	}
	if len(need) == 0 {
		return nil
	}
	gs, err := e.st.GetGoldens(ctx, need)
	if err != nil {
		return stErr(err)
	}
	for id, g := range gs {
		g := g
		s.goldens[id] = &g
		s.loadedKeys[id] = matchKeys(g.Props, s.criteria)
	}
	return nil
}

// affectedKeys lists the match keys the batch adds or removes, as
// criterion name, NUL, value: the keys it stores, and those the golden
// records it stores held when they were read.
func (s *mergeState) affectedKeys() map[string]bool {
	out := map[string]bool{}
	for _, k := range s.batch.Keys {
		out[k.Name+"\x00"+k.Value] = true
	}
	for _, g := range s.batch.Goldens {
		for name, v := range s.loadedKeys[g.ID] {
			out[name+"\x00"+v] = true
		}
	}
	return out
}

// loadKeyHits looks up, for every unlinked record, the golden records that
// hold its merge-key values, and which of them are already linked in this
// system datatype.
func (e *Engine) loadKeyHits(ctx context.Context, s *mergeState, m *mapping.Mapping, recs []store.Record, inputs []mapping.Input, errs []error) error {
	if len(m.Merge) == 0 {
		return nil
	}
	values := map[string]map[string]bool{}
	for i, r := range recs {
		if r.GoldenID != "" || errs[i] != nil {
			continue
		}
		for _, crit := range m.Merge {
			if v, ok := keyValue(inputs[i].Props, crit); ok {
				name := mapping.CriterionName(crit)
				if values[name] == nil {
					values[name] = map[string]bool{}
				}
				values[name][v] = true
			}
		}
	}
	var ids []string
	for name, vs := range values {
		hits, err := e.st.FindByKeys(ctx, s.typ, name, sortedKeys(vs))
		if err != nil {
			return stErr(err)
		}
		s.keyHits[name] = hits
		for _, gids := range hits {
			ids = append(ids, gids...)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return e.addCandidates(ctx, s, m, ids)
}

// addCandidates loads golden records a batch may link to, and which record
// of the mapping's datatype each is already linked to.
func (e *Engine) addCandidates(ctx context.Context, s *mergeState, m *mapping.Mapping, ids []string) error {
	if err := e.addGoldens(ctx, s, ids); err != nil {
		return err
	}
	linked, err := e.st.LinkedIDs(ctx, m.System, m.Datatype, ids)
	if err != nil {
		return stErr(err)
	}
	for gid, rids := range linked {
		s.linkedIn[gid] = rids[len(rids)-1]
	}
	return nil
}

func (e *Engine) deadLettersFor(ctx context.Context, m *mapping.Mapping, recs []store.Record) (map[string]store.DeadLetter, error) {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	out := map[string]store.DeadLetter{}
	for _, stage := range []string{StageMap, StageMerge, StageWait} {
		dls, err := e.st.GetDeadLetters(ctx, m.System, m.Datatype, stage, ids)
		if err != nil {
			return nil, stErr(err)
		}
		for ref, dl := range dls {
			out[stage+"\x00"+ref] = dl
		}
	}
	return out, nil
}

func (e *Engine) emit(evs []store.Event) {
	if e.opt.OnEvent == nil {
		return
	}
	for _, ev := range evs {
		e.opt.OnEvent(ev)
	}
}
