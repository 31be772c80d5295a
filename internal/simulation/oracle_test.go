package simulation

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
)

// world is a hand-played run for the oracle's tests: the memory systems,
// the users' log and the tape, with no engine. The test plays the engine
// by handing record versions to the tape and writing to the systems.
type world struct {
	t  *testing.T
	u  *users
	tp *tape
}

func newWorld(t *testing.T) *world {
	clock := NewClock(Epoch)
	tp := newTape(1)
	systems := map[string]*memory.System{}
	for _, name := range systemNames {
		s := memory.New(name, memory.Options{Clock: clock.Now, IDPrefix: name})
		for _, dt := range schema {
			if dt.system == name {
				var props []connector.Property
				for _, f := range dt.fields {
					props = append(props, connector.Property{Name: f.name, Type: "string"})
				}
				s.Declare(dt.name, props...)
			}
		}
		systems[name] = s
	}
	u := newUsers(rand.New(rand.NewPCG(1, 1)), clock, systems, tp, 10, 5, nil)
	return &world{t: t, u: u, tp: tp}
}

// create is a user creating customer code in a system with the given
// canonical values.
func (w *world) create(sys, code string, set map[string]string) recKey {
	ent := entKey{customer, code}
	if w.u.entities[ent] == nil {
		w.u.entities[ent] = &entity{entKey: ent, refBy: map[string]bool{}}
	}
	set["code"] = code
	w.u.create(datatypeIn(customer, sys), ent, set)
	return w.u.log[len(w.u.log)-1].rec
}

// edit is a user setting one property of a customer record.
func (w *world) edit(rk recKey, prop, val string) {
	dt := datatypeIn(customer, rk.system)
	before, ok := w.u.systems[rk.system].Lookup(rk.datatype, rk.id)
	if !ok {
		w.t.Fatalf("edit: no live %s", rk)
	}
	f := dt.fieldOf(prop)
	fields := connector.Fields{f.name: f.toField(val)}
	got := w.u.systems[rk.system].Edit(rk.datatype, rk.id, fields)
	w.u.record(&action{at: got.Modified, kind: actEdit, ent: entKey{customer, dt.key(before.Fields)}, dt: dt, rec: rk,
		set: map[string]string{prop: val}, raw: fields, before: before.Fields})
}

// userDelete is a user deleting a customer record.
func (w *world) userDelete(rk recKey) {
	dt := datatypeIn(customer, rk.system)
	before, _ := w.u.systems[rk.system].Lookup(rk.datatype, rk.id)
	ent := entKey{customer, dt.key(before.Fields)}
	at := w.u.clock.Now()
	w.u.systems[rk.system].Remove(rk.datatype, rk.id)
	w.u.entities[ent].deleted = true
	w.u.record(&action{at: at, kind: actDelete, ent: ent, dt: dt, rec: rk, before: before.Fields})
}

