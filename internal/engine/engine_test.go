package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
	"github.com/concordsync/concord/internal/store"
	"github.com/concordsync/concord/internal/store/memstore"
)

// world is a small hub: memory systems, an in-memory store and an engine,
// sharing one logical clock so tests are deterministic.
type world struct {
	t     *testing.T
	cfg   *config.Config
	st    store.Store
	sys   map[string]*memory.System
	eng   *Engine
	clock time.Time
	ids   int
	crash func(point string) error
	// wrap, when set for a system, puts a connector of the test's own in
	// front of its memory system.
	wrap map[string]func(*memory.System) connector.Connector
}

const customersYAML = `
systems:
  a: {kind: memory}
  b: {kind: memory}
mappings:
  - system: a
    datatype: customers
    canonical: customer
    merge: [[code], [email]]
    delete: %s
    properties:
      - {field: code, property: code}
      - {field: name, property: name}
      - {field: email, property: email}
  - system: b
    datatype: Accounts
    canonical: customer
    merge: [[code], [email]]
    delete: %s
    properties:
      - {field: Code, property: code}
      - {field: Name, property: name}
      - {field: Email, property: email}
`

func newWorld(t *testing.T, yaml string) *world {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	w := &world{t: t, cfg: cfg, st: memstore.New(), sys: map[string]*memory.System{}, clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for name := range cfg.Systems {
		w.sys[name] = memory.New(name, memory.Options{Clock: w.now, PageSize: 7})
	}
	w.restart()
	return w
}

func (w *world) now() time.Time { w.clock = w.clock.Add(time.Millisecond); return w.clock }

// restart builds a new engine on the same store and systems, as a process
// restart after a crash would.
func (w *world) restart() {
	conns := map[string]connector.Connector{}
	for n, s := range w.sys {
		conns[n] = s
		if f := w.wrap[n]; f != nil {
			conns[n] = f(s)
		}
	}
	eng, err := New(w.cfg, w.st, conns, Options{Now: w.now, NewID: func() string { w.ids++; return fmt.Sprintf("g%d", w.ids) },
		Crash: func(p string) error {
			if w.crash != nil {
				return w.crash(p)
			}
			return nil
		}})
	if err != nil {
		w.t.Fatal(err)
	}
	w.eng = eng
}

func (w *world) sync() Report {
	w.t.Helper()
	rep, err := w.eng.SyncOnce(context.Background())
	if err != nil {
		w.t.Fatalf("sync: %v", err)
	}
	return rep
}

// settle syncs until a cycle writes nothing.
func (w *world) settle() {
	w.t.Helper()
	for i := 0; i < 6; i++ {
		if rep := w.sync(); rep.Writes() == 0 && rep.Collected == 0 {
			return
		}
	}
	w.t.Fatal("no quiescence after 6 cycles (ping-pong?)")
}

func (w *world) records(system, datatype string) []connector.Record {
	return w.sys[system].Records(datatype)
}

func (w *world) count(system, datatype string) int { return w.sys[system].Count(datatype) }

func values(recs []connector.Record, field string) string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprint(r.Fields[field]))
	}
	return strings.Join(out, ",")
}

func TestInitialSyncMatchesAndInserts(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme", "email": "acme@x"})
	w.sys["a"].Create("customers", connector.Fields{"code": "C2", "name": "Globex"})
	w.sys["b"].Create("Accounts", connector.Fields{"Code": "C1", "Name": "Acme BV"})
	w.sys["b"].Create("Accounts", connector.Fields{"Code": "C3", "Name": "Initech"})
	w.settle()
	if got := values(w.records("a", "customers"), "code"); got != "C1,C2,C3" {
		t.Fatalf("a codes = %s", got)
	}
	if got := values(w.records("b", "Accounts"), "Code"); got != "C1,C3,C2" {
		t.Fatalf("b codes = %s", got)
	}
	// b's Acme was created later, so its name wins; a's e-mail fills b's empty one.
	if got := values(w.records("a", "customers"), "name"); !strings.HasPrefix(got, "Acme BV,") {
		t.Fatalf("a names = %s", got)
	}
	if got := w.records("b", "Accounts")[0].Fields["Email"]; got != "acme@x" {
		t.Fatalf("b Acme e-mail = %v", got)
	}
}

