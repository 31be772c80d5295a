package exactonline

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Amsterdam on machines without a zone database
)

// Server is one emulated Exact Online: an app registration, a user, one
// division with its records, tokens, rate-limit state and webhook
// subscriptions. It is safe for concurrent use. Close it to stop its
// background work and write its data.
type Server struct {
	opts Options
	loc  *time.Location
	log  *slog.Logger

	mu       sync.Mutex
	division int
	rowver   int64 // the division's row version counter (sync Timestamp)
	tables   map[*entityDef]*table
	deleted  []tombstone // in Timestamp order
	app      *app        // the registered app IssueCredentials speaks for
	apps     map[string]*app
	grants   map[string]*grant // by current refresh token
	voided   map[string]bool   // refresh tokens replaced by a refresh
	access   map[string]*accessToken
	codes    map[string]*authCode
	user     user
	idRNG    *rand.Rand
	faultRNG *rand.Rand
	faults   Faults
	limits   limits
	calls    map[string]int
	baseURL  string // as set; empty: each request's own
	seenBase string // the base of the latest API request, for webhooks
	dirty    bool
	saveMu   sync.Mutex // one Save at a time

	hooks *hookQueue

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

type user struct {
	ID       string
	FullName string
	Email    string
}

// New makes a Server, loading Options.DataFile when it exists. Its
// background work (webhook delivery, periodic saving) runs until Close.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = mustAmsterdam()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SaveInterval <= 0 {
		opts.SaveInterval = time.Second
	}
	if opts.WebhookClient == nil {
		opts.WebhookClient = &http.Client{Timeout: 10 * time.Second}
	}
	switch opts.KeyedReadShape {
	case "", "object", "results", "array":
	default:
		return nil, fmt.Errorf("exactonline sandbox: KeyedReadShape %q: want object, results or array", opts.KeyedReadShape)
	}
	seed := uint64(opts.Seed)
	if opts.Seed == 0 {
		seed = rand.Uint64()
	}
	s := &Server{
		opts:     opts,
		loc:      opts.Location,
		log:      opts.Logger.With("system", "exactonline-sandbox"),
		tables:   map[*entityDef]*table{},
		apps:     map[string]*app{},
		grants:   map[string]*grant{},
		voided:   map[string]bool{},
		access:   map[string]*accessToken{},
		codes:    map[string]*authCode{},
		idRNG:    rand.New(rand.NewPCG(seed, 0x6964)),
		faultRNG: rand.New(rand.NewPCG(seed, 0x6661756c74)),
		faults:   opts.Faults,
		calls:    map[string]int{},
		baseURL:  strings.TrimSuffix(opts.BaseURL, "/"),
		rowver:   1000,
		stop:     make(chan struct{}),
	}
	s.limits.init(opts)
	for _, d := range entities {
		s.tables[d] = newTable(d)
	}
	s.tables[webhookSubscriptions] = newTable(webhookSubscriptions)
	if opts.DataFile != "" {
		if err := s.load(opts.DataFile); err != nil {
			return nil, err
		}
	}
	if err := s.settle(); err != nil {
		return nil, err
	}
	s.hooks = newHookQueue()
	s.wg.Add(1)
	go s.deliverWebhooks()
	if opts.DataFile != "" {
		s.wg.Add(1)
		go s.saveLoop()
	}
	return s, nil
}

