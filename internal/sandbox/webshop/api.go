package webshop

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// answers are the shop's bodies for what the gate refuses.
var answers = custom.Answers{
	Unauthorized: func(w http.ResponseWriter) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="webshop"`)
		writeMessage(w, http.StatusUnauthorized, "Unauthenticated: send Authorization: Bearer <token>.")
	},
	TooManyRequests: func(w http.ResponseWriter, limit, secs int) {
		writeMessage(w, http.StatusTooManyRequests, fmt.Sprintf("Too many requests: at most %d a minute. Retry after %d seconds.", limit, secs))
	},
	ServerError: func(w http.ResponseWriter, status int) {
		writeMessage(w, status, "Server error (sandbox fault). Try again.")
	},
}

// notFound answers a path outside the API.
func notFound(w http.ResponseWriter, _ *http.Request) {
	writeMessage(w, http.StatusNotFound, "Not found: the API is under /api/v1/ (customers, products, orders).")
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, name, idText string, hasID bool) {
	c := s.colls[name]
	if c == nil || strings.Contains(idText, "/") {
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("Not found: no resource %q; the webshop has /api/v1/customers, /api/v1/products and /api/v1/orders.", strings.TrimPrefix(r.URL.Path, "/api/v1/")))
		return
	}
	if !hasID {
		switch r.Method {
		case http.MethodGet:
			s.list(w, r, c)
		case http.MethodPost:
			obj, err := readObject(w, r)
			if err != nil {
				return
			}
			s.answer(w, http.StatusCreated, func() (any, *apiError) { return c.create(s, obj, 0) })
		default:
			methodNotAllowed(w, r, "GET, POST")
		}
		return
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		writeMessage(w, http.StatusNotFound, fmt.Sprintf("Not found: %q is not an id; ids are whole numbers.", idText))
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.answer(w, http.StatusOK, func() (any, *apiError) { return c.get(s, id) })
	case http.MethodPatch:
		obj, err := readObject(w, r)
		if err != nil {
			return
		}
		s.answer(w, http.StatusOK, func() (any, *apiError) { return c.update(s, id, obj) })
	case http.MethodDelete:
		s.answer(w, http.StatusNoContent, func() (any, *apiError) { return nil, c.remove(s, id) })
	case http.MethodPut:
		w.Header().Set("Allow", "GET, PATCH, DELETE")
		writeMessage(w, http.StatusMethodNotAllowed, "PUT is not supported: send the fields to change with PATCH.")
	default:
		methodNotAllowed(w, r, "GET, PATCH, DELETE")
	}
}

// answer runs op under the lock and writes its record or its error.
func (s *Server) answer(w http.ResponseWriter, status int, op func() (any, *apiError)) {
	s.mu.Lock()
	rec, aerr := op()
	var body []byte
	if aerr == nil && rec != nil {
		body, _ = json.Marshal(rec)
	}
	s.mu.Unlock()
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	writeBody(w, status, body)
}

// listPage is the envelope of a listing.
type listPage struct {
	Data  []any `json:"data"`
	Meta  meta  `json:"meta"`
	Links links `json:"links"`
}

type meta struct {
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total"`
}

type links struct {
	Next *string `json:"next"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, c collection) {
	q := r.URL.Query()
	page, perPage := 1, DefaultPerPage
	var since *Time
	filters := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		v := q.Get(k)
		var err error
		switch k {
		case "page":
			page, err = strconv.Atoi(v)
			if err != nil || page < 1 {
				err = fmt.Errorf("page %q: give a whole number from 1", v)
			}
		case "per_page":
			perPage, err = strconv.Atoi(v)
			if err != nil || perPage < 1 || perPage > MaxPerPage {
				err = fmt.Errorf("per_page %q: give a whole number from 1 to %d", v, MaxPerPage)
			}
		case "updated_since":
			t, perr := time.Parse(time.RFC3339Nano, v)
			if perr != nil {
				hint := ""
				if strings.Contains(v, " ") {
					hint = " (a + in the offset must be sent as %2B)"
				}
				err = fmt.Errorf("updated_since %q: give an RFC 3339 time such as 2024-01-02T10:11:12.000Z%s", v, hint)
			}
			since = &Time{t}
		default:
			if !slices.Contains(c.filterNames(), k) {
				err = fmt.Errorf("unknown query parameter %q: use page, per_page, updated_since or %s", k, strings.Join(c.filterNames(), ", "))
			}
			filters[k] = v
		}
		if err != nil {
			writeMessage(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	s.mu.Lock()
	all := c.list(s, since, filters)
	from := min((page-1)*perPage, len(all))
	to := min(from+perPage, len(all))
	out := listPage{Data: all[from:to], Meta: meta{Page: page, PerPage: perPage, Total: len(all)}}
	if out.Data == nil {
		out.Data = []any{}
	}
	body, err := json.Marshal(out)
	s.mu.Unlock()
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, err.Error())
		return
	}
	if to < len(all) {
		next := custom.NextURL(s.BaseURL(), r, map[string]string{"page": strconv.Itoa(page + 1), "per_page": strconv.Itoa(perPage)})
		out.Links.Next = &next
		w.Header().Set("Link", "<"+next+`>; rel="next"`)
		body, _ = json.Marshal(out)
	}
	writeBody(w, http.StatusOK, body)
}

func readObject(w http.ResponseWriter, r *http.Request) (custom.Object, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, fmt.Sprintf("Could not read the body: %v.", err))
		return nil, err
	}
	obj, err := custom.DecodeObject(body)
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Malformed JSON: "+err.Error()+".")
		return nil, err
	}
	return obj, nil
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	writeMessage(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed here; allowed: %s.", r.Method, allow))
}

// errorBody is the shop's error answer: a message, and for 422 the
// messages per field.
type errorBody struct {
	Message string              `json:"message"`
	Errors  map[string][]string `json:"errors,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := errorBody{Message: e.message}
	if len(e.fields) > 0 {
		body.Errors = map[string][]string{}
		for _, f := range e.fields {
			body.Errors[f.Field] = append(body.Errors[f.Field], f.Message)
		}
	}
	b, _ := json.Marshal(body)
	writeBody(w, e.status, b)
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeError(w, &apiError{status: status, message: msg})
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
