package exactonline

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/sandbox/exactonline"
)

// customersYAML syncs shop customers with Exact accounts.
const customersYAML = `
systems:
  shop: {kind: memory}
  exact:
    kind: exactonline
    settings:
      base_url: %q
      division: %d
      client_id: %q
      client_secret: %q
      refresh_token: %q
mappings:
  - system: shop
    datatype: customers
    canonical: customer
    merge: [[code]]
    properties:
      - {field: code, property: code}
      - {field: name, property: name}
  - system: exact
    datatype: Accounts
    canonical: customer
    merge: [[code]]
    properties:
      - {field: Code, property: code, in: "trimpad(value)", out: "pad(value, 18, ' ')"}
      - {field: Name, property: name}
`

// survivor is a hub with customers created on both sides in batches.
type survivor struct {
	*hub
	made int // customers created on each side so far
}

func newSurvivor(t *testing.T, opts exactonline.Options) *survivor {
	e := newEnv(t, opts)
	s := &survivor{hub: newHub(t, e, customersYAML)}
	s.create(10)
	s.settle()
	s.check()
	return s
}

// create makes n customers in the shop and n accounts in Exact.
func (s *survivor) create(n int) {
	s.t.Helper()
	for range n {
		s.made++
		s.shop.Create("customers", connector.Fields{"code": fmt.Sprintf("S%03d", s.made), "name": fmt.Sprintf("Shop %d", s.made)})
		mustPut(s.t, s.e, "Accounts", map[string]any{"Code": fmt.Sprintf("E%03d", s.made), "Name": fmt.Sprintf("Exact %d", s.made)})
	}
}

// check fails unless both sides hold every customer exactly once.
func (s *survivor) check() {
	s.t.Helper()
	want := 2 * s.made
	shopCodes, exactCodes := map[string]int{}, map[string]int{}
	for _, r := range s.shop.Records("customers") {
		shopCodes[fmt.Sprint(r.Fields["code"])]++
	}
	for _, r := range s.e.sb.Records("Accounts") {
		exactCodes[strings.TrimSpace(fmt.Sprint(r["Code"]))]++
	}
	if len(shopCodes) != want || len(exactCodes) != want || s.shop.Count("customers") != want || len(s.e.sb.Records("Accounts")) != want {
		s.deadLetters()
		s.t.Fatalf("shop holds %d customers (%d codes), Exact %d accounts (%d codes); want %d each, no duplicates",
			s.shop.Count("customers"), len(shopCodes), len(s.e.sb.Records("Accounts")), len(exactCodes), want)
	}
}

func TestSurvivesAnExpiredAccessToken(t *testing.T) {
	s := newSurvivor(t, sandboxOpts())
	// The stored token looks valid for another hour, but Exact expired it.
	st, _ := storedTokensIn(t, s.hub)
	st.Expires = s.e.clock.Now().Add(time.Hour)
	if err := storeTokens(context.Background(), s.st, "exact", st); err != nil {
		t.Fatal(err)
	}
	s.e.clock.Advance(11 * time.Minute)
	s.restart()
	s.create(5)
	s.settle()
	s.check()
	if n := s.e.statuses.get(http.StatusUnauthorized); n != 1 {
		t.Fatalf("%d answers 401, want the one that made the connector refresh", n)
	}
}

// A second worker shares the tokens: whichever refreshes, the other picks
// up the rotated refresh token instead of using the void one, also when
// both find the token due at the same moment.
func TestSurvivesARotatedRefreshToken(t *testing.T) {
	s := newSurvivor(t, sandboxOpts())
	o := s.e.options()
	o.State = s.st
	other, err := New(context.Background(), "exact", s.cfg.Systems["exact"].Settings, o)
	if err != nil {
		t.Fatal(err)
	}
	work := func() {
		if _, err := other.List(context.Background(), "Accounts", connector.ListRequest{Full: true}); err != nil {
			t.Errorf("the other worker: %v", err)
		}
	}
	for round := range 3 {
		s.e.clock.Advance(10 * time.Minute)
		if round == 1 {
			work() // the other worker refreshes first
		}
		s.create(3)
		if round == 2 {
			// Both find the token due at once: one refreshes, the other
			// waits for it or goes on with the current token.
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); work() }()
			if _, err := s.eng.SyncOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
		}
		s.settle()
		work()
	}
	s.check()
	if n := s.e.statuses.get(http.StatusBadRequest) + s.e.statuses.get(http.StatusUnauthorized); n != 0 {
		t.Fatalf("%d refused calls or refreshes: %v", n, s.e.statuses.refused())
	}
}

func storedTokensIn(t testing.TB, h *hub) (tokenState, int64) {
	t.Helper()
	e := *h.e
	e.state = h.st
	return storedTokens(t, &e)
}

// Another client spends the minute's budget while the engine syncs: the
// connector gets a 429, waits and goes on.
func TestSurvivesA429(t *testing.T) {
	s := newSurvivor(t, exactonline.Options{MinutelyLimit: 60})
	// The other client is another app of the same user that does not pace
	// itself: it spends what is left of the minute.
	burn := func() {
		st, _ := storedTokensIn(t, s.hub)
		for range 60 {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/%d/crm/Accounts?$filter=Name%%20eq%%20'x'", s.e.url, s.e.creds.Division), nil)
			req.Header.Set("Authorization", "Bearer "+st.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	s.create(30)
	for range 3 {
		s.e.clock.Advance(time.Minute)
		burn()
		if _, err := s.eng.SyncOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	s.settle()
	s.check()
	if n := s.e.statuses.get(http.StatusTooManyRequests); n == 0 {
		t.Fatal("no 429 happened: the test tests nothing")
	}
}

// A burst of 5xx answers and dropped connections (a POST whose answer is
// lost after Exact created the record) leaves no record lost or doubled.
func TestSurvivesABurstOf5xx(t *testing.T) {
	s := newSurvivor(t, sandboxOpts())
	s.create(20)
	s.e.sb.SetFaults(exactonline.Faults{ErrorRate: 0.4, DropRate: 0.1})
	for range 4 {
		s.cycle()
	}
	s.shop.Edit("customers", s.shop.Records("customers")[0].ID, connector.Fields{"name": "Edited during the burst"})
	s.cycle()
	s.e.sb.SetFaults(exactonline.Faults{})
	s.settle()
	s.check()
	if n := s.e.statuses.get(500) + s.e.statuses.get(502) + s.e.statuses.get(503) + s.e.statuses.get(504); n < 5 {
		t.Fatalf("only %d 5xx answers: the burst did not happen", n)
	}
	s.exactRecord("Accounts", "Name", "Edited during the burst")
}
