package webcrm

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"
	_ "time/tzdata" // the default zone must load on machines without a zone database
)

// DefaultZone is the time zone of stored timestamps when Options.Location
// is nil. The service's zone is not documented; webCRM is a Danish service.
const DefaultZone = "Europe/Copenhagen"

// Options configure a sandbox. The zero value is an in-memory sandbox
// without rate limit or faults, with a random API token.
type Options struct {
	// Now is the sandbox's clock (timestamps, token expiry, the rate
	// window, the create-failure window); nil means time.Now.
	Now func() time.Time
	// Location is the time zone timestamps are stored and shown in; nil
	// means DefaultZone.
	Location *time.Location
	// RateLimit is how many requests a minute one API token may make on a
	// sliding window; 0 means no limit. The service allows DefaultRateLimit.
	RateLimit int
	// EmptyPostBody makes POST /Organisations and POST /Users answer 200
	// with an empty body instead of the new id, as older versions of the
	// service did.
	EmptyPostBody bool
	// IgnorePersonOrganisationChange makes an API write that changes
	// PersonOrganisationId keep the old value silently instead of failing
	// with 400.
	IgnorePersonOrganisationChange bool
	// Faults are the failures made on purpose from the start.
	Faults Faults
	// Seed makes the API token and the faults the same on every run; 0
	// means random.
	Seed int64
	// AuthCode is the API token clients log in with; empty means one is
	// made up (from Seed when given) or taken from the data file.
	AuthCode string
	// APIUser is the name written to *CreatedBy/*UpdatedBy by API writes;
	// UIUser by the helpers that act as a user of the web interface.
	APIUser, UIUser string
	// FieldLabels name the custom fields in use (field name → label), as
	// GET /FieldsMetadata reports them; nil means DefaultFieldLabels.
	FieldLabels map[string]string
	// HookClient makes the hook calls; nil means a client with a 10 s timeout.
	HookClient *http.Client
	// Logger receives the sandbox's logs; nil means slog.Default().
	Logger *slog.Logger
	// Sleep waits out the Latency fault; nil means a real timer. Tests set
	// it to observe the latency without waiting.
	Sleep func(ctx context.Context, d time.Duration)
	// SaveInterval is how often changes are written to the data file (see
	// Open); 0 means one second.
	SaveInterval time.Duration
}

// DefaultFieldLabels are the custom fields the sandbox reports in use when
// Options.FieldLabels is nil. The service has no product code or name
// field: installations keep them in custom fields, and copy them into
// quotation line data fields.
var DefaultFieldLabels = map[string]string{
	"ProductCustom1":     "Product code",
	"ProductCustom2":     "Product name",
	"QuotationLineData1": "Product code",
	"QuotationLineData2": "Product name",
}

// switches are the behaviours that can change while the sandbox runs.
type switches struct {
	loc                            *time.Location
	rateLimit                      int
	emptyPostBody                  bool
	ignorePersonOrganisationChange bool
	faults                         Faults
}

// Server is one emulated WebCRM installation. Its methods are safe for
// concurrent use. Close it to stop its goroutines and save its data.
type Server struct {
	clock   func() time.Time
	log     *slog.Logger
	sleep   func(context.Context, time.Duration)
	apiUser author
	uiUser  author

	swMu sync.RWMutex
	sw   switches

	// mu guards the data below. Lock order: mu before swMu.
	mu         sync.Mutex
	tables     map[string]*table // by entity path name
	hooks      map[int64]*hook
	hookIDs    []int64 // ascending
	nextHookID int64
	authCode   string
	labels     map[string]string
	dirty      bool      // changed since the last save
	lastCreate time.Time // the previous create attempt, for the create-failure fault

	tokens  *tokens
	limiter *limiter
	dice    *dice
	hookq   *hookQueue

	callsMu sync.Mutex
	calls   map[string]int

	dataFile  string
	saveMu    sync.Mutex
	saveStop  chan struct{}
	saveDone  chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New returns an in-memory sandbox.
func New(opts Options) *Server {
	s := &Server{
		clock:      opts.Now,
		log:        opts.Logger,
		sleep:      opts.Sleep,
		apiUser:    author{name: opts.APIUser, api: true},
		uiUser:     author{name: opts.UIUser},
		tables:     map[string]*table{},
		hooks:      map[int64]*hook{},
		nextHookID: 1,
		labels:     opts.FieldLabels,
		tokens:     newTokens(),
		limiter:    newLimiter(),
		dice:       newDice(opts.Seed),
		calls:      map[string]int{},
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("system", "webcrm-sandbox")
	if s.sleep == nil {
		s.sleep = sleep
	}
	if s.apiUser.name == "" {
		s.apiUser.name = "API Sandbox"
	}
	if s.uiUser.name == "" {
		s.uiUser.name = "Sandbox User"
	}
	if s.labels == nil {
		s.labels = maps.Clone(DefaultFieldLabels)
	}
	loc := opts.Location
	if loc == nil {
		loc = defaultLocation()
	}
	s.sw = switches{loc: loc, rateLimit: max(opts.RateLimit, 0), emptyPostBody: opts.EmptyPostBody,
		ignorePersonOrganisationChange: opts.IgnorePersonOrganisationChange, faults: opts.Faults.normalized()}
	for _, e := range entities {
		s.tables[e.name] = newTable(e)
	}
	s.authCode = opts.AuthCode
	if s.authCode == "" {
		s.authCode = s.newGUID(opts.Seed)
	}
	client := opts.HookClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	s.hookq = newHookQueue(client, s.log)
	return s
}

// Open returns a sandbox whose data lives in the JSON file at path: loaded
// now when it exists, written atomically when something changed (every
// Options.SaveInterval) and on Close.
func Open(path string, opts Options) (*Server, error) {
	s := New(opts)
	s.dataFile = path
	if err := s.load(path); err != nil {
		return nil, err
	}
	if opts.AuthCode != "" {
		s.authCode = opts.AuthCode
	}
	s.dirty = true // write the file at once, with the API token in it
	if err := s.Save(); err != nil {
		return nil, err
	}
	interval := opts.SaveInterval
	if interval <= 0 {
		interval = time.Second
	}
	s.saveStop, s.saveDone = make(chan struct{}), make(chan struct{})
	go s.saveLoop(interval, s.saveStop, s.saveDone)
	return s, nil
}

func defaultLocation() *time.Location {
	loc, err := time.LoadLocation(DefaultZone)
	if err != nil { // cannot happen with time/tzdata linked in
		return time.FixedZone("CET", 3600)
	}
	return loc
}

// newGUID makes an API token in the service's shape: a GUID.
func (s *Server) newGUID(seed int64) string {
	var b [16]byte
	if seed != 0 {
		binary.BigEndian.PutUint64(b[:8], s.dice.uint64())
		binary.BigEndian.PutUint64(b[8:], s.dice.uint64())
	} else {
		crand.Read(b[:])
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Close stops the sandbox's goroutines (pending hook deliveries are
// dropped) and saves its data file. The Handler must not be used after.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.saveStop != nil {
			close(s.saveStop)
			<-s.saveDone
		}
		s.hookq.close()
		s.closeErr = s.Save()
	})
	return s.closeErr
}

