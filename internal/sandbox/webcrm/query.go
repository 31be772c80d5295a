package webcrm

import (
	"fmt"
	"strconv"
	"strings"
)

// The SQL subset of GET /Queries:
//
//	query   := SELECT ( '*' | column {',' column} ) FROM table {join}
//	           [WHERE expr] [ORDER BY column [ASC|DESC] {',' column [ASC|DESC]}]
//	join    := [INNER | LEFT [OUTER]] JOIN table ON expr
//	expr    := term {OR term}
//	term    := factor {AND factor}
//	factor  := '(' expr ')' | operand ('=' | '>=') operand
//	operand := column | 'text with '' escapes' | ['-'] number
//	column  := name | table '.' name
//
// Keywords match without regard to case. Anything else (other operators,
// NOT, IN, LIKE, functions, aliases, TOP, GROUP BY, comments, several
// statements) is refused with a message saying where and what.

// maxScript is the longest script accepted, in bytes.
const maxScript = 10000

// maxDepth bounds the nesting of parentheses.
const maxDepth = 32

type query struct {
	columns []colRef // empty means *
	from    tableRef
	joins   []join
	where   expr // nil when there is no WHERE
	orderBy []orderKey
}

type tableRef struct {
	name string
	pos  int
}

type colRef struct {
	table string // empty when not qualified
	name  string
	pos   int
}

type join struct {
	left  bool
	table tableRef
	on    expr
}

type orderKey struct {
	col  colRef
	desc bool
}

// expr is a condition: a logical (AND, OR) or a comparison.
type expr interface{ String() string }

type logical struct {
	op   string // AND, OR
	l, r expr
}

type comparison struct {
	op   string // =, >=
	l, r operand
	pos  int
}

// operand is a colRef, a strLit or a numLit.
type operand interface{ String() string }

type strLit struct{ v string }

type numLit struct {
	text string // as written, with its sign
	v    float64
}

func (q *query) String() string {
	var b strings.Builder
	b.WriteString("SELECT ")
	if len(q.columns) == 0 {
		b.WriteString("*")
	}
	for i, c := range q.columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.String())
	}
	b.WriteString(" FROM " + q.from.name)
	for _, j := range q.joins {
		if j.left {
			b.WriteString(" LEFT")
		}
		fmt.Fprintf(&b, " JOIN %s ON %s", j.table.name, j.on)
	}
	if q.where != nil {
		b.WriteString(" WHERE " + q.where.String())
	}
	for i, o := range q.orderBy {
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(o.col.String())
		if o.desc {
			b.WriteString(" DESC")
		}
	}
	return b.String()
}

func (c colRef) String() string {
	if c.table != "" {
		return c.table + "." + c.name
	}
	return c.name
}

func (l *logical) String() string { return "(" + l.l.String() + " " + l.op + " " + l.r.String() + ")" }
func (c *comparison) String() string {
	return "(" + c.l.String() + " " + c.op + " " + c.r.String() + ")"
}
func (s strLit) String() string { return "'" + strings.ReplaceAll(s.v, "'", "''") + "'" }
func (n numLit) String() string { return n.text }

// QueryError is a script the sandbox cannot run: what is wrong and where
// (a 1-based byte position in the script).
type QueryError struct {
	Pos int
	Msg string
}

func (e *QueryError) Error() string {
	if e.Pos > 0 {
		return fmt.Sprintf("query error at position %d: %s", e.Pos, e.Msg)
	}
	return "query error: " + e.Msg
}

// --- lexer ---

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tOp
	tLParen
	tRParen
	tComma
	tStar
	tDot
	tMinus
)

