package exactonline

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The $filter language: OData v2 boolean expressions as Exact Online takes
// them.
//
//	expr    = or
//	or      = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | compare
//	compare = primary [ ("eq"|"ne"|"gt"|"ge"|"lt"|"le") primary ]
//	primary = "(" expr ")" | literal | name "(" [ expr { "," expr } ] ")" | property
//
// Literals: 'text' ('' is a quote), guid'…', datetime'…', datetimeoffset'…',
// 12 (Int32), 12L (Int64), 1.5, 1.5d, 1.5m, 1.5f (Double), true, false, null.
// Functions: trim, tolower, toupper, length, concat, substringof, startswith,
// endswith, indexof, year, month, day, hour, minute, second.
//
// Expressions are typed when parsed, as WCF Data Services does: comparing a
// Guid property with a string literal is an error, not an empty result.

// filterNode is a typed node of a parsed $filter.
type filterNode interface {
	edm() edmType
	String() string
}

type litNode struct {
	t edmType
	v any // held as values.go describes; nil for null
}

type propNode struct {
	name string
	t    edmType
}

type callNode struct {
	fn   string
	args []filterNode
	t    edmType
}

type binNode struct {
	op   string // eq ne gt ge lt le and or
	l, r filterNode
}

type notNode struct{ x filterNode }

func (n litNode) edm() edmType  { return n.t }
func (n propNode) edm() edmType { return n.t }
func (n callNode) edm() edmType { return n.t }
func (n binNode) edm() edmType  { return edmBool }
func (n notNode) edm() edmType  { return edmBool }

func (n litNode) String() string  { return formatLiteral(n.t, n.v) }
func (n propNode) String() string { return n.name }
func (n callNode) String() string {
	args := make([]string, len(n.args))
	for i, a := range n.args {
		args[i] = a.String()
	}
	return n.fn + "(" + strings.Join(args, ", ") + ")"
}
func (n binNode) String() string { return "(" + n.l.String() + " " + n.op + " " + n.r.String() + ")" }
func (n notNode) String() string { return "not " + n.x.String() }

// formatLiteral writes v as an OData literal of type t that parses back to
// the same value. DateTimes are written in UTC with a Z so that no daylight
// saving ambiguity can creep in.
func formatLiteral(t edmType, v any) string {
	if v == nil {
		return "null"
	}
	switch t {
	case edmString:
		return "'" + strings.ReplaceAll(v.(string), "'", "''") + "'"
	case edmGuid:
		return "guid'" + v.(string) + "'"
	case edmDateTime:
		return "datetime'" + v.(time.Time).UTC().Format("2006-01-02T15:04:05.999999999Z") + "'"
	case edmInt32:
		return strconv.FormatInt(v.(int64), 10)
	case edmInt64:
		return strconv.FormatInt(v.(int64), 10) + "L"
	case edmDouble:
		s := strconv.FormatFloat(v.(float64), 'g', -1, 64)
		if !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case edmBool:
		return strconv.FormatBool(v.(bool))
	}
	return "null"
}

// FilterError is a $filter (or $orderby, $skiptoken) the sandbox cannot
// parse or type, with the byte position it stumbled at.
type FilterError struct {
	Pos int
	Msg string
}

func (e *FilterError) Error() string { return fmt.Sprintf("%s at position %d", e.Msg, e.Pos) }

// maxFilterDepth bounds nesting, so a hostile filter cannot exhaust the
// stack.
const maxFilterDepth = 100

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokLit
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokKind
	pos  int
	text string // identifier text
	lit  litNode
}

type filterParser struct {
	src    string
	pos    int
	tok    token
	props  func(string) (edmType, bool)
	loc    *time.Location
	depth  int
	lexErr error
}

// parseFilter parses and types src against the properties props knows.
// Local date-times in literals are read in loc.
func parseFilter(src string, props func(string) (edmType, bool), loc *time.Location) (filterNode, error) {
	p := &filterParser{src: src, props: props, loc: loc}
	if err := p.next(); err != nil {
		return nil, err
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errorf(p.tok.pos, "syntax error: unexpected %s", p.describe())
	}
	if n.edm() != edmBool {
		return nil, p.errorf(0, "the filter is a %s, not a Boolean expression", n.edm())
	}
	return n, nil
}

