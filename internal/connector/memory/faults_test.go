package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/memory"
)

// calls makes one connector call of every kind and returns their errors.
func calls(sys *memory.System, id string) map[string]error {
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["describe"] = sys.Describe(ctx)
	_, errs["list"] = sys.List(ctx, customers, connector.ListRequest{})
	_, errs["get"] = sys.Get(ctx, customers, id)
	_, errs["insert"] = sys.Insert(ctx, customers, customer(9))
	_, errs["update"] = sys.Update(ctx, customers, id, connector.Fields{"name": "x"}, "")
	errs["delete"] = sys.Delete(ctx, customers, id)
	return errs
}

func TestErrorRateFailsEveryKindOfCallAsTemporary(t *testing.T) {
	sys := memory.New("crm", memory.Options{})
	r := sys.Create(customers, customer(1))
	sys.SetFaults(memory.Faults{ErrorRate: 1})
	for op, err := range calls(sys, r.ID) {
		if !connector.IsTemporary(err) {
			t.Errorf("%s: want a temporary error, got %v", op, err)
		}
	}
	if sys.Count(customers) != 1 {
		t.Errorf("failed calls wrote: %v", sys.Records(customers))
	}
	// The user of the system is not affected.
	if got := sys.Create(customers, customer(2)); got.ID == "" {
		t.Error("create failed under ErrorRate")
	}
}

func TestErrorRateIsRepeatableForASeed(t *testing.T) {
	outcomes := func(seed int64) (failed []bool) {
		sys := memory.New("crm", memory.Options{Seed: seed})
		sys.SetFaults(memory.Faults{ErrorRate: 0.5})
		for range 64 {
			_, err := sys.List(context.Background(), customers, connector.ListRequest{})
			failed = append(failed, err != nil)
		}
		return failed
	}
	a, b, c := outcomes(7), outcomes(7), outcomes(8)
	n := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 7 gave different outcomes at call %d", i)
		}
		if a[i] {
			n++
		}
	}
	if n == 0 || n == len(a) {
		t.Errorf("ErrorRate 0.5 failed %d of %d calls", n, len(a))
	}
	if equal := func() bool {
		for i := range a {
			if a[i] != c[i] {
				return false
			}
		}
		return true
	}(); equal {
		t.Error("seeds 7 and 8 gave the same 64 outcomes")
	}
}

func TestTimeoutRateWrapsDeadlineExceeded(t *testing.T) {
	sys := memory.New("crm", memory.Options{})
	r := sys.Create(customers, customer(1))
	sys.SetFaults(memory.Faults{TimeoutRate: 1})
	for op, err := range calls(sys, r.ID) {
		if !errors.Is(err, context.DeadlineExceeded) || !connector.IsTemporary(err) {
			t.Errorf("%s: want an error wrapping context.DeadlineExceeded, got %v", op, err)
		}
	}
}

func TestEmptyPageRateCutsListingsShort(t *testing.T) {
	sys := memory.New("crm", memory.Options{})
	for i := range 3 {
		sys.Create(customers, customer(i))
	}
	sys.SetFaults(memory.Faults{EmptyPageRate: 1})
	for _, req := range []connector.ListRequest{{}, {Cursor: "2025-01-01T00:00:00Z"}, {Full: true}} {
		p, err := sys.List(context.Background(), customers, req)
		if err != nil || len(p.Records) != 0 || p.NextPageToken != "" || p.Cursor != req.Cursor {
			t.Errorf("list %+v: page %+v, error %v; want an empty last page carrying the request's cursor", req, p, err)
		}
	}
}

