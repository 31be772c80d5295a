package webcrm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Paging limits of the list and query endpoints.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
	MaxPage         = 1_000_000
)

// maxBody bounds request bodies.
const maxBody = 16 << 20

// route is what the path and method of a request resolve to.
type route struct {
	label  string // method and path pattern, for the call counters
	auth   bool   // needs a bearer token (and counts against the rate limit)
	handle http.HandlerFunc
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt := s.route(r)
	s.count(rt.label)
	sw := s.switches()
	f := sw.faults
	if f.Latency > 0 {
		s.sleep(r.Context(), f.Latency)
	}
	if s.dice.hit(f.DropRate) {
		s.log.Debug("dropping the connection (fault)", "call", rt.label)
		drop(w)
		return
	}
	if s.dice.hit(f.ErrorRate) {
		s.log.Debug("answering with a server error (fault)", "call", rt.label)
		s.injectedError(w)
		return
	}
	sr := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.log.Debug("call", "call", rt.label, "path", r.URL.Path, "status", sr.status, "took", time.Since(start))
	}()
	if rt.auth {
		code, ok := s.authorize(r)
		if !ok {
			unauthorized(sr)
			return
		}
		if sw.rateLimit > 0 {
			if ok, wait := s.limiter.allow(code, s.clock(), sw.rateLimit); !ok {
				throttled(sr, wait, sw.rateLimit)
				return
			}
		}
	}
	rt.handle(sr, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// route resolves a request. Path segments match without regard to case, as
// on the service.
func (s *Server) route(r *http.Request) route {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	m := r.Method
	is := func(i int, lit string) bool { return len(segs) > i && strings.EqualFold(segs[i], lit) }
	methods := func(pattern string, auth bool, handlers map[string]http.HandlerFunc) route {
		h, ok := handlers[m]
		if !ok {
			allow := slices.Sorted(func(yield func(string) bool) {
				for k := range handlers {
					if !yield(k) {
						return
					}
				}
			})
			return route{label: m + " " + pattern, handle: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				writeError(w, &apiError{status: http.StatusMethodNotAllowed, typ: "MethodNotAllowedException",
					message: fmt.Sprintf("The requested resource does not support http method '%s'.", m)})
			}}
		}
		return route{label: m + " " + pattern, auth: auth, handle: h}
	}
	switch {
	case len(segs) == 2 && is(0, "Auth") && is(1, "ApiLogin"):
		return methods("/Auth/ApiLogin", false, map[string]http.HandlerFunc{"POST": s.handleLogin})
	case len(segs) == 2 && is(0, "Auth") && is(1, "ApiRefresh"):
		return methods("/Auth/ApiRefresh", false, map[string]http.HandlerFunc{"POST": s.handleRefresh})
	case len(segs) == 1 && is(0, "Queries"):
		return methods("/Queries", true, map[string]http.HandlerFunc{"GET": s.handleQuery})
	case len(segs) == 2 && is(0, "FieldsMetadata"):
		types := segs[1]
		return methods("/FieldsMetadata/{entityTypes}", true, map[string]http.HandlerFunc{
			"GET": func(w http.ResponseWriter, r *http.Request) { s.handleFieldsMetadata(w, types) }})
	}
	e := entityByPath(segs[0])
	if e == nil || len(segs) > 3 {
		return route{label: m + " (unknown path)", handle: func(w http.ResponseWriter, r *http.Request) {
			writeError(w, &apiError{status: http.StatusNotFound, typ: "NotFoundException",
				message: fmt.Sprintf("No resource matches the request URI '%s'.", r.URL.Path)})
		}}
	}
	base := "/" + e.name
	switch {
	case len(segs) == 1:
		return methods(base, true, map[string]http.HandlerFunc{
			"GET":   func(w http.ResponseWriter, r *http.Request) { s.handleList(w, r, e) },
			"POST":  func(w http.ResponseWriter, r *http.Request) { s.handleCreate(w, r, e) },
			"PATCH": func(w http.ResponseWriter, r *http.Request) { s.handleUpsert(w, r, e) },
		})
	case is(1, "Hooks") && len(segs) == 2:
		return methods(base+"/Hooks", true, map[string]http.HandlerFunc{
			"GET":  func(w http.ResponseWriter, r *http.Request) { s.handleListHooks(w, e) },
			"POST": func(w http.ResponseWriter, r *http.Request) { s.handleCreateHook(w, r, e) },
		})
	case is(1, "Hooks"):
		idText := segs[2]
		withID := func(h func(http.ResponseWriter, *http.Request, int64)) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				id, err := strconv.ParseInt(idText, 10, 64)
				if err != nil {
					writeError(w, badRequest("The value '%s' is not a valid hook id.", idText))
					return
				}
				h(w, r, id)
			}
		}
		return methods(base+"/Hooks/{id}", true, map[string]http.HandlerFunc{
			"GET":    withID(func(w http.ResponseWriter, r *http.Request, id int64) { s.handleGetHook(w, e, id) }),
			"PUT":    withID(func(w http.ResponseWriter, r *http.Request, id int64) { s.handlePutHook(w, r, e, id) }),
			"DELETE": withID(func(w http.ResponseWriter, r *http.Request, id int64) { s.handleDeleteHook(w, e, id) }),
		})
	case e.name == Users && is(1, "AllActive") && len(segs) == 2:
		return methods(base+"/AllActive", true, map[string]http.HandlerFunc{"GET": s.handleAllActive})
	}
	idText := segs[1]
	withID := func(h func(http.ResponseWriter, *http.Request, int)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, err := strconv.ParseInt(idText, 10, 32)
			if err != nil {
				writeError(w, badRequest("The value '%s' is not a valid %s.", idText, e.idField()))
				return
			}
			h(w, r, int(id))
		}
	}
	if len(segs) == 3 {
		if e.name == Opportunities && is(2, "QuotationLines") {
			return methods(base+"/{id}/QuotationLines", true, map[string]http.HandlerFunc{
				"GET": withID(s.handleOpportunityLines)})
		}
		return route{label: m + " (unknown path)", handle: func(w http.ResponseWriter, r *http.Request) {
			writeError(w, &apiError{status: http.StatusNotFound, typ: "NotFoundException",
				message: fmt.Sprintf("No resource matches the request URI '%s'.", r.URL.Path)})
		}}
	}
	handlers := map[string]http.HandlerFunc{
		"GET": withID(func(w http.ResponseWriter, r *http.Request, id int) { s.handleGet(w, e, id) }),
		"PUT": withID(func(w http.ResponseWriter, r *http.Request, id int) { s.handlePut(w, r, e, id) }),
	}
	if e.deletable {
		handlers["DELETE"] = withID(func(w http.ResponseWriter, r *http.Request, id int) { s.handleDelete(w, e, id) })
	}
	return methods(base+"/{id}", true, handlers)
}

