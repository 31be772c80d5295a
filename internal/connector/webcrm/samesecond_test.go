package webcrm_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	sandbox "github.com/concordsync/concord/internal/sandbox/webcrm"
	"github.com/concordsync/concord/internal/store"
)

const orgsYAML = `
systems:
  crm:
    kind: webcrm
    settings:
      base_url: {{.URL}}
      api_token: {{.Token}}
      rate_limit: {{.RateLimit}}
      page_size: {{.PageSize}}
      time_zone: {{.Zone}}
  erp:
    kind: memory
    settings: {instance: {{.ERP}}}
mappings:
  - system: crm
    datatype: Organisations
    canonical: customer
    merge: [[vat_number]]
    delete: propagate
    full_scan: {{.FullScan}}
    properties:
      - {field: OrganisationName, property: name}
      - {field: OrganisationVatNumber, property: vat_number}
      - {field: OrganisationCity, property: city}
  - system: erp
    datatype: customers
    canonical: customer
    merge: [[vat_number]]
    delete: propagate
    properties:
      - {field: name, property: name}
      - {field: vat, property: vat_number}
      - {field: city, property: city}
`

// cycleAt runs one cycle without moving the clock.
func (w *world) cycleAt() (rep engineReport) {
	w.t.Helper()
	r, err := w.eng.SyncOnce(context.Background())
	if err != nil {
		w.t.Fatalf("sync: %v", err)
	}
	for _, e := range r.Errors {
		w.t.Errorf("sync error: %v", e)
	}
	return engineReport{Collected: r.Collected, Updated: r.Updated, Inserted: r.Inserted}
}

type engineReport struct{ Collected, Updated, Inserted int }

// WebCRM stores timestamps in a zone Concord does not know (here the
// sandbox keeps New York time while the connector reads Copenhagen time and
// Concord's clock is UTC) with whole seconds. Records changed in the same
// second as the cursor of the previous read, before and after it and across
// a page boundary, must each reach the ERP exactly once.
//
// The cursor does not depend on the zone (the connector compares WebCRM's
// texts with WebCRM's texts); the dating of changes does. Two settings:
// time_zone set to WebCRM's zone, and a time_zone west of WebCRM's, which
// makes WebCRM's timestamps seem to come from the future (they are then
// dated when read).
func TestSameSecondChangesArriveExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, crmZone, setting string }{
		{"time_zone set to WebCRM's", "America/New_York", "America/New_York"},
		{"WebCRM's zone east of time_zone", "Pacific/Auckland", "Europe/Copenhagen"},
	} {
		t.Run(tc.name, func(t *testing.T) { sameSecond(t, tc.crmZone, tc.setting) })
	}
}

