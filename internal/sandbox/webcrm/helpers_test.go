package webcrm

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// start is the time of every test's clock: 09:11:12 UTC is 10:11:12 in
// Copenhagen.
var start = time.Date(2024, 1, 2, 9, 11, 12, 0, time.UTC)

// sandbox is a running sandbox, its clock and a client logged in to it.
type sandbox struct {
	t     *testing.T
	srv   *Server
	url   string
	clock *ManualClock
	token string
}

// startSandbox runs a sandbox with opts (its clock is a ManualClock unless
// opts.Now is set) and logs in.
func startSandbox(t *testing.T, opts Options) *sandbox {
	t.Helper()
	clock := NewManualClock(start)
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	srv := New(opts)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	sb := &sandbox{t: t, srv: srv, url: ts.URL, clock: clock}
	sb.token = sb.login()
	return sb
}

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) String() string { return strconv.Itoa(a.status) + " " + string(a.body) }

// decode reads the body as JSON into v, failing the test when it is not.
func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body %q is not the JSON expected: %v", a.body, err)
	}
}

// apiError reads a {Message, Type} body.
func (a answer) apiError(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	a.decode(t, &e)
	if e.Message == "" || e.Type == "" {
		t.Fatalf("error body %q lacks Message or Type", a.body)
	}
	return e
}

func (sb *sandbox) send(req *http.Request) answer {
	sb.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		sb.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		sb.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// call makes an API call with the client's token. body is sent as JSON
// unless it is a string (sent as is) or nil.
func (sb *sandbox) call(method, path string, body any) answer {
	sb.t.Helper()
	return sb.callAs(sb.token, method, path, body)
}

func (sb *sandbox) callAs(token, method, path string, body any) answer {
	sb.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			sb.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, sb.url+path, r)
	if err != nil {
		sb.t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return sb.send(req)
}

// login logs in with the API token as a url-encoded form and returns the
// access token.
func (sb *sandbox) login() string {
	sb.t.Helper()
	tok := sb.loginWith(sb.at(loginForm(sb.srv.APIToken())))
	return tok.AccessToken
}

type tokenAnswer struct {
	AccessToken      string
	RefreshToken     string
	ExpiresIn        int64
	TokenType        string
	IsError          bool
	Error            string
	ErrorDescription string
}

func (sb *sandbox) loginWith(req *http.Request) tokenAnswer {
	sb.t.Helper()
	a := sb.send(req)
	var tok tokenAnswer
	a.decode(sb.t, &tok)
	if a.status != http.StatusOK || tok.IsError || tok.AccessToken == "" {
		sb.t.Fatalf("login: %s", a)
	}
	return tok
}

func loginForm(code string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, "/Auth/ApiLogin", strings.NewReader(url.Values{"authCode": {code}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// at points a request made without a base URL at the sandbox.
func (sb *sandbox) at(req *http.Request) *http.Request {
	u, _ := url.Parse(sb.url + req.URL.Path)
	req.URL = u
	req.Host = u.Host
	return req
}

// create POSTs a record and returns its id.
func (sb *sandbox) create(entity string, rec map[string]any) int {
	sb.t.Helper()
	a := sb.call(http.MethodPost, "/"+entity, rec)
	if a.status != http.StatusOK {
		sb.t.Fatalf("POST /%s: %s", entity, a)
	}
	id, err := strconv.Atoi(string(a.body))
	if err != nil {
		sb.t.Fatalf("POST /%s answered %q, want a bare id", entity, a.body)
	}
	return id
}

// get GETs a record as a JSON object.
func (sb *sandbox) get(entity string, id int) map[string]any {
	sb.t.Helper()
	a := sb.call(http.MethodGet, "/"+entity+"/"+strconv.Itoa(id), nil)
	if a.status != http.StatusOK {
		sb.t.Fatalf("GET /%s/%d: %s", entity, id, a)
	}
	var m map[string]any
	a.decode(sb.t, &m)
	return m
}

// list GETs a path that answers a JSON array of objects.
func (sb *sandbox) list(path string) []map[string]any {
	sb.t.Helper()
	a := sb.call(http.MethodGet, path, nil)
	if a.status != http.StatusOK {
		sb.t.Fatalf("GET %s: %s", path, a)
	}
	var out []map[string]any
	a.decode(sb.t, &out)
	return out
}

// query runs a script through GET /Queries.
func (sb *sandbox) query(script string, extra ...string) answer {
	sb.t.Helper()
	q := url.Values{"script": {script}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return sb.call(http.MethodGet, "/Queries?"+q.Encode(), nil)
}

// organisation creates an organisation with a name through the API.
func (sb *sandbox) organisation(name string) int {
	sb.t.Helper()
	return sb.create(Organisations, map[string]any{"OrganisationName": name})
}

// person creates a person of an organisation through the API.
func (sb *sandbox) person(org int, first, last string) int {
	sb.t.Helper()
	return sb.create(Persons, map[string]any{"PersonOrganisationId": org, "PersonFirstName": first, "PersonLastName": last})
}

// ids reads the id field of each record.
func ids(recs []map[string]any, field string) []int {
	var out []int
	for _, r := range recs {
		out = append(out, int(r[field].(float64)))
	}
	return out
}

// wantStatus fails the test unless the answer has the status.
func wantStatus(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("got %s, want status %d", a, status)
	}
}