func TestRoundWithoutChangesWritesNothing(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	for i := 0; i < 30; i++ {
		w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i), "name": fmt.Sprint("n", i)})
	}
	w.settle()
	w.sys["a"].ResetCalls()
	w.sys["b"].ResetCalls()
	rep := w.sync()
	if rep.Writes() != 0 || w.sys["a"].Writes()+w.sys["b"].Writes() != 0 {
		t.Fatalf("a round without changes wrote: %+v", rep)
	}
	if rep.Collected != 0 || rep.Merged != 0 {
		t.Fatalf("a round without changes did work: %+v", rep)
	}
}

func TestEmptyKeysNeverMatch(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	w.sys["a"].Create("customers", connector.Fields{"code": "", "name": "No code A"})
	w.sys["b"].Create("Accounts", connector.Fields{"Code": "", "Name": "No code B"})
	w.settle()
	if w.count("a", "customers") != 2 || w.count("b", "Accounts") != 2 {
		t.Fatalf("records with empty keys were merged: a=%d b=%d", w.count("a", "customers"), w.count("b", "Accounts"))
	}
}

func TestAmbiguousMatchIsReportedNotGuessed(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	w.sys["a"].Create("customers", connector.Fields{"code": "C1", "email": "x@y"})
	w.sys["a"].Create("customers", connector.Fields{"code": "C2", "email": "x@y"})
	w.settle()
	// b has one record with the shared e-mail and no code: it matches two golden records.
	w.sys["b"].ResetCalls()
	w.sys["b"].Create("Accounts", connector.Fields{"Email": "x@y", "Name": "which one?"})
	w.settle()
	dls, err := w.st.DeadLetters(context.Background(), "b", "Accounts")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, d := range dls {
		if d.Stage == StageMerge && strings.Contains(d.Reason, "matches 2 golden records") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no ambiguous-match dead letter: %+v", dls)
	}
	if n := w.count("a", "customers"); n != 2 {
		t.Fatalf("the ambiguous record was guessed or inserted: a has %d customers", n)
	}
}

func TestCrashAfterInsertCreatesNoDuplicate(t *testing.T) {
	for _, point := range []string{PointShareAfterInsert, PointShareMidBatch, PointShareCommit, PointShareBeforeWrite} {
		t.Run(point, func(t *testing.T) {
			w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
			for i := 0; i < 10; i++ {
				w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i), "name": fmt.Sprint("n", i)})
			}
			crashes := 0
			w.crash = func(p string) error {
				if p == point && crashes < 3 {
					crashes++
					return ErrCrash
				}
				return nil
			}
			for i := 0; i < 10; i++ {
				if _, err := w.eng.SyncOnce(context.Background()); err != nil {
					if !errors.Is(err, ErrCrash) {
						t.Fatal(err)
					}
					w.restart()
				}
			}
			w.crash = nil
			w.settle()
			if crashes == 0 {
				t.Fatal("crash point never reached")
			}
			if n := w.count("b", "Accounts"); n != 10 {
				t.Fatalf("b has %d accounts after crashes, want 10", n)
			}
		})
	}
}

func TestLostInsertResponseCreatesNoDuplicate(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	for i := 0; i < 10; i++ {
		w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i)})
	}
	w.sys["b"].SetFaults(memory.Faults{LostResponseRate: 1})
	w.sync()
	w.sys["b"].SetFaults(memory.Faults{})
	w.settle()
	if n := w.count("b", "Accounts"); n != 10 {
		t.Fatalf("b has %d accounts, want 10", n)
	}
}

func TestConcurrentEditIsNotOverwritten(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	a := w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "one"})
	w.settle()
	bRec := w.records("b", "Accounts")[0]
	w.sys["a"].Edit("customers", a.ID, connector.Fields{"name": "from a"})
	// b's user edits the same record while the cycle runs, after b was read.
	w.crash = func(p string) error {
		if p == PointShareBeforeWrite {
			w.sys["b"].Edit("Accounts", bRec.ID, connector.Fields{"Name": "from b, later"})
			w.crash = nil
		}
		return nil
	}
	rep := w.sync()
	if rep.Conflicts == 0 {
		t.Fatalf("expected the optimistic check to skip the write: %+v", rep)
	}
	w.settle()
	if got := w.records("a", "customers")[0].Fields["name"]; got != "from b, later" {
		t.Fatalf("a's name = %v; the later edit in b must win", got)
	}
	if got := w.records("b", "Accounts")[0].Fields["Name"]; got != "from b, later" {
		t.Fatalf("b's name = %v; b's edit was overwritten", got)
	}
}

