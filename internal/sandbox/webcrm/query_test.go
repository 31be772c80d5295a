package webcrm

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// crm seeds a small installation through the API: three organisations, the
// persons of two of them, and an opportunity of the first, changed at
// different times.
func crm(t *testing.T) *sandbox {
	t.Helper()
	sb := startSandbox(t, Options{})
	acme := sb.create(Organisations, map[string]any{"OrganisationName": "Acme", "OrganisationCity": "Aarhus", "OrganisationOwner": 2})
	sb.clock.Advance(time.Hour)
	sb.token = sb.login() // the first token expired
	bolt := sb.create(Organisations, map[string]any{"OrganisationName": "Bolt's Bikes", "OrganisationCity": "Odense", "OrganisationOwner": 1})
	sb.clock.Advance(time.Hour)
	sb.token = sb.login()
	sb.create(Organisations, map[string]any{"OrganisationName": "Crane", "OrganisationCity": "Aarhus", "OrganisationOwner": 3})
	sb.person(acme, "Ann", "Lee")
	sb.person(acme, "Bo", "Berg")
	sb.person(bolt, "Cy", "Dahl")
	sb.create(Opportunities, map[string]any{"OpportunityOrganisationId": acme, "OpportunityOrderValue": 1200.5, "OpportunityWinYesNo": true,
		"OpportunityOrderDate": "2024-03-01T00:00:00"})
	sb.create(Opportunities, map[string]any{"OpportunityOrganisationId": bolt, "OpportunityOrderValue": 80})
	return sb
}

// rows runs a query that must succeed.
func (sb *sandbox) rows(script string, extra ...string) []map[string]any {
	sb.t.Helper()
	a := sb.query(script, extra...)
	if a.status != http.StatusOK {
		sb.t.Fatalf("%s: %s", script, a)
	}
	var out []map[string]any
	a.decode(sb.t, &out)
	return out
}

func column(rows []map[string]any, name string) []any {
	var out []any
	for _, r := range rows {
		out = append(out, r[name])
	}
	return out
}

func TestQueriesSelectEveryColumnOrTheNamedOnes(t *testing.T) {
	sb := crm(t)
	all := sb.rows("SELECT * FROM Organisation")
	if len(all) != 3 || len(all[0]) != len(lookupEntity(Organisations).fields) {
		t.Fatalf("%d rows of %d columns", len(all), len(all[0]))
	}
	some := sb.rows("select OrganisationName, organisation.OrganisationCity from organisation")
	if len(some[0]) != 2 || some[1]["OrganisationName"] != "Bolt's Bikes" || some[1]["OrganisationCity"] != "Odense" {
		t.Errorf("named columns: %v", some)
	}
}

