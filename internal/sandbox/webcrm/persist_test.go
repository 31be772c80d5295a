package webcrm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDataSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webcrm.json")
	clock := NewManualClock(start)
	opts := Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler)}

	first, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	org, _ := first.Put(Organisations, Record{"OrganisationName": "Acme", "OrganisationOwner": 3, "OrganisationCustom2": "x"})
	first.Put(Persons, Record{"PersonOrganisationId": org, "PersonLastName": "Lee", "PersonBirthday": "1990-05-17T00:00:00"})
	opp, _ := first.Put(Opportunities, Record{"OpportunityOrganisationId": org, "OpportunityOrderValue": 99.5, "OpportunityErpStatus": "Synchronized"})
	first.Put(QuotationLines, Record{"QuotationLineOpportunityId": opp, "QuotationLineData1": "P-1"})
	user, _ := first.Put(Users, Record{"UserName": "Bo"})
	first.SetUserActive(user, false)
	first.Remove(Persons, 1)
	first.Put(Persons, Record{"PersonOrganisationId": org, "PersonLastName": "Kim"})
	first.mu.Lock()
	first.hooks[1] = &hook{id: 1, entity: Products, targetURL: "http://x.test/", enabled: true, eventType: "Create", filter: []string{"All"}}
	first.hookIDs = []int64{1}
	first.nextHookID = 2
	first.dirty = true
	first.mu.Unlock()
	before := map[string][]Record{}
	for _, e := range entities {
		before[e.name] = first.Records(e.name)
	}
	token := first.APIToken()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	for _, e := range entities {
		if got := second.Records(e.name); fmt.Sprint(got) != fmt.Sprint(before[e.name]) {
			t.Errorf("%s after restart:\n%v\nwant\n%v", e.name, got, before[e.name])
		}
	}
	if second.APIToken() != token {
		t.Errorf("API token %s after restart, want %s", second.APIToken(), token)
	}
	if id, _ := second.Put(Persons, Record{"PersonOrganisationId": org, "PersonLastName": "Next"}); id != 3 {
		t.Errorf("next person id %d, want 3 (ids are not reused)", id)
	}
	second.mu.Lock()
	h := second.hooks[1]
	active := !second.tables[Users].get(user).inactive
	second.mu.Unlock()
	if h == nil || h.targetURL != "http://x.test/" || active {
		t.Errorf("hook %+v, user active %v after restart", h, active)
	}
}

func TestAChangedTimeZoneShowsTheSameInstantsDifferently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webcrm.json")
	clock := NewManualClock(start)
	first, err := Open(path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	first.Put(Organisations, Record{"OrganisationName": "Acme"})
	first.Close()
	second, err := Open(path, Options{Now: clock.Now, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if rec, _ := second.Get(Organisations, 1); rec["OrganisationCreatedAt"] != "2024-01-02T09:11:12" {
		t.Errorf("created at %v in UTC", rec["OrganisationCreatedAt"])
	}
}

func TestChangesReachTheDataFileWithoutClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webcrm.json")
	srv, err := Open(path, Options{SaveInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Put(Organisations, Record{"OrganisationName": "Written in passing"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), "Written in passing") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change never reached the data file")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

func TestABrokenDataFileIsAnErrorNamingIt(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage.json":   "{not json",
		"version.json":   `{"version": 9}`,
		"entity.json":    `{"version": 1, "tables": {"Widgets": {"records": []}}}`,
		"typed.json":     `{"version": 1, "tables": {"Organisations": {"records": [{"OrganisationId": 1, "OrganisationOwner": "three"}]}}}`,
		"duplicate.json": `{"version": 1, "tables": {"Users": {"records": [{"UserId": 1}, {"UserId": 1}]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			os.WriteFile(path, []byte(content), 0o644)
			_, err := Open(path, Options{})
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming %s", err, path)
			}
		})
	}
}

func TestAHandWrittenDataFileSeedsTheSandbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.json")
	os.WriteFile(path, []byte(`{"version": 1, "authCode": "demo-token", "tables": {
		"Organisations": {"records": [{"OrganisationId": 7, "OrganisationName": "Seeded", "OrganisationUpdatedAt": "2023-06-01T08:00:00"}]}}}`), 0o644)
	srv, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rec, ok := srv.Get(Organisations, 7)
	if !ok || rec["OrganisationName"] != "Seeded" || rec["OrganisationUpdatedAt"] != "2023-06-01T08:00:00" || srv.APIToken() != "demo-token" {
		t.Errorf("seeded record %v, token %s", rec, srv.APIToken())
	}
	if id, _ := srv.Put(Organisations, Record{"OrganisationName": "Next"}); id != 8 {
		t.Errorf("next id %d, want 8", id)
	}
}

func TestServeAnswersUntilCancelledThenSaves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webcrm.json")
	srv, err := Open(path, Options{SaveInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	creds := srv.Credentials("http://" + ln.Addr().String())
	resp, err := http.Post(creds.BaseURL+"/Auth/ApiLogin", "application/x-www-form-urlencoded", strings.NewReader("authCode="+creds.AuthCode))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "AccessToken") {
		t.Fatalf("login over the network: %d %s", resp.StatusCode, body)
	}
	srv.Put(Organisations, Record{"OrganisationName": "Saved at shutdown"})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), "Saved at shutdown") {
		t.Error("the data was not saved at shutdown")
	}
}
