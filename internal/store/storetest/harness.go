package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/store"
)

// The system datatypes the suite plays with.
const (
	shop     = "shop"
	erp      = "erp"
	customer = "Customer"
	account  = "Account"
)

// t0 is the suite's clock: a time with nanoseconds, in UTC.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

// at returns t0 plus n minutes.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// harness wraps a store with assertions that read like the domain. Every
// helper fails the test on a store error.
type harness struct {
	t   *testing.T
	ctx context.Context
	s   store.Store
}

func (h *harness) collect(b store.CollectBatch) {
	h.t.Helper()
	if err := h.s.CommitCollect(h.ctx, b); err != nil {
		h.t.Fatalf("CommitCollect: %v", err)
	}
}

// collectVersions stores new versions of shop Customers.
func (h *harness) collectVersions(vs ...store.Record) {
	h.t.Helper()
	h.collect(store.CollectBatch{System: shop, Datatype: customer, Versions: vs})
}

func (h *harness) merge(b store.MergeBatch) {
	h.t.Helper()
	if err := h.s.CommitMerge(h.ctx, b); err != nil {
		h.t.Fatalf("CommitMerge: %v", err)
	}
}

func (h *harness) share(b store.ShareBatch) {
	h.t.Helper()
	if err := h.s.CommitShare(h.ctx, b); err != nil {
		h.t.Fatalf("CommitShare: %v", err)
	}
}

// link links shop Customer id to golden as of the version with hash.
func (h *harness) link(id, golden, hash string) {
	h.t.Helper()
	h.merge(store.MergeBatch{Links: []store.Record{linkTo(shop, customer, id, golden, hash)}})
}

// record returns a stored record, failing when it is missing.
func (h *harness) record(system, datatype, id string) store.Record {
	h.t.Helper()
	got, err := h.s.GetRecords(h.ctx, system, datatype, []string{id})
	if err != nil {
		h.t.Fatalf("GetRecords: %v", err)
	}
	r, ok := got[id]
	if !ok {
		h.t.Fatalf("record %s %s %s not stored", system, datatype, id)
	}
	return r
}

// customerRecord returns the stored shop Customer id.
func (h *harness) customerRecord(id string) store.Record {
	h.t.Helper()
	return h.record(shop, customer, id)
}

func (h *harness) noRecord(system, datatype, id string) {
	h.t.Helper()
	got, err := h.s.GetRecords(h.ctx, system, datatype, []string{id})
	if err != nil {
		h.t.Fatalf("GetRecords: %v", err)
	}
	if r, ok := got[id]; ok {
		h.t.Fatalf("record %s %s %s is stored, want none: %+v", system, datatype, id, r)
	}
}

func (h *harness) golden(id string) store.Golden {
	h.t.Helper()
	got, err := h.s.GetGoldens(h.ctx, []string{id})
	if err != nil {
		h.t.Fatalf("GetGoldens: %v", err)
	}
	g, ok := got[id]
	if !ok {
		h.t.Fatalf("golden record %s not stored", id)
	}
	return g
}

func (h *harness) cursor(system, datatype string) store.Cursor {
	h.t.Helper()
	c, err := h.s.GetCursor(h.ctx, system, datatype)
	if err != nil {
		h.t.Fatalf("GetCursor: %v", err)
	}
	return c
}

// keyHolders returns FindByKeys for customers.
func (h *harness) keyHolders(name string, values ...string) map[string][]string {
	h.t.Helper()
	got, err := h.s.FindByKeys(h.ctx, "customer", name, values)
	if err != nil {
		h.t.Fatalf("FindByKeys: %v", err)
	}
	return got
}

func (h *harness) status() []store.DatatypeStatus {
	h.t.Helper()
	st, err := h.s.Status(h.ctx)
	if err != nil {
		h.t.Fatalf("Status: %v", err)
	}
	return st
}

// version is a new shop Customer version as collect stores it.
func version(id, hash string, fields map[string]any) store.Record {
	times := map[string]time.Time{}
	for f := range fields {
		times[f] = t0
	}
	return store.Record{
		Key:        store.Key{System: shop, Datatype: customer, ID: id},
		Hash:       hash,
		Fields:     fields,
		FieldTimes: times,
		Modified:   t0,
	}
}

// linkTo is a MergeBatch link of a record to golden as of hash.
func linkTo(system, datatype, id, golden, hash string) store.Record {
	return store.Record{Key: store.Key{System: system, Datatype: datatype, ID: id}, GoldenID: golden, Hash: hash}
}

// customerGolden is a golden customer with the given properties.
func customerGolden(id string, props map[string]any) store.Golden {
	prov := map[string]store.Provenance{}
	for p := range props {
		prov[p] = store.Provenance{System: shop, Datatype: customer, ID: "c-" + id, Time: t0}
	}
	return store.Golden{ID: id, Type: "customer", Props: props, Prov: prov, Dirty: true, Updated: t0}
}

func key(system, datatype, id string) store.Key {
	return store.Key{System: system, Datatype: datatype, ID: id}
}

// ids returns the record ids, in order.
func ids(recs []store.Record) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func goldenIDs(gs []store.Golden) []string {
	out := []string{}
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

// rangeIDs returns prefix00000 … for n ids, in order.
func rangeIDs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%05d", prefix, i)
	}
	return out
}

// mapKeys returns the sorted keys of m.
func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// equal fails the test when got and want differ, showing both as JSON.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got: %s\nwant: %s", what, show(got), show(want))
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return fmt.Sprintf("%s  (%#v)", b, v)
}

// sameTime fails unless got is want's instant, in UTC.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) || (!got.IsZero() && got.Location() != time.UTC) {
		t.Errorf("%s = %v, want %v in UTC", what, got, want)
	}
}

// recent fails unless got lies within [from, now] (a time the store took
// from its own clock).
func recent(t *testing.T, what string, got, from time.Time) {
	t.Helper()
	if got.Before(from.Add(-time.Second)) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("%s = %v, want the time of the commit (after %v)", what, got, from)
	}
}

// pageAll pages through a keyset listing with the given page size and
// returns every id, failing if a page repeats an id or exceeds the limit.
func pageAll[T any](t *testing.T, limit int, idOf func(T) string, list func(after string, limit int) ([]T, error)) []string {
	t.Helper()
	var out []string
	after := ""
	for range 10000 {
		page, err := list(after, limit)
		if err != nil {
			t.Fatalf("page after %q: %v", after, err)
		}
		if len(page) > limit {
			t.Fatalf("page after %q has %d items, limit %d", after, len(page), limit)
		}
		for _, it := range page {
			id := idOf(it)
			if id <= after {
				t.Fatalf("page after %q returned %q out of order", after, id)
			}
			after = id
			out = append(out, id)
		}
		if len(page) < limit {
			return out
		}
	}
	t.Fatalf("paging did not end")
	return nil
}