// settle fills in what neither Options nor the data file gave: division,
// user and app.
func (s *Server) settle() error {
	switch {
	case s.division == 0 && s.opts.Division == 0:
		s.division = DefaultDivision
	case s.division == 0:
		s.division = s.opts.Division
	case s.opts.Division != 0 && s.opts.Division != s.division:
		return fmt.Errorf("exactonline sandbox: %s holds division %d, not %d: start without a division or with another data file", s.opts.DataFile, s.division, s.opts.Division)
	}
	if s.user.ID == "" {
		s.user = user{ID: newGUID(s.idRNG), FullName: "Sandbox User", Email: "sandbox.user@example.com"}
	}
	if id := s.opts.ClientID; id != "" {
		if g, ok := parseGUID(id); ok {
			id = g
		}
		a := s.apps[id]
		if a == nil {
			a = &app{ClientID: id}
			s.apps[id] = a
		}
		if s.opts.ClientSecret != "" {
			a.ClientSecret = s.opts.ClientSecret
		}
		if s.opts.WebhookSecret != "" {
			a.WebhookSecret = s.opts.WebhookSecret
		}
		s.app = a
	}
	if s.app == nil {
		for _, a := range s.apps {
			if s.app == nil || a.ClientID < s.app.ClientID {
				s.app = a
			}
		}
	}
	if s.app == nil {
		s.app = &app{ClientID: newGUID(s.idRNG)}
		s.apps[s.app.ClientID] = s.app
		if s.opts.WebhookSecret != "" {
			s.app.WebhookSecret = s.opts.WebhookSecret
		}
	}
	if s.app.ClientSecret == "" {
		s.app.ClientSecret = s.secret(12)
	}
	if s.app.WebhookSecret == "" {
		s.app.WebhookSecret = s.secret(16)
	}
	return nil
}

// Close stops webhook delivery and periodic saving, and writes the data
// file one last time. Calling it again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		if s.opts.DataFile != "" {
			s.closeErr = s.Save()
		}
	})
	return s.closeErr
}

// Handler is the HTTP face of the server: /api/oauth2/… and /api/v1/….
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// SetBaseURL sets the scheme and host the server's absolute URLs use.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimSuffix(u, "/")
}

// Division is the division the sandbox holds.
func (s *Server) Division() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.division
}

// SetFaults replaces the faults in force; the zero Faults turns them off.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// SetLimits changes the per-minute and per-day API budgets (0: unlimited).
// Calls already counted in the current windows stay counted.
func (s *Server) SetLimits(minutely, daily int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits.minutely, s.limits.daily = minutely, daily
}

// SetErrorLimit changes how many errors within an hour block an endpoint
// (0: never).
func (s *Server) SetErrorLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits.errorLimit = n
}

// Calls counts the requests received by method and endpoint, keyed like
// "GET crm/Accounts", "PUT salesorder/SalesOrders", "GET sync/CRM/Accounts",
// "POST oauth2/token". A request by key counts under its collection.
// Every request counts, also those refused (401, 429) or faulted.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls sets every call count back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
}

// now is the clock's time as stored: UTC, to the millisecond, as
// "/Date(ms)/" can carry it.
func (s *Server) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// base is the scheme and host of absolute URLs; s.mu is held.
func (s *Server) base(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r != nil && r.TLS != nil {
		scheme = "https"
	}
	if r == nil {
		return "http://localhost"
	}
	return scheme + "://" + r.Host
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.EqualFold(strings.TrimSuffix(p, "/"), "/api/oauth2/auth"):
		s.countCall(r.Method + " oauth2/auth")
		s.handleAuthorize(w, r)
	case strings.EqualFold(strings.TrimSuffix(p, "/"), "/api/oauth2/token"):
		s.countCall(r.Method + " oauth2/token")
		s.handleToken(w, r)
	case len(p) >= len("/api/v1/") && strings.EqualFold(p[:len("/api/v1/")], "/api/v1/"):
		s.serveAPI(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) countCall(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[key]++
}

// response is an API answer built before it is written, so that faults can
// still drop it and the error block can count it.
type response struct {
	status int
	header http.Header
	body   []byte
}

func newResponse(status int) *response { return &response{status: status, header: http.Header{}} }

func jsonResponse(status int, body []byte) *response {
	r := newResponse(status)
	r.header.Set("Content-Type", "application/json; charset=utf-8")
	r.body = body
	return r
}

// errorResponse is Exact's error envelope.
func errorResponse(status int, format string, args ...any) *response {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message struct {
				Lang  string `json:"lang"`
				Value string `json:"value"`
			} `json:"message"`
		} `json:"error"`
	}
	env.Error.Message.Value = fmt.Sprintf(format, args...)
	b, _ := json.Marshal(env)
	return jsonResponse(status, b)
}

