package simulation

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Violation kinds. The tag opens every violation's text.
const (
	tagDuplicate  = "[P1 duplicate]"   // a system holds more than one record of an entity
	tagMissing    = "[P1 missing]"     // a system lacks a live entity it takes
	tagUnknown    = "[P1 unknown]"     // a record of no entity any user created
	tagNotDeleted = "[P1 not deleted]" // a deleted entity still has a record
	tagUnequal    = "[P2 unequal]"     // linked records differ under the mappings
	tagReference  = "[P2 reference]"   // a reference that points at no record of the system
	tagWinner     = "[P3 winner]"      // a property holds a value the policy does not allow
	tagLostUpdate = "[P3 lost update]" // a user edit was overwritten before the engine read it
	tagQuiesce    = "[quiescence]"     // the engine kept writing or reading after the users stopped
	tagEngine     = "[engine]"         // the engine failed in a way it must not
)

// edit is one user action's write of one property.
type edit struct {
	a          *action
	prop, val  string // canonical value; "" is empty
	raw        string // the field as written
	seen       bool   // the engine was given a version holding it
	lo, hi     time.Time
	endAt      time.Time // when a user changed the property again or deleted the record
	overridden bool      // a later user action changed it before the engine read it
	// restores is set when the edit put back the value the engine last
	// read from the record: to the engine the field did not change, so it
	// may date the value as early as it dated it before.
	restores bool
}

// oracle checks the systems' final state against the action log.
type oracle struct {
	u    *users
	tape *tape
	v    *view
	out  []string
	// notes explain, per entity, an allowance the oracle made for it; the
	// reports on the entity repeat them.
	notes map[entKey]string
}

func (o *oracle) report(tag string, format string, args ...any) {
	o.out = append(o.out, tag+" "+fmt.Sprintf(format, args...))
}

// check returns every violation of the promise in the systems' current
// state. Call it once the engine has quiesced.
func check(u *users, tp *tape) []string {
	o := &oracle{u: u, tape: tp, v: u.look(), notes: map[entKey]string{}}
	o.records()
	var keys []entKey
	for k := range u.entities {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].canon != keys[j].canon {
			return keys[i].canon > keys[j].canon // customers first
		}
		return keys[i].key < keys[j].key
	})
	for _, k := range keys {
		o.entity(u.entities[k])
	}
	return o.out
}

// records finds records no user made: without a key or of an unknown
// entity.
func (o *oracle) records() {
	for _, r := range o.v.all {
		switch {
		case r.key == "":
			o.report(tagUnknown, "%s holds %s with no %s: %s", r.dt.system, r.recKey(), keyProp[r.dt.canon], showFields(r.rec.Fields))
		case o.u.entities[entKey{r.dt.canon, r.key}] == nil:
			o.report(tagUnknown, "%s holds %s of %s, which no user created: %s", r.dt.system, r.recKey(), entKey{r.dt.canon, r.key}, showFields(r.rec.Fields))
		}
	}
}

func (o *oracle) entity(e *entity) {
	copies := o.v.byEnt[e.entKey]
	if e.deleted {
		o.deleted(e, copies)
		return
	}
	o.live(e, copies, nil)
}

// deleted checks a deleted entity: no system may hold it, unless the engine
// could take a surviving copy for a new entity that shares the key (see
// keptAsNew). Then the entity may be gone or present, and when present it
// is held to the promise of a live entity, judged on the records that
// still hold it; every copy the engine was given from before the deletion
// must be gone all the same.
func (o *oracle) deleted(e *entity, copies map[string][]liveRec) {
	k, ok := o.keptAsNew(e)
	if !ok {
		for _, dt := range datatypesOf(e.canon) {
			for _, r := range copies[dt.system] {
				o.report(tagNotDeleted, "%s was deleted by a user but %s still holds %s: %s\n%s",
					e.entKey, dt.system, r.recKey(), showFields(r.rec.Fields), o.history(e.entKey))
			}
		}
		return
	}
	if len(copies) == 0 {
		return // deleted everywhere: the other acceptable outcome
	}
	o.notes[e.entKey] = k.note
	alive := map[recKey]bool{}
	for _, dt := range datatypesOf(e.canon) {
		for _, r := range copies[dt.system] {
			alive[r.recKey()] = true
			if at, old := o.givenBy(r.recKey(), k.deletedAt); old {
				o.report(tagNotDeleted, "%s was deleted by a user and %s still holds %s, which the engine was given at %s, before the deletion: %s\n%s",
					e.entKey, dt.system, r.recKey(), stamp(at), showFields(r.rec.Fields), o.history(e.entKey))
			}
		}
	}
	// The records the engine deleted went with the deleted entity, and so
	// did the edits made to them (a delete wins over edits meanwhile): the
	// entity kept is judged on the records that still hold it.
	o.live(e, copies, func(rk recKey) bool { return alive[rk] })
}

