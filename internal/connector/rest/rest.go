package rest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
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

// Kind is the connector kind this package registers.
const Kind = "rest"

func init() {
	connector.Register(Kind, func(ctx context.Context, system string, settings map[string]any) (connector.Connector, error) {
		return Open(ctx, system, settings, Options{State: connector.StateFrom(ctx)})
	})
	connector.RegisterSettingsCheck(Kind, func(system string, settings map[string]any) error {
		_, err := ParseSettings(system, settings, nil)
		return err
	})
}

// Options are what tests and embedders set besides the settings.
type Options struct {
	// HTTPClient makes the calls; nil means one with the settings' timeout.
	HTTPClient *http.Client
	// Now is the connector's clock (the pass length of a listing, token
	// expiry, the pacer); nil means time.Now.
	Now func() time.Time
	// Sleep waits (backoff, Retry-After, the pacer); nil means a timer.
	// Tests pass one that moves a manual clock instead.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives the connector's logs; nil means slog.Default().
	Logger *slog.Logger
	// LookupEnv reads the environment variables *_env settings name; nil
	// means the process environment.
	LookupEnv func(string) (string, bool)
	// State keeps what the connector must remember across runs: the ids
	// of the nested lines of each record it has listed, so that a line
	// removed from its record comes out as a tombstone. nil means memory
	// only (see connector.MemState); `concord run` passes Concord's store.
	State connector.State
}

// Conn is an open REST system. It is safe for concurrent use; listings of
// one datatype come one at a time (as the engine makes them).
type Conn struct {
	system string
	cfg    *Config
	c      *client
	now    func() time.Time
	log    *slog.Logger
	state  connector.State

	mu        sync.Mutex
	described map[string][]connector.Property // inferred properties by datatype
}

var _ connector.Connector = (*Conn)(nil)

// Open checks a system's settings and opens it. It makes no call.
func Open(ctx context.Context, system string, settings map[string]any, opts Options) (*Conn, error) {
	cfg, err := ParseSettings(system, settings, opts.LookupEnv)
	if err != nil {
		return nil, err
	}
	return New(system, cfg, opts), nil
}

// New opens a system from checked settings.
func New(system string, cfg *Config, opts Options) *Conn {
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
	if cfg.MaxAttempts < 1 {
		cfg.MaxAttempts = 1
	}
	log := opts.Logger.With("system", system)
	c := &client{
		system: system, cfg: cfg, http: opts.HTTPClient, now: opts.Now, sleep: opts.Sleep, log: log,
		jitter: rand.Float64,
		pacer:  pace.NewWindow(cfg.RateLimit, time.Minute+time.Second, opts.Now, opts.Sleep),
	}
	c.auth = newAuthenticator(c)
	if opts.State == nil {
		opts.State = connector.NewMemState()
	}
	return &Conn{system: system, cfg: cfg, c: c, now: opts.Now, log: log, state: opts.State, described: map[string][]connector.Property{}}
}

// Calls returns how many HTTP requests the connector has sent (token
// requests included), for measuring what a sync costs.
func (c *Conn) Calls() int64 { return c.c.calls.Load() }

// Close releases nothing: the connector holds no connection of its own.
func (c *Conn) Close() error { return nil }

// FitError is an answer that does not fit the settings: a body that is not
// JSON, no records where list.records says, a record without its id. It
// names the system, the datatype, the call, its status and what the
// settings made the connector expect. Retrying does not help: the settings
// or the system must change.
type FitError struct {
	System, Datatype string
	Method, URL      string
	Status           int
	Expected         string
}

func (e *FitError) Error() string {
	return fmt.Sprintf("system %q, datatype %q: %s %s answered %d %s, which does not fit the settings: %s",
		e.System, e.Datatype, e.Method, e.URL, e.Status, http.StatusText(e.Status), e.Expected)
}

func (c *Conn) datatype(name string) (*Datatype, error) {
	if d, ok := c.cfg.Datatypes[name]; ok {
		return d, nil
	}
	names := slices.Sorted(maps.Keys(c.cfg.Datatypes))
	for _, dt := range names {
		for _, f := range slices.Sorted(maps.Keys(c.cfg.Datatypes[dt].Lines)) {
			names = append(names, dt+"/"+f)
		}
	}
	hint := ""
	if parent, field, nested := strings.Cut(name, "/"); nested {
		hint = fmt.Sprintf("; nested lines are served when settings.datatypes.%s.lines names them (lines: {%s: {id_field: …}})", parent, field)
	}
	return nil, fmt.Errorf("system %q: no datatype %q in settings.datatypes (it has %s)%s: %w",
		c.system, name, strings.Join(names, ", "), hint, connector.ErrRejected)
}

