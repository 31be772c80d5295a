package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
)

// Commits in flight (ADR 13). These tests run the engine with a commit
// that lands only when the engine waits for it (the next page or batch
// reads everything it reads before the commit before it lands) and with
// one that lands at once (a sequential run), and expect the same outcome.

// lateAsync lands a commit when the engine waits for it.
func lateAsync(commit func() error) func() error { return commit }

// nowAsync lands a commit at once.
func nowAsync(commit func() error) func() error {
	err := commit()
	return func() error { return err }
}

var asyncs = []struct {
	name  string
	async func(func() error) func() error
}{{"late", lateAsync}, {"now", nowAsync}}

// withAsync rebuilds the world's engine with the given Async, and with
// listings of pageSize records in every system.
func (w *world) withAsync(async func(func() error) func() error, pageSize int) {
	w.t.Helper()
	conns := map[string]connector.Connector{}
	for n := range w.sys {
		w.sys[n] = memory.New(n, memory.Options{Clock: w.now, PageSize: pageSize})
		conns[n] = w.sys[n]
	}
	eng, err := New(w.cfg, w.st, conns, Options{Now: w.now, NewID: func() string { w.ids++; return fmt.Sprintf("g%d", w.ids) }, Async: async})
	if err != nil {
		w.t.Fatal(err)
	}
	w.eng = eng
}

// A record on the next page with a merge-key value that the page in
// flight gives a golden record waits for that page: it must find that
// golden record (here, already linked: a duplicate in its system), not
// create a second one that would be inserted everywhere.
func TestPagesInFlightShareAMergeKey(t *testing.T) {
	for _, a := range asyncs {
		t.Run(a.name, func(t *testing.T) {
			w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
			w.withAsync(a.async, 1)
			w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme"})
			w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme again"})
			w.sys["a"].Create("customers", connector.Fields{"code": "C2", "name": "Globex"})
			w.settle()
			if got := values(w.records("b", "Accounts"), "Code"); got != "C1,C2" {
				t.Fatalf("b codes = %s, want C1,C2 (one golden record per code)", got)
			}
			dls, err := w.st.DeadLetters(context.Background(), "a", "customers")
			if err != nil {
				t.Fatal(err)
			}
			if len(dls) != 1 || dls[0].Stage != StageMerge || !strings.Contains(dls[0].Reason, "already linked") {
				t.Fatalf("dead letters = %+v, want the second C1 reported as a duplicate", dls)
			}
		})
	}
}

// Batches of a share in flight: the next batch is planned before the
// batch before it is stored, and writes only after. Every customer is
// inserted once, and a second cycle writes nothing.
func TestShareBatchesInFlight(t *testing.T) {
	for _, a := range asyncs {
		t.Run(a.name, func(t *testing.T) {
			w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
			w.cfg.Engine.BatchSize = 2
			w.withAsync(a.async, 3)
			for i := range 9 {
				w.sys["a"].Create("customers", connector.Fields{"code": fmt.Sprint("C", i), "name": fmt.Sprint("n", i)})
			}
			w.sys["b"].Create("Accounts", connector.Fields{"Code": "C4", "Name": "n4 in b"})
			w.settle()
			if n := w.count("b", "Accounts"); n != 9 {
				t.Fatalf("b has %d accounts, want 9", n)
			}
			if n := w.count("a", "customers"); n != 9 {
				t.Fatalf("a has %d customers, want 9", n)
			}
			w.sys["a"].ResetCalls()
			w.sys["b"].ResetCalls()
			if rep := w.sync(); rep.Writes() != 0 {
				t.Fatalf("a round without changes wrote: %+v", rep)
			}
		})
	}
}

// relisting lists a record on the first page and again, changed, on the
// second, as a system does when a record is edited while it is listed.
// The listings after it are the system's own.
type relisting struct {
	*memory.System
	first, second connector.Record
	pages         int
}

func (c *relisting) List(ctx context.Context, datatype string, req connector.ListRequest) (connector.Page, error) {
	c.pages++
	switch c.pages {
	case 1:
		return connector.Page{Records: []connector.Record{c.first}, NextPageToken: "2"}, nil
	case 2:
		return connector.Page{Records: []connector.Record{c.second}}, nil
	}
	return c.System.List(ctx, datatype, req)
}

// A record listed again on the next page waits for the page in flight that
// stores it: compared with what the store held before that page, it would
// look seen for the first time and be merged into a new golden record.
func TestPageInFlightHoldsARecordListedAgain(t *testing.T) {
	for _, a := range asyncs {
		t.Run(a.name, func(t *testing.T) {
			w := newWorld(t, fmt.Sprintf(customersYAML, "ignore", "ignore"))
			w.withAsync(a.async, 5)
			rec := w.sys["a"].Create("customers", connector.Fields{"code": "C1", "name": "Acme"})
			changed := w.sys["a"].Edit("customers", rec.ID, connector.Fields{"code": "C9"})
			conns := map[string]connector.Connector{"a": &relisting{System: w.sys["a"], first: rec, second: changed}, "b": w.sys["b"]}
			eng, err := New(w.cfg, w.st, conns, Options{Now: w.now, NewID: func() string { w.ids++; return fmt.Sprintf("g%d", w.ids) }, Async: a.async})
			if err != nil {
				t.Fatal(err)
			}
			w.eng = eng
			w.settle()
			if got := values(w.records("b", "Accounts"), "Code"); got != "C9" {
				t.Fatalf("b codes = %s, want C9", got)
			}
			if n := w.count("a", "customers"); n != 1 {
				t.Fatalf("a has %d customers, want 1", n)
			}
		})
	}
}
