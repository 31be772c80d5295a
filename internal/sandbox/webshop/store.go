package webshop

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// apiError is an answer other than success: 422 carries field errors.
type apiError struct {
	status  int
	message string
	fields  []*custom.FieldError
}

func (e *apiError) Error() string {
	if len(e.fields) == 0 {
		return e.message
	}
	var parts []string
	for _, f := range e.fields {
		parts = append(parts, f.Error())
	}
	return e.message + ": " + strings.Join(parts, "; ")
}

func invalid(fields ...*custom.FieldError) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, message: "The given data was invalid.", fields: fields}
}

// collection is one resource of the API (customers, products, orders).
// Every method is called with s.mu held.
type collection interface {
	list(s *Server, since *Time, filters map[string]string) []any
	get(s *Server, id int64) (any, *apiError)
	create(s *Server, obj custom.Object, id int64) (any, *apiError)
	update(s *Server, id int64, obj custom.Object) (any, *apiError)
	remove(s *Server, id int64) *apiError
	filterNames() []string
}

// resource is a collection of records of type T.
type resource[T any, P interface {
	*T
	stamps() *Stamps
}] struct {
	name, singular string
	table          *custom.Table[int64, T]
	readOnly       []string // members ignored in request bodies, besides id and the stamps
	id             func(*T) *int64
	init           func(*T)                                                  // defaults of a new record
	clone          func(T) T                                                 // a copy safe to change; nil: T is a value
	check          func(rec, old *T, obj custom.Object) []*custom.FieldError // validates and derives; old nil on create
	deletable      func(id int64) string                                     // why not, or ""
	filters        map[string]func(rec *T, v string) bool
}

func (c *resource[T, P]) skip(name string) bool {
	switch name {
	case "id", "created_at", "updated_at", "deleted_at":
		return true
	}
	return slices.Contains(c.readOnly, name)
}

func (c *resource[T, P]) filterNames() []string { return slices.Sorted(maps.Keys(c.filters)) }

func (c *resource[T, P]) notFound(id int64) *apiError {
	return &apiError{status: http.StatusNotFound, message: fmt.Sprintf("No %s with id %d.", c.singular, id)}
}

// list gives the records in id order: the live ones, or with since every
// one updated at or after it, deleted ones included.
func (c *resource[T, P]) list(s *Server, since *Time, filters map[string]string) []any {
	var out []any
	for _, row := range c.table.ByID() {
		st := P(&row.Rec).stamps()
		if since == nil && row.Deleted || since != nil && st.UpdatedAt.Before(since.Time) {
			continue
		}
		keep := true
		for k, v := range filters {
			keep = keep && c.filters[k](&row.Rec, v)
		}
		if keep {
			out = append(out, row.Rec)
		}
	}
	return out
}

func (c *resource[T, P]) get(s *Server, id int64) (any, *apiError) {
	row := c.table.Live(id)
	if row == nil {
		return nil, c.notFound(id)
	}
	return row.Rec, nil
}

func (c *resource[T, P]) create(s *Server, obj custom.Object, id int64) (any, *apiError) {
	var rec T
	if c.init != nil {
		c.init(&rec)
	}
	if fe := custom.Bind(&rec, obj, "", c.skip); fe != nil {
		return nil, invalid(fe)
	}
	if id != 0 && c.table.Get(id) != nil {
		return nil, &apiError{status: http.StatusConflict, message: fmt.Sprintf("A %s with id %d exists already.", c.singular, id)}
	}
	if errs := c.check(&rec, nil, obj); len(errs) > 0 {
		return nil, invalid(errs...)
	}
	if id == 0 {
		id = s.newID(c.name)
	} else {
		s.nextID[c.name] = max(s.nextID[c.name], id)
	}
	*c.id(&rec) = id
	now := s.now()
	*P(&rec).stamps() = Stamps{CreatedAt: now, UpdatedAt: now}
	c.table.Write(&s.journal, id, rec, false)
	return rec, nil
}

func (c *resource[T, P]) update(s *Server, id int64, obj custom.Object) (any, *apiError) {
	row := c.table.Live(id)
	if row == nil {
		return nil, c.notFound(id)
	}
	rec := row.Rec
	if c.clone != nil {
		rec = c.clone(rec)
	}
	if fe := custom.Bind(&rec, obj, "", c.skip); fe != nil {
		return nil, invalid(fe)
	}
	if errs := c.check(&rec, &row.Rec, obj); len(errs) > 0 {
		return nil, invalid(errs...)
	}
	P(&rec).stamps().UpdatedAt = s.now()
	c.table.Write(&s.journal, id, rec, false)
	return rec, nil
}

func (c *resource[T, P]) remove(s *Server, id int64) *apiError {
	row := c.table.Live(id)
	if row == nil {
		return c.notFound(id)
	}
	if c.deletable != nil {
		if why := c.deletable(id); why != "" {
			return &apiError{status: http.StatusConflict, message: why}
		}
	}
	rec := row.Rec
	if c.clone != nil {
		rec = c.clone(rec)
	}
	now := s.now()
	st := P(&rec).stamps()
	st.UpdatedAt, st.DeletedAt = now, &now
	c.table.Write(&s.journal, id, rec, true)
	return nil
}

func (s *Server) newID(name string) int64 {
	s.nextID[name]++
	return s.nextID[name]
}

func (s *Server) collections() map[string]collection {
	return map[string]collection{
		"customers": &resource[Customer, *Customer]{
			name: "customers", singular: "customer", table: s.customers,
			id:        func(c *Customer) *int64 { return &c.ID },
			check:     s.checkCustomer,
			deletable: s.customerDeletable,
			filters: map[string]func(*Customer, string) bool{
				"email": func(c *Customer, v string) bool { return strings.EqualFold(c.Email, v) },
				"type":  func(c *Customer, v string) bool { return c.Type == v },
			},
		},
		"products": &resource[Product, *Product]{
			name: "products", singular: "product", table: s.products,
			id:    func(p *Product) *int64 { return &p.ID },
			init:  func(p *Product) { p.Active = true },
			check: s.checkProduct,
			filters: map[string]func(*Product, string) bool{
				"sku": func(p *Product, v string) bool { return strings.EqualFold(p.SKU, v) },
			},
		},
		"orders": &resource[Order, *Order]{
			name: "orders", singular: "order", table: s.orders,
			readOnly: []string{"total", "line_items"}, // line_items are bound by checkOrder
			id:       func(o *Order) *int64 { return &o.ID },
			init:     func(o *Order) { o.Status, o.Currency = StatusPending, "EUR" },
			clone:    func(o Order) Order { o.LineItems = slices.Clone(o.LineItems); return o },
			check:    s.checkOrder,
			filters: map[string]func(*Order, string) bool{
				"number":      func(o *Order, v string) bool { return o.Number == v },
				"status":      func(o *Order, v string) bool { return o.Status == v },
				"customer_id": func(o *Order, v string) bool { return strconv.FormatInt(o.CustomerID, 10) == v },
			},
		},
	}
}
