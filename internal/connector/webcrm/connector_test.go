package webcrm_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/webcrm"
	sandbox "github.com/concordsync/concord/internal/sandbox/webcrm"
	"github.com/concordsync/concord/internal/store/memstore"
)

func TestSettings(t *testing.T) {
	t.Setenv("WEBCRM_TOKEN_FOR_TEST", "tok-from-env")
	cfg, err := webcrm.ParseSettings(map[string]any{"api_token_env": "WEBCRM_TOKEN_FOR_TEST"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APIToken != "tok-from-env" || cfg.BaseURL != webcrm.DefaultBaseURL || cfg.RateLimit != 250 || cfg.Overlap != 14*time.Hour ||
		cfg.PageSize != 1000 || cfg.Location.String() != "Europe/Copenhagen" || cfg.ProductCodeField != "ProductCustom1" ||
		cfg.QuotationLineNameField != "QuotationLineData2" {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = webcrm.ParseSettings(map[string]any{"api_token": "t", "product_code_field": "productcustom7", "overlap": "2h", "rate_limit": 100, "time_zone": "UTC"})
	if err != nil || cfg.ProductCodeField != "ProductCustom7" || cfg.Overlap != 2*time.Hour || cfg.RateLimit != 100 {
		t.Errorf("settings: %+v, %v", cfg, err)
	}
	for _, tc := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{}, "api_token"},
		{map[string]any{"api_token": "t", "api_token_env": "X"}, "one of them"},
		{map[string]any{"api_token_env": "WEBCRM_UNSET_VARIABLE"}, "WEBCRM_UNSET_VARIABLE"},
		{map[string]any{"api_token": "t", "api_tokne": "t"}, `unknown setting "api_tokne"`},
		{map[string]any{"api_token": "t", "overlap": "10s"}, "at least 1m"},
		{map[string]any{"api_token": "t", "rate_limit": -1}, "rate_limit"},
		{map[string]any{"api_token": "t", "page_size": 5000}, "page_size"},
		{map[string]any{"api_token": "t", "time_zone": "Mars/Olympus"}, "time_zone"},
		{map[string]any{"api_token": "t", "base_url": "ftp://x"}, "base_url"},
		{map[string]any{"api_token": "t", "product_code_field": "ProductPrice"}, "not a text field"},
		{map[string]any{"api_token": "t", "quotation_line_code_field": "QuotationLineData3", "quotation_line_name_field": "QuotationLineData3"}, "both name"},
	} {
		if _, err := webcrm.ParseSettings(tc.settings); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("settings %v: error %v, want one saying %q", tc.settings, err, tc.want)
		}
	}
	if _, err := connector.Open(context.Background(), "webcrm", "crm", map[string]any{"api_token": "t"}); err != nil {
		t.Errorf("the kind is not registered: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	c := newCRM(t, sandbox.Options{})
	infos, err := c.open(nil).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	props := map[string][]string{}
	for _, info := range infos {
		for _, p := range info.Properties {
			props[info.Name] = append(props[info.Name], p.Name+":"+p.Type)
		}
		if info.CanDelete != (info.Name == "Products" || info.Name == "QuotationLines") {
			t.Errorf("%s can delete: %v", info.Name, info.CanDelete)
		}
	}
	for dt, want := range map[string][]string{
		"Organisations":  {"OrganisationId:string", "OrganisationName:string", "OrganisationOwner:string", "OrganisationCreatedAt:datetime"},
		"Persons":        {"PersonOrganisationId:string", "PersonBirthday:date", "PersonSortOrder:integer"},
		"Users":          {"UserEmail:string"},
		"Opportunities":  {"OpportunityOrderDate:date", "OpportunityOrderValue:number", "OpportunityWinYesNo:boolean"},
		"QuotationLines": {"QuotationLineProductCode:string", "QuotationLineProductName:string", "QuotationLineProductId:string", "QuotationLineQuantity:number"},
		"Products":       {"ProductCode:string", "ProductName:string", "ProductPrice:number"},
	} {
		for _, p := range want {
			if !slices.Contains(props[dt], p) {
				t.Errorf("%s lacks %s: %v", dt, p, props[dt])
			}
		}
	}
	for _, hidden := range []string{"ProductCustom1:string", "ProductUpdatedAt:datetime"} {
		if slices.Contains(props["Products"], hidden) {
			t.Errorf("Products shows %s", hidden)
		}
	}
}

// What WebCRM answers becomes the error class the engine acts on.
func TestErrorClasses(t *testing.T) {
	c := newCRM(t, sandbox.Options{})
	conn := c.open(nil)
	ctx := context.Background()
	org := c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": "Acme"})
	if _, err := conn.Get(ctx, "Organisations", "999"); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("get of a missing record: %v", err)
	}
	if _, err := conn.Get(ctx, "Organisations", "not-a-number"); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("get of an id WebCRM cannot have: %v", err)
	}
	_, err := conn.Insert(ctx, "Organisations", connector.Fields{"OrganisationName": strings.Repeat("x", 201)})
	if !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), "longer than 200") {
		t.Errorf("insert of a too long name: %v (want ErrRejected with WebCRM's message)", err)
	}
	_, err = conn.Insert(ctx, "Persons", connector.Fields{"PersonFirstName": "No", "PersonOrganisationId": strconv.Itoa(org)})
	if !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), "PersonLastName") {
		t.Errorf("insert of a person without last name: %v", err)
	}
	if _, err := conn.Update(ctx, "Organisations", strconv.Itoa(org), connector.Fields{"OrganisationCitty": "Ry"}, ""); !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), "OrganisationCitty") {
		t.Errorf("a field WebCRM does not have: %v", err)
	}
	if err := conn.Delete(ctx, "Organisations", strconv.Itoa(org)); !errors.Is(err, connector.ErrNotSupported) {
		t.Errorf("delete of an organisation: %v", err)
	}
	if err := conn.Delete(ctx, "Products", "999"); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("delete of a missing product: %v", err)
	}
	if _, err := conn.List(ctx, "Accounts", connector.ListRequest{}); !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), "Organisations") {
		t.Errorf("an unknown datatype: %v", err)
	}
	c.fault(10, 0)
	if _, err := conn.Get(ctx, "Organisations", strconv.Itoa(org)); !connector.IsTemporary(err) {
		t.Errorf("a get failing with 503 every time: %v (want Temporary)", err)
	}
	c.fault(0, 0)
	bad, err := webcrm.Open(ctx, "crm", c.settings(map[string]any{"api_token": "wrong"}), c.options())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Get(ctx, "Organisations", strconv.Itoa(org)); !connector.IsTemporary(err) || !strings.Contains(err.Error(), "api_token") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("a wrong API token: %v (want Temporary, naming the setting, not the token)", err)
	}
}

