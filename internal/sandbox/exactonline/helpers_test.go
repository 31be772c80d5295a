package exactonline

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is the injectable time of a test: it moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)} }

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

// sandbox is a Server behind a real HTTP listener, on a test clock.
type sandbox struct {
	*Server
	t     testing.TB
	url   string
	clock *clock
}

// startSandbox runs a sandbox for the test; opts.Now is the test clock
// unless set.
func startSandbox(t testing.TB, opts Options) *sandbox {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	srv.SetBaseURL(ts.URL)
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &sandbox{Server: srv, t: t, url: ts.URL, clock: c}
}

// client is a connector's view: an access token and plain HTTP.
type client struct {
	sb     *sandbox
	access string
	creds  Credentials
}

// login gets credentials the way a test or demo does (no browser) and
// trades the refresh token for an access token.
func (sb *sandbox) login() *client {
	sb.t.Helper()
	creds := sb.IssueCredentials()
	tok := sb.token(url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {creds.RefreshToken},
		"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret},
	})
	if tok.status != 200 {
		sb.t.Fatalf("refresh with issued credentials: %d %s", tok.status, tok.body)
	}
	return &client{sb: sb, access: tok.json["access_token"].(string), creds: creds}
}

type tokenReply struct {
	status int
	header http.Header
	json   map[string]any
	body   string
}

func (sb *sandbox) token(form url.Values) tokenReply {
	sb.t.Helper()
	resp, err := http.PostForm(sb.url+"/api/oauth2/token", form)
	if err != nil {
		sb.t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(body, &m)
	return tokenReply{resp.StatusCode, resp.Header, m, string(body)}
}

// reply is an API answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object (%d): %v\n%s", r.status, err, r.body)
	}
	return m
}

// d is the object under "d".
func (r reply) d(t testing.TB) map[string]any {
	t.Helper()
	d, ok := r.json(t)["d"].(map[string]any)
	if !ok {
		t.Fatalf("no d object in %s", r.body)
	}
	return d
}

// rows are d.results.
func (r reply) rows(t testing.TB) []map[string]any {
	t.Helper()
	res, ok := r.d(t)["results"].([]any)
	if !ok {
		t.Fatalf("no d.results in %s", r.body)
	}
	out := make([]map[string]any, len(res))
	for i, x := range res {
		out[i] = x.(map[string]any)
	}
	return out
}

func (r reply) next(t testing.TB) string {
	t.Helper()
	n, _ := r.d(t)["__next"].(string)
	return n
}

// message is the value of Exact's error envelope.
func (r reply) message(t testing.TB) string {
	t.Helper()
	var env struct {
		Error struct {
			Code    *string `json:"code"`
			Message struct {
				Lang  *string `json:"lang"`
				Value string  `json:"value"`
			} `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error.Code == nil || env.Error.Message.Lang == nil {
		t.Fatalf("not Exact's error envelope (%d): %s", r.status, r.body)
	}
	return env.Error.Message.Value
}

// do calls the API. A path starting with "/" or "http" is used as is;
// otherwise it is under /api/v1/{division}/. body is sent as JSON.
func (c *client) do(method, path string, body any) reply {
	c.sb.t.Helper()
	u := path
	switch {
	case strings.HasPrefix(path, "http"):
	case strings.HasPrefix(path, "/"):
		u = c.sb.url + path
	default:
		u = c.sb.url + "/api/v1/" + strconv.Itoa(c.sb.Division()) + "/" + path
	}
	u = strings.ReplaceAll(u, " ", "%20") // filters read better in tests with spaces
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.sb.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.sb.t.Fatalf("request %s %s: %v", method, u, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.access)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.sb.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

func (c *client) get(path string) reply { return c.do(http.MethodGet, path, nil) }

// mustCreate posts a record and returns the created row.
func (c *client) mustCreate(path string, body any) map[string]any {
	c.sb.t.Helper()
	r := c.do(http.MethodPost, path, body)
	if r.status != http.StatusCreated {
		c.sb.t.Fatalf("POST %s: %d %s", path, r.status, r.body)
	}
	return r.d(c.sb.t)
}

// seedAccount and seedItem put records in place as the user of Exact.
func (sb *sandbox) seedAccount(name string) string {
	sb.t.Helper()
	r, err := sb.Put("Accounts", map[string]any{"Name": name})
	if err != nil {
		sb.t.Fatal(err)
	}
	return r["ID"].(string)
}

func (sb *sandbox) seedItem(code string, price float64) string {
	sb.t.Helper()
	r, err := sb.Put("Items", map[string]any{"Code": code, "Description": "Item " + code, "StandardSalesPrice": price})
	if err != nil {
		sb.t.Fatal(err)
	}
	return r["ID"].(string)
}

func num(t testing.TB, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			t.Fatalf("%v is not a number", v)
		}
		return f
	case float64:
		return x
	case int64:
		return float64(x)
	}
	t.Fatalf("%v (%T) is not a number", v, v)
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }

func listenLocal() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
