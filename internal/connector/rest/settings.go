package rest

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/connector"
)

// Defaults of the settings.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 5
	DefaultMaxWait     = 2 * time.Minute
	DefaultOverlap     = time.Minute
	DefaultPageSize    = 100
)

// Paging styles, change styles and auth types, as the settings name them.
const (
	PageNumber = "page"
	PageOffset = "offset"
	PageCursor = "cursor"
	PageLink   = "link_header"
	PageNext   = "next_url"
	PageNone   = "none"

	ChangesUpdatedSince = "updated_since"
	ChangesCursor       = "cursor"
	ChangesNone         = "none"

	AuthNone   = "none"
	AuthBearer = "bearer"
	AuthBasic  = "basic"
	AuthAPIKey = "api_key"
	AuthOAuth2 = "oauth2_client_credentials"
)

// Config is a system's checked settings (see the package documentation
// and docs/adr/0010-rest-connector.md for the YAML).
type Config struct {
	BaseURL      *url.URL
	Auth         Auth
	Headers      map[string]string
	Timeout      time.Duration
	RateLimit    int // calls a minute the connector keeps under; 0: no pacing
	MaxAttempts  int // tries of a call that fails with 5xx or a dropped connection
	MaxWait      time.Duration
	ErrorMessage fieldPath // where an error answer's message is; unset: guessed
	ErrorDetail  fieldPath // where its details (field errors) are; unset: guessed
	Datatypes    map[string]*Datatype
}

// Auth is how the connector authenticates.
type Auth struct {
	Type string
	// bearer
	Token string
	// basic
	Username, Password string
	// api_key
	Header, APIKey string
	// oauth2_client_credentials
	TokenURL, ClientID, ClientSecret, Scope, Audience string
	ClientAuth                                        string // header (HTTP basic) or body
}

// Datatype is the configuration of one datatype.
type Datatype struct {
	Name          string
	IDField       fieldPath
	ModifiedField fieldPath // unset: no modification time
	DeletedField  fieldPath // unset: no tombstones
	ReadOnly      []string  // fields never sent in a write
	Properties    []connector.Property

	ListPath    string
	ListQuery   url.Values
	Records     fieldPath
	Paging      Paging
	Changes     Changes
	Get, Insert *Op
	Update      *Op
	Delete      *Op // nil: the system cannot delete (ErrNotSupported)

	// Lines are the arrays of lines nested in the records, by member
	// name; each is served as the datatype "<name>/<member>".
	Lines map[string]*Lines
}

// Lines are lines nested in a datatype's records (an order's line_items),
// served as a datatype of their own: one record per line, with the id
// "<record id>/<line id>" and the record's id in the field "_parent".
type Lines struct {
	Parent     *Datatype
	Field      string    // the record's member that holds the list
	Name       string    // the datatype they are served as: "<parent>/<field>"
	IDField    fieldPath // the line's id within its record
	ReadOnly   []string  // line members never sent in a write
	Properties []connector.Property
}

// Paging is how a listing's pages are asked for.
type Paging struct {
	Style       string
	PageParam   string
	FirstPage   int
	OffsetParam string
	SizeParam   string
	Size        int
	CursorParam string
	CursorField fieldPath
	MoreField   fieldPath
	NextField   fieldPath
}

// Changes is how a listing asks for what changed since the stored cursor.
type Changes struct {
	Style   string
	Param   string
	Format  timeFormat
	Overlap time.Duration
	Field   fieldPath // cursor style: where the position to store is
}

// Op is one call of a datatype: get, insert, update or delete.
type Op struct {
	Method  string
	Path    string    // with {id}
	Record  fieldPath // where the record is in the answer
	Wrap    fieldPath // where the record goes in the request body
	IDFrom  string    // insert: body (falling back to Location) or location
	Full    bool      // update: GET, merge, PUT the whole record
	IfMatch string    // update: none, read or etag
}