func TestRejectedWriteIsParkedAndTheRestFlows(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	w.sys["a"].Create("customers", connector.Fields{"code": "BAD", "email": "refused@x"})
	for i := 0; i < 5; i++ {
		w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i)})
	}
	w.sys["b"].SetFaults(memory.Faults{RejectField: "Email"})
	w.settle()
	if n := w.count("b", "Accounts"); n != 5 {
		t.Fatalf("b has %d accounts, want the 5 good ones", n)
	}
	sts, _ := w.st.Status(context.Background())
	var dead int64
	for _, s := range sts {
		dead += s.DeadLetters
	}
	if dead != 1 {
		t.Fatalf("dead letters = %d, want 1: %+v", dead, sts)
	}
}

func TestDeletePolicies(t *testing.T) {
	for _, tc := range []struct {
		policy   string
		bRecords int
	}{{"ignore", 1}, {"unlink", 1}, {"propagate", 0}} {
		t.Run(tc.policy, func(t *testing.T) {
			w := newWorld(t, fmt.Sprintf(customersYAML, tc.policy, tc.policy))
			a := w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "x"})
			w.settle()
			w.sys["a"].Remove("customers", a.ID)
			w.settle()
			if n := w.count("b", "Accounts"); n != tc.bRecords {
				t.Fatalf("b has %d accounts after a delete with policy %s, want %d", n, tc.policy, tc.bRecords)
			}
			if n := w.count("a", "customers"); n != 0 {
				t.Fatalf("the deleted record was re-created in a (policy %s)", tc.policy)
			}
		})
	}
}

func TestBreakerStopsMassDeletionFromTruncatedRead(t *testing.T) {
	yaml := strings.Replace(fmt.Sprintf(customersYAML, "propagate", "propagate"), "    delete: propagate\n", "    delete: propagate\n    full_scan: 1ms\n", 1)
	w := newWorld(t, yaml)
	for i := 0; i < 40; i++ {
		w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i)})
	}
	w.settle()
	w.sys["a"].SetFaults(memory.Faults{EmptyPageRate: 1})
	rep := w.sync()
	if len(rep.BreakerHit) == 0 {
		t.Fatalf("breaker did not trip on an empty full read: %+v", rep)
	}
	if n := w.count("b", "Accounts"); n != 40 {
		t.Fatalf("b lost records to a truncated read: %d left", n)
	}
	w.sys["a"].SetFaults(memory.Faults{})
	w.settle()
	if n := w.count("b", "Accounts"); n != 40 {
		t.Fatalf("b has %d accounts after the read recovered", n)
	}
	cur, _ := w.st.GetCursor(context.Background(), "a", "customers")
	if cur.Breaker != "" {
		t.Fatalf("a sane read did not close the breaker: %q", cur.Breaker)
	}
}

// An outage of a system is not its records' fault: writes waiting for it
// are not counted as failed attempts (which would park them after the
// retry limit, and the sync would not resume by itself), the system is not
// called again in the cycle after it was found down, and everything
// arrives once it is back.
func TestOutageParksNothingAndResumes(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "propagate", "propagate"))
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i)}).ID)
	}
	w.settle()
	w.sys["b"].SetFaults(memory.Faults{Down: true})
	// Edits of linked records (written without waiting for a read of b)
	// and new records (which wait for one).
	for i, id := range ids {
		w.sys["a"].Edit("customers", id, connector.Fields{"name": fmt.Sprint("Customer ", i)})
	}
	for i := 3; i < 6; i++ {
		w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i)})
	}
	limit := w.eng.retryLimit()
	for c := 0; c < limit+2; c++ {
		before := w.sys["b"].Calls()
		rep := w.sync()
		if rep.Failed != 0 {
			t.Fatalf("cycle %d of the outage counts %d failed writes: %+v", c, rep.Failed, rep)
		}
		if len(rep.Errors) == 0 {
			t.Fatalf("cycle %d: the outage is not reported", c)
		}
		calls := 0
		for op, n := range w.sys["b"].Calls() {
			calls += n - before[op]
		}
		if calls > 1 {
			t.Fatalf("cycle %d called the system that is down %d times; once it is found down it waits for the next cycle", c, calls)
		}
	}
	dls, err := w.st.DeadLetters(context.Background(), "b", "Accounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dls {
		if d.Parked {
			t.Fatalf("parked during an outage: %+v", d)
		}
	}
	w.sys["b"].SetFaults(memory.Faults{})
	w.settle()
	if n := w.count("b", "Accounts"); n != 6 {
		t.Fatalf("b has %d accounts once it is back, want 6", n)
	}
	for _, r := range w.records("b", "Accounts") {
		if r.Fields["Code"] != "C3" && r.Fields["Code"] != "C4" && r.Fields["Code"] != "C5" && r.Fields["Name"] == nil {
			t.Fatalf("an edit made during the outage did not arrive: %v", r.Fields)
		}
	}
}

