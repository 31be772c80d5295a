package webcrm

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestListingsAreBareArraysPagedAndOrderedByID(t *testing.T) {
	sb := startSandbox(t, Options{})
	for i := range 7 {
		sb.organisation(fmt.Sprintf("Org %d", i))
	}
	sb.srv.Remove(Organisations, 3)

	var pages [][]int
	for page := 1; page <= 4; page++ {
		a := sb.call(http.MethodGet, fmt.Sprintf("/Organisations?Page=%d&Size=2&OrganisationName=ignored", page), nil)
		wantStatus(t, a, http.StatusOK)
		if !strings.HasPrefix(string(a.body), "[") {
			t.Fatalf("page %d is not a bare array: %s", page, a.body)
		}
		for _, h := range []string{"Link", "X-Total-Count", "X-Pagination"} {
			if a.header.Get(h) != "" {
				t.Errorf("paging header %s present", h)
			}
		}
		var recs []map[string]any
		a.decode(t, &recs)
		pages = append(pages, ids(recs, "OrganisationId"))
	}
	want := [][]int{{1, 2}, {4, 5}, {6, 7}, nil}
	if fmt.Sprint(pages) != fmt.Sprint(want) {
		t.Errorf("pages %v, want %v", pages, want)
	}
	if all := sb.list("/Organisations"); len(all) != 6 {
		t.Errorf("default page holds %d records, want all 6", len(all))
	}
}

func TestListingsRefusePageAndSizeOutOfRange(t *testing.T) {
	sb := startSandbox(t, Options{})
	for _, q := range []string{"Size=0", "Size=1001", "Page=0", "Page=1000001", "Size=ten", "Page=-1"} {
		t.Run(q, func(t *testing.T) {
			a := sb.call(http.MethodGet, "/Persons?"+q, nil)
			wantStatus(t, a, http.StatusBadRequest)
			a.apiError(t)
		})
	}
	for _, q := range []string{"Size=1", "Size=1000", "Page=1000000", "page=2&size=5", "include=SecurityInfo"} {
		wantStatus(t, sb.call(http.MethodGet, "/Persons?"+q, nil), http.StatusOK)
	}
}

func TestGetOfAMissingRecordIs404WithMessageAndType(t *testing.T) {
	sb := startSandbox(t, Options{})
	a := sb.call(http.MethodGet, "/Organisations/999", nil)
	wantStatus(t, a, http.StatusNotFound)
	if e := a.apiError(t); !strings.Contains(e.Message, "999") {
		t.Errorf("message %q does not name the id", e.Message)
	}
	wantStatus(t, sb.call(http.MethodGet, "/Organisations/abc", nil), http.StatusBadRequest)
}

func TestPostAnswersTheNewIDAndStampsTheRecord(t *testing.T) {
	sb := startSandbox(t, Options{})
	a := sb.call(http.MethodPost, "/Organisations", map[string]any{"OrganisationId": 0, "OrganisationName": "Acme"})
	wantStatus(t, a, http.StatusOK)
	if string(a.body) != "1" {
		t.Fatalf("POST answered %q, want the bare id 1", a.body)
	}
	org := sb.get(Organisations, 1)
	for field, want := range map[string]any{
		"OrganisationId":        1.0,
		"OrganisationName":      "Acme",
		"OrganisationCreatedAt": "2024-01-02T10:11:12", // Copenhagen, no offset
		"OrganisationUpdatedAt": "2024-01-02T10:11:12",
		"OrganisationCreatedBy": "API Sandbox",
		"OrganisationUpdatedBy": "API Sandbox",
		"OrganisationCustom15":  "",
		"OrganisationOwner":     0.0,
	} {
		if org[field] != want {
			t.Errorf("%s = %#v, want %#v", field, org[field], want)
		}
	}
	if id := sb.create(Organisations, map[string]any{"OrganisationName": "Beta"}); id != 2 {
		t.Errorf("second id %d, want 2", id)
	}
}

func TestPostWithAnIDIsRefused(t *testing.T) {
	sb := startSandbox(t, Options{})
	a := sb.call(http.MethodPost, "/Organisations", map[string]any{"OrganisationId": 5, "OrganisationName": "Acme"})
	wantStatus(t, a, http.StatusBadRequest)
	if e := a.apiError(t); !strings.Contains(e.Message, "PUT") {
		t.Errorf("message %q does not point to PUT", e.Message)
	}
}

