package exactonline

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// record is one row of an entity: its stored properties and its row
// version (the sync Timestamp).
type record struct {
	f  map[string]any
	ts int64
}

func (r *record) str(name string) string { s, _ := r.f[name].(string); return s }
func (r *record) num(name string) float64 {
	switch v := r.f[name].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	}
	return 0
}
func (r *record) int(name string) int64 { n, _ := r.f[name].(int64); return n }

func (r *record) clone() *record { return &record{f: maps.Clone(r.f), ts: r.ts} }

// table holds the records of one entity with two orders cached for
// listing: by key (regular and bulk endpoints) and by row version (sync).
type table struct {
	def      *entityDef
	rows     map[string]*record
	byParent map[string]map[string]*record // lines only: header key → lines

	// uniq indexes def.unique: property → normalized value → key; high
	// is the highest number each has held, which new numbers follow.
	uniq map[string]map[string]string
	high map[string]int64

	byKey   []*record
	byKeyOK bool
	byTS    []*record
	byTSOK  bool
}

func newTable(d *entityDef) *table {
	t := &table{def: d, rows: map[string]*record{}, uniq: map[string]map[string]string{}, high: map[string]int64{}}
	for _, f := range d.unique {
		t.uniq[f] = map[string]string{}
	}
	if d.parent != nil {
		t.byParent = map[string]map[string]*record{}
	}
	return t
}

func (t *table) key(r *record) string { return r.str(t.def.key) }

func (t *table) put(r *record) {
	id := t.key(r)
	old, ok := t.rows[id]
	if !ok {
		t.byKeyOK = false
	} else if t.byParent != nil && old.str(t.def.parentKey) != r.str(t.def.parentKey) {
		delete(t.byParent[old.str(t.def.parentKey)], id)
	}
	if ok {
		t.unindex(old)
		if t.byKeyOK {
			// The key order holds the replaced row: put the new one in its
			// place, or listings would show the record as it was.
			if i, found := slices.BinarySearchFunc(t.byKey, id, func(x *record, k string) int { return strings.Compare(t.key(x), k) }); found {
				t.byKey[i] = r
			} else {
				t.byKeyOK = false
			}
		}
	}
	t.rows[id] = r
	t.index(r)
	t.byTSOK = false
	if t.byParent != nil {
		p := r.str(t.def.parentKey)
		if t.byParent[p] == nil {
			t.byParent[p] = map[string]*record{}
		}
		t.byParent[p][id] = r
	}
}

func (t *table) remove(id string) {
	r := t.rows[id]
	if r == nil {
		return
	}
	delete(t.rows, id)
	t.unindex(r)
	t.byKeyOK, t.byTSOK = false, false
	if t.byParent != nil {
		p := r.str(t.def.parentKey)
		delete(t.byParent[p], id)
		if len(t.byParent[p]) == 0 {
			delete(t.byParent, p)
		}
	}
}

