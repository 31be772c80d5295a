package webshop

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the shop's zone must load on machines without a zone database

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// Defaults of the command line.
const (
	// DefaultRateLimit is the calls a token may make in a minute when the
	// command line does not say otherwise; in Options 0 means no limit.
	DefaultRateLimit = 120
	// DefaultZone is the shop's time zone: the offset its times are
	// written with.
	DefaultZone = "Europe/Amsterdam"
	// DefaultPerPage and MaxPerPage bound per_page.
	DefaultPerPage = 25
	MaxPerPage     = 100
)

// Faults make the API misbehave; see custom.Faults.
type Faults = custom.Faults

// ManualClock is a clock for Options.Now that tests move by hand.
type ManualClock = custom.ManualClock

// NewManualClock returns a clock that reads start.
func NewManualClock(start time.Time) *ManualClock { return custom.NewManualClock(start) }

// Options shape a Server. The zero value is an empty shop in memory with
// no rate limit and no faults, a random token and Dutch time.
type Options struct {
	// Now is the shop's clock; nil means time.Now. Tests inject a
	// ManualClock to make timestamps, clock ties and the rate window
	// happen without sleeping.
	Now func() time.Time
	// Location is the zone times are written in; nil means DefaultZone.
	Location *time.Location
	// Token is the bearer token clients send; empty means the one in
	// DataFile, or a new one (from Seed when given).
	Token string
	// RateLimit is the calls a token may make in a sliding minute; 0 means
	// no limit. Over it: 429 with Retry-After.
	RateLimit int
	// Faults are the failures made on purpose from the start.
	Faults Faults
	// Seed makes the token and the faults the same on every run; 0 means
	// random.
	Seed int64
	// BaseURL is the scheme and host clients reach the shop at, for
	// links.next; empty means each request's own.
	BaseURL string
	// DataFile is where the data persists (JSON); empty keeps it in memory.
	DataFile string
	// SaveInterval is how often changed data is written to DataFile;
	// 0 means one second. Close always writes.
	SaveInterval time.Duration
	// SeedDemo fills an empty shop with a few customers, products and
	// orders (see SeedDemo); a shop that has records is left alone.
	SeedDemo bool
	// Logger receives the shop's logs; nil means slog.Default().
	Logger *slog.Logger
	// Sleep waits out the Latency fault; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration)
}

// Server is one webshop: its records, its token, its gate. It is safe for
// concurrent use. Close it to stop saving and write its data.
type Server struct {
	opts  Options
	log   *slog.Logger
	loc   *time.Location
	gate  *custom.Gate
	token string // fixed once New returns

	mu         sync.Mutex // guards everything below
	seq        int64
	nextID     map[string]int64 // by collection name, and "line_items"
	nextNumber int64            // the next order number
	customers  *custom.Table[int64, Customer]
	products   *custom.Table[int64, Product]
	orders     *custom.Table[int64, Order]
	colls      map[string]collection
	baseURL    string
	dirty      bool

	saveMu    sync.Mutex
	saver     *custom.Saver
	closeOnce sync.Once
	closeErr  error
}

