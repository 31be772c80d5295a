package exactonline

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/sandbox/exactonline"
)

var bigMeasure = flag.Bool("exact.big", false, "measure with 10,000 accounts (TestMeasureAPICalls)")

// TestMeasureAPICalls prints what a sync costs in Exact API calls: an
// initial load of N accounts from Exact into a memory system, rounds of 100
// changed accounts on either side, a round without changes, and how long
// loads take at Exact's default limits (60 calls a minute, 5,000 a day)
// against limits off. Waiting for the rate limit happens on the sandbox's
// clock (the connector's sleeps move it), so the time at the limit is the
// real run time plus the time the connector waited on that clock.
//
//	go test ./internal/connector/exactonline -run TestMeasureAPICalls -exact.big -v
func TestMeasureAPICalls(t *testing.T) {
	n := 1000
	if *bigMeasure {
		n = 10000
	} else if raceEnabled || testing.Short() {
		n = 200
	}
	var rows [][]string
	row := func(cells ...any) {
		r := make([]string, len(cells))
		for i, c := range cells {
			r[i] = fmt.Sprint(c)
		}
		rows = append(rows, r)
	}
	row("phase", "reads", "writes", "token calls", "calls by endpoint", "run time", "waited for limits (sandbox clock)")

	for _, limited := range []bool{false, true} {
		opts := exactonline.Options{}
		label := "limits off"
		if limited {
			opts.MinutelyLimit, opts.DailyLimit = exactonline.DefaultMinutelyLimit, exactonline.DefaultDailyLimit
			label = "60/min, 5000/day"
		}
		e := newEnv(t, opts)
		ids := putAccounts(t, e.sb, n)
		h := newHub(t, e, customersYAML)
		measure := func(phase string, f func()) map[string]int {
			e.sb.ResetCalls()
			waited := e.clock.Slept()
			start := time.Now()
			f()
			calls := e.sb.Calls()
			reads, writes := apiCalls(calls)
			row(fmt.Sprintf("%s (%s)", phase, label), reads, writes, calls["POST oauth2/token"], endpoints(calls),
				time.Since(start).Round(time.Millisecond), (e.clock.Slept() - waited).Round(time.Second))
			return calls
		}

		calls := measure(fmt.Sprintf("initial load of %d accounts from Exact", n), func() { h.cycle() })
		if got := h.shop.Count("customers"); got != n {
			t.Fatalf("the load brought %d customers, want %d", got, n)
		}
		if calls["GET sync/CRM/Accounts"] > n/1000+1 || calls["GET crm/Accounts"] != 0 {
			t.Errorf("the load read %v; want 1000-row sync pages", calls)
		}
		h.settle()

		shopIDs := make([]string, 0, 100)
		for _, r := range h.shop.Records("customers")[:100] {
			shopIDs = append(shopIDs, r.ID)
		}
		calls = measure("round: 100 accounts changed in the memory system", func() {
			for i, id := range shopIDs {
				h.shop.Edit("customers", id, connector.Fields{"name": fmt.Sprintf("Changed in the shop %d", i)})
			}
			h.cycle()
		})
		if w := calls["PUT crm/Accounts"]; w != 100 {
			t.Errorf("100 changed accounts took %d PUTs, want 100", w)
		}
		measure("next round: the echo of those writes", func() { h.cycle() })
		calls = measure("round: 100 accounts changed in Exact", func() {
			for i, id := range ids[len(ids)-100:] {
				if _, err := e.sb.Put("Accounts", map[string]any{"ID": id, "Name": fmt.Sprintf("Changed in Exact %d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			h.cycle()
		})
		if _, writes := apiCalls(calls); writes != 0 {
			t.Errorf("changes made in Exact caused %d writes to Exact", writes)
		}
		calls = measure("round without changes", func() { h.cycle() })
		if reads, writes := apiCalls(calls); writes != 0 || reads != 2 {
			t.Errorf("a round without changes: %d reads, %d writes; want 2 and 0", reads, writes)
		}
	}

	// The other direction: N customers of the memory system created in
	// Exact, one POST each. With the daily limit on, writes stop at the
	// read reserve and resume the next day; the minutely limit alone is
	// measured here, and the days are computed below.
	for _, limited := range []bool{false, true} {
		opts := exactonline.Options{}
		label := "limits off"
		if limited {
			opts.MinutelyLimit = exactonline.DefaultMinutelyLimit
			label = "60/min"
		}
		e := newEnv(t, opts)
		h := newHub(t, e, customersYAML)
		for i := range n {
			h.shop.Create("customers", connector.Fields{"code": fmt.Sprintf("M%05d", i), "name": fmt.Sprintf("Shop %d", i)})
		}
		e.sb.ResetCalls()
		waited := e.clock.Slept()
		start := time.Now()
		h.cycle()
		calls := e.sb.Calls()
		reads, writes := apiCalls(calls)
		row(fmt.Sprintf("initial load of %d accounts into Exact (%s)", n, label), reads, writes, calls["POST oauth2/token"], endpoints(calls),
			time.Since(start).Round(time.Millisecond), (e.clock.Slept() - waited).Round(time.Second))
		if got := len(e.sb.Records("Accounts")); got != n {
			t.Fatalf("Exact holds %d accounts after the load, want %d", got, n)
		}
	}

	t.Logf("Exact Online API calls, N = %d (sandbox over HTTP, engine with an in-memory store)\n%s", n, table(rows))
	// At 60 calls a minute, c calls wait for (c-1)/60 minute windows to
	// reset (the first 60 go at once).
	atLimit := func(c int) time.Duration { return time.Duration((c-1)/60) * time.Minute }
	pages60, pages1000 := (n+59)/60, (n+999)/1000
	t.Logf("for comparison: reading %d accounts through crm/Accounts (60-row pages) takes %d calls, which wait %s at 60 a minute; "+
		"through sync/CRM/Accounts (1000-row pages) %d calls, which wait %s",
		n, pages60, atLimit(pages60), pages1000, atLimit(pages1000))
	perDay := exactonline.DefaultDailyLimit * 9 / 10
	t.Logf("creating %d accounts in Exact at Exact's limits: %d POSTs at 60 a minute is %s of calls; with 5,000 calls a day "+
		"and 10%% kept for reads, %d writes a day, so %d day(s)", n, n, (time.Duration(n) * time.Minute / 60).Round(time.Minute),
		perDay, (n+perDay-1)/perDay)
}

func endpoints(calls map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(calls)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, calls[k]))
	}
	return strings.Join(parts, ", ")
}

// table renders rows as a Markdown table.
func table(rows [][]string) string {
	var b strings.Builder
	for i, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
		if i == 0 {
			b.WriteString("|" + strings.Repeat(" --- |", len(r)) + "\n")
		}
	}
	return b.String()
}
