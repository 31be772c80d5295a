package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/store"
)

// Run runs the conformance suite against a backend. open must return a new,
// empty store for each call and arrange for it to be closed (t.Cleanup).
// Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, &harness{t: t, ctx: context.Background(), s: open(t)})
		})
	}
}

var suite = []struct {
	name string
	run  func(t *testing.T, h *harness)
}{
	{"Records/RoundTrip", testRecordRoundTrip},
	{"Records/UnknownIDsAreAbsent", testUnknownRecords},
	{"Records/NumbersComeBackAsJSONGivesThem", testNumbers},
	{"Records/NilMapsComeBackEmpty", testNilMaps},
	{"Records/StoredValuesAreCopies", testCopies},
	{"Collect/NewVersionsArePendingAndUnlinked", testNewVersionsPending},
	{"Collect/NewVersionKeepsLinkColumns", testVersionKeepsLink},
	{"Collect/ScanGeneration", testScanGeneration},
	{"Collect/Cursor", testCollectCursor},
	{"Collect/IsAtomic", testCollectAtomic},
	{"Collect/RejectsRecordsOfAnotherDatatype", testCollectWrongDatatype},
	{"Collect/WithMergeIsCollectThenMerge", testCollectWithMerge},
	{"Collect/WithMergeIsAtomic", testCollectWithMergeAtomic},
	{"Batches/LaterEntryForTheSameKeyWins", testLaterEntryWins},
	{"Cursor/ZeroWhenNone", testZeroCursor},
	{"Cursor/Breaker", testBreaker},
	{"Merge/GoldensAreUpsertedWhole", testGoldensWhole},
	{"Merge/LinkSettlesMergedVersion", testLinkSettles},
	{"Merge/LinkKeepsPendingWhenHashMoved", testLinkHashMoved},
	{"Merge/LinkExcludes", testLinkExcludes},
	{"Merge/LinkOfUnknownRecordIsIgnored", testLinkUnknown},
	{"Merge/MatchKeysAreReplacedPerGolden", testMatchKeyReplacement},
	{"Merge/FindByKeysReportsEveryHolder", testFindByKeysAmbiguous},
	{"Merge/IsAtomic", testMergeAtomic},
	{"Events/InOrder", testEventsInOrder},
	{"DeadLetters/UpsertAndClear", testDeadLetters},
	{"Share/WrittenRecordsAreSettledAndLinked", testWritten},
	{"Share/WriteNeverLowersScanGeneration", testWrittenSeenGen},
	{"Share/UnlinkedRecordsKeepTheirRow", testUnlinked},
	{"Share/CleanGoldensLeaveDirtyList", testClean},
	{"Intents", testIntents},
	{"Intents/BatchAndOpen", testIntentBatches},
	{"Paging/PendingRecordsAcrossBatches", testPendingPaging},
	{"Paging/DirtyGoldens", testDirtyPaging},
	{"Paging/UnseenRecordsAfterFullScan", testUnseen},
	{"Paging/ListLinks", testListLinks},
	{"RecordsForGoldens", testRecordsForGoldens},
	{"LinkedIDs", testLinkedIDs},
	{"LargeIDSlices", testLargeSlices},
	{"Status", testStatus},
	{"ConnectorState/CompareAndSwap", testConnectorState},
	{"Concurrency", testConcurrency},
}

func testRecordRoundTrip(t *testing.T, h *harness) {
	cet := time.FixedZone("CET", 3600)
	v := store.Record{
		Key:  key(shop, customer, "c1"),
		Hash: "h1",
		Fields: map[string]any{
			"name":    "Zoë \"Q\" <O'Brien>\n\u0001",
			"balance": 12.5,
			"active":  true,
			"note":    nil,
			"tags":    []any{"a", 2.0, false, nil},
			"address": map[string]any{"city": "Delft", "lines": []any{"Main 1"}},
			"emoji":   "😀",
		},
		FieldTimes: map[string]time.Time{"name": at(1).In(cet), "balance": at(2)},
		Modified:   at(3).In(cet),
		Deleted:    true,
	}
	h.collectVersions(v)
	got := h.customerRecord("c1")
	equal(t, "key", got.Key, v.Key)
	equal(t, "hash", got.Hash, "h1")
	equal(t, "fields", got.Fields, v.Fields)
	equal(t, "field time names", mapKeys(got.FieldTimes), []string{"balance", "name"})
	sameTime(t, "field time name", got.FieldTimes["name"], at(1))
	sameTime(t, "field time balance", got.FieldTimes["balance"], at(2))
	sameTime(t, "modified", got.Modified, at(3))
	equal(t, "deleted", got.Deleted, true)
}

func testUnknownRecords(t *testing.T, h *harness) {
	h.collectVersions(version("c1", "h1", nil))
	got, err := h.s.GetRecords(h.ctx, shop, customer, []string{"c1", "nope", "c1", ""})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "ids found", mapKeys(got), []string{"c1"})
	other, err := h.s.GetRecords(h.ctx, erp, customer, []string{"c1"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "records of another system", len(other), 0)
	none, err := h.s.GetRecords(h.ctx, shop, customer, nil)
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("GetRecords(nil) = %v, %v; want an empty map", none, err)
	}
}

// Stores hold maps as JSON; numbers come back as a JSON decoder gives them:
// float64, except integers beyond ±2^53 that fit an int64.
func testNumbers(t *testing.T, h *harness) {
	cases := []struct {
		name string
		in   any
		want any
	}{
		{"int", 5, 5.0},
		{"int64 small", int64(-7), -7.0},
		{"int64 beyond 2^53", int64(1) << 60, int64(1) << 60},
		{"negative int64 beyond 2^53", -(int64(1) << 60), -(int64(1) << 60)},
		{"uint8", uint8(200), 200.0},
		{"float64", 0.1, 0.1},
		{"large float64", 1e300, 1e300},
		{"integral float64 beyond 2^53", float64(1 << 60), float64(1 << 60)},
		{"float32", float32(0.1), 0.1},
		{"json.Number", json.Number("42"), 42.0},
		{"json.Number fraction", json.Number("4.25"), 4.25},
		{"nested", map[string]any{"n": 3, "l": []any{int64(1)}}, map[string]any{"n": 3.0, "l": []any{1.0}}},
		{"[]string", []string{"a", "b"}, []any{"a", "b"}},
		{"time", t0, t0.Format(time.RFC3339Nano)},
	}
	fields := map[string]any{}
	for _, c := range cases {
		fields[c.name] = c.in
	}
	h.collectVersions(version("c1", "h1", fields))
	h.merge(store.MergeBatch{
		Goldens: []store.Golden{customerGolden("g1", fields)},
		Events: []store.Event{{GoldenID: "g1", Action: "merged", Props: []store.PropDecision{
			{Property: "p", Value: int64(1) << 60, Outcome: "won"},
			{Property: "q", Value: 3, Outcome: "kept"},
		}}},
	})
	rec := h.customerRecord("c1")
	g := h.golden("g1")
	for _, c := range cases {
		equal(t, "record field "+c.name, rec.Fields[c.name], c.want)
		equal(t, "golden property "+c.name, g.Props[c.name], c.want)
	}
	evs, err := h.s.EventsForGolden(h.ctx, "g1")
	if err != nil || len(evs) != 1 {
		t.Fatalf("EventsForGolden = %v, %v", evs, err)
	}
	equal(t, "decision values", []any{evs[0].Props[0].Value, evs[0].Props[1].Value}, []any{int64(1) << 60, 3.0})

	// What JSON cannot hold is refused, not stored half.
	for _, bad := range []any{math.NaN(), math.Inf(1), make(chan int)} {
		err := h.s.CommitCollect(h.ctx, store.CollectBatch{System: shop, Datatype: customer,
			Versions: []store.Record{version("bad", "h", map[string]any{"x": bad})}})
		if err == nil {
			t.Errorf("storing %v: no error", bad)
		}
	}
	h.noRecord(shop, customer, "bad")
}