// PersonOrganisationId cannot be changed through the API: moving a person
// is refused (ErrRejected) before anything is written, in either setting of
// the sandbox.
func TestMovingAPersonIsRejected(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		c := newCRM(t, sandbox.Options{IgnorePersonOrganisationChange: ignore})
		a := c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": "A"})
		b := c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": "B"})
		p := c.put(sandbox.Persons, sandbox.Record{"PersonOrganisationId": a, "PersonLastName": "Lee", "PersonTitle": "CFO"})
		conn := c.open(nil)
		puts := c.srv.Calls()["PUT /Persons/{id}"]
		_, err := conn.Update(context.Background(), "Persons", strconv.Itoa(p), connector.Fields{"PersonOrganisationId": strconv.Itoa(b), "PersonTitle": "CEO"}, "")
		if !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), "move") {
			t.Errorf("ignore=%v: moving a person: %v", ignore, err)
		}
		if c.srv.Calls()["PUT /Persons/{id}"] != puts {
			t.Errorf("ignore=%v: the refused move was written", ignore)
		}
		// The same organisation, given as the engine gives references, is
		// no move.
		if _, err := conn.Update(context.Background(), "Persons", strconv.Itoa(p), connector.Fields{"PersonOrganisationId": strconv.Itoa(a), "PersonTitle": "CEO"}, ""); err != nil {
			t.Errorf("ignore=%v: an update naming the same organisation: %v", ignore, err)
		}
		if got, _ := c.srv.Get(sandbox.Persons, p); got["PersonTitle"] != "CEO" || got["PersonOrganisationId"] != a {
			t.Errorf("ignore=%v: person after the update: %v", ignore, got)
		}
	}
}

