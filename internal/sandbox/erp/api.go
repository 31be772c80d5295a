package erp

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// answers are the ERP's bodies for what the gate refuses.
var answers = custom.Answers{
	Unauthorized: func(w http.ResponseWriter) {
		writeError(w, &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: "missing or wrong API key: send it in the X-API-Key header"})
	},
	TooManyRequests: func(w http.ResponseWriter, limit, secs int) {
		writeError(w, &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
			message: fmt.Sprintf("more than %d calls a minute; retry after %d seconds", limit, secs)})
	},
	ServerError: func(w http.ResponseWriter, status int) {
		writeError(w, &apiError{status: status, code: "server_error", message: "internal error (sandbox fault); try again"})
	},
}

// notFound answers a path outside the API.
func notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, &apiError{status: http.StatusNotFound, code: "not_found", message: "the API is under /erp/ (customers, contacts, products, orders)"})
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, name, id string, hasID bool) {
	c := s.colls[name]
	if c == nil || strings.Contains(id, "/") || hasID && id == "" {
		writeError(w, &apiError{status: http.StatusNotFound, code: "not_found",
			message: fmt.Sprintf("no resource %q; the ERP has /erp/customers, /erp/contacts, /erp/products and /erp/orders", strings.TrimPrefix(r.URL.Path, "/erp/"))})
		return
	}
	if !hasID {
		switch r.Method {
		case http.MethodGet:
			s.list(w, r, c)
		case http.MethodPost:
			obj, ok := readObject(w, r)
			if !ok {
				return
			}
			s.mu.Lock()
			rec, aerr := c.write(s, "", obj, true)
			s.mu.Unlock()
			if aerr == nil {
				w.Header().Set("Location", custom.BaseURL(s.BaseURL(), r)+"/erp/"+name+"/"+*idOf(rec))
			}
			answer(w, http.StatusCreated, rec, aerr)
		default:
			methodNotAllowed(w, r, "GET, POST")
		}
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		rec, aerr := c.get(id)
		s.mu.Unlock()
		answer(w, http.StatusOK, rec, aerr)
	case http.MethodPut:
		obj, ok := readObject(w, r)
		if !ok {
			return
		}
		s.mu.Lock()
		rec, aerr := c.write(s, id, obj, false)
		s.mu.Unlock()
		answer(w, http.StatusOK, rec, aerr)
	case http.MethodDelete:
		s.mu.Lock()
		aerr := c.remove(s, id)
		s.mu.Unlock()
		answer(w, http.StatusNoContent, nil, aerr)
	case http.MethodPatch:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			message: "PATCH is not supported: PUT the full record (fields left out are cleared)"})
	default:
		methodNotAllowed(w, r, "GET, PUT, DELETE")
	}
}

// idOf is the id of a record the API gives.
func idOf(rec any) *string {
	switch r := rec.(type) {
	case Customer:
		return &r.ID
	case Contact:
		return &r.ID
	case Product:
		return &r.ID
	case Order:
		return &r.ID
	}
	panic(fmt.Sprintf("erp sandbox: no id in %T", rec))
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, c collection) {
	q := r.URL.Query()
	limit, after, changes := DefaultLimit, int64(0), false
	filters := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		v := q.Get(k)
		switch k {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxLimit {
				writeError(w, &apiError{status: http.StatusBadRequest, code: "bad_request", field: "limit",
					message: fmt.Sprintf("limit %q: give a whole number from 1 to %d", v, MaxLimit)})
				return
			}
			limit = n
		case "changed_after":
			seq, ok := decodeCursor(v)
			if !ok {
				writeError(w, &apiError{status: http.StatusBadRequest, code: "invalid_cursor", field: "changed_after",
					message: "changed_after is not a cursor this ERP gave out: send back a next_cursor as it came, or leave changed_after out to start from the beginning"})
				return
			}
			after, changes = seq, true
		default:
			if !slices.Contains(c.filterNames(), k) {
				writeError(w, &apiError{status: http.StatusBadRequest, code: "bad_request", field: k,
					message: fmt.Sprintf("unknown query parameter %q: use changed_after, limit or %s", k, strings.Join(c.filterNames(), ", "))})
				return
			}
			filters[k] = v
		}
	}
	s.mu.Lock()
	p := c.list(after, changes, limit, filters)
	body, err := json.Marshal(p)
	s.mu.Unlock()
	if err != nil {
		writeError(w, &apiError{status: http.StatusInternalServerError, code: "server_error", message: err.Error()})
		return
	}
	writeBody(w, http.StatusOK, body)
}

func readObject(w http.ResponseWriter, r *http.Request) (custom.Object, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "bad_request", message: "could not read the body: " + err.Error()})
		return nil, false
	}
	obj, err := custom.DecodeObject(body)
	if err != nil {
		writeError(w, &apiError{status: http.StatusBadRequest, code: "invalid_json", message: err.Error()})
		return nil, false
	}
	return obj, true
}

func answer(w http.ResponseWriter, status int, rec any, aerr *apiError) {
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	body, err := json.Marshal(rec)
	if err != nil {
		writeError(w, &apiError{status: http.StatusInternalServerError, code: "server_error", message: err.Error()})
		return
	}
	writeBody(w, status, body)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
		message: fmt.Sprintf("%s is not allowed here; allowed: %s", r.Method, allow)})
}

// errorBody is the ERP's error answer.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	var body errorBody
	body.Error.Code, body.Error.Message, body.Error.Field = e.code, e.message, e.field
	b, _ := json.Marshal(body)
	writeBody(w, e.status, b)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
