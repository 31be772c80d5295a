package exactonline

import (
	"fmt"
	"strings"
)

// The user of Exact Online: changes made in Exact itself rather than
// through the API. Tests use these to create changes "from the ERP side"
// and to look at what a connector wrote. They bypass authentication, rate
// limits and faults, and fire webhooks like any change.

// Put creates a record of entity ("Accounts", "SalesOrders", …, or its path
// "crm/Accounts"), or changes one when fields hold the key of an existing
// record. Unlike the API it may set read-only properties (an order's Status,
// an item's StandardSalesPrice) and change OrderedBy; the other rules hold.
// Values may be Go values (string, float64, int, int64, bool, time.Time,
// nil) or their JSON forms; a header's lines go under its lines property as
// []map[string]any. It returns the record as stored.
func (s *Server) Put(entity string, fields map[string]any) (map[string]any, error) {
	def := entityByName(entity)
	if def == nil {
		return nil, unknownEntity(entity)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ""
	if v, ok := fields[def.key].(string); ok {
		if g, ok := parseGUID(v); ok {
			key = g
		}
	}
	existing := key != "" && s.tables[def].rows[key] != nil
	in, err := s.readInput(def, fields, byUser, !existing)
	if err != nil {
		return nil, fmt.Errorf("exactonline sandbox: put %s: %w", def.name, err)
	}
	w := s.newWriter(byUser)
	if existing {
		err = w.update(def, key, in)
	} else {
		var r *record
		r, err = w.create(def, in)
		if err == nil {
			key = r.str(def.key)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("exactonline sandbox: put %s: %w", def.name, err)
	}
	w.done()
	return s.snapshotRecord(def, s.tables[def].rows[key]), nil
}

// Delete deletes a record as a user of Exact would: it shows up in
// sync/Deleted (with a header's lines, an account's contacts) and fires
// webhooks. It refuses what is still referred to, as the API does, but
// not a completed order.
func (s *Server) Delete(entity, id string) error {
	def := entityByName(entity)
	if def == nil {
		return unknownEntity(entity)
	}
	if g, ok := parseGUID(id); ok {
		id = g
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.newWriter(byUser)
	if err := w.remove(def, id); err != nil {
		return fmt.Errorf("exactonline sandbox: delete %s %s: %w", def.name, id, err)
	}
	w.done()
	return nil
}

// Records returns every record of entity, ordered by key, with the values a
// client would read (names of referred records included) in Go form:
// string, int64, float64, bool, time.Time or nil; and "Timestamp", the row
// version.
func (s *Server) Records(entity string) []map[string]any {
	def := entityByName(entity)
	if def == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, r := range s.tables[def].sortedByKey() {
		out = append(out, s.snapshotRecord(def, r))
	}
	return out
}

// Record returns one record of entity by key, like Records.
func (s *Server) Record(entity, id string) (map[string]any, bool) {
	def := entityByName(entity)
	if def == nil {
		return nil, false
	}
	if g, ok := parseGUID(id); ok {
		id = g
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.tables[def].rows[id]
	if r == nil {
		return nil, false
	}
	return s.snapshotRecord(def, r), true
}

// RowVersion is the division's current row version: the highest sync
// Timestamp handed out so far.
func (s *Server) RowVersion() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rowver
}

func (s *Server) snapshotRecord(def *entityDef, r *record) map[string]any {
	m := make(map[string]any, len(def.fields)+1)
	for _, f := range def.fields {
		m[f.name] = s.value(def, r, f.name)
	}
	m["Timestamp"] = r.ts
	return m
}

func unknownEntity(name string) error {
	var names []string
	for _, d := range entities {
		names = append(names, d.name)
	}
	return fmt.Errorf("exactonline sandbox: unknown entity %q: use one of %s", name, strings.Join(names, ", "))
}
