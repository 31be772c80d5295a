package erp

import (
	"cmp"
	"context"
	"crypto/subtle"
	"log/slog"
	"maps"
	"math/rand/v2"
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

// Server is one ERP: its records, its API key, and the custom.Host that
// runs it (Handler, Close, Save, SetBaseURL, SetFaults, SetRateLimit,
// Calls and the rest are the Host's). It is safe for concurrent use.
// Close it to stop saving and write its data.
type Server struct {
	*custom.Host
	opts Options
	key  string // fixed once New returns

	mu        sync.Mutex     // guards everything below
	journal   custom.Journal // the change sequence: one per ERP, bumped by every write
	rng       *rand.Rand     // ids
	counters  map[string]int64
	customers *custom.Table[string, Customer]
	contacts  *custom.Table[string, Contact]
	products  *custom.Table[string, Product]
	orders    *custom.Table[string, Order]
	colls     map[string]collection
}

// New makes an ERP, loading Options.DataFile when it exists.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:      opts,
		rng:       custom.RNG(opts.Seed, 0x6964),
		counters:  map[string]int64{},
		customers: custom.NewTable[string, Customer](),
		contacts:  custom.NewTable[string, Contact](),
		products:  custom.NewTable[string, Product](),
		orders:    custom.NewTable[string, Order](),
	}
	s.colls = s.collections()
	h, err := custom.NewHost(custom.HostConfig{
		Name: "erp sandbox", Logger: cmp.Or(opts.Logger, slog.Default()).With("system", "erp-sandbox"),
		Now: opts.Now, Sleep: opts.Sleep, Seed: opts.Seed, Faults: opts.Faults, RateLimit: opts.RateLimit,
		BaseURL: opts.BaseURL, DataFile: opts.DataFile, SaveInterval: opts.SaveInterval,
		Prefix: "/erp/", Authenticate: s.authenticated, Route: s.route, NotFound: notFound, Answers: answers,
		Lock: &s.mu, Journal: &s.journal, Snapshot: s.snapshot, Load: s.load,
		SeedDemo: opts.SeedDemo, Demo: s.SeedDemo, Credential: &s.key, GivenCredential: opts.APIKey,
		NewCredential: func() string { return "erp_" + custom.NewSecret(opts.Seed, custom.RNG(opts.Seed, 0x6b6579), 16) },
	})
	if err != nil {
		return nil, err
	}
	s.Host = h
	return s, nil
}

// APIKey is the key clients send in X-API-Key.
func (s *Server) APIKey() string { return s.key }

// Credentials are what a client needs to reach the ERP.
type Credentials struct {
	// BaseURL is the API's: the server's address with /erp, as a
	// system's settings.base_url (preset customerp) takes it.
	BaseURL string `json:"base_url"`
	APIKey  string `json:"api_key"`
}

// Credentials returns them for a client that reaches the ERP at baseURL
// (the server's address).
func (s *Server) Credentials(baseURL string) Credentials {
	return Credentials{BaseURL: strings.TrimSuffix(baseURL, "/") + "/erp", APIKey: s.key}
}

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
	return custom.ListenAndServe(ctx, addr, func() (*Server, error) { return New(opts) }, ready)
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

// snapshot returns the data to save; s.mu is held.
func (s *Server) snapshot() any {
	return snapshot{Version: snapshotVersion, APIKey: s.key, Seq: s.journal.Seq(), Counters: maps.Clone(s.counters),
		Customers: s.customers.ByID(), Contacts: s.contacts.ByID(), Products: s.products.ByID(), Orders: s.orders.ByID()}
}

func (s *Server) load(path string) error {
	var snap snapshot
	if found, err := custom.LoadData(path, &snap, &snap.Version, snapshotVersion); !found {
		return err
	}
	s.key = snap.APIKey
	s.journal.Restore(snap.Seq)
	if snap.Counters != nil {
		s.counters = snap.Counters
	}
	s.customers.Load(snap.Customers)
	s.contacts.Load(snap.Contacts)
	s.products.Load(snap.Products)
	s.orders.Load(snap.Orders)
	return nil
}
