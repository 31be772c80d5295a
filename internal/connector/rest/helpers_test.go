package rest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/rest"
	"github.com/concordsync/concord/internal/sandbox/custom"
	"github.com/concordsync/concord/internal/sandbox/erp"
	"github.com/concordsync/concord/internal/sandbox/webshop"
)

// start is when every test's clock starts.
var start = time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)

var quiet = slog.New(slog.DiscardHandler)

// The credentials the sandboxes are started with, and the environment the
// example configurations read them from (token_env, api_key_env).
const (
	shopToken = "ws_test_token"
	erpKey    = "erp_test_key"
)

var testEnv = map[string]string{"WEBSHOP_TOKEN": shopToken, "ERP_API_KEY": erpKey}

func lookupEnv(k string) (string, bool) {
	v, ok := testEnv[k]
	return v, ok
}

// clock is the one clock of a test: the sandboxes', the connectors' and
// the engine's. Waiting (backoff, Retry-After, pacing) moves it instead of
// sleeping.
type clock struct {
	*custom.ManualClock
	mu    sync.Mutex
	slept time.Duration
	// step, when set, moves the clock on at every reading: edits made one
	// after the other (a QA run's, whose pauses are real time) then get
	// times apart, as on a real clock, also in systems that keep seconds.
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	step := c.step
	c.mu.Unlock()
	if step > 0 {
		c.Advance(step)
	}
	return c.ManualClock.Now()
}

func newClock() *clock { return &clock{ManualClock: custom.NewManualClock(start)} }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.Advance(d)
		c.mu.Lock()
		c.slept += d
		c.mu.Unlock()
	}
	return nil
}

func (c *clock) Slept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept
}

// front serves a sandbox over HTTP for a test. It dates answers by the
// test clock (Date, as a system on that clock would) and makes the faults a
// test scripts: 5xx and 429 answers, and bodies replaced by others.
type front struct {
	t     testing.TB
	h     http.Handler
	ts    *httptest.Server
	clock *clock

	mu       sync.Mutex
	calls    int     // calls received
	faults   []fault // answers for the next calls, in order
	rule     func(r *http.Request, call int) *fault
	replace  func(*http.Request) (status int, contentType, body string, ok bool)
	statuses map[int]int         // answers by status
	methods  map[string]int      // calls that reached the sandbox, by method
	faulted  map[int]int         // answers the front made, by status
	retries  map[string][]string // calls by method and path, for the doubles check
}

// fault is one scripted answer: a status with a Retry-After, or (lose) the
// call carried out and its answer lost.
type fault struct {
	status     int
	retryAfter string
	lose       bool
}

func newFront(t testing.TB, h http.Handler, c *clock) *front {
	f := &front{t: t, h: h, clock: c, statuses: map[int]int{}, methods: map[string]int{}, faulted: map[int]int{}}
	f.ts = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.ts.Close)
	return f
}

func (f *front) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", f.clock.Now().UTC().Format(http.TimeFormat))
	f.mu.Lock()
	f.calls++
	var ft *fault
	switch {
	case len(f.faults) > 0:
		ft = &f.faults[0]
		f.faults = f.faults[1:]
	case f.rule != nil:
		ft = f.rule(r, f.calls)
	}
	if ft != nil {
		f.faulted[ft.status]++
	}
	replace := f.replace
	f.mu.Unlock()
	if ft != nil && ft.lose {
		// Carried out, but the answer never arrives.
		f.h.ServeHTTP(httptest.NewRecorder(), r)
		f.mu.Lock()
		f.methods[r.Method]++
		f.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	if ft != nil {
		if ft.retryAfter != "" {
			w.Header().Set("Retry-After", ft.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ft.status)
		fmt.Fprintf(w, `{"message":"fault made by the test front (%d)"}`, ft.status)
		return
	}
	if replace != nil {
		if status, ct, body, ok := replace(r); ok {
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(status)
			io.WriteString(w, body)
			return
		}
	}
	sw := &statusWriter{ResponseWriter: w}
	if os.Getenv("RESTDEBUG") != "" && r.Method != http.MethodGet {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		f.t.Logf("%s %s %s", r.Method, r.URL, b)
	}
	f.h.ServeHTTP(sw, r)
	f.mu.Lock()
	f.statuses[sw.status]++
	f.methods[r.Method]++
	f.mu.Unlock()
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

// fail makes the next calls answer these faults.
func (f *front) fail(faults ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, faults...)
}

// answerWith makes the front answer the calls replace takes instead of
// the system.
func (f *front) answerWith(replace func(*http.Request) (status int, contentType, body string, ok bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replace = replace
}

// faultBy makes the calls rule returns a fault for fail (call counts the
// calls the front received, this one included).
func (f *front) faultBy(rule func(r *http.Request, call int) *fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rule = rule
}

// madeFaults returns the faults the front made, by status (0: lost answers).
func (f *front) madeFaults() map[int]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.faulted)
}