func (resp *response) write(w http.ResponseWriter) {
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.status)
	if resp.status != http.StatusNoContent && resp.status != http.StatusNotModified {
		w.Write(resp.body)
	}
}

// serveAPI runs an /api/v1 call through what the real gateway does, in
// its order: authentication, division, error block, rate limit; then the
// faults, the handler, and the error count.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	t := resolve(r.URL.Path)
	s.countCall(r.Method + " " + t.endpoint)

	s.mu.Lock()
	now := s.now()
	s.seenBase = s.base(r)
	a, tokenErr := s.authenticate(r, now)
	if tokenErr != nil {
		if a != nil {
			s.limits.noteError(errKey{a.ClientID, s.division, strings.ToLower(t.endpoint)}, now)
		}
		s.mu.Unlock()
		resp := errorResponse(http.StatusUnauthorized, "%s", tokenErr.Error())
		resp.header.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		resp.write(w)
		return
	}
	division := s.division
	if !t.current {
		d, err := strconv.Atoi(t.division)
		if err != nil || d != s.division {
			s.limits.noteError(errKey{a.ClientID, s.division, strings.ToLower(t.endpoint)}, now)
			s.mu.Unlock()
			errorResponse(http.StatusForbidden, "Forbidden: no access to division %q", t.division).write(w)
			return
		}
	}
	ek := errKey{a.ClientID, division, strings.ToLower(t.endpoint)}
	if until, blocked := s.limits.blocked(ek, now); blocked {
		h := s.limits.headers(usageKey{a.ClientID, division}, now)
		s.mu.Unlock()
		resp := errorResponse(http.StatusTooManyRequests,
			"API key blocked for endpoint %s until %s: more than %d errors within an hour. Fix the failing call before retrying.",
			t.endpoint, until.In(s.loc).Format("2006-01-02T15:04:05"), s.limits.errorLimit)
		copyHeader(resp.header, h)
		resp.header.Set("Retry-After", strconv.Itoa(int(until.Sub(now).Seconds()+0.999)))
		resp.write(w)
		return
	}
	h, ok := s.limits.consume(usageKey{a.ClientID, division}, now)
	if !ok {
		s.mu.Unlock()
		resp := errorResponse(http.StatusTooManyRequests, "API rate limit exceeded")
		copyHeader(resp.header, h)
		resp.write(w)
		return
	}
	faults := s.faults
	failStatus := 0
	if s.roll(faults.ErrorRate) {
		failStatus = []int{500, 502, 503, 504}[s.faultRNG.IntN(4)]
	}
	drop := s.roll(faults.DropRate)
	s.mu.Unlock()

	if faults.Latency > 0 {
		timer := time.NewTimer(faults.Latency)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return
		}
	}
	isWrite := r.Method != http.MethodGet && r.Method != http.MethodHead
	if drop && !isWrite {
		dropConnection(w)
		return
	}
	var resp *response
	if failStatus != 0 {
		resp = errorResponse(failStatus, "%s (simulated)", http.StatusText(failStatus))
	} else {
		resp = s.dispatch(r, t, a)
	}
	copyHeader(resp.header, h)
	resp.header.Set("DataServiceVersion", "2.0;")
	if counted(resp.status) {
		s.mu.Lock()
		s.limits.noteError(ek, s.now())
		s.mu.Unlock()
	}
	if drop {
		dropConnection(w)
		return
	}
	resp.write(w)
}