func TestEmptyPostBodySwitchAnswersOrganisationsAndUsersWithoutID(t *testing.T) {
	sb := startSandbox(t, Options{EmptyPostBody: true})
	for _, entity := range []string{Organisations, Users} {
		a := sb.call(http.MethodPost, "/"+entity, map[string]any{})
		if a.status != http.StatusOK || len(a.body) != 0 {
			t.Errorf("POST /%s: %s, want 200 with an empty body", entity, a)
		}
	}
	if len(sb.srv.Records(Organisations)) != 1 {
		t.Error("the organisation was not created")
	}
	if id := sb.person(1, "Ann", "Lee"); id != 1 {
		t.Errorf("POST /Persons answered %d, want the id", id)
	}
	sb.srv.SetEmptyPostBody(false)
	if id := sb.organisation("Next"); id != 2 {
		t.Errorf("after switching back, POST answered %d, want 2", id)
	}
}

func TestPutReplacesTheWholeRecordAndClearsWhatItLeavesOut(t *testing.T) {
	sb := startSandbox(t, Options{})
	id := sb.create(Organisations, map[string]any{"OrganisationName": "Acme", "OrganisationCity": "Aarhus", "OrganisationCustom3": "VIP"})
	sb.clock.Advance(90 * time.Second)

	a := sb.call(http.MethodPut, "/Organisations/1", map[string]any{"OrganisationId": id, "OrganisationName": "Acme A/S"})
	wantStatus(t, a, http.StatusOK)
	if len(a.body) != 0 {
		t.Errorf("PUT answered a body %q, want none", a.body)
	}
	org := sb.get(Organisations, id)
	if org["OrganisationName"] != "Acme A/S" || org["OrganisationCity"] != "" || org["OrganisationCustom3"] != "" {
		t.Errorf("after PUT: name %v, city %q, custom3 %q; want the new name and the rest cleared",
			org["OrganisationName"], org["OrganisationCity"], org["OrganisationCustom3"])
	}
	if org["OrganisationCreatedAt"] != "2024-01-02T10:11:12" || org["OrganisationUpdatedAt"] != "2024-01-02T10:12:42" {
		t.Errorf("stamps created %v updated %v, want the creation kept and the update moved", org["OrganisationCreatedAt"], org["OrganisationUpdatedAt"])
	}

	wantStatus(t, sb.call(http.MethodPut, "/Organisations/77", map[string]any{"OrganisationName": "x"}), http.StatusNotFound)
	wantStatus(t, sb.call(http.MethodPut, "/Organisations/1", map[string]any{"OrganisationId": 2}), http.StatusBadRequest)
}

func TestUnknownFieldsAreIgnoredAndNamesMatchWithoutCase(t *testing.T) {
	sb := startSandbox(t, Options{})
	id := sb.create(Organisations, map[string]any{
		"organisationname":          "Acme",
		"OrganisationBrandNewThing": 42,
		"OrganisationCreatedBy":     "me",
		"Nested":                    map[string]any{"a": 1},
	})
	org := sb.get(Organisations, id)
	if org["OrganisationName"] != "Acme" || org["OrganisationCreatedBy"] != "API Sandbox" {
		t.Errorf("got name %v created by %v", org["OrganisationName"], org["OrganisationCreatedBy"])
	}
	if _, ok := org["OrganisationBrandNewThing"]; ok {
		t.Error("an unknown field was stored")
	}
}

func TestFieldsOfTheWrongTypeAre400(t *testing.T) {
	sb := startSandbox(t, Options{})
	org := sb.organisation("Acme")
	for _, c := range []struct {
		name, entity string
		body         any
	}{
		{"number for text", Organisations, map[string]any{"OrganisationName": 12}},
		{"text for integer", Organisations, map[string]any{"OrganisationOwner": "7"}},
		{"fraction for integer", Organisations, map[string]any{"OrganisationOwner": 1.5}},
		{"beyond int32", Organisations, map[string]any{"OrganisationOwner": 3_000_000_000}},
		{"array for text", Organisations, map[string]any{"OrganisationCity": []any{"a"}}},
		{"name over 200 characters", Organisations, map[string]any{"OrganisationName": strings.Repeat("x", 201)}},
		{"unknown status", Persons, map[string]any{"PersonOrganisationId": org, "PersonLastName": "Lee", "PersonStatus": "Retired"}},
		{"not a date-time", Persons, map[string]any{"PersonOrganisationId": org, "PersonLastName": "Lee", "PersonBirthday": "yesterday"}},
		{"array for one record", Organisations, `[{"OrganisationName": "A"}]`},
		{"not JSON", Organisations, `{"OrganisationName":`},
		{"empty body", Organisations, ` `},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := sb.call(http.MethodPost, "/"+c.entity, c.body)
			wantStatus(t, a, http.StatusBadRequest)
			a.apiError(t)
		})
	}
	if n := len(sb.srv.Records(Organisations)); n != 1 {
		t.Errorf("%d organisations after refused writes, want 1", n)
	}
}

