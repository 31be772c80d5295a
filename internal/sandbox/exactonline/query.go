package exactonline

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// query holds the OData options of a GET.
type query struct {
	filter      filterNode
	sel         map[string]bool // nil: no $select (all properties)
	selAll      bool            // $select=*
	top         int             // -1: none
	skip        int
	orderby     []orderKey
	expand      map[string]bool
	inlineCount bool
	skiptoken   []litNode
	hasToken    bool
	given       map[string]bool // the $options present
	raw         string          // the raw query string, for __next
}

type orderKey struct {
	name string
	desc bool
}

var knownOptions = map[string]bool{
	"$filter": true, "$select": true, "$top": true, "$skip": true, "$orderby": true,
	"$expand": true, "$inlinecount": true, "$skiptoken": true, "$format": true,
}

// parseQuery reads the OData options of rawQuery; props types the
// properties that $filter, $select and $orderby may name, navs the
// navigation properties $select and $expand may name.
func parseQuery(rawQuery string, props func(string) (edmType, bool), navs []string, loc *time.Location) (*query, error) {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, badRequest("The query string is malformed: %v", err)
	}
	q := &query{top: -1, given: map[string]bool{}, raw: rawQuery}
	isNav := func(n string) bool {
		for _, v := range navs {
			if v == n {
				return true
			}
		}
		return false
	}
	for name, vs := range vals {
		if !strings.HasPrefix(name, "$") {
			continue // not an OData option; Exact ignores such parameters
		}
		if !knownOptions[name] {
			return nil, badRequest("The query parameter '%s' is not supported.", name)
		}
		q.given[name] = true
		v := vs[0]
		switch name {
		case "$filter":
			f, err := parseFilter(v, props, loc)
			if err != nil {
				return nil, badRequest("$filter: %v", err)
			}
			q.filter = f
		case "$select":
			q.sel = map[string]bool{}
			for _, n := range strings.Split(v, ",") {
				n = strings.TrimSpace(n)
				switch {
				case n == "*":
					q.selAll = true
				case n == "":
				case isNav(n):
					q.sel[n] = true
				default:
					if _, ok := props(n); !ok {
						return nil, badRequest("$select: no property '%s' exists in type", n)
					}
					q.sel[n] = true
				}
			}
			if q.selAll {
				q.sel = nil
			}
		case "$top", "$skip":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				return nil, badRequest("%s must be a whole number of at least 0, not %q", name, v)
			}
			if name == "$top" {
				q.top = n
			} else {
				q.skip = n
			}
		case "$orderby":
			for _, part := range strings.Split(v, ",") {
				fields := strings.Fields(part)
				if len(fields) == 0 || len(fields) > 2 {
					return nil, badRequest("$orderby: %q is not 'Property [asc|desc]'", strings.TrimSpace(part))
				}
				k := orderKey{name: fields[0]}
				if _, ok := props(k.name); !ok {
					return nil, badRequest("$orderby: no property '%s' exists in type", k.name)
				}
				if len(fields) == 2 {
					switch strings.ToLower(fields[1]) {
					case "asc":
					case "desc":
						k.desc = true
					default:
						return nil, badRequest("$orderby: %q is not asc or desc", fields[1])
					}
				}
				q.orderby = append(q.orderby, k)
			}
		case "$expand":
			q.expand = map[string]bool{}
			for _, n := range strings.Split(v, ",") {
				n = strings.TrimSpace(n)
				if n == "" {
					continue
				}
				if !isNav(n) {
					return nil, badRequest("$expand: '%s' is not a navigation property of this type", n)
				}
				q.expand[n] = true
			}
		case "$inlinecount":
			switch v {
			case "allpages":
				q.inlineCount = true
			case "none":
			default:
				return nil, badRequest("$inlinecount must be allpages or none, not %q", v)
			}
		case "$skiptoken":
			lits, err := parseLiterals(v, loc)
			if err != nil {
				return nil, badRequest("$skiptoken %q is not valid: %v", v, err)
			}
			q.skiptoken, q.hasToken = lits, true
		case "$format":
			if v != "json" {
				return nil, badRequest("$format %q is not supported: the sandbox speaks JSON only", v)
			}
		}
	}
	return q, nil
}

// selects says whether a row shows property name.
func (q *query) selects(name string) bool { return q.sel == nil || q.sel[name] }

// nextLink is the __next of a page: the request's query with $skiptoken set
// to token, $skip dropped (the token already passed the skipped rows) and
// $top lowered by the rows already returned. Other parameters keep their
// original encoding.
func nextLink(base, path string, q *query, token string, returned int) string {
	var parts []string
	for _, p := range strings.Split(q.raw, "&") {
		if p == "" {
			continue
		}
		name, _, _ := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if name == "$skiptoken" || name == "$skip" || name == "$top" {
			continue
		}
		parts = append(parts, p)
	}
	if q.top >= 0 {
		parts = append(parts, "$top="+strconv.Itoa(q.top-returned))
	}
	parts = append(parts, "$skiptoken="+escapeToken(token))
	return base + path + "?" + strings.Join(parts, "&")
}

// escapeToken percent-encodes what cannot stand in a query value, leaving
// quotes, commas and the like readable: $skiptoken=guid'…' as Exact writes it.
func escapeToken(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~'(),:!*", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
		}
	}
	return b.String()
}
