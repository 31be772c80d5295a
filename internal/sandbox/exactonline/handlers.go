package exactonline

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Page sizes, as Exact has them.
const (
	pageSize     = 60
	bulkPageSize = 1000
	syncPageSize = 1000
)

func (s *Server) handleEntity(r *http.Request, t target) *response {
	def := t.def
	switch r.Method {
	case http.MethodGet:
		switch {
		case t.hasKey && t.nav != "":
			return s.listLines(r, t)
		case t.hasKey:
			return s.getByKey(r, t)
		}
		return s.listEntity(r, t, targetEntity)
	case http.MethodPost:
		if t.hasKey {
			return methodNotAllowed(r.Method, def.path+"(…)")
		}
		raw, errResp := readBody(r)
		if errResp != nil {
			return errResp
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		in, err := s.readInput(def, raw, byAPI, true)
		if err != nil {
			return failure(err)
		}
		w := s.newWriter(byAPI)
		rec, err := w.create(def, in)
		if err != nil {
			return failure(err)
		}
		w.done()
		base := s.base(r)
		var b bytes.Buffer
		b.WriteString(`{"d":`)
		s.writeRow(&b, def, rec, rowOpts{base: base, kind: targetEntity, expandLines: true})
		b.WriteString("}")
		resp := jsonResponse(http.StatusCreated, b.Bytes())
		resp.header.Set("Location", s.rowURI(base, def, rec, targetEntity))
		return resp
	case http.MethodPut, http.MethodDelete:
		if !t.hasKey || t.nav != "" {
			return methodNotAllowed(r.Method, def.path)
		}
		id, errResp := s.parseKey(def, t.key)
		if errResp != nil {
			return errResp
		}
		var raw map[string]any
		if r.Method == http.MethodPut {
			if raw, errResp = readBody(r); errResp != nil {
				return errResp
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		w := s.newWriter(byAPI)
		if r.Method == http.MethodDelete {
			if err := w.remove(def, id); err != nil {
				return failure(err)
			}
		} else {
			in, err := s.readInput(def, raw, byAPI, false)
			if err != nil {
				return failure(err)
			}
			if err := w.update(def, id, in); err != nil {
				return failure(err)
			}
		}
		w.done()
		return newResponse(http.StatusNoContent)
	}
	return methodNotAllowed(r.Method, def.path)
}

// failure turns a refusal into Exact's error envelope.
func failure(err error) *response {
	var ae *apiError
	if errors.As(err, &ae) {
		return errorResponse(ae.status, "%s", err.Error())
	}
	return errorResponse(http.StatusBadRequest, "%s", err.Error())
}

// maxBody bounds a request body.
const maxBody = 8 << 20

func readBody(r *http.Request) (map[string]any, *response) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errorResponse(http.StatusBadRequest, "Error reading the request body: %v", err)
	}
	if len(data) > maxBody {
		return nil, errorResponse(http.StatusRequestEntityTooLarge, "The request body is larger than %d bytes", maxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, errorResponse(http.StatusBadRequest, "Error processing request stream. The body must be one JSON object: %v", err)
	}
	if dec.More() {
		return nil, errorResponse(http.StatusBadRequest, "Error processing request stream. There is more than one JSON value in the body.")
	}
	return raw, nil
}

// parseKey reads the key in crm/Accounts(guid'…'), also in the named form
// (ID=guid'…').
func (s *Server) parseKey(def *entityDef, key string) (string, *response) {
	if name, val, ok := strings.Cut(key, "="); ok && strings.TrimSpace(name) == def.key {
		key = val
	}
	lits, err := parseLiterals(key, s.loc)
	if err != nil || len(lits) != 1 || lits[0].t != edmGuid {
		return "", errorResponse(http.StatusBadRequest, "Bad key %q for %s: use (guid'00000000-0000-0000-0000-000000000000')", key, def.path)
	}
	return lits[0].v.(string), nil
}

func (s *Server) getByKey(r *http.Request, t target) *response {
	def := t.def
	id, errResp := s.parseKey(def, t.key)
	if errResp != nil {
		return errResp
	}
	q, err := parseQuery(r.URL.RawQuery, def.field, navs(def), s.loc)
	if err != nil {
		return failure(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.tables[def].rows[id]
	if rec == nil {
		return failure(notFound(def, id))
	}
	var row bytes.Buffer
	s.writeRow(&row, def, rec, rowOpts{base: s.base(r), kind: targetEntity, q: q, expandLines: q.expand[def.linesProp]})
	var b bytes.Buffer
	switch s.opts.KeyedReadShape {
	case "results":
		b.WriteString(`{"d":{"results":[`)
		b.Write(row.Bytes())
		b.WriteString(`]}}`)
	case "array":
		b.WriteString(`{"d":[`)
		b.Write(row.Bytes())
		b.WriteString(`]}`)
	default:
		b.WriteString(`{"d":`)
		b.Write(row.Bytes())
		b.WriteString(`}`)
	}
	return jsonResponse(http.StatusOK, b.Bytes())
}

func navs(def *entityDef) []string {
	if def.linesProp == "" {
		return nil
	}
	return []string{def.linesProp}
}

// listEntity answers a GET of a regular or bulk collection.
func (s *Server) listEntity(r *http.Request, t target, kind targetKind) *response {
	def := t.def
	q, err := parseQuery(r.URL.RawQuery, def.field, navs(def), s.loc)
	if err != nil {
		return failure(err)
	}
	size := pageSize
	path := def.path
	if kind == targetBulk {
		size, path = bulkPageSize, def.bulkPath
		if resp := requireSelect(q, path); resp != nil {
			return resp
		}
	} else if len(def.mandatoryFilter) > 0 && !s.opts.NoMandatoryFilter && !filtersOnAny(q.filter, def.mandatoryFilter) {
		return errorResponse(http.StatusBadRequest,
			"This endpoint has mandatory filtering applied. A GET request for this endpoint must have a $filter parameter with one of the following fields in the url:%s.",
			strings.Join(def.mandatoryFilter, ","))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listRecords(r, def, q, kind, path, size, nil)
}

// listLines answers salesorder/SalesOrders(guid'…')/SalesOrderLines, where
// a __deferred link points.
func (s *Server) listLines(r *http.Request, t target) *response {
	def := t.def
	if def.linesProp == "" || t.nav != def.linesProp {
		return errorResponse(http.StatusNotFound, "Resource not found for the segment '%s'.", t.nav)
	}
	id, errResp := s.parseKey(def, t.key)
	if errResp != nil {
		return errResp
	}
	q, err := parseQuery(r.URL.RawQuery, def.lines.field, nil, s.loc)
	if err != nil {
		return failure(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tables[def].rows[id] == nil {
		return failure(notFound(def, id))
	}
	path := def.path + "(guid'" + id + "')/" + def.linesProp
	return s.listRecords(r, def.lines, q, targetEntity, path, pageSize, func(rec *record) bool {
		return rec.str(def.lines.parentKey) == id
	})
}

// requireSelect is Exact's rule for bulk and sync endpoints: name the
// properties you want, or ask for one row.
func requireSelect(q *query, path string) *response {
	if q.sel == nil && !q.selAll && q.top != 1 {
		return errorResponse(http.StatusBadRequest, "Please add a $select or a $top=1 statement to the query string. (%s)", path)
	}
	return nil
}

func filtersOnAny(f filterNode, names []string) bool {
	if f == nil {
		return false
	}
	used := map[string]bool{}
	filterProps(f, used)
	for _, n := range names {
		if used[n] {
			return true
		}
	}
	return false
}

// listRecords pages through def's records in the query's order; s.mu is
// held. Without $orderby the order is by key and the $skiptoken is the last
// key (guid'…'); with it, the $skiptoken holds the last row's $orderby
// values and key, as WCF Data Services writes it.
func (s *Server) listRecords(r *http.Request, def *entityDef, q *query, kind targetKind, path string, size int, extra func(*record) bool) *response {
	t := s.tables[def]
	get := func(rec *record, name string) any { return s.value(def, rec, name) }
	keys := append(slices.Clone(q.orderby), orderKey{name: def.key})
	var rows []*record
	if len(q.orderby) == 0 {
		rows = t.sortedByKey()
	} else {
		rows = slices.Clone(t.sortedByKey())
		slices.SortStableFunc(rows, func(a, b *record) int {
			return compareRows(keys, func(i int) any { return get(a, keys[i].name) }, func(i int) any { return get(b, keys[i].name) })
		})
	}
	match := func(rec *record) bool {
		if extra != nil && !extra(rec) {
			return false
		}
		if q.filter == nil {
			return true
		}
		b, _ := evalFilter(q.filter, func(n string) any { return get(rec, n) }, s.loc).(bool)
		return b
	}
	start := 0
	if q.hasToken {
		if len(q.skiptoken) != len(keys) {
			return errorResponse(http.StatusBadRequest, "$skiptoken must hold %d value(s) for this query", len(keys))
		}
		start = sort.Search(len(rows), func(i int) bool {
			return compareRows(keys, func(k int) any { return get(rows[i], keys[k].name) }, func(k int) any { return q.skiptoken[k].v }) > 0
		})
	}
	page, more := paginate(rows, start, match, q, size)
	count := -1
	if q.inlineCount {
		count = 0
		for _, rec := range rows {
			if match(rec) {
				count++
			}
		}
	}
	base := s.base(r)
	next := ""
	if more {
		last := page[len(page)-1]
		var tok []string
		for _, k := range keys {
			typ, _ := def.field(k.name)
			tok = append(tok, formatLiteral(typ, get(last, k.name)))
		}
		next = nextLink(base, "/api/v1/"+strconv.Itoa(s.division)+"/"+path, q, strings.Join(tok, ","), len(page))
	}
	if s.emptyPage() {
		return s.emptyPageResponse(base, r)
	}
	opts := rowOpts{base: base, kind: kind, q: q, expandLines: q.expand[def.linesProp]}
	return s.listResponse(page, count, next, func(b *bytes.Buffer, rec *record) { s.writeRow(b, def, rec, opts) })
}

// paginate takes the rows from start on that match, past $skip, up to the
// page size or $top; more says whether a further page exists.
func paginate(rows []*record, start int, match func(*record) bool, q *query, size int) (page []*record, more bool) {
	limit := size
	if q.top >= 0 && q.top < limit {
		limit = q.top
	}
	skip := q.skip
	for i := start; i < len(rows); i++ {
		if !match(rows[i]) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, rows[i])
	}
	if q.top >= 0 && len(page) >= q.top {
		more = false
	}
	if len(page) == 0 {
		more = false
	}
	return page, more
}

// compareRows orders two rows by keys; nil sorts first.
func compareRows(keys []orderKey, a, b func(int) any) int {
	for i, k := range keys {
		c := compareNullable(a(i), b(i))
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func compareNullable(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	c, _ := compareValues(a, b)
	return c
}

// emptyPage draws the sporadic empty page fault; s.mu is held.
func (s *Server) emptyPage() bool { return s.roll(s.faults.EmptyPageRate) }

// emptyPageResponse is a page without rows whose __next repeats the
// request, as Exact sometimes sends.
func (s *Server) emptyPageResponse(base string, r *http.Request) *response {
	next := base + r.URL.Path
	if r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	b, _ := json.Marshal(next)
	return jsonResponse(http.StatusOK, []byte(`{"d":{"results":[],"__next":`+string(b)+`}}`))
}

func (s *Server) listResponse(page []*record, count int, next string, row func(*bytes.Buffer, *record)) *response {
	var b bytes.Buffer
	b.WriteString(`{"d":{"results":[`)
	for i, rec := range page {
		if i > 0 {
			b.WriteByte(',')
		}
		row(&b, rec)
	}
	b.WriteByte(']')
	if count >= 0 {
		b.WriteString(`,"__count":"` + strconv.Itoa(count) + `"`)
	}
	if next != "" {
		nb, _ := json.Marshal(next)
		b.WriteString(`,"__next":`)
		b.Write(nb)
	}
	b.WriteString("}}")
	return jsonResponse(http.StatusOK, b.Bytes())
}

type rowOpts struct {
	base        string
	kind        targetKind // targetEntity, targetBulk or targetSync
	q           *query     // nil: every property
	expandLines bool
}

func (s *Server) rowURI(base string, def *entityDef, rec *record, kind targetKind) string {
	prefix := base + "/api/v1/" + strconv.Itoa(s.division) + "/"
	switch kind {
	case targetSync:
		return prefix + def.syncPath + "(" + strconv.FormatInt(rec.ts, 10) + "L)"
	case targetBulk:
		return prefix + def.bulkPath + "(guid'" + rec.str(def.key) + "')"
	}
	return prefix + def.path + "(guid'" + rec.str(def.key) + "')"
}

// writeRow writes one record as Exact does: __metadata first, then the
// properties in the entity's order, then the lines (inline or deferred).
func (s *Server) writeRow(b *bytes.Buffer, def *entityDef, rec *record, o rowOpts) {
	uri := s.rowURI(o.base, def, rec, o.kind)
	typ := def.modelType
	fields := def.fields
	if o.kind == targetSync {
		typ, fields = def.syncTypeName, def.syncFields
	}
	b.WriteString(`{"__metadata":{"uri":`)
	writeJSONString(b, uri)
	b.WriteString(`,"type":`)
	writeJSONString(b, typ)
	b.WriteString("}")
	for _, f := range fields {
		if o.q != nil && !o.q.selects(f.name) {
			continue
		}
		b.WriteString(`,"` + f.name + `":`)
		v := s.value(def, rec, f.name)
		if f.name == "Timestamp" && s.opts.TimestampAsString {
			b.WriteString(`"` + strconv.FormatInt(rec.ts, 10) + `"`)
			continue
		}
		b.Write(s.jsonValue(f.typ, v))
	}
	if def.lines != nil && o.kind != targetSync && (o.q == nil || o.q.selects(def.linesProp)) {
		b.WriteString(`,"` + def.linesProp + `":`)
		if o.expandLines {
			b.WriteString(`{"results":[`)
			for i, l := range s.tables[def.lines].linesOf(rec.str(def.key)) {
				if i > 0 {
					b.WriteByte(',')
				}
				s.writeRow(b, def.lines, l, rowOpts{base: o.base, kind: targetEntity})
			}
			b.WriteString("]}")
		} else {
			b.WriteString(`{"__deferred":{"uri":`)
			writeJSONString(b, uri+"/"+def.linesProp)
			b.WriteString("}}")
		}
	}
	b.WriteString("}")
}

func writeJSONString(b *bytes.Buffer, s string) {
	out, _ := json.Marshal(s)
	b.Write(out)
}

func (s *Server) handleBulk(r *http.Request, t target) *response {
	if t.hasKey {
		return errorResponse(http.StatusBadRequest, "%s lists records; read one record through %s(guid'…')", t.def.bulkPath, t.def.path)
	}
	return s.listEntity(r, t, targetBulk)
}

// syncOptions are the only options sync endpoints take.
var syncOptions = map[string]bool{"$select": true, "$filter": true, "$top": true, "$skiptoken": true, "$format": true}

func checkSyncQuery(q *query, path string, allowed map[string]bool) *response {
	for name := range q.given {
		if !syncOptions[name] {
			return errorResponse(http.StatusBadRequest, "%s is not supported on %s: sync endpoints take $select, $filter on Timestamp, $top and $skiptoken", name, path)
		}
	}
	if resp := requireSelect(q, path); resp != nil {
		return resp
	}
	if q.filter != nil {
		used := map[string]bool{}
		filterProps(q.filter, used)
		for n := range used {
			if !allowed[n] {
				return errorResponse(http.StatusBadRequest, "$filter on %s may only use Timestamp, not %s", path, n)
			}
		}
	}
	return nil
}

// handleSync answers sync/…: every record once, ordered by its row
// version, 1000 a page, filtered on Timestamp only.
func (s *Server) handleSync(r *http.Request, t target) *response {
	def := t.def
	if t.hasKey {
		return errorResponse(http.StatusBadRequest, "%s lists records; it cannot be read by key", def.syncPath)
	}
	q, err := parseQuery(r.URL.RawQuery, def.syncField, nil, s.loc)
	if err != nil {
		return failure(err)
	}
	if resp := checkSyncQuery(q, def.syncPath, map[string]bool{"Timestamp": true}); resp != nil {
		return resp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.tables[def].sortedByTS()
	return s.listByTimestamp(r, q, rows, def.syncPath, func(rec *record, name string) any { return s.value(def, rec, name) },
		func(b *bytes.Buffer, rec *record, o rowOpts) { s.writeRow(b, def, rec, o) })
}

// listByTimestamp pages rows ordered by row version; s.mu is held.
func (s *Server) listByTimestamp(r *http.Request, q *query, rows []*record, path string, get func(*record, string) any, write func(*bytes.Buffer, *record, rowOpts)) *response {
	floor := int64(-1 << 63)
	if f, ok := timestampFloor(q.filter); ok {
		floor = f
	}
	if q.hasToken {
		if len(q.skiptoken) != 1 {
			return errorResponse(http.StatusBadRequest, "$skiptoken must be one Timestamp, like 123L")
		}
		n, err := toInt(q.skiptoken[0].v)
		if err != nil {
			return errorResponse(http.StatusBadRequest, "$skiptoken must be one Timestamp, like 123L")
		}
		floor = max(floor, n)
	}
	start := sort.Search(len(rows), func(i int) bool { return rows[i].ts > floor })
	match := func(rec *record) bool {
		if q.filter == nil {
			return true
		}
		b, _ := evalFilter(q.filter, func(n string) any { return get(rec, n) }, s.loc).(bool)
		return b
	}
	page, more := paginate(rows, start, match, q, syncPageSize)
	base := s.base(r)
	next := ""
	if more {
		next = nextLink(base, "/api/v1/"+strconv.Itoa(s.division)+"/"+path, q, strconv.FormatInt(page[len(page)-1].ts, 10)+"L", len(page))
	}
	if s.emptyPage() {
		return s.emptyPageResponse(base, r)
	}
	opts := rowOpts{base: base, kind: targetSync, q: q}
	return s.listResponse(page, -1, next, func(b *bytes.Buffer, rec *record) { write(b, rec, opts) })
}

// timestampFloor finds, in a filter that must hold Timestamp gt/ge N
// (possibly among other conditions joined by and), the row version below
// which no row can match, so that a sync read starts where it should
// instead of scanning every row.
func timestampFloor(f filterNode) (int64, bool) {
	switch n := f.(type) {
	case binNode:
		if n.op == "and" {
			a, okA := timestampFloor(n.l)
			b, okB := timestampFloor(n.r)
			switch {
			case okA && okB:
				return max(a, b), true
			case okA:
				return a, true
			}
			return b, okB
		}
		p, okP := n.l.(propNode)
		l, okL := n.r.(litNode)
		if !okP || !okL || p.name != "Timestamp" || l.v == nil {
			return 0, false
		}
		v, err := toInt(l.v)
		if err != nil {
			if fl, ok := l.v.(float64); ok {
				v = int64(fl)
			} else {
				return 0, false
			}
		}
		switch n.op {
		case "gt":
			return v, true
		case "ge", "eq":
			return v - 1, true
		}
	}
	return 0, false
}

// handleDeleted answers sync/Deleted: the deletions of the last two
// months, ordered by row version.
func (s *Server) handleDeleted(r *http.Request, t target) *response {
	if t.hasKey {
		return errorResponse(http.StatusBadRequest, "sync/Deleted lists deletions; it cannot be read by key")
	}
	props := func(n string) (edmType, bool) {
		if f, ok := deletedByName[n]; ok {
			return f.typ, true
		}
		return 0, false
	}
	q, err := parseQuery(r.URL.RawQuery, props, nil, s.loc)
	if err != nil {
		return failure(err)
	}
	if resp := checkSyncQuery(q, "sync/Deleted", map[string]bool{"Timestamp": true, "EntityType": true}); resp != nil {
		return resp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := s.now().Add(-deletedRetention)
	for len(s.deleted) > 0 && s.deleted[0].DeletedDate.Before(cut) {
		s.deleted = s.deleted[1:]
		s.dirty = true
	}
	rows := make([]*record, len(s.deleted))
	for i, d := range s.deleted {
		rows[i] = &record{f: map[string]any{"i": i}, ts: d.Timestamp}
	}
	tomb := func(rec *record) tombstone { return s.deleted[rec.f["i"].(int)] }
	return s.listByTimestamp(r, q, rows, "sync/Deleted",
		func(rec *record, name string) any { return tomb(rec).get(name, s.division) },
		func(b *bytes.Buffer, rec *record, o rowOpts) {
			d := tomb(rec)
			b.WriteString(`{"__metadata":{"uri":`)
			writeJSONString(b, o.base+"/api/v1/"+strconv.Itoa(s.division)+"/sync/Deleted("+strconv.FormatInt(d.Timestamp, 10)+"L)")
			b.WriteString(`,"type":"Exact.Web.Api.Models.Sync.Deleted"}`)
			for _, f := range deletedFields {
				if o.q != nil && !o.q.selects(f.name) {
					continue
				}
				b.WriteString(`,"` + f.name + `":`)
				if f.name == "Timestamp" && s.opts.TimestampAsString {
					b.WriteString(`"` + strconv.FormatInt(d.Timestamp, 10) + `"`)
					continue
				}
				b.Write(s.jsonValue(f.typ, d.get(f.name, s.division)))
			}
			b.WriteString("}")
		})
}

var meFields = []fieldDef{
	{"UserID", edmGuid, readOnly},
	{"UserName", edmString, readOnly},
	{"FullName", edmString, readOnly},
	{"Email", edmString, readOnly},
	{"CurrentDivision", edmInt32, readOnly},
	{"DivisionCustomer", edmGuid, readOnly},
	{"LanguageCode", edmString, readOnly},
	{"Language", edmString, readOnly},
	{"ThumbnailPicture", edmString, readOnly},
	{"ThumbnailPictureFormat", edmString, readOnly},
}

func (s *Server) handleMe(r *http.Request) *response {
	byName := indexFields(meFields)
	q, err := parseQuery(r.URL.RawQuery, func(n string) (edmType, bool) {
		if f, ok := byName[n]; ok {
			return f.typ, true
		}
		return 0, false
	}, nil, s.loc)
	if err != nil {
		return failure(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	vals := map[string]any{
		"UserID": s.user.ID, "UserName": s.user.Email, "FullName": s.user.FullName, "Email": s.user.Email,
		"CurrentDivision": int64(s.division), "LanguageCode": "nl-NL", "Language": "NL",
	}
	var b bytes.Buffer
	b.WriteString(`{"d":{"results":[{"__metadata":{"uri":`)
	writeJSONString(&b, s.base(r)+"/api/v1/current/Me(guid'"+s.user.ID+"')")
	b.WriteString(`,"type":"Exact.Web.Api.System.Me"}`)
	for _, f := range meFields {
		if !q.selects(f.name) {
			continue
		}
		b.WriteString(`,"` + f.name + `":`)
		b.Write(s.jsonValue(f.typ, vals[f.name]))
	}
	b.WriteString("}]}}")
	return jsonResponse(http.StatusOK, b.Bytes())
}
