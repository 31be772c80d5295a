package exactonline

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawDo is a call that may fail at the transport: dropped connections
// show up as err.
func (c *client) rawDo(method, path string, body string) (int, error) {
	req, _ := http.NewRequest(method, c.sb.url+"/api/v1/"+itoa(c.sb.Division())+"/"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.access)
	req.Header.Set("Content-Type", "application/json")
	// A fresh transport: a dropped keep-alive connection must not be
	// retried silently by the client.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestErrorRateAnswersServerErrors(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	sb.SetFaults(Faults{ErrorRate: 1})
	r := c.get("crm/Contacts")
	if r.status < 500 || r.status > 504 {
		t.Fatalf("with ErrorRate 1: %d", r.status)
	}
	r.message(t)
	sb.SetFaults(Faults{})
	if r := c.get("crm/Contacts"); r.status != 200 {
		t.Errorf("faults off: %d", r.status)
	}
	if got := sb.Faults(); got != (Faults{}) {
		t.Errorf("Faults() %+v", got)
	}
}

func TestDroppedConnections(t *testing.T) {
	sb := startSandbox(t, Options{Faults: Faults{DropRate: 1}})
	c := sb.login()
	if _, err := c.rawDo(http.MethodGet, "crm/Contacts", ""); err == nil {
		t.Error("a GET with DropRate 1 got an answer")
	}
	// A write is made, then its answer is lost.
	if _, err := c.rawDo(http.MethodPost, "logistics/Items", `{"Code":"LOST","Description":"x"}`); err == nil {
		t.Error("a POST with DropRate 1 got an answer")
	}
	if recs := sb.Records("Items"); len(recs) != 1 || recs[0]["Code"] != "LOST" {
		t.Errorf("the dropped POST was not applied: %v", recs)
	}
}

func TestEmptyPagesCarryANextThatRepeatsTheRequest(t *testing.T) {
	sb := startSandbox(t, Options{})
	c := sb.login()
	sb.seedAccounts(3)
	sb.SetFaults(Faults{EmptyPageRate: 1})
	path := "crm/Accounts?$filter=Name ne null&$select=ID"
	r := c.get(path)
	if len(r.rows(t)) != 0 || r.next(t) == "" {
		t.Fatalf("empty page fault: %s", r.body)
	}
	if !strings.HasSuffix(r.next(t), "/crm/Accounts?$filter=Name%20ne%20null&$select=ID") {
		t.Errorf("__next %q does not repeat the request", r.next(t))
	}
	sb.SetFaults(Faults{})
	if rows := c.get(r.next(t)).rows(t); len(rows) != 3 {
		t.Errorf("following the empty page's __next: %d rows", len(rows))
	}
	sb.SetFaults(Faults{EmptyPageRate: 1})
	if r := c.get("sync/CRM/Accounts?$select=ID"); len(r.rows(t)) != 0 || r.next(t) == "" {
		t.Errorf("sync endpoints get empty pages too: %s", r.body)
	}
}

func TestLatencyDelaysCalls(t *testing.T) {
	sb := startSandbox(t, Options{Faults: Faults{Latency: 30 * time.Millisecond}})
	c := sb.login()
	start := time.Now()
	c.get("crm/Contacts")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("a call took %v with 30ms latency", d)
	}
}

// Faults drawn from a seed repeat: two sandboxes with the same seed fail
// the same calls.
func TestFaultsAreDeterministicWithASeed(t *testing.T) {
	pattern := func() string {
		sb := startSandbox(t, Options{Seed: 7, Faults: Faults{ErrorRate: 0.3, EmptyPageRate: 0.3}})
		c := sb.login()
		var b bytes.Buffer
		for i := 0; i < 40; i++ {
			r := c.get("crm/Contacts")
			switch {
			case r.status >= 500:
				b.WriteString(itoa(r.status))
			case r.next(t) != "":
				b.WriteString("e")
			default:
				b.WriteString(".")
			}
			b.WriteString(" ")
		}
		return b.String()
	}
	a, b := pattern(), pattern()
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	if !strings.Contains(a, "5") || !strings.Contains(a, "e") || !strings.Contains(a, ".") {
		t.Errorf("30%% faults over 40 calls gave %s", a)
	}
}

func TestSeededServersHandOutTheSameIDs(t *testing.T) {
	a := startSandbox(t, Options{Seed: 99}).seedAccount("x")
	b := startSandbox(t, Options{Seed: 99}).seedAccount("x")
	if a != b {
		t.Errorf("seed 99 gave ids %s and %s", a, b)
	}
}
