package simulation

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
)

// Kinds of user action.
const (
	actCreate = "create"
	actEdit   = "edit"
	actDelete = "delete"
)

// emptyEditRate is the share of edits that blank a property.
const emptyEditRate = 0.15

// entKey names a real-world entity: its canonical type and merge key.
type entKey struct{ canon, key string }

func (k entKey) String() string { return k.canon + " " + k.key }

// action is one thing a user did in a system, as the log keeps it.
type action struct {
	seq   int
	at    time.Time // the record's Modified after the action (for a delete: just before it)
	kind  string
	ent   entKey
	dt    *datatype
	rec   recKey
	where string
	// set holds the canonical values written, by property: every property a
	// create gives (even as ""), the one property an edit changes. For a
	// reference it is the referenced entity's key.
	set map[string]string
	// raw holds the fields written; before the record's fields just before
	// an edit or delete.
	raw, before connector.Fields
}

// entity is what the log says about one entity.
type entity struct {
	entKey
	deleted bool
	// refBy lists the contacts that ever referenced this customer.
	refBy map[string]bool
}

// users plays the people who work in the three systems. Every action goes
// through the memory systems' user-side API and into the log.
type users struct {
	rng     *rand.Rand
	clock   *Clock
	systems map[string]*memory.System
	tape    *tape
	logf    func(format string, args ...any)

	log      []*action
	entities map[entKey]*entity
	fresh    int
	made     map[string]int // entities created, per canonical type
	budget   map[string]int // entities to create at most, per canonical type
	// codes remembers every customer record seen: record → customer code,
	// so that a reference can be read as the entity it points to.
	codes map[recKey]string
	where string // the round and moment, for the log
	// during is set while users act from inside a sync. They then create
	// an entity in one system only: created in two, the engine may have
	// read one system before the create and the other after it, and then
	// no engine can know that the record it inserts exists already.
	during bool
}

func newUsers(rng *rand.Rand, clock *Clock, systems map[string]*memory.System, tp *tape, customers, contacts int, logf func(string, ...any)) *users {
	return &users{
		rng: rng, clock: clock, systems: systems, tape: tp, logf: logf,
		entities: map[entKey]*entity{},
		made:     map[string]int{},
		budget:   map[string]int{customer: customers, contact: contacts},
		codes:    map[recKey]string{},
	}
}

// liveRec is one live record in a system.
type liveRec struct {
	dt  *datatype
	rec connector.Record
	key string
}

func (r liveRec) recKey() recKey { return recKey{r.dt.system, r.dt.name, r.rec.ID} }

// view is the live records of every system, by entity.
type view struct {
	all   []liveRec
	byEnt map[entKey]map[string][]liveRec // entity → system → records
}

// look reads every system's live records, as a user browsing them would.
func (u *users) look() *view {
	v := &view{byEnt: map[entKey]map[string][]liveRec{}}
	for _, dt := range schema {
		for _, r := range u.systems[dt.system].Records(dt.name) {
			lr := liveRec{dt: dt, rec: r, key: dt.key(r.Fields)}
			v.all = append(v.all, lr)
			if lr.key == "" {
				continue
			}
			if dt.canon == customer {
				u.codes[lr.recKey()] = lr.key
			}
			k := entKey{dt.canon, lr.key}
			if v.byEnt[k] == nil {
				v.byEnt[k] = map[string][]liveRec{}
			}
			v.byEnt[k][dt.system] = append(v.byEnt[k][dt.system], lr)
		}
	}
	return v
}

func (u *users) freshValue(prop string) string {
	u.fresh++
	return fmt.Sprintf("%s-%d", prop, u.fresh)
}

func (u *users) record(a *action) {
	a.seq = len(u.log) + 1
	a.where = u.where
	u.log = append(u.log, a)
	if u.logf != nil {
		u.logf("%s", a)
	}
}

func (a *action) String() string {
	s := fmt.Sprintf("#%d %s %s %s %s", a.seq, stamp(a.at), a.kind, a.rec, a.ent)
	switch a.kind {
	case actCreate:
		s += " " + showFields(a.raw)
	case actEdit:
		s += fmt.Sprintf(" %s (was %s)", showFields(a.raw), showFields(pick(a.before, a.raw)))
	}
	return s + " [" + a.where + "]"
}

// pick returns the fields of f named in like.
func pick(f, like connector.Fields) connector.Fields {
	out := connector.Fields{}
	for k := range like {
		out[k] = f[k]
	}
	return out
}

// stamp shows a logical time as milliseconds since the epoch.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "t=?"
	}
	return fmt.Sprintf("t=%d", t.Sub(Epoch).Milliseconds())
}