// counted are the statuses that count towards the hourly error block.
func counted(status int) bool {
	return status == 400 || status == 401 || status == 403 || status == 404
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

// roll draws whether a fault with probability rate happens; s.mu is held.
func (s *Server) roll(rate float64) bool {
	return rate > 0 && s.faultRNG.Float64() < rate
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// target is what an /api/v1 path names.
type target struct {
	division string // as written; "current" for current/Me
	current  bool
	kind     targetKind
	def      *entityDef
	endpoint string // canonical, for Calls and the error block
	service  string // the service path as requested
	key      string // literal inside (…), without parentheses
	hasKey   bool
	nav      string // navigation property after the key
}

type targetKind int

const (
	targetUnknown targetKind = iota
	targetMe
	targetEntity
	targetSync
	targetBulk
	targetDeleted
	targetWebhooks
)

type route struct {
	kind     targetKind
	def      *entityDef
	endpoint string
}

var routes = func() map[string]route {
	m := map[string]route{
		"sync/deleted":                  {kind: targetDeleted, endpoint: "sync/Deleted"},
		"webhooks/webhooksubscriptions": {kind: targetWebhooks, endpoint: "webhooks/WebhookSubscriptions"},
	}
	for _, d := range entities {
		m[strings.ToLower(d.path)] = route{targetEntity, d, d.path}
		if d.syncPath != "" {
			m[strings.ToLower(d.syncPath)] = route{targetSync, d, d.syncPath}
		}
		if d.bulkPath != "" {
			m[strings.ToLower(d.bulkPath)] = route{targetBulk, d, d.bulkPath}
		}
	}
	return m
}()

// resolve reads /api/v1/{division}/{service}[(key)[/Nav]].
func resolve(path string) target {
	rest := strings.TrimSuffix(path[len("/api/v1/"):], "/")
	var t target
	div, service, _ := strings.Cut(rest, "/")
	t.division = div
	if strings.EqualFold(div, "current") {
		t.current = true
		if strings.EqualFold(service, "Me") {
			t.kind, t.endpoint = targetMe, "current/Me"
			return t
		}
	}
	if open := strings.IndexByte(service, '('); open >= 0 {
		closing := strings.IndexByte(service[open:], ')')
		if closing > 0 {
			t.key, t.hasKey = service[open+1:open+closing], true
			after := service[open+closing+1:]
			service = service[:open]
			t.nav = strings.TrimPrefix(after, "/")
		}
	}
	t.service = service
	t.endpoint = service
	if rt, ok := routes[strings.ToLower(service)]; ok {
		t.kind, t.def, t.endpoint = rt.kind, rt.def, rt.endpoint
	}
	if t.current && t.kind != targetMe {
		t.kind = targetUnknown
	}
	return t
}

func (s *Server) dispatch(r *http.Request, t target, a *app) *response {
	switch t.kind {
	case targetMe:
		if r.Method != http.MethodGet {
			return methodNotAllowed(r.Method, t.endpoint)
		}
		return s.handleMe(r)
	case targetEntity:
		return s.handleEntity(r, t)
	case targetSync:
		if r.Method != http.MethodGet {
			return methodNotAllowed(r.Method, t.endpoint)
		}
		return s.handleSync(r, t)
	case targetBulk:
		if r.Method != http.MethodGet {
			return methodNotAllowed(r.Method, t.endpoint)
		}
		return s.handleBulk(r, t)
	case targetDeleted:
		if r.Method != http.MethodGet {
			return methodNotAllowed(r.Method, t.endpoint)
		}
		return s.handleDeleted(r, t)
	case targetWebhooks:
		return s.handleWebhooks(r, t, a)
	}
	return errorResponse(http.StatusNotFound, "Resource not found for the segment '%s'.", t.service)
}

func methodNotAllowed(method, endpoint string) *response {
	return errorResponse(http.StatusMethodNotAllowed, "The HTTP method '%s' is not allowed on %s.", method, endpoint)
}
