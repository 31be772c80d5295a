package webcrm

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLatencyIsAddedBeforeEveryAnswer(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	sb := startSandbox(t, Options{
		Faults: Faults{Latency: 250 * time.Millisecond},
		Sleep: func(_ context.Context, d time.Duration) {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
		},
	})
	sb.call(http.MethodGet, "/Organisations", nil)
	sb.srv.SetFaults(Faults{})
	sb.call(http.MethodGet, "/Organisations", nil)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(waits, []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}) {
		t.Errorf("waits %v, want 250ms before the login and the first call only", waits)
	}
}

func TestErrorRateAnswersServerErrors(t *testing.T) {
	sb := startSandbox(t, Options{})
	sb.srv.SetFaults(Faults{ErrorRate: 1})
	statuses := map[int]bool{}
	for range 40 {
		a := sb.call(http.MethodPost, "/Organisations", map[string]any{"OrganisationName": "x"})
		if a.status != http.StatusInternalServerError && a.status != http.StatusServiceUnavailable {
			t.Fatalf("got %s, want 500 or 503", a)
		}
		a.apiError(t)
		statuses[a.status] = true
	}
	if len(statuses) != 2 {
		t.Errorf("statuses %v, want both 500 and 503", statuses)
	}
	if n := len(sb.srv.Records(Organisations)); n != 0 {
		t.Errorf("%d organisations created by failed calls, want none", n)
	}
}

func TestDropRateClosesConnectionsWithoutAnswer(t *testing.T) {
	sb := startSandbox(t, Options{})
	sb.srv.SetFaults(Faults{DropRate: 1})
	req, _ := http.NewRequest(http.MethodGet, sb.url+"/Organisations", nil)
	req.Header.Set("Authorization", "Bearer "+sb.token)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d, want the connection closed", resp.StatusCode)
	}
	sb.srv.SetFaults(Faults{})
	wantStatus(t, sb.call(http.MethodGet, "/Organisations", nil), http.StatusOK)
}

func TestSeededFaultsHitTheSameCalls(t *testing.T) {
	run := func() []int {
		sb := startSandbox(t, Options{Seed: 7})
		sb.srv.SetFaults(Faults{ErrorRate: 0.5})
		var out []int
		for range 30 {
			out = append(out, sb.call(http.MethodGet, "/Users", nil).status)
		}
		return out
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Errorf("two runs under one seed differ:\n%v\n%v", a, b)
	}
	if !slices.Contains(a, http.StatusOK) || !slices.ContainsFunc(a, func(s int) bool { return s >= 500 }) {
		t.Errorf("statuses %v, want some successes and some failures", a)
	}
}

func TestFastCreatesFailTransiently(t *testing.T) {
	sb := startSandbox(t, Options{Faults: Faults{CreateFailureRate: 1, CreateFailureWindow: 200 * time.Millisecond}})
	sb.organisation("First") // no create before it
	a := sb.call(http.MethodPost, "/Organisations", map[string]any{"OrganisationName": "Too fast"})
	wantStatus(t, a, http.StatusInternalServerError)
	if e := a.apiError(t); !strings.Contains(e.Message, "Try again") {
		t.Errorf("message %q", e.Message)
	}
	sb.clock.Advance(100 * time.Millisecond)
	wantStatus(t, sb.call(http.MethodPost, "/Organisations", map[string]any{"OrganisationName": "Retry too soon"}), http.StatusInternalServerError)
	sb.clock.Advance(200 * time.Millisecond)
	if id := sb.organisation("Patient"); id != 2 {
		t.Errorf("id %d, want 2: failed creates use no id", id)
	}
	wantStatus(t, sb.call(http.MethodPut, "/Organisations/2", map[string]any{"OrganisationName": "Updates never fail"}), http.StatusOK)

	sb.clock.Advance(time.Second)
	var results []string
	sb.call(http.MethodPatch, "/Organisations", []any{
		map[string]any{"OrganisationName": "ok"},
		map[string]any{"OrganisationName": "too fast"},
		map[string]any{"OrganisationId": 1, "OrganisationName": "update"},
	}).decode(t, &results)
	if len(results) != 3 || results[0] != "3" || !strings.Contains(results[1], "Try again") || results[2] != "1" {
		t.Errorf("PATCH results %q", results)
	}
}