// kept is why a deleted entity may live on as a new one.
type kept struct {
	deletedAt time.Time // the tombstone's time, as the engine was given it
	note      string
}

// keptAsNew tells whether the engine could take a surviving copy of a
// deleted entity for a new entity that shares its key.
//
// The engine deletes a copy it never linked only when it has evidence the
// copy existed before the deletion: a version of it dated no later than the
// tombstone it was given. A record a user made whose every version the
// engine was given is dated after that tombstone (made while its system
// could not be read, say, and edited after the delete before the engine
// first read it) carries no such evidence: it may be a record the user has
// just created, and deleting it would be destructive. Then "deleted" and
// "kept as a new entity" are both outcomes the engine could justify. The
// oracle works this out from the action log and the tape alone: the
// deletion counts from the first tombstone of the deleted record the
// engine was given (none given: no allowance); a record made by the engine
// never counts, since it is a copy of a golden record the engine had.
func (o *oracle) keptAsNew(e *entity) (kept, bool) {
	var del *action
	var made []*action
	for _, a := range o.u.log {
		if a.ent != e.entKey {
			continue
		}
		switch a.kind {
		case actDelete:
			del = a
		case actCreate:
			made = append(made, a)
		}
	}
	if del == nil {
		return kept{}, false
	}
	var k kept
	for _, v := range o.tape.versions(del.rec) {
		if v.deleted && (k.deletedAt.IsZero() || v.modified.Before(k.deletedAt)) {
			k.deletedAt = v.modified
		}
	}
	if k.deletedAt.IsZero() {
		return kept{}, false
	}
	var why []string
	for _, a := range made {
		if a.rec == del.rec {
			continue
		}
		vs := o.tape.versions(a.rec)
		if len(vs) == 0 {
			continue
		}
		if _, old := o.givenBy(a.rec, k.deletedAt); old {
			continue
		}
		first := vs[0].modified
		for _, v := range vs {
			if v.modified.Before(first) {
				first = v.modified
			}
		}
		why = append(why, fmt.Sprintf("every version of %s (made at %s) it was given is dated after that, the first %s", a.rec, stamp(a.at), stamp(first)))
	}
	if len(why) == 0 {
		return kept{}, false
	}
	k.note = fmt.Sprintf("  may live on as a new entity that shares the key: the engine was given the deletion of %s at %s, and %s\n",
		del.rec, stamp(k.deletedAt), strings.Join(why, "; "))
	return k, true
}

// givenBy tells whether the engine was given a version of a record dated
// no later than t, and the earliest such version's time.
func (o *oracle) givenBy(rk recKey, t time.Time) (time.Time, bool) {
	var first time.Time
	for _, v := range o.tape.versions(rk) {
		if !v.modified.After(t) && (first.IsZero() || v.modified.Before(first)) {
			first = v.modified
		}
	}
	return first, !first.IsZero()
}

// live checks an entity that must be present: one record in every system
// that takes it, equal under the mappings, holding the values the policy
// allows. keep, when set, names the records whose user actions count.
func (o *oracle) live(e *entity, copies map[string][]liveRec, keep func(recKey) bool) {
	var linked []liveRec // one per system that holds it
	for _, dt := range datatypesOf(e.canon) {
		rs := copies[dt.system]
		switch {
		case len(rs) == 0:
			o.report(tagMissing, "%s is not in %s (%s)\n%s", e.entKey, dt.system, dt.name, o.history(e.entKey))
			continue
		case len(rs) > 1:
			var ids []string
			for _, r := range rs {
				ids = append(ids, r.rec.ID+" "+showFields(r.rec.Fields))
			}
			o.report(tagDuplicate, "%s has %d records in %s: %s\n%s", e.entKey, len(rs), dt.system, strings.Join(ids, "; "), o.history(e.entKey))
		}
		linked = append(linked, rs[0])
	}
	if len(linked) == 0 {
		return
	}
	for _, prop := range editable[e.canon] {
		o.property(e, prop, linked, keep)
	}
}

// value reads a property of a live record canonically; a reference is read
// as the key of the record it points at in the same system.
func (o *oracle) value(r liveRec, prop string) (string, bool) {
	f := r.dt.fieldOf(prop)
	v := f.toProp(r.rec.Fields)
	if f.ref == "" || v == "" {
		return v, true
	}
	for _, c := range o.v.all {
		if c.dt.system == r.dt.system && c.dt.name == f.ref && c.rec.ID == v {
			return c.key, true
		}
	}
	return "", false
}