// A write to a system already found down in the cycle is not announced:
// a crash before the writes leaves no intent of it, which the next read
// would take a user's own edit to the same value for the echo of.
func TestNoIntentForAWriteToASystemFoundDown(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "propagate", "propagate"))
	id := w.sys["a"].Create("customers", connector.Fields{"code": "C1"}).ID
	w.settle()
	w.sys["b"].SetFaults(memory.Faults{Down: true})
	w.sys["a"].Edit("customers", id, connector.Fields{"name": "Acme"})
	w.crash = func(p string) error {
		if p == PointShareBeforeWrite {
			return errors.New("crash")
		}
		return nil
	}
	if _, err := w.eng.SyncOnce(context.Background()); err == nil {
		t.Fatal("the cycle did not reach the crash point")
	}
	ins, err := w.st.OpenIntents(context.Background(), "b", "Accounts")
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 0 {
		t.Fatalf("intents announced for writes to a system found down: %+v", ins)
	}
}

// Records deleted long ago are tombstones in the store: they must not count
// as records the datatype holds, or a datatype that shrank by ordinary
// deletions loses the breaker's protection against a read cut short.
func TestBreakerCountsLiveRecordsOnly(t *testing.T) {
	yaml := strings.Replace(fmt.Sprintf(customersYAML, "propagate", "propagate"), "    delete: propagate\n", "    delete: propagate\n    full_scan: 1ms\n", 1)
	w := newWorld(t, yaml)
	var ids []string
	for i := 0; i < 40; i++ {
		ids = append(ids, w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i)}).ID)
	}
	w.settle()
	// 24 ordinary deletions, 4 a cycle (below the breaker's minimum).
	for c := 0; c < 6; c++ {
		for _, id := range ids[4*c : 4*c+4] {
			w.sys["a"].Remove("customers", id)
		}
		if rep := w.sync(); len(rep.BreakerHit) > 0 {
			t.Fatalf("cycle %d: 4 deletions tripped the breaker", c)
		}
	}
	w.settle()
	if n := w.count("b", "Accounts"); n != 16 {
		t.Fatalf("b has %d accounts after 24 deletions, want 16", n)
	}
	// A full read cut short to nothing would delete all 16 live records:
	// more than half of them, though fewer than half of the 40 stored.
	w.sys["a"].SetFaults(memory.Faults{EmptyPageRate: 1})
	if rep := w.sync(); len(rep.BreakerHit) == 0 {
		t.Fatalf("breaker did not trip on an empty full read of 16 live records: %+v", rep)
	}
	if n := w.count("b", "Accounts"); n != 16 {
		t.Fatalf("b lost records to a truncated read: %d left, want 16", n)
	}
}

const contactsYAML = `
systems:
  a: {kind: memory}
  b: {kind: memory}
mappings:
  - system: a
    datatype: orgs
    canonical: customer
    merge: [[code]]
    properties:
      - {field: code, property: code}
  - system: b
    datatype: accounts
    canonical: customer
    merge: [[code]]
    properties:
      - {field: code, property: code}
  - system: a
    datatype: people
    canonical: contact
    merge: [[email]]
    properties:
      - {field: email, property: email}
      - {field: org, property: customer, ref: orgs}
  - system: b
    datatype: contacts
    canonical: contact
    properties:
      - {field: email, property: email}
      - {field: account, property: customer, ref: accounts}
`