// An update writes the whole record back: fields Concord does not map
// survive, and an update that changes nothing makes no PUT.
func TestUpdateKeepsWhatItDoesNotWrite(t *testing.T) {
	c := newCRM(t, sandbox.Options{})
	org := c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": "Acme", "OrganisationCity": "Aarhus", "OrganisationCustom3": "keep", "OrganisationNoAds": true})
	opp := c.put(sandbox.Opportunities, sandbox.Record{"OpportunityOrganisationId": org, "OpportunityDescription": "d"})
	line := c.put(sandbox.QuotationLines, sandbox.Record{"QuotationLineOpportunityId": opp, "QuotationLineData1": "X-1", "QuotationLineData5": "five", "QuotationLineQuantity": 1.0})
	conn := c.open(nil)
	ctx := context.Background()
	if _, err := conn.Update(ctx, "Organisations", strconv.Itoa(org), connector.Fields{"OrganisationCity": "Ry"}, ""); err != nil {
		t.Fatal(err)
	}
	got, _ := c.srv.Get(sandbox.Organisations, org)
	if got["OrganisationCity"] != "Ry" || got["OrganisationCustom3"] != "keep" || got["OrganisationNoAds"] != true || got["OrganisationName"] != "Acme" {
		t.Errorf("after an update of the city: %v", got)
	}
	puts := c.srv.Calls()["PUT /Organisations/{id}"]
	if _, err := conn.Update(ctx, "Organisations", strconv.Itoa(org), connector.Fields{"OrganisationCity": "Ry"}, ""); err != nil {
		t.Fatal(err)
	}
	if c.srv.Calls()["PUT /Organisations/{id}"] != puts {
		t.Errorf("an update that changes nothing was written")
	}
	// Data fields may not be sent empty: clearing one leaves it out.
	rec, err := conn.Update(ctx, "QuotationLines", strconv.Itoa(line), connector.Fields{"QuotationLineProductCode": "", "QuotationLineQuantity": 2.0}, "")
	if err != nil {
		t.Fatalf("clearing a data field: %v", err)
	}
	gotLine, _ := c.srv.Get(sandbox.QuotationLines, line)
	if _, ok := gotLine["QuotationLineData1"]; ok || gotLine["QuotationLineData5"] != "five" || gotLine["QuotationLineQuantity"] != 2.0 {
		t.Errorf("line after clearing its code: %v", gotLine)
	}
	if _, ok := rec.Fields["QuotationLineProductCode"]; ok {
		t.Errorf("the returned record still has the cleared code: %v", rec.Fields)
	}
}

