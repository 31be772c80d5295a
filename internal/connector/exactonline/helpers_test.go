package exactonline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/sandbox/exactonline"
)

// clock is the time of a test, shared by the sandbox and the connectors:
// it moves when a connector sleeps (a rate-limit wait or a backoff takes no
// real time) or when the test says so.
type clock struct {
	mu sync.Mutex
	t  time.Time
	// slept is the time connectors spent waiting.
	slept time.Duration
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sleep moves the clock on. It also yields a little real time, so that a
// worker polling for another's token refresh does not run the clock past
// the lease while the other is still talking to the sandbox.
func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.slept += d
	c.mu.Unlock()
	time.Sleep(min(d/10, 20*time.Millisecond))
	return ctx.Err()
}

func (c *clock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// env is a sandbox behind an HTTP server on a test clock, with what a
// connector needs to reach it.
type env struct {
	t     testing.TB
	clock *clock
	sb    *exactonline.Server
	url   string
	creds exactonline.Credentials
	state connector.State
	// statuses counts the connectors' answers by status code.
	statuses *statusCounter
}

type statusCounter struct {
	mu sync.Mutex
	n  map[int]int
	// refusals describes the 4xx answers, for failure messages.
	refusals []string
}

func (s *statusCounter) refused() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.refusals...)
}

func (s *statusCounter) add(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[code]++
}

func (s *statusCounter) get(code int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[code]
}

type countingTransport struct {
	base http.RoundTripper
	c    *statusCounter
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		t.c.add(resp.StatusCode)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader(body))
			t.c.mu.Lock()
			t.c.refusals = append(t.c.refusals, fmt.Sprintf("%s %s: %d %s (Reason: %s)", r.Method, r.URL.Path, resp.StatusCode, body, resp.Header.Get("Reason")))
			t.c.mu.Unlock()
		}
	}
	return resp, err
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newEnv starts a sandbox with opts (its clock is the test's, its limits
// off unless opts sets them).
func newEnv(t testing.TB, opts exactonline.Options) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), state: connector.NewMemState(), statuses: &statusCounter{n: map[int]int{}}}
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	opts.Logger = quiet
	sb, err := exactonline.New(opts)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	ts := httptest.NewServer(sb.Handler())
	sb.SetBaseURL(ts.URL)
	t.Cleanup(func() {
		ts.Close()
		sb.Close()
	})
	e.sb, e.url = sb, ts.URL
	e.creds = sb.IssueCredentials()
	return e
}

// settings is the system's settings block as a user would write it.
func (e *env) settings() map[string]any {
	return map[string]any{
		"base_url":       e.url,
		"division":       e.creds.Division,
		"client_id":      e.creds.ClientID,
		"client_secret":  e.creds.ClientSecret,
		"redirect_uri":   e.creds.RedirectURI,
		"refresh_token":  e.creds.RefreshToken,
		"webhook_secret": e.creds.WebhookSecret,
	}
}

// options are the connector options of a test: its clock, its state, an
// HTTP client that counts answers.
func (e *env) options() Options {
	return Options{
		HTTPClient: &http.Client{Transport: countingTransport{base: http.DefaultTransport, c: e.statuses}, Timeout: 30 * time.Second},
		Now:        e.clock.Now,
		Sleep:      e.clock.Sleep,
		Logger:     quiet,
		State:      e.state,
	}
}

// open opens a connector to the sandbox with the env's settings changed by
// edit (if given).
func (e *env) open(edit ...func(map[string]any)) *Conn {
	e.t.Helper()
	s := e.settings()
	for _, f := range edit {
		f(s)
	}
	c, err := New(context.Background(), "exact", s, e.options())
	if err != nil {
		e.t.Fatalf("open: %v", err)
	}
	return c
}

// calls is the sandbox's count of one endpoint's calls.
func (e *env) calls(key string) int { return e.sb.Calls()[key] }

// apiCalls counts the API calls (not the token endpoint's) by kind.
func apiCalls(calls map[string]int) (reads, writes int) {
	for k, n := range calls {
		switch {
		case len(k) > 4 && k[:4] == "GET ":
			reads += n
		case k == "POST oauth2/token" || k == "GET oauth2/auth":
		default:
			writes += n
		}
	}
	return reads, writes
}

// sandboxOpts are a sandbox's options for tests that are not about limits:
// every limit off.
func sandboxOpts() exactonline.Options { return exactonline.Options{} }
