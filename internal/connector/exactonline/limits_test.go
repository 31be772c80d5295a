package exactonline

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/sandbox/exactonline"
)

const missing = "0b5e7a52-1c1e-4d5f-9a39-3f0e8c6c7d11"

func TestPacingStaysUnderTheMinutelyLimit(t *testing.T) {
	e := newEnv(t, exactonline.Options{MinutelyLimit: 60})
	c := e.open()
	for range 150 {
		if _, err := c.Get(t.Context(), "Accounts", missing); !errors.Is(err, connector.ErrNotFound) {
			t.Fatalf("get: %v", err)
		}
	}
	if n := e.statuses.get(http.StatusTooManyRequests); n != 0 {
		t.Fatalf("%d answers 429: the pacer let calls over the minutely limit", n)
	}
	if slept := e.clock.Slept(); slept < 2*time.Minute || slept > 3*time.Minute {
		t.Fatalf("150 calls at 60 a minute waited %s, want two minute windows", slept)
	}
}

// When another client spends the minute's budget, the connector's call gets
// a 429, waits for the window named in its headers and goes through.
func TestA429IsWaitedOut(t *testing.T) {
	e := newEnv(t, exactonline.Options{MinutelyLimit: 60})
	c, other := e.open(), e.open()
	if _, err := c.Get(t.Context(), "Accounts", missing); !errors.Is(err, connector.ErrNotFound) {
		t.Fatal(err)
	}
	for range 59 {
		other.Get(t.Context(), "Accounts", missing)
	}
	if _, err := c.Get(t.Context(), "Accounts", missing); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("the call after another client spent the budget: %v", err)
	}
	if n := e.statuses.get(http.StatusTooManyRequests); n != 1 {
		t.Fatalf("%d answers 429, want 1", n)
	}
}