// --- answers ---

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, &apiError{status: http.StatusInternalServerError, typ: "InternalServerErrorException", message: err.Error()})
		return
	}
	writeRaw(w, status, b)
}

// errorBody is the service's error shape.
type errorBody struct {
	Message string
	Type    string
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, typ: "InternalServerErrorException", message: err.Error()}
	}
	writeJSON(w, ae.status, errorBody{Message: ae.message, Type: ae.typ})
}

// noContent answers 200 without a body, as PUT does on the service.
func noContent(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

// --- request reading ---

// param reads a query parameter; names match without regard to case.
func param(r *http.Request, name string) (string, bool) {
	for k, vs := range r.URL.Query() {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0], true
		}
	}
	return "", false
}

// paging reads Page and Size; unknown parameters are ignored.
func paging(r *http.Request) (page, size int, err error) {
	page, size = 1, DefaultPageSize
	for _, p := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"Page", &page, 1, MaxPage}, {"Size", &size, 1, MaxPageSize}} {
		text, ok := param(r, p.name)
		if !ok {
			continue
		}
		n, perr := strconv.Atoi(strings.TrimSpace(text))
		if perr != nil {
			return 0, 0, badRequest("The value '%s' is not valid for %s: it must be a whole number.", text, p.name)
		}
		if n < p.min || n > p.max {
			return 0, 0, badRequest("The field %s must be between %d and %d.", p.name, p.min, p.max)
		}
		*p.dst = n
	}
	return page, size, nil
}