var (
	topKeys      = []string{"auth", "base_url", "datatypes", "defaults", "error_detail", "error_message", "headers", "max_attempts", "max_wait", "rate_limit", "timeout"}
	datatypeKeys = []string{"changes", "delete", "deleted_field", "get", "id_field", "insert", "lines", "list", "modified_field", "paging", "properties", "read_only", "update"}
	linesKeys    = []string{"id_field", "properties", "read_only"}
	listKeys     = []string{"path", "query", "records"}
	pagingKeys   = map[string][]string{ // the keys each style takes, besides style
		PageNumber: {"first_page", "more_field", "page_param", "size", "size_param"},
		PageOffset: {"more_field", "offset_param", "size", "size_param"},
		PageCursor: {"cursor_field", "cursor_param", "more_field", "size", "size_param"},
		PageLink:   {"size", "size_param"},
		PageNext:   {"next_field", "size", "size_param"},
		PageNone:   {},
	}
	changesKeys = map[string][]string{
		ChangesUpdatedSince: {"format", "overlap", "param", "time_zone"},
		ChangesCursor:       {"field", "param"},
		ChangesNone:         {},
	}
	opKeys = map[string][]string{
		"get":    {"method", "path", "record"},
		"insert": {"id_from", "method", "path", "record", "wrap"},
		"update": {"full", "if_match", "method", "path", "record", "wrap"},
		"delete": {"method", "path"},
	}
	authKeys = map[string][]string{
		AuthNone:   {},
		AuthBearer: {"token", "token_env"},
		AuthBasic:  {"password", "password_env", "username", "username_env"},
		AuthAPIKey: {"api_key", "api_key_env", "header"},
		AuthOAuth2: {"audience", "client_auth", "client_id", "client_id_env", "client_secret", "client_secret_env", "scope", "token_url"},
	}
	propertyTypes = []string{"string", "number", "integer", "boolean", "date", "datetime", "array", "object"}
)

// ParseSettings checks a system's settings block and fills in defaults.
// lookupEnv reads the environment variables that *_env settings name (nil:
// the process environment). Every problem is reported at once, one a line,
// each with the setting's path (settings.datatypes.customers.paging.style)
// and what is expected.
func ParseSettings(system string, settings map[string]any, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	p := &parser{env: lookupEnv, seen: map[string]bool{}}
	cfg := p.config(settings)
	if len(p.errs) > 0 {
		if len(p.errs) == 1 {
			return nil, fmt.Errorf("system %q (kind rest): %s", system, p.errs[0])
		}
		return nil, fmt.Errorf("system %q (kind rest): %d settings are wrong:\n  %s", system, len(p.errs), strings.Join(p.errs, "\n  "))
	}
	return cfg, nil
}

// parser collects the problems of one ParseSettings.
type parser struct {
	env  func(string) (string, bool)
	errs []string
	seen map[string]bool // a problem of the defaults is reported once, not per datatype
}

func (p *parser) fail(path, format string, args ...any) {
	msg := path + ": " + fmt.Sprintf(format, args...)
	if !p.seen[msg] {
		p.seen[msg] = true
		p.errs = append(p.errs, msg)
	}
}

// node is one block of settings as a datatype sees it: its own keys, and
// below them those of settings.defaults at the same place. An error names
// the block the value came from.
type node struct {
	p                *parser
	own, def         map[string]any
	ownPath, defPath string
}

// get returns a key's value and the path of the setting it came from.
func (n node) get(key string) (any, string, bool) {
	if v, ok := n.own[key]; ok {
		return v, n.ownPath + "." + key, true
	}
	if v, ok := n.def[key]; ok {
		return v, n.defPath + "." + key, true
	}
	return nil, n.ownPath + "." + key, false
}

