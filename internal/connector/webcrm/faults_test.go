package webcrm_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/webcrm"
	sandbox "github.com/concordsync/concord/internal/sandbox/webcrm"
)

// faultWorld syncs 10 organisations with 10 ERP customers and settles.
func faultWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	o.yaml = orgsYAML
	w := newWorld(t, o)
	for i := range 10 {
		w.crm.put(sandbox.Organisations, sandbox.Record{"OrganisationName": fmt.Sprintf("CRM %d", i), "OrganisationVatNumber": fmt.Sprintf("C%d", i)})
		w.erp.Create("customers", connector.Fields{"name": fmt.Sprintf("ERP %d", i), "vat": fmt.Sprintf("E%d", i)})
	}
	w.settle()
	w.wantCounts(map[string]int{sandbox.Organisations: 20}, map[string]int{"customers": 20})
	return w
}

// wantInSync checks that both sides hold the same customers, each once,
// with the same city.
func (w *world) wantInSync(n int) {
	w.t.Helper()
	w.wantCounts(map[string]int{sandbox.Organisations: n}, map[string]int{"customers": n})
	crm := map[string]string{}
	for _, r := range w.crm.srv.Records(sandbox.Organisations) {
		vat := fmt.Sprint(r["OrganisationVatNumber"])
		if _, dup := crm[vat]; dup {
			w.t.Errorf("WebCRM holds %s twice", vat)
		}
		crm[vat] = fmt.Sprint(r["OrganisationCity"])
	}
	for _, r := range w.erp.Records("customers") {
		vat := fmt.Sprint(r.Fields["vat"])
		city, _ := r.Fields["city"].(string)
		if got, ok := crm[vat]; !ok || got != city {
			w.t.Errorf("customer %s: city %q in the ERP, %q in WebCRM (there: %v)", vat, city, got, ok)
		}
	}
}

// editBoth edits every record on one side or the other.
func (w *world) editBoth(city string) {
	for _, r := range w.crm.srv.Records(sandbox.Organisations) {
		if vat := fmt.Sprint(r["OrganisationVatNumber"]); vat[0] == 'C' {
			w.crm.edit(sandbox.Organisations, r["OrganisationId"].(int), sandbox.Record{"OrganisationCity": city})
		}
	}
	for _, r := range w.erp.Records("customers") {
		if vat := fmt.Sprint(r.Fields["vat"]); vat[0] == 'E' {
			w.erp.Edit("customers", r.ID, connector.Fields{"city": city})
		}
	}
}