func testNilMaps(t *testing.T, h *harness) {
	h.collectVersions(store.Record{Key: key(shop, customer, "c1"), Hash: "h"})
	h.merge(store.MergeBatch{Goldens: []store.Golden{{ID: "g1", Type: "customer"}}})
	r := h.customerRecord("c1")
	if r.Fields == nil || len(r.Fields) != 0 || r.FieldTimes == nil || len(r.FieldTimes) != 0 {
		t.Errorf("record maps = %#v, %#v; want empty, not nil", r.Fields, r.FieldTimes)
	}
	if !r.Modified.IsZero() {
		t.Errorf("zero modified came back as %v", r.Modified)
	}
	g := h.golden("g1")
	if g.Props == nil || len(g.Props) != 0 || g.Prov == nil || len(g.Prov) != 0 {
		t.Errorf("golden maps = %#v, %#v; want empty, not nil", g.Props, g.Prov)
	}
	if !g.Updated.IsZero() {
		t.Errorf("zero updated came back as %v", g.Updated)
	}
}

// Callers may change what they passed in or got back; the store's state
// must not change with it.
func testCopies(t *testing.T, h *harness) {
	fields := map[string]any{"name": "Ann", "address": map[string]any{"city": "Delft"}, "tags": []any{"a"}}
	v := version("c1", "h1", fields)
	h.collectVersions(v)
	g := customerGolden("g1", map[string]any{"name": "Ann", "address": map[string]any{"city": "Delft"}})
	h.merge(store.MergeBatch{Goldens: []store.Golden{g}, Events: []store.Event{{GoldenID: "g1", Action: "created",
		Props: []store.PropDecision{{Property: "address", Value: map[string]any{"city": "Delft"}}}}}})

	fields["name"] = "changed"
	fields["address"].(map[string]any)["city"] = "changed"
	fields["tags"].([]any)[0] = "changed"
	v.FieldTimes["name"] = at(99)
	g.Props["address"].(map[string]any)["city"] = "changed"
	g.Prov["name"] = store.Provenance{System: "changed"}

	got := h.customerRecord("c1")
	got.Fields["name"] = "changed again"
	got.Fields["address"].(map[string]any)["city"] = "changed again"
	got.Fields["tags"].([]any)[0] = "changed again"
	got.FieldTimes["name"] = at(99)
	gg := h.golden("g1")
	gg.Props["address"].(map[string]any)["city"] = "changed again"
	gg.Prov["name"] = store.Provenance{System: "changed again"}
	evs, _ := h.s.EventsForGolden(h.ctx, "g1")
	evs[0].Props[0].Value.(map[string]any)["city"] = "changed again"

	got = h.customerRecord("c1")
	equal(t, "fields", got.Fields, map[string]any{"name": "Ann", "address": map[string]any{"city": "Delft"}, "tags": []any{"a"}})
	sameTime(t, "field time", got.FieldTimes["name"], t0)
	gg = h.golden("g1")
	equal(t, "props", gg.Props, map[string]any{"name": "Ann", "address": map[string]any{"city": "Delft"}})
	equal(t, "provenance", gg.Prov["name"].System, shop)
	evs, _ = h.s.EventsForGolden(h.ctx, "g1")
	equal(t, "decision value", evs[0].Props[0].Value, map[string]any{"city": "Delft"})
}

func testNewVersionsPending(t *testing.T, h *harness) {
	v := version("c1", "h1", map[string]any{"name": "Ann"})
	v.GoldenID, v.BasedOn, v.Excluded, v.SeenGen = "ignored", "ignored", true, 9 // link fields are not the version's
	h.collectVersions(v)
	r := h.customerRecord("c1")
	equal(t, "pending", r.Pending, true)
	equal(t, "golden id", r.GoldenID, "")
	equal(t, "based on", r.BasedOn, "")
	equal(t, "excluded", r.Excluded, false)
	equal(t, "seen gen", r.SeenGen, int64(0))
}

func testVersionKeepsLink(t *testing.T, h *harness) {
	h.collectVersions(version("c1", "h1", map[string]any{"name": "Ann"}))
	h.merge(store.MergeBatch{Links: []store.Record{{Key: key(shop, customer, "c1"), GoldenID: "g1", Hash: "h1", Excluded: true}}})

	v2 := version("c1", "h2", map[string]any{"name": "Anne"})
	v2.GoldenID = "" // a version never unlinks
	h.collectVersions(v2)
	r := h.customerRecord("c1")
	equal(t, "hash", r.Hash, "h2")
	equal(t, "fields", r.Fields, map[string]any{"name": "Anne"})
	equal(t, "pending", r.Pending, true)
	equal(t, "golden id", r.GoldenID, "g1")
	equal(t, "based on", r.BasedOn, "h1")
	equal(t, "excluded", r.Excluded, true)
}

func testScanGeneration(t *testing.T, h *harness) {
	// A full scan stores its versions with its generation …
	h.collect(store.CollectBatch{System: shop, Datatype: customer, ScanGen: 3,
		Versions: []store.Record{version("a", "h", nil), version("b", "h", nil)}})
	equal(t, "seen gen of a scanned version", h.customerRecord("a").SeenGen, int64(3))
	// … an incremental collect leaves it alone …
	h.collectVersions(version("a", "h2", nil))
	equal(t, "seen gen after an incremental version", h.customerRecord("a").SeenGen, int64(3))
	// … and the next scan marks unchanged records seen, ignoring unknown ids.
	h.collect(store.CollectBatch{System: shop, Datatype: customer, ScanGen: 4, Seen: []string{"b", "ghost"}})
	equal(t, "seen gen of a seen record", h.customerRecord("b").SeenGen, int64(4))
	equal(t, "seen gen of a record not listed", h.customerRecord("a").SeenGen, int64(3))
	h.noRecord(shop, customer, "ghost")
}

func testCollectCursor(t *testing.T, h *harness) {
	if err := h.s.SetBreaker(h.ctx, shop, customer, "tripped"); err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	steps := []struct {
		name  string
		batch store.CollectBatch
		want  store.Cursor // LastSuccess/LastScan: zero = unset, non-zero = set by this or an earlier step
		fresh bool         // LastSuccess set by this step
		scan  bool         // LastScan set by this step
	}{
		{"first page", store.CollectBatch{PageToken: "p2"},
			store.Cursor{PageToken: "p2"}, false, false},
		{"page with cursor", store.CollectBatch{PageToken: "p3", Cursor: str("c1")},
			store.Cursor{Value: "c1", PageToken: "p3"}, false, false},
		{"last page", store.CollectBatch{Done: true},
			store.Cursor{Value: "c1", Gen: 1}, true, false},
		{"full scan done", store.CollectBatch{Done: true, FullScan: true, ScanGen: 1, Cursor: str("c2")},
			store.Cursor{Value: "c2", Gen: 2, ScanGen: 1}, true, true},
		{"cursor reset to empty", store.CollectBatch{Cursor: str("")},
			store.Cursor{Value: "", Gen: 2, ScanGen: 1}, false, false},
		{"done on the engine's clock", store.CollectBatch{Done: true, FullScan: true, ScanGen: 2, At: at(30).In(time.FixedZone("X", 7200))},
			store.Cursor{Gen: 3, ScanGen: 2}, false, false},
	}
	var lastSuccess, lastScan time.Time
	for _, st := range steps {
		before := time.Now()
		b := st.batch
		b.System, b.Datatype = shop, customer
		h.collect(b)
		got := h.cursor(shop, customer)
		want := st.want
		want.System, want.Datatype, want.Breaker = shop, customer, "tripped"
		if st.fresh {
			recent(t, st.name+": last success", got.LastSuccess, before)
			lastSuccess = got.LastSuccess
		}
		if st.scan {
			recent(t, st.name+": last scan", got.LastScan, before)
			lastScan = got.LastScan
		}
		if !st.batch.At.IsZero() {
			lastSuccess, lastScan = at(30), at(30)
			sameTime(t, st.name+": last success", got.LastSuccess, lastSuccess)
			sameTime(t, st.name+": last scan", got.LastScan, lastScan)
			lastSuccess, lastScan = got.LastSuccess, got.LastScan
		}
		want.LastSuccess, want.LastScan = lastSuccess, lastScan
		equal(t, st.name, got, want)
	}
}

// A batch that cannot be stored whole is not stored at all.
func testCollectAtomic(t *testing.T, h *harness) {
	cur := "c1"
	err := h.s.CommitCollect(h.ctx, store.CollectBatch{
		System: shop, Datatype: customer, Cursor: &cur, Done: true, Seen: []string{"x"}, ScanGen: 1,
		Versions: []store.Record{
			version("good", "h", map[string]any{"n": 1.0}),
			version("bad", "h", map[string]any{"n": math.NaN()}),
		},
	})
	if err == nil {
		t.Fatal("CommitCollect with an unstorable field: no error")
	}
	h.noRecord(shop, customer, "good")
	equal(t, "cursor", h.cursor(shop, customer), store.Cursor{System: shop, Datatype: customer})
}

