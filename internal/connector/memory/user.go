package memory

import (
	"maps"

	"github.com/concordsync/concord/internal/connector"
)

// The methods in this file are what a user of the system does by hand, out
// of band: they bypass fault injection and are not counted in Calls.

// Create adds a record, as a user creating it in the system would, and
// returns it with its new id.
func (s *System) Create(datatype string, fields connector.Fields) connector.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(datatype)
	return t.add(t.nextID(s.opts.IDPrefix), fields, s.now()).export()
}

// Put adds a record with a chosen id, for fixtures that need known ids.
// An id that is already used (live or deleted) is left as it is and false
// is returned.
func (s *System) Put(datatype, id string, fields connector.Fields) (connector.Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(datatype)
	if r, taken := t.records[id]; taken {
		return r.export(), false
	}
	return t.add(id, fields, s.now()).export(), true
}

// Edit writes the given fields over a live record's, as a user editing it
// would, and returns the whole record. A missing or deleted record is left
// alone and the zero Record (empty ID) is returned.
func (s *System) Edit(datatype, id string, fields connector.Fields) connector.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(datatype)
	r, ok := t.records[id]
	if !ok || r.deleted {
		return connector.Record{}
	}
	t.merge(r, fields, s.now())
	return r.export()
}

// Remove deletes a live record, leaving a tombstone; anything else is a
// no-op.
func (s *System) Remove(datatype, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(datatype)
	if r, ok := t.records[id]; ok && !r.deleted {
		t.tombstone(r, s.now())
	}
}

// Records returns the live records of a datatype in id order (see List).
func (s *System) Records(datatype string) []connector.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(datatype)
	out := make([]connector.Record, 0, t.live)
	for _, id := range t.ids {
		if r := t.records[id]; !r.deleted {
			out = append(out, r.export())
		}
	}
	return out
}

// Tombstones returns the ids of the deleted records of a datatype, in id
// order.
func (s *System) Tombstones(datatype string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.table(datatype)
	var out []string
	for _, id := range t.ids {
		if t.records[id].deleted {
			out = append(out, id)
		}
	}
	return out
}

// Count returns the number of live records of a datatype.
func (s *System) Count(datatype string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.table(datatype).live
}

// Lookup returns a live record; ok is false when the record is missing or
// deleted (tell those apart with Deleted).
func (s *System) Lookup(datatype, id string) (rec connector.Record, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.table(datatype).records[id]
	if !ok || r.deleted {
		return connector.Record{}, false
	}
	return r.export(), true
}

// Deleted reports whether the record exists as a tombstone.
func (s *System) Deleted(datatype, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.table(datatype).records[id]
	return ok && r.deleted
}

// Calls returns how many connector calls were made, by operation: "list",
// "get", "insert", "update", "delete", "describe". Failed calls count.
func (s *System) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// Writes returns the number of insert, update and delete calls made.
func (s *System) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls["insert"] + s.calls["update"] + s.calls["delete"]
}

// ResetCalls sets the call counters to zero, e.g. after a test's setup.
func (s *System) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}