// parseLiterals parses a comma-separated list of literals, the form of a
// $skiptoken and of a key in parentheses.
func parseLiterals(src string, loc *time.Location) ([]litNode, error) {
	p := &filterParser{src: src, props: func(string) (edmType, bool) { return 0, false }, loc: loc}
	if err := p.next(); err != nil {
		return nil, err
	}
	var out []litNode
	for {
		if p.tok.kind != tokLit {
			return nil, p.errorf(p.tok.pos, "expected a literal, found %s", p.describe())
		}
		out = append(out, p.tok.lit)
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokEOF {
			return out, nil
		}
		if p.tok.kind != tokComma {
			return nil, p.errorf(p.tok.pos, "expected ',' between literals, found %s", p.describe())
		}
		if err := p.next(); err != nil {
			return nil, err
		}
	}
}

func (p *filterParser) errorf(pos int, format string, args ...any) error {
	return &FilterError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *filterParser) describe() string {
	switch p.tok.kind {
	case tokEOF:
		return "end of filter"
	case tokIdent:
		return "'" + p.tok.text + "'"
	case tokLit:
		return "literal " + p.tok.lit.String()
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokComma:
		return "','"
	}
	return "token"
}

func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || '0' <= c && c <= '9' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }

// next scans the next token into p.tok.
func (p *filterParser) next() error {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.src) {
		p.tok = token{kind: tokEOF, pos: start}
		return nil
	}
	c := p.src[p.pos]
	switch {
	case c == '(':
		p.pos++
		p.tok = token{kind: tokLParen, pos: start}
	case c == ')':
		p.pos++
		p.tok = token{kind: tokRParen, pos: start}
	case c == ',':
		p.pos++
		p.tok = token{kind: tokComma, pos: start}
	case c == '\'':
		s, err := p.scanQuoted()
		if err != nil {
			return err
		}
		p.tok = token{kind: tokLit, pos: start, lit: litNode{t: edmString, v: s}}
	case isDigit(c) || c == '-' && p.pos+1 < len(p.src) && (isDigit(p.src[p.pos+1]) || p.src[p.pos+1] == '.'):
		lit, err := p.scanNumber()
		if err != nil {
			return err
		}
		p.tok = token{kind: tokLit, pos: start, lit: lit}
	case c == '.' && p.pos+1 < len(p.src) && isDigit(p.src[p.pos+1]):
		lit, err := p.scanNumber()
		if err != nil {
			return err
		}
		p.tok = token{kind: tokLit, pos: start, lit: lit}
	case isIdentStart(c):
		for p.pos < len(p.src) && isIdentPart(p.src[p.pos]) {
			p.pos++
		}
		word := p.src[start:p.pos]
		if p.pos < len(p.src) && p.src[p.pos] == '\'' {
			lit, err := p.typedLiteral(word, start)
			if err != nil {
				return err
			}
			p.tok = token{kind: tokLit, pos: start, lit: lit}
			return nil
		}
		switch word {
		case "true", "false":
			p.tok = token{kind: tokLit, pos: start, lit: litNode{t: edmBool, v: word == "true"}}
		case "null":
			p.tok = token{kind: tokLit, pos: start, lit: litNode{t: edmNull}}
		default:
			p.tok = token{kind: tokIdent, pos: start, text: word}
		}
	default:
		r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
		return p.errorf(start, "syntax error: unexpected character %q", r)
	}
	return nil
}

// scanQuoted reads '…' at p.pos, where ” stands for one quote.
func (p *filterParser) scanQuoted() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '\'' {
			if p.pos+1 < len(p.src) && p.src[p.pos+1] == '\'' {
				b.WriteByte('\'')
				p.pos += 2
				continue
			}
			p.pos++
			return b.String(), nil
		}
		b.WriteByte(c)
		p.pos++
	}
	return "", p.errorf(start, "unterminated string literal")
}