// window returns the part of n items on a page.
func window(n, page, size int) (lo, hi int) {
	lo = (page - 1) * size
	if lo > n {
		lo = n
	}
	return lo, min(lo+size, n)
}

// readJSON reads a request body as JSON, numbers kept exact.
func readJSON(r *http.Request) (any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, badRequest("The request body could not be read: %v", err)
	}
	if len(body) > maxBody {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, typ: "BadRequestException", message: "The request body is too large."}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("The request body is empty.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badRequest("The request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, badRequest("The request body holds more than one JSON value.")
	}
	return v, nil
}

func readObject(r *http.Request, e *entity) (map[string]any, error) {
	v, err := readJSON(r)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest("The request body must be one %s as a JSON object.", e.table)
	}
	return obj, nil
}

// --- entities ---

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, e *entity) {
	page, size, err := paging(r)
	if err != nil {
		writeError(w, err)
		return
	}
	loc := s.Location()
	s.mu.Lock()
	rows := s.tables[e.name].all()
	lo, hi := window(len(rows), page, size)
	body := appendRows(nil, e, rows[lo:hi], loc)
	s.mu.Unlock()
	writeRaw(w, http.StatusOK, body)
}

func (s *Server) handleGet(w http.ResponseWriter, e *entity, id int) {
	loc := s.Location()
	s.mu.Lock()
	r := s.tables[e.name].get(id)
	var body []byte
	if r != nil {
		body = appendRow(nil, e, r, loc)
	}
	s.mu.Unlock()
	if r == nil {
		writeError(w, notFound(e, id))
		return
	}
	writeRaw(w, http.StatusOK, body)
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, e *entity) {
	obj, err := readObject(r, e)
	if err != nil {
		writeError(w, err)
		return
	}
	sw := s.switches()
	vals, id, err := bind(e, obj, sw.loc)
	if err != nil {
		writeError(w, err)
		return
	}
	if id != 0 {
		writeError(w, badRequest("To create a %s, send %s 0 or leave it out; to change %s %d, use PUT /%s/%d.",
			strings.ToLower(e.table), e.idField(), strings.ToLower(e.table), id, e.name, id))
		return
	}
	s.mu.Lock()
	if s.createFailsLocked(sw.faults) {
		s.mu.Unlock()
		writeError(w, errCreateFailed)
		return
	}
	row, err := s.insertLocked(s.tables[e.name], vals, 0, s.apiUser)
	if err == nil {
		s.fireLocked([]event{{kind: "Create", e: e, id: row.id}})
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	if sw.emptyPostBody && (e.name == Organisations || e.name == Users) {
		noContent(w, http.StatusOK)
		return
	}
	writeRaw(w, http.StatusOK, strconv.AppendInt(nil, int64(row.id), 10))
}

func (s *Server) handlePut(w http.ResponseWriter, r *http.Request, e *entity, id int) {
	obj, err := readObject(r, e)
	if err != nil {
		writeError(w, err)
		return
	}
	vals, bodyID, err := bind(e, obj, s.Location())
	if err != nil {
		writeError(w, err)
		return
	}
	if bodyID != 0 && bodyID != id {
		writeError(w, badRequest("The body's %s %d differs from the id %d in the path.", e.idField(), bodyID, id))
		return
	}
	s.mu.Lock()
	t := s.tables[e.name]
	old := t.get(id)
	if old == nil {
		err = notFound(e, id)
	} else if err = s.replaceLocked(t, old, vals, s.apiUser); err == nil {
		s.fireLocked([]event{{kind: "Update", e: e, id: id}})
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	noContent(w, http.StatusOK)
}

// handleUpsert is the bulk PATCH: an array of full objects; id 0 inserts,
// another id replaces that record. Every item gets a text in the answer, at
// its position: the record's id, or why it failed. Items fail alone.
func (s *Server) handleUpsert(w http.ResponseWriter, r *http.Request, e *entity) {
	v, err := readJSON(r)
	if err != nil {
		writeError(w, err)
		return
	}
	items, ok := v.([]any)
	if !ok {
		writeError(w, badRequest("The request body must be a JSON array of %s objects.", e.table))
		return
	}
	sw := s.switches()
	results := make([]string, len(items))
	var events []event
	s.mu.Lock()
	t := s.tables[e.name]
	for i, item := range items {
		results[i] = func() string {
			obj, ok := item.(map[string]any)
			if !ok {
				return fmt.Sprintf("Item %d is not a JSON object.", i+1)
			}
			vals, id, err := bind(e, obj, sw.loc)
			if err != nil {
				return err.Error()
			}
			if id == 0 {
				if s.createFailsLocked(sw.faults) {
					return errCreateFailed.message
				}
				row, err := s.insertLocked(t, vals, 0, s.apiUser)
				if err != nil {
					return err.Error()
				}
				events = append(events, event{kind: "Create", e: e, id: row.id})
				return strconv.Itoa(row.id)
			}
			old := t.get(id)
			if old == nil {
				return notFound(e, id).Error()
			}
			if err := s.replaceLocked(t, old, vals, s.apiUser); err != nil {
				return err.Error()
			}
			events = append(events, event{kind: "Update", e: e, id: id})
			return strconv.Itoa(id)
		}()
	}
	s.fireLocked(events)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, results)
}

func (s *Server) handleDelete(w http.ResponseWriter, e *entity, id int) {
	s.mu.Lock()
	t := s.tables[e.name]
	found := t.get(id) != nil
	if found {
		s.fireLocked(s.removeLocked(t, id))
	}
	s.mu.Unlock()
	if !found {
		writeError(w, notFound(e, id))
		return
	}
	noContent(w, http.StatusNoContent)
}

// handleOpportunityLines is GET /Opportunities/{id}/QuotationLines: the
// lines of one opportunity, by sort order, then id.
func (s *Server) handleOpportunityLines(w http.ResponseWriter, r *http.Request, id int) {
	page, size, err := paging(r)
	if err != nil {
		writeError(w, err)
		return
	}
	opp := lookupEntity(Opportunities)
	lines := lookupEntity(QuotationLines)
	loc := s.Location()
	s.mu.Lock()
	if s.tables[opp.name].get(id) == nil {
		s.mu.Unlock()
		writeError(w, notFound(opp, id))
		return
	}
	var rows []*row
	for _, r := range s.tables[lines.name].all() {
		if r.num("QuotationLineOpportunityId") == int64(id) {
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b *row) int {
		return int(a.num("QuotationLineSortOrder") - b.num("QuotationLineSortOrder"))
	})
	lo, hi := window(len(rows), page, size)
	body := appendRows(nil, lines, rows[lo:hi], loc)
	s.mu.Unlock()
	writeRaw(w, http.StatusOK, body)
}

// handleAllActive is GET /Users/AllActive: the users not deactivated.
func (s *Server) handleAllActive(w http.ResponseWriter, r *http.Request) {
	page, size, err := paging(r)
	if err != nil {
		writeError(w, err)
		return
	}
	users := lookupEntity(Users)
	loc := s.Location()
	s.mu.Lock()
	var rows []*row
	for _, r := range s.tables[users.name].all() {
		if !r.inactive {
			rows = append(rows, r)
		}
	}
	lo, hi := window(len(rows), page, size)
	body := appendRows(nil, users, rows[lo:hi], loc)
	s.mu.Unlock()
	writeRaw(w, http.StatusOK, body)
}

// --- queries ---

func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	page, size, err := paging(r)
	if err != nil {
		writeError(w, err)
		return
	}
	script, _ := param(r, "script")
	loc := s.Location()
	q, err := parseQuery(script)
	if err != nil {
		writeError(w, badRequest("%v", err))
		return
	}
	p, err := compile(q, loc)
	if err != nil {
		writeError(w, badRequest("%v", err))
		return
	}
	s.mu.Lock()
	rows, err := s.runLocked(p)
	var body []byte
	if err == nil {
		lo, hi := window(len(rows), page, size)
		body = p.appendResult(nil, rows[lo:hi], loc)
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, badRequest("%v", err))
		return
	}
	writeRaw(w, http.StatusOK, body)
}

