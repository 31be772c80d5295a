package erp

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// Defaults of the command line.
const (
	// DefaultRateLimit is the calls an API key may make in a minute when
	// the command line does not say otherwise; in Options 0 means no limit.
	DefaultRateLimit = 300
	// DefaultLimit and MaxLimit bound a listing's limit.
	DefaultLimit = 50
	MaxLimit     = 200
)

// Faults make the API misbehave; see custom.Faults.
type Faults = custom.Faults

// ManualClock is a clock for Options.Now that tests move by hand.
type ManualClock = custom.ManualClock

// NewManualClock returns a clock that reads start.
func NewManualClock(start time.Time) *ManualClock { return custom.NewManualClock(start) }

// Options shape a Server. The zero value is an empty ERP in memory with no
// rate limit and no faults, and a random API key.
type Options struct {
	// Now is the ERP's clock; nil means time.Now. Tests inject a
	// ManualClock to make timestamps, clock ties and the rate window
	// happen without sleeping.
	Now func() time.Time
	// APIKey is the key clients send in X-API-Key; empty means the one in
	// DataFile, or a new one (from Seed when given).
	APIKey string
	// RateLimit is the calls a key may make in a sliding minute; 0 means
	// no limit. Over it: 429 with Retry-After.
	RateLimit int
	// Faults are the failures made on purpose from the start.
	Faults Faults
	// Seed makes the API key, the ids and the faults the same on every
	// run; 0 means random.
	Seed int64
	// BaseURL is the scheme and host clients reach the ERP at, for
	// Location headers; empty means each request's own.
	BaseURL string
	// DataFile is where the data persists (JSON); empty keeps it in memory.
	DataFile string
	// SaveInterval is how often changed data is written to DataFile;
	// 0 means one second. Close always writes.
	SaveInterval time.Duration
	// SeedDemo fills an empty ERP with a few customers, contacts, products
	// and orders (see SeedDemo); an ERP that has records is left alone.
	SeedDemo bool
	// Logger receives the ERP's logs; nil means slog.Default().
	Logger *slog.Logger
	// Sleep waits out the Latency fault; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration)
}

// Server is one ERP: its records, its API key, its gate. It is safe for
// concurrent use. Close it to stop saving and write its data.
type Server struct {
	opts Options
	log  *slog.Logger
	gate *custom.Gate
	key  string // fixed once New returns

	mu        sync.Mutex // guards everything below
	seq       int64      // the change sequence: one per ERP, bumped by every write
	rng       *rand.Rand // ids
	counters  map[string]int64
	customers *custom.Table[string, Customer]
	contacts  *custom.Table[string, Contact]
	products  *custom.Table[string, Product]
	orders    *custom.Table[string, Order]
	colls     map[string]collection
	baseURL   string
	dirty     bool

	saveMu    sync.Mutex
	saver     *custom.Saver
	closeOnce sync.Once
	closeErr  error
}

// New makes an ERP, loading Options.DataFile when it exists.
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
	s := &Server{
		opts:      opts,
		log:       opts.Logger.With("system", "erp-sandbox"),
		rng:       custom.RNG(opts.Seed, 0x6964),
		counters:  map[string]int64{},
		customers: custom.NewTable[string, Customer](),
		contacts:  custom.NewTable[string, Contact](),
		products:  custom.NewTable[string, Product](),
		orders:    custom.NewTable[string, Order](),
		baseURL:   strings.TrimSuffix(opts.BaseURL, "/"),
	}
	s.colls = s.collections()
	s.gate = custom.NewGate(opts.Now, opts.Sleep, opts.Seed, custom.Answers{
		Unauthorized: func(w http.ResponseWriter) {
			writeError(w, &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: "missing or wrong API key: send it in the X-API-Key header"})
		},
		TooManyRequests: func(w http.ResponseWriter, secs int) {
			writeError(w, &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
				message: fmt.Sprintf("more than %d calls a minute; retry after %d seconds", s.gate.RateLimit(), secs)})
		},
		ServerError: func(w http.ResponseWriter, status int) {
			writeError(w, &apiError{status: status, code: "server_error", message: "internal error (sandbox fault); try again"})
		},
	})
	s.gate.SetFaults(opts.Faults)
	s.gate.SetRateLimit(opts.RateLimit)
	if opts.DataFile != "" {
		if err := s.load(opts.DataFile); err != nil {
			return nil, err
		}
	}
	if opts.APIKey != "" {
		s.key = opts.APIKey
	}
	if s.key == "" {
		s.key = "erp_" + custom.NewSecret(opts.Seed, custom.RNG(opts.Seed, 0x6b6579), 16)
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

// Handler is the ERP's HTTP API, under /erp/.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// APIKey is the key clients send in X-API-Key.
func (s *Server) APIKey() string { return s.key }

// Credentials are what a client needs to reach the ERP.
type Credentials struct {
	BaseURL string `json:"base_url"`
	APIKey  string `json:"api_key"`
}

// Credentials returns them for a client that reaches the ERP at baseURL.
func (s *Server) Credentials(baseURL string) Credentials {
	return Credentials{BaseURL: baseURL, APIKey: s.key}
}

// SetBaseURL sets the scheme and host of Location headers.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimSuffix(u, "/")
}

