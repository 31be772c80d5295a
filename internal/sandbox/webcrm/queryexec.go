package webcrm

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// How a parsed query is run. Names resolve without regard to case. Texts
// compare as SQL Server's default collation does: without regard to case
// and to trailing spaces. A date-time literal is a wall-clock time in the
// sandbox's time zone, the zone its timestamps are stored in.

// maxJoinRows bounds the rows a join may produce before WHERE.
const maxJoinRows = 2_000_000

// boundCol is a column resolved to one table of the query.
type boundCol struct {
	ti int // index of the table in plan.tabs
	e  *entity
	f  *field
}

// raw is the stored value of the column in one result row; false for SQL
// NULL (the missing side of a LEFT JOIN, an unset QuotationLineData field).
func (b boundCol) raw(rows []*row) (any, bool) {
	r := rows[b.ti]
	if r == nil {
		return nil, false
	}
	if b.f.name == b.e.idField() {
		return int64(r.id), true
	}
	v, ok := r.v[b.f.name]
	if b.f.nonEmpty && (!ok || v == "") {
		return nil, false
	}
	if !ok {
		v = zeroValue(b.f)
	}
	return v, true
}

// domain is what a comparison compares.
type domain int

const (
	dNum domain = iota
	dText
	dTime
	dBool
)

func domainOf(k kind) domain {
	switch k {
	case kindInt, kindFloat:
		return dNum
	case kindTime:
		return dTime
	case kindBool:
		return dBool
	}
	return dText
}

func (d domain) String() string {
	return [...]string{"numeric", "text", "date-time", "boolean"}[d]
}

// normalize brings a stored value to its domain's comparable form.
func normalize(v any) any {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case string:
		return foldText(x)
	}
	return v
}

func foldText(s string) string { return strings.ToLower(strings.TrimRight(s, " ")) }