func (p *filterParser) typedLiteral(prefix string, start int) (litNode, error) {
	body, err := p.scanQuoted()
	if err != nil {
		return litNode{}, err
	}
	switch strings.ToLower(prefix) {
	case "guid":
		g, ok := parseGUID(body)
		if !ok {
			return litNode{}, p.errorf(start, "unrecognized Edm.Guid literal guid'%s'", body)
		}
		return litNode{t: edmGuid, v: g}, nil
	case "datetime", "datetimeoffset":
		t, err := parseDate(body, p.loc)
		if err != nil || strings.HasPrefix(body, "/Date(") {
			return litNode{}, p.errorf(start, "unrecognized Edm.DateTime literal %s'%s'", prefix, body)
		}
		return litNode{t: edmDateTime, v: t}, nil
	}
	return litNode{}, p.errorf(start, "unknown literal prefix %q", prefix)
}

func (p *filterParser) scanNumber() (litNode, error) {
	start := p.pos
	if p.src[p.pos] == '-' {
		p.pos++
	}
	for p.pos < len(p.src) && isDigit(p.src[p.pos]) {
		p.pos++
	}
	isFloat := false
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		isFloat = true
		p.pos++
		for p.pos < len(p.src) && isDigit(p.src[p.pos]) {
			p.pos++
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		q := p.pos + 1
		if q < len(p.src) && (p.src[q] == '+' || p.src[q] == '-') {
			q++
		}
		if q < len(p.src) && isDigit(p.src[q]) {
			isFloat = true
			p.pos = q
			for p.pos < len(p.src) && isDigit(p.src[p.pos]) {
				p.pos++
			}
		}
	}
	text := p.src[start:p.pos]
	suffix := byte(0)
	if p.pos < len(p.src) && strings.IndexByte("LlMmDdFf", p.src[p.pos]) >= 0 {
		suffix = p.src[p.pos] | 0x20
		p.pos++
	}
	if p.pos < len(p.src) && isIdentPart(p.src[p.pos]) {
		return litNode{}, p.errorf(start, "malformed number %q", p.src[start:p.pos+1])
	}
	switch {
	case suffix == 'l':
		if isFloat {
			return litNode{}, p.errorf(start, "malformed Edm.Int64 literal %sL", text)
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return litNode{}, p.errorf(start, "Edm.Int64 literal %sL out of range", text)
		}
		return litNode{t: edmInt64, v: n}, nil
	case suffix != 0 || isFloat:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			return litNode{}, p.errorf(start, "malformed number %q", text)
		}
		return litNode{t: edmDouble, v: f}, nil
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return litNode{}, p.errorf(start, "integer literal %s out of range", text)
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return litNode{t: edmInt64, v: n}, nil
	}
	return litNode{t: edmInt32, v: n}, nil
}

func (p *filterParser) isWord(w string) bool { return p.tok.kind == tokIdent && p.tok.text == w }

func (p *filterParser) enter() error {
	p.depth++
	if p.depth > maxFilterDepth {
		return p.errorf(p.tok.pos, "filter nested deeper than %d levels", maxFilterDepth)
	}
	return nil
}

func (p *filterParser) parseOr() (filterNode, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isWord("or") {
		pos := p.tok.pos
		if err := p.next(); err != nil {
			return nil, err
		}
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		if l.edm() != edmBool || r.edm() != edmBool {
			return nil, p.errorf(pos, "operator 'or' incompatible with operand types '%s' and '%s'", l.edm(), r.edm())
		}
		l = binNode{op: "or", l: l, r: r}
	}
	return l, nil
}

func (p *filterParser) parseAnd() (filterNode, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.isWord("and") {
		pos := p.tok.pos
		if err := p.next(); err != nil {
			return nil, err
		}
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if l.edm() != edmBool || r.edm() != edmBool {
			return nil, p.errorf(pos, "operator 'and' incompatible with operand types '%s' and '%s'", l.edm(), r.edm())
		}
		l = binNode{op: "and", l: l, r: r}
	}
	return l, nil
}

func (p *filterParser) parseUnary() (filterNode, error) {
	if p.isWord("not") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		pos := p.tok.pos
		if err := p.next(); err != nil {
			return nil, err
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if x.edm() != edmBool {
			return nil, p.errorf(pos, "operator 'not' incompatible with operand type '%s'", x.edm())
		}
		return notNode{x: x}, nil
	}
	return p.parseCompare()
}

