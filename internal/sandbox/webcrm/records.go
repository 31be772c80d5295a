package webcrm

import (
	"fmt"
	"maps"
	"slices"
)

// Record is one record as the Go helpers take and give it: the API's field
// names, with int, float64, string and bool values and date-times as the
// API's text. Records hands out every field; Put and Edit take the fields
// to write (time.Time values are accepted too).
type Record map[string]any

// The helpers below act as a user of the service's web interface: their
// changes stamp *UpdatedBy with Options.UIUser, fire the hooks, and are not
// bound by the API's own restrictions (a person may move to another
// organisation; any record may be deleted). They fail with the API's
// validation messages.

func (s *Server) entity(name string) (*entity, error) {
	e := lookupEntity(name)
	if e == nil {
		return nil, fmt.Errorf("webcrm sandbox: unknown entity %q; the entities are %s", name, tableNames())
	}
	return e, nil
}

// Put stores a record. Without an id (or id 0) it creates one with the next
// id; with an id it creates the record under that id, or replaces the one
// there (fields rec leaves out are cleared). It returns the record's id.
func (s *Server) Put(entityName string, rec Record) (int, error) {
	e, err := s.entity(entityName)
	if err != nil {
		return 0, err
	}
	vals, id, err := bind(e, rec, s.Location())
	if err != nil {
		return 0, fmt.Errorf("webcrm sandbox: put %s: %w", e.table, err)
	}
	if id < 0 {
		return 0, fmt.Errorf("webcrm sandbox: put %s: negative id %d", e.table, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[e.name]
	if old := t.get(id); id != 0 && old != nil {
		if err := s.replaceLocked(t, old, vals, s.uiUser); err != nil {
			return 0, fmt.Errorf("webcrm sandbox: put %s %d: %w", e.table, id, err)
		}
		s.fireLocked([]event{{kind: "Update", e: e, id: id}})
		return id, nil
	}
	r, err := s.insertLocked(t, vals, id, s.uiUser)
	if err != nil {
		return 0, fmt.Errorf("webcrm sandbox: put %s: %w", e.table, err)
	}
	s.fireLocked([]event{{kind: "Create", e: e, id: r.id}})
	return r.id, nil
}

// Edit changes the given fields of a record and keeps the others.
func (s *Server) Edit(entityName string, id int, changes Record) error {
	e, err := s.entity(entityName)
	if err != nil {
		return err
	}
	vals, _, err := bind(e, changes, s.Location())
	if err != nil {
		return fmt.Errorf("webcrm sandbox: edit %s %d: %w", e.table, id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[e.name]
	old := t.get(id)
	if old == nil {
		return fmt.Errorf("webcrm sandbox: edit: %w", notFound(e, id))
	}
	if err := s.editLocked(t, old, vals, s.uiUser); err != nil {
		return fmt.Errorf("webcrm sandbox: edit %s %d: %w", e.table, id, err)
	}
	s.fireLocked([]event{{kind: "Update", e: e, id: id}})
	return nil
}

// Remove deletes a record of any entity, with what cannot exist without it:
// an organisation's persons and opportunities, an opportunity's quotation
// lines. Each deleted record fires the Delete hooks.
func (s *Server) Remove(entityName string, id int) error {
	e, err := s.entity(entityName)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[e.name]
	if t.get(id) == nil {
		return fmt.Errorf("webcrm sandbox: remove: %w", notFound(e, id))
	}
	s.fireLocked(s.removeLocked(t, id))
	return nil
}

// Records returns every record of an entity, ordered by id.
func (s *Server) Records(entityName string) []Record {
	e := lookupEntity(entityName)
	if e == nil {
		return nil
	}
	loc := s.Location()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.tables[e.name].all() {
		out = append(out, record(e, r, loc))
	}
	return out
}

// Get returns one record, and whether it exists.
func (s *Server) Get(entityName string, id int) (Record, bool) {
	e := lookupEntity(entityName)
	if e == nil {
		return nil, false
	}
	loc := s.Location()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.tables[e.name].get(id)
	if r == nil {
		return nil, false
	}
	return record(e, r, loc), true
}

// IDs returns the ids of an entity's records, ascending.
func (s *Server) IDs(entityName string) []int {
	e := lookupEntity(entityName)
	if e == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tables[e.name].ids)
}

// SetUserActive activates or deactivates a user; deactivated users are
// left out of GET /Users/AllActive. It changes no field and fires no hook.
func (s *Server) SetUserActive(id int, active bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.tables[Users].get(id)
	if r == nil {
		return fmt.Errorf("webcrm sandbox: set user active: %w", notFound(lookupEntity(Users), id))
	}
	r.inactive = !active
	s.dirty = true
	return nil
}

// SetFieldLabels replaces the custom field labels GET /FieldsMetadata
// reports (field name → label; a labelled field is in use).
func (s *Server) SetFieldLabels(labels map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.labels = maps.Clone(labels)
	s.dirty = true
}