// uniqueValue is how a unique property compares: trimmed, in lower case;
// numbers as digits.
func uniqueValue(v any) string {
	switch x := v.(type) {
	case string:
		return strings.ToLower(strings.TrimSpace(x))
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}

func (t *table) index(r *record) {
	for f, idx := range t.uniq {
		if u := uniqueValue(r.f[f]); u != "" {
			idx[u] = t.key(r)
			if n, err := strconv.ParseInt(u, 10, 64); err == nil {
				t.high[f] = max(t.high[f], n)
			}
		}
	}
}

func (t *table) unindex(r *record) {
	for f, idx := range t.uniq {
		if u := uniqueValue(r.f[f]); u != "" && idx[u] == t.key(r) {
			delete(idx, u)
		}
	}
}

// holder is the key of the record whose unique property f has value v,
// if any.
func (t *table) holder(f string, v any) (string, bool) {
	k, ok := t.uniq[f][uniqueValue(v)]
	return k, ok && uniqueValue(v) != ""
}

func (t *table) sortedByKey() []*record {
	if !t.byKeyOK {
		t.byKey = slices.SortedFunc(maps.Values(t.rows), func(a, b *record) int { return strings.Compare(t.key(a), t.key(b)) })
		t.byKeyOK = true
	}
	return t.byKey
}

func (t *table) sortedByTS() []*record {
	if !t.byTSOK {
		t.byTS = slices.SortedFunc(maps.Values(t.rows), func(a, b *record) int { return cmp.Compare(a.ts, b.ts) })
		t.byTSOK = true
	}
	return t.byTS
}

// linesOf are a header's lines in LineNumber order.
func (t *table) linesOf(parent string) []*record {
	return slices.SortedFunc(maps.Values(t.byParent[parent]), func(a, b *record) int {
		return cmp.Or(cmp.Compare(a.int("LineNumber"), b.int("LineNumber")), strings.Compare(t.key(a), t.key(b)))
	})
}

// tombstone is a row of sync/Deleted.
type tombstone struct {
	Timestamp   int64     `json:"timestamp"`
	ID          string    `json:"id"`
	EntityKey   string    `json:"entity_key"`
	EntityType  int       `json:"entity_type"`
	DeletedBy   string    `json:"deleted_by"`
	DeletedDate time.Time `json:"deleted_date"`
}

func (d tombstone) get(name string, division int) any {
	switch name {
	case "Timestamp":
		return d.Timestamp
	case "ID":
		return d.ID
	case "EntityKey":
		return d.EntityKey
	case "EntityType":
		return int64(d.EntityType)
	case "DeletedBy":
		return d.DeletedBy
	case "DeletedDate":
		return d.DeletedDate
	case "Division":
		return int64(division)
	}
	return nil
}

// deletedRetention is how long sync/Deleted remembers a deletion.
const deletedRetention = 2 * 30 * 24 * time.Hour

// apiError is a refusal with the status and message the client gets.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(def *entityDef, id string) *apiError {
	return &apiError{http.StatusNotFound, fmt.Sprintf("%s: no record with key %s", def.path, id)}
}

// writeMode says who writes: a client of the REST API, or the user of
// Exact (Put and Delete), who may also set what the API keeps read-only.
type writeMode int

const (
	byAPI writeMode = iota
	byUser
)

// change is a committed change, for webhooks.
type change struct {
	def    *entityDef // the topic's entity (a line's header)
	key    string
	action string // Create, Update, Delete
}

// writer gathers one operation's changes so that its webhooks go out only
// once it is complete; s.mu is held while it lives.
type writer struct {
	s       *Server
	mode    writeMode
	now     time.Time
	changes []change
}

func (s *Server) newWriter(mode writeMode) *writer { return &writer{s: s, mode: mode, now: s.now()} }

// done queues the webhooks of the operation and marks the data changed.
func (w *writer) done() {
	if len(w.changes) == 0 {
		return
	}
	w.s.dirty = true
	seen := map[change]bool{}
	for _, c := range w.changes {
		if !seen[c] {
			seen[c] = true
			w.s.notify(c, w.now)
		}
	}
}

func (w *writer) note(def *entityDef, key, action string) {
	w.changes = append(w.changes, change{def, key, action})
}

// stamp gives r the next row version and the audit fields of a write.
func (w *writer) stamp(r *record, created bool) {
	s := w.s
	s.rowver++
	r.ts = s.rowver
	if created {
		r.f["Created"], r.f["Creator"], r.f["CreatorFullName"] = w.now, s.user.ID, s.user.FullName
	}
	r.f["Modified"], r.f["Modifier"], r.f["ModifierFullName"] = w.now, s.user.ID, s.user.FullName
	r.f["Division"] = int64(s.division)
}

// input is a write's properties after reading: the values to set, and for
// a header the lines to create with it.
type input struct {
	set   map[string]any
	lines []*input
}