type token struct {
	kind tokKind
	text string // identifiers and operators as written; strings unescaped
	pos  int    // 1-based
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end of the script"
	case tString:
		return "a text '" + t.text + "'"
	case tNumber:
		return "the number " + t.text
	}
	return "'" + t.text + "'"
}

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		pos := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isLetter(c):
			j := i + 1
			for j < len(src) && (isLetter(src[j]) || isDigit(src[j])) {
				j++
			}
			toks = append(toks, token{tIdent, src[i:j], pos})
			i = j
		case isDigit(c):
			j := i + 1
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			if j+1 < len(src) && src[j] == '.' && isDigit(src[j+1]) {
				j++
				for j < len(src) && isDigit(src[j]) {
					j++
				}
			}
			if j < len(src) && isLetter(src[j]) {
				return nil, &QueryError{pos, fmt.Sprintf("%q is neither a number nor a name", src[i:j+1])}
			}
			toks = append(toks, token{tNumber, src[i:j], pos})
			i = j
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(src) {
					return nil, &QueryError{pos, "the text starting here has no closing quote"}
				}
				if src[j] == '\'' {
					if j+1 < len(src) && src[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(src[j])
				j++
			}
			toks = append(toks, token{tString, b.String(), pos})
			i = j + 1
		case c == '=':
			toks = append(toks, token{tOp, "=", pos})
			i++
		case c == '>' || c == '<' || c == '!':
			op := string(c)
			if i+1 < len(src) && (src[i+1] == '=' || (c == '<' && src[i+1] == '>')) {
				op += string(src[i+1])
			}
			toks = append(toks, token{tOp, op, pos})
			i += len(op)
		case c == '(':
			toks = append(toks, token{tLParen, "(", pos})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", pos})
			i++
		case c == ',':
			toks = append(toks, token{tComma, ",", pos})
			i++
		case c == '*':
			toks = append(toks, token{tStar, "*", pos})
			i++
		case c == '.':
			toks = append(toks, token{tDot, ".", pos})
			i++
		case c == '-':
			if i+1 < len(src) && src[i+1] == '-' {
				return nil, &QueryError{pos, "comments are not supported"}
			}
			toks = append(toks, token{tMinus, "-", pos})
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			return nil, &QueryError{pos, "comments are not supported"}
		case c == ';':
			return nil, &QueryError{pos, "one statement only, without ';'"}
		case c == '[' || c == '"' || c == '`':
			return nil, &QueryError{pos, "quoted names are not supported: write the column name as it is"}
		case c == '@':
			return nil, &QueryError{pos, "parameters are not supported: write the value as a literal"}
		default:
			return nil, &QueryError{pos, fmt.Sprintf("unexpected character %q", rune(c))}
		}
	}
	return append(toks, token{tEOF, "", len(src) + 1}), nil
}

func isLetter(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// --- parser ---

var keywords = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "AND": true, "OR": true, "JOIN": true,
	"INNER": true, "LEFT": true, "OUTER": true, "ON": true, "ORDER": true, "BY": true,
	"ASC": true, "DESC": true,
}

// unsupported are SQL words a client may try; they get a message naming them.
var unsupported = map[string]bool{
	"TOP": true, "DISTINCT": true, "GROUP": true, "HAVING": true, "LIMIT": true, "OFFSET": true,
	"UNION": true, "NOT": true, "IN": true, "LIKE": true, "IS": true, "NULL": true, "BETWEEN": true,
	"EXISTS": true, "AS": true, "RIGHT": true, "FULL": true, "CROSS": true, "INSERT": true,
	"UPDATE": true, "DELETE": true, "CASE": true, "FETCH": true, "INTO": true, "WITH": true,
	"EXCEPT": true, "INTERSECT": true,
}

type parser struct {
	toks  []token
	i     int
	depth int
}

// parseQuery reads a script of the supported SQL subset.
func parseQuery(src string) (*query, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &QueryError{0, "the script is empty; send e.g. script=SELECT * FROM Organisation"}
	}
	if len(src) > maxScript {
		return nil, &QueryError{0, fmt.Sprintf("the script is longer than %d characters", maxScript)}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	return p.query()
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tIdent && strings.EqualFold(t.text, w)
}

func (p *parser) acceptWord(w string) bool {
	if p.isWord(w) {
		p.i++
		return true
	}
	return false
}

// unexpected reports the next token where something else was wanted.
func (p *parser) unexpected(want string) error {
	t := p.peek()
	if t.kind == tIdent && unsupported[strings.ToUpper(t.text)] {
		return &QueryError{t.pos, fmt.Sprintf("%s is not supported (the sandbox takes SELECT … FROM … [JOIN … ON (…)] [WHERE …] [ORDER BY …])", strings.ToUpper(t.text))}
	}
	if t.kind == tOp && t.text != "=" && t.text != ">=" {
		return &QueryError{t.pos, fmt.Sprintf("operator %s is not supported: use = or >=", t.text)}
	}
	return &QueryError{t.pos, fmt.Sprintf("expected %s, found %s", want, t.describe())}
}

func (p *parser) expectWord(w string) error {
	if !p.acceptWord(w) {
		return p.unexpected(w)
	}
	return nil
}

