package webcrm_test

import (
	"context"
	"log/slog"
	"maps"
	"net/http/httptest"
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
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &crm{t: t, srv: srv, ts: ts, clock: clock}
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
