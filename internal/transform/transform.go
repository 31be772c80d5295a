// Package transform compiles and runs the expressions a mapping uses for
// value transforms and conditions. It uses the expr language
// (github.com/expr-lang/expr) rather than a home-made one; this package only
// fixes the variables an expression sees and adds a few helpers that
// integration mappings need (padding codes, empty checks, VAT numbers).
package transform

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Kind says where an expression runs and therefore which variables it sees.
type Kind int

const (
	// In transforms a system field into a canonical property:
	// `value` is the field's value, `record` all fields of the record.
	In Kind = iota
	// Out transforms a canonical property into a system field:
	// `value` is the property's value, `golden` all canonical properties.
	Out
	// When is a condition on a golden record (`golden`) that chooses whether
	// a target datatype takes it.
	When
	// Filter is a condition on a system record (`record`) that chooses
	// whether it is collected into the hub.
	Filter
)

// Program is a compiled expression.
type Program struct {
	src  string
	prog *vm.Program
}

// Source returns the expression text.
func (p *Program) Source() string { return p.src }

// The environments are structs, not maps, so that expr types `value` as
// "any" (a map holding nil would type it as nil and reject lower(value)).
type inEnv struct {
	Value  any            `expr:"value"`
	Record map[string]any `expr:"record"`
}

type outEnv struct {
	Value  any            `expr:"value"`
	Golden map[string]any `expr:"golden"`
}

type whenEnv struct {
	Golden map[string]any `expr:"golden"`
}

type filterEnv struct {
	Record map[string]any `expr:"record"`
}

func env(kind Kind, v Vars) any {
	switch kind {
	case In:
		return inEnv{Value: v.Value, Record: v.Record}
	case Out:
		return outEnv{Value: v.Value, Golden: v.Golden}
	case When:
		return whenEnv{Golden: v.Golden}
	default:
		return filterEnv{Record: v.Record}
	}
}

var helpers = []expr.Option{
	expr.Function("pad", func(args ...any) (any, error) {
		n, _ := args[1].(int)
		ch, _ := args[2].(string)
		return pad(args[0], n, ch), nil
	}, pad),
	expr.Function("trimpad", func(args ...any) (any, error) { return trimPad(args[0]), nil }, trimPad),
	expr.Function("empty", func(args ...any) (any, error) { return IsEmpty(args[0]), nil }, IsEmpty),
	expr.Function("vatnumber", func(args ...any) (any, error) { return vatNumber(args[0]), nil }, vatNumber),
}

// Compile compiles src for the given kind. Conditions must yield a boolean.
func Compile(src string, kind Kind) (*Program, error) {
	opts := append([]expr.Option{expr.Env(env(kind, Vars{}))}, helpers...)
	if kind == When || kind == Filter {
		opts = append(opts, expr.AsBool())
	}
	p, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, fmt.Errorf("invalid expression %q: %s", src, oneLine(err.Error()))
	}
	return &Program{src: src, prog: p}, nil
}

// Vars are the inputs of one evaluation.
type Vars struct {
	Value  any
	Record map[string]any
	Golden map[string]any
}

// Eval runs the program.
func (p *Program) Eval(kind Kind, v Vars) (any, error) {
	out, err := expr.Run(p.prog, env(kind, v))
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", p.src, oneLine(err.Error()))
	}
	return out, nil
}

// Test evaluates a condition.
func (p *Program) Test(kind Kind, v Vars) (bool, error) {
	out, err := p.Eval(kind, v)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition %q gave %v (%T), expected true or false", p.src, out, out)
	}
	return b, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// pad left-pads s with ch to width n: pad("123", 18, " ") as Exact pads codes.
func pad(v any, n int, ch string) string {
	s := fmt.Sprint(v)
	if v == nil {
		s = ""
	}
	if ch == "" {
		ch = " "
	}
	for len(s) < n {
		s = ch + s
	}
	return s
}

// trimPad removes left padding: trimpad("   123") == "123".
func trimPad(v any) string {
	if v == nil {
		return ""
	}
	return strings.TrimLeft(fmt.Sprint(v), " ")
}

// vatNumber writes a VAT number the one way systems compare it: upper case,
// without the spaces (of any kind), dots and dashes people type into it
// (vatnumber("nl 8012.34.567.B01") == "NL801234567B01"), so that merge
// criteria match the same number however each system spells it. Empty
// stays nil, so that an empty number never overwrites one.
func vatNumber(v any) any {
	if IsEmpty(v) {
		return nil
	}
	n := strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToUpper(r)
	}, fmt.Sprint(v))
	if n == "" {
		return nil // only separators ("-", ". -"): no number
	}
	return n
}

// IsEmpty tells whether a value counts as empty: nil, blank string, empty
// list or object. Mappings and merge rules use the same definition.
func IsEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