func (o *oracle) property(e *entity, prop string, linked []liveRec, keep func(recKey) bool) {
	vals := map[string]string{} // system → value
	var distinct []string
	for _, r := range linked {
		v, ok := o.value(r, prop)
		if !ok {
			f := r.dt.fieldOf(prop)
			o.report(tagReference, "%s: %s in %s holds %s %q, which is no live %s record of %s\n%s",
				e.entKey, prop, r.recKey(), f.name, f.toProp(r.rec.Fields), f.ref, r.dt.system, o.history(e.entKey))
			continue
		}
		vals[r.dt.system] = v
		if !slices.Contains(distinct, v) {
			distinct = append(distinct, v)
		}
	}
	if len(distinct) > 1 {
		o.report(tagUnequal, "%s: %s differs between systems: %s\n%s", e.entKey, prop, showValues(vals), o.history(e.entKey))
	}
	edits := o.edits(e.entKey, prop, keep)
	ok, why := allowed(edits)
	if o.tape.hasUncertain() {
		// Versions given in an attempt that crashed may have been lost
		// with it (a page whose commit was in flight): the values the
		// policy allows had the engine never been given them are allowed
		// too, and an edit counts as overwritten unread only if it is so
		// either way.
		o.tape.setDurableOnly(true)
		durable := o.edits(e.entKey, prop, keep)
		o.tape.setDurableOnly(false)
		more, _ := allowed(durable)
		for v := range more {
			ok[v] = true
		}
		lostBoth := map[int]bool{}
		for _, ed := range durable {
			if ed.lostTo != "" {
				lostBoth[ed.a.seq] = true
			}
		}
		for _, ed := range edits {
			if !lostBoth[ed.a.seq] {
				ed.lostTo = ""
			}
		}
	}
	var bad []string
	for _, v := range distinct {
		if !ok[v] {
			bad = append(bad, fmt.Sprintf("%q", v))
		}
	}
	if len(bad) > 0 {
		o.report(tagWinner, "%s: %s is %s (%s); the policy allows %s\n%s%s",
			e.entKey, prop, strings.Join(bad, ", "), showValues(vals), showAllowed(ok), why, o.history(e.entKey))
	}
	for _, ed := range edits {
		if ed.lostTo != "" {
			o.report(tagLostUpdate, "%s: %s edit %q in %s (#%d, %s) was overwritten %s before the engine read it\n%s",
				e.entKey, prop, ed.val, ed.a.rec, ed.a.seq, stamp(ed.a.at), ed.lostTo, o.history(e.entKey))
		}
	}
}

// propEdit is an edit with what the oracle worked out about it.
type propEdit struct {
	edit
	lostTo string // how it was lost, when it was
}

// edits lists the user edits of one property of an entity, in order, and
// works out for each when the engine could have seen it.
//
// The systems keep one modification time per record, not per field, so the
// engine can only date a value by the version it reads it in: an edit made
// at t and first read in a version written at t' (a later edit of another
// field of the same record) looks like an edit made at t'. The tape tells
// which versions the engine was given: lo is the earliest that holds the
// edit's value, hi the latest written by a user (a restart may forget a
// version it was given and read a later one). An edit that the user
// changed again before the engine read it is invisible to any engine.
//
// keep, when set, names the records whose actions count.
func (o *oracle) edits(ent entKey, prop string, keep func(recKey) bool) []*propEdit {
	var byRec = map[recKey][]*action{}
	var out []*propEdit
	for _, a := range o.u.log {
		if a.ent != ent || (keep != nil && !keep(a.rec)) {
			continue
		}
		byRec[a.rec] = append(byRec[a.rec], a)
		if v, ok := a.set[prop]; ok {
			f := a.dt.fieldOf(prop)
			out = append(out, &propEdit{edit: edit{a: a, prop: prop, val: v, raw: str(a.raw[f.name])}})
		}
	}
	for _, e := range out {
		o.place(e, byRec[e.a.rec])
	}
	return out
}