// act performs one random user action.
func (u *users) act() {
	r := u.rng.Float64()
	switch {
	case r < 0.20 && u.made[customer] < u.budget[customer]:
		u.createCustomer()
		return
	case r < 0.30 && u.made[contact] < u.budget[contact]:
		if u.createContact() {
			return
		}
	case r < 0.42:
		if u.editSame() {
			return
		}
	case r < 0.50:
		if u.deleteOne() {
			return
		}
	}
	if !u.editOne() && u.made[customer] < u.budget[customer] {
		u.createCustomer()
	}
}

// someSystems picks n distinct systems of the list.
func (u *users) someSystems(from []string, n int) []string {
	s := slices.Clone(from)
	u.rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	return s[:min(n, len(s))]
}

func (u *users) howMany(max int) int {
	if u.during {
		return 1
	}
	r := u.rng.Float64()
	switch {
	case r < 0.05 && max >= 3:
		return 3
	case r < 0.33 && max >= 2:
		return 2
	}
	return 1
}

// createCustomer creates a new customer in one system, or in two or three
// at once (each with its own values, as different people would type them).
func (u *users) createCustomer() {
	u.made[customer]++
	code := fmt.Sprintf("K%03d", u.made[customer])
	ent := entKey{customer, code}
	u.entities[ent] = &entity{entKey: ent, refBy: map[string]bool{}}
	for _, sys := range u.someSystems(systemNames, u.howMany(3)) {
		dt := datatypeIn(customer, sys)
		set := map[string]string{"code": code, "name": u.freshValue("name")}
		for _, p := range []string{"email", "city"} {
			switch r := u.rng.Float64(); {
			case r < 0.65:
				set[p] = u.freshValue(p)
			case r < 0.8:
				set[p] = ""
			}
		}
		u.create(dt, ent, set)
	}
}

// createContact creates a new contact, in a or b or both, referencing a
// customer that system holds.
func (u *users) createContact() bool {
	v := u.look()
	var systems []string
	refs := map[string]liveRec{}
	for _, sys := range u.someSystems([]string{"a", "b"}, u.howMany(2)) {
		if c, ok := u.someCustomer(v, sys, ""); ok {
			systems = append(systems, sys)
			refs[sys] = c
		}
	}
	if len(systems) == 0 {
		return false
	}
	u.made[contact]++
	email := fmt.Sprintf("p%03d@example.test", u.made[contact])
	ent := entKey{contact, email}
	u.entities[ent] = &entity{entKey: ent}
	for _, sys := range systems {
		dt := datatypeIn(contact, sys)
		set := map[string]string{"email": email, "first_name": u.freshValue("first"), "customer": refs[sys].key}
		if u.rng.Float64() < 0.7 {
			set["last_name"] = u.freshValue("last")
		}
		u.entities[entKey{customer, refs[sys].key}].refBy[email] = true
		u.create(dt, ent, set, refs[sys].rec.ID)
	}
	return true
}

// someCustomer picks a customer that is not deleted and has a live record
// in the system, other than the one with code not.
func (u *users) someCustomer(v *view, sys, not string) (liveRec, bool) {
	var out []liveRec
	for _, code := range u.keys(customer) {
		if code == not || u.entities[entKey{customer, code}].deleted {
			continue
		}
		if rs := v.byEnt[entKey{customer, code}][sys]; len(rs) > 0 {
			out = append(out, rs[0])
		}
	}
	if len(out) == 0 {
		return liveRec{}, false
	}
	return out[u.rng.IntN(len(out))], true
}

// keys lists the keys of the created entities of a type, sorted.
func (u *users) keys(canon string) []string {
	var out []string
	for k := range u.entities {
		if k.canon == canon {
			out = append(out, k.key)
		}
	}
	sort.Strings(out)
	return out
}

// create makes a record; refID is the record id a contact's customer field
// gets.
func (u *users) create(dt *datatype, ent entKey, set map[string]string, refID ...string) {
	raw := connector.Fields{}
	for _, f := range dt.fields {
		v, ok := set[f.prop]
		if !ok {
			continue
		}
		if f.ref != "" {
			raw[f.name] = refID[0]
			continue
		}
		raw[f.name] = f.toField(v)
	}
	r := u.systems[dt.system].Create(dt.name, raw)
	u.record(&action{at: r.Modified, kind: actCreate, ent: ent, dt: dt, rec: recKey{dt.system, dt.name, r.ID}, set: set, raw: raw})
}

// known returns the live records of created entities, in view order.
func (u *users) known(v *view) []liveRec {
	var out []liveRec
	for _, r := range v.all {
		if r.key != "" && u.entities[entKey{r.dt.canon, r.key}] != nil {
			out = append(out, r)
		}
	}
	return out
}

