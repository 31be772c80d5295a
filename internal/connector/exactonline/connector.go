package exactonline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/pace"
)

// Kind is the connector kind this package registers.
const Kind = "exactonline"

func init() {
	connector.Register(Kind, func(ctx context.Context, system string, settings map[string]any) (connector.Connector, error) {
		return New(ctx, system, settings, Options{})
	})
	connector.RegisterSettingsCheck(Kind, func(system string, settings map[string]any) error {
		_, err := ParseSettings(system, settings)
		return err
	})
}

// Options are what a program (rather than a configuration) decides: tests
// inject a clock and an HTTP client.
type Options struct {
	// HTTPClient makes the calls; default one with the timeout setting.
	HTTPClient *http.Client
	// Now is the clock for tokens and rate limits; default time.Now.
	Now func() time.Time
	// Sleep waits (for the rate limit, a backoff, another worker's
	// refresh); default a timer. Tests advance their clock instead.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives the connector's logs; default slog.Default().
	Logger *slog.Logger
	// State keeps the tokens; default the State the context carries
	// (Concord's store), else one in memory.
	State connector.State
	// DeletedMaxAge is how long one read of sync/Deleted serves the
	// incremental listings of every datatype (default 30 s): one call
	// instead of one per datatype and cycle.
	DeletedMaxAge time.Duration
}

// Conn is a connector to one Exact Online division. It is safe for use by
// several goroutines: tokens, the rate budget and the shared read of
// sync/Deleted are locked; listings of different datatypes are independent.
type Conn struct {
	system string
	s      Settings
	http   *http.Client
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	log    *slog.Logger
	state  connector.State
	tokens *tokenSource
	pacer  *pacer

	divMu sync.Mutex
	div   int

	delMu     sync.Mutex
	del       deletedCache
	delMaxAge time.Duration
	seenTS    atomic.Int64 // the highest sync Timestamp read so far
}

var (
	_ connector.Connector = (*Conn)(nil)
	_ connector.Notifier  = (*Conn)(nil)
)

// New opens a connector for one configured system.
func New(ctx context.Context, system string, settings map[string]any, o Options) (*Conn, error) {
	s, err := ParseSettings(system, settings)
	if err != nil {
		return nil, err
	}
	return newConn(ctx, system, s, o), nil
}

func newConn(ctx context.Context, system string, s Settings, o Options) *Conn {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: s.Timeout + 5*time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = pace.Sleep
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.State == nil {
		o.State = connector.StateFrom(ctx)
	}
	if o.State == nil {
		o.State = connector.NewMemState()
	}
	if o.DeletedMaxAge <= 0 {
		o.DeletedMaxAge = 30 * time.Second
	}
	c := &Conn{
		system: system, s: s, http: o.HTTPClient, now: o.Now, sleep: o.Sleep,
		log: o.Logger.With("system", system, "kind", Kind), state: o.State, div: s.Division,
		delMaxAge: o.DeletedMaxAge,
	}
	c.tokens = &tokenSource{system: system, s: s, state: o.State, http: o.HTTPClient, now: o.Now, sleep: o.Sleep, owner: newOwner()}
	c.pacer = newPacer(o.Now, o.Sleep, s)
	return c
}

// Close releases nothing: the connector holds no connections of its own.
func (c *Conn) Close() error { return nil }

// Budget is the day's API budget as Exact's latest answers told it: the
// calls remaining and the limit (0 and 0 until an answer carried them),
// when it resets, and whether writes are held back so that the rest of the
// budget goes to reading changes.
func (c *Conn) Budget() (remaining, limit int, reset time.Time, writesHeld bool) {
	return c.pacer.budget()
}

func (c *Conn) datatype(name string) (*datatype, error) {
	d := datatypeByName(name)
	if d == nil {
		return nil, fmt.Errorf("exactonline system %q: unknown datatype %q (datatypes: %s): %w",
			c.system, name, strings.Join(datatypeNames(), ", "), connector.ErrNotSupported)
	}
	return d, nil
}

