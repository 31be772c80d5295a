package webcrm_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/sandbox/webcrm"
)

// A test starts the sandbox in-process, reaches it over HTTP like the
// service, moves its clock instead of sleeping, and counts the calls made.
func Example() {
	clock := webcrm.NewManualClock(time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC))
	srv := webcrm.New(webcrm.Options{Now: clock.Now, RateLimit: webcrm.DefaultRateLimit})
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	resp, err := http.PostForm(ts.URL+"/Auth/ApiLogin", url.Values{"authCode": {srv.APIToken()}})
	if err != nil {
		panic(err)
	}
	var tok struct{ AccessToken string }
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	call := func(method, path, body string) string {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprint(resp.StatusCode, " ", string(b))
	}
	fmt.Println(call("POST", "/Organisations", `{"OrganisationId": 0, "OrganisationName": "Acme"}`))
	srv.Edit(webcrm.Organisations, 1, webcrm.Record{"OrganisationCity": "Aarhus"}) // a user's edit
	fmt.Println(call("GET", "/Queries?script="+url.QueryEscape("SELECT OrganisationName, OrganisationCity, OrganisationUpdatedBy FROM Organisation WHERE OrganisationUpdatedAt >= '2024-01-02T10:00:00'"), ""))
	clock.Advance(time.Hour)
	fmt.Println(call("GET", "/Organisations", ""))
	fmt.Println(srv.Calls()["POST /Auth/ApiLogin"], srv.Calls()["GET /Queries"])
	// Output:
	// 200 1
	// 200 [{"OrganisationName":"Acme","OrganisationCity":"Aarhus","OrganisationUpdatedBy":"Sandbox User"}]
	// 401 {"Message":"Authorization has been denied for this request: the access token is missing, unknown or expired. Log in again with /Auth/ApiLogin.","Type":"UnauthorizedException"}
	// 1 1
}

// The helpers act as a user of the web interface: they seed and edit
// records, and delete what the API cannot.
func ExampleServer_Put() {
	srv := webcrm.New(webcrm.Options{})
	defer srv.Close()
	org, _ := srv.Put(webcrm.Organisations, webcrm.Record{"OrganisationName": "Acme"})
	srv.Put(webcrm.Persons, webcrm.Record{"PersonOrganisationId": org, "PersonFirstName": "Ann", "PersonLastName": "Lee"})
	for _, p := range srv.Records(webcrm.Persons) {
		fmt.Println(p["PersonId"], p["PersonName"], p["PersonCreatedBy"])
	}
	srv.Remove(webcrm.Organisations, org)
	fmt.Println(len(srv.Records(webcrm.Persons)))
	// Output:
	// 1 Ann Lee Sandbox User
	// 0
}