// readInput checks a JSON body's properties against def and converts
// their values. A client's read-only properties are ignored (documented in
// doc.go); unknown properties are refused, as Exact does.
func (s *Server) readInput(def *entityDef, raw map[string]any, mode writeMode, creating bool) (*input, error) {
	in := &input{set: map[string]any{}}
	for name, v := range raw {
		if name == "__metadata" {
			continue
		}
		if def.linesProp != "" && name == def.linesProp {
			if !creating {
				return nil, badRequest("%s cannot be changed through PUT on %s: write them through %s", name, def.path, def.lines.path)
			}
			lines, err := s.readLines(def, v, mode)
			if err != nil {
				return nil, err
			}
			in.lines = lines
			continue
		}
		f := def.byName[name]
		if f == nil {
			return nil, badRequest("The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type.", name, def.modelType)
		}
		if f.access == readOnly && mode == byAPI {
			continue
		}
		val, err := coerce(f.typ, v, s.loc)
		if err != nil {
			return nil, badRequest("Error processing request stream. Property '%s': %v", name, err)
		}
		in.set[name] = val
	}
	return in, nil
}

// readLines reads the lines posted with a header: a JSON array or an
// object {"results":[…]}.
func (s *Server) readLines(def *entityDef, v any, mode writeMode) ([]*input, error) {
	if m, ok := v.(map[string]any); ok {
		v = m["results"]
	}
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case []map[string]any:
		for _, m := range x {
			list = append(list, m)
		}
	default:
		return nil, badRequest("%s must be an array of lines or an object with a results array", def.linesProp)
	}
	var out []*input
	for i, l := range list {
		m, ok := l.(map[string]any)
		if !ok {
			return nil, badRequest("%s[%d] is not an object", def.linesProp, i)
		}
		in, err := s.readInput(def.lines, m, mode, true)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", def.linesProp, i, err)
		}
		out = append(out, in)
	}
	return out, nil
}

// create adds a record (with its lines) and returns it.
func (w *writer) create(def *entityDef, in *input) (*record, error) {
	s := w.s
	t := s.tables[def]
	r := &record{f: map[string]any{}}
	id, _ := in.set[def.key].(string)
	if id == "" {
		id = newGUID(s.idRNG)
	} else if t.rows[id] != nil {
		return nil, badRequest("%s: a record with key %s already exists", def.path, id)
	}
	for k, v := range in.set {
		r.f[k] = v
	}
	r.f[def.key] = id

	var parent *record
	if def.parent != nil {
		pid, _ := r.f[def.parentKey].(string)
		if pid == "" {
			return nil, badRequest("%s is mandatory when a line is posted on its own", def.parentKey)
		}
		if parent = s.tables[def.parent].rows[pid]; parent == nil {
			return nil, badRequest("%s: %s %s does not exist", def.parentKey, def.parent.name, pid)
		}
		if err := w.checkOpen(def.parent, parent); err != nil {
			return nil, err
		}
	}
	if def.lines != nil && len(in.lines) == 0 {
		return nil, badRequest("%s is mandatory: a %s needs at least one line", def.linesProp, strings.TrimSuffix(def.name, "s"))
	}
	if err := w.rules(def, nil, r, in.set, parent); err != nil {
		return nil, err
	}
	// Build and check every line before anything is stored.
	var lines []*record
	for i, li := range in.lines {
		lr := &record{f: map[string]any{}}
		for k, v := range li.set {
			lr.f[k] = v
		}
		lid, _ := lr.f[def.lines.key].(string)
		if lid == "" || s.tables[def.lines].rows[lid] != nil {
			lid = newGUID(s.idRNG)
		}
		lr.f[def.lines.key] = lid
		lr.f[def.lines.parentKey] = id
		lr.f["LineNumber"] = int64(i + 1)
		if err := w.rules(def.lines, nil, lr, li.set, r); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", def.linesProp, i, err)
		}
		lines = append(lines, lr)
	}
	if def.lines != nil {
		totals(r, lines)
	}
	w.stamp(r, true)
	t.put(r)
	for _, lr := range lines {
		w.stamp(lr, true)
		s.tables[def.lines].put(lr)
	}
	switch {
	case parent != nil:
		w.touchTotals(def.parent, parent)
		w.note(def.parent, s.tables[def.parent].key(parent), "Update")
	case def == salesItemPrices:
		w.priceChanged(r.str("Item"))
	default:
		w.note(def, id, "Create")
	}
	return r, nil
}

