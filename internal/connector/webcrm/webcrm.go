package webcrm

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/concordsync/concord/internal/connector"
	"github.com/concordsync/concord/internal/connector/pace"
)

// Options are what tests and embedders set besides the settings.
type Options struct {
	// HTTPClient makes the calls; nil means one with the settings' timeout.
	HTTPClient *http.Client
	// Now is the connector's clock (token expiry, the pacer); nil means
	// time.Now.
	Now func() time.Time
	// Sleep waits (backoff, Retry-After, the pacer); nil means a timer.
	// Tests pass one that moves a manual clock instead.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives the connector's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Conn is an open WebCRM system. It is safe for concurrent use; listings
// of one datatype must come one at a time (as the engine makes them).
type Conn struct {
	system string
	cfg    Config
	c      *client
	log    *slog.Logger
	state  connector.State

	mu           sync.Mutex
	listings     map[string]*listing   // by datatype: the listing under way
	seen         map[string]*seenState // by datatype: what the last completed listing emitted
	usersNoQuery bool                  // the Users query table is missing: list all users instead
	deletes      map[string]*pendingDeletes
	notes        map[string]string // status notes by topic
	ahead        time.Duration     // the most a timestamp seemed to be in the future

	products productIndex
}

var (
	_ connector.Connector = (*Conn)(nil)
	_ connector.Notifier  = (*Conn)(nil)
)

// Open opens a WebCRM system from its settings block. It makes no call:
// the first call logs in.
func Open(ctx context.Context, system string, settings map[string]any, opts Options) (*Conn, error) {
	cfg, err := ParseSettings(settings)
	if err != nil {
		return nil, fmt.Errorf("system %q (kind webcrm): %w", system, err)
	}
	return New(ctx, system, cfg, opts), nil
}

// New opens a WebCRM system from a parsed Config.
func New(ctx context.Context, system string, cfg Config, opts Options) *Conn {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = pace.Sleep
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.PageSize <= 0 || cfg.PageSize > 1000 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = DefaultOverlap
	}
	log := opts.Logger.With("system", system)
	return &Conn{
		system: system,
		cfg:    cfg,
		log:    log,
		state:  connector.StateFrom(ctx),
		c: &client{
			base: cfg.BaseURL, apiToken: cfg.APIToken, http: opts.HTTPClient, log: log,
			now: opts.Now, sleep: opts.Sleep, pacer: pace.NewWindow(cfg.RateLimit, time.Minute+time.Second, opts.Now, opts.Sleep), jitter: defaultJitter,
		},
		listings: map[string]*listing{},
		seen:     map[string]*seenState{},
		deletes:  map[string]*pendingDeletes{},
		notes:    map[string]string{},
		products: productIndex{byCode: map[string]int64{}, byID: map[int64]productInfo{}},
	}
}

// Calls returns how many HTTP requests the connector has sent (logins
// included), for measuring what a sync costs in API calls.
func (c *Conn) Calls() int64 { return c.c.calls.Load() }

// Close releases nothing: the connector holds no connection of its own.
func (c *Conn) Close() error { return nil }

// Describe lists the datatypes and their properties. It makes no call.
func (c *Conn) Describe(ctx context.Context) ([]connector.DatatypeInfo, error) {
	return c.cfg.describe(), nil
}

func (c *Conn) entity(datatype string) (*entity, error) {
	for _, e := range entities {
		if e.name == datatype {
			return e, nil
		}
	}
	return nil, fmt.Errorf("system %q: WebCRM has no datatype %q (the datatypes are %s): %w",
		c.system, datatype, strings.Join(datatypeNames(), ", "), connector.ErrRejected)
}

// parseID reads a record id: an int32 as a decimal string. An id of
// another shape names no WebCRM record.
func parseID(e *entity, id string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 32)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q: WebCRM ids are positive whole numbers: %w", e.name, id, connector.ErrNotFound)
	}
	return n, nil
}

// getRaw reads one record as WebCRM sends it.
func (c *Conn) getRaw(ctx context.Context, e *entity, id int64) (map[string]any, error) {
	body, err := c.c.call(ctx, http.MethodGet, fmt.Sprintf("/%s/%d", e.name, id), nil, nil)
	if err != nil {
		return nil, err
	}
	obj, err := decodeObject(body)
	if err != nil {
		return nil, connector.Temporary(fmt.Errorf("WebCRM GET /%s/%d: %w", e.name, id, err))
	}
	return obj, nil
}

