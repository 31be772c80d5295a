package erp

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// apiError is an answer other than success, written as
// {"error":{"code","message","field"}}.
type apiError struct {
	status  int
	code    string
	message string
	field   string
}

func (e *apiError) Error() string { return e.message } // it names its field

func invalid(fe *custom.FieldError) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: fe.Code, message: fe.Field + " " + fe.Message, field: fe.Field}
}

func conflict(format string, args ...any) *apiError {
	return &apiError{status: http.StatusConflict, code: "conflict", message: fmt.Sprintf(format, args...)}
}

// page is one page of a change listing: its items (records and
// tombstones), where to go on from, and whether more are waiting.
type page struct {
	Items      []any  `json:"items"`
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
}

// collection is one resource of the API. Every method is called with s.mu
// held.
type collection interface {
	list(after int64, changes bool, limit int, filters map[string]string) page
	get(id string) (any, *apiError)
	write(s *Server, id string, obj custom.Object, create bool) (any, *apiError)
	remove(s *Server, id string) *apiError
	filterNames() []string
	singularName() string
}

// resource is a collection of records of type T.
type resource[T any, P interface {
	*T
	stamps() *Stamps
}] struct {
	singular  string
	table     *custom.Table[string, T]
	readOnly  []string // members ignored in request bodies, besides id and the stamps
	id        func(*T) *string
	clone     func(T) T                                               // a copy safe to change; nil: T is a value
	check     func(rec, old *T, obj custom.Object) *custom.FieldError // validates and derives; old nil on create
	deletable func(id string, rec *T) *apiError                       // nil when it may go
	filters   map[string]func(rec *T, v string) bool
}

func (c *resource[T, P]) singularName() string { return c.singular }

func (c *resource[T, P]) skip(name string) bool {
	switch name {
	case "id", "created_at", "updated_at", "deleted":
		return true
	}
	return slices.Contains(c.readOnly, name)
}

func (c *resource[T, P]) filterNames() []string { return slices.Sorted(maps.Keys(c.filters)) }

func (c *resource[T, P]) notFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found", message: fmt.Sprintf("no %s with id %q", c.singular, id)}
}

// list gives the rows written after change sequence after, in the order
// they were written: with changes, deleted ones as tombstones; without,
// only the live ones.
func (c *resource[T, P]) list(after int64, changes bool, limit int, filters map[string]string) page {
	out := page{Items: []any{}, NextCursor: encodeCursor(after)}
	for _, row := range c.table.After(after) {
		if row.Deleted && !changes {
			continue
		}
		keep := true
		for k, v := range filters {
			keep = keep && c.filters[k](&row.Rec, v)
		}
		if !keep {
			continue
		}
		if len(out.Items) == limit {
			out.HasMore = true
			break
		}
		if row.Deleted {
			out.Items = append(out.Items, Tombstone{ID: row.ID, Deleted: true, UpdatedAt: P(&row.Rec).stamps().UpdatedAt})
		} else {
			out.Items = append(out.Items, row.Rec)
		}
		out.NextCursor = encodeCursor(row.Seq)
	}
	return out
}

func (c *resource[T, P]) get(id string) (any, *apiError) {
	row := c.table.Live(id)
	if row == nil {
		return nil, c.notFound(id)
	}
	return row.Rec, nil
}

// write creates a record (under id when it is not empty) or replaces the
// one with id by the full record in obj: members obj leaves out are
// cleared. A replacement that changes nothing is no change: the record
// keeps its updated_at and its place in the change listing.
func (c *resource[T, P]) write(s *Server, id string, obj custom.Object, create bool) (any, *apiError) {
	var old *T
	if create {
		if id != "" && c.table.Get(id) != nil {
			return nil, conflict("a %s with id %q exists already", c.singular, id)
		}
	} else {
		row := c.table.Live(id)
		if row == nil {
			return nil, c.notFound(id)
		}
		old = &row.Rec
	}
	var rec T
	if fe := custom.Bind(&rec, obj, "", c.skip); fe != nil {
		return nil, invalid(fe)
	}
	if raw, ok := obj["id"]; ok && !create {
		if got := strings.Trim(string(raw), `" `); got != id && got != "null" {
			return nil, invalid(custom.Invalid("id", "%q differs from the id in the path, %q", got, id))
		}
	}
	*c.id(&rec) = id
	if old != nil {
		*P(&rec).stamps() = *P(old).stamps()
	}
	if fe := c.check(&rec, old, obj); fe != nil {
		return nil, invalid(fe)
	}
	if old != nil {
		if reflect.DeepEqual(rec, *old) {
			return *old, nil
		}
		if aerr := c.lockedFor(old); aerr != nil {
			return nil, aerr
		}
	}
	now := s.now()
	st := P(&rec).stamps()
	if create {
		if id == "" {
			id = custom.NewUUID(s.rng)
			*c.id(&rec) = id
		}
		st.CreatedAt = now
	}
	st.UpdatedAt = now
	c.table.Write(&s.journal, id, rec, false)
	return rec, nil
}

// lockedFor refuses a change to a record that may not change: only an
// invoiced order, today.
func (c *resource[T, P]) lockedFor(old *T) *apiError {
	if o, ok := any(old).(*Order); ok && o.Status == StatusInvoiced {
		return conflict("order %s is invoiced: it can no longer change", o.Number)
	}
	return nil
}

func (c *resource[T, P]) remove(s *Server, id string) *apiError {
	row := c.table.Live(id)
	if row == nil {
		return c.notFound(id)
	}
	if c.deletable != nil {
		if aerr := c.deletable(id, &row.Rec); aerr != nil {
			return aerr
		}
	}
	rec := row.Rec
	if c.clone != nil {
		rec = c.clone(rec)
	}
	st := P(&rec).stamps()
	st.UpdatedAt, st.Deleted = s.now(), true
	c.table.Write(&s.journal, id, rec, true)
	return nil
}

// A cursor is the change sequence of the last row a page gave, made
// opaque so that clients store it and send it back without reading
// anything into it. It is not a time: rows written in the same second, or
// while the clock stands still, still come one after the other.
const cursorPrefix = "erp1."

func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseInt(n, 10, 64)
	return seq, err == nil && seq >= 0
}