// update changes the given properties of the record with key id.
func (w *writer) update(def *entityDef, id string, in *input) error {
	s := w.s
	t := s.tables[def]
	old := t.rows[id]
	if old == nil {
		return notFound(def, id)
	}
	if v, ok := in.set[def.key]; ok && v != id {
		return badRequest("%s cannot be changed", def.key)
	}
	if v, ok := in.set[def.parentKey]; ok && def.parent != nil && v != old.f[def.parentKey] {
		return badRequest("%s cannot be changed for an existing line", def.parentKey)
	}
	var parent *record
	if def.parent != nil {
		parent = s.tables[def.parent].rows[old.str(def.parentKey)]
		if err := w.checkOpen(def.parent, parent); err != nil {
			return err
		}
	}
	if err := w.checkOpen(def, old); err != nil {
		return err
	}
	r := old.clone()
	for _, f := range def.fields {
		v, ok := in.set[f.name]
		if !ok {
			continue
		}
		if f.access == createOnly && w.mode == byAPI && !sameValue(v, old.f[f.name]) {
			return badRequest("%s cannot be changed for an existing %s", f.name, strings.TrimSuffix(def.name, "s"))
		}
		r.f[f.name] = v
	}
	if err := w.rules(def, old, r, in.set, parent); err != nil {
		return err
	}
	if def.lines != nil {
		totals(r, s.tables[def.lines].linesOf(id))
	}
	w.stamp(r, false)
	t.put(r)
	switch {
	case parent != nil:
		w.touchTotals(def.parent, parent)
		w.note(def.parent, s.tables[def.parent].key(parent), "Update")
	case def == salesItemPrices:
		w.priceChanged(r.str("Item"))
	default:
		w.note(def, id, "Update")
	}
	return nil
}

// remove deletes the record with key id, and what goes with it: a header's
// lines, an account's contacts.
func (w *writer) remove(def *entityDef, id string) error {
	s := w.s
	t := s.tables[def]
	r := t.rows[id]
	if r == nil {
		return notFound(def, id)
	}
	var parent *record
	if def.parent != nil {
		parent = s.tables[def.parent].rows[r.str(def.parentKey)]
		if err := w.checkOpen(def.parent, parent); err != nil {
			return err
		}
	}
	if err := w.checkOpen(def, r); err != nil {
		return err
	}
	if err := s.checkUnused(def, id); err != nil {
		return err
	}
	if def == accounts {
		for _, c := range s.tables[contacts].sortedByKey() {
			if c.str("Account") == id {
				w.tombstone(contacts, c.str("ID"))
				w.note(contacts, c.str("ID"), "Delete")
			}
		}
	}
	if def.lines != nil {
		for _, l := range s.tables[def.lines].linesOf(id) {
			w.tombstone(def.lines, l.str(def.lines.key))
		}
	}
	if def == items {
		for _, p := range s.pricesOf(id) {
			w.tombstone(salesItemPrices, p.str("ID"))
		}
	}
	w.tombstone(def, id)
	switch {
	case parent != nil:
		w.touchTotals(def.parent, parent)
		w.note(def.parent, s.tables[def.parent].key(parent), "Update")
	case def == salesItemPrices:
		w.priceChanged(r.str("Item"))
	default:
		w.note(def, id, "Delete")
	}
	return nil
}

func (w *writer) tombstone(def *entityDef, id string) {
	s := w.s
	s.tables[def].remove(id)
	if def.deletedType == 0 {
		return // not in sync/Deleted (sales item prices)
	}
	s.rowver++
	s.deleted = append(s.deleted, tombstone{
		Timestamp: s.rowver, ID: newGUID(s.idRNG), EntityKey: id, EntityType: def.deletedType,
		DeletedBy: s.user.ID, DeletedDate: w.now,
	})
}