// Get returns one record, or an error wrapping ErrNotFound.
func (c *Conn) Get(ctx context.Context, datatype, id string) (connector.Record, error) {
	e, err := c.entity(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	n, err := parseID(e, id)
	if err != nil {
		return connector.Record{}, err
	}
	obj, err := c.getRaw(ctx, e, n)
	if err != nil {
		return connector.Record{}, err
	}
	w, err := c.present(e, obj)
	if err != nil {
		return connector.Record{}, connector.Temporary(err)
	}
	recs := []wireRecord{w}
	if err := c.afterRead(ctx, e, recs); err != nil {
		return connector.Record{}, err
	}
	return recs[0].rec, nil
}

// afterRead completes records read from WebCRM: the product index learns
// products, quotation lines get the id of the product they name.
func (c *Conn) afterRead(ctx context.Context, e *entity, recs []wireRecord) error {
	switch e.name {
	case Products:
		c.products.learn(c.cfg, recs)
	case QuotationLines:
		return c.resolveLineProducts(ctx, recs)
	}
	return nil
}

// body builds the JSON object to send from presented fields: virtual names
// to the installation's fields, values to the API's types. base, when not
// nil, is the record as read (an update sends it whole, changed).
func (c *Conn) body(ctx context.Context, e *entity, fields connector.Fields, base map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if base != nil {
		for k, v := range base {
			out[k] = v
		}
	}
	// The virtual product id of a line fills its code and name, unless the
	// write gives them itself.
	if e.name == QuotationLines {
		if v, ok := fields[QuotationLineProductId]; ok && !isEmpty(v) {
			pid, whole := wholeOf(v)
			if !whole || pid <= 0 {
				return nil, fmt.Errorf("%s must hold a product id, not %v: %w", QuotationLineProductId, v, connector.ErrRejected)
			}
			p, err := c.productByID(ctx, pid)
			if err != nil {
				return nil, err
			}
			fields = maps.Clone(fields)
			if _, given := fields[QuotationLineProductCode]; !given && c.cfg.QuotationLineCodeField != "" {
				fields[QuotationLineProductCode] = p.code
			}
			if _, given := fields[QuotationLineProductName]; !given && c.cfg.QuotationLineNameField != "" {
				fields[QuotationLineProductName] = p.name
			}
		}
	}
	given := map[string]string{} // API field -> the presented name that set it
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		v := fields[name]
		if name == QuotationLineProductId && e.name == QuotationLines {
			continue
		}
		raw := c.rawName(e, name)
		f := e.field(raw)
		if f != nil && (f.readOnly || f.kind == kStamp) {
			continue // the service keeps them; the id comes from the path
		}
		if f == nil && !hasKey(base, raw) {
			// WebCRM ignores fields it does not have: the write would seem
			// to succeed and be made again every cycle. A field the service
			// added since this connector was written is accepted once a
			// record read shows it.
			return nil, fmt.Errorf("WebCRM's %s have no field %q (see `concord schema` or the connector's Describe): %w", e.name, name, connector.ErrRejected)
		}
		if prev, dup := given[raw]; dup {
			return nil, fmt.Errorf("fields %s and %s both write WebCRM's %s: %w", prev, name, raw, connector.ErrRejected)
		}
		given[raw] = name
		wv, keep, err := c.wireValue(f, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", e.name, err, connector.ErrRejected)
		}
		// Drop whatever spelling the base had, then set the service's.
		for k := range out {
			if strings.EqualFold(k, raw) {
				delete(out, k)
			}
		}
		if keep {
			out[raw] = wv
		}
	}
	// QuotationLineData fields may be left out but never sent empty.
	if e.name == QuotationLines {
		for k, v := range out {
			if f := e.field(k); f != nil && f.nonEmpty && (v == nil || v == "") {
				delete(out, k)
			}
		}
	}
	return out, nil
}