// selection is what Concord reads of d: the built-in properties and the
// fields setting's extras.
func (c *Conn) selection(d *datatype) []string {
	out := make([]string, 0, len(d.props)+len(c.s.Fields[d.name]))
	for _, p := range d.props {
		out = append(out, p.name)
	}
	for _, f := range c.s.Fields[d.name] {
		if d.salesPrice && f == SalesPriceField {
			continue // not a property of Exact's: read from StandardSalesPrice
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func (c *Conn) reader(d *datatype) *reader {
	return &reader{d: d, loc: c.s.Location, fields: c.selection(d)}
}

// Describe lists the datatypes and their properties.
func (c *Conn) Describe(ctx context.Context) ([]connector.DatatypeInfo, error) {
	var out []connector.DatatypeInfo
	for _, d := range datatypes {
		info := connector.DatatypeInfo{Name: d.name, CanDelete: true}
		for _, name := range c.selection(d) {
			k, _ := d.kindOf(name)
			info.Properties = append(info.Properties, connector.Property{Name: name, Type: k.propertyType()})
		}
		if d.salesPrice {
			info.Properties = append(info.Properties, connector.Property{Name: SalesPriceField, Type: "number"})
		}
		if d.lines != nil {
			info.Properties = append(info.Properties, connector.Property{Name: d.linesField, Type: "array"})
		}
		out = append(out, info)
	}
	return out, nil
}

// division is the division in every URL: the setting, or the user's
// current division read from current/Me once and kept in the store.
func (c *Conn) division(ctx context.Context) (int, error) {
	c.divMu.Lock()
	defer c.divMu.Unlock()
	if c.div > 0 {
		return c.div, nil
	}
	raw, ver, err := c.state.GetState(ctx, c.system, divisionKey)
	if err != nil {
		return 0, connector.Temporary(fmt.Errorf("exactonline: read the division from the store: %w", err))
	}
	if n, err := strconv.Atoi(raw); err == nil && n > 0 {
		c.div = n
		return n, nil
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/current/Me", query: query("$select", "CurrentDivision"),
		endpoint: "current/Me", retry: true})
	if err != nil {
		return 0, fmt.Errorf("exactonline system %q: find the division (set `division` to skip this): %w", c.system, err)
	}
	rs, _, err := rows(resp.body)
	if err != nil || len(rs) == 0 {
		return 0, fmt.Errorf("exactonline system %q: current/Me did not say the division; set `division` in the settings", c.system)
	}
	n, err := int64Of(rs[0]["CurrentDivision"])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("exactonline system %q: current/Me gave no CurrentDivision; set `division` in the settings", c.system)
	}
	c.div = int(n)
	c.state.SwapState(ctx, c.system, divisionKey, strconv.Itoa(c.div), ver)
	return c.div, nil
}

// Get reads one record. It filters the collection on the key instead of
// reading by key, so that a record that is gone is an empty answer, not a
// 404 that counts towards Exact's hourly error block (the engine confirms
// every deletion a full scan suggests this way).
func (c *Conn) Get(ctx context.Context, datatype, id string) (connector.Record, error) {
	d, err := c.datatype(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	if !isGUID(id) {
		return connector.Record{}, fmt.Errorf("exactonline system %q: %s %q: not a guid: %w", c.system, datatype, id, connector.ErrNotFound)
	}
	rd := c.reader(d)
	resp, err := c.do(ctx, request{method: http.MethodGet, path: d.path, endpoint: d.path, retry: true,
		query: query("$filter", d.key+" eq guid'"+id+"'", "$select", strings.Join(rd.fields, ","), "$top", "1")})
	if err != nil {
		return connector.Record{}, err
	}
	rs, _, err := rows(resp.body)
	if err != nil {
		return connector.Record{}, connector.Temporary(fmt.Errorf("exactonline system %q: get %s %s: %w", c.system, datatype, id, err))
	}
	for _, row := range rs {
		rec, _, err := rd.record(row)
		if err != nil {
			return connector.Record{}, err
		}
		if strings.EqualFold(rec.ID, id) {
			return rec, nil
		}
	}
	return connector.Record{}, fmt.Errorf("exactonline system %q: %s %s: %w", c.system, datatype, id, connector.ErrNotFound)
}

// Insert creates a record with a POST that asks for the created record
// back. A header (SalesOrders, Quotations) carries its lines in its lines
// field, as Exact requires. An item's SalesPriceField is written after the
// item exists (see SalesPriceField).
func (c *Conn) Insert(ctx context.Context, datatype string, fields connector.Fields) (connector.Record, error) {
	d, err := c.datatype(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	f := fields
	if d.salesPrice {
		f = connector.CloneFields(fields)
	}
	price, hasPrice, err := takeSalesPrice(d, f)
	if err != nil {
		return connector.Record{}, fmt.Errorf("exactonline system %q: insert %s: %v: %w", c.system, datatype, err, connector.ErrRejected)
	}
	rec, err := c.post(ctx, d, f)
	if err != nil || !hasPrice {
		return rec, err
	}
	if err := c.writeSalesPrice(ctx, rec.ID, price); err != nil {
		// The item exists: the engine's insert intent links it on the
		// next read, and the price is written as an update then. So the
		// failure is temporary, whatever it was (a throttled answer would
		// tell the engine that nothing was made).
		return connector.Record{}, connector.Temporary(fmt.Errorf("exactonline system %q: insert %s: item %s was created, its sales price not yet: %v", c.system, datatype, rec.ID, err))
	}
	if rec.Fields != nil {
		rec.Fields["StandardSalesPrice"], rec.Fields[SalesPriceField] = price, price
	}
	return rec, nil
}

// post creates a record and returns it as Concord presents it.
func (c *Conn) post(ctx context.Context, d *datatype, fields connector.Fields) (connector.Record, error) {
	body, err := wireFields(d, fields, c.s.Location)
	if err != nil {
		return connector.Record{}, fmt.Errorf("exactonline system %q: insert %s: %v: %w", c.system, d.name, err, connector.ErrRejected)
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: d.path, endpoint: d.path, body: body, write: true})
	if err != nil {
		return connector.Record{}, err
	}
	if len(strings.TrimSpace(string(resp.body))) > 0 {
		rs, _, err := rows(resp.body)
		if err == nil && len(rs) > 0 {
			rec, _, err := c.reader(d).record(rs[0])
			if err == nil {
				return rec, nil
			}
		}
	}
	// No representation came back: the Location names the new record.
	loc := resp.header.Get("Location")
	if i := strings.Index(loc, "guid'"); i >= 0 && len(loc) >= i+5+36 && isGUID(loc[i+5:i+5+36]) {
		return connector.Record{ID: strings.ToLower(loc[i+5 : i+5+36])}, nil
	}
	return connector.Record{}, connector.Temporary(fmt.Errorf("exactonline system %q: insert %s: the answer (%d) names no created record; Concord checks on its next read", c.system, d.name, resp.status))
}

// Update writes the given properties with a PUT, which Exact applies as a
// partial update. ifMatch cannot be checked: Exact has no ETags, and a read
// before every write would spend the rate budget on every update. An
// item's SalesPriceField is written after the PUT (without one when it is
// the only field), through the item's default price.
func (c *Conn) Update(ctx context.Context, datatype, id string, fields connector.Fields, ifMatch string) (connector.Record, error) {
	d, err := c.datatype(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	if !isGUID(id) {
		return connector.Record{}, fmt.Errorf("exactonline system %q: %s %q: not a guid: %w", c.system, datatype, id, connector.ErrNotFound)
	}
	f := connector.CloneFields(fields)
	if d.lines != nil {
		delete(f, d.linesField) // lines change through their own datatype
	}
	price, hasPrice, err := takeSalesPrice(d, f)
	if err != nil {
		return connector.Record{}, fmt.Errorf("exactonline system %q: update %s %s: %v: %w", c.system, datatype, id, err, connector.ErrRejected)
	}
	rec, err := c.put(ctx, d, id, f)
	if err != nil || !hasPrice {
		return rec, err
	}
	if err := c.writeSalesPrice(ctx, id, price); err != nil {
		return connector.Record{}, err
	}
	if rec.Fields != nil {
		rec.Fields["StandardSalesPrice"], rec.Fields[SalesPriceField] = price, price
	}
	return rec, nil
}

// put writes fields to the record id with a PUT; nothing when there are none.
func (c *Conn) put(ctx context.Context, d *datatype, id string, f connector.Fields) (connector.Record, error) {
	datatype := d.name
	if len(f) == 0 {
		return connector.Record{}, nil
	}
	body, err := wireFields(d, f, c.s.Location)
	if err != nil {
		return connector.Record{}, fmt.Errorf("exactonline system %q: update %s %s: %v: %w", c.system, datatype, id, err, connector.ErrRejected)
	}
	resp, err := c.do(ctx, request{method: http.MethodPut, path: d.path + "(guid'" + id + "')", endpoint: d.path, body: body, retry: true, write: true})
	if err != nil {
		return connector.Record{}, err
	}
	if resp.status == http.StatusOK && len(resp.body) > 0 {
		if rs, _, err := rows(resp.body); err == nil && len(rs) == 1 {
			if rec, _, err := c.reader(d).record(rs[0]); err == nil {
				return rec, nil
			}
		}
	}
	return connector.Record{}, nil
}

// Delete removes a record.
func (c *Conn) Delete(ctx context.Context, datatype, id string) error {
	d, err := c.datatype(datatype)
	if err != nil {
		return err
	}
	if !isGUID(id) {
		return fmt.Errorf("exactonline system %q: %s %q: not a guid: %w", c.system, datatype, id, connector.ErrNotFound)
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, path: d.path + "(guid'" + id + "')", endpoint: d.path, retry: true, write: true})
	// A deletion happened (or may have): the next listings read
	// sync/Deleted afresh.
	c.delMu.Lock()
	c.del = deletedCache{}
	c.delMu.Unlock()
	return err
}

// cursorPos is the stored cursor: the highest sync Timestamp read of the
// datatype, and the highest sync/Deleted Timestamp read for it.
type cursorPos struct {
	TS  int64 `json:"ts"`
	Del int64 `json:"del"`
}

func (c *Conn) parseCursor(s string) (cursorPos, error) {
	var p cursorPos
	if s == "" {
		return p, nil
	}
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return p, fmt.Errorf("exactonline system %q: cursor %q is not one of this connector's: %w", c.system, s, err)
	}
	return p, nil
}

func (p cursorPos) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// pageToken continues a listing.
type pageToken struct {
	Next  string `json:"next,omitempty"`  // the __next link (path and query)
	TS    int64  `json:"ts"`              // the highest Timestamp listed so far
	Del   int64  `json:"del"`             // the sync/Deleted position
	Floor int64  `json:"floor,omitempty"` // a full listing: where deletions start from
}
