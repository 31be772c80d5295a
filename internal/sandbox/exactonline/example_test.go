package exactonline_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/concordsync/concord/internal/sandbox/exactonline"
)

// A test starts the sandbox in-process, takes ready-made credentials, and
// talks to it over HTTP as a connector would.
func Example() {
	srv, err := exactonline.New(exactonline.Options{MinutelyLimit: 60, DailyLimit: 5000})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	srv.SetBaseURL(ts.URL)

	// The user of Exact creates an account.
	if _, err := srv.Put("Accounts", map[string]any{"Name": "Bakkerij Jansen", "Code": "1001"}); err != nil {
		panic(err)
	}

	creds := srv.IssueCredentials()
	resp, err := http.PostForm(creds.TokenURL, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {creds.RefreshToken},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret},
	})
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   string `json:"expires_in"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/%d/crm/Accounts?$select=Code,Name&$filter=trim(Code)%%20eq%%20'1001'", creds.APIURL, creds.Division), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var page struct {
		D struct {
			Results []struct{ Code, Name string }
		}
	}
	json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()

	fmt.Println("expires_in:", tok.ExpiresIn)
	fmt.Printf("%q %s\n", page.D.Results[0].Code, page.D.Results[0].Name)
	fmt.Println("calls left this minute:", resp.Header.Get("X-RateLimit-Minutely-Remaining"))
	fmt.Println("calls:", srv.Calls()["GET crm/Accounts"])
	// Output:
	// expires_in: 600
	// "              1001" Bakkerij Jansen
	// calls left this minute: 59
	// calls: 1
}
