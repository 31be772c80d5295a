package webshop

import (
	"cmp"
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"maps"
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

// Server is one webshop: its records, its token, and the custom.Host that
// runs it (Handler, Close, Save, SetBaseURL, SetFaults, SetRateLimit,
// Calls and the rest are the Host's). It is safe for concurrent use.
// Close it to stop saving and write its data.
type Server struct {
	*custom.Host
	opts  Options
	loc   *time.Location
	token string // fixed once New returns

	mu         sync.Mutex // guards everything below
	journal    custom.Journal
	nextID     map[string]int64 // by collection name, and "line_items"
	nextNumber int64            // the next order number
	customers  *custom.Table[int64, Customer]
	products   *custom.Table[int64, Product]
	orders     *custom.Table[int64, Order]
	colls      map[string]collection
}

// New makes a webshop, loading Options.DataFile when it exists.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
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
		loc:        loc,
		nextID:     map[string]int64{},
		nextNumber: 1001,
		customers:  custom.NewTable[int64, Customer](),
		products:   custom.NewTable[int64, Product](),
		orders:     custom.NewTable[int64, Order](),
	}
	s.colls = s.collections()
	h, err := custom.NewHost(custom.HostConfig{
		Name: "webshop sandbox", Logger: cmp.Or(opts.Logger, slog.Default()).With("system", "webshop-sandbox"),
		Now: opts.Now, Sleep: opts.Sleep, Seed: opts.Seed, Faults: opts.Faults, RateLimit: opts.RateLimit,
		BaseURL: opts.BaseURL, DataFile: opts.DataFile, SaveInterval: opts.SaveInterval,
		Prefix: "/api/v1/", Authenticate: s.authenticated, Route: s.route, NotFound: notFound, Answers: answers,
		Lock: &s.mu, Journal: &s.journal, Snapshot: s.snapshot, Load: s.load,
		SeedDemo: opts.SeedDemo, Demo: s.SeedDemo, Credential: &s.token, GivenCredential: opts.Token,
		NewCredential: func() string { return "ws_" + custom.NewSecret(opts.Seed, custom.RNG(opts.Seed, 0x746f6b), 16) },
	})
	if err != nil {
		return nil, err
	}
	s.Host = h
	return s, nil
}

// Token is the bearer token clients send.
func (s *Server) Token() string { return s.token }

// Credentials are what a client needs to reach the shop.
type Credentials struct {
	// BaseURL is the API's: the server's address with /api/v1, as a
	// system's settings.base_url (preset customwebshop) takes it.
	BaseURL string `json:"base_url"`
	Token   string `json:"token"`
}

// Credentials returns them for a client that reaches the shop at baseURL
// (the server's address).
func (s *Server) Credentials(baseURL string) Credentials {
	return Credentials{BaseURL: strings.TrimSuffix(baseURL, "/") + "/api/v1", Token: s.token}
}

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
	return custom.ListenAndServe(ctx, addr, func() (*Server, error) { return New(opts) }, ready)
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

// snapshot returns the data to save; s.mu is held.
func (s *Server) snapshot() any {
	return snapshot{Version: snapshotVersion, Token: s.token, Seq: s.journal.Seq(), NextID: maps.Clone(s.nextID),
		NextNumber: s.nextNumber, Customers: s.customers.ByID(), Products: s.products.ByID(), Orders: s.orders.ByID()}
}

func (s *Server) load(path string) error {
	var snap snapshot
	if found, err := custom.LoadData(path, &snap, &snap.Version, snapshotVersion); !found {
		return err
	}
	s.token, s.nextNumber = snap.Token, max(snap.NextNumber, 1001)
	s.journal.Restore(snap.Seq)
	if snap.NextID != nil {
		s.nextID = snap.NextID
	}
	s.customers.Load(snap.Customers)
	s.products.Load(snap.Products)
	s.orders.Load(snap.Orders)
	return nil
}
