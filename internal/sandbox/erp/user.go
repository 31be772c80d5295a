package erp

import (
	"fmt"
	"maps"

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// Record is one record as the Go helpers take and give it: the API's
// member names and JSON shapes, decoded into Go values (ids are texts,
// numbers int64 when whole and float64 otherwise, times RFC 3339 texts,
// lines []any of map[string]any). Put and Edit also take time.Time, int
// and []Record.
type Record = map[string]any

// The collections, as the API names them.
const (
	Customers = "customers"
	Contacts  = "contacts"
	Products  = "products"
	Orders    = "orders"
)

// The helpers below act as a user of the ERP's own screens: tests use them
// to make changes "on the ERP side" and to look at what a connector wrote.
// They pass no gate (no key, rate limit or faults) but keep every rule of
// the API, and their changes are changes like any other: they get the next
// change sequence and show up in change listings.

func (s *Server) coll(name string) (collection, error) {
	c := s.colls[name]
	if c == nil {
		return nil, fmt.Errorf("erp sandbox: unknown collection %q: use customers, contacts, products or orders", name)
	}
	return c, nil
}

// Put creates a record, under rec's "id" when it has one (which must be
// free), and returns it as stored.
func (s *Server) Put(collection string, rec Record) (Record, error) {
	c, err := s.coll(collection)
	if err != nil {
		return nil, err
	}
	id, _ := rec["id"].(string)
	obj, err := custom.ToObject(rec)
	if err != nil {
		return nil, fmt.Errorf("erp sandbox: put %s: %w", collection, err)
	}
	delete(obj, "id")
	s.mu.Lock()
	defer s.mu.Unlock()
	out, aerr := c.write(s, id, obj, true)
	if aerr != nil {
		return nil, fmt.Errorf("erp sandbox: put %s: %w", collection, aerr)
	}
	return custom.ToMap(out), nil
}

// Replace writes the full record rec over the one with id, as PUT does:
// fields rec leaves out are cleared.
func (s *Server) Replace(collection, id string, rec Record) (Record, error) {
	c, err := s.coll(collection)
	if err != nil {
		return nil, err
	}
	obj, err := custom.ToObject(rec)
	if err != nil {
		return nil, fmt.Errorf("erp sandbox: replace %s %s: %w", collection, id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, aerr := c.write(s, id, obj, false)
	if aerr != nil {
		return nil, fmt.Errorf("erp sandbox: replace %s %s: %w", collection, id, aerr)
	}
	return custom.ToMap(out), nil
}

// Edit changes the given fields of a record and keeps the others, as a
// user's edit screen does (the API itself only replaces whole records),
// and returns the record as stored.
func (s *Server) Edit(collection, id string, changes Record) (Record, error) {
	c, err := s.coll(collection)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, aerr := c.get(id)
	if aerr != nil {
		return nil, fmt.Errorf("erp sandbox: edit %s %s: %w", collection, id, aerr)
	}
	merged := custom.ToMap(cur)
	maps.Copy(merged, changes)
	obj, err := custom.ToObject(merged)
	if err != nil {
		return nil, fmt.Errorf("erp sandbox: edit %s %s: %w", collection, id, err)
	}
	out, aerr := c.write(s, id, obj, false)
	if aerr != nil {
		return nil, fmt.Errorf("erp sandbox: edit %s %s: %w", collection, id, aerr)
	}
	return custom.ToMap(out), nil
}

// Remove deletes a record as DELETE does: change listings show it as a
// tombstone from then on.
func (s *Server) Remove(collection, id string) error {
	c, err := s.coll(collection)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr := c.remove(s, id); aerr != nil {
		return fmt.Errorf("erp sandbox: remove %s %s: %w", collection, id, aerr)
	}
	return nil
}

// Records returns the live records of a collection in the order they were
// last written.
func (s *Server) Records(collection string) []Record {
	c := s.colls[collection]
	if c == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range c.list(0, false, -1, nil).Items {
		out = append(out, custom.ToMap(r))
	}
	return out
}

// Get returns one live record, and whether there is one.
func (s *Server) Get(collection, id string) (Record, bool) {
	c := s.colls[collection]
	if c == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := c.get(id)
	if aerr != nil {
		return nil, false
	}
	return custom.ToMap(r), true
}

// Cursor is the change listing's position now: a cursor that a change
// listing given it starts after every change made so far.
func (s *Server) Cursor() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return encodeCursor(s.journal.Seq())
}

// SeedDemo fills an empty ERP with two customers with a contact each, an
// employee, four products and two orders, and reports whether it did: an
// ERP that holds records, deleted ones included, is left alone.
func (s *Server) SeedDemo() (bool, error) {
	s.mu.Lock()
	empty := s.customers.Len()+s.contacts.Len()+s.products.Len()+s.orders.Len() == 0
	s.mu.Unlock()
	if !empty {
		return false, nil
	}
	fail := func(err error) (bool, error) { return false, fmt.Errorf("erp sandbox: seed demo data: %w", err) }
	var customers, contacts []string
	for _, c := range []Record{
		{"name": "Initech Ltd", "email": "purchasing@initech.example", "vat_number": "GB123456789", "address_line1": "1 Office Park", "postcode": "EC1A 1BB", "city": "London", "country": "GB", "currency": "GBP"},
		{"name": "Umbrella B.V.", "email": "inkoop@umbrella.example", "vat_number": "NL009876543B01", "address_line1": "Stationsplein 9", "postcode": "3511 CE", "city": "Utrecht", "country": "NL"},
	} {
		r, err := s.Put(Customers, c)
		if err != nil {
			return fail(err)
		}
		customers = append(customers, r["id"].(string))
	}
	for i, c := range []Record{
		{"first_name": "Peter", "last_name": "Gibbons", "email": "peter@initech.example", "job_title": "Engineer"},
		{"first_name": "Alice", "last_name": "Abernathy", "email": "alice@umbrella.example", "job_title": "Buyer"},
	} {
		c["customer_id"] = customers[i]
		r, err := s.Put(Contacts, c)
		if err != nil {
			return fail(err)
		}
		contacts = append(contacts, r["id"].(string))
	}
	if _, err := s.Put(Contacts, Record{"first_name": "Sam", "last_name": "Seller", "email": "sam@ourcompany.example", "job_title": "Account manager", "is_employee": true}); err != nil {
		return fail(err)
	}
	for _, p := range []Record{
		{"item_number": "100-WIDGET", "name": "Widget", "price": 12.5, "cost": 7.1, "unit": "pcs", "vat_code": "S"},
		{"item_number": "200-GADGET", "name": "Gadget", "price": 99, "cost": 60, "unit": "pcs"},
		{"item_number": "300-CONSULT", "name": "Consulting", "description": "Per hour", "price": 120, "cost": 80, "unit": "h", "vat_code": "S"},
		{"item_number": "400-BOOK", "name": "Manual (printed)", "price": 25, "cost": 10, "unit": "pcs", "vat_code": "R"},
	} {
		if _, err := s.Put(Products, p); err != nil {
			return fail(err)
		}
	}
	for i, o := range []Record{
		{"status": "confirmed", "reference": "PO-4711", "lines": []Record{{"item_number": "100-WIDGET", "qty": 10}, {"item_number": "300-CONSULT", "qty": 2.5, "discount_pct": 10}}},
		{"status": "open", "description": "Quote for the spring fair", "lines": []Record{{"item_number": "200-GADGET", "qty": 3}, {"item_number": "400-BOOK", "qty": 3}}},
	} {
		o["customer_id"], o["contact_id"] = customers[i], contacts[i]
		if _, err := s.Put(Orders, o); err != nil {
			return fail(err)
		}
	}
	return true, nil
}
