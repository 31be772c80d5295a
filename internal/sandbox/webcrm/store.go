package webcrm

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// row is one stored record. Its id is kept apart from its values.
type row struct {
	id       int
	v        map[string]any // field name → stored value; absent = zero
	inactive bool           // users only: deactivated, left out of /Users/AllActive
}

func (r *row) str(name string) string {
	s, _ := r.v[name].(string)
	return s
}

func (r *row) num(name string) int64 {
	n, _ := r.v[name].(int64)
	return n
}

// table holds the records of one entity.
type table struct {
	e    *entity
	rows map[int]*row
	ids  []int // ascending: listings are ordered by id
	next int   // the id the next insert gets
}

func newTable(e *entity) *table { return &table{e: e, rows: map[int]*row{}, next: 1} }

func (t *table) get(id int) *row { return t.rows[id] }

func (t *table) put(r *row) {
	if _, ok := t.rows[r.id]; !ok {
		i, _ := slices.BinarySearch(t.ids, r.id)
		t.ids = slices.Insert(t.ids, i, r.id)
	}
	t.rows[r.id] = r
	if r.id >= t.next {
		t.next = r.id + 1
	}
}

func (t *table) remove(id int) {
	if _, ok := t.rows[id]; !ok {
		return
	}
	delete(t.rows, id)
	if i, ok := slices.BinarySearch(t.ids, id); ok {
		t.ids = slices.Delete(t.ids, i, i+1)
	}
}

func (t *table) all() []*row {
	out := make([]*row, len(t.ids))
	for i, id := range t.ids {
		out[i] = t.rows[id]
	}
	return out
}

// event is a change the hooks hear of.
type event struct {
	kind string // Create, Update, Delete
	e    *entity
	id   int
}

// author says who makes a change: the API user (whose writes obey the API's
// own restrictions) or a user of the service's web interface.
type author struct {
	name string
	api  bool
}

// apiError is an error answer of the API: a status and a {Message, Type}
// body.
type apiError struct {
	status  int
	typ     string
	message string
}

func (e *apiError) Error() string { return e.message }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "BadRequestException", message: fmt.Sprintf(format, args...)}
}

func notFound(e *entity, id int) *apiError {
	return &apiError{status: http.StatusNotFound, typ: "NotFoundException",
		message: fmt.Sprintf("%s with id %d was not found.", e.table, id)}
}

// bind converts the fields of a JSON object into stored values. Unknown
// fields and fields the service maintains itself are ignored, as the service
// ignores them; names match without regard to case. It also returns the id
// the object carries (0 when none).
func bind(e *entity, obj map[string]any, loc *time.Location) (vals map[string]any, id int, err error) {
	vals = map[string]any{}
	for k, raw := range obj {
		f := e.field(k)
		if f == nil {
			continue
		}
		if f.name == e.idField() {
			if raw == nil {
				continue
			}
			v, err := convert(f, raw, loc)
			if err != nil {
				return nil, 0, badRequest("%v", err)
			}
			id = int(v.(int64))
			continue
		}
		if f.readOnly {
			continue
		}
		v, err := convert(f, raw, loc)
		if err != nil {
			return nil, 0, badRequest("%v", err)
		}
		vals[f.name] = v
	}
	return vals, id, nil
}

// now is the sandbox clock at second resolution: several changes within
// one second share a timestamp, as on the service.
func (s *Server) now() time.Time { return storeTime(s.clock()) }

// insertLocked creates a record. id 0 takes the next free id.
func (s *Server) insertLocked(t *table, vals map[string]any, id int, by author) (*row, error) {
	if id == 0 {
		id = t.next
	} else if t.get(id) != nil {
		return nil, badRequest("%s with id %d already exists.", t.e.table, id)
	}
	r := &row{id: id, v: vals}
	if err := s.checkLocked(t.e, r, nil); err != nil {
		return nil, err
	}
	now := s.now()
	e := t.e
	r.v[e.table+"CreatedAt"] = now
	r.v[e.table+"CreatedBy"] = by.name
	r.v[e.table+"UpdatedAt"] = now
	r.v[e.table+"UpdatedBy"] = by.name
	if e.name == Opportunities && r.str("OpportunityNumber") == "" {
		r.v["OpportunityNumber"] = strconv.Itoa(id)
	}
	t.put(r)
	s.dirty = true
	return r, nil
}

// replaceLocked writes a full object over a record: fields the object
// leaves out are cleared ("send the full object").
func (s *Server) replaceLocked(t *table, old *row, vals map[string]any, by author) error {
	nv := make(map[string]any, len(vals)+2)
	for k, v := range vals {
		nv[k] = v
	}
	for _, name := range []string{"CreatedAt", "CreatedBy"} {
		nv[t.e.table+name] = old.v[t.e.table+name]
	}
	return s.updateLocked(t, old, nv, by)
}

// editLocked changes the given fields of a record and keeps the others, as
// a user does in the web interface.
func (s *Server) editLocked(t *table, old *row, changes map[string]any, by author) error {
	nv := make(map[string]any, len(old.v)+len(changes))
	for k, v := range old.v {
		nv[k] = v
	}
	for k, v := range changes {
		nv[k] = v
	}
	return s.updateLocked(t, old, nv, by)
}

