package webcrm_test

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/webcrm"
	sandbox "github.com/concordsync/concord/internal/sandbox/webcrm"
)

// crm is a WebCRM sandbox served in-process over HTTP, on a manual clock
// that the connector shares: waiting (backoff, Retry-After, the pacer)
// moves the clock instead of sleeping.
type crm struct {
	t     *testing.T
	srv   *sandbox.Server
	ts    *httptest.Server
	clock *sandbox.ManualClock

	// Faults the test front adds before the sandbox (see serve).
	mu        sync.Mutex
	failNext  int // answer the next calls (other than logins) with 503
	loseNext  int // carry out the next POSTs but drop their answers
	failed    int // calls answered 503 by the front
	lost      int // answers dropped by the front
	forbidden map[string]bool
	statuses  map[int]int // answers by status code
	emptyAt   int         // answer the emptyAt-th list call (GET /Organisations?Page=) from now with []
}

// emptyListCall makes the n-th list call from now answer an empty page, as
// a flaky API might.
func (c *crm) emptyListCall(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.emptyAt = n
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// answered returns how many answers had the status.
func (c *crm) answered(status int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statuses[status]
}

var quiet = slog.New(slog.DiscardHandler)

// start is 2024-03-05 09:00 UTC.
var start = time.Date(2024, 3, 5, 9, 0, 0, 0, time.UTC)

func newCRM(t *testing.T, opts sandbox.Options) *crm {
	t.Helper()
	clock := sandbox.NewManualClock(start)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	srv := sandbox.New(opts)
	c := &crm{t: t, srv: srv, clock: clock}
	c.ts = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(func() {
		c.ts.Close()
		srv.Close()
	})
	return c
}

// serve is the test front of the sandbox: it makes the faults the test
// switched on, then lets the sandbox answer.
func (c *crm) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	login := strings.HasPrefix(r.URL.Path, "/Auth/")
	fail := c.failNext > 0 && !login
	if fail {
		c.failNext--
		c.failed++
	}
	lose := c.loseNext > 0 && (r.Method == http.MethodPost || r.Method == http.MethodPatch) && !login
	if lose {
		c.loseNext--
		c.lost++
	}
	empty := false
	if c.emptyAt > 0 && r.Method == http.MethodGet && strings.EqualFold(r.URL.Path, "/Organisations") {
		c.emptyAt--
		empty = c.emptyAt == 0
	}
	refused := false
	if script := r.URL.Query().Get("script"); script != "" {
		for table := range c.forbidden {
			if strings.Contains(script, "FROM "+table+" ") || strings.HasSuffix(script, "FROM "+table) {
				refused = true
			}
		}
	}
	c.mu.Unlock()
	switch {
	case fail:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"Message":"The service is unavailable (test front).","Type":"ServiceUnavailableException"}`))
	case empty:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[]`))
	case refused:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"Message":"Invalid object name (test front: this installation has no such query table).","Type":"BadRequestException"}`))
	case lose:
		c.srv.Handler().ServeHTTP(httptest.NewRecorder(), r)
		panic(http.ErrAbortHandler) // the call was carried out; its answer never arrives
	default:
		sw := &statusWriter{ResponseWriter: w}
		c.srv.Handler().ServeHTTP(sw, r)
		c.mu.Lock()
		if c.statuses == nil {
			c.statuses = map[int]int{}
		}
		c.statuses[sw.status]++
		c.mu.Unlock()
	}
}

// fault switches faults of the test front on.
func (c *crm) fault(failNext, loseNext int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failNext, c.loseNext = failNext, loseNext
}

// forbidQuery makes the query endpoint refuse a table, as installations
// without it do.
func (c *crm) forbidQuery(table string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forbidden == nil {
		c.forbidden = map[string]bool{}
	}
	c.forbidden[table] = true
}

// settings are a system's settings block for the sandbox: no pacing (the
// sandbox's rate limit, when a test sets one, is what it tests), the page
// size given.
func (c *crm) settings(extra map[string]any) map[string]any {
	s := map[string]any{
		"base_url":   c.ts.URL,
		"api_token":  c.srv.APIToken(),
		"rate_limit": 0,
		"page_size":  50,
	}
	maps.Copy(s, extra)
	return s
}

// sleep moves the shared clock instead of waiting.
func (c *crm) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.clock.Advance(d)
	return nil
}

func (c *crm) options() webcrm.Options {
	return webcrm.Options{Now: c.clock.Now, Sleep: c.sleep, Logger: quiet}
}

// open opens a connector to the sandbox.
func (c *crm) open(extra map[string]any) *webcrm.Conn {
	c.t.Helper()
	conn, err := webcrm.Open(context.Background(), "crm", c.settings(extra), c.options())
	if err != nil {
		c.t.Fatalf("open: %v", err)
	}
	return conn
}

// put creates a record as a user of WebCRM's web interface would.
func (c *crm) put(entity string, rec sandbox.Record) int {
	c.t.Helper()
	id, err := c.srv.Put(entity, rec)
	if err != nil {
		c.t.Fatalf("sandbox put %s: %v", entity, err)
	}
	return id
}

func (c *crm) edit(entity string, id int, changes sandbox.Record) {
	c.t.Helper()
	if err := c.srv.Edit(entity, id, changes); err != nil {
		c.t.Fatalf("sandbox edit %s %d: %v", entity, id, err)
	}
}

// sandboxRecord turns connector fields into a sandbox record (the helpers
// take ids as numbers).
func sandboxRecord(f connector.Fields) sandbox.Record {
	out := sandbox.Record{}
	for k, v := range f {
		out[k] = v
	}
	return out
}

// listAll follows a listing to its end and returns its records and final
// cursor.
func listAll(t *testing.T, c connector.Connector, datatype string, req connector.ListRequest) ([]connector.Record, string) {
	t.Helper()
	var out []connector.Record
	for range 100_000 {
		p, err := c.List(context.Background(), datatype, req)
		if err != nil {
			t.Fatalf("list %s: %v", datatype, err)
		}
		out = append(out, p.Records...)
		if p.NextPageToken == "" {
			return out, p.Cursor
		}
		req.PageToken = p.NextPageToken
	}
	t.Fatal("the listing never ends")
	return nil, ""
}