// only reports the keys that are not among allowed. variant says that
// hint names one variant of a block (a paging style, an auth type), whose
// other variants take other keys.
func (n node) only(allowed []string, hint string, variant bool) {
	for _, side := range []struct {
		m    map[string]any
		path string
	}{{n.own, n.ownPath}, {n.def, n.defPath}} {
		for _, k := range slices.Sorted(mapKeys(side.m)) {
			if !slices.Contains(allowed, k) {
				switch {
				case variant:
					n.p.fail(side.path+"."+k, "not a setting of %s (it takes %s)", hint, strings.Join(allowed, ", "))
				case len(allowed) == 0:
					n.p.fail(side.path+"."+k, "unknown setting: %s takes none", hint)
				default:
					n.p.fail(side.path+"."+k, "unknown setting (%s takes %s)", hint, strings.Join(allowed, ", "))
				}
			}
		}
	}
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Child block states.
const (
	absent = iota
	off    // given as false: the operation is not offered
	given
)

// child returns a nested block. A datatype's block replaces the defaults'
// whole when it sets replaceKey (paging with a style of its own), and is
// merged over it otherwise.
func (n node) child(key, replaceKey string) (node, int) {
	c := node{p: n.p, ownPath: n.ownPath + "." + key, defPath: n.defPath + "." + key}
	state := absent
	take := func(v any, path string, dst *map[string]any) bool {
		switch x := v.(type) {
		case nil:
			*dst = map[string]any{}
		case map[string]any:
			*dst = x
		case bool:
			if !x {
				return false
			}
			n.p.fail(path, "want a block of settings, or false to say the system does not offer it; got true")
			*dst = map[string]any{}
		default:
			n.p.fail(path, "want a block of settings, got %s", describe(v))
			*dst = map[string]any{}
		}
		return true
	}
	if v, ok := n.own[key]; ok {
		if !take(v, c.ownPath, &c.own) {
			return c, off
		}
		state = given
	}
	if v, ok := n.def[key]; ok && !(replaceKey != "" && hasKey(c.own, replaceKey)) {
		var d map[string]any
		if !take(v, c.defPath, &d) {
			if state == absent {
				return c, off
			}
		} else {
			c.def = d
			state = given
		}
	}
	return c, state
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "a block of settings"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%v", v)
}

func (n node) str(key, def string) string {
	v, path, ok := n.get(key)
	if !ok || v == nil {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		n.p.fail(path, "want a text, got %s", describe(v))
		return def
	}
	return strings.TrimSpace(s)
}

func (n node) enum(key, def string, allowed ...string) string {
	s := n.str(key, def)
	if !slices.Contains(allowed, s) {
		_, path, _ := n.get(key)
		n.p.fail(path, "want one of %s; got %q", strings.Join(allowed, ", "), s)
		return def
	}
	return s
}

func (n node) num(key string, def, lo, hi int) int {
	v, path, ok := n.get(key)
	if !ok || v == nil {
		return def
	}
	i, whole := wholeNumber(v)
	if !whole || i < lo || i > hi {
		n.p.fail(path, "want a whole number from %d to %d, got %s", lo, hi, describe(v))
		return def
	}
	return i
}

func (n node) boolean(key string, def bool) bool {
	v, path, ok := n.get(key)
	if !ok || v == nil {
		return def
	}
	b, isBool := v.(bool)
	if !isBool {
		n.p.fail(path, "want true or false, got %s", describe(v))
		return def
	}
	return b
}

func (n node) dur(key string, def, least time.Duration) time.Duration {
	v, path, ok := n.get(key)
	if !ok || v == nil {
		return def
	}
	s, _ := v.(string)
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < least {
		n.p.fail(path, "want a duration of at least %v such as \"30s\" or \"2m\", got %s", least, describe(v))
		return def
	}
	return d
}

// path reads a dotted path or JSON pointer.
func (n node) path(key, def string) fieldPath {
	text := n.str(key, def)
	_, setting, _ := n.get(key)
	p, err := parsePath(text, setting)
	if err != nil {
		n.p.fail(setting, "%v", err)
	}
	return p
}

// secret reads key or, with key_env, the environment variable it names.
func (n node) secret(key string, required bool) string {
	v := n.str(key, "")
	env := n.str(key+"_env", "")
	_, path, _ := n.get(key)
	switch {
	case v != "" && env != "":
		n.p.fail(path, "give %s or %s_env, not both", key, key)
	case env != "":
		val, ok := n.p.env(env)
		val = strings.TrimSpace(val)
		if !ok || val == "" {
			n.p.fail(path+"_env", "the environment variable %s is not set or empty", env)
		}
		return val
	case v == "" && required:
		n.p.fail(path, "required (or %s_env: the name of an environment variable that holds it)", key)
	}
	return v
}

func wholeNumber(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), x >= math.MinInt32 && x <= math.MaxInt32
	case uint64:
		return int(x), x <= math.MaxInt32
	case float64:
		return int(x), x == math.Trunc(x) && math.Abs(x) <= math.MaxInt32
	}
	return 0, false
}