// checkUnused refuses to delete what other records still refer to.
func (s *Server) checkUnused(def *entityDef, id string) error {
	type ref struct {
		def   *entityDef
		field string
	}
	var refs []ref
	switch def {
	case accounts:
		refs = []ref{{salesOrders, "OrderedBy"}, {salesOrders, "DeliverTo"}, {salesOrders, "InvoiceTo"},
			{quotations, "OrderAccount"}, {quotations, "InvoiceAccount"}, {quotations, "DeliveryAccount"}}
	case items:
		refs = []ref{{salesOrderLines, "Item"}, {quotationLines, "Item"}}
	}
	for _, rf := range refs {
		for _, r := range s.tables[rf.def].rows {
			if r.str(rf.field) == id {
				return badRequest("%s %s is in use by %s %s (%s) and cannot be deleted", strings.TrimSuffix(def.name, "s"), id, strings.TrimSuffix(rf.def.name, "s"), r.str(rf.def.key), rf.field)
			}
		}
	}
	return nil
}

// checkOpen refuses an API change to a completed sales order or its lines.
func (w *writer) checkOpen(def *entityDef, r *record) error {
	if w.mode == byAPI && def == salesOrders && r != nil && r.int("Status") == 21 {
		return badRequest("Sales order %d is complete (Status 21) and cannot be changed", r.int("OrderNumber"))
	}
	return nil
}

// touchTotals recomputes a header's amounts from its lines and, when they
// moved, gives it a new row version: a header whose total changed has
// changed.
func (w *writer) touchTotals(def *entityDef, header *record) {
	s := w.s
	t := s.tables[def]
	key := t.key(header)
	if t.rows[key] == nil {
		return
	}
	r := header.clone()
	totals(r, s.tables[def.lines].linesOf(key))
	if sameValue(r.f["AmountDC"], header.f["AmountDC"]) && sameValue(r.f["AmountFC"], header.f["AmountFC"]) {
		return
	}
	w.stamp(r, false)
	t.put(r)
}

func totals(header *record, lines []*record) {
	sum := 0.0
	for _, l := range lines {
		sum += l.num("AmountDC")
	}
	header.f["AmountDC"], header.f["AmountFC"] = round2(sum), round2(sum)
}

func sameValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

var orderStatus = map[int64]string{12: "Open", 20: "Partial", 21: "Complete", 45: "Cancelled"}
var quotationStatus = map[int64]string{5: "Rejected", 6: "Reviewed and closed", 20: "Draft", 25: "Open", 35: "Processing", 40: "Printed", 50: "Accepted"}

