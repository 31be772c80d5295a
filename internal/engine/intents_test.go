package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
)

// liar is a system whose listings can be cut short by an empty last page
// (the fault of memory.Faults.EmptyPageRate, but on the calls a test
// chooses) and whose inserts can fail before they are made.
type liar struct {
	*memory.System
	// lie, when set, decides whether a listing call answers with an empty
	// page without a next page token, carrying the request's cursor.
	lie   func(req connector.ListRequest) bool
	lies  int // empty pages given so far
	lists int // List calls
	// pad ends every listing on an empty page, as systems do that page
	// until a page comes back empty: the last page with records says
	// there is a next one.
	pad bool
	// refuse is how many inserts still fail with a temporary error
	// without being made (a timeout before the request left).
	refuse int
	// wrap makes the system keep IsCompany of a record it creates in its
	// own words, which b's mapping cannot read back as a boolean.
	wrap bool
}

func (c *liar) List(ctx context.Context, datatype string, req connector.ListRequest) (connector.Page, error) {
	c.lists++
	if c.lie != nil && c.lie(req) {
		c.lies++
		return connector.Page{Cursor: req.Cursor}, nil
	}
	if cursor, ok := strings.CutPrefix(req.PageToken, "pad:"); ok {
		return connector.Page{Cursor: cursor}, nil
	}
	p, err := c.System.List(ctx, datatype, req)
	if c.pad && err == nil && p.NextPageToken == "" && len(p.Records) > 0 {
		p.NextPageToken = "pad:" + p.Cursor
	}
	return p, err
}

func (c *liar) Insert(ctx context.Context, datatype string, fields connector.Fields) (connector.Record, error) {
	if c.refuse > 0 {
		c.refuse--
		return connector.Record{}, connector.Temporary(errors.New("timeout before the request was sent"))
	}
	if c.wrap {
		fields = maps.Clone(fields)
		fields["IsCompany"] = "ja"
	}
	return c.System.Insert(ctx, datatype, fields)
}

// liarWorld is the customers world with b behind a liar.
func liarWorld(t *testing.T) (*world, *liar) {
	return liarWorldOf(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
}

func liarWorldOf(t *testing.T, yaml string) (*world, *liar) {
	w := newWorld(t, yaml)
	b := &liar{}
	w.wrap = map[string]func(*memory.System) connector.Connector{"b": func(s *memory.System) connector.Connector {
		b.System = s
		return b
	}}
	w.restart()
	return w, b
}

// The risk of ADR 13 ("Risks found"): inserts whose answers were lost, a
// crash while their records are being read, and on restart a read cut
// short by an empty page before it reaches the rest of them. That read
// completes, but it is no evidence that the records are not there: taking
// it for such would insert them a second time.
func TestCutShortReadAfterCrashCreatesNoDuplicate(t *testing.T) {
	w, b := liarWorld(t)
	for i := 0; i < 10; i++ {
		w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i), "name": fmt.Sprint("n", i)})
	}
	// Cycle 1: every insert into b is made but its answer is lost.
	b.SetFaults(memory.Faults{LostResponseRate: 1})
	w.sync()
	b.SetFaults(memory.Faults{})
	if n := w.count("b", "Accounts"); n != 10 {
		t.Fatalf("b has %d accounts after the first cycle, want 10", n)
	}

	// Cycle 2 reads b's first page (7 of the 10), stores it and crashes.
	w.crash = func(p string) error {
		if p == PointCollectPage {
			return ErrCrash
		}
		return nil
	}
	if _, err := w.eng.SyncOnce(context.Background()); !errors.Is(err, ErrCrash) {
		t.Fatalf("expected the crash, got %v", err)
	}
	w.crash = nil
	w.restart()

	// After the restart, the first read of b to reach a second page is
	// cut short there, before the last 3 records.
	b.lie = func(req connector.ListRequest) bool { return req.PageToken != "" && b.lies == 0 }
	w.sync()
	if b.lies != 1 {
		t.Fatalf("the read was not cut short (%d empty pages)", b.lies)
	}
	w.settle()
	if n := w.count("b", "Accounts"); n != 10 {
		t.Fatalf("b has %d accounts, want 10: a read cut short was taken for proof that inserts had not happened", n)
	}
}