func TestPersonsNeedALastNameAndAnExistingOrganisation(t *testing.T) {
	sb := startSandbox(t, Options{})
	org := sb.organisation("Acme")
	for name, body := range map[string]map[string]any{
		"no last name":    {"PersonOrganisationId": org, "PersonFirstName": "Ann"},
		"blank last name": {"PersonOrganisationId": org, "PersonLastName": "  "},
		"no organisation": {"PersonLastName": "Lee"},
		"unknown org":     {"PersonOrganisationId": 99, "PersonLastName": "Lee"},
	} {
		t.Run(name, func(t *testing.T) {
			a := sb.call(http.MethodPost, "/Persons", body)
			wantStatus(t, a, http.StatusBadRequest)
			a.apiError(t)
		})
	}
	if _, err := sb.srv.Put(Persons, Record{"PersonOrganisationId": 99, "PersonLastName": "Lee"}); err == nil {
		t.Error("a user could add a person to a missing organisation")
	}
	id := sb.person(org, "Ann", "Lee")
	p := sb.get(Persons, id)
	if p["PersonName"] != "Ann Lee" || p["PersonStatus"] != "Active" {
		t.Errorf("PersonName %v, PersonStatus %v; want the derived full name and the default status", p["PersonName"], p["PersonStatus"])
	}
}

func TestPersonOrganisationCannotChangeThroughTheAPI(t *testing.T) {
	sb := startSandbox(t, Options{})
	a, b := sb.organisation("A"), sb.organisation("B")
	p := sb.person(a, "Ann", "Lee")
	body := map[string]any{"PersonId": p, "PersonOrganisationId": b, "PersonLastName": "Lee", "PersonFirstName": "Anna"}

	t.Run("refused by default", func(t *testing.T) {
		res := sb.call(http.MethodPut, fmt.Sprintf("/Persons/%d", p), body)
		wantStatus(t, res, http.StatusBadRequest)
		if e := res.apiError(t); !strings.Contains(e.Message, "PersonOrganisationId") {
			t.Errorf("message %q does not name the field", e.Message)
		}
		var results []string
		sb.call(http.MethodPatch, "/Persons", []any{body}).decode(t, &results)
		if len(results) != 1 || !strings.Contains(results[0], "PersonOrganisationId") {
			t.Errorf("PATCH results %q, want the item's error", results)
		}
		if got := sb.get(Persons, p); got["PersonFirstName"] != "Ann" {
			t.Errorf("the refused write changed the person: %v", got["PersonFirstName"])
		}
	})
	t.Run("ignored when switched", func(t *testing.T) {
		sb.srv.SetIgnorePersonOrganisationChange(true)
		defer sb.srv.SetIgnorePersonOrganisationChange(false)
		wantStatus(t, sb.call(http.MethodPut, fmt.Sprintf("/Persons/%d", p), body), http.StatusOK)
		got := sb.get(Persons, p)
		if got["PersonOrganisationId"] != float64(a) || got["PersonFirstName"] != "Anna" {
			t.Errorf("organisation %v, first name %v; want the organisation kept and the rest written", got["PersonOrganisationId"], got["PersonFirstName"])
		}
	})
	t.Run("a user may move a person", func(t *testing.T) {
		if err := sb.srv.Edit(Persons, p, Record{"PersonOrganisationId": b}); err != nil {
			t.Fatal(err)
		}
		if got := sb.get(Persons, p); got["PersonOrganisationId"] != float64(b) {
			t.Errorf("organisation %v after the user's move, want %d", got["PersonOrganisationId"], b)
		}
	})
}