// answered returns the sandbox's own answers, by status.
func (f *front) answered() map[int]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.statuses)
}

// pending is how many scripted faults are still to come.
func (f *front) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.faults)
}

// writes is how many POST, PUT, PATCH and DELETE calls reached the system.
func (f *front) writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.methods[http.MethodPost] + f.methods[http.MethodPut] + f.methods[http.MethodPatch] + f.methods[http.MethodDelete]
}

// client is an HTTP client whose every connection goes to this front,
// whatever host the URL names: the example configurations' base_url stays
// as a user writes it (127.0.0.1:8083), and the sandbox answers.
func (f *front) client() *http.Client {
	addr := f.ts.Listener.Addr().String()
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 4,
	}
	f.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// shop is a webshop sandbox behind a front.
type shop struct {
	*front
	srv *webshop.Server
}

func newShop(t testing.TB, c *clock) *shop {
	t.Helper()
	srv, err := webshop.New(webshop.Options{Now: c.Now, Token: shopToken, Logger: quiet, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &shop{front: newFront(t, srv.Handler(), c), srv: srv}
}

// put creates a record as the shop's staff would.
func (s *shop) put(collection string, rec map[string]any) map[string]any {
	s.t.Helper()
	out, err := s.srv.Put(collection, rec)
	if err != nil {
		s.t.Fatalf("webshop put %s %v: %v", collection, rec, err)
	}
	return out
}

// ledger is an ERP sandbox behind a front.
type ledger struct {
	*front
	srv *erp.Server
}

func newERP(t testing.TB, c *clock) *ledger {
	t.Helper()
	srv, err := erp.New(erp.Options{Now: c.Now, APIKey: erpKey, Seed: 7, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &ledger{front: newFront(t, srv.Handler(), c), srv: srv}
}

func (l *ledger) put(collection string, rec map[string]any) map[string]any {
	l.t.Helper()
	out, err := l.srv.Put(collection, rec)
	if err != nil {
		l.t.Fatalf("erp put %s %v: %v", collection, rec, err)
	}
	return out
}

// readConfig reads a configuration file of testdata through config.Parse,
// as `concord run` reads one.
func readConfig(t testing.TB, name string) *config.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(name, data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg
}

// joinConfigs reads several files of testdata as one configuration: their
// systems and mappings together.
func joinConfigs(t testing.TB, edit func(doc map[string]any), names ...string) *config.Config {
	t.Helper()
	all := map[string]any{"systems": map[string]any{}, "mappings": []any{}}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		maps.Copy(all["systems"].(map[string]any), doc["systems"].(map[string]any))
		all["mappings"] = append(all["mappings"].([]any), doc["mappings"].([]any)...)
	}
	if edit != nil {
		edit(all)
	}
	data, err := yaml.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(strings.Join(names, "+"), data)
	if err != nil {
		t.Fatalf("%v: %v", names, err)
	}
	return cfg
}

// settingsOf returns a deep copy of a system's settings, to change for a
// test without touching the configuration.
func settingsOf(cfg *config.Config, system string) map[string]any {
	return connector.CloneValue(cfg.Systems[system].Settings).(map[string]any)
}

// open opens a system of cfg through the connector, reaching f.
func open(t testing.TB, system string, settings map[string]any, f *front) *rest.Conn {
	t.Helper()
	return openWith(t, system, settings, f, rest.Options{})
}

// openWith opens a system with options (a State) besides the test's own.
func openWith(t testing.TB, system string, settings map[string]any, f *front, opts rest.Options) *rest.Conn {
	t.Helper()
	opts.HTTPClient, opts.Now, opts.Sleep, opts.Logger, opts.LookupEnv = f.client(), f.clock.Now, f.clock.Sleep, quiet, lookupEnv
	conn, err := rest.Open(context.Background(), system, settings, opts)
	if err != nil {
		t.Fatalf("open %s: %v", system, err)
	}
	return conn
}

// listAll follows a listing to its end.
func listAll(t testing.TB, c connector.Connector, datatype string, req connector.ListRequest) ([]connector.Record, string) {
	t.Helper()
	var out []connector.Record
	for range 10_000 {
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

// dig returns a nested value of a settings block ("defaults.paging").
func dig(m map[string]any, path string) map[string]any {
	for _, k := range strings.Split(path, ".") {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