func (p *parser) config(settings map[string]any) *Config {
	top := node{p: p, own: settings, ownPath: "settings"}
	top.only(topKeys, "settings", false)
	cfg := &Config{Headers: map[string]string{}, Datatypes: map[string]*Datatype{}}

	base := top.str("base_url", "")
	switch u, err := url.Parse(base); {
	case base == "":
		p.fail("settings.base_url", "required: the API's root, such as https://shop.example.com/api/v1")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		p.fail("settings.base_url", "want an http or https URL without query, such as https://shop.example.com/api/v1; got %q", base)
	default:
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		cfg.BaseURL = u
	}
	cfg.Timeout = top.dur("timeout", DefaultTimeout, time.Second)
	cfg.RateLimit = top.num("rate_limit", 0, 0, 1_000_000)
	cfg.MaxAttempts = top.num("max_attempts", DefaultMaxAttempts, 1, 20)
	cfg.MaxWait = top.dur("max_wait", DefaultMaxWait, 0)
	if hasKey(settings, "error_message") {
		cfg.ErrorMessage = top.path("error_message", "")
	}
	if hasKey(settings, "error_detail") {
		cfg.ErrorDetail = top.path("error_detail", "")
	}
	if h, state := top.child("headers", ""); state == given {
		for _, k := range slices.Sorted(mapKeys(h.own)) {
			v, isStr := h.own[k].(string)
			if !isStr || http.CanonicalHeaderKey(k) == "" || strings.ContainsAny(k, " :\r\n") {
				p.fail("settings.headers."+k, "want a header name and a text value, got %s", describe(h.own[k]))
				continue
			}
			cfg.Headers[k] = v
		}
	}
	cfg.Auth = p.auth(top)

	var defaults map[string]any
	if d, state := top.child("defaults", ""); state == given {
		defaults = d.own
	} else if state == off {
		p.fail("settings.defaults", "want a block of settings that every datatype starts from")
	}
	dts, state := top.child("datatypes", "")
	if state != given || len(dts.own) == 0 {
		p.fail("settings.datatypes", "required: one block per datatype, e.g. datatypes: {customers: {}, products: {}}")
		return cfg
	}
	for _, name := range slices.Sorted(mapKeys(dts.own)) {
		if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "/?#{}") {
			p.fail("settings.datatypes", "%q is not a datatype name (no /, ?, #, { or })", name)
			continue
		}
		own, state := dts.child(name, "")
		if state == off {
			p.fail("settings.datatypes."+name, "want a block of settings (may be empty: {})")
			continue
		}
		cfg.Datatypes[name] = p.datatype(name, own.own, defaults)
	}
	return cfg
}

func (p *parser) auth(top node) Auth {
	n, state := top.child("auth", "")
	if state != given {
		p.fail("settings.auth", "required: {type: bearer, token_env: …}, basic, api_key, %s, or {type: none}", AuthOAuth2)
		return Auth{Type: AuthNone}
	}
	types := slices.Sorted(func(yield func(string) bool) {
		for k := range authKeys {
			if !yield(k) {
				return
			}
		}
	})
	a := Auth{Type: n.enum("type", "", types...)}
	if a.Type == "" {
		return a
	}
	n.only(append([]string{"type"}, authKeys[a.Type]...), "auth of type "+a.Type, true)
	switch a.Type {
	case AuthBearer:
		a.Token = n.secret("token", true)
	case AuthBasic:
		a.Username = n.secret("username", true)
		a.Password = n.secret("password", true)
	case AuthAPIKey:
		a.Header = n.str("header", "X-API-Key")
		if a.Header == "" || strings.ContainsAny(a.Header, " :\r\n") {
			p.fail("settings.auth.header", "want a header name such as X-API-Key, got %q", a.Header)
		}
		a.APIKey = n.secret("api_key", true)
	case AuthOAuth2:
		a.TokenURL = n.str("token_url", "")
		if u, err := url.Parse(a.TokenURL); a.TokenURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.fail("settings.auth.token_url", "required: the token endpoint's http or https URL, got %q", a.TokenURL)
		}
		a.ClientID = n.secret("client_id", true)
		a.ClientSecret = n.secret("client_secret", true)
		a.Scope = n.str("scope", "")
		a.Audience = n.str("audience", "")
		a.ClientAuth = n.enum("client_auth", "header", "header", "body")
	}
	return a
}