func sameSecond(t *testing.T, crmZone, setting string) {
	loc, err := time.LoadLocation(crmZone)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, worldOptions{sandbox: sandbox.Options{Location: loc}, pageSize: 2, yaml: orgsYAML, zone: setting})
	c := w.crm
	// Mid-second, so that the clock can move within it.
	c.clock.Advance(100 * time.Millisecond)
	var ids []int
	for i := range 5 {
		ids = append(ids, c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": fmt.Sprintf("Org %d", i), "OrganisationVatNumber": fmt.Sprintf("DK%d", i), "OrganisationCity": "Aarhus"}))
	}
	if rep := w.cycleAt(); rep.Inserted != 5 {
		t.Fatalf("first cycle: %+v, want 5 inserts into the ERP", rep)
	}
	w.erp.ResetCalls()

	want := 0
	step := func(what string, edits map[int]string) {
		t.Helper()
		c.clock.Advance(10 * time.Millisecond) // the same second, a moment later
		for id, city := range edits {
			c.edit(sandbox.Organisations, id, sandbox.Record{"OrganisationCity": city})
		}
		want += len(edits)
		rep := w.cycleAt()
		if rep.Collected != len(edits) || rep.Updated != len(edits) {
			t.Errorf("%s: the cycle collected %d and updated %d, want %d each", what, rep.Collected, rep.Updated, len(edits))
		}
		if got := w.erp.Calls()["update"]; got != want {
			t.Errorf("%s: the ERP got %d updates so far, want %d", what, got, want)
		}
		for id, city := range edits {
			vat := fmt.Sprint(w.crmBy(sandbox.Organisations, "OrganisationId", id)["OrganisationVatNumber"])
			if got := w.erpBy("customers", "vat", vat).Fields["city"]; got != city {
				t.Errorf("%s: organisation %d's city in the ERP = %v, want %s", what, id, got, city)
			}
		}
	}
	step("an edit in the second of the cursor", map[int]string{ids[0]: "Odense"})
	step("another record in the same second", map[int]string{ids[3]: "Vejle"})
	step("the first record again in the same second", map[int]string{ids[0]: "Aalborg"})
	step("three records across a page boundary", map[int]string{ids[1]: "Ry", ids[2]: "Ry", ids[4]: "Ry"})
	step("nothing", nil)
	c.clock.Advance(time.Second)
	step("the next second", map[int]string{ids[2]: "Skive"})
	step("nothing again", nil)

	note, _, err := w.st.GetState(context.Background(), "crm", connector.StatusKey)
	if err != nil {
		t.Fatal(err)
	}
	if misset := crmZone != setting; misset != strings.Contains(note, "time_zone") {
		t.Errorf("status note %q (time_zone %s, WebCRM's zone %s)", note, setting, crmZone)
	}

	// The history has one write per change and no other.
	for i, id := range ids {
		vat := fmt.Sprint(w.crmBy(sandbox.Organisations, "OrganisationId", id)["OrganisationVatNumber"])
		rec := w.erpBy("customers", "vat", vat)
		evs, err := w.st.EventsForRecord(context.Background(), store.Key{System: "erp", Datatype: "customers", ID: rec.ID})
		if err != nil {
			t.Fatal(err)
		}
		updates := 0
		for _, e := range evs {
			if e.Action == "updated" {
				updates++
			}
		}
		if wantUpdates := []int{2, 1, 2, 1, 1}[i]; updates != wantUpdates {
			t.Errorf("organisation %d: %d updates in the history of its ERP record, want %d: %v", id, updates, wantUpdates, evs)
		}
	}
}

// Records re-read in the overlap window are not handed to the engine again
// when their content did not change; a listing that starts from a cursor
// the engine never stored gets them all again.
func TestOverlapRereadsAreNotEmittedAgain(t *testing.T) {
	t.Parallel()
	c := newCRM(t, sandbox.Options{})
	for i := range 7 {
		c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": fmt.Sprintf("Org %d", i)})
	}
	conn := c.open(map[string]any{"page_size": 3})
	recs, cur := listAll(t, conn, "Organisations", connector.ListRequest{Full: true})
	if len(recs) != 7 {
		t.Fatalf("full listing: %d records, want 7", len(recs))
	}
	c.clock.Advance(time.Second)
	recs, next := listAll(t, conn, "Organisations", connector.ListRequest{Cursor: cur})
	if len(recs) != 0 {
		t.Fatalf("incremental listing with nothing changed emitted %d records", len(recs))
	}
	c.edit(sandbox.Organisations, 2, sandbox.Record{"OrganisationCity": "Ry"})
	recs, _ = listAll(t, conn, "Organisations", connector.ListRequest{Cursor: next})
	if len(recs) != 1 || recs[0].ID != "2" {
		t.Fatalf("incremental listing after one edit emitted %v", recs)
	}
	// An older cursor (the engine crashed before storing the last one).
	recs, _ = listAll(t, conn, "Organisations", connector.ListRequest{Cursor: cur})
	if len(recs) != 7 {
		t.Fatalf("a listing from a cursor the connector did not end with emitted %d records, want all 7", len(recs))
	}
}