// An insert that did not happen is made again once a whole read of the
// target shows its record is not there, in the cycle after, even when that
// target is quiet (its reads of changes come back empty), when it holds no
// record at all (a full read of it comes back empty too), and when its
// listings always end on an empty page.
func TestUnconfirmedInsertIsMadeAgainOnceAReadIsWhole(t *testing.T) {
	for _, tc := range []struct {
		name   string
		others int  // records b holds besides
		pad    bool // b's listings end on an empty page
		// calls is how many List calls the cycle after makes to b. Its
		// read of changes lists the record at its cursor again (one page,
		// or two when listings end on an empty page) and is whole unless b
		// is empty or its listings end on an empty page; then b is read in
		// full confirmReads times, at 7 records a page.
		calls int
	}{
		{"target holds other records", 9, false, 1},
		{"target is empty", 0, false, 1 + confirmReads},
		{"listings end on an empty page", 9, true, 2 + confirmReads*3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, b := liarWorld(t)
			b.pad = tc.pad
			for i := 0; i < tc.others; i++ {
				w.sys["b"].Create("Accounts", connector.Fields{"Code": fmt.Sprint("B", i)})
			}
			w.settle()
			w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme"})
			b.refuse = 1
			rep := w.sync()
			if rep.Failed != 1 || w.count("b", "Accounts") != tc.others {
				t.Fatalf("the insert should have failed without being made: %+v, b has %d", rep, w.count("b", "Accounts"))
			}
			// The next cycle settles it: no cycle waits with nothing to
			// show for it.
			lists := b.lists
			rep = w.sync()
			if rep.Inserted != 1 {
				t.Fatalf("the next cycle inserted %d records, want 1 (%+v)", rep.Inserted, rep)
			}
			if n := b.lists - lists; n != tc.calls {
				t.Fatalf("the next cycle made %d List calls to b, want %d", n, tc.calls)
			}
			w.settle()
			if n := w.count("b", "Accounts"); n != tc.others+1 {
				t.Fatalf("b has %d accounts, want %d", n, tc.others+1)
			}
		})
	}
}

// A whole read that comes late still settles: while b's reads are cut
// short the insert waits (it is not made again), and the first read that
// is not cut short finds the record and links it.
func TestUnconfirmedInsertWaitsWhileReadsAreCutShort(t *testing.T) {
	w, b := liarWorld(t)
	for i := 0; i < 20; i++ {
		w.sys["b"].Create("Accounts", connector.Fields{"Code": fmt.Sprint("B", i)})
	}
	w.settle()
	w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme"})
	b.SetFaults(memory.Faults{LostResponseRate: 1})
	w.sync()
	b.SetFaults(memory.Faults{})
	if n := w.count("b", "Accounts"); n != 21 {
		t.Fatalf("b has %d accounts, want 21", n)
	}
	// Every listing of b comes back empty.
	b.lie = func(connector.ListRequest) bool { return true }
	for i := 0; i < 3; i++ {
		if rep := w.sync(); rep.Inserted != 0 {
			t.Fatalf("cycle %d inserted %d records while b's reads were cut short", i+1, rep.Inserted)
		}
	}
	b.lie = nil
	w.settle()
	if n := w.count("b", "Accounts"); n != 21 {
		t.Fatalf("b has %d accounts, want 21", n)
	}
	status, err := w.st.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if s.PendingInserts != 0 {
			t.Fatalf("%s:%s still has %d open insert intents", s.System, s.Datatype, s.PendingInserts)
		}
	}
}

// A record an unconfirmed insert created that was read but could not be
// linked (its content cannot be mapped in) is found among the records
// collected and not linked: the insert waits for it instead of making a
// second one.
func TestUnconfirmedInsertFindsItsRecordReadButNotLinked(t *testing.T) {
	yaml := fmt.Sprintf(customersYAML, "ignore", "ignore")
	yaml = strings.Replace(yaml, "      - {field: email, property: email}\n", "      - {field: email, property: email}\n      - {field: company, property: is_company}\n", 1)
	yaml = strings.Replace(yaml, "      - {field: Email, property: email}\n", "      - {field: Email, property: email}\n      - {field: IsCompany, property: is_company}\n", 1)
	w, b := liarWorldOf(t, yaml)
	w.settle()
	w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme", "company": true})
	b.wrap = true
	b.SetFaults(memory.Faults{LostResponseRate: 1})
	w.sync()
	b.SetFaults(memory.Faults{})
	for i := 0; i < 4; i++ {
		w.sync()
	}
	if n := w.count("b", "Accounts"); n != 1 {
		t.Fatalf("b has %d accounts, want 1: the record read but not linked was inserted again", n)
	}
	dls, err := w.st.DeadLetters(context.Background(), "b", "Accounts")
	if err != nil {
		t.Fatal(err)
	}
	waits := 0
	for _, d := range dls {
		if d.Stage == StageWaitWrite && strings.Contains(d.Reason, "could not be linked") {
			waits++
		}
	}
	if waits != 1 {
		t.Fatalf("the wait is not recorded with its reason: %+v", dls)
	}
}