var comparisons = map[string]bool{"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true}
var arithmetic = map[string]bool{"add": true, "sub": true, "mul": true, "div": true, "mod": true}

func (p *filterParser) parseCompare() (filterNode, error) {
	l, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tokIdent && arithmetic[p.tok.text] {
		return nil, p.errorf(p.tok.pos, "arithmetic operator '%s' is not supported", p.tok.text)
	}
	if p.tok.kind != tokIdent || !comparisons[p.tok.text] {
		return l, nil
	}
	op, pos := p.tok.text, p.tok.pos
	if err := p.next(); err != nil {
		return nil, err
	}
	r, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	if !comparable(op, l.edm(), r.edm()) {
		return nil, p.errorf(pos, "operator '%s' incompatible with operand types '%s' and '%s'", op, l.edm(), r.edm())
	}
	return binNode{op: op, l: l, r: r}, nil
}

func comparable(op string, a, b edmType) bool {
	switch {
	case a == edmNull || b == edmNull:
		return true
	case a.numeric() && b.numeric():
		return true
	case a != b:
		return false
	case a == edmBool:
		return op == "eq" || op == "ne"
	}
	return true
}

func (p *filterParser) parsePrimary() (filterNode, error) {
	switch p.tok.kind {
	case tokLParen:
		if err := p.next(); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.errorf(p.tok.pos, "syntax error: expected ')', found %s", p.describe())
		}
		return n, p.next()
	case tokLit:
		n := p.tok.lit
		return n, p.next()
	case tokIdent:
		name, pos := p.tok.text, p.tok.pos
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokLParen {
			return p.parseCall(name, pos)
		}
		if comparisons[name] || name == "and" || name == "or" || name == "not" || arithmetic[name] {
			return nil, p.errorf(pos, "syntax error: expected an operand, found '%s'", name)
		}
		t, ok := p.props(name)
		if !ok {
			return nil, p.errorf(pos, "no property '%s' exists in type", name)
		}
		return propNode{name: name, t: t}, nil
	}
	return nil, p.errorf(p.tok.pos, "syntax error: expected an operand, found %s", p.describe())
}

// signatures maps each function to its parameter types and result type.
var signatures = map[string]struct {
	params []edmType
	result edmType
}{
	"trim":        {[]edmType{edmString}, edmString},
	"tolower":     {[]edmType{edmString}, edmString},
	"toupper":     {[]edmType{edmString}, edmString},
	"length":      {[]edmType{edmString}, edmInt32},
	"concat":      {[]edmType{edmString, edmString}, edmString},
	"substringof": {[]edmType{edmString, edmString}, edmBool},
	"startswith":  {[]edmType{edmString, edmString}, edmBool},
	"endswith":    {[]edmType{edmString, edmString}, edmBool},
	"indexof":     {[]edmType{edmString, edmString}, edmInt32},
	"year":        {[]edmType{edmDateTime}, edmInt32},
	"month":       {[]edmType{edmDateTime}, edmInt32},
	"day":         {[]edmType{edmDateTime}, edmInt32},
	"hour":        {[]edmType{edmDateTime}, edmInt32},
	"minute":      {[]edmType{edmDateTime}, edmInt32},
	"second":      {[]edmType{edmDateTime}, edmInt32},
}