func compareIn(a, b any) int {
	switch x := a.(type) {
	case float64:
		return cmp.Compare(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case time.Time:
		return x.Compare(b.(time.Time))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	return 0
}

type valueFunc func(rows []*row) (any, bool)

type plan struct {
	tabs  []*entity
	cols  []boundCol
	joins []joinPlan
	where func(rows []*row) bool
	order []orderPlan
}

type joinPlan struct {
	left bool
	on   func(rows []*row) bool
}

type orderPlan struct {
	col  boundCol
	desc bool
}

// compile resolves the tables and columns of a query and turns its
// conditions into functions. Every error names the place in the script.
func compile(q *query, loc *time.Location) (*plan, error) {
	p := &plan{}
	for _, t := range append([]tableRef{q.from}, joinTables(q)...) {
		e := entityByTable(t.name)
		if e == nil {
			msg := fmt.Sprintf("unknown table %q; the tables are %s", t.name, tableNames())
			if pe := entityByPath(t.name); pe != nil {
				msg = fmt.Sprintf("unknown table %q; table names are singular: %s", t.name, pe.table)
			}
			return nil, &QueryError{t.pos, msg}
		}
		if slices.Contains(p.tabs, e) {
			return nil, &QueryError{t.pos, fmt.Sprintf("table %s appears twice; the sandbox has no table aliases", e.table)}
		}
		p.tabs = append(p.tabs, e)
	}
	for i, j := range q.joins {
		on, err := p.condition(j.on, i+2, loc)
		if err != nil {
			return nil, err
		}
		p.joins = append(p.joins, joinPlan{left: j.left, on: on})
	}
	if q.where != nil {
		w, err := p.condition(q.where, len(p.tabs), loc)
		if err != nil {
			return nil, err
		}
		p.where = w
	}
	for _, o := range q.orderBy {
		c, err := p.resolve(o.col, len(p.tabs))
		if err != nil {
			return nil, err
		}
		p.order = append(p.order, orderPlan{col: c, desc: o.desc})
	}
	if len(q.columns) == 0 {
		for ti, e := range p.tabs {
			for _, f := range e.fields {
				p.cols = append(p.cols, boundCol{ti: ti, e: e, f: f})
			}
		}
		return p, nil
	}
	seen := map[string]bool{}
	for _, c := range q.columns {
		b, err := p.resolve(c, len(p.tabs))
		if err != nil {
			return nil, err
		}
		if !seen[b.f.name] {
			seen[b.f.name] = true
			p.cols = append(p.cols, b)
		}
	}
	return p, nil
}

func joinTables(q *query) []tableRef {
	out := make([]tableRef, len(q.joins))
	for i, j := range q.joins {
		out[i] = j.table
	}
	return out
}

// resolve finds a column among the first n tables of the query (a JOIN's
// ON sees the tables joined so far).
func (p *plan) resolve(c colRef, n int) (boundCol, error) {
	if c.table != "" {
		for ti, e := range p.tabs[:n] {
			if strings.EqualFold(e.table, c.table) {
				if f := e.field(c.name); f != nil {
					return boundCol{ti: ti, e: e, f: f}, nil
				}
				return boundCol{}, &QueryError{c.pos, fmt.Sprintf("table %s has no column %q", e.table, c.name)}
			}
		}
		return boundCol{}, &QueryError{c.pos, fmt.Sprintf("table %q is not in the query at this point", c.table)}
	}
	for ti, e := range p.tabs[:n] {
		if f := e.field(c.name); f != nil {
			return boundCol{ti: ti, e: e, f: f}, nil
		}
	}
	for _, e := range entities {
		if e.field(c.name) != nil {
			return boundCol{}, &QueryError{c.pos, fmt.Sprintf("column %q belongs to table %s, which is not in the query at this point", c.name, e.table)}
		}
	}
	return boundCol{}, &QueryError{c.pos, fmt.Sprintf("unknown column %q", c.name)}
}

func (p *plan) condition(x expr, n int, loc *time.Location) (func([]*row) bool, error) {
	switch x := x.(type) {
	case *logical:
		l, err := p.condition(x.l, n, loc)
		if err != nil {
			return nil, err
		}
		r, err := p.condition(x.r, n, loc)
		if err != nil {
			return nil, err
		}
		if x.op == "AND" {
			return func(rows []*row) bool { return l(rows) && r(rows) }, nil
		}
		return func(rows []*row) bool { return l(rows) || r(rows) }, nil
	case *comparison:
		return p.comparison(x, n, loc)
	}
	return nil, &QueryError{0, "unknown condition"}
}

func (p *plan) comparison(c *comparison, n int, loc *time.Location) (func([]*row) bool, error) {
	var dom domain
	var cols [2]*boundCol
	for i, o := range []operand{c.l, c.r} {
		if ref, ok := o.(colRef); ok {
			b, err := p.resolve(ref, n)
			if err != nil {
				return nil, err
			}
			cols[i] = &b
		}
	}
	switch {
	case cols[0] != nil && cols[1] != nil:
		dl, dr := domainOf(cols[0].f.kind), domainOf(cols[1].f.kind)
		if dl != dr {
			return nil, &QueryError{c.pos, fmt.Sprintf("cannot compare %s (%s) with %s (%s)", cols[0].f.name, dl, cols[1].f.name, dr)}
		}
		dom = dl
	case cols[0] != nil:
		dom = domainOf(cols[0].f.kind)
	case cols[1] != nil:
		dom = domainOf(cols[1].f.kind)
	default:
		_, ls := c.l.(strLit)
		_, rs := c.r.(strLit)
		if ls != rs {
			return nil, &QueryError{c.pos, "cannot compare a text with a number"}
		}
		dom = dNum
		if ls {
			dom = dText
		}
	}
	var fs [2]valueFunc
	for i, o := range []operand{c.l, c.r} {
		if cols[i] != nil {
			b := *cols[i]
			fs[i] = func(rows []*row) (any, bool) {
				v, ok := b.raw(rows)
				if !ok {
					return nil, false
				}
				return normalize(v), true
			}
			continue
		}
		name := ""
		if other := cols[1-i]; other != nil {
			name = other.f.name
		}
		v, err := literal(o, dom, name, loc)
		if err != nil {
			return nil, &QueryError{c.pos, err.Error()}
		}
		fs[i] = func([]*row) (any, bool) { return v, true }
	}
	l, r, ge := fs[0], fs[1], c.op == ">="
	return func(rows []*row) bool {
		a, ok := l(rows)
		if !ok {
			return false
		}
		b, ok := r(rows)
		if !ok {
			return false
		}
		d := compareIn(a, b)
		return d == 0 || (ge && d > 0)
	}, nil
}

// literal converts a literal to the comparable form of dom; col names the
// column it is compared with, for the message.
func literal(o operand, dom domain, col string, loc *time.Location) (any, error) {
	switch dom {
	case dNum:
		switch l := o.(type) {
		case numLit:
			return l.v, nil
		case strLit:
			v, err := strconv.ParseFloat(strings.TrimSpace(l.v), 64)
			if err != nil {
				return nil, fmt.Errorf("%s is not a number, and %s is a numeric column", l, col)
			}
			return v, nil
		}
	case dText:
		switch l := o.(type) {
		case strLit:
			return foldText(l.v), nil
		case numLit:
			return nil, fmt.Errorf("%s holds text: quote the value, as in '%s'", col, l.text)
		}
	case dTime:
		if l, ok := o.(strLit); ok {
			t, err := parseTime(l.v, loc)
			if err != nil {
				return nil, fmt.Errorf("%s is not a date-time; write e.g. '2018-10-05T12:00:00'", l)
			}
			return t, nil
		}
		return nil, fmt.Errorf("%s is a date-time column: compare it with a quoted date-time such as '2018-10-05T12:00:00'", col)
	case dBool:
		text := ""
		switch l := o.(type) {
		case numLit:
			text = l.text
		case strLit:
			text = strings.ToLower(strings.TrimSpace(l.v))
		}
		switch text {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
		return nil, fmt.Errorf("%s is a boolean column: compare it with 1, 0, 'true' or 'false'", col)
	}
	return nil, fmt.Errorf("cannot compare %s with %s", col, o)
}

// run produces the rows of a compiled query. The caller holds s.mu.
func (s *Server) runLocked(p *plan) ([][]*row, error) {
	var combos [][]*row
	for _, r := range s.tables[p.tabs[0].name].all() {
		c := make([]*row, len(p.tabs))
		c[0] = r
		combos = append(combos, c)
	}
	for i, j := range p.joins {
		ti := i + 1
		right := s.tables[p.tabs[ti].name].all()
		var next [][]*row
		for _, c := range combos {
			matched := false
			for _, r := range right {
				c[ti] = r
				if j.on(c) {
					next = append(next, slices.Clone(c))
					matched = true
				}
			}
			c[ti] = nil
			if !matched && j.left {
				next = append(next, c)
			}
			if len(next) > maxJoinRows {
				return nil, &QueryError{0, fmt.Sprintf("the joins produce more than %d rows; narrow them with ON", maxJoinRows)}
			}
		}
		combos = next
	}
	if p.where != nil {
		combos = slices.DeleteFunc(combos, func(c []*row) bool { return !p.where(c) })
	}
	if len(p.order) > 0 {
		slices.SortStableFunc(combos, func(a, b []*row) int {
			for _, o := range p.order {
				va, oka := o.col.raw(a)
				vb, okb := o.col.raw(b)
				var d int
				switch {
				case !oka && !okb:
				case !oka:
					d = -1 // NULL sorts first, as in SQL Server
				case !okb:
					d = 1
				default:
					d = compareIn(normalize(va), normalize(vb))
				}
				if o.desc {
					d = -d
				}
				if d != 0 {
					return d
				}
			}
			return 0
		})
	}
	return combos, nil
}

// appendResult writes result rows as a JSON array of objects holding the
// selected columns; SQL NULL is null.
func (p *plan) appendResult(b []byte, rows [][]*row, loc *time.Location) []byte {
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		for k, c := range p.cols {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c.f.name)
			b = append(b, ':')
			if v, ok := c.raw(r); ok {
				b = appendValue(b, c.f, v, loc)
			} else {
				b = append(b, "null"...)
			}
		}
		b = append(b, '}')
	}
	return append(b, ']')
}