// Inserts into an installation whose POST answers no body find the new
// record among the newest, by content.
func TestInsertWithEmptyAnswer(t *testing.T) {
	c := newCRM(t, sandbox.Options{EmptyPostBody: true})
	conn := c.open(nil)
	for i, name := range []string{"Acme", "Beta", "Acme"} {
		r, err := conn.Insert(context.Background(), "Organisations", connector.Fields{"OrganisationName": name, "OrganisationCity": strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != strconv.Itoa(i+1) {
			t.Errorf("insert %d returned id %q, want %d", i, r.ID, i+1)
		}
	}
	if n := c.srv.Calls()["GET /Queries"]; n != 3 {
		t.Errorf("%d queries to find 3 new ids, want 3", n)
	}
}

// Installations without a User query table: incremental reads of Users
// list every user, and the status says so.
func TestUsersWithoutQueryTable(t *testing.T) {
	c := newCRM(t, sandbox.Options{})
	c.forbidQuery("User")
	st := memstore.New()
	conn, err := webcrm.Open(connector.WithState(context.Background(), st), "crm", c.settings(map[string]any{"page_size": 2}), c.options())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Ann", "Bo", "Cy"} {
		c.put(sandbox.Users, sandbox.Record{"UserName": n})
	}
	recs, cur := listAll(t, conn, "Users", connector.ListRequest{})
	if len(recs) != 3 {
		t.Fatalf("first listing: %d users", len(recs))
	}
	c.edit(sandbox.Users, 2, sandbox.Record{"UserTitle": "Boss"})
	recs, _ = listAll(t, conn, "Users", connector.ListRequest{Cursor: cur})
	if len(recs) != 1 || recs[0].ID != "2" || recs[0].Fields["UserTitle"] != "Boss" {
		t.Errorf("listing after one edit: %v", recs)
	}
	note, _, _ := st.GetState(context.Background(), "crm", connector.StatusKey)
	if !strings.Contains(note, "User query table") {
		t.Errorf("status note %q", note)
	}
	// Other tables still use the query.
	c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": "Acme"})
	if recs, _ := listAll(t, conn, "Organisations", connector.ListRequest{}); len(recs) != 1 {
		t.Errorf("organisations: %v", recs)
	}
}

func TestWebhookHandler(t *testing.T) {
	c := newCRM(t, sandbox.Options{})
	conn := c.open(map[string]any{"hook_secret": "s3cret"})
	var changed []string
	h := conn.WebhookHandler(func(dt string) { changed = append(changed, dt) })
	post := func(target, body string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, target, strings.NewReader(body)))
		return rec.Code
	}
	for _, tc := range []struct {
		target, body string
		want         int
	}{
		{"/webhooks/crm", `{"EventType":"Update","EntityType":"Organisation","Id":1}`, 401},
		{"/webhooks/crm?secret=guess", `{"EventType":"Update","EntityType":"Organisation","Id":1}`, 401},
		{"/webhooks/crm?secret=s3cret", `not json`, 400},
		{"/webhooks/crm?secret=s3cret", `{"EventType":"Update","EntityType":"Spaceship","Id":1}`, 400},
		{"/webhooks/crm?secret=s3cret", `{"EventType":"Update","EntityType":"Organisation","Id":1}`, 204},
		{"/webhooks/crm?secret=s3cret&datatype=Products", `{"eventType":"Create","id":"7"}`, 204},
	} {
		if got := post(tc.target, tc.body); got != tc.want {
			t.Errorf("POST %s %s: %d, want %d", tc.target, tc.body, got, tc.want)
		}
	}
	if strings.Join(changed, ",") != "Organisations,Products" {
		t.Errorf("changed: %v", changed)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/crm?secret=s3cret", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
	// Without a hook_secret nothing is accepted.
	open := c.open(nil).WebhookHandler(func(string) { t.Error("a notification without a configured secret was accepted") })
	rec = httptest.NewRecorder()
	open.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/crm?secret=", strings.NewReader(`{"EntityType":"Organisation","Id":1}`)))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("without hook_secret: %d", rec.Code)
	}
}

// A delete notification becomes a tombstone only once WebCRM confirms the
// record is gone, and stays reported until a listing that carried it
// completes.
func TestDeleteNotifications(t *testing.T) {
	c := newCRM(t, sandbox.Options{})
	conn := c.open(map[string]any{"hook_secret": "s"})
	h := conn.WebhookHandler(func(string) {})
	notify := func(id int) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/crm?secret=s",
			strings.NewReader(`{"EventType":"Delete","EntityType":"Product","Id":`+strconv.Itoa(id)+`}`)))
		if rec.Code != http.StatusNoContent {
			t.Fatalf("notification: %d", rec.Code)
		}
	}
	a := c.put(sandbox.Products, sandbox.Record{"ProductCustom1": "A"})
	b := c.put(sandbox.Products, sandbox.Record{"ProductCustom1": "B"})
	_, cur := listAll(t, conn, "Products", connector.ListRequest{Full: true})
	if err := c.srv.Remove(sandbox.Products, a); err != nil {
		t.Fatal(err)
	}
	notify(a)
	notify(b) // a false alarm: b is still there
	tombstones := func(cursor string) ([]string, string) {
		recs, next := listAll(t, conn, "Products", connector.ListRequest{Cursor: cursor})
		var out []string
		for _, r := range recs {
			if r.Deleted {
				out = append(out, r.ID)
			}
		}
		return out, next
	}
	got, _ := tombstones(cur)
	if strings.Join(got, ",") != strconv.Itoa(a) {
		t.Fatalf("tombstones %v, want [%d]", got, a)
	}
	// The engine did not store that listing: the next one from the same
	// cursor reports it again; one from the new cursor does not.
	got, next := tombstones(cur)
	if strings.Join(got, ",") != strconv.Itoa(a) {
		t.Fatalf("tombstones again %v, want [%d]", got, a)
	}
	if got, _ := tombstones(next); len(got) != 0 {
		t.Fatalf("tombstones after the listing completed: %v", got)
	}
}