// place works out when the engine could have seen an edit, or how it was
// lost. later are the user actions on the edit's record, in order.
func (o *oracle) place(e *propEdit, onRec []*action) {
	f := e.a.dt.fieldOf(e.prop)
	userAt := map[time.Time]bool{}
	var after []*action // actions on the record after the edit, up to the next change of the field
	for _, a := range onRec {
		userAt[a.at] = true
		if a.seq <= e.a.seq || !e.endAt.IsZero() {
			continue
		}
		after = append(after, a)
		if _, sets := a.set[e.prop]; sets || a.kind == actDelete {
			e.endAt = a.at
		}
	}
	var prior *version // the last version the engine read before the edit
	vs := o.tape.versions(e.a.rec)
	for i := range vs {
		if vs[i].modified.Before(e.a.at) && (prior == nil || prior.modified.Before(vs[i].modified)) {
			prior = &vs[i]
		}
	}
	for _, v := range vs {
		if v.deleted || v.modified.Before(e.a.at) || (!e.endAt.IsZero() && !v.modified.Before(e.endAt)) || str(v.fields[f.name]) != e.raw {
			continue
		}
		if !e.seen || v.modified.Before(e.lo) {
			e.lo = v.modified
		}
		if !e.seen || (userAt[v.modified] && v.modified.After(e.hi)) {
			e.hi = v.modified
		}
		e.seen = true
	}
	if e.hi.Before(e.lo) {
		e.hi = e.lo
	}
	// An update of the engine's whose answer was lost, made after that
	// read: the engine cannot know whether it happened, so it may take the
	// value it wrote as what the record holds.
	var lost *version
	for _, w := range o.tape.lostWrites(e.a.rec) {
		if w.modified.Before(e.a.at) && (prior == nil || prior.modified.Before(w.modified)) && (lost == nil || lost.modified.Before(w.modified)) {
			lost = &w
		}
	}
	if lost != nil && str(lost.fields[f.name]) == e.raw {
		prior = lost
	}
	if prior != nil && !prior.deleted && str(prior.fields[f.name]) == e.raw {
		// The edit put back what the engine last read: to the engine the
		// field never changed (and a write based on that read is right to
		// go through), so it dates the value as it did before.
		e.restores, e.seen, e.lo = true, true, time.Time{}
		if e.hi.Before(prior.modified) {
			e.hi = prior.modified
		}
	}
	if e.seen || e.val == "" {
		return
	}
	// Never read: fine if a user changed it again first. Anything else
	// changing it means a write that was not based on it.
	for _, a := range after {
		if str(a.before[f.name]) != e.raw {
			e.lostTo = fmt.Sprintf("by a write (the record held %q when the user came back at #%d)", str(a.before[f.name]), a.seq)
			return
		}
	}
	if !e.endAt.IsZero() {
		e.overridden = true
		return
	}
	// Still the user's last word on this record: it must be there, or have
	// been read.
	for _, r := range o.v.all {
		if r.recKey() == e.a.rec {
			if str(r.rec.Fields[f.name]) != e.raw {
				e.lostTo = fmt.Sprintf("by a write (the record now holds %q)", str(r.rec.Fields[f.name]))
				return
			}
			// Never read but still there: judge it as read at its own time.
			e.seen, e.lo, e.hi = true, e.a.at, e.a.at
			return
		}
	}
	e.lostTo = "by a delete of the record"
}

// allowed returns the values the policy allows for a property, given its
// edits, and a note on the candidates. The most recent non-empty edit wins;
// an empty one never does. Because of how the engine can date values (see
// edits), another edit is allowed too when it could have looked more
// recent than every other edit the engine read.
func allowed(edits []*propEdit) (map[string]bool, string) {
	ok := map[string]bool{}
	var last *propEdit
	var cands []*propEdit
	for _, e := range edits {
		if e.val == "" {
			continue
		}
		last = e
		if e.seen {
			cands = append(cands, e)
		}
	}
	if last == nil {
		ok[""] = true
		return ok, ""
	}
	ok[last.val] = true
	if len(cands) == 0 {
		ok[""] = true
	}
	for _, e := range cands {
		wins := true
		for _, d := range cands {
			if d != e && d.val != e.val && !d.lo.Before(e.hi) {
				wins = false
				break
			}
		}
		if wins {
			ok[e.val] = true
		}
	}
	var b strings.Builder
	b.WriteString("  edits (non-empty; seen = the versions the engine was given that hold it):\n")
	for _, e := range edits {
		if e.val == "" {
			continue
		}
		seen := "never read"
		switch {
		case e.restores:
			seen = fmt.Sprintf("seen ..%s, restoring the value the engine last read there", stamp(e.hi))
		case e.seen:
			seen = fmt.Sprintf("seen %s..%s", stamp(e.lo), stamp(e.hi))
		case e.overridden:
			seen = "changed again before read"
		}
		fmt.Fprintf(&b, "    %q by #%d in %s at %s, %s\n", e.val, e.a.seq, e.a.rec, stamp(e.a.at), seen)
	}
	return ok, b.String()
}

func showValues(vals map[string]string) string {
	var parts []string
	for _, s := range systemNames {
		if v, ok := vals[s]; ok {
			parts = append(parts, fmt.Sprintf("%s=%q", s, v))
		}
	}
	return strings.Join(parts, " ")
}

func showAllowed(ok map[string]bool) string {
	var parts []string
	for v := range ok {
		parts = append(parts, fmt.Sprintf("%q", v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " or ")
}

// history lists the user actions on an entity.
func (o *oracle) history(k entKey) string {
	var b strings.Builder
	b.WriteString("  user actions on " + k.String() + ":\n")
	for _, a := range o.u.log {
		if a.ent == k {
			b.WriteString("    " + a.String() + "\n")
		}
	}
	b.WriteString(o.notes[k])
	return strings.TrimRight(b.String(), "\n")
}