func (s *Server) updateLocked(t *table, old *row, nv map[string]any, by author) error {
	e := t.e
	if by.api && e.name == Persons {
		was, now := old.num("PersonOrganisationId"), asInt(nv["PersonOrganisationId"])
		if was != now {
			if !s.switches().ignorePersonOrganisationChange {
				return badRequest("PersonOrganisationId cannot be changed through the API (person %d belongs to organisation %d, the request says %d).", old.id, was, now)
			}
			nv["PersonOrganisationId"] = was
		}
	}
	r := &row{id: old.id, v: nv, inactive: old.inactive}
	if err := s.checkLocked(e, r, old); err != nil {
		return err
	}
	nv[e.table+"UpdatedAt"] = s.now()
	nv[e.table+"UpdatedBy"] = by.name
	t.put(r)
	s.dirty = true
	return nil
}

func asInt(v any) int64 {
	n, _ := v.(int64)
	return n
}

// checkLocked validates a record about to be stored and fills the fields
// the service derives. old is nil for an insert.
func (s *Server) checkLocked(e *entity, r *row, old *row) error {
	switch e.name {
	case Persons:
		if strings.TrimSpace(r.str("PersonLastName")) == "" {
			return badRequest("PersonLastName is required.")
		}
		org := r.num("PersonOrganisationId")
		if s.tables[Organisations].get(int(org)) == nil {
			return badRequest("PersonOrganisationId %d does not refer to an existing organisation.", org)
		}
		if strings.TrimSpace(r.str("PersonName")) == "" {
			r.v["PersonName"] = strings.Join(strings.Fields(r.str("PersonFirstName")+" "+r.str("PersonMiddleName")+" "+r.str("PersonLastName")), " ")
		}
	case Opportunities:
		if err := s.refLocked(r, "OpportunityOrganisationId", Organisations, false); err != nil {
			return err
		}
		if err := s.refLocked(r, "OpportunityPersonId", Persons, false); err != nil {
			return err
		}
	case QuotationLines:
		if err := s.refLocked(r, "QuotationLineOpportunityId", Opportunities, true); err != nil {
			return err
		}
		if r.num("QuotationLineOrganisationId") == 0 {
			opp := s.tables[Opportunities].get(int(r.num("QuotationLineOpportunityId")))
			r.v["QuotationLineOrganisationId"] = opp.num("OpportunityOrganisationId")
		}
	}
	return nil
}

// refLocked checks that a reference field names an existing record. A zero
// reference is accepted unless required.
func (s *Server) refLocked(r *row, name, target string, required bool) error {
	id := r.num(name)
	if id == 0 && !required {
		return nil
	}
	t := s.tables[target]
	if t.get(int(id)) == nil {
		return badRequest("%s %d does not refer to an existing %s.", name, id, strings.ToLower(t.e.table))
	}
	return nil
}

// removeLocked deletes a record and what cannot exist without it, as the
// service's web interface does: an organisation takes its persons and
// opportunities with it, an opportunity its quotation lines.
func (s *Server) removeLocked(t *table, id int) []event {
	if t.get(id) == nil {
		return nil
	}
	var events []event
	switch t.e.name {
	case Organisations:
		for _, child := range []struct{ entity, ref string }{
			{Persons, "PersonOrganisationId"},
			{Opportunities, "OpportunityOrganisationId"},
		} {
			ct := s.tables[child.entity]
			for _, r := range ct.all() {
				if r.num(child.ref) == int64(id) {
					events = append(events, s.removeLocked(ct, r.id)...)
				}
			}
		}
	case Opportunities:
		lt := s.tables[QuotationLines]
		for _, r := range lt.all() {
			if r.num("QuotationLineOpportunityId") == int64(id) {
				events = append(events, s.removeLocked(lt, r.id)...)
			}
		}
	}
	t.remove(id)
	s.dirty = true
	return append(events, event{kind: "Delete", e: t.e, id: id})
}

// appendRow writes a record as the API's JSON object, fields in the
// service's order.
func appendRow(b []byte, e *entity, r *row, loc *time.Location) []byte {
	b = append(b, '{')
	b = appendString(b, e.idField())
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(r.id), 10)
	for _, f := range e.fields[1:] {
		v, ok := r.v[f.name]
		if f.nonEmpty && (!ok || v == "") {
			continue
		}
		b = append(b, ',')
		b = appendString(b, f.name)
		b = append(b, ':')
		b = appendValue(b, f, v, loc)
	}
	return append(b, '}')
}

func appendRows(b []byte, e *entity, rows []*row, loc *time.Location) []byte {
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRow(b, e, r, loc)
	}
	return append(b, ']')
}

// record is a stored row as the Go helpers hand it out.
func record(e *entity, r *row, loc *time.Location) Record {
	out := Record{e.idField(): r.id}
	for _, f := range e.fields[1:] {
		v, ok := r.v[f.name]
		if f.nonEmpty && (!ok || v == "") {
			continue
		}
		if !ok {
			v = zeroValue(f)
		}
		out[f.name] = goValue(v, loc)
	}
	return out
}