// rules checks a record about to be stored (r; old is its previous state,
// nil on create; set is what this write set) and fills in what Exact
// defaults and computes.
func (w *writer) rules(def *entityDef, old, r *record, set map[string]any, parent *record) error {
	s := w.s
	creating := old == nil
	mandatory := func(name string) error {
		if strings.TrimSpace(r.str(name)) == "" {
			return badRequest("%s is mandatory", name)
		}
		return nil
	}
	exists := func(name string, target *entityDef, required bool) error {
		id := r.str(name)
		if id == "" {
			if required {
				return badRequest("%s is mandatory", name)
			}
			return nil
		}
		if s.tables[target].rows[id] == nil {
			return badRequest("%s: %s %s does not exist", name, strings.TrimSuffix(target.name, "s"), id)
		}
		return nil
	}
	defaults := func(kv ...any) {
		if !creating {
			return
		}
		for i := 0; i < len(kv); i += 2 {
			if r.f[kv[i].(string)] == nil {
				r.f[kv[i].(string)] = kv[i+1]
			}
		}
	}
	today := func() time.Time {
		y, m, d := w.now.In(s.loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, s.loc).UTC()
	}

	switch def {
	case accounts:
		if err := mandatory("Name"); err != nil {
			return err
		}
		if err := s.accountCode(r, old); err != nil {
			return err
		}
		defaults("Status", "C", "IsSupplier", false, "Blocked", false)
		st := r.str("Status")
		if !strings.Contains("ASPC", st) || len(st) != 1 {
			return badRequest("Status %q is not valid: use A (none), S (suspect), P (prospect) or C (customer)", st)
		}
		if c := r.str("Country"); c != "" {
			r.f["Country"] = strings.ToUpper(strings.TrimSpace(c))
		}
		r.f["CountryName"] = nil
		if name, ok := countryNames[r.str("Country")]; ok {
			r.f["CountryName"] = name
		}
		r.f["IsSales"] = st == "C"
		r.f["Type"] = "A"

	case contacts:
		if err := exists("Account", accounts, true); err != nil {
			return err
		}
		if strings.TrimSpace(r.str("FirstName")) == "" && strings.TrimSpace(r.str("LastName")) == "" {
			return badRequest("FirstName or LastName is mandatory")
		}
		var parts []string
		for _, n := range []string{"FirstName", "MiddleName", "LastName"} {
			if v := strings.TrimSpace(r.str(n)); v != "" {
				parts = append(parts, v)
			}
		}
		r.f["FullName"] = strings.Join(parts, " ")
		defaults("IsMainContact", false)

	case items:
		if err := mandatory("Code"); err != nil {
			return err
		}
		if err := mandatory("Description"); err != nil {
			return err
		}
		code := strings.TrimSpace(r.str("Code"))
		r.f["Code"] = code
		if k, ok := s.tables[items].holder("Code", code); ok && k != r.str("ID") {
			return badRequest("Item code %q already exists", code)
		}
		defaults("Unit", "pc", "IsSalesItem", true, "IsStockItem", false, "IsPurchaseItem", false,
			"CostPriceStandard", 0.0, "StandardSalesPrice", 0.0, "Stock", 0.0)

	case salesItemPrices:
		return w.priceRules(old, r)

	case salesOrders:
		for _, n := range []string{"DeliverTo", "InvoiceTo"} {
			if creating && r.f[n] == nil {
				r.f[n] = r.f["OrderedBy"]
			}
		}
		for _, n := range []string{"OrderedBy", "DeliverTo", "InvoiceTo"} {
			if err := exists(n, accounts, true); err != nil {
				return err
			}
		}
		if err := s.number(def, r, "OrderNumber"); err != nil {
			return err
		}
		defaults("OrderDate", today(), "Currency", "EUR", "Discount", 0.0, "Status", int64(12),
			"DeliveryStatus", int64(12), "InvoiceStatus", int64(12))
		st := r.int("Status")
		if orderStatus[st] == "" {
			return badRequest("Status %d is not valid for a sales order: use 12, 20, 21 or 45", st)
		}
		r.f["StatusDescription"] = orderStatus[st]

	case quotations:
		for _, n := range []string{"InvoiceAccount", "DeliveryAccount"} {
			if creating && r.f[n] == nil {
				r.f[n] = r.f["OrderAccount"]
			}
		}
		if err := exists("OrderAccount", accounts, true); err != nil {
			return err
		}
		for _, n := range []string{"InvoiceAccount", "DeliveryAccount"} {
			if err := exists(n, accounts, false); err != nil {
				return err
			}
		}
		if err := s.number(def, r, "QuotationNumber"); err != nil {
			return err
		}
		defaults("QuotationDate", today(), "Currency", "EUR", "Status", int64(20), "VersionNumber", int64(1))
		st := r.int("Status")
		if quotationStatus[st] == "" {
			return badRequest("Status %d is not valid for a quotation", st)
		}
		r.f["StatusDescription"] = quotationStatus[st]

	case salesOrderLines, quotationLines:
		if err := exists("Item", items, true); err != nil {
			return err
		}
		item := s.tables[items].rows[r.str("Item")]
		if creating && r.f["LineNumber"] == nil {
			n := int64(0)
			for _, l := range s.tables[def].byParent[parent.str(def.parent.key)] {
				n = max(n, l.int("LineNumber"))
			}
			r.f["LineNumber"] = n + 1
		}
		if def == salesOrderLines {
			r.f["OrderNumber"] = parent.f["OrderNumber"]
		} else {
			r.f["QuotationNumber"], r.f["VersionNumber"] = parent.f["QuotationNumber"], parent.f["VersionNumber"]
		}
		r.f["ItemCode"], r.f["ItemDescription"] = item.f["Code"], item.f["Description"]
		_, itemSet := set["Item"]
		if creating || itemSet {
			if r.f["Description"] == nil {
				r.f["Description"] = item.f["Description"]
			}
			if r.f["VATCode"] == nil {
				r.f["VATCode"] = item.f["SalesVatCode"]
			}
		}
		defaults("Quantity", 1.0, "Discount", 0.0)
		if creating && r.f["UnitPrice"] == nil {
			if net, ok := set["NetPrice"]; ok && net != nil {
				r.f["UnitPrice"] = net
			} else {
				r.f["UnitPrice"] = item.num("StandardSalesPrice")
			}
		}
		_, netSet := set["NetPrice"]
		_, discSet := set["Discount"]
		unit := r.num("UnitPrice")
		if netSet && set["NetPrice"] != nil && !discSet && unit != 0 {
			r.f["Discount"] = 1 - r.num("NetPrice")/unit
		}
		net := unit * (1 - r.num("Discount"))
		r.f["NetPrice"] = net
		r.f["AmountDC"] = round2(net * r.num("Quantity"))
		r.f["AmountFC"] = r.f["AmountDC"]
	}
	return nil
}