// Serve answers HTTP on ln until ctx is done, then stops accepting calls,
// lets those in flight finish (for at most five seconds) and closes the
// sandbox, saving its data.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return errors.Join(fmt.Errorf("webcrm sandbox: serve: %w", err), s.Close())
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(shutdown)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		err = fmt.Errorf("webcrm sandbox: shutdown: %w", err)
	}
	return errors.Join(err, s.Close())
}

// Handler is the sandbox's HTTP API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// APIToken is the auth code clients log in with (POST /Auth/ApiLogin).
func (s *Server) APIToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authCode
}

// Credentials are what a client needs to reach the sandbox.
// The JSON names are those of the webcrm connector's settings (the API
// token is what /Auth/ApiLogin takes as authCode).
type Credentials struct {
	BaseURL  string `json:"base_url"`
	AuthCode string `json:"api_token"`
}

// Credentials returns the sandbox's credentials for a client that reaches
// it at baseURL.
func (s *Server) Credentials(baseURL string) Credentials {
	return Credentials{BaseURL: baseURL, AuthCode: s.APIToken()}
}

func (s *Server) switches() switches {
	s.swMu.RLock()
	defer s.swMu.RUnlock()
	return s.sw
}

func (s *Server) setSwitch(f func(*switches)) {
	s.swMu.Lock()
	defer s.swMu.Unlock()
	f(&s.sw)
}

// SetFaults replaces the faults the sandbox makes.
func (s *Server) SetFaults(f Faults) { s.setSwitch(func(sw *switches) { sw.faults = f.normalized() }) }

// Faults returns the faults the sandbox makes.
func (s *Server) Faults() Faults { return s.switches().faults }

// SetRateLimit sets the requests a minute per API token; 0 switches the
// limit off.
func (s *Server) SetRateLimit(n int) { s.setSwitch(func(sw *switches) { sw.rateLimit = max(n, 0) }) }

// SetLocation sets the time zone timestamps are shown in and query
// literals are read in; nil means DefaultZone. Stored instants do not move:
// their text does.
func (s *Server) SetLocation(loc *time.Location) {
	if loc == nil {
		loc = defaultLocation()
	}
	s.setSwitch(func(sw *switches) { sw.loc = loc })
}

// Location returns the time zone of timestamps.
func (s *Server) Location() *time.Location { return s.switches().loc }

// SetEmptyPostBody switches the older behaviour of POST /Organisations and
// POST /Users: 200 with an empty body instead of the new id.
func (s *Server) SetEmptyPostBody(on bool) { s.setSwitch(func(sw *switches) { sw.emptyPostBody = on }) }

// SetIgnorePersonOrganisationChange chooses between failing (false) and
// silently keeping the old value (true) when an API write changes
// PersonOrganisationId.
func (s *Server) SetIgnorePersonOrganisationChange(on bool) {
	s.setSwitch(func(sw *switches) { sw.ignorePersonOrganisationChange = on })
}

// Calls returns how many requests the sandbox received, by method and path
// pattern ("GET /Organisations", "PUT /Persons/{id}", "POST /Auth/ApiLogin").
// Throttled, refused and faulted requests count too.
func (s *Server) Calls() map[string]int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls sets the call counters to zero.
func (s *Server) ResetCalls() {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	clear(s.calls)
}

func (s *Server) count(label string) {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	s.calls[label]++
}

// ManualClock is a clock for Options.Now that moves only when told to, so
// that tests see token expiry, the rate window and timestamps without
// sleeping. It is safe for concurrent use.
type ManualClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewManualClock returns a clock that reads start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{t: start} }

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