func hasKey(m map[string]any, key string) bool {
	for k := range m {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

// Insert creates a record with POST and returns its new id. Creates that
// fail because they follow each other too fast are retried with backoff
// (the service answers 5xx and creates nothing). Older installations
// answer POST /Organisations and POST /Users with an empty body: the new
// record is then found among the newest records by its content (one query).
func (c *Conn) Insert(ctx context.Context, datatype string, fields connector.Fields) (connector.Record, error) {
	e, err := c.entity(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	body, err := c.body(ctx, e, fields, nil)
	if err != nil {
		return connector.Record{}, err
	}
	body[e.idField()] = 0
	answer, err := c.c.call(ctx, http.MethodPost, "/"+e.name, nil, body)
	if err != nil {
		return connector.Record{}, err
	}
	text := strings.Trim(strings.TrimSpace(string(answer)), `"`)
	if text == "" {
		id, err := c.findCreated(ctx, e, body)
		if err != nil {
			return connector.Record{}, err
		}
		return connector.Record{ID: strconv.FormatInt(id, 10)}, nil
	}
	id, err := strconv.ParseInt(text, 10, 32)
	if err != nil || id <= 0 {
		// Created, but the id cannot be read: leave it to the engine's
		// insert intent, which recognises the record on the next read.
		return connector.Record{}, connector.Temporary(fmt.Errorf("WebCRM POST /%s: the answer %.80q is not the new id", e.name, text))
	}
	if e.name == Products {
		c.products.forget(id)
	}
	return connector.Record{ID: strconv.FormatInt(id, 10)}, nil
}

// findCreated finds the record a POST without answer body created: the
// newest record (highest id among the last few) whose fields hold what was
// sent. One query call. If none matches, the outcome is left to the
// engine's insert intent (a Temporary error): the next read brings the
// record and the engine links it by its merge criteria.
func (c *Conn) findCreated(ctx context.Context, e *entity, sent map[string]any) (int64, error) {
	const newest = 10
	script := fmt.Sprintf("SELECT * FROM %s ORDER BY %s DESC", e.table, e.idField())
	body, err := c.c.call(ctx, http.MethodGet, "/Queries", url.Values{"script": {script}, "Page": {"1"}, "Size": {strconv.Itoa(newest)}}, nil)
	if err != nil {
		return 0, connector.Temporary(fmt.Errorf("WebCRM POST /%s answered without the new id, and finding it failed: %w", e.name, err))
	}
	objs, err := decodeObjects(body)
	if err != nil {
		return 0, connector.Temporary(fmt.Errorf("WebCRM POST /%s answered without the new id, and finding it failed: %w", e.name, err))
	}
	for _, obj := range objs {
		if !holdsSent(e, obj, sent) {
			continue
		}
		if id, ok := wholeOf(obj[e.idField()]); ok && id > 0 {
			return id, nil
		}
	}
	return 0, connector.Temporary(fmt.Errorf("WebCRM POST /%s answered without the new id and the record was not among the %d newest; the next read will link it", e.name, newest))
}

// holdsSent tells whether a record read back holds every value sent.
func holdsSent(e *entity, obj map[string]any, sent map[string]any) bool {
	got := map[string]any{}
	for k, v := range obj {
		got[strings.ToLower(k)] = v
	}
	for k, want := range sent {
		if strings.EqualFold(k, e.idField()) {
			continue
		}
		if f := e.field(k); f != nil && (f.readOnly || f.kind == kDate || f.kind == kDateTime) {
			continue
		}
		if !sameWire(got[strings.ToLower(k)], want) {
			return false
		}
	}
	return true
}

func sameWire(a, b any) bool {
	if fa, ok := wholeOrFloat(a); ok {
		fb, ok := wholeOrFloat(b)
		return ok && fa == fb
	}
	return fmt.Sprint(a) == fmt.Sprint(b) || (a == nil && b == "") || (a == "" && b == nil)
}

func wholeOrFloat(v any) (float64, bool) {
	switch v.(type) {
	case string, nil, bool:
		return 0, false
	}
	f, ok := plain(v).(float64)
	if !ok {
		if n, whole := wholeOf(v); whole {
			return float64(n), true
		}
	}
	return f, ok
}

// Update reads the record, changes the given fields and writes it back
// whole (GET, merge, PUT): WebCRM's PUT clears every field the body leaves
// out, so a partial body would blank what Concord does not map. ifMatch is
// checked against the record as read; the service has no conditional PUT,
// so a change in the moment between the GET and the PUT is not detected.
//
// PersonOrganisationId cannot be changed through the API: an update that
// would move a person fails with ErrRejected, and nothing is written (see
// docs/adr/0008).
func (c *Conn) Update(ctx context.Context, datatype, id string, fields connector.Fields, ifMatch string) (connector.Record, error) {
	e, err := c.entity(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	n, err := parseID(e, id)
	if err != nil {
		return connector.Record{}, err
	}
	obj, err := c.getRaw(ctx, e, n)
	if err != nil {
		return connector.Record{}, err
	}
	cur, err := c.present(e, obj)
	if err != nil {
		return connector.Record{}, connector.Temporary(err)
	}
	curRecs := []wireRecord{cur}
	if err := c.afterRead(ctx, e, curRecs); err != nil {
		return connector.Record{}, err
	}
	cur = curRecs[0]
	if ifMatch != "" && connector.Hash(cur.rec.Fields) != ifMatch {
		return connector.Record{}, fmt.Errorf("%s %s: %w", e.name, id, connector.ErrConflict)
	}
	if e.name == Persons {
		if v, ok := fields["PersonOrganisationId"]; ok {
			want, _ := wholeOf(v)
			have, _ := wholeOf(obj["PersonOrganisationId"])
			if isEmpty(v) {
				want = 0
			}
			if want != have {
				return connector.Record{}, fmt.Errorf("person %s: WebCRM does not let the API move a person to another organisation (%d to %v); "+
					"move the person in WebCRM or leave PersonOrganisationId out of the mapping's writes (direction: in): %w",
					id, have, v, connector.ErrRejected)
			}
		}
	}
	changed := false
	for k, v := range fields {
		if have, ok := cur.rec.Fields[k]; !ok || !sameValue(have, v) {
			if ok || !isEmpty(v) {
				changed = true
				break
			}
		}
	}
	if !changed {
		return cur.rec, nil // nothing to write: save the call and the stamp
	}
	if e.name == Persons {
		fields = c.rederiveName(obj, fields)
	}
	body, err := c.body(ctx, e, fields, obj)
	if err != nil {
		return connector.Record{}, err
	}
	if _, err := c.c.call(ctx, http.MethodPut, fmt.Sprintf("/%s/%d", e.name, n), nil, body); err != nil {
		return connector.Record{}, err
	}
	// The record as it now is, as far as the connector knows: what was
	// read with the change made.
	after := maps.Clone(cur.rec.Fields)
	for k, v := range fields {
		if isEmpty(v) {
			delete(after, k)
		} else {
			after[k] = connector.CloneValue(v)
		}
	}
	if e.name == Products {
		c.products.forget(n)
	}
	return connector.Record{ID: cur.rec.ID, Fields: after}, nil
}

// rederiveName lets WebCRM derive PersonName again when Concord changes a
// person's first, middle or last name and the stored PersonName was the
// derived one: a write of the old name would keep it stale.
func (c *Conn) rederiveName(obj map[string]any, fields connector.Fields) connector.Fields {
	if _, given := fields["PersonName"]; given {
		return fields
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	parts := func(get func(string) string) string {
		return strings.Join(strings.Fields(get("PersonFirstName")+" "+get("PersonMiddleName")+" "+get("PersonLastName")), " ")
	}
	old := parts(func(k string) string { return str(obj, k) })
	touched := false
	for _, k := range []string{"PersonFirstName", "PersonMiddleName", "PersonLastName"} {
		if _, ok := fields[k]; ok {
			touched = true
		}
	}
	if !touched || str(obj, "PersonName") != old {
		return fields
	}
	out := maps.Clone(fields)
	out["PersonName"] = ""
	return out
}

func sameValue(a, b any) bool {
	return connector.Hash(connector.Fields{"v": a}) == connector.Hash(connector.Fields{"v": b})
}

// Delete removes a Product or a QuotationLine; WebCRM has no delete for
// the other datatypes (ErrNotSupported, without a call).
func (c *Conn) Delete(ctx context.Context, datatype, id string) error {
	e, err := c.entity(datatype)
	if err != nil {
		return err
	}
	if !e.deletable {
		return fmt.Errorf("WebCRM's API cannot delete %s (only Products and QuotationLines): %w", e.name, connector.ErrNotSupported)
	}
	n, err := parseID(e, id)
	if err != nil {
		return err
	}
	_, err = c.c.call(ctx, http.MethodDelete, fmt.Sprintf("/%s/%d", e.name, n), nil, nil)
	if err == nil && e.name == Products {
		c.products.forget(n)
	}
	return err
}

// note keeps one topic's part of the status line `concord status` prints
// for the system ("" clears it).
func (c *Conn) note(ctx context.Context, topic, text string) {
	c.mu.Lock()
	if c.notes[topic] == text {
		c.mu.Unlock()
		return
	}
	if text == "" {
		delete(c.notes, topic)
	} else {
		c.notes[topic] = text
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c.notes)) {
		parts = append(parts, c.notes[k])
	}
	line := strings.Join(parts, "; ")
	c.mu.Unlock()
	if c.state == nil {
		return
	}
	for range 3 {
		_, version, err := c.state.GetState(ctx, c.system, connector.StatusKey)
		if err != nil {
			return
		}
		if _, ok, err := c.state.SwapState(ctx, c.system, connector.StatusKey, line, version); err != nil || ok {
			return
		}
	}
}