// SetFaults replaces the faults in force; the zero Faults turns them off.
func (s *Server) SetFaults(f Faults) { s.gate.SetFaults(f) }

// Faults returns the faults in force.
func (s *Server) Faults() Faults { return s.gate.Faults() }

// SetRateLimit sets the calls a key may make in a minute; 0: no limit.
func (s *Server) SetRateLimit(n int) { s.gate.SetRateLimit(n) }

// Calls counts the requests received by method and route:
// "GET /erp/customers", "PUT /erp/orders/{id}". Refused (401,
// 429) and faulted requests count too.
func (s *Server) Calls() map[string]int { return s.gate.Calls() }

// ResetCalls sets every call count back to zero.
func (s *Server) ResetCalls() { s.gate.ResetCalls() }

// now is the ERP's time as stored: UTC, to the second.
func (s *Server) now() Time { return Time{s.opts.Now().UTC().Truncate(time.Second)} }

func (s *Server) authenticated(r *http.Request) (string, bool) {
	key := strings.TrimSpace(r.Header.Get("X-API-Key"))
	return key, key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.key)) == 1
}

// ListenAndServe runs an ERP on addr until ctx ends, then closes it
// (writing its data). ready, when not nil, is called once the listener is
// bound, with the base URL.
func ListenAndServe(ctx context.Context, addr string, opts Options, ready func(srv *Server, baseURL string)) error {
	srv, err := New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("erp sandbox: listen on %s: %w; choose another address, e.g. --listen 127.0.0.1:0", addr, errors.Join(err, srv.Close()))
	}
	base := "http://" + ln.Addr().String()
	if opts.BaseURL == "" {
		srv.SetBaseURL(base)
	} else {
		base = opts.BaseURL
	}
	srv.log.Info("erp sandbox listening; stop with Ctrl-C", "url", base, "data", dataName(opts.DataFile), "rate_limit", opts.RateLimit)
	if ready != nil {
		ready(srv, base)
	}
	err = custom.Serve(ctx, ln, srv.Handler(), srv.log)
	if err != nil {
		err = fmt.Errorf("erp sandbox: %w", err)
	}
	err = errors.Join(err, srv.Close())
	srv.log.Info("erp sandbox stopped")
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
	Version   int                             `json:"version"`
	APIKey    string                          `json:"api_key"`
	Seq       int64                           `json:"seq"`
	Counters  map[string]int64                `json:"counters"`
	Customers []*custom.Row[string, Customer] `json:"customers"`
	Contacts  []*custom.Row[string, Contact]  `json:"contacts"`
	Products  []*custom.Row[string, Product]  `json:"products"`
	Orders    []*custom.Row[string, Order]    `json:"orders"`
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
	snap := snapshot{Version: snapshotVersion, APIKey: s.key, Seq: s.seq, Counters: maps.Clone(s.counters),
		Customers: s.customers.ByID(), Contacts: s.contacts.ByID(), Products: s.products.ByID(), Orders: s.orders.ByID()}
	s.dirty = false
	err := custom.SaveJSON(s.opts.DataFile, snap) // rows are replaced, never changed in place
	if err != nil {
		s.dirty = true
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("erp sandbox: %w", err)
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
		return fmt.Errorf("erp sandbox: %w", err)
	}
	if !found {
		return nil
	}
	if snap.Version != snapshotVersion {
		return fmt.Errorf("erp sandbox: load %s: data file version %d, this sandbox reads %d: move the file away to start empty", path, snap.Version, snapshotVersion)
	}
	s.key, s.seq = snap.APIKey, snap.Seq
	if snap.Counters != nil {
		s.counters = snap.Counters
	}
	for _, r := range snap.Customers {
		s.customers.Put(r)
	}
	for _, r := range snap.Contacts {
		s.contacts.Put(r)
	}
	for _, r := range snap.Products {
		s.products.Put(r)
	}
	for _, r := range snap.Orders {
		s.orders.Put(r)
	}
	return nil
}
