package webshop

import (
	"fmt"

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// Record is one record as the Go helpers take and give it: the API's
// member names and JSON shapes, decoded into Go values (ids are int64,
// amounts texts such as "12.50", times RFC 3339 texts, line_items
// []any of map[string]any). Put and Edit also take time.Time and int.
type Record = map[string]any

// The collections, as the API names them.
const (
	Customers = "customers"
	Products  = "products"
	Orders    = "orders"
)

// The helpers below act as a user of the shop's own admin screens: tests
// use them to make changes "on the webshop side" and to look at what a
// connector wrote. They pass no gate (no token, rate limit or faults) but
// keep every rule of the API, and their changes are changes like any
// other: updated_at moves and change listings show them.

func (s *Server) coll(name string) (collection, error) {
	c := s.colls[name]
	if c == nil {
		return nil, fmt.Errorf("webshop sandbox: unknown collection %q: use customers, products or orders", name)
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
	obj, err := custom.ToObject(rec)
	if err != nil {
		return nil, fmt.Errorf("webshop sandbox: put %s: %w", collection, err)
	}
	var id int64
	if v, ok := rec["id"]; ok && v != nil {
		if id, err = toID(v); err != nil {
			return nil, fmt.Errorf("webshop sandbox: put %s: %w", collection, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, aerr := c.create(s, obj, id)
	if aerr != nil {
		return nil, fmt.Errorf("webshop sandbox: put %s: %w", collection, aerr)
	}
	return custom.ToMap(out), nil
}

// Edit changes the given fields of a record and keeps the others, as a
// PATCH does, and returns the record as stored.
func (s *Server) Edit(collection string, id int64, changes Record) (Record, error) {
	c, err := s.coll(collection)
	if err != nil {
		return nil, err
	}
	obj, err := custom.ToObject(changes)
	if err != nil {
		return nil, fmt.Errorf("webshop sandbox: edit %s %d: %w", collection, id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, aerr := c.update(s, id, obj)
	if aerr != nil {
		return nil, fmt.Errorf("webshop sandbox: edit %s %d: %w", collection, id, aerr)
	}
	return custom.ToMap(out), nil
}

// Remove deletes a record as DELETE does: it stays as a tombstone with
// deleted_at set in change listings.
func (s *Server) Remove(collection string, id int64) error {
	c, err := s.coll(collection)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr := c.remove(s, id); aerr != nil {
		return fmt.Errorf("webshop sandbox: remove %s %d: %w", collection, id, aerr)
	}
	return nil
}

// Records returns the live records of a collection in id order.
func (s *Server) Records(collection string) []Record {
	return s.records(collection, nil)
}

// Changes returns the records of a collection updated at or after since,
// deleted ones included, in id order: what a change listing holds.
func (s *Server) Changes(collection string, since Time) []Record {
	return s.records(collection, &since)
}

func (s *Server) records(collection string, since *Time) []Record {
	c := s.colls[collection]
	if c == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range c.list(s, since, nil) {
		out = append(out, custom.ToMap(r))
	}
	return out
}

// Get returns one live record, and whether there is one.
func (s *Server) Get(collection string, id int64) (Record, bool) {
	c := s.colls[collection]
	if c == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := c.get(s, id)
	if aerr != nil {
		return nil, false
	}
	return custom.ToMap(r), true
}

func toID(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if x == float64(int64(x)) {
			return int64(x), nil
		}
	}
	return 0, fmt.Errorf("id %v: want a whole number", v)
}

// SeedDemo fills an empty shop with three customers, four products and
// three orders (pending, processing, completed), and reports whether it
// did: a shop that holds records, deleted ones included, is left alone.
func (s *Server) SeedDemo() (bool, error) {
	s.mu.Lock()
	empty := s.customers.Len()+s.products.Len()+s.orders.Len() == 0
	s.mu.Unlock()
	if !empty {
		return false, nil
	}
	steps := []struct {
		coll string
		rec  Record
	}{
		{Customers, Record{"type": "company", "company_name": "Acme Trading B.V.", "email": "orders@acme.example", "phone": "+31 20 555 0101", "vat_number": "NL001234567B01",
			"billing_address": Record{"address_1": "Keizersgracht 1", "postcode": "1015 CJ", "city": "Amsterdam", "country": "NL"}}},
		{Customers, Record{"type": "company", "company_name": "Globex GmbH", "email": "einkauf@globex.example", "vat_number": "DE123456789",
			"billing_address": Record{"address_1": "Friedrichstraße 10", "postcode": "10117", "city": "Berlin", "country": "DE"}}},
		{Customers, Record{"type": "person", "first_name": "Ann", "last_name": "Lee", "email": "ann.lee@example.com",
			"billing_address": Record{"address_1": "Main Street 5", "postcode": "3511 AB", "city": "Utrecht", "country": "NL"}}},
		{Products, Record{"sku": "MUG-001", "name": "Coffee mug", "description": "Stoneware, 300 ml", "price": "9.95"}},
		{Products, Record{"sku": "TEE-BLK-M", "name": "T-shirt black M", "price": "19.50"}},
		{Products, Record{"sku": "CAP-RED", "name": "Cap red", "price": "14.00"}},
		{Products, Record{"sku": "BAG-TOTE", "name": "Tote bag", "price": "7.25"}},
		{Orders, Record{"customer_id": 1, "status": "pending", "line_items": []Record{{"sku": "MUG-001", "quantity": 2}, {"sku": "BAG-TOTE", "quantity": 1}}}},
		{Orders, Record{"customer_id": 2, "status": "processing", "customer_note": "Deliver before Friday", "line_items": []Record{{"sku": "TEE-BLK-M", "quantity": 10, "price": "17.50"}}}},
		{Orders, Record{"customer_id": 3, "status": "completed", "line_items": []Record{{"sku": "CAP-RED", "quantity": 1}}}},
	}
	var customerIDs []any
	for _, st := range steps {
		if id, ok := st.rec["customer_id"].(int); ok {
			st.rec["customer_id"] = customerIDs[id-1] // the n-th customer made above
		}
		rec, err := s.Put(st.coll, st.rec)
		if err != nil {
			return false, fmt.Errorf("webshop sandbox: seed demo data: %w", err)
		}
		if st.coll == Customers {
			customerIDs = append(customerIDs, rec["id"])
		}
	}
	return true, nil
}