// url is base_url + path (with {id} filled in) + query.
func (c *Conn) url(path, id string, query url.Values) string {
	if id != "" {
		path = strings.ReplaceAll(path, "{id}", url.PathEscape(id))
	}
	p, raw, _ := strings.Cut(path, "?")
	q, _ := url.ParseQuery(raw)
	for k, vs := range query {
		q[k] = vs
	}
	s := c.cfg.BaseURL.String() + p
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// decodeRecord reads one record object; problem says what does not fit.
func (c *Conn) decodeRecord(d *Datatype, obj map[string]any) (connector.Record, string) {
	v, ok := d.IDField.get(obj)
	if !ok {
		return connector.Record{}, fmt.Sprintf("to have its id at %s, found no such member (the record has %s)", d.IDField, strings.TrimPrefix(members(obj), "the body has "))
	}
	id, ok := idText(v)
	if !ok {
		return connector.Record{}, fmt.Sprintf("to have a text or number as its id at %s, found %s", d.IDField, kindOf(v))
	}
	r := connector.Record{ID: id, Fields: obj}
	if d.ModifiedField.set() {
		mv, ok := d.ModifiedField.get(obj)
		switch {
		case (!ok || mv == nil) && d.Changes.Style == ChangesUpdatedSince:
			return connector.Record{}, fmt.Sprintf("%q to have its modified time at %s, found none", id, d.ModifiedField)
		case ok && mv != nil:
			t, parsed := d.Changes.Format.parse(mv)
			if !parsed {
				return connector.Record{}, fmt.Sprintf("%q to have a time at %s, found %s", id, d.ModifiedField, kindOf(mv))
			}
			r.Modified = t
		}
	}
	if d.DeletedField.set() {
		if dv, ok := d.DeletedField.get(obj); ok && truthy(dv) {
			r.Deleted, r.Fields = true, nil
		}
	}
	return r, ""
}

// one reads the record an answer holds at op.Record.
func (c *Conn) one(d *Datatype, op *Op, method, target string, ans *answer) (connector.Record, error) {
	fit := func(format string, args ...any) error {
		return &FitError{System: c.system, Datatype: d.Name, Method: method, URL: target, Status: ans.status, Expected: fmt.Sprintf(format, args...)}
	}
	doc, err := decodeJSON(ans.body)
	if err != nil {
		return connector.Record{}, fit("expected a JSON body, found %s (%v)", bodyKind(ans), err)
	}
	v, ok := op.Record.get(doc)
	if !ok {
		return connector.Record{}, fit("expected the record at %s, found no such member (%s)", op.Record, members(doc))
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return connector.Record{}, fit("expected the record at %s to be an object, found %s", op.Record, kindOf(v))
	}
	r, problem := c.decodeRecord(d, obj)
	if problem != "" {
		return connector.Record{}, fit("expected the record %s", problem)
	}
	return r, nil
}

// get reads one record and the answer's ETag.
func (c *Conn) get(ctx context.Context, d *Datatype, id string) (connector.Record, string, error) {
	if d.Get == nil {
		return connector.Record{}, "", fmt.Errorf("system %q, datatype %q: get is switched off in the settings: %w", c.system, d.Name, connector.ErrNotSupported)
	}
	if strings.TrimSpace(id) == "" {
		return connector.Record{}, "", fmt.Errorf("system %q, datatype %q: an empty id: %w", c.system, d.Name, connector.ErrNotFound)
	}
	target := c.url(d.Get.Path, id, nil)
	ans, err := c.c.do(ctx, call{datatype: d.Name, method: d.Get.Method, url: target})
	if err != nil {
		return connector.Record{}, "", err
	}
	r, err := c.one(d, d.Get, d.Get.Method, target, ans)
	if err != nil {
		return connector.Record{}, "", err
	}
	if r.Deleted {
		return connector.Record{}, "", fmt.Errorf("system %q, datatype %q: record %q is deleted (%s is set): %w", c.system, d.Name, id, d.DeletedField.text, connector.ErrNotFound)
	}
	r.ID = id
	return r, ans.header.Get("ETag"), nil
}

// Get returns one record, or an error wrapping ErrNotFound.
func (c *Conn) Get(ctx context.Context, datatype, id string) (connector.Record, error) {
	if l, ok := c.nested(datatype); ok {
		return c.getLine(ctx, l, id)
	}
	d, err := c.datatype(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	r, _, err := c.get(ctx, d, id)
	return r, err
}

// body is a write's JSON body: fields without the read-only ones, wrapped
// where the settings say. A field declared a number or an integer in
// `properties` goes out as one when it holds a number as text: the engine
// writes references as text ids, and a system with integer keys (the
// reference webshop's customer_id) refuses "12" where it wants 12.
func (c *Conn) body(d *Datatype, op *Op, fields connector.Fields) ([]byte, error) {
	out := connector.CloneFields(fields)
	for _, k := range d.ReadOnly {
		delete(out, k)
	}
	numbers(out, d.Properties)
	for field, l := range d.Lines {
		// Lines go out as the record's list (an insert carries them, an
		// update of a line sends the whole list): the same rules per line.
		list, _ := out[field].([]any)
		for _, e := range list {
			if line, ok := e.(map[string]any); ok {
				for _, k := range l.ReadOnly {
					delete(line, k)
				}
				delete(line, ParentField)
				numbers(line, l.Properties)
			}
		}
	}
	b, err := encodeJSON(op.Wrap.wrap(map[string]any(out)))
	if err != nil {
		return nil, fmt.Errorf("system %q, datatype %q: encode the record: %w: %w", c.system, d.Name, err, connector.ErrRejected)
	}
	return b, nil
}

// numbers turns the texts of fields declared integer or number into JSON
// numbers, where they hold one.
func numbers(out map[string]any, props []connector.Property) {
	for _, p := range props {
		if s, ok := out[p.Name].(string); ok && (p.Type == "integer" || p.Type == "number") {
			if p.Type == "integer" {
				if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
					out[p.Name] = n
				}
			} else if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				out[p.Name] = f
			}
		}
	}
}