// A collect batch that carries a merge leaves what CommitCollect followed
// by CommitMerge leaves.
func testCollectWithMerge(t *testing.T, h *harness) {
	// c0 is linked (excluded) before; a1 is a record of another datatype.
	h.collectVersions(version("c0", "h0", map[string]any{"n": 0.0}))
	l0 := linkTo(shop, customer, "c0", "g0", "h0")
	l0.Excluded = true
	h.merge(store.MergeBatch{Links: []store.Record{l0}})
	h.collect(store.CollectBatch{System: erp, Datatype: account, Versions: []store.Record{{Key: key(erp, account, "a1"), Hash: "ha"}}})

	cur := "c9"
	h.collect(store.CollectBatch{
		System: shop, Datatype: customer, ScanGen: 7, Seen: []string{"c0"}, Cursor: &cur, Done: true, FullScan: true,
		Versions: []store.Record{
			version("c0", "h0b", map[string]any{"n": 1.0}),
			version("c1", "h1", map[string]any{"n": 1.0}),
			version("c2", "h2", nil),
			version("c3", "h3a", map[string]any{"n": 3.0}),
			version("c3", "h3b", map[string]any{"n": 4.0}),
			version("c4", "h4", nil),
		},
		Merge: &store.MergeBatch{
			Goldens: []store.Golden{customerGolden("g1", map[string]any{"n": 1.0}), customerGolden("g0", nil)},
			Links: []store.Record{
				linkTo(shop, customer, "c0", "g0", "h0b"),    // settles, and is no longer excluded
				linkTo(shop, customer, "c1", "g1", "h1"),     // settles
				linkTo(shop, customer, "c2", "g2", "hOther"), // links, stays pending
				linkTo(shop, customer, "c3", "g3", "h3b"),    // settles the later version
				linkTo(erp, account, "a1", "g1", "ha"),       // another datatype
				linkTo(shop, customer, "ghost", "g9", "h"),   // ignored
			},
			Keys:        []store.MatchKey{{Type: "customer", Name: "n", Value: "1", GoldenID: "g1"}},
			Events:      []store.Event{{GoldenID: "g1", Key: key(shop, customer, "c1"), Action: "created"}},
			DeadLetters: []store.DeadLetter{{System: shop, Datatype: customer, Stage: "merge", Ref: "c4", Attempts: 1}},
		},
	})
	type link struct {
		Golden, BasedOn string
		Pending, Excl   bool
		SeenGen         int64
	}
	for id, want := range map[string]link{
		"c0": {"g0", "h0b", false, false, 7},
		"c1": {"g1", "h1", false, false, 7},
		"c2": {"g2", "", true, false, 7},
		"c3": {"g3", "h3b", false, false, 7},
		"c4": {"", "", true, false, 7},
	} {
		r := h.customerRecord(id)
		equal(t, id, link{r.GoldenID, r.BasedOn, r.Pending, r.Excluded, r.SeenGen}, want)
	}
	equal(t, "c0 fields", h.customerRecord("c0").Fields, map[string]any{"n": 1.0})
	equal(t, "c3 fields", h.customerRecord("c3").Fields, map[string]any{"n": 4.0})
	equal(t, "c3 hash", h.customerRecord("c3").Hash, "h3b")
	a1 := h.record(erp, account, "a1")
	equal(t, "a1", link{a1.GoldenID, a1.BasedOn, a1.Pending, a1.Excluded, a1.SeenGen}, link{"g1", "ha", false, false, 0})
	h.noRecord(shop, customer, "ghost")
	equal(t, "golden", h.golden("g1").Props, map[string]any{"n": 1.0})
	equal(t, "keys", h.keyHolders("n", "1"), map[string][]string{"1": {"g1"}})
	evs, err := h.s.EventsForRecord(h.ctx, key(shop, customer, "c1"))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "events", len(evs), 1)
	dls, err := h.s.DeadLetters(h.ctx, shop, customer)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "dead letters", len(dls), 1)
	c := h.cursor(shop, customer)
	equal(t, "cursor", []any{c.Value, c.Gen, c.ScanGen}, []any{"c9", int64(1), int64(7)})
	pend, err := h.s.PendingRecords(h.ctx, shop, customer, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "pending", ids(pend), []string{"c2", "c4"})
}