func (p *parser) query() (*query, error) {
	q := &query{}
	if err := p.expectWord("SELECT"); err != nil {
		return nil, err
	}
	if p.peek().kind == tStar {
		p.next()
	} else {
		for {
			c, err := p.column()
			if err != nil {
				return nil, err
			}
			q.columns = append(q.columns, c)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
	}
	if err := p.expectWord("FROM"); err != nil {
		return nil, err
	}
	from, err := p.table()
	if err != nil {
		return nil, err
	}
	q.from = from
	for {
		left := false
		switch {
		case p.acceptWord("INNER"):
		case p.acceptWord("LEFT"):
			left = true
			p.acceptWord("OUTER")
		case p.isWord("JOIN"):
		default:
			goto joined
		}
		if err := p.expectWord("JOIN"); err != nil {
			return nil, err
		}
		t, err := p.table()
		if err != nil {
			return nil, err
		}
		if err := p.expectWord("ON"); err != nil {
			return nil, err
		}
		on, err := p.expr()
		if err != nil {
			return nil, err
		}
		q.joins = append(q.joins, join{left: left, table: t, on: on})
	}
joined:
	if p.acceptWord("WHERE") {
		w, err := p.expr()
		if err != nil {
			return nil, err
		}
		q.where = w
	}
	if p.acceptWord("ORDER") {
		if err := p.expectWord("BY"); err != nil {
			return nil, err
		}
		for {
			c, err := p.column()
			if err != nil {
				return nil, err
			}
			k := orderKey{col: c}
			if p.acceptWord("DESC") {
				k.desc = true
			} else {
				p.acceptWord("ASC")
			}
			q.orderBy = append(q.orderBy, k)
			if p.peek().kind != tComma {
				break
			}
			p.next()
		}
	}
	if p.peek().kind != tEOF {
		return nil, p.unexpected("the end of the script")
	}
	return q, nil
}

// name reads an identifier that is not a keyword.
func (p *parser) name(want string) (token, error) {
	t := p.peek()
	if t.kind != tIdent || keywords[strings.ToUpper(t.text)] || unsupported[strings.ToUpper(t.text)] {
		return token{}, p.unexpected(want)
	}
	p.next()
	return t, nil
}

func (p *parser) table() (tableRef, error) {
	t, err := p.name("a table name")
	if err != nil {
		return tableRef{}, err
	}
	if n := p.peek(); n.kind == tIdent && !keywords[strings.ToUpper(n.text)] && !unsupported[strings.ToUpper(n.text)] {
		return tableRef{}, &QueryError{n.pos, fmt.Sprintf("table aliases are not supported (found %q after %s)", n.text, t.text)}
	}
	if p.isWord("AS") {
		return tableRef{}, &QueryError{p.peek().pos, "table aliases are not supported"}
	}
	return tableRef{name: t.text, pos: t.pos}, nil
}

func (p *parser) column() (colRef, error) {
	t, err := p.name("a column name")
	if err != nil {
		return colRef{}, err
	}
	if p.peek().kind == tLParen {
		return colRef{}, &QueryError{t.pos, fmt.Sprintf("functions such as %s(…) are not supported", t.text)}
	}
	if p.peek().kind != tDot {
		return colRef{name: t.text, pos: t.pos}, nil
	}
	p.next()
	if p.peek().kind == tStar {
		return colRef{}, &QueryError{p.peek().pos, "table.* is not supported: use * or name the columns"}
	}
	n, err := p.name("a column name after '.'")
	if err != nil {
		return colRef{}, err
	}
	return colRef{table: t.text, name: n.text, pos: t.pos}, nil
}

func (p *parser) expr() (expr, error) {
	l, err := p.term()
	if err != nil {
		return nil, err
	}
	for p.acceptWord("OR") {
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		l = &logical{op: "OR", l: l, r: r}
	}
	return l, nil
}

func (p *parser) term() (expr, error) {
	l, err := p.factor()
	if err != nil {
		return nil, err
	}
	for p.acceptWord("AND") {
		r, err := p.factor()
		if err != nil {
			return nil, err
		}
		l = &logical{op: "AND", l: l, r: r}
	}
	return l, nil
}

func (p *parser) factor() (expr, error) {
	if t := p.peek(); t.kind == tLParen {
		if p.depth >= maxDepth {
			return nil, &QueryError{t.pos, fmt.Sprintf("parentheses nest deeper than %d", maxDepth)}
		}
		p.next()
		p.depth++
		e, err := p.expr()
		p.depth--
		if err != nil {
			return nil, err
		}
		if p.peek().kind != tRParen {
			return nil, p.unexpected("')'")
		}
		p.next()
		return e, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	op := p.peek()
	if op.kind != tOp || (op.text != "=" && op.text != ">=") {
		return nil, p.unexpected("= or >=")
	}
	p.next()
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	return &comparison{op: op.text, l: l, r: r, pos: op.pos}, nil
}

func (p *parser) operand() (operand, error) {
	t := p.peek()
	switch t.kind {
	case tString:
		p.next()
		return strLit{v: t.text}, nil
	case tMinus, tNumber:
		p.next()
		text := t.text
		if t.kind == tMinus {
			n := p.peek()
			if n.kind != tNumber {
				return nil, p.unexpected("a number after '-'")
			}
			p.next()
			text = "-" + n.text
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, &QueryError{t.pos, fmt.Sprintf("%s is not a number", text)}
		}
		return numLit{text: text, v: v}, nil
	case tIdent:
		return p.column()
	}
	return nil, p.unexpected("a column, a 'text' or a number")
}