// --- custom field descriptions ---

// fieldMetadata describes one custom field. The service's shape is not
// documented; this is the sandbox's.
type fieldMetadata struct {
	EntityType string
	FieldName  string
	Label      string
	Type       string
	IsInUse    bool
}

// handleFieldsMetadata is GET /FieldsMetadata/{entityTypes}: the custom
// fields of the comma-separated entity types (singular or plural names).
func (s *Server) handleFieldsMetadata(w http.ResponseWriter, types string) {
	var es []*entity
	for _, name := range strings.Split(types, ",") {
		e := lookupEntity(strings.TrimSpace(name))
		if e == nil {
			writeError(w, badRequest("Unknown entity type '%s'; the types are %s.", strings.TrimSpace(name), tableNames()))
			return
		}
		if !slices.Contains(es, e) {
			es = append(es, e)
		}
	}
	out := []fieldMetadata{}
	s.mu.Lock()
	for _, e := range es {
		for _, f := range e.fields {
			if !f.custom {
				continue
			}
			label := s.labels[f.name]
			out = append(out, fieldMetadata{EntityType: e.table, FieldName: f.name, Label: label, Type: "Text", IsInUse: label != ""})
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// --- hooks ---

func (s *Server) handleListHooks(w http.ResponseWriter, e *entity) {
	loc := s.Location()
	out := []hookJSON{}
	s.mu.Lock()
	for _, id := range s.hookIDs {
		if h := s.hooks[id]; h.entity == e.name {
			out = append(out, h.json(loc))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) readHook(r *http.Request, e *entity) (*hook, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, badRequest("The request body could not be read: %v", err)
	}
	return bindHook(e, body)
}

func (s *Server) handleCreateHook(w http.ResponseWriter, r *http.Request, e *entity) {
	h, err := s.readHook(r, e)
	if err != nil {
		writeError(w, err)
		return
	}
	now := s.now()
	h.createdAt, h.updatedAt = now, now
	h.createdBy, h.updatedBy = s.apiUser.name, s.apiUser.name
	s.mu.Lock()
	h.id = s.nextHookID
	s.nextHookID++
	s.hooks[h.id] = h
	s.hookIDs = append(s.hookIDs, h.id)
	s.dirty = true
	s.mu.Unlock()
	writeRaw(w, http.StatusOK, strconv.AppendInt(nil, h.id, 10))
}

func (s *Server) hookLocked(e *entity, id int64) (*hook, error) {
	h := s.hooks[id]
	if h == nil || h.entity != e.name {
		return nil, &apiError{status: http.StatusNotFound, typ: "NotFoundException", message: fmt.Sprintf("%s hook with id %d was not found.", e.table, id)}
	}
	return h, nil
}

func (s *Server) handleGetHook(w http.ResponseWriter, e *entity, id int64) {
	loc := s.Location()
	s.mu.Lock()
	h, err := s.hookLocked(e, id)
	var out hookJSON
	if err == nil {
		out = h.json(loc)
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePutHook(w http.ResponseWriter, r *http.Request, e *entity, id int64) {
	nh, err := s.readHook(r, e)
	if err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	h, err := s.hookLocked(e, id)
	if err == nil {
		h.targetURL, h.enabled, h.eventType, h.filter = nh.targetURL, nh.enabled, nh.eventType, nh.filter
		h.updatedAt, h.updatedBy = s.now(), s.apiUser.name
		s.dirty = true
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	noContent(w, http.StatusOK)
}

func (s *Server) handleDeleteHook(w http.ResponseWriter, e *entity, id int64) {
	s.mu.Lock()
	_, err := s.hookLocked(e, id)
	if err == nil {
		delete(s.hooks, id)
		s.hookIDs = slices.DeleteFunc(s.hookIDs, func(x int64) bool { return x == id })
		s.dirty = true
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	noContent(w, http.StatusNoContent)
}