func TestQuotationLineDataMayBeLeftOutButNotSentEmpty(t *testing.T) {
	sb := startSandbox(t, Options{})
	org := sb.organisation("Acme")
	opp := sb.create(Opportunities, map[string]any{"OpportunityOrganisationId": org, "OpportunityDescription": "Deal"})
	line := map[string]any{"QuotationLineOpportunityId": opp, "QuotationLineData1": "P-100", "QuotationLineData2": "Widget", "QuotationLineQuantity": 2.5}
	id := sb.create(QuotationLines, line)
	got := sb.get(QuotationLines, id)
	if got["QuotationLineData1"] != "P-100" || got["QuotationLineOrganisationId"] != float64(org) {
		t.Errorf("line %v", got)
	}
	if _, ok := got["QuotationLineData3"]; ok {
		t.Error("an unset data field is in the JSON")
	}
	line["QuotationLineData3"] = ""
	a := sb.call(http.MethodPost, "/QuotationLines", line)
	wantStatus(t, a, http.StatusBadRequest)
	if e := a.apiError(t); !strings.Contains(e.Message, "QuotationLineData3") {
		t.Errorf("message %q does not name the field", e.Message)
	}
	wantStatus(t, sb.call(http.MethodPost, "/QuotationLines", map[string]any{"QuotationLineData1": "x"}), http.StatusBadRequest)
}

func TestPatchUpsertsAndAnswersOneTextPerItem(t *testing.T) {
	sb := startSandbox(t, Options{})
	org := sb.organisation("Acme")
	p := sb.person(org, "Ann", "Lee")
	a := sb.call(http.MethodPatch, "/Persons", []any{
		map[string]any{"PersonId": 0, "PersonOrganisationId": org, "PersonLastName": "Kim"},
		map[string]any{"PersonId": p, "PersonOrganisationId": org, "PersonLastName": "Lee-Smith"},
		map[string]any{"PersonId": 0, "PersonOrganisationId": org},
		map[string]any{"PersonId": 404, "PersonOrganisationId": org, "PersonLastName": "Nobody"},
		"not an object",
	})
	wantStatus(t, a, http.StatusOK)
	var results []string
	a.decode(t, &results)
	if len(results) != 5 || results[0] != "2" || results[1] != strconv.Itoa(p) {
		t.Fatalf("results %q, want the new id, the updated id, then three errors", results)
	}
	for i, want := range map[int]string{2: "PersonLastName", 3: "404", 4: "JSON object"} {
		if !strings.Contains(results[i], want) {
			t.Errorf("result %d is %q, want a message with %q", i, results[i], want)
		}
	}
	if got := sb.get(Persons, p); got["PersonLastName"] != "Lee-Smith" || got["PersonFirstName"] != "" {
		t.Errorf("updated person %v %v; PATCH writes full objects", got["PersonFirstName"], got["PersonLastName"])
	}
	if n := len(sb.srv.Records(Persons)); n != 2 {
		t.Errorf("%d persons, want 2", n)
	}
	wantStatus(t, sb.call(http.MethodPatch, "/Persons", map[string]any{}), http.StatusBadRequest)
}

func TestOnlyProductsAndQuotationLinesCanBeDeleted(t *testing.T) {
	sb := startSandbox(t, Options{})
	org := sb.organisation("Acme")
	sb.person(org, "Ann", "Lee")
	opp := sb.create(Opportunities, map[string]any{"OpportunityOrganisationId": org})
	line := sb.create(QuotationLines, map[string]any{"QuotationLineOpportunityId": opp})
	prod := sb.create(Products, map[string]any{"ProductCustom1": "P-1"})
	sb.create(Users, map[string]any{"UserName": "Bo"})

	for _, path := range []string{"/Organisations/1", "/Persons/1", "/Opportunities/1", "/Users/1"} {
		a := sb.call(http.MethodDelete, path, nil)
		wantStatus(t, a, http.StatusMethodNotAllowed)
		a.apiError(t)
		if !strings.Contains(a.header.Get("Allow"), "GET") || strings.Contains(a.header.Get("Allow"), "DELETE") {
			t.Errorf("DELETE %s: Allow %q", path, a.header.Get("Allow"))
		}
	}
	for _, path := range []string{fmt.Sprintf("/Products/%d", prod), fmt.Sprintf("/QuotationLines/%d", line)} {
		wantStatus(t, sb.call(http.MethodDelete, path, nil), http.StatusNoContent)
		wantStatus(t, sb.call(http.MethodGet, path, nil), http.StatusNotFound)
		wantStatus(t, sb.call(http.MethodDelete, path, nil), http.StatusNotFound)
	}
}