func TestQueriesFilterWithEqualsGreaterOrEqualAndOrParentheses(t *testing.T) {
	sb := crm(t)
	for _, c := range []struct {
		where string
		want  []any
	}{
		{"OrganisationCity = 'Aarhus'", []any{"Acme", "Crane"}},
		{"OrganisationCity = 'AARHUS  '", []any{"Acme", "Crane"}}, // the collation ignores case and trailing spaces
		{"OrganisationOwner >= 2", []any{"Acme", "Crane"}},
		{"OrganisationOwner >= '2'", []any{"Acme", "Crane"}},
		{"OrganisationName >= 'B'", []any{"Bolt's Bikes", "Crane"}},
		{"OrganisationCity = 'Aarhus' AND OrganisationOwner >= 3", []any{"Crane"}},
		{"OrganisationCity = 'Odense' OR OrganisationOwner = 2", []any{"Acme", "Bolt's Bikes"}},
		{"OrganisationOwner = 3 OR OrganisationOwner = 1 AND OrganisationCity = 'Aarhus'", []any{"Crane"}}, // AND binds tighter
		{"(OrganisationOwner = 3 OR OrganisationOwner = 1) AND (OrganisationCity = 'Odense')", []any{"Bolt's Bikes"}},
		{"OrganisationName = 'Bolt''s Bikes'", []any{"Bolt's Bikes"}},
		{"OrganisationId = 2", []any{"Bolt's Bikes"}},
		{"1 = 1 AND OrganisationOwner >= -5.5", []any{"Acme", "Bolt's Bikes", "Crane"}},
		{"OrganisationCity = 'Nowhere'", nil},
	} {
		t.Run(c.where, func(t *testing.T) {
			got := column(sb.rows("SELECT OrganisationName FROM Organisation WHERE "+c.where), "OrganisationName")
			if !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestQueriesCompareBooleansAndDateTimeColumns(t *testing.T) {
	sb := crm(t)
	for _, where := range []string{"OpportunityWinYesNo = 1", "OpportunityWinYesNo = 'true'", "OpportunityOrderDate >= OpportunityCreatedAt", "OpportunityOrderValue >= 1000"} {
		got := column(sb.rows("SELECT OpportunityId FROM Opportunity WHERE "+where), "OpportunityId")
		if !slices.Equal(got, []any{1.0}) {
			t.Errorf("%s: %v, want only opportunity 1", where, got)
		}
	}
	got := column(sb.rows("SELECT OpportunityId FROM Opportunity ORDER BY OpportunityWinYesNo DESC, OpportunityOrderDate"), "OpportunityId")
	if !slices.Equal(got, []any{1.0, 2.0}) {
		t.Errorf("ordered by boolean: %v", got)
	}
	a := sb.query("SELECT * FROM Opportunity WHERE OpportunityWinYesNo = 'maybe'")
	wantStatus(t, a, http.StatusBadRequest)
}

func TestQueriesCompareUpdatedAtInTheStoredZone(t *testing.T) {
	sb := crm(t)
	// Acme at 10:11:12, Bolt at 11:11:12, Crane at 12:11:12 Copenhagen time.
	for _, c := range []struct {
		literal string
		want    []any
	}{
		{"2024-01-02T11:11:12", []any{"Bolt's Bikes", "Crane"}},
		{"2024-01-02T11:11:13", []any{"Crane"}},
		{"2024-01-02 11:00:00", []any{"Bolt's Bikes", "Crane"}},
		{"2024-01-02T10:11:13+00:00", []any{"Crane"}}, // 11:11:13 Copenhagen: an offset is honoured
		{"2024-01-02", []any{"Acme", "Bolt's Bikes", "Crane"}},
	} {
		got := column(sb.rows("SELECT OrganisationName FROM Organisation WHERE OrganisationUpdatedAt >= '"+c.literal+"'"), "OrganisationName")
		if !slices.Equal(got, c.want) {
			t.Errorf("UpdatedAt >= %s: %v, want %v", c.literal, got, c.want)
		}
	}
	sb.srv.SetLocation(time.UTC)
	got := column(sb.rows("SELECT OrganisationName FROM Organisation WHERE OrganisationUpdatedAt >= '2024-01-02T11:11:12'"), "OrganisationName")
	if !slices.Equal(got, []any{"Crane"}) {
		t.Errorf("in UTC: %v, want only Crane (11:11:12 UTC)", got)
	}
}

func TestQueriesJoinTables(t *testing.T) {
	sb := crm(t)
	rows := sb.rows("SELECT PersonLastName, OrganisationName FROM Person JOIN Organisation ON (PersonOrganisationId = OrganisationId) WHERE OrganisationCity = 'Aarhus'")
	if got := column(rows, "PersonLastName"); !slices.Equal(got, []any{"Lee", "Berg"}) {
		t.Errorf("persons in Aarhus: %v", got)
	}
	if len(rows[0]) != 2 || rows[0]["OrganisationName"] != "Acme" {
		t.Errorf("row %v", rows[0])
	}
	star := sb.rows("SELECT * FROM Opportunity INNER JOIN Organisation ON Organisation.OrganisationId = Opportunity.OpportunityOrganisationId")
	if len(star) != 2 || star[0]["OrganisationName"] != "Acme" || star[0]["OpportunityOrderValue"] != 1200.5 || star[1]["OrganisationName"] != "Bolt's Bikes" {
		t.Errorf("SELECT * with a join: %v", star)
	}
	left := sb.rows("SELECT OrganisationName, PersonLastName FROM Organisation LEFT JOIN Person ON (PersonOrganisationId = OrganisationId) ORDER BY OrganisationName DESC")
	if got := column(left, "PersonLastName"); !slices.Equal(got, []any{nil, "Dahl", "Lee", "Berg"}) {
		t.Errorf("left join: %v, want Crane without person first", got)
	}
}

func TestQueriesOrderAndPage(t *testing.T) {
	sb := crm(t)
	for _, c := range []struct {
		order string
		want  []any
	}{
		{"ORDER BY OrganisationCity, OrganisationName DESC", []any{"Crane", "Acme", "Bolt's Bikes"}},
		{"ORDER BY OrganisationOwner ASC", []any{"Bolt's Bikes", "Acme", "Crane"}},
		{"ORDER BY OrganisationUpdatedAt DESC", []any{"Crane", "Bolt's Bikes", "Acme"}},
		{"", []any{"Acme", "Bolt's Bikes", "Crane"}},
	} {
		got := column(sb.rows("SELECT OrganisationName FROM Organisation "+c.order), "OrganisationName")
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, want %v", c.order, got, c.want)
		}
	}
	page2 := column(sb.rows("SELECT OrganisationName FROM Organisation ORDER BY OrganisationName DESC", "Page", "2", "Size", "2"), "OrganisationName")
	if !slices.Equal(page2, []any{"Acme"}) {
		t.Errorf("page 2 of 2: %v", page2)
	}
	wantStatus(t, sb.query("SELECT * FROM Person", "Size", "1001"), http.StatusBadRequest)
}

func TestQueriesRefuseWhatTheSandboxDoesNotSupport(t *testing.T) {
	sb := crm(t)
	for _, c := range []struct{ script, want string }{
		{"", "empty"},
		{"SELECT * FROM Organisations", "singular: Organisation"},
		{"SELECT * FROM Account", "unknown table"},
		{"SELECT Nope FROM Organisation", `unknown column "Nope"`},
		{"SELECT PersonLastName FROM Organisation", "not in the query"},
		{"SELECT * FROM Organisation WHERE OrganisationOwner > 1", "operator > is not supported"},
		{"SELECT * FROM Organisation WHERE OrganisationOwner <> 1", "operator <> is not supported"},
		{"SELECT * FROM Organisation WHERE OrganisationName LIKE 'A%'", "LIKE is not supported"},
		{"SELECT * FROM Organisation WHERE NOT OrganisationOwner = 1", "NOT is not supported"},
		{"SELECT * FROM Organisation WHERE OrganisationOwner IN (1, 2)", "IN is not supported"},
		{"SELECT TOP 5 * FROM Organisation", "TOP is not supported"},
		{"SELECT COUNT(*) FROM Organisation", "functions"},
		{"SELECT * FROM Organisation o", "aliases"},
		{"SELECT * FROM Organisation; DROP TABLE Person", "one statement"},
		{"SELECT * FROM Organisation -- all", "comments"},
		{"SELECT * FROM Organisation WHERE OrganisationName = 'open", "no closing quote"},
		{"SELECT * FROM Organisation WHERE (OrganisationOwner = 1", "expected ')'"},
		{"SELECT * FROM Organisation WHERE OrganisationName = 5", "quote the value"},
		{"SELECT * FROM Organisation WHERE OrganisationOwner = 'many'", "not a number"},
		{"SELECT * FROM Organisation WHERE OrganisationUpdatedAt >= 'last week'", "not a date-time"},
		{"SELECT * FROM Organisation WHERE OrganisationName = OrganisationOwner", "cannot compare"},
		{"SELECT * FROM Organisation GROUP BY OrganisationCity", "GROUP is not supported"},
		{"SELECT * FROM Organisation JOIN Organisation ON (OrganisationId = OrganisationId)", "appears twice"},
		{"SELECT * FROM Person JOIN Organisation ON (OpportunityId = 1)", "not in the query"},
		{"SELECT * FROM Organisation ORDER BY", "column name"},
		{"DELETE FROM Organisation", "DELETE is not supported"},
		{"UPSERT Organisation", "expected SELECT"},
		{"SELECT * FROM Organisation WHERE " + strings.Repeat("(", 40) + "OrganisationId = 1" + strings.Repeat(")", 40), "nest"},
	} {
		t.Run(c.script, func(t *testing.T) {
			a := sb.query(c.script)
			wantStatus(t, a, http.StatusBadRequest)
			if e := a.apiError(t); !strings.Contains(e.Message, c.want) {
				t.Errorf("message %q, want one with %q", e.Message, c.want)
			}
		})
	}
}

func TestQueryErrorsSayWhere(t *testing.T) {
	_, err := parseQuery("SELECT * FROM Organisation WHERE OrganisationOwner > 1")
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Pos != 52 {
		t.Fatalf("error %v, want a QueryError at position 52 (the '>')", err)
	}
}

// FuzzQuery checks that no script makes the parser or the executor panic,
// that every refusal is a QueryError, and that a parsed query prints as a
// script that parses to the same query.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM Organisation",
		"SELECT OrganisationId, OrganisationName FROM Organisation WHERE OrganisationUpdatedAt >= '2018-10-05T12:00:00' ORDER BY OrganisationUpdatedAt ASC",
		"SELECT * FROM Person JOIN Organisation ON (PersonOrganisationId = OrganisationId) WHERE (OrganisationCity = 'Aarhus' OR OrganisationOwner >= 2) AND PersonLastName = 'O''Neil'",
		"select PersonLastName from Person left outer join Organisation on Organisation.OrganisationId = Person.PersonOrganisationId order by PersonLastName desc, PersonId",
		"SELECT * FROM QuotationLine WHERE QuotationLineData1 = 'x' AND QuotationLinePrice >= -1.5",
		"SELECT * FROM Organisation WHERE OrganisationOwner > 1",
		"SELECT * FROM Product WHERE ProductCustom1 = '",
		"SELECT COUNT(*) FROM User",
	} {
		f.Add(s)
	}
	srv := New(Options{Now: NewManualClock(start).Now})
	defer srv.Close()
	org, _ := srv.Put(Organisations, Record{"OrganisationName": "Acme"})
	srv.Put(Persons, Record{"PersonOrganisationId": org, "PersonLastName": "Lee"})
	opp, _ := srv.Put(Opportunities, Record{"OpportunityOrganisationId": org})
	srv.Put(QuotationLines, Record{"QuotationLineOpportunityId": opp, "QuotationLineData1": "P"})
	srv.Put(Products, Record{"ProductCustom1": "P"})
	srv.Put(Users, Record{"UserName": "Bo"})

	f.Fuzz(func(t *testing.T, script string) {
		q, err := parseQuery(script)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Msg == "" {
				t.Fatalf("refusal %v is not a QueryError with a message", err)
			}
			return
		}
		printed := q.String()
		again, err := parseQuery(printed)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", script, printed, err)
		}
		if again.String() != printed {
			t.Fatalf("%q printed as %q, which prints as %q", script, printed, again.String())
		}
		p, err := compile(q, time.UTC)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("compile refusal %v is not a QueryError", err)
			}
			return
		}
		srv.mu.Lock()
		rows, err := srv.runLocked(p)
		if err == nil {
			p.appendResult(nil, rows, time.UTC)
		}
		srv.mu.Unlock()
	})
}