// A target that takes no inserts has nothing to do for a golden record it
// does not hold: a reference it could not resolve there is no reason to
// wait, and the cycle must not report it deferred, cycle after cycle.
func TestNoWaitForAReferenceInATargetThatTakesNoInserts(t *testing.T) {
	yaml := strings.Replace(contactsYAML, "    datatype: accounts\n", "    datatype: accounts\n    insert: false\n", 1)
	yaml = strings.Replace(yaml, "    datatype: contacts\n", "    datatype: contacts\n    insert: false\n", 1)
	w := newWorld(t, yaml)
	org := w.sys["a"].Create("orgs", connector.Fields{"code": "O1"})
	w.sys["a"].Create("people", connector.Fields{"email": "p@o1", "org": org.ID})
	w.settle()
	if rep := w.sync(); rep.Deferred != 0 {
		t.Fatalf("a quiet cycle reports %d deferred: %+v", rep.Deferred, rep)
	}
	if n := len(w.records("b", "contacts")); n != 0 {
		t.Fatalf("b, which takes no inserts, has %d contacts", n)
	}
	dls, err := w.st.DeadLetters(context.Background(), "b", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 0 {
		t.Fatalf("waits recorded for a target that takes no inserts: %+v", dls)
	}
}

func TestReferencesAreTranslatedAndDeferred(t *testing.T) {
	w := newWorld(t, contactsYAML)
	org := w.sys["a"].Create("orgs", connector.Fields{"code": "O1"})
	w.sys["a"].Create("people", connector.Fields{"email": "p@o1", "org": org.ID})
	// A contact whose organisation a does not have (yet): deferred, not failed.
	w.sys["a"].Create("people", connector.Fields{"email": "q@o2", "org": "999"})
	w.settle()
	cs := w.records("b", "contacts")
	if len(cs) != 1 {
		t.Fatalf("b contacts = %v", cs)
	}
	acc := w.records("b", "accounts")[0]
	if cs[0].Fields["account"] != acc.ID {
		t.Fatalf("contact's account = %v, want b's account id %s", cs[0].Fields["account"], acc.ID)
	}
	sts, _ := w.st.Status(context.Background())
	for _, s := range sts {
		if s.System == "a" && s.Datatype == "people" && s.Pending != 1 {
			t.Fatalf("the unresolved contact should wait as pending: %+v", s)
		}
	}
	w.settle()
	evs, _ := w.st.EventsForRecord(context.Background(), store.Key{System: "a", Datatype: "people", ID: "2"})
	waits := 0
	for _, ev := range evs {
		if ev.Action == "deferred" {
			waits++
		}
	}
	if waits != 1 {
		t.Fatalf("the wait is in the history %d times, want once however many cycles run", waits)
	}
	// The organisation appears: the deferred contact follows.
	w.sys["a"].Put("orgs", "999", connector.Fields{"code": "O2"})
	w.settle()
	if n := w.count("b", "contacts"); n != 2 {
		t.Fatalf("deferred contact did not follow its organisation: b has %d contacts", n)
	}
}

func TestCrashWithoutMergeCriteriaCreatesNoDuplicate(t *testing.T) {
	w := newWorld(t, contactsYAML)
	org := w.sys["a"].Create("orgs", connector.Fields{"code": "O1"})
	w.settle()
	// b's contacts have no merge criteria: the intent alone must keep the
	// record inserted into b before a crash from becoming a second golden
	// record (and a second person in a).
	w.sys["a"].Create("people", connector.Fields{"email": "p@o1", "org": org.ID})
	crashed := false
	w.crash = func(p string) error {
		if p == PointShareAfterInsert && !crashed {
			crashed = true
			return ErrCrash
		}
		return nil
	}
	if _, err := w.eng.SyncOnce(context.Background()); !errors.Is(err, ErrCrash) {
		t.Fatalf("expected the crash, got %v", err)
	}
	w.crash = nil
	w.restart()
	w.settle()
	if n := w.count("a", "people"); n != 1 {
		t.Fatalf("a has %d people after a crash, want 1", n)
	}
	if n := w.count("b", "contacts"); n != 1 {
		t.Fatalf("b has %d contacts after a crash, want 1", n)
	}
}

func TestBreakerHoldsRealMassDeletionUntilAccepted(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "propagate", "propagate"))
	var ids []string
	for i := 0; i < 40; i++ {
		ids = append(ids, w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i)}).ID)
	}
	w.settle()
	for _, id := range ids[:30] {
		w.sys["a"].Remove("customers", id)
	}
	for i := 0; i < 3; i++ {
		if rep := w.sync(); len(rep.BreakerHit) == 0 {
			t.Fatalf("cycle %d: a persistent mass deletion did not keep the breaker tripped", i)
		}
	}
	if n := w.count("b", "Accounts"); n != 40 {
		t.Fatalf("b has %d accounts while the breaker holds the deletions, want 40", n)
	}
	if err := w.st.SetBreaker(context.Background(), "a", "customers", BreakerAccepted); err != nil {
		t.Fatal(err)
	}
	w.settle()
	if n := w.count("b", "Accounts"); n != 10 {
		t.Fatalf("b has %d accounts after the operator accepted the deletions, want 10", n)
	}
}