func TestWritesWaitForReadsWhenTheDayIsNearlySpent(t *testing.T) {
	e := newEnv(t, exactonline.Options{DailyLimit: 100})
	c := e.open(func(s map[string]any) { s["read_reserve"] = 20; s["max_wait"] = "24h" })
	for range 79 {
		c.Get(t.Context(), "Accounts", missing)
	}
	if _, err := c.Insert(t.Context(), "Accounts", connector.Fields{"Name": "Before the reserve"}); err != nil {
		t.Fatal(err)
	}
	remaining, limit, reset, held := c.Budget()
	if remaining != 20 || limit != 100 || held || reset.IsZero() {
		t.Fatalf("budget = %d of %d until %v, held %v; want 20 of 100, not held", remaining, limit, reset, held)
	}
	_, err := c.Insert(t.Context(), "Accounts", connector.Fields{"Name": "In the reserve"})
	if !connector.IsTemporary(err) || !strings.Contains(err.Error(), "writes held") {
		t.Fatalf("a write in the read reserve: want a temporary 'writes held' error, got %v", err)
	}
	if _, _, _, held := c.Budget(); !held {
		t.Fatal("Budget does not say writes are held")
	}
	// Another process (concord status) reads it from the store.
	if b, ok, err := StoredBudget(t.Context(), e.state, "exact"); err != nil || !ok || !b.WritesHeld || b.Limit != 100 {
		t.Fatalf("stored budget: %+v %v %v", b, ok, err)
	}
	// Reads go on, spread over the rest of the day.
	start := e.clock.Now()
	for range 10 {
		if _, err := c.Get(t.Context(), "Accounts", missing); !errors.Is(err, connector.ErrNotFound) {
			t.Fatalf("a read in the reserve: %v", err)
		}
	}
	if spent := e.clock.Now().Sub(start); spent < time.Hour {
		t.Fatalf("10 reads with 20 calls left for %s took %s: not spread", reset.Sub(start).Round(time.Minute), spent)
	}
	// A new day: writes resume.
	e.clock.Advance(reset.Sub(e.clock.Now()) + time.Minute)
	if _, err := c.Get(t.Context(), "Accounts", missing); !errors.Is(err, connector.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := c.Insert(t.Context(), "Accounts", connector.Fields{"Name": "Next day"}); err != nil {
		t.Fatalf("a write on the next day: %v", err)
	}
}

// Exact blocks an endpoint for an hour after more than 10 errors within
// the hour. A refused write is not sent again soon, and an endpoint that
// keeps failing is left alone before Exact blocks it.
func TestFailingCallsDoNotTripTheHourlyBlock(t *testing.T) {
	e := newEnv(t, exactonline.Options{ErrorLimit: 10})
	c := e.open()
	for range 5 {
		_, err := c.Insert(t.Context(), "Items", connector.Fields{"Description": "no code"})
		if !errors.Is(err, connector.ErrRejected) || !strings.Contains(err.Error(), "Code is mandatory") {
			t.Fatalf("want ErrRejected with Exact's message, got %v", err)
		}
	}
	if n := e.calls("POST logistics/Items"); n != 1 {
		t.Fatalf("the same refused POST was sent %d times", n)
	}
	var held error
	for i := range 20 {
		_, err := c.Insert(t.Context(), "Items", connector.Fields{"Description": strings.Repeat("x", i+1)})
		if connector.IsTemporary(err) {
			held = err
			break
		}
	}
	if held == nil || !strings.Contains(held.Error(), "held") {
		t.Fatalf("an endpoint failing again and again was not held: %v", held)
	}
	if n := e.statuses.get(http.StatusTooManyRequests); n != 0 {
		t.Fatal("Exact blocked the endpoint")
	}
	// Reads of other endpoints go on; an hour later the endpoint is open.
	if _, err := c.List(t.Context(), "Items", connector.ListRequest{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := c.Insert(t.Context(), "Items", connector.Fields{"Code": "OK1", "Description": "fine"}); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}

func TestServerErrorsAreRetriedWhereSafe(t *testing.T) {
	e := newEnv(t, exactonline.Options{Faults: exactonline.Faults{ErrorRate: 0.5, DropRate: 0.1}})
	c := e.open()
	var temporary, created int
	for i := range 40 {
		_, err := c.Insert(t.Context(), "Accounts", connector.Fields{"Name": "A", "Code": strings.Repeat("9", i%9+1) + string(rune('A'+i))})
		switch {
		case err == nil:
			created++
		case connector.IsTemporary(err):
			temporary++
		default:
			t.Fatalf("insert: want success or a temporary error, got %v", err)
		}
	}
	if temporary == 0 || created == 0 {
		t.Fatalf("%d created, %d temporary failures: the faults did not show", created, temporary)
	}
	// Reads are retried until they succeed.
	for range 20 {
		if _, err := c.List(t.Context(), "Accounts", connector.ListRequest{Full: true}); err != nil {
			t.Fatalf("list with faults: %v", err)
		}
	}
}

// A call that gives up on server errors says whether the service is
// unavailable (its last answer a 502, 503 or 504: the system's failure, not
// the record's, which the engine waits out without counting attempts) or
// merely failed (500: temporary).
func TestGivingUpOnAnUnavailableService(t *testing.T) {
	e := newEnv(t, exactonline.Options{Faults: exactonline.Faults{ErrorRate: 1}})
	c := e.open()
	var unavailable, other int
	for range 12 {
		_, err := c.List(t.Context(), "Accounts", connector.ListRequest{Full: true})
		if err == nil || !connector.IsTemporary(err) {
			t.Fatalf("every answer a server error: want a temporary error, got %v", err)
		}
		gateway := strings.Contains(err.Error(), ": 502 ") || strings.Contains(err.Error(), ": 503 ") || strings.Contains(err.Error(), ": 504 ")
		if connector.IsUnavailable(err) != gateway {
			t.Fatalf("unavailable %v for %v", connector.IsUnavailable(err), err)
		}
		if gateway {
			unavailable++
		} else {
			other++
		}
	}
	if unavailable == 0 {
		t.Fatalf("no call ended on a 502, 503 or 504 (%d on a 500)", other)
	}
}