func TestAUserCanDeleteWhatTheAPICannot(t *testing.T) {
	sb := startSandbox(t, Options{})
	org, other := sb.organisation("Acme"), sb.organisation("Other")
	sb.person(org, "Ann", "Lee")
	keep := sb.person(other, "Bo", "Berg")
	opp := sb.create(Opportunities, map[string]any{"OpportunityOrganisationId": org})
	sb.create(QuotationLines, map[string]any{"QuotationLineOpportunityId": opp})

	if err := sb.srv.Remove(Organisations, org); err != nil {
		t.Fatal(err)
	}
	if got := sb.srv.IDs(Persons); !slices.Equal(got, []int{keep}) {
		t.Errorf("persons %v after the organisation's removal, want only %d", got, keep)
	}
	if len(sb.srv.Records(Opportunities)) != 0 || len(sb.srv.Records(QuotationLines)) != 0 {
		t.Error("the organisation's opportunity or its line survived")
	}
	wantStatus(t, sb.call(http.MethodGet, fmt.Sprintf("/Organisations/%d", org), nil), http.StatusNotFound)
	if err := sb.srv.Remove(Organisations, org); err == nil {
		t.Error("removing a missing record did not fail")
	}
}

func TestOpportunityQuotationLinesAndActiveUsers(t *testing.T) {
	sb := startSandbox(t, Options{})
	org := sb.organisation("Acme")
	opp1 := sb.create(Opportunities, map[string]any{"OpportunityOrganisationId": org})
	opp2 := sb.create(Opportunities, map[string]any{"OpportunityOrganisationId": org})
	sb.create(QuotationLines, map[string]any{"QuotationLineOpportunityId": opp1, "QuotationLineSortOrder": 20})
	sb.create(QuotationLines, map[string]any{"QuotationLineOpportunityId": opp2, "QuotationLineSortOrder": 10})
	sb.create(QuotationLines, map[string]any{"QuotationLineOpportunityId": opp1, "QuotationLineSortOrder": 10})

	lines := sb.list(fmt.Sprintf("/Opportunities/%d/QuotationLines", opp1))
	if got := ids(lines, "QuotationLineId"); !slices.Equal(got, []int{3, 1}) {
		t.Errorf("lines of opportunity %d: %v, want [3 1] (by sort order)", opp1, got)
	}
	wantStatus(t, sb.call(http.MethodGet, "/Opportunities/99/QuotationLines", nil), http.StatusNotFound)
	if got := sb.get(Opportunities, opp1)["OpportunityNumber"]; got != "1" {
		t.Errorf("OpportunityNumber %v, want one assigned", got)
	}

	for _, name := range []string{"Ann", "Bo", "Cy"} {
		sb.create(Users, map[string]any{"UserName": name})
	}
	if err := sb.srv.SetUserActive(2, false); err != nil {
		t.Fatal(err)
	}
	if got := ids(sb.list("/Users/AllActive"), "UserId"); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("active users %v, want [1 3]", got)
	}
	if got := ids(sb.list("/Users"), "UserId"); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("users %v, want all three", got)
	}
}

func TestFieldsMetadataDescribesTheCustomFields(t *testing.T) {
	sb := startSandbox(t, Options{FieldLabels: map[string]string{"OrganisationCustom1": "Customer number", "PersonPlus3": "Role"}})
	var fields []fieldMetadata
	a := sb.call(http.MethodGet, "/FieldsMetadata/Organisation,Persons", nil)
	wantStatus(t, a, http.StatusOK)
	a.decode(t, &fields)
	count := map[string]int{}
	inUse := map[string]string{}
	for _, f := range fields {
		count[f.EntityType]++
		if f.IsInUse {
			inUse[f.FieldName] = f.Label
		}
	}
	// Organisations: Custom1..15, ExtraCustom1..8, Plus1..20; Persons: Custom1..15, Plus1..20.
	if count["Organisation"] != 43 || count["Person"] != 35 || len(count) != 2 {
		t.Errorf("custom fields per entity %v, want Organisation 43, Person 35", count)
	}
	if len(inUse) != 2 || inUse["OrganisationCustom1"] != "Customer number" || inUse["PersonPlus3"] != "Role" {
		t.Errorf("fields in use %v", inUse)
	}
	wantStatus(t, sb.call(http.MethodGet, "/FieldsMetadata/Widget", nil), http.StatusBadRequest)
}