// A merge that cannot be stored fails the collect batch that carries it:
// neither the versions nor the cursor are stored.
func testCollectWithMergeAtomic(t *testing.T, h *harness) {
	cur := "c1"
	err := h.s.CommitCollect(h.ctx, store.CollectBatch{
		System: shop, Datatype: customer, Cursor: &cur, Done: true,
		Versions: []store.Record{version("c1", "h1", nil)},
		Merge: &store.MergeBatch{
			Goldens: []store.Golden{customerGolden("g1", nil), customerGolden("g2", map[string]any{"x": math.NaN()})},
			Links:   []store.Record{linkTo(shop, customer, "c1", "g1", "h1")},
			Events:  []store.Event{{GoldenID: "g1", Action: "created"}},
		},
	})
	if err == nil {
		t.Fatal("CommitCollect with an unstorable merge: no error")
	}
	h.noRecord(shop, customer, "c1")
	gs, err := h.s.GetGoldens(h.ctx, []string{"g1", "g2"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "goldens", len(gs), 0)
	equal(t, "cursor", h.cursor(shop, customer), store.Cursor{System: shop, Datatype: customer})
	evs, err := h.s.EventsForGolden(h.ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "events", len(evs), 0)
}

func testCollectWrongDatatype(t *testing.T, h *harness) {
	for _, k := range []store.Key{key(erp, customer, "c1"), key(shop, account, "c1"), key(shop, customer, "")} {
		err := h.s.CommitCollect(h.ctx, store.CollectBatch{System: shop, Datatype: customer,
			Versions: []store.Record{{Key: k, Hash: "h"}}})
		if err == nil {
			t.Errorf("version %+v in a batch for %s %s: no error", k, shop, customer)
		}
	}
	// Key fields left empty take the batch's.
	h.collect(store.CollectBatch{System: shop, Datatype: customer, Versions: []store.Record{{Key: store.Key{ID: "c2"}, Hash: "h"}}})
	equal(t, "key", h.customerRecord("c2").Key, key(shop, customer, "c2"))
}

// A batch may name the same record or golden record twice; entries apply
// in order, so the later one wins.
func testLaterEntryWins(t *testing.T, h *harness) {
	h.collectVersions(version("c1", "h1", map[string]any{"n": 1.0}), version("c2", "h1", nil), version("c1", "h2", map[string]any{"n": 2.0}))
	r := h.customerRecord("c1")
	equal(t, "version", []any{r.Hash, r.Fields["n"]}, []any{"h2", 2.0})

	h.merge(store.MergeBatch{Goldens: []store.Golden{
		customerGolden("g1", map[string]any{"n": 1.0}), customerGolden("g2", nil), customerGolden("g1", map[string]any{"n": 2.0}),
	}})
	equal(t, "golden", h.golden("g1").Props, map[string]any{"n": 2.0})

	w1, w2 := version("c3", "h1", nil), version("c3", "h2", nil)
	w1.GoldenID, w2.GoldenID = "g1", "g2"
	h.share(store.ShareBatch{Written: []store.Record{w1, w2}})
	r = h.customerRecord("c3")
	equal(t, "written", []string{r.Hash, r.GoldenID, r.BasedOn}, []string{"h2", "g2", "h2"})
}

func testZeroCursor(t *testing.T, h *harness) {
	equal(t, "cursor", h.cursor(erp, account), store.Cursor{System: erp, Datatype: account})
}

func testBreaker(t *testing.T, h *harness) {
	cur := "c9"
	h.collect(store.CollectBatch{System: shop, Datatype: customer, Cursor: &cur, PageToken: "p", Done: true})
	before := h.cursor(shop, customer)
	if err := h.s.SetBreaker(h.ctx, shop, customer, "would delete 90 of 100"); err != nil {
		t.Fatal(err)
	}
	tripped := h.cursor(shop, customer)
	equal(t, "breaker", tripped.Breaker, "would delete 90 of 100")
	tripped.Breaker = ""
	equal(t, "cursor beside the breaker", tripped, before)
	if err := h.s.SetBreaker(h.ctx, shop, customer, ""); err != nil {
		t.Fatal(err)
	}
	equal(t, "closed", h.cursor(shop, customer), before)
}

func testGoldensWhole(t *testing.T, h *harness) {
	cet := time.FixedZone("CET", 3600)
	g := customerGolden("g1", map[string]any{"name": "Ann", "email": "ann@example.com"})
	g.Prov["name"] = store.Provenance{System: erp, Datatype: account, ID: "a1", Time: at(5).In(cet)}
	g.Updated = at(6).In(cet)
	h.merge(store.MergeBatch{Goldens: []store.Golden{g}})
	got := h.golden("g1")
	equal(t, "props", got.Props, g.Props)
	equal(t, "type", got.Type, "customer")
	equal(t, "dirty", got.Dirty, true)
	sameTime(t, "updated", got.Updated, at(6))
	equal(t, "provenance names", mapKeys(got.Prov), []string{"email", "name"})
	p := got.Prov["name"]
	sameTime(t, "provenance time", p.Time, at(5))
	p.Time = time.Time{}
	equal(t, "provenance", p, store.Provenance{System: erp, Datatype: account, ID: "a1"})

	// A second upsert replaces, it does not merge.
	g2 := store.Golden{ID: "g1", Type: "customer", Props: map[string]any{"vat": "NL1"}, Deleted: true, Updated: at(7)}
	h.merge(store.MergeBatch{Goldens: []store.Golden{g2}})
	got = h.golden("g1")
	equal(t, "props after replace", got.Props, map[string]any{"vat": "NL1"})
	equal(t, "provenance after replace", len(got.Prov), 0)
	equal(t, "deleted", got.Deleted, true)
	equal(t, "dirty after replace", got.Dirty, false)
}

func testLinkSettles(t *testing.T, h *harness) {
	h.collectVersions(version("c1", "h1", nil))
	h.link("c1", "g1", "h1")
	r := h.customerRecord("c1")
	equal(t, "golden id", r.GoldenID, "g1")
	equal(t, "based on", r.BasedOn, "h1")
	equal(t, "pending", r.Pending, false)
}

// A version collected while the previous one was being merged stays
// pending: the merge reflected h1, not h2. The link itself holds.
func testLinkHashMoved(t *testing.T, h *harness) {
	h.collectVersions(version("c1", "h1", nil))
	h.collectVersions(version("c1", "h2", nil))
	h.link("c1", "g1", "h1")
	r := h.customerRecord("c1")
	equal(t, "golden id", r.GoldenID, "g1")
	equal(t, "hash", r.Hash, "h2")
	equal(t, "based on", r.BasedOn, "")
	equal(t, "pending", r.Pending, true)

	// The next merge settles h2.
	h.link("c1", "g1", "h2")
	r = h.customerRecord("c1")
	equal(t, "based on after the next merge", r.BasedOn, "h2")
	equal(t, "pending after the next merge", r.Pending, false)
}

func testLinkExcludes(t *testing.T, h *harness) {
	h.collectVersions(version("c1", "h1", nil))
	h.link("c1", "g1", "h1")
	l := linkTo(shop, customer, "c1", "g1", "h1")
	l.Excluded = true
	h.merge(store.MergeBatch{Links: []store.Record{l}})
	r := h.customerRecord("c1")
	equal(t, "excluded", r.Excluded, true)
	equal(t, "golden id", r.GoldenID, "g1")
	l.Excluded = false
	h.merge(store.MergeBatch{Links: []store.Record{l}})
	equal(t, "excluded after relink", h.customerRecord("c1").Excluded, false)
}

func testLinkUnknown(t *testing.T, h *harness) {
	h.link("ghost", "g1", "h1")
	h.noRecord(shop, customer, "ghost")
}

func testMatchKeyReplacement(t *testing.T, h *harness) {
	mk := func(name, value, golden string) store.MatchKey {
		return store.MatchKey{Type: "customer", Name: name, Value: value, GoldenID: golden}
	}
	h.merge(store.MergeBatch{
		KeysFor: []string{"g1", "g2"},
		Keys: []store.MatchKey{
			mk("email", "a@x", "g1"), mk("vat", "NL1", "g1"),
			mk("email", "a@x", "g2"), mk("email", "b@x", "g2"),
			{Type: "contact", Name: "email", Value: "c@x", GoldenID: "p1"},
			mk("email", "", "g1"), // empty values are no keys
		},
	})
	equal(t, "email holders", h.keyHolders("email", "a@x", "b@x", "c@x", ""),
		map[string][]string{"a@x": {"g1", "g2"}, "b@x": {"g2"}})
	equal(t, "vat holders", h.keyHolders("vat", "NL1"), map[string][]string{"NL1": {"g1"}})

	// g1's keys are replaced; g2's stay as they are.
	h.merge(store.MergeBatch{KeysFor: []string{"g1"}, Keys: []store.MatchKey{mk("email", "new@x", "g1")}})
	equal(t, "email holders after g1 changed", h.keyHolders("email", "a@x", "b@x", "new@x"),
		map[string][]string{"a@x": {"g2"}, "b@x": {"g2"}, "new@x": {"g1"}})
	equal(t, "vat holders after g1 changed", h.keyHolders("vat", "NL1"), map[string][]string{})

	// Listing a golden record without keys removes all of its keys.
	h.merge(store.MergeBatch{KeysFor: []string{"g2"}})
	equal(t, "email holders after g2 lost its keys", h.keyHolders("email", "a@x", "b@x", "new@x"),
		map[string][]string{"new@x": {"g1"}})

	// Keys of golden records not in KeysFor are added.
	h.merge(store.MergeBatch{Keys: []store.MatchKey{mk("email", "extra@x", "g1")}})
	equal(t, "keys added without KeysFor", h.keyHolders("email", "new@x", "extra@x"),
		map[string][]string{"new@x": {"g1"}, "extra@x": {"g1"}})

	// Other types keep theirs.
	got, err := h.s.FindByKeys(h.ctx, "contact", "email", []string{"c@x", "a@x"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "contact holders", got, map[string][]string{"c@x": {"p1"}})
}

func testFindByKeysAmbiguous(t *testing.T, h *harness) {
	var keys []store.MatchKey
	for _, g := range []string{"g3", "g1", "g2"} {
		keys = append(keys, store.MatchKey{Type: "customer", Name: "name+postcode", Value: "ann|2611", GoldenID: g})
	}
	keys = append(keys, keys[0]) // a repeated key is stored once
	h.merge(store.MergeBatch{Keys: keys})
	equal(t, "holders", h.keyHolders("name+postcode", "ann|2611", "ann|2611", "bob|1000"),
		map[string][]string{"ann|2611": {"g1", "g2", "g3"}})
}

func testMergeAtomic(t *testing.T, h *harness) {
	h.collectVersions(version("c1", "h1", nil))
	err := h.s.CommitMerge(h.ctx, store.MergeBatch{
		Goldens:     []store.Golden{customerGolden("g1", nil), customerGolden("g2", map[string]any{"x": math.Inf(-1)})},
		Links:       []store.Record{linkTo(shop, customer, "c1", "g1", "h1")},
		Keys:        []store.MatchKey{{Type: "customer", Name: "email", Value: "a@x", GoldenID: "g1"}},
		Events:      []store.Event{{GoldenID: "g1", Action: "created"}},
		DeadLetters: []store.DeadLetter{{System: shop, Datatype: customer, Stage: "map", Ref: "c9", Attempts: 1}},
	})
	if err == nil {
		t.Fatal("CommitMerge with an unstorable property: no error")
	}
	gs, err := h.s.GetGoldens(h.ctx, []string{"g1", "g2"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "goldens", len(gs), 0)
	equal(t, "link", h.customerRecord("c1").GoldenID, "")
	equal(t, "keys", h.keyHolders("email", "a@x"), map[string][]string{})
	evs, err := h.s.EventsForGolden(h.ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "events", len(evs), 0)
	dls, err := h.s.DeadLetters(h.ctx, shop, customer)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "dead letters", len(dls), 0)
}

func testEventsInOrder(t *testing.T, h *harness) {
	c1, c2 := key(shop, customer, "c1"), key(erp, account, "a1")
	before := time.Now()
	h.merge(store.MergeBatch{Events: []store.Event{
		{At: at(1), GoldenID: "g1", Key: c1, Action: "created", Detail: "new golden record",
			Props: []store.PropDecision{{Property: "name", Value: "Ann", Outcome: "won", Reason: "only value"}}},
		{At: at(1), GoldenID: "g2", Key: key(shop, customer, "c7"), Action: "created", Seq: 999}, // Seq is the store's
		{At: at(2), GoldenID: "g1", Key: c2, Action: "matched"},
	}})
	h.share(store.ShareBatch{Events: []store.Event{
		{GoldenID: "g1", Key: c1, Action: "updated", Detail: "wrote name"}, // no time: the store's clock
	}})
	h.merge(store.MergeBatch{Events: []store.Event{{At: at(0), GoldenID: "g1", Key: c2, Action: "merged"}}})

	evs, err := h.s.EventsForGolden(h.ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for i, e := range evs {
		actions = append(actions, e.Action)
		if i > 0 && e.Seq <= evs[i-1].Seq {
			t.Errorf("event %d has seq %d after %d", i, e.Seq, evs[i-1].Seq)
		}
	}
	// Order is commit order (Seq), not the events' own times.
	equal(t, "actions of g1", actions, []string{"created", "matched", "updated", "merged"})
	if len(evs) == 4 {
		first := evs[0]
		sameTime(t, "first event time", first.At, at(1))
		first.At, first.Seq = time.Time{}, 0
		equal(t, "first event", first, store.Event{GoldenID: "g1", Key: c1, Action: "created", Detail: "new golden record",
			Props: []store.PropDecision{{Property: "name", Value: "Ann", Outcome: "won", Reason: "only value"}}})
		equal(t, "props of an event without decisions", len(evs[1].Props), 0)
		recent(t, "time of an event without one", evs[2].At, before)
	}

	recEvs, err := h.s.EventsForRecord(h.ctx, c2)
	if err != nil {
		t.Fatal(err)
	}
	actions = nil
	for _, e := range recEvs {
		actions = append(actions, e.Action)
	}
	equal(t, "actions of erp account a1", actions, []string{"matched", "merged"})
	g2, err := h.s.EventsForGolden(h.ctx, "g2")
	if err != nil {
		t.Fatal(err)
	}
	if len(g2) != 1 || g2[0].Seq == 999 || g2[0].Seq <= evs[0].Seq {
		t.Errorf("events of g2 = %+v; want one with a store-assigned seq", g2)
	}
	none, err := h.s.EventsForGolden(h.ctx, "nope")
	if err != nil || len(none) != 0 {
		t.Errorf("EventsForGolden(unknown) = %v, %v; want none", none, err)
	}
}

func testDeadLetters(t *testing.T, h *harness) {
	dl := func(system, datatype, stage, ref string, attempts int, parked bool) store.DeadLetter {
		return store.DeadLetter{System: system, Datatype: datatype, Stage: stage, Ref: ref,
			Reason: fmt.Sprintf("attempt %d failed", attempts), Attempts: attempts, Parked: parked, First: at(1), Last: at(attempts)}
	}
	h.merge(store.MergeBatch{DeadLetters: []store.DeadLetter{
		dl(shop, customer, "map", "c1", 1, false),
		dl(shop, customer, "merge", "c1", 1, false), // same ref, other stage: its own letter
		dl(shop, customer, "map", "c2", 1, false),
		dl(erp, account, "write", "g1", 1, false),
	}})
	// Upsert: attempts as given, the letter replaced whole.
	h.share(store.ShareBatch{DeadLetters: []store.DeadLetter{dl(shop, customer, "map", "c1", 3, true)}})

	got, err := h.s.GetDeadLetters(h.ctx, shop, customer, "map", []string{"c1", "c2", "c3"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "refs", mapKeys(got), []string{"c1", "c2"})
	c1 := got["c1"]
	sameTime(t, "first", c1.First, at(1))
	sameTime(t, "last", c1.Last, at(3))
	c1.First, c1.Last = time.Time{}, time.Time{}
	equal(t, "upserted letter", c1, store.DeadLetter{System: shop, Datatype: customer, Stage: "map", Ref: "c1",
		Reason: "attempt 3 failed", Attempts: 3, Parked: true})

	list, err := h.s.DeadLetters(h.ctx, shop, customer)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range list {
		names = append(names, d.Stage+"/"+d.Ref)
	}
	equal(t, "letters of shop Customer", names, []string{"map/c1", "map/c2", "merge/c1"})

	// Cleared by key; the other fields of the cleared letter do not matter.
	h.merge(store.MergeBatch{Cleared: []store.DeadLetter{{System: shop, Datatype: customer, Stage: "map", Ref: "c1"}}})
	h.share(store.ShareBatch{Cleared: []store.DeadLetter{{System: erp, Datatype: account, Stage: "write", Ref: "g1", Attempts: 7}}})
	all, err := h.s.DeadLetters(h.ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, d := range all {
		names = append(names, d.System+"/"+d.Datatype+"/"+d.Stage+"/"+d.Ref)
	}
	equal(t, "all letters after clearing", names, []string{"shop/Customer/map/c2", "shop/Customer/merge/c1"})
}

func testWritten(t *testing.T, h *harness) {
	// Inserted: a new row, linked and settled.
	w := version("c1", "h1", map[string]any{"name": "Ann"})
	w.Key = key(erp, account, "a1")
	w.GoldenID = "g1"
	w.Pending = true // ignored: a written record is settled
	h.share(store.ShareBatch{Written: []store.Record{w}})
	r := h.record(erp, account, "a1")
	equal(t, "fields", r.Fields, map[string]any{"name": "Ann"})
	equal(t, "golden id", r.GoldenID, "g1")
	equal(t, "based on", r.BasedOn, "h1")
	equal(t, "pending", r.Pending, false)
	sameTime(t, "modified", r.Modified, t0)

	// Updated: content and link replaced, pending cleared.
	h.collect(store.CollectBatch{System: erp, Datatype: account, Versions: []store.Record{{Key: key(erp, account, "a1"), Hash: "h2"}}})
	w2 := w
	w2.Hash, w2.Fields, w2.Modified = "h3", map[string]any{"name": "Anne"}, at(3)
	h.share(store.ShareBatch{Written: []store.Record{w2}})
	r = h.record(erp, account, "a1")
	equal(t, "fields after update", r.Fields, map[string]any{"name": "Anne"})
	equal(t, "hash after update", r.Hash, "h3")
	equal(t, "based on after update", r.BasedOn, "h3")
	equal(t, "pending after update", r.Pending, false)
	sameTime(t, "modified after update", r.Modified, at(3))

	// The link is the written one, relinked or excluded included.
	w4 := w2
	w4.GoldenID, w4.Excluded = "g2", true
	h.share(store.ShareBatch{Written: []store.Record{w4}})
	r = h.record(erp, account, "a1")
	equal(t, "golden id after relink", r.GoldenID, "g2")
	equal(t, "excluded", r.Excluded, true)

	// A written tombstone (delete propagated).
	w3 := w2
	w3.Deleted, w3.Hash = true, "deleted:h3"
	h.share(store.ShareBatch{Written: []store.Record{w3}})
	r = h.record(erp, account, "a1")
	equal(t, "deleted", r.Deleted, true)
	equal(t, "based on tombstone", r.BasedOn, "deleted:h3")

	if err := h.s.CommitShare(h.ctx, store.ShareBatch{Written: []store.Record{{Key: store.Key{ID: "x"}, Hash: "h"}}}); err == nil {
		t.Error("written record without system and datatype: no error")
	}
}

// A record listed by a running full scan and then written must not look
// missing when the scan ends.
func testWrittenSeenGen(t *testing.T, h *harness) {
	h.collect(store.CollectBatch{System: shop, Datatype: customer, ScanGen: 5, Versions: []store.Record{version("c1", "h1", nil)}})
	w := version("c1", "h2", nil)
	w.GoldenID = "g1"
	h.share(store.ShareBatch{Written: []store.Record{w}})
	equal(t, "seen gen", h.customerRecord("c1").SeenGen, int64(5))
	w.SeenGen = 6
	h.share(store.ShareBatch{Written: []store.Record{w}})
	equal(t, "seen gen raised by the writer", h.customerRecord("c1").SeenGen, int64(6))
}

func testUnlinked(t *testing.T, h *harness) {
	h.collectVersions(version("c1", "h1", map[string]any{"name": "Ann"}))
	h.link("c1", "g1", "h1")
	h.share(store.ShareBatch{Unlinked: []store.Key{key(shop, customer, "c1"), key(shop, customer, "ghost")}})
	r := h.customerRecord("c1")
	equal(t, "golden id", r.GoldenID, "")
	equal(t, "fields", r.Fields, map[string]any{"name": "Ann"})
	equal(t, "based on", r.BasedOn, "h1")
	h.noRecord(shop, customer, "ghost")
	recs, err := h.s.RecordsForGoldens(h.ctx, []string{"g1"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "records of g1", len(recs["g1"]), 0)
}

func testClean(t *testing.T, h *harness) {
	h.merge(store.MergeBatch{Goldens: []store.Golden{customerGolden("g1", nil), customerGolden("g2", nil)}})
	h.share(store.ShareBatch{Clean: []string{"g1", "ghost"}})
	equal(t, "g1 dirty", h.golden("g1").Dirty, false)
	equal(t, "g2 dirty", h.golden("g2").Dirty, true)
	dirty, err := h.s.DirtyGoldens(h.ctx, "customer", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "dirty", goldenIDs(dirty), []string{"g2"})
}

func testIntents(t *testing.T, h *harness) {
	put := func(in store.Intent) {
		t.Helper()
		if err := h.s.PutIntent(h.ctx, in); err != nil {
			t.Fatalf("PutIntent: %v", err)
		}
	}
	put(store.Intent{ID: "i2", GoldenID: "g1", System: erp, Datatype: account, Gen: 4, CreatedAt: at(2)})
	put(store.Intent{ID: "i1", GoldenID: "g1", System: shop, Datatype: customer, Gen: 1, CreatedAt: at(1)})
	put(store.Intent{ID: "i3", GoldenID: "g2", System: erp, Datatype: account, Gen: 4, CreatedAt: at(1)})
	before := time.Now()
	put(store.Intent{ID: "i4", GoldenID: "g3", System: erp, Datatype: account}) // no time: the store's clock
	if err := h.s.PutIntent(h.ctx, store.Intent{GoldenID: "g1"}); err == nil {
		t.Error("intent without an id: no error")
	}

	got, err := h.s.Intents(h.ctx, []string{"g1", "g2", "g3", "g9"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "golden ids", mapKeys(got), []string{"g1", "g2", "g3"})
	if len(got["g1"]) == 2 {
		i := got["g1"][0]
		sameTime(t, "created", i.CreatedAt, at(1))
		i.CreatedAt = time.Time{}
		equal(t, "first intent of g1", i, store.Intent{ID: "i1", GoldenID: "g1", System: shop, Datatype: customer, Gen: 1})
		equal(t, "second intent of g1", got["g1"][1].ID, "i2")
	} else {
		t.Errorf("intents of g1 = %+v, want i1, i2", got["g1"])
	}
	if len(got["g3"]) == 1 {
		recent(t, "created of an intent without a time", got["g3"][0].CreatedAt, before)
	}

	// Putting an intent again replaces it.
	put(store.Intent{ID: "i3", GoldenID: "g2", System: erp, Datatype: account, Gen: 5, CreatedAt: at(1)})
	got, _ = h.s.Intents(h.ctx, []string{"g2"})
	if len(got["g2"]) != 1 || got["g2"][0].Gen != 5 {
		t.Errorf("intents of g2 after replacing = %+v", got["g2"])
	}

	h.share(store.ShareBatch{IntentsDone: []string{"i1", "i3", "ghost"}})
	got, err = h.s.Intents(h.ctx, []string{"g1", "g2"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "golden ids after done", mapKeys(got), []string{"g1"})
	equal(t, "intents of g1 after done", len(got["g1"]), 1)
}

func testIntentBatches(t *testing.T, h *harness) {
	insert := func(id, golden string, created int) store.Intent {
		return store.Intent{ID: id, GoldenID: golden, System: erp, Datatype: account, Gen: 2, CreatedAt: at(created),
			Fingerprint: "fp-" + id}
	}
	update := store.Intent{ID: "u1", GoldenID: "g3", System: erp, Datatype: account, CreatedAt: at(1),
		RecordID: "a7", Fields: map[string]any{"Name": "Ann", "Count": 3, "Tags": []string{"x"}}}
	if err := h.s.PutIntents(h.ctx, nil); err != nil {
		t.Fatalf("PutIntents(nil): %v", err)
	}
	if err := h.s.PutIntents(h.ctx, []store.Intent{insert("i2", "g1", 2), insert("i1", "g2", 2), update,
		insert("i0", "g1", 3), {ID: "other", GoldenID: "g1", System: shop, Datatype: customer, CreatedAt: at(0)}}); err != nil {
		t.Fatal(err)
	}
	update.Fields["Name"] = "changed" // the store keeps its own copy

	open, err := h.s.OpenIntents(h.ctx, erp, account)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, in := range open {
		order = append(order, in.ID)
	}
	equal(t, "open intents of erp Account, oldest first", order, []string{"u1", "i1", "i2", "i0"})
	if len(open) == 4 {
		u := open[0]
		sameTime(t, "created", u.CreatedAt, at(1))
		u.CreatedAt = time.Time{}
		equal(t, "update intent", u, store.Intent{ID: "u1", GoldenID: "g3", System: erp, Datatype: account, RecordID: "a7",
			Fields: map[string]any{"Name": "Ann", "Count": 3.0, "Tags": []any{"x"}}})
		equal(t, "fingerprint", open[1].Fingerprint, "fp-i1")
		equal(t, "fields of an insert intent", len(open[1].Fields), 0)
		open[0].Fields["Name"] = "changed again"
	}
	byGolden, err := h.s.Intents(h.ctx, []string{"g3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(byGolden["g3"]) == 1 {
		equal(t, "update intent fields by golden", byGolden["g3"][0].Fields["Name"], "Ann")
	} else {
		t.Errorf("intents of g3 = %+v", byGolden["g3"])
	}
	none, err := h.s.OpenIntents(h.ctx, erp, customer)
	if err != nil || len(none) != 0 {
		t.Errorf("OpenIntents of a datatype without any = %v, %v", none, err)
	}

	// All or nothing: an invalid intent fails the batch.
	err = h.s.PutIntents(h.ctx, []store.Intent{insert("i9", "g9", 9), {GoldenID: "g9"}})
	if err == nil {
		t.Error("PutIntents with an intent without an id: no error")
	}
	got, err := h.s.Intents(h.ctx, []string{"g9"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "intents of the failed batch", len(got), 0)
}

func testPendingPaging(t *testing.T, h *harness) {
	// 25 records in three batches; every third one merged.
	all := rangeIDs("c", 25)
	for _, part := range [][]string{all[:9], all[9:17], all[17:]} {
		var vs []store.Record
		for _, id := range part {
			vs = append(vs, version(id, "h", nil))
		}
		h.collectVersions(vs...)
	}
	var links []store.Record
	var want []string
	for i, id := range all {
		if i%3 == 0 {
			links = append(links, linkTo(shop, customer, id, "g"+id, "h"))
		} else {
			want = append(want, id)
		}
	}
	h.merge(store.MergeBatch{Links: links})
	// Another datatype's pending records are not listed.
	h.collect(store.CollectBatch{System: shop, Datatype: account, Versions: []store.Record{{Key: key(shop, account, "c00001x"), Hash: "h"}}})

	list := func(after string, limit int) ([]store.Record, error) {
		return h.s.PendingRecords(h.ctx, shop, customer, after, limit)
	}
	idOf := func(r store.Record) string { return r.ID }
	for _, limit := range []int{1, 4, 16, 100} {
		equal(t, fmt.Sprintf("pending ids, pages of %d", limit), pageAll(t, limit, idOf, list), want)
	}
	everything, err := list("", 0)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "pending ids, no limit", ids(everything), want)
	if len(everything) > 0 && !everything[0].Pending {
		t.Error("a pending record came back with Pending false")
	}
}

func testDirtyPaging(t *testing.T, h *harness) {
	var gs []store.Golden
	var wantCustomers, wantAll []string
	for i, id := range rangeIDs("g", 20) {
		g := customerGolden(id, nil)
		if i%2 == 1 {
			g.Type = "contact"
		}
		g.Dirty = i%5 != 0
		gs = append(gs, g)
		if g.Dirty {
			wantAll = append(wantAll, id)
			if g.Type == "customer" {
				wantCustomers = append(wantCustomers, id)
			}
		}
	}
	h.merge(store.MergeBatch{Goldens: gs[:7]})
	h.merge(store.MergeBatch{Goldens: gs[7:]})
	idOf := func(g store.Golden) string { return g.ID }
	for _, limit := range []int{1, 3, 50} {
		equal(t, fmt.Sprintf("dirty customers, pages of %d", limit), pageAll(t, limit, idOf, func(after string, limit int) ([]store.Golden, error) {
			return h.s.DirtyGoldens(h.ctx, "customer", after, limit)
		}), wantCustomers)
		equal(t, fmt.Sprintf("dirty goldens of every type, pages of %d", limit), pageAll(t, limit, idOf, func(after string, limit int) ([]store.Golden, error) {
			return h.s.DirtyGoldens(h.ctx, "", after, limit)
		}), wantAll)
	}
}

func testUnseen(t *testing.T, h *harness) {
	// Before the scan: a..f stored by incremental collects, d deleted.
	var vs []store.Record
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		vs = append(vs, version(id, "h1", nil))
	}
	vs[3].Deleted = true
	h.collectVersions(vs...)
	// The scan (generation 1) lists a (changed) and b, c (unchanged), over two pages.
	h.collect(store.CollectBatch{System: shop, Datatype: customer, ScanGen: 1, PageToken: "p2",
		Versions: []store.Record{version("a", "h2", nil)}, Seen: []string{"b"}})
	h.collect(store.CollectBatch{System: shop, Datatype: customer, ScanGen: 1, Seen: []string{"c"}, Done: true, FullScan: true})
	equal(t, "scan gen", h.cursor(shop, customer).ScanGen, int64(1))

	list := func(after string, limit int) ([]store.Record, error) {
		return h.s.UnseenRecords(h.ctx, shop, customer, 1, after, limit)
	}
	idOf := func(r store.Record) string { return r.ID }
	equal(t, "unseen, pages of 1", pageAll(t, 1, idOf, list), []string{"e", "f"})
	equal(t, "unseen, pages of 10", pageAll(t, 10, idOf, list), []string{"e", "f"})
	older, err := h.s.UnseenRecords(h.ctx, shop, customer, 0, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "unseen below generation 0", len(older), 0)
	other, err := h.s.UnseenRecords(h.ctx, erp, customer, 1, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "unseen of another system", len(other), 0)
}

func testListLinks(t *testing.T, h *harness) {
	for _, dt := range []struct{ system, datatype string }{{shop, customer}, {erp, account}, {erp, customer}} {
		var vs, links []store.Record
		for i, id := range rangeIDs("r", 12) {
			vs = append(vs, store.Record{Key: key(dt.system, dt.datatype, id), Hash: "h"})
			if i%4 != 1 {
				links = append(links, linkTo(dt.system, dt.datatype, id, "g"+id, "h"))
			}
		}
		slices.Reverse(vs) // stored out of id order
		h.collect(store.CollectBatch{System: dt.system, Datatype: dt.datatype, Versions: vs[:5]})
		h.collect(store.CollectBatch{System: dt.system, Datatype: dt.datatype, Versions: vs[5:]})
		h.merge(store.MergeBatch{Links: links})
	}
	var want []string
	for i, id := range rangeIDs("r", 12) {
		if i%4 != 1 {
			want = append(want, id)
		}
	}
	idOf := func(r store.Record) string { return r.ID }
	for _, limit := range []int{2, 5, 20} {
		equal(t, fmt.Sprintf("links of erp Account, pages of %d", limit), pageAll(t, limit, idOf, func(after string, limit int) ([]store.Record, error) {
			return h.s.ListLinks(h.ctx, erp, account, after, limit)
		}), want)
	}

	all, err := h.s.ListLinks(h.ctx, "", "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range all {
		got = append(got, r.System+"/"+r.Datatype+"/"+r.ID)
	}
	var wantAll []string
	for _, dt := range []string{"erp/Account/", "erp/Customer/", "shop/Customer/"} {
		for _, id := range want {
			wantAll = append(wantAll, dt+id)
		}
	}
	equal(t, "every link", got, wantAll)
	first, err := h.s.ListLinks(h.ctx, "", "", "", 3)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "first links", len(first), 3)
	if _, err := h.s.ListLinks(h.ctx, "", "", "r00003", 3); err == nil {
		t.Error("ListLinks of every system datatype after an id: no error")
	}
}

func testRecordsForGoldens(t *testing.T, h *harness) {
	h.collect(store.CollectBatch{System: shop, Datatype: customer, Versions: []store.Record{
		version("c2", "h", nil), version("c1", "h", nil), version("c3", "h", nil), version("c4", "h", nil)}})
	h.collect(store.CollectBatch{System: erp, Datatype: account, Versions: []store.Record{{Key: key(erp, account, "a1"), Hash: "h"}}})
	h.merge(store.MergeBatch{Links: []store.Record{
		linkTo(shop, customer, "c2", "g1", "h"),
		linkTo(erp, account, "a1", "g1", "h"),
		linkTo(shop, customer, "c1", "g1", "h"),
		linkTo(shop, customer, "c3", "g2", "h"),
	}})
	got, err := h.s.RecordsForGoldens(h.ctx, []string{"g1", "g2", "g9", "g1", ""})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for g, recs := range got {
		for _, r := range recs {
			keys[g] = append(keys[g], r.System+"/"+r.Datatype+"/"+r.ID)
			if r.GoldenID != g {
				t.Errorf("record %v of %s has golden id %q", r.Key, g, r.GoldenID)
			}
		}
	}
	equal(t, "records per golden", keys, map[string][]string{
		"g1": {"erp/Account/a1", "shop/Customer/c1", "shop/Customer/c2"},
		"g2": {"shop/Customer/c3"},
	})
}

func testLinkedIDs(t *testing.T, h *harness) {
	h.collect(store.CollectBatch{System: shop, Datatype: customer, Versions: []store.Record{
		version("c2", "h", nil), version("c1", "h", nil), version("c3", "h", nil), version("c4", "h", nil), version("c5", "h", nil)}})
	h.collect(store.CollectBatch{System: erp, Datatype: account, Versions: []store.Record{{Key: key(erp, account, "a1"), Hash: "h"}}})
	excluded := linkTo(shop, customer, "c4", "g3", "h")
	excluded.Excluded = true
	h.merge(store.MergeBatch{Links: []store.Record{
		linkTo(shop, customer, "c2", "g1", "h"),
		linkTo(erp, account, "a1", "g1", "h"),
		linkTo(shop, customer, "c1", "g1", "h"),
		linkTo(shop, customer, "c3", "g2", "h"),
		excluded,
		linkTo(erp, account, "a1", "g4", "h"), // a1 moves to g4
	}})
	got, err := h.s.LinkedIDs(h.ctx, shop, customer, []string{"g1", "g2", "g3", "g4", "g9", "g1", ""})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "shop customers per golden", got, map[string][]string{"g1": {"c1", "c2"}, "g2": {"c3"}})
	got, err = h.s.LinkedIDs(h.ctx, erp, account, []string{"g1", "g4"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "erp accounts per golden", got, map[string][]string{"g4": {"a1"}})
}

// Backends split long id lists (SQLite allows 999 or 32766 variables per
// statement); every method must take a few thousand ids, repeats included.
func testLargeSlices(t *testing.T, h *harness) {
	const n = 2500
	recIDs := rangeIDs("c", n)
	gIDs := rangeIDs("g", n/2)
	var vs, links []store.Record
	var gs []store.Golden
	var keys []store.MatchKey
	var dls []store.DeadLetter
	for i, id := range recIDs {
		vs = append(vs, version(id, "h", map[string]any{"i": float64(i)}))
		g := gIDs[i/2]
		links = append(links, linkTo(shop, customer, id, g, "h"))
		keys = append(keys, store.MatchKey{Type: "customer", Name: "email", Value: id + "@x", GoldenID: g})
		dls = append(dls, store.DeadLetter{System: shop, Datatype: customer, Stage: "map", Ref: id, Attempts: 1})
	}
	for _, g := range gIDs {
		gs = append(gs, customerGolden(g, map[string]any{"id": g}))
		if err := h.s.PutIntent(h.ctx, store.Intent{ID: "i" + g, GoldenID: g, System: erp, Datatype: account}); err != nil {
			t.Fatal(err)
		}
	}
	h.collectVersions(vs...)
	h.merge(store.MergeBatch{Goldens: gs, Links: links, KeysFor: gIDs, Keys: keys, DeadLetters: dls})

	ask := append(append([]string{}, recIDs...), rangeIDs("missing", 300)...)
	ask = append(ask, recIDs[:200]...)
	recs, err := h.s.GetRecords(h.ctx, shop, customer, ask)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "records found", len(recs), n)
	equal(t, "record c02499 field", recs["c02499"].Fields["i"], 2499.0)

	askG := append(append([]string{}, gIDs...), gIDs[:100]...)
	goldens, err := h.s.GetGoldens(h.ctx, askG)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "goldens found", len(goldens), n/2)

	byGolden, err := h.s.RecordsForGoldens(h.ctx, askG)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, rs := range byGolden {
		total += len(rs)
	}
	equal(t, "goldens with records", len(byGolden), n/2)
	equal(t, "linked records", total, n)

	var values []string
	for _, id := range recIDs {
		values = append(values, id+"@x")
	}
	hits := h.keyHolders("email", values...)
	equal(t, "key values found", len(hits), n)
	equal(t, "holder of c02499@x", hits["c02499@x"], []string{gIDs[len(gIDs)-1]})

	intents, err := h.s.Intents(h.ctx, askG)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "goldens with intents", len(intents), n/2)

	dead, err := h.s.GetDeadLetters(h.ctx, shop, customer, "map", ask)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "dead letters found", len(dead), n)

	// And the batch sides of the same size.
	var intentIDs []string
	var unlinked []store.Key
	for _, g := range gIDs {
		intentIDs = append(intentIDs, "i"+g)
	}
	for _, id := range recIDs {
		unlinked = append(unlinked, key(shop, customer, id))
	}
	h.share(store.ShareBatch{Clean: gIDs, IntentsDone: intentIDs, Unlinked: unlinked, Cleared: dls})
	h.merge(store.MergeBatch{KeysFor: gIDs})
	dirty, err := h.s.DirtyGoldens(h.ctx, "customer", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "dirty after clean", len(dirty), 0)
	equal(t, "key values after KeysFor", len(h.keyHolders("email", values...)), 0)
	st := h.status()
	equal(t, "status after unlinking", st, []store.DatatypeStatus{{System: shop, Datatype: customer, Records: n}})
}

func testStatus(t *testing.T, h *harness) {
	equal(t, "status of an empty store", len(h.status()), 0)

	// shop Customer: 5 records, 3 linked, of which 1 pending again and 1
	// deleted since (a tombstone: counted in Records and Deleted, not in
	// Linked), 1 intent, 1 parked + 1 retrying dead letter.
	h.collectVersions(version("c1", "h", nil), version("c2", "h", nil), version("c3", "h", nil), version("c4", "h", nil), version("c5", "h", nil))
	h.merge(store.MergeBatch{
		Links: []store.Record{linkTo(shop, customer, "c1", "g1", "h"), linkTo(shop, customer, "c2", "g2", "h"), linkTo(shop, customer, "c5", "g5", "h")},
		DeadLetters: []store.DeadLetter{
			{System: shop, Datatype: customer, Stage: "map", Ref: "c3", Attempts: 5, Parked: true},
			{System: shop, Datatype: customer, Stage: "map", Ref: "c4", Attempts: 1},
		},
	})
	gone := version("c5", "h3", nil)
	gone.Deleted = true
	h.collectVersions(version("c2", "h2", nil), gone)
	cur := "x"
	before := time.Now()
	h.collect(store.CollectBatch{System: shop, Datatype: customer, Cursor: &cur, Done: true})
	if err := h.s.PutIntent(h.ctx, store.Intent{ID: "i1", GoldenID: "g9", System: shop, Datatype: customer}); err != nil {
		t.Fatal(err)
	}
	// erp Account: only a cursor with a tripped breaker.
	if err := h.s.SetBreaker(h.ctx, erp, account, "tripped"); err != nil {
		t.Fatal(err)
	}
	// erp Customer: only a write that keeps failing.
	h.share(store.ShareBatch{DeadLetters: []store.DeadLetter{{System: erp, Datatype: customer, Stage: "write", Ref: "g1", Attempts: 5, Parked: true}}})

	st := h.status()
	if len(st) == 3 {
		recent(t, "last success", st[2].LastSuccess, before)
		st[2].LastSuccess = time.Time{}
	}
	equal(t, "status", st, []store.DatatypeStatus{
		{System: erp, Datatype: account, Breaker: "tripped"},
		{System: erp, Datatype: customer, DeadLetters: 1},
		{System: shop, Datatype: customer, Records: 5, Deleted: 1, Linked: 2, Pending: 4, PendingInserts: 1, DeadLetters: 1},
	})
}

// Commits and reads from many goroutines at once all succeed (a SQL
// backend must not surface lock contention as errors).
func testConcurrency(t *testing.T, h *harness) {
	const writers, batches, per = 4, 10, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches*4)
	for w := range writers {
		datatype := fmt.Sprintf("T%d", w)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for b := range batches {
				var vs []store.Record
				for i := range per {
					vs = append(vs, store.Record{Key: key(shop, datatype, fmt.Sprintf("r%03d-%03d", b, i)), Hash: "h",
						Fields: map[string]any{"b": float64(b)}})
				}
				if err := h.s.CommitCollect(h.ctx, store.CollectBatch{System: shop, Datatype: datatype, Versions: vs}); err != nil {
					errs <- err
					return
				}
				var links []store.Record
				for _, v := range vs {
					links = append(links, linkTo(shop, datatype, v.ID, "g-"+datatype+v.ID, "h"))
				}
				if err := h.s.CommitMerge(h.ctx, store.MergeBatch{Links: links,
					Events: []store.Event{{GoldenID: "g", Action: "merged"}}}); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range batches {
				if _, err := h.s.PendingRecords(h.ctx, shop, datatype, "", per); err != nil {
					errs <- err
					return
				}
				if _, err := h.s.Status(h.ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	evs, err := h.s.EventsForGolden(h.ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "events", len(evs), writers*batches)
	for w := range writers {
		links, err := h.s.ListLinks(h.ctx, shop, fmt.Sprintf("T%d", w), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "links of T"+fmt.Sprint(w), len(links), batches*per)
	}
}

func testConnectorState(t *testing.T, h *harness) {
	ctx := h.ctx
	if v, ver, err := h.s.GetState(ctx, "erp", "token"); err != nil || v != "" || ver != 0 {
		t.Fatalf("no state yet: got %q version %d, %v", v, ver, err)
	}
	if _, ok, err := h.s.SwapState(ctx, "erp", "token", "x", 3); err != nil || ok {
		t.Fatalf("swap from a version that is not stored: ok=%v %v", ok, err)
	}
	v1, ok, err := h.s.SwapState(ctx, "erp", "token", "first", 0)
	if err != nil || !ok || v1 == 0 {
		t.Fatalf("first swap: version %d ok=%v %v", v1, ok, err)
	}
	if _, ok, _ := h.s.SwapState(ctx, "erp", "token", "again", 0); ok {
		t.Fatal("a second writer from version 0 must lose")
	}
	v2, ok, err := h.s.SwapState(ctx, "erp", "token", "second", v1)
	if err != nil || !ok || v2 <= v1 {
		t.Fatalf("swap from the stored version: version %d ok=%v %v", v2, ok, err)
	}
	if _, ok, _ := h.s.SwapState(ctx, "erp", "token", "stale", v1); ok {
		t.Fatal("a writer holding an old version must lose")
	}
	if v, ver, err := h.s.GetState(ctx, "erp", "token"); err != nil || v != "second" || ver != v2 {
		t.Fatalf("got %q version %d (%v), want second version %d", v, ver, err, v2)
	}
	if v, _, _ := h.s.GetState(ctx, "shop", "token"); v != "" {
		t.Fatalf("state is per system: got %q for another system", v)
	}

	// Of many writers racing from one version, exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, ok, err := h.s.SwapState(ctx, "erp", "token", fmt.Sprint("racer", i), v2); err == nil && ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d writers won a swap from the same version, want 1", wins)
	}
}