// New makes a webshop, loading Options.DataFile when it exists.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SaveInterval <= 0 {
		opts.SaveInterval = time.Second
	}
	loc := opts.Location
	if loc == nil {
		var err error
		if loc, err = time.LoadLocation(DefaultZone); err != nil {
			return nil, fmt.Errorf("webshop sandbox: %w", err)
		}
	}
	s := &Server{
		opts:       opts,
		log:        opts.Logger.With("system", "webshop-sandbox"),
		loc:        loc,
		nextID:     map[string]int64{},
		nextNumber: 1001,
		customers:  custom.NewTable[int64, Customer](),
		products:   custom.NewTable[int64, Product](),
		orders:     custom.NewTable[int64, Order](),
		baseURL:    strings.TrimSuffix(opts.BaseURL, "/"),
	}
	s.colls = s.collections()
	s.gate = custom.NewGate(opts.Now, opts.Sleep, opts.Seed, custom.Answers{
		Unauthorized: func(w http.ResponseWriter) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="webshop"`)
			writeMessage(w, http.StatusUnauthorized, "Unauthenticated: send Authorization: Bearer <token>.")
		},
		TooManyRequests: func(w http.ResponseWriter, secs int) {
			writeMessage(w, http.StatusTooManyRequests, fmt.Sprintf("Too many requests: at most %d a minute. Retry after %d seconds.", s.gate.RateLimit(), secs))
		},
		ServerError: func(w http.ResponseWriter, status int) {
			writeMessage(w, status, "Server error (sandbox fault). Try again.")
		},
	})
	s.gate.SetFaults(opts.Faults)
	s.gate.SetRateLimit(opts.RateLimit)
	if opts.DataFile != "" {
		if err := s.load(opts.DataFile); err != nil {
			return nil, err
		}
	}
	if opts.Token != "" {
		s.token = opts.Token
	}
	if s.token == "" {
		s.token = "ws_" + custom.NewSecret(opts.Seed, custom.RNG(opts.Seed, 0x746f6b), 16)
		s.dirty = true
	}
	if opts.SeedDemo {
		if _, err := s.SeedDemo(); err != nil {
			return nil, err
		}
	}
	if opts.DataFile != "" {
		if err := s.Save(); err != nil {
			return nil, err
		}
		s.saver = custom.StartSaver(opts.SaveInterval, s.saveIfChanged)
	}
	return s, nil
}

// Close stops periodic saving and writes the data file one last time.
// Calling it again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.saver != nil {
			s.saver.Stop()
		}
		s.closeErr = s.Save()
	})
	return s.closeErr
}

// Handler is the shop's HTTP API, under /api/v1/.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Token is the bearer token clients send.
func (s *Server) Token() string { return s.token }

// Credentials are what a client needs to reach the shop.
type Credentials struct {
	BaseURL string `json:"base_url"`
	Token   string `json:"token"`
}

// Credentials returns them for a client that reaches the shop at baseURL.
func (s *Server) Credentials(baseURL string) Credentials {
	return Credentials{BaseURL: baseURL, Token: s.token}
}

// SetBaseURL sets the scheme and host of links.next.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimSuffix(u, "/")
}

// SetFaults replaces the faults in force; the zero Faults turns them off.
func (s *Server) SetFaults(f Faults) { s.gate.SetFaults(f) }

// Faults returns the faults in force.
func (s *Server) Faults() Faults { return s.gate.Faults() }

// SetRateLimit sets the calls a token may make in a minute; 0: no limit.
func (s *Server) SetRateLimit(n int) { s.gate.SetRateLimit(n) }

// Calls counts the requests received by method and route:
// "GET /api/v1/customers", "PATCH /api/v1/orders/{id}". Refused (401,
// 429) and faulted requests count too.
func (s *Server) Calls() map[string]int { return s.gate.Calls() }

// ResetCalls sets every call count back to zero.
func (s *Server) ResetCalls() { s.gate.ResetCalls() }

// now is the shop's time as stored: to the millisecond, in its zone.
func (s *Server) now() Time {
	return Time{s.opts.Now().Truncate(time.Millisecond).In(s.loc)}
}

func (s *Server) authenticated(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) == 1
}

// ListenAndServe runs a webshop on addr until ctx ends, then closes it
// (writing its data). ready, when not nil, is called once the listener is
// bound, with the base URL.
func ListenAndServe(ctx context.Context, addr string, opts Options, ready func(srv *Server, baseURL string)) error {
	srv, err := New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("webshop sandbox: listen on %s: %w; choose another address, e.g. --listen 127.0.0.1:0", addr, errors.Join(err, srv.Close()))
	}
	base := "http://" + ln.Addr().String()
	if opts.BaseURL == "" {
		srv.SetBaseURL(base)
	} else {
		base = opts.BaseURL
	}
	srv.log.Info("webshop sandbox listening; stop with Ctrl-C", "url", base, "data", dataName(opts.DataFile), "rate_limit", opts.RateLimit)
	if ready != nil {
		ready(srv, base)
	}
	err = custom.Serve(ctx, ln, srv.Handler(), srv.log)
	if err != nil {
		err = fmt.Errorf("webshop sandbox: %w", err)
	}
	err = errors.Join(err, srv.Close())
	srv.log.Info("webshop sandbox stopped")
	return err
}

func dataName(f string) string {
	if f == "" {
		return "(in memory)"
	}
	return f
}

// snapshot is the data file.
type snapshot struct {
	Version    int                            `json:"version"`
	Token      string                         `json:"token"`
	Seq        int64                          `json:"seq"`
	NextID     map[string]int64               `json:"next_id"`
	NextNumber int64                          `json:"next_order_number"`
	Customers  []*custom.Row[int64, Customer] `json:"customers"`
	Products   []*custom.Row[int64, Product]  `json:"products"`
	Orders     []*custom.Row[int64, Order]    `json:"orders"`
}

const snapshotVersion = 1

// Save writes the data file now. Without Options.DataFile it does nothing.
func (s *Server) Save() error {
	if s.opts.DataFile == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	snap := snapshot{Version: snapshotVersion, Token: s.token, Seq: s.seq, NextID: maps.Clone(s.nextID),
		NextNumber: s.nextNumber, Customers: s.customers.ByID(), Products: s.products.ByID(), Orders: s.orders.ByID()}
	s.dirty = false
	err := custom.SaveJSON(s.opts.DataFile, snap) // rows are replaced, never changed in place: safe to encode under the lock
	if err != nil {
		s.dirty = true
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("webshop sandbox: %w", err)
	}
	return nil
}

func (s *Server) saveIfChanged() {
	s.mu.Lock()
	dirty := s.dirty
	s.mu.Unlock()
	if dirty {
		if err := s.Save(); err != nil {
			s.log.Error("saving the data file failed", "file", s.opts.DataFile, "err", err)
		}
	}
}

func (s *Server) load(path string) error {
	var snap snapshot
	found, err := custom.LoadJSON(path, &snap)
	if err != nil {
		return fmt.Errorf("webshop sandbox: %w", err)
	}
	if !found {
		return nil
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("webshop sandbox: load %s: data file version %d, this sandbox reads %d: move the file away to start empty", path, snap.Version, snapshotVersion)
	}
	s.token, s.seq, s.nextNumber = snap.Token, snap.Seq, max(snap.NextNumber, 1001)
	if snap.NextID != nil {
		s.nextID = snap.NextID
	}
	for _, r := range snap.Customers {
		s.customers.Put(r)
	}
	for _, r := range snap.Products {
		s.products.Put(r)
	}
	for _, r := range snap.Orders {
		s.orders.Put(r)
	}
	return nil
}