func TestChangesWithinOneSecondShareATimestamp(t *testing.T) {
	sb := startSandbox(t, Options{})
	sb.clock.Advance(300 * time.Millisecond)
	a := sb.organisation("A")
	sb.clock.Advance(400 * time.Millisecond)
	b := sb.organisation("B")
	sb.clock.Advance(400 * time.Millisecond)
	c := sb.organisation("C")
	at := func(id int) any { return sb.get(Organisations, id)["OrganisationUpdatedAt"] }
	if at(a) != at(b) || at(a) != "2024-01-02T10:11:12" {
		t.Errorf("A at %v, B at %v: want both in second 10:11:12", at(a), at(b))
	}
	if at(c) != "2024-01-02T10:11:13" {
		t.Errorf("C at %v, want the next second", at(c))
	}
}

func TestTimestampsAreShownInTheConfiguredZone(t *testing.T) {
	sb := startSandbox(t, Options{Location: time.UTC})
	id := sb.organisation("Acme")
	if got := sb.get(Organisations, id)["OrganisationCreatedAt"]; got != "2024-01-02T09:11:12" {
		t.Errorf("UTC: %v", got)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	sb.srv.SetLocation(ny)
	if got := sb.get(Organisations, id)["OrganisationCreatedAt"]; got != "2024-01-02T04:11:12" {
		t.Errorf("New York: %v", got)
	}
	// A date-time sent without offset is a wall-clock time in the zone.
	p := sb.create(Persons, map[string]any{"PersonOrganisationId": id, "PersonLastName": "Lee", "PersonBirthday": "1990-05-17T00:00:00"})
	if got := sb.get(Persons, p)["PersonBirthday"]; got != "1990-05-17T00:00:00" {
		t.Errorf("birthday %v", got)
	}
}

func TestPathsAndParametersIgnoreCase(t *testing.T) {
	sb := startSandbox(t, Options{})
	sb.organisation("Acme")
	for _, path := range []string{"/organisations/1", "/ORGANISATIONS?page=1&SIZE=1", "/Organisations/"} {
		wantStatus(t, sb.call(http.MethodGet, path, nil), http.StatusOK)
	}
	a := sb.call(http.MethodGet, "/Widgets", nil)
	wantStatus(t, a, http.StatusNotFound)
	a.apiError(t)
}

func TestCallsAreCountedByMethodAndPattern(t *testing.T) {
	sb := startSandbox(t, Options{})
	sb.organisation("Acme")
	sb.get(Organisations, 1)
	sb.get(Organisations, 1)
	sb.list("/Organisations?Size=10")
	sb.query("SELECT * FROM Organisation")
	sb.call(http.MethodGet, "/Organisations/9", nil)
	want := map[string]int{
		"POST /Auth/ApiLogin":     1,
		"POST /Organisations":     1,
		"GET /Organisations/{id}": 3,
		"GET /Organisations":      1,
		"GET /Queries":            1,
	}
	got := sb.srv.Calls()
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d calls, want %d (all: %v)", k, got[k], n, got)
		}
	}
	sb.srv.ResetCalls()
	if len(sb.srv.Calls()) != 0 {
		t.Error("ResetCalls left counts")
	}
}

func TestHelpersSeedInspectAndEditAsAUser(t *testing.T) {
	sb := startSandbox(t, Options{})
	id, err := sb.srv.Put(Organisations, Record{"OrganisationId": 40, "OrganisationName": "Seeded", "OrganisationCity": "Odense"})
	if err != nil || id != 40 {
		t.Fatalf("Put: %d, %v", id, err)
	}
	if next := sb.organisation("After"); next != 41 {
		t.Errorf("the next API id is %d, want 41", next)
	}
	sb.clock.Advance(time.Minute)
	if err := sb.srv.Edit("organisation", 40, Record{"OrganisationName": "Edited"}); err != nil {
		t.Fatal(err)
	}
	rec, ok := sb.srv.Get(Organisations, 40)
	if !ok || rec["OrganisationName"] != "Edited" || rec["OrganisationCity"] != "Odense" || rec["OrganisationUpdatedBy"] != "Sandbox User" {
		t.Errorf("after Edit: %v", rec)
	}
	if rec["OrganisationUpdatedAt"] != "2024-01-02T10:12:12" || rec["OrganisationId"] != 40 {
		t.Errorf("updated at %v, id %#v", rec["OrganisationUpdatedAt"], rec["OrganisationId"])
	}
	if err := sb.srv.Edit(Organisations, 40, Record{"OrganisationOwner": "x"}); err == nil {
		t.Error("Edit accepted a text for an integer")
	}
	if _, err := sb.srv.Put("Widgets", Record{}); err == nil {
		t.Error("Put accepted an unknown entity")
	}
}