// Insert creates a record and returns it with its id: from the answer's
// record (id_field), or from its Location header.
func (c *Conn) Insert(ctx context.Context, datatype string, fields connector.Fields) (connector.Record, error) {
	if l, ok := c.nested(datatype); ok {
		return c.insertLine(ctx, l, fields)
	}
	d, err := c.datatype(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	if d.Insert == nil {
		return connector.Record{}, fmt.Errorf("system %q, datatype %q: insert is switched off in the settings: %w", c.system, datatype, connector.ErrNotSupported)
	}
	body, err := c.body(d, d.Insert, fields)
	if err != nil {
		return connector.Record{}, err
	}
	target := c.url(d.Insert.Path, "", nil)
	ans, err := c.c.do(ctx, call{datatype: datatype, method: d.Insert.Method, url: target, body: body})
	if err != nil {
		return connector.Record{}, err
	}
	var r connector.Record
	var readErr error
	if len(strings.TrimSpace(string(ans.body))) > 0 {
		r, readErr = c.one(d, d.Insert, d.Insert.Method, target, ans)
	}
	fromLocation := locationID(ans.header.Get("Location"), target)
	if d.Insert.IDFrom == "location" || r.ID == "" {
		r.ID = fromLocation
	}
	if r.ID == "" {
		why := "the answer has no body and no Location header"
		if readErr != nil {
			why = readErr.Error()
		}
		// Created, but the id is not known: the record is read (and linked
		// by its merge keys) on the next listing; retrying would duplicate it.
		return connector.Record{}, fmt.Errorf("system %q, datatype %q: %s %s created a record but its id could not be read (%s); fix settings.datatypes.%s.insert (record, id_from) or id_field: %w",
			c.system, datatype, d.Insert.Method, target, why, datatype, connector.ErrRejected)
	}
	r.Deleted = false
	return r, nil
}

// locationID is the last path segment of a Location header that points
// below the collection the record was posted to.
func locationID(loc, collection string) string {
	if loc == "" {
		return ""
	}
	base, err := url.Parse(collection)
	if err != nil {
		return ""
	}
	u, err := base.Parse(loc)
	if err != nil {
		return ""
	}
	seg := strings.TrimRight(u.EscapedPath(), "/")
	seg = seg[strings.LastIndex(seg, "/")+1:]
	id, err := url.PathUnescape(seg)
	if err != nil {
		return ""
	}
	return id
}

// Update writes the given fields: a PATCH of them, or (update.full) the
// record read, merged with them, PUT whole. When the record is read first
// (update.full, or if_match: read or etag), an ifMatch that is not the
// read record's hash is a conflict, and with if_match: etag the answer's
// ETag goes along as If-Match so that the system refuses a write over a
// change made in between (412).
func (c *Conn) Update(ctx context.Context, datatype, id string, fields connector.Fields, ifMatch string) (connector.Record, error) {
	if l, ok := c.nested(datatype); ok {
		return c.updateLine(ctx, l, id, fields, ifMatch)
	}
	d, err := c.datatype(datatype)
	if err != nil {
		return connector.Record{}, err
	}
	up := d.Update
	if up == nil {
		return connector.Record{}, fmt.Errorf("system %q, datatype %q: update is switched off in the settings: %w", c.system, datatype, connector.ErrNotSupported)
	}
	payload := fields
	header := http.Header{}
	if up.Full || up.IfMatch != "none" {
		cur, etag, err := c.get(ctx, d, id)
		if err != nil {
			return connector.Record{}, err
		}
		if ifMatch != "" && connector.Hash(cur.Fields) != ifMatch {
			return connector.Record{}, fmt.Errorf("system %q, datatype %q: record %q is no longer the version the update was based on: %w", c.system, datatype, id, connector.ErrConflict)
		}
		if up.IfMatch == "etag" && etag != "" {
			header.Set("If-Match", etag)
		}
		if up.Full {
			payload = cur.Fields
			for k, v := range fields {
				payload[k] = v
			}
		}
	}
	return c.write(ctx, d, id, payload, header)
}

// write sends an update's payload and returns the record as written when
// the answer holds it (a zero Record when it does not).
func (c *Conn) write(ctx context.Context, d *Datatype, id string, payload connector.Fields, header http.Header) (connector.Record, error) {
	up := d.Update
	body, err := c.body(d, up, payload)
	if err != nil {
		return connector.Record{}, err
	}
	target := c.url(up.Path, id, nil)
	ans, err := c.c.do(ctx, call{datatype: d.Name, method: up.Method, url: target, body: body, header: header})
	if err != nil {
		return connector.Record{}, err
	}
	if len(strings.TrimSpace(string(ans.body))) == 0 {
		return connector.Record{}, nil
	}
	// The record as written, when the answer holds it; an answer that does
	// not is no failure (the write is done), the next listing reads it.
	r, err := c.one(d, up, up.Method, target, ans)
	if err != nil || r.Deleted {
		c.log.Debug("the answer to an update holds no record", "datatype", d.Name, "id", id, "err", err)
		return connector.Record{}, nil
	}
	r.ID = id
	return r, nil
}

// Delete removes a record; ErrNotSupported when delete is switched off.
func (c *Conn) Delete(ctx context.Context, datatype, id string) error {
	if l, ok := c.nested(datatype); ok {
		return c.deleteLine(ctx, l, id)
	}
	d, err := c.datatype(datatype)
	if err != nil {
		return err
	}
	if d.Delete == nil {
		return fmt.Errorf("system %q, datatype %q: delete is switched off in the settings: %w", c.system, datatype, connector.ErrNotSupported)
	}
	_, err = c.c.do(ctx, call{datatype: datatype, method: d.Delete.Method, url: c.url(d.Delete.Path, id, nil)})
	return err
}

// Describe lists the datatypes with their properties: those the settings
// give, or else those of the first record of a listing, typed by its
// values (read once per datatype).
func (c *Conn) Describe(ctx context.Context) ([]connector.DatatypeInfo, error) {
	var out []connector.DatatypeInfo
	for _, name := range slices.Sorted(maps.Keys(c.cfg.Datatypes)) {
		d := c.cfg.Datatypes[name]
		props := d.Properties
		if props == nil {
			var err error
			if props, err = c.infer(ctx, d.Name); err != nil {
				return nil, err
			}
		}
		out = append(out, connector.DatatypeInfo{Name: name, Properties: slices.Clone(props), CanDelete: d.Delete != nil})
		for _, field := range slices.Sorted(maps.Keys(d.Lines)) {
			l := d.Lines[field]
			props := l.Properties
			if props == nil {
				var err error
				if props, err = c.infer(ctx, l.Name); err != nil {
					return nil, err
				}
			} else {
				props = append(slices.Clone(props), connector.Property{Name: ParentField, Type: "string"})
			}
			out = append(out, connector.DatatypeInfo{Name: l.Name, Properties: slices.Clone(props), CanDelete: d.Update != nil})
		}
	}
	return out, nil
}

func (c *Conn) infer(ctx context.Context, name string) ([]connector.Property, error) {
	c.mu.Lock()
	props, ok := c.described[name]
	c.mu.Unlock()
	if ok {
		return props, nil
	}
	p, err := c.List(ctx, name, connector.ListRequest{Full: true})
	if err != nil {
		return nil, err
	}
	props = []connector.Property{}
	if len(p.Records) > 0 {
		f := p.Records[0].Fields
		for _, k := range slices.Sorted(maps.Keys(f)) {
			props = append(props, connector.Property{Name: k, Type: propertyType(f[k])})
		}
	}
	c.mu.Lock()
	c.described[name] = props
	c.mu.Unlock()
	return props, nil
}

// propertyType is the Describe type of a value.
func propertyType(v any) string {
	switch x := v.(type) {
	case bool:
		return "boolean"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return "datetime"
		}
		if _, err := time.Parse("2006-01-02", x); err == nil {
			return "date"
		}
	default:
		if _, isNum := v.(interface{ Float64() (float64, error) }); isNum {
			return "number"
		}
	}
	return "string"
}