func (p *filterParser) parseCall(name string, pos int) (filterNode, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	sig, ok := signatures[name]
	if !ok {
		return nil, p.errorf(pos, "unknown function '%s'", name)
	}
	if err := p.next(); err != nil { // past '('
		return nil, err
	}
	var args []filterNode
	if p.tok.kind != tokRParen {
		for {
			a, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			args = append(args, a)
			if p.tok.kind != tokComma {
				break
			}
			if err := p.next(); err != nil {
				return nil, err
			}
		}
	}
	if p.tok.kind != tokRParen {
		return nil, p.errorf(p.tok.pos, "syntax error: expected ')' after the arguments of %s, found %s", name, p.describe())
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	if len(args) != len(sig.params) {
		return nil, p.errorf(pos, "function '%s' takes %d argument(s), not %d", name, len(sig.params), len(args))
	}
	for i, a := range args {
		if a.edm() != sig.params[i] && a.edm() != edmNull {
			return nil, p.errorf(pos, "argument %d of '%s' must be %s, not %s", i+1, name, sig.params[i], a.edm())
		}
	}
	return callNode{fn: name, args: args, t: sig.result}, nil
}

// evalFilter evaluates n against a row whose property values get returns.
func evalFilter(n filterNode, get func(string) any, loc *time.Location) any {
	switch n := n.(type) {
	case litNode:
		return n.v
	case propNode:
		return get(n.name)
	case notNode:
		b, _ := evalFilter(n.x, get, loc).(bool)
		return !b
	case binNode:
		switch n.op {
		case "and":
			if b, _ := evalFilter(n.l, get, loc).(bool); !b {
				return false
			}
			b, _ := evalFilter(n.r, get, loc).(bool)
			return b
		case "or":
			if b, _ := evalFilter(n.l, get, loc).(bool); b {
				return true
			}
			b, _ := evalFilter(n.r, get, loc).(bool)
			return b
		}
		return compareOp(n.op, evalFilter(n.l, get, loc), evalFilter(n.r, get, loc))
	case callNode:
		args := make([]any, len(n.args))
		for i, a := range n.args {
			args[i] = evalFilter(a, get, loc)
		}
		return call(n.fn, args, loc)
	}
	return nil
}

func compareOp(op string, a, b any) bool {
	if a == nil || b == nil {
		switch op {
		case "eq":
			return a == nil && b == nil
		case "ne":
			return (a == nil) != (b == nil)
		}
		return false
	}
	c, ok := compareValues(a, b)
	if !ok {
		return op == "ne"
	}
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

// compareValues orders two non-nil held values. Strings compare without
// regard to case, as Exact's database collation does.
func compareValues(a, b any) (int, bool) {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(strings.ToLower(x), strings.ToLower(y)), true
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, y), true
		case float64:
			return cmpOrdered(float64(x), y), true
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, float64(y)), true
		case float64:
			return cmpOrdered(x, y), true
		}
	case bool:
		y, ok := b.(bool)
		if !ok {
			return 0, false
		}
		switch {
		case x == y:
			return 0, true
		case !x:
			return -1, true
		}
		return 1, true
	case time.Time:
		y, ok := b.(time.Time)
		if !ok {
			return 0, false
		}
		return x.Compare(y), true
	}
	return 0, false
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func call(fn string, args []any, loc *time.Location) any {
	str := func(i int) (string, bool) { s, ok := args[i].(string); return s, ok }
	switch fn {
	case "trim", "tolower", "toupper", "length":
		s, ok := str(0)
		if !ok {
			return nil
		}
		switch fn {
		case "trim":
			return strings.TrimSpace(s)
		case "tolower":
			return strings.ToLower(s)
		case "toupper":
			return strings.ToUpper(s)
		}
		return int64(utf8.RuneCountInString(s))
	case "concat":
		a, _ := str(0)
		b, _ := str(1)
		return a + b
	case "substringof", "startswith", "endswith", "indexof":
		a, ok1 := str(0)
		b, ok2 := str(1)
		if !ok1 || !ok2 {
			if fn == "indexof" {
				return nil
			}
			return false
		}
		a, b = strings.ToLower(a), strings.ToLower(b)
		switch fn {
		case "substringof": // substringof(needle, haystack)
			return strings.Contains(b, a)
		case "startswith":
			return strings.HasPrefix(a, b)
		case "endswith":
			return strings.HasSuffix(a, b)
		}
		i := strings.Index(a, b)
		if i < 0 {
			return int64(-1)
		}
		return int64(utf8.RuneCountInString(a[:i]))
	case "year", "month", "day", "hour", "minute", "second":
		t, ok := args[0].(time.Time)
		if !ok {
			return nil
		}
		t = t.In(loc)
		switch fn {
		case "year":
			return int64(t.Year())
		case "month":
			return int64(t.Month())
		case "day":
			return int64(t.Day())
		case "hour":
			return int64(t.Hour())
		case "minute":
			return int64(t.Minute())
		}
		return int64(t.Second())
	}
	return nil
}

// filterProps lists the properties a filter refers to.
func filterProps(n filterNode, out map[string]bool) {
	switch n := n.(type) {
	case propNode:
		out[n.name] = true
	case notNode:
		filterProps(n.x, out)
	case binNode:
		filterProps(n.l, out)
		filterProps(n.r, out)
	case callNode:
		for _, a := range n.args {
			filterProps(a, out)
		}
	}
}