// editOne edits one property of a random record, deleted entities' records
// included while they are still there (a user who has not heard yet).
func (u *users) editOne() bool {
	v := u.look()
	rs := u.known(v)
	if len(rs) == 0 {
		return false
	}
	r := rs[u.rng.IntN(len(rs))]
	props := editable[r.dt.canon]
	return u.edit(v, r, props[u.rng.IntN(len(props))])
}

// editSame edits the same property of one entity in two systems, before
// the engine can see either edit.
func (u *users) editSame() bool {
	v := u.look()
	var ents []entKey
	for _, r := range u.known(v) {
		k := entKey{r.dt.canon, r.key}
		if !u.entities[k].deleted && len(v.byEnt[k]) >= 2 && !slices.Contains(ents, k) {
			ents = append(ents, k)
		}
	}
	if len(ents) == 0 {
		return false
	}
	k := ents[u.rng.IntN(len(ents))]
	var systems []string
	for _, dt := range datatypesOf(k.canon) {
		if len(v.byEnt[k][dt.system]) > 0 {
			systems = append(systems, dt.system)
		}
	}
	props := editable[k.canon]
	prop := props[u.rng.IntN(len(props))]
	done := false
	for _, sys := range u.someSystems(systems, 2) {
		done = u.edit(v, v.byEnt[k][sys][0], prop) || done
	}
	return done
}

// edit sets one property of a record to a fresh value, or sometimes to
// empty; never to the value it has.
func (u *users) edit(v *view, r liveRec, prop string) bool {
	f := r.dt.fieldOf(prop)
	cur := f.toProp(r.rec.Fields)
	var val string
	var raw any
	if f.ref != "" {
		c, ok := u.someCustomer(v, r.dt.system, u.codes[recKey{r.dt.system, f.ref, cur}])
		if !ok {
			return false
		}
		val, raw = c.key, c.rec.ID
		u.entities[entKey{customer, c.key}].refBy[r.key] = true
	} else {
		if cur != "" && u.rng.Float64() < emptyEditRate {
			val = ""
		} else {
			val = u.freshValue(prop)
		}
		raw = f.toField(val)
	}
	fields := connector.Fields{f.name: raw}
	got := u.systems[r.dt.system].Edit(r.dt.name, r.rec.ID, fields)
	if got.ID == "" {
		return false
	}
	u.record(&action{at: got.Modified, kind: actEdit, ent: entKey{r.dt.canon, r.key}, dt: r.dt, rec: r.recKey(),
		set: map[string]string{prop: val}, raw: fields, before: r.rec.Fields})
	return true
}

// deleteOne deletes an entity's record in one system. Only entities with
// exactly one live record in every system that takes them qualify, and
// customers only when no contact that is not deleted ever referenced them
// and no live contact record references them. The record deleted is one
// the engine has been given at least once, in a sync attempt that did not
// crash (tape.known): a record created and deleted before the engine ever
// read it (or read it only in an attempt whose commit a crash lost), while
// a copy made by another user lives on elsewhere, is a case the policy
// does not settle.
func (u *users) deleteOne() bool {
	v := u.look()
	var cands []entKey
	for _, canon := range []string{customer, contact} {
	next:
		for _, key := range u.keys(canon) {
			k := entKey{canon, key}
			if u.entities[k].deleted {
				continue
			}
			for _, dt := range datatypesOf(canon) {
				if len(v.byEnt[k][dt.system]) != 1 {
					continue next
				}
			}
			if canon == customer && u.referenced(v, k) {
				continue
			}
			cands = append(cands, k)
		}
	}
	if len(cands) == 0 {
		return false
	}
	k := cands[u.rng.IntN(len(cands))]
	var known []liveRec
	for _, dt := range datatypesOf(k.canon) {
		if r := v.byEnt[k][dt.system][0]; u.tape.known(r.recKey()) {
			known = append(known, r)
		}
	}
	if len(known) == 0 {
		return false
	}
	r := known[u.rng.IntN(len(known))]
	dt := r.dt
	at := u.clock.Now()
	u.systems[dt.system].Remove(dt.name, r.rec.ID)
	u.entities[k].deleted = true
	u.record(&action{at: at, kind: actDelete, ent: k, dt: dt, rec: r.recKey(), before: r.rec.Fields})
	return true
}

// referenced tells whether a customer may still be referenced: by a contact
// that is not deleted and ever pointed at it, or by a live contact record.
func (u *users) referenced(v *view, k entKey) bool {
	for email := range u.entities[k].refBy {
		if !u.entities[entKey{contact, email}].deleted {
			return true
		}
	}
	for _, r := range v.all {
		if r.dt.canon != contact {
			continue
		}
		f := r.dt.fieldOf("customer")
		if id := f.toProp(r.rec.Fields); id != "" && u.codes[recKey{r.dt.system, f.ref, id}] == k.key {
			return true
		}
	}
	return false
}
