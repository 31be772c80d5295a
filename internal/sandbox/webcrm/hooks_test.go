package webcrm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// receiver is a hook target that records what it is told.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	payloads []HookPayload
	hold     chan struct{} // when set, each call waits for it
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.hold != nil {
			<-r.hold
		}
		var p HookPayload
		if err := json.NewDecoder(req.Body).Decode(&p); err != nil || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("hook call: %v, content type %q", err, req.Header.Get("Content-Type"))
		}
		r.mu.Lock()
		r.payloads = append(r.payloads, p)
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) heard() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.payloads {
		out = append(out, fmt.Sprintf("%s %s %d", p.EventType, p.EntityType, p.Id))
	}
	return out
}

// subscribe creates a hook through the API and returns its id.
func (sb *sandbox) subscribe(entity, event, target string, enabled bool) int {
	sb.t.Helper()
	return sb.create(entity+"/Hooks", map[string]any{"TargetUrl": target, "EventType": event, "IsEnabled": enabled, "Filter": []string{"All"}})
}

func (sb *sandbox) waitForHooks() {
	sb.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sb.srv.WaitForHooks(ctx); err != nil {
		sb.t.Fatal(err)
	}
}

func TestHooksCanBeCreatedReadChangedAndDeleted(t *testing.T) {
	sb := startSandbox(t, Options{})
	id := sb.subscribe(Organisations, "Update", "https://example.test/in", true)
	sb.subscribe(Persons, "Create", "https://example.test/p", true)

	var hooks []hookJSON
	sb.call(http.MethodGet, "/Organisations/Hooks", nil).decode(t, &hooks)
	if len(hooks) != 1 || hooks[0].Id != int64(id) || hooks[0].EventType != "Update" || !hooks[0].IsEnabled ||
		!slices.Equal(hooks[0].Filter, []string{"All"}) || hooks[0].CreatedAt != "2024-01-02T10:11:12" {
		t.Fatalf("organisation hooks %+v", hooks)
	}
	path := fmt.Sprintf("/Organisations/Hooks/%d", id)
	wantStatus(t, sb.call(http.MethodPut, path, map[string]any{"TargetUrl": "http://example.test/other", "EventType": "delete", "IsEnabled": false, "Filter": []string{"owner"}}), http.StatusOK)
	var h hookJSON
	sb.call(http.MethodGet, path, nil).decode(t, &h)
	if h.TargetUrl != "http://example.test/other" || h.EventType != "Delete" || h.IsEnabled || !slices.Equal(h.Filter, []string{"Owner"}) {
		t.Errorf("after PUT: %+v", h)
	}
	wantStatus(t, sb.call(http.MethodGet, fmt.Sprintf("/Persons/Hooks/%d", id), nil), http.StatusNotFound) // another entity's hook
	wantStatus(t, sb.call(http.MethodDelete, path, nil), http.StatusNoContent)
	wantStatus(t, sb.call(http.MethodGet, path, nil), http.StatusNotFound)

	for name, body := range map[string]map[string]any{
		"relative url":   {"TargetUrl": "/in", "EventType": "Create"},
		"no event type":  {"TargetUrl": "http://x.test/"},
		"unknown event":  {"TargetUrl": "http://x.test/", "EventType": "Merge"},
		"unknown filter": {"TargetUrl": "http://x.test/", "EventType": "Create", "Filter": []string{"Current"}},
	} {
		t.Run(name, func(t *testing.T) {
			a := sb.call(http.MethodPost, "/Organisations/Hooks", body)
			wantStatus(t, a, http.StatusBadRequest)
			a.apiError(t)
		})
	}
}

func TestHooksHearCreatesUpdatesAndDeletes(t *testing.T) {
	sb := startSandbox(t, Options{})
	rcv := newReceiver(t)
	for _, ev := range []string{"Create", "Update", "Delete"} {
		sb.subscribe(Products, ev, rcv.URL, true)
	}
	sb.subscribe(Products, "Create", rcv.URL+"/disabled", false)
	sb.subscribe(Organisations, "Delete", rcv.URL, true)

	p := sb.create(Products, map[string]any{"ProductCustom1": "P-1"})
	wantStatus(t, sb.call(http.MethodPut, fmt.Sprintf("/Products/%d", p), map[string]any{"ProductCustom1": "P-1b"}), http.StatusOK)
	sb.call(http.MethodPatch, "/Products", []any{map[string]any{"ProductCustom1": "P-2"}})
	wantStatus(t, sb.call(http.MethodDelete, fmt.Sprintf("/Products/%d", p), nil), http.StatusNoContent)
	org := sb.organisation("Acme") // organisations have a Delete hook only
	sb.srv.Edit(Products, 2, Record{"ProductPrice": 10})
	sb.srv.Remove(Organisations, org)

	sb.waitForHooks()
	want := []string{"Create Product 1", "Update Product 1", "Create Product 2", "Delete Product 1", "Update Product 2", "Delete Organisation 1"}
	if got := rcv.heard(); !slices.Equal(got, want) {
		t.Errorf("heard %q, want %q", got, want)
	}
}

func TestHookDeliveryNeverHoldsUpTheAPI(t *testing.T) {
	sb := startSandbox(t, Options{})
	rcv := newReceiver(t)
	rcv.hold = make(chan struct{})
	sb.subscribe(Organisations, "Create", rcv.URL, true)
	for i := range 3 {
		sb.organisation(fmt.Sprintf("Org %d", i)) // answered while the receiver hangs
	}
	if got := rcv.heard(); len(got) != 0 {
		t.Errorf("heard %q before the receiver answered", got)
	}
	close(rcv.hold)
	sb.waitForHooks()
	if got := rcv.heard(); len(got) != 3 {
		t.Errorf("heard %q, want three creates", got)
	}
}

func TestConcurrentCallsHelpersAndSwitchesAreSafe(t *testing.T) {
	sb := startSandbox(t, Options{RateLimit: 10_000})
	rcv := newReceiver(t)
	sb.subscribe(Organisations, "Create", rcv.URL, true)
	sb.subscribe(Organisations, "Update", rcv.URL, true)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 15 {
				id := sb.organisation(fmt.Sprintf("Org %d-%d", w, i))
				sb.call(http.MethodPut, fmt.Sprintf("/Organisations/%d", id), map[string]any{"OrganisationName": "renamed"})
				sb.call(http.MethodGet, "/Organisations?Size=5", nil)
				sb.query("SELECT OrganisationId FROM Organisation WHERE OrganisationName = 'renamed' ORDER BY OrganisationId DESC")
			}
		})
	}
	wg.Go(func() {
		for i := range 30 {
			sb.srv.Put(Organisations, Record{"OrganisationName": fmt.Sprintf("UI %d", i)})
			sb.srv.SetLocation(time.UTC)
			sb.srv.SetFaults(Faults{Latency: time.Duration(i)})
			sb.srv.Records(Organisations)
			sb.srv.Calls()
			sb.clock.Advance(time.Millisecond)
		}
	})
	wg.Wait()
	sb.waitForHooks()
	if n := len(sb.srv.Records(Organisations)); n != 90 {
		t.Errorf("%d organisations, want 90", n)
	}
	if n := len(rcv.heard()); n != 90+60 {
		t.Errorf("%d hook calls, want 150", n)
	}
}