func TestLostResponseRateAppliesWritesButFails(t *testing.T) {
	ctx := context.Background()
	sys := memory.New("crm", memory.Options{})
	r := sys.Create(customers, customer(1))
	sys.SetFaults(memory.Faults{LostResponseRate: 1})

	if _, err := sys.Insert(ctx, customers, customer(2)); !connector.IsTemporary(err) {
		t.Errorf("insert: want a temporary error, got %v", err)
	}
	if sys.Count(customers) != 2 {
		t.Errorf("the insert whose response was lost was not applied: %d records", sys.Count(customers))
	}
	if _, err := sys.Update(ctx, customers, r.ID, connector.Fields{"name": "written"}, ""); !connector.IsTemporary(err) {
		t.Errorf("update: want a temporary error, got %v", err)
	}
	if got, _ := sys.Lookup(customers, r.ID); got.Fields["name"] != "written" {
		t.Errorf("the update whose response was lost was not applied: %v", got.Fields)
	}
	if err := sys.Delete(ctx, customers, r.ID); !connector.IsTemporary(err) {
		t.Errorf("delete: want a temporary error, got %v", err)
	}
	if !sys.Deleted(customers, r.ID) {
		t.Error("the delete whose response was lost was not applied")
	}
	if _, err := sys.Get(ctx, customers, "2"); err != nil {
		t.Errorf("reads lose no responses: %v", err)
	}
}

func TestRejectFieldRefusesWritesThatSetIt(t *testing.T) {
	ctx := context.Background()
	sys := memory.New("crm", memory.Options{})
	r := sys.Create(customers, connector.Fields{"name": "Acme", "vat": "NL1"}) // users are not refused
	sys.SetFaults(memory.Faults{RejectField: "vat"})

	if _, err := sys.Insert(ctx, customers, connector.Fields{"name": "Bolt", "vat": "NL2"}); !errors.Is(err, connector.ErrRejected) {
		t.Errorf("insert setting vat: want ErrRejected, got %v", err)
	}
	if _, err := sys.Update(ctx, customers, r.ID, connector.Fields{"vat": "NL3"}, ""); !errors.Is(err, connector.ErrRejected) {
		t.Errorf("update setting vat: want ErrRejected, got %v", err)
	}
	if got, _ := sys.Lookup(customers, r.ID); got.Fields["vat"] != "NL1" || sys.Count(customers) != 1 {
		t.Errorf("refused writes wrote: %v", sys.Records(customers))
	}
	if _, err := sys.Insert(ctx, customers, connector.Fields{"name": "Core", "vat": nil}); err != nil {
		t.Errorf("insert without a vat value: %v", err)
	}
	if _, err := sys.Update(ctx, customers, r.ID, connector.Fields{"name": "Acme BV"}, ""); err != nil {
		t.Errorf("update not touching vat: %v", err)
	}
}

func TestLatencyEndsWithTheContext(t *testing.T) {
	sys := memory.New("crm", memory.Options{})
	sys.SetFaults(memory.Faults{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := sys.List(ctx, customers, connector.ListRequest{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("list with an hour of latency and a short deadline: want DeadlineExceeded, got %v", err)
	}

	sys.SetFaults(memory.Faults{Latency: time.Millisecond})
	if _, err := sys.List(context.Background(), customers, connector.ListRequest{}); err != nil {
		t.Fatalf("list with a millisecond of latency: %v", err)
	}
}

func TestFailNextFailsThatManyCalls(t *testing.T) {
	ctx := context.Background()
	sys := memory.New("crm", memory.Options{})
	sys.SetFaults(memory.Faults{FailNext: 2})
	for i := range 2 {
		if _, err := sys.Insert(ctx, customers, customer(i)); !connector.IsTemporary(err) {
			t.Fatalf("call %d: want a temporary error, got %v", i+1, err)
		}
	}
	if sys.Faults().FailNext != 0 {
		t.Fatalf("FailNext left at %d", sys.Faults().FailNext)
	}
	if r, err := sys.Insert(ctx, customers, customer(3)); err != nil || r.ID != "1" {
		t.Fatalf("third call: %+v, %v", r, err)
	}
	if calls := sys.Calls()["insert"]; calls != 3 {
		t.Fatalf("insert calls %d, want 3 (failed calls count)", calls)
	}
}