func TestWaitingWriteIsInTheHistoryOnce(t *testing.T) {
	w := newWorld(t, contactsYAML)
	// b refuses the organisation, so the contact can never be written there.
	w.sys["b"].SetFaults(memory.Faults{RejectField: "code"})
	org := w.sys["a"].Create("orgs", connector.Fields{"code": "O1"})
	p := w.sys["a"].Create("people", connector.Fields{"email": "p@o1", "org": org.ID})
	for i := 0; i < 4; i++ {
		w.sync()
	}
	if n := w.count("b", "contacts"); n != 0 {
		t.Fatalf("a contact was written without its organisation: %d", n)
	}
	recs, _ := w.st.GetRecords(context.Background(), "a", "people", []string{p.ID})
	evs, _ := w.st.EventsForGolden(context.Background(), recs[p.ID].GoldenID)
	waits := 0
	for _, ev := range evs {
		if ev.Action == "deferred" && ev.System == "b" {
			waits++
		}
	}
	if waits != 1 {
		t.Fatalf("the wait for b is in the history %d times over 4 cycles, want once", waits)
	}
}

// Nested values (an address object, a list of tags) pass through the hub
// unchanged, and an edit of one reaches the other system.
func TestNestedValuesPassThrough(t *testing.T) {
	w := newWorld(t, `
systems:
  a: {kind: memory}
  b: {kind: memory}
canonical:
  customer:
    properties:
      address: {type: object}
      tags: {type: array}
mappings:
  - system: a
    datatype: customers
    canonical: customer
    merge: [[code]]
    properties:
      - {field: code, property: code}
      - {field: billing_address, property: address, type: object}
      - {field: tags, property: tags, type: array}
  - system: b
    datatype: Accounts
    canonical: customer
    merge: [[code]]
    properties:
      - {field: Code, property: code}
      - {field: Address, property: address, type: object}
      - {field: Tags, property: tags, type: array}
`)
	addr := map[string]any{"street": "Damrak 1", "city": "Amsterdam", "lines": []any{"c/o Acme", 2.0}}
	rec := w.sys["a"].Create("customers", connector.Fields{"code": "C1", "billing_address": addr, "tags": []any{"vip", "eu"}})
	w.settle()
	got := w.records("b", "Accounts")
	if len(got) != 1 || !reflect.DeepEqual(got[0].Fields["Address"], addr) || !reflect.DeepEqual(got[0].Fields["Tags"], []any{"vip", "eu"}) {
		t.Fatalf("b holds %v", got)
	}
	moved := map[string]any{"street": "Dam 2", "city": "Amsterdam"}
	w.sys["b"].Edit("Accounts", got[0].ID, connector.Fields{"Address": moved})
	w.settle()
	back, _ := w.sys["a"].Lookup("customers", rec.ID)
	if !reflect.DeepEqual(back.Fields["billing_address"], moved) {
		t.Fatalf("a's address is %v, want %v", back.Fields["billing_address"], moved)
	}
	if rep := w.sync(); rep.Writes() != 0 {
		t.Fatalf("a settled sync wrote %d times: nested values must compare equal", rep.Writes())
	}
}

func TestInsertCarriesTheMappingsDefaults(t *testing.T) {
	yaml := strings.Replace(fmt.Sprintf(customersYAML, "ignore", "ignore"), "    datatype: Accounts\n", "    datatype: Accounts\n    defaults: {Kind: company, Name: unnamed}\n", 1)
	w := newWorld(t, yaml)
	w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme"})
	w.sys["a"].Create("customers", connector.Fields{"code": "C2"})
	w.settle()
	got := w.records("b", "Accounts")
	if len(got) != 2 || got[0].Fields["Kind"] != "company" || got[0].Fields["Name"] != "Acme" || got[1].Fields["Name"] != "unnamed" {
		t.Fatalf("inserted: %+v", got)
	}
	// A default is never written again on updates.
	w.sys["b"].Edit("Accounts", got[0].ID, connector.Fields{"Kind": "person"})
	w.sys["a"].Edit("customers", w.records("a", "customers")[0].ID, connector.Fields{"name": "Acme BV"})
	w.settle()
	if k := w.records("b", "Accounts")[0].Fields["Kind"]; k != "person" {
		t.Fatalf("Kind = %v after an update", k)
	}
}