// placeholders are what a path may hold besides text.
var placeholder = regexp.MustCompile(`\{[^}]*\}`)

// checkPath checks a configured path and puts the datatype's name in.
func (p *parser) checkPath(setting, path, datatype string, needID bool) string {
	if !strings.HasPrefix(path, "/") {
		p.fail(setting, "want a path that starts with / (after base_url), such as /%s/{id}; got %q", datatype, path)
		return path
	}
	for _, ph := range placeholder.FindAllString(path, -1) {
		if ph != "{id}" && ph != "{datatype}" {
			p.fail(setting, "unknown placeholder %s: a path may hold {id} and {datatype}", ph)
		}
	}
	hasID := strings.Contains(path, "{id}")
	switch {
	case needID && !hasID:
		p.fail(setting, "want a path with {id}, such as /%s/{id}; got %q", datatype, path)
	case !needID && hasID:
		p.fail(setting, "a path without {id} is wanted here (it names no single record); got %q", path)
	}
	return strings.ReplaceAll(path, "{datatype}", url.PathEscape(datatype))
}

func (p *parser) datatype(name string, own, defaults map[string]any) *Datatype {
	n := node{p: p, own: own, def: defaults, ownPath: "settings.datatypes." + name, defPath: "settings.defaults"}
	n.only(datatypeKeys, "a datatype", false)
	d := &Datatype{Name: name}
	d.IDField = n.path("id_field", "id")
	if d.IDField.isRoot() {
		p.fail(d.IDField.setting, "want the record's id member, such as id")
	}
	d.ModifiedField = n.path("modified_field", "")
	d.DeletedField = n.path("deleted_field", "")
	d.ReadOnly = n.names("read_only")
	d.Properties = n.properties()

	list, _ := n.child("list", "")
	list.only(listKeys, "list", false)
	d.ListPath = p.checkPath(list.ownPath+".path", list.str("path", "/{datatype}"), name, false)
	d.Records = list.path("records", "")
	d.ListQuery = url.Values{}
	if q, state := list.child("query", ""); state == given {
		for _, side := range []map[string]any{q.def, q.own} {
			for k, v := range side {
				switch x := v.(type) {
				case string:
					d.ListQuery.Set(k, x)
				case bool, int, int64, float64:
					d.ListQuery.Set(k, fmt.Sprint(x))
				default:
					p.fail(q.ownPath+"."+k, "want a text or number, got %s", describe(v))
				}
			}
		}
	}

	d.Paging = p.paging(n, name)
	d.Changes = p.changes(n, d)
	d.Get = p.op(n, "get", name, d.ListPath, http.MethodGet)
	d.Insert = p.op(n, "insert", name, d.ListPath, http.MethodPost)
	d.Update = p.op(n, "update", name, d.ListPath, http.MethodPatch)
	d.Delete = p.op(n, "delete", name, d.ListPath, http.MethodDelete)
	if d.Update != nil && (d.Update.Full || d.Update.IfMatch != "none") && d.Get == nil {
		p.fail(n.ownPath+".update", "a full update or an if_match check reads the record first: it needs get, which is switched off")
	}
	p.lines(n, d)
	return d
}