// give hands the engine the current version of a record (a tombstone
// included), as a listing would.
func (w *world) give(rk recKey) {
	p, err := w.u.systems[rk.system].List(context.Background(), rk.datatype, connector.ListRequest{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range p.Records {
		if r.ID == rk.id {
			w.tp.deliver(rk.system, rk.datatype, r, true)
			return
		}
	}
	w.t.Fatalf("give: %s is not listed", rk)
}

// engineInsert plays the engine inserting a copy of customer code with the
// given canonical values into a system; the tape sees the answer.
func (w *world) engineInsert(sys, code string, vals map[string]string) recKey {
	dt := datatypeIn(customer, sys)
	fields := connector.Fields{}
	for _, f := range dt.fields {
		v := vals[f.prop]
		if f.prop == "code" {
			v = code
		}
		if v != "" {
			fields[f.name] = f.toField(v)
		}
	}
	r, err := w.u.systems[sys].Insert(context.Background(), dt.name, fields)
	if err != nil {
		w.t.Fatal(err)
	}
	w.tp.deliver(sys, dt.name, r, false)
	return recKey{sys, dt.name, r.ID}
}

// engineUpdate plays the engine writing one property of a customer record;
// the tape sees the answer.
func (w *world) engineUpdate(rk recKey, prop, val string) {
	f := datatypeIn(customer, rk.system).fieldOf(prop)
	r, err := w.u.systems[rk.system].Update(context.Background(), rk.datatype, rk.id, connector.Fields{f.name: f.toField(val)}, "")
	if err != nil {
		w.t.Fatal(err)
	}
	w.tp.deliver(rk.system, rk.datatype, r, false)
}

func (w *world) engineDelete(rk recKey) {
	if err := w.u.systems[rk.system].Delete(context.Background(), rk.datatype, rk.id); err != nil {
		w.t.Fatal(err)
	}
}

// expect checks that the oracle reports exactly the violation kinds given.
func (w *world) expect(tags ...string) {
	w.t.Helper()
	got := check(w.u, w.tp)
	var kinds []string
	for _, v := range got {
		kinds = append(kinds, v[:strings.Index(v, "]")+1])
	}
	if strings.Join(kinds, " ") != strings.Join(tags, " ") {
		w.t.Fatalf("violations %v, want %v:\n%s", kinds, tags, strings.Join(got, "\n"))
	}
}

// TestDeletedEntityKeptAsNew covers the allowance for a copy the engine
// first reads after the deletion it was given (see oracle.keptAsNew).
//
// The story: K001 made in a and b; the engine reads a's copy, not b's (b
// cannot be read); a user deletes a's copy and the engine is given the
// tombstone; a user edits b's copy, which the engine then reads for the
// first time, in a version dated after the deletion.
func TestDeletedEntityKeptAsNew(t *testing.T) {
	// b's copy has no e-mail; a's had one, but it went with the deletion.
	vals := map[string]string{"name": "nb", "email": "", "city": "cb2"}
	story := func(t *testing.T, seenEarly bool) (*world, recKey) {
		w := newWorld(t)
		a1 := w.create("a", "K001", map[string]string{"name": "na", "email": "ea", "city": "ca"})
		b1 := w.create("b", "K001", map[string]string{"name": "nb", "email": "", "city": "cb"})
		w.give(a1)
		if seenEarly {
			w.give(b1)
		}
		w.userDelete(a1)
		w.give(a1)
		w.edit(b1, "city", "cb2")
		w.give(b1)
		return w, b1
	}
	t.Run("kept everywhere and consistent", func(t *testing.T) {
		w, _ := story(t, false)
		w.engineInsert("a", "K001", vals)
		w.engineInsert("c", "K001", vals)
		w.expect()
	})
	t.Run("deleted everywhere", func(t *testing.T) {
		w, b1 := story(t, false)
		w.engineDelete(b1)
		w.expect()
	})
	t.Run("left where it was", func(t *testing.T) {
		w, _ := story(t, false)
		w.expect(tagMissing, tagMissing)
	})
	t.Run("kept with unequal copies", func(t *testing.T) {
		w, _ := story(t, false)
		w.engineInsert("a", "K001", vals)
		w.engineInsert("c", "K001", map[string]string{"name": "nb", "city": "ca"})
		w.expect(tagUnequal, tagWinner)
	})
	t.Run("kept twice in a system", func(t *testing.T) {
		w, _ := story(t, false)
		w.engineInsert("a", "K001", vals)
		w.engineInsert("a", "K001", vals)
		w.engineInsert("c", "K001", vals)
		w.expect(tagDuplicate)
	})
	// The value of the deleted copy is not the kept entity's: it went with
	// the deletion.
	t.Run("kept with the deleted copy's value", func(t *testing.T) {
		w, b1 := story(t, false)
		old := map[string]string{"name": "na", "city": "cb2"}
		w.engineInsert("a", "K001", old)
		w.engineInsert("c", "K001", old)
		w.engineUpdate(b1, "name", "na")
		w.expect(tagWinner)
	})
	// The engine was given b's copy before the deletion: it is a copy of the
	// deleted entity and must go.
	t.Run("read before the deletion", func(t *testing.T) {
		w, _ := story(t, true)
		w.engineInsert("a", "K001", vals)
		w.engineInsert("c", "K001", vals)
		w.expect(tagNotDeleted, tagNotDeleted, tagNotDeleted)
	})
	// The allowance covers the copy read late, not a copy the engine had
	// before the deletion: the engine's own copy in c from then must go.
	t.Run("an older copy left over", func(t *testing.T) {
		w := newWorld(t)
		a1 := w.create("a", "K001", map[string]string{"name": "na", "email": "ea", "city": "ca"})
		b1 := w.create("b", "K001", map[string]string{"name": "nb", "email": "", "city": "cb"})
		w.give(a1)
		c1 := w.engineInsert("c", "K001", map[string]string{"name": "na", "email": "ea", "city": "ca"})
		w.userDelete(a1)
		w.give(a1)
		w.edit(b1, "city", "cb2")
		w.give(b1)
		w.engineInsert("a", "K001", vals)
		for _, p := range []string{"name", "email", "city"} {
			w.engineUpdate(c1, p, vals[p])
		}
		w.expect(tagNotDeleted)
	})
	// Without the tombstone the engine saw no dated deletion: no allowance.
	t.Run("deletion never read", func(t *testing.T) {
		w := newWorld(t)
		a1 := w.create("a", "K001", map[string]string{"name": "na", "email": "ea", "city": "ca"})
		b1 := w.create("b", "K001", map[string]string{"name": "nb", "email": "", "city": "cb"})
		w.give(a1)
		w.userDelete(a1)
		w.edit(b1, "city", "cb2")
		w.give(b1)
		w.engineInsert("a", "K001", vals)
		w.engineInsert("c", "K001", vals)
		w.expect(tagNotDeleted, tagNotDeleted, tagNotDeleted)
	})
	// A record the engine made after the deletion is no evidence of a new
	// entity: the engine made it from what it had.
	t.Run("only the engine's copies read late", func(t *testing.T) {
		w := newWorld(t)
		a1 := w.create("a", "K001", map[string]string{"name": "na", "email": "ea", "city": "ca"})
		w.give(a1)
		w.userDelete(a1)
		w.give(a1)
		w.engineInsert("b", "K001", vals)
		w.engineInsert("c", "K001", vals)
		w.expect(tagNotDeleted, tagNotDeleted)
	})
}