// An address one system nests in its customer (billing_address.city) and
// another keeps flat syncs both ways member by member: an edit of one
// member reaches the other system, the members Concord does not map stay,
// an empty member never clears one, and a settled sync writes nothing.
func TestNestedMembersSyncMemberByMember(t *testing.T) {
	w := newWorld(t, `
systems:
  a: {kind: memory}
  b: {kind: memory}
mappings:
  - system: a
    datatype: customers
    canonical: customer
    merge: [[code]]
    properties:
      - {field: code, property: code}
      - {field: billing_address.city, property: city}
      - {field: billing_address.postcode, property: postcode}
      - {field: billing_address.country, property: country}
  - system: b
    datatype: Accounts
    canonical: customer
    merge: [[code]]
    properties:
      - {field: Code, property: code}
      - {field: City, property: city}
      - {field: Postcode, property: postcode}
      - {field: Country, property: country}
`)
	rec := w.sys["a"].Create("customers", connector.Fields{"code": "C1",
		"billing_address": map[string]any{"street": "Damrak 1", "city": "Amsterdam", "postcode": "", "country": "NL"}})
	w.settle()
	got := w.records("b", "Accounts")
	if len(got) != 1 || got[0].Fields["City"] != "Amsterdam" || got[0].Fields["Country"] != "NL" {
		t.Fatalf("b holds %v", got)
	}
	w.sys["b"].Edit("Accounts", got[0].ID, connector.Fields{"City": "Delft", "Postcode": "2611 AB"})
	w.settle()
	back, _ := w.sys["a"].Lookup("customers", rec.ID)
	want := map[string]any{"street": "Damrak 1", "city": "Delft", "postcode": "2611 AB", "country": "NL"}
	if !reflect.DeepEqual(back.Fields["billing_address"], want) {
		t.Fatalf("a's address is %v, want %v", back.Fields["billing_address"], want)
	}
	if rep := w.sync(); rep.Writes() != 0 {
		t.Fatalf("a settled sync wrote %d times", rep.Writes())
	}
	// A member only one side has is not cleared by the other's empty value.
	w.sys["b"].Edit("Accounts", got[0].ID, connector.Fields{"Country": nil, "City": "Leiden"})
	w.settle()
	back, _ = w.sys["a"].Lookup("customers", rec.ID)
	if addr := back.Fields["billing_address"].(map[string]any); addr["city"] != "Leiden" || addr["country"] != "NL" {
		t.Fatalf("a's address after b emptied its country: %v", addr)
	}
}

// The history says which merge criterion linked a record, and with which
// value; a record linked by an insert intent names none.
func TestHistoryNamesTheMatchingCriterion(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme", "email": "acme@x"})
	b := w.sys["b"].Create("Accounts", connector.Fields{"Name": "Acme BV", "Email": "ACME@x"})
	w.settle()
	evs, err := w.st.EventsForRecord(context.Background(), store.Key{System: "b", Datatype: "Accounts", ID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		if ev.Action == "matched" {
			found = true
			if !strings.Contains(ev.Detail, `by merge criterion email = "acme@x"`) {
				t.Errorf("matched: %q", ev.Detail)
			}
		}
	}
	if !found {
		t.Fatalf("no matched event: %+v", evs)
	}
}

// Settle sums the cycles it runs until the systems are quiet.
func TestSettleRunsUntilQuiet(t *testing.T) {
	w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
	w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme"})
	rep, err := w.eng.Settle(context.Background(), 6)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inserted != 1 || rep.Created != 1 || rep.Collected != 1 || rep.Unchanged < 1 {
		t.Fatalf("settle: %+v, want the insert and the read of its echo", rep)
	}
	if got := values(w.records("b", "Accounts"), "Code"); got != "C1" {
		t.Fatalf("b codes = %s", got)
	}
	if rep, _ := w.eng.Settle(context.Background(), 6); rep.Writes() != 0 || rep.Collected != 0 {
		t.Fatalf("a second settle did work: %+v", rep)
	}
}