// accountCode keeps an account's Code the way Exact stores it: right-
// aligned in 18 characters with leading spaces, unique, and one more than
// the highest numeric code when the client gives none.
func (s *Server) accountCode(r, old *record) error {
	code := strings.TrimSpace(r.str("Code"))
	if code == "" {
		if old != nil {
			if _, cleared := r.f["Code"]; cleared && r.f["Code"] != old.f["Code"] {
				return badRequest("Code is mandatory")
			}
			return nil
		}
		t := s.tables[accounts]
		for n := t.high["Code"] + 1; ; n++ {
			if _, used := t.holder("Code", strconv.FormatInt(n, 10)); !used {
				code = strconv.FormatInt(n, 10)
				break
			}
		}
	}
	if len(code) > 18 {
		return badRequest("Code %q is longer than 18 characters", code)
	}
	if k, ok := s.tables[accounts].holder("Code", code); ok && k != r.str("ID") {
		return badRequest("Code %q is already used by account %s", code, k)
	}
	r.f["Code"] = fmt.Sprintf("%18s", code)
	return nil
}

// number gives a header the next free number when it has none and checks
// that a given one is free.
func (s *Server) number(def *entityDef, r *record, field string) error {
	t := s.tables[def]
	n := r.int(field)
	switch {
	case n < 0:
		return badRequest("%s must be positive", field)
	case n == 0:
		for n = t.high[field] + 1; ; n++ {
			if _, used := t.holder(field, n); !used {
				break
			}
		}
		r.f[field] = n
	default:
		if k, ok := t.holder(field, n); ok && k != r.str(def.key) {
			return badRequest("%s %d already exists", field, n)
		}
	}
	return nil
}

// value is a property of a record as a client reads it: stored, or (for
// the names of referenced records) looked up, as Exact joins them.
func (s *Server) value(def *entityDef, r *record, name string) any {
	ref := func(target *entityDef, field, prop string) any {
		if o := s.tables[target].rows[r.str(field)]; o != nil {
			return o.f[prop]
		}
		return nil
	}
	switch def {
	case salesItemPrices:
		switch name {
		case "ItemCode":
			return ref(items, "Item", "Code")
		case "ItemDescription":
			return ref(items, "Item", "Description")
		case "DefaultItemUnit":
			return ref(items, "Item", "Unit")
		}
	case contacts:
		if name == "AccountName" {
			return ref(accounts, "Account", "Name")
		}
	case salesOrders:
		switch name {
		case "OrderedByName":
			return ref(accounts, "OrderedBy", "Name")
		case "DeliverToName":
			return ref(accounts, "DeliverTo", "Name")
		case "InvoiceToName":
			return ref(accounts, "InvoiceTo", "Name")
		}
	case quotations:
		switch name {
		case "OrderAccountName":
			return ref(accounts, "OrderAccount", "Name")
		case "InvoiceAccountName":
			return ref(accounts, "InvoiceAccount", "Name")
		case "DeliveryAccountName":
			return ref(accounts, "DeliveryAccount", "Name")
		}
	}
	if name == "Timestamp" {
		return r.ts
	}
	if name == "ID" && def.key != "ID" {
		return r.f[def.key]
	}
	return r.f[name]
}