// An access token WebCRM no longer takes (401) is replaced by one login and
// the call made again; a token near its end is refreshed before use.
func TestExpiredTokenIsSurvived(t *testing.T) {
	t.Parallel()
	frozen := start // the connector's clock does not move: it cannot tell its token expired
	w := faultWorld(t, worldOptions{connOptions: func(c *crm) webcrm.Options {
		return webcrm.Options{Now: func() time.Time { return frozen }, Sleep: c.sleep, Logger: quiet}
	}})
	logins := w.crm.srv.Calls()["POST /Auth/ApiLogin"]
	w.crm.clock.Advance(2 * time.Hour)
	w.editBoth("Ry")
	w.settle()
	if got := w.crm.srv.Calls()["POST /Auth/ApiLogin"] - logins; got != 1 {
		t.Errorf("%d logins after the token expired, want 1", got)
	}
	if n := w.crm.answered(401); n != 1 {
		t.Errorf("%d answers 401, want 1", n)
	}
	w.wantInSync(20)
	if n := w.erp.Calls()["update"]; n != 10 {
		t.Errorf("the ERP got %d updates, want 10", n)
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	w := faultWorld(t, worldOptions{})
	calls := w.crm.srv.Calls()
	w.crm.clock.Advance(57 * time.Minute) // within five minutes of the hour
	w.editBoth("Vejle")
	w.settle()
	after := w.crm.srv.Calls()
	if after["POST /Auth/ApiRefresh"]-calls["POST /Auth/ApiRefresh"] != 1 || after["POST /Auth/ApiLogin"] != calls["POST /Auth/ApiLogin"] {
		t.Errorf("refreshes %d, logins %d; want one refresh and no login",
			after["POST /Auth/ApiRefresh"]-calls["POST /Auth/ApiRefresh"], after["POST /Auth/ApiLogin"]-calls["POST /Auth/ApiLogin"])
	}
	w.wantInSync(20)
}

// WebCRM's rate limit answers 429 with Retry-After: the connector waits
// that long (on the test clock) and goes on.
func TestThrottlingIsWaitedOut(t *testing.T) {
	t.Parallel()
	w := faultWorld(t, worldOptions{})
	w.crm.srv.SetRateLimit(8)
	before := w.crm.clock.Now()
	w.editBoth("Skive")
	w.settle()
	if waited := w.crm.clock.Now().Sub(before); waited < time.Minute {
		t.Errorf("the clock moved %v: the 429s were not waited out", waited)
	}
	if n := w.crm.answered(429); n == 0 {
		t.Errorf("no 429: the test did not throttle")
	} else {
		t.Logf("%d answers 429 waited out", n)
	}
	w.wantInSync(20)
	if n := w.erp.Calls()["update"]; n != 10 {
		t.Errorf("the ERP got %d updates, want 10", n)
	}
}

// The connector's own pacing keeps under the limit: no 429 at all.
func TestPacingStaysUnderTheLimit(t *testing.T) {
	t.Parallel()
	w := faultWorld(t, worldOptions{rateLimit: 8})
	w.crm.srv.SetRateLimit(8)
	before := w.crm.clock.Now()
	w.editBoth("Ry")
	w.settle()
	w.wantInSync(20)
	if n := w.crm.answered(429); n != 0 {
		t.Errorf("%d answers 429: the pacing let too many calls through", n)
	}
	t.Logf("%d calls took %v on the test clock", w.conn.Calls(), w.crm.clock.Now().Sub(before))
}

// A burst of 5xx answers: short bursts are retried within the call, longer
// ones fail the read or write (Temporary) and the next cycle makes it.
// Answers lost after a create was made are recognised, not created again.
func TestServerErrorsAreSurvived(t *testing.T) {
	t.Parallel()
	w := faultWorld(t, worldOptions{})
	for _, burst := range []int{3, 12, 40} {
		w.crm.fault(burst, 0)
		w.editBoth(fmt.Sprintf("City %d", burst))
		failedCycles := 0
		for range 10 {
			rep, errs := w.syncTolerant()
			if errs > 0 || rep.Failed > 0 {
				failedCycles++
				continue
			}
			if rep.Writes() == 0 && rep.Collected == 0 {
				break
			}
		}
		w.wantInSync(20)
		t.Logf("a burst of %d 503s: %d cycles saw a failure", burst, failedCycles)
	}
	// Creates whose answers are lost: the records exist, the connector
	// cannot know their ids; the engine's insert intents find them.
	for i := range 3 {
		w.erp.Create("customers", connector.Fields{"name": fmt.Sprintf("New %d", i), "vat": fmt.Sprintf("N%d", i)})
	}
	w.crm.fault(0, 2)
	for range 10 {
		rep, errs := w.syncTolerant()
		if errs == 0 && rep.Failed == 0 && rep.Writes() == 0 && rep.Collected == 0 {
			break
		}
	}
	w.wantInSync(23)
	if w.crm.lost == 0 {
		t.Error("no answer was lost: the test did not test anything")
	}
}

// A 429 whose wait outlasts the caller's deadline is a Temporary error at
// once, not a sleep past the deadline.
func TestThrottlingBeyondTheDeadlineIsTemporary(t *testing.T) {
	t.Parallel()
	c := newCRM(t, sandbox.Options{RateLimit: 1})
	c.put(sandbox.Organisations, sandbox.Record{"OrganisationName": "Acme"})
	slept := false
	conn, err := webcrm.Open(context.Background(), "crm", c.settings(nil), webcrm.Options{Logger: quiet,
		Sleep: func(ctx context.Context, d time.Duration) error { slept = true; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Get(context.Background(), "Organisations", "1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = conn.Get(ctx, "Organisations", "1")
	if !connector.IsTemporary(err) || slept {
		t.Fatalf("a 429 beyond the deadline: err %v (temporary %v), slept %v", err, connector.IsTemporary(err), slept)
	}
	if errors.Is(err, connector.ErrRejected) {
		t.Fatalf("a 429 is not a rejection: %v", err)
	}
}

// Creates that follow each other too fast fail (the service's id
// generation); the connector retries them with backoff, and each record is
// created once.
func TestFastCreatesAreRetried(t *testing.T) {
	t.Parallel()
	c := newCRM(t, sandbox.Options{Seed: 3, Faults: sandbox.Faults{CreateFailureRate: 0.9}})
	conn := c.open(nil)
	ids := map[string]bool{}
	for i := range 12 {
		r, err := conn.Insert(context.Background(), "Organisations", connector.Fields{"OrganisationName": fmt.Sprintf("Org %d", i)})
		if err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
		ids[r.ID] = true
	}
	if got := len(c.srv.Records(sandbox.Organisations)); got != 12 || len(ids) != 12 {
		t.Fatalf("%d organisations, %d distinct ids; want 12 each", got, len(ids))
	}
	if n := c.answered(500); n == 0 {
		t.Fatalf("no create failed: the test made no fault")
	} else {
		t.Logf("%d creates failed and were retried", n)
	}
}

// A full scan whose listing comes back short (a page empty that was not)
// deletes nothing: the engine confirms each missing record with Get, which
// finds it. A record really gone is deleted (delete: propagate).
func TestEmptyPageIsNoDeletion(t *testing.T) {
	t.Parallel()
	w := faultWorld(t, worldOptions{pageSize: 5, fullScan: "1m"})
	w.crm.clock.Advance(2 * time.Minute)
	w.crm.emptyListCall(3) // the third page of the next full scan
	gone := w.crmBy(sandbox.Organisations, "OrganisationVatNumber", "C9")["OrganisationId"].(int)
	if err := w.crm.srv.Remove(sandbox.Organisations, gone); err != nil {
		t.Fatal(err)
	}
	w.settle()
	w.wantCounts(map[string]int{sandbox.Organisations: 19}, map[string]int{"customers": 19})
	for _, r := range w.erp.Records("customers") {
		if r.Fields["vat"] == "C9" {
			t.Errorf("the organisation deleted in WebCRM is still in the ERP")
		}
	}
	if w.crm.emptyAt != 0 {
		t.Errorf("the full scan did not reach the empty page")
	}
}