// names reads a list of member names (read_only).
func (n node) names(key string) []string {
	v, path, ok := n.get(key)
	if !ok || v == nil {
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		n.p.fail(path, "want a list of field names, got %s", describe(v))
	}
	var out []string
	for _, e := range list {
		s, isStr := e.(string)
		if !isStr || s == "" {
			n.p.fail(path, "want a list of field names, got %s in it", describe(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

// properties reads declared property types, the datatype's own over the
// defaults'.
func (n node) properties() []connector.Property {
	props, state := n.child("properties", "")
	if state != given {
		return nil
	}
	var out []connector.Property
	for i, side := range []struct {
		m    map[string]any
		path string
	}{{props.own, props.ownPath}, {props.def, props.defPath}} {
		for _, k := range slices.Sorted(mapKeys(side.m)) {
			if i == 1 && hasKey(props.own, k) {
				continue
			}
			t, _ := side.m[k].(string)
			if !slices.Contains(propertyTypes, t) {
				n.p.fail(side.path+"."+k, "want a type: one of %s; got %s", strings.Join(propertyTypes, ", "), describe(side.m[k]))
				continue
			}
			out = append(out, connector.Property{Name: k, Type: t})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// lines reads a datatype's nested lines: lines: {<member>: {id_field,
// read_only, properties}}. They belong to one datatype, so the defaults
// hold none.
func (p *parser) lines(dt node, d *Datatype) {
	if hasKey(dt.def, "lines") {
		p.fail(dt.defPath+".lines", "nested lines belong to one datatype: set them under settings.datatypes.<name>.lines")
	}
	own := node{p: p, own: dt.own, ownPath: dt.ownPath}
	block, state := own.child("lines", "")
	if state == off {
		p.fail(block.ownPath, "want one block per array member that holds lines, such as lines: {line_items: {id_field: id}}")
	}
	if state != given {
		return
	}
	d.Lines = map[string]*Lines{}
	for _, field := range slices.Sorted(mapKeys(block.own)) {
		at := block.ownPath + "." + field
		if field == "" || strings.ContainsAny(field, "./?#{}") {
			p.fail(at, "%q is not a member name: nested lines are a list member of the record, such as line_items", field)
			continue
		}
		n, state := block.child(field, "")
		if state == off {
			p.fail(at, "want a block of settings (may be empty: {})")
			continue
		}
		n.only(linesKeys, "nested lines", false)
		l := &Lines{Parent: d, Field: field, Name: d.Name + "/" + field}
		l.IDField = n.path("id_field", "id")
		if l.IDField.isRoot() {
			p.fail(l.IDField.setting, "want the line's id member, such as id or line_no")
		}
		l.ReadOnly = n.names("read_only")
		l.Properties = n.properties()
		if slices.Contains(d.ReadOnly, field) {
			p.fail(at, "the record's %s is read_only, so its lines could never be written", field)
		}
		d.Lines[field] = l
	}
}

func (p *parser) paging(dt node, name string) Paging {
	n, _ := dt.child("paging", "style")
	styles := slices.Sorted(func(yield func(string) bool) {
		for k := range pagingKeys {
			if !yield(k) {
				return
			}
		}
	})
	pg := Paging{Style: n.enum("style", PageNone, styles...)}
	n.only(append([]string{"style"}, pagingKeys[pg.Style]...), "paging style "+pg.Style, true)
	pg.SizeParam = n.str("size_param", "")
	pg.Size = n.num("size", 0, 1, 100_000)
	switch pg.Style {
	case PageNumber:
		pg.PageParam = n.str("page_param", "page")
		pg.FirstPage = n.num("first_page", 1, 0, 1)
		if pg.Size == 0 {
			pg.Size = DefaultPageSize
		}
	case PageOffset:
		pg.OffsetParam = n.str("offset_param", "offset")
		if pg.SizeParam == "" {
			pg.SizeParam = "limit"
		}
		if pg.Size == 0 {
			pg.Size = DefaultPageSize
		}
	case PageCursor:
		pg.CursorParam = n.str("cursor_param", "")
		if pg.CursorParam == "" {
			p.fail(n.ownPath+".cursor_param", "required for paging style cursor: the query parameter the next page's cursor is sent in, such as cursor")
		}
		pg.CursorField = n.path("cursor_field", "")
		if !pg.CursorField.set() || pg.CursorField.isRoot() {
			p.fail(n.ownPath+".cursor_field", "required for paging style cursor: where the next page's cursor is in the body, such as next_cursor")
		}
	case PageNext:
		pg.NextField = n.path("next_field", "")
		if !pg.NextField.set() || pg.NextField.isRoot() {
			p.fail(n.ownPath+".next_field", "required for paging style next_url: where the next page's URL is in the body, such as links.next")
		}
	}
	if pg.Style == PageNumber || pg.Style == PageOffset || pg.Style == PageCursor {
		pg.MoreField = n.path("more_field", "")
		if !hasKey(n.own, "more_field") && !hasKey(n.def, "more_field") {
			pg.MoreField = fieldPath{}
		}
	}
	if pg.Size > 0 && pg.SizeParam == "" && (pg.Style == PageNumber) {
		// Without a size parameter the system's own page size is unknown:
		// only an empty page can end the listing.
		pg.Size = 0
	}
	return pg
}

func (p *parser) changes(dt node, d *Datatype) Changes {
	n, state := dt.child("changes", "style")
	if state != given {
		return Changes{Style: ChangesNone}
	}
	styles := []string{ChangesCursor, ChangesNone, ChangesUpdatedSince}
	ch := Changes{Style: n.enum("style", "", styles...)}
	if ch.Style == "" {
		return Changes{Style: ChangesNone}
	}
	n.only(append([]string{"style"}, changesKeys[ch.Style]...), "changes style "+ch.Style, true)
	switch ch.Style {
	case ChangesUpdatedSince:
		ch.Param = n.str("param", "")
		if ch.Param == "" {
			p.fail(n.ownPath+".param", "required: the query parameter that asks for records changed at or after a time, such as updated_since")
		}
		ch.Overlap = n.dur("overlap", DefaultOverlap, 0)
		zone := n.str("time_zone", "UTC")
		loc, err := time.LoadLocation(zone)
		if err != nil {
			_, path, _ := n.get("time_zone")
			p.fail(path, "%q is not an IANA time zone such as Europe/Amsterdam", zone)
			loc = time.UTC
		}
		ch.Format = timeFormat{name: n.str("format", "rfc3339"), loc: loc}
		if f := ch.Format.name; f != "rfc3339" && f != "unix" && f != "unix_ms" && !strings.Contains(f, "2006") {
			_, path, _ := n.get("format")
			p.fail(path, "want rfc3339, unix, unix_ms or a Go time layout such as \"2006-01-02 15:04:05\"; got %q", f)
		}
		if !d.ModifiedField.set() || d.ModifiedField.isRoot() {
			p.fail(dt.ownPath+".modified_field", "required with changes style updated_since: the record's updated-at member, such as updated_at (the cursor is the greatest one read)")
		}
	case ChangesCursor:
		ch.Param = n.str("param", d.Paging.CursorParam)
		if ch.Param == "" {
			p.fail(n.ownPath+".param", "required: the query parameter the stored cursor is sent in, such as changed_after")
		}
		def := ""
		if d.Paging.Style == PageCursor {
			def = d.Paging.CursorField.text
		}
		ch.Field = n.path("field", def)
		if !ch.Field.set() || ch.Field.isRoot() || ch.Field.text == "" {
			p.fail(n.ownPath+".field", "required: where the cursor to store is in the body, such as next_cursor")
		}
	}
	return ch
}

func (p *parser) op(dt node, kind, datatype, listPath, method string) *Op {
	n, state := dt.child(kind, "")
	if state == off {
		return nil
	}
	n.only(opKeys[kind], kind, false)
	o := &Op{Method: strings.ToUpper(n.str("method", method)), IfMatch: "none"}
	allowed := map[string][]string{
		"get":    {http.MethodGet, http.MethodPost},
		"insert": {http.MethodPost, http.MethodPut},
		"update": {http.MethodPatch, http.MethodPut, http.MethodPost},
		"delete": {http.MethodDelete, http.MethodPost},
	}[kind]
	if !slices.Contains(allowed, o.Method) {
		_, path, _ := n.get("method")
		p.fail(path, "want one of %s; got %q", strings.Join(allowed, ", "), o.Method)
	}
	def := listPath
	if kind != "insert" {
		def = strings.SplitN(listPath, "?", 2)[0] + "/{id}"
	}
	_, setting, _ := n.get("path")
	o.Path = p.checkPath(setting, n.str("path", def), datatype, kind != "insert")
	if kind != "delete" {
		o.Record = n.path("record", "")
	}
	if kind == "insert" || kind == "update" {
		o.Wrap = n.path("wrap", "")
	}
	switch kind {
	case "insert":
		o.IDFrom = n.enum("id_from", "body", "body", "location")
	case "update":
		o.Full = n.boolean("full", false)
		def := "none"
		if o.Full {
			def = "read"
		}
		o.IfMatch = n.enum("if_match", def, "none", "read", "etag")
	}
	return o
}
