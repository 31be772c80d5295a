// Package transform compiles and runs the expressions a mapping uses for
// value transforms and conditions. It uses the expr language
// (github.com/expr-lang/expr) rather than a home-made one; this package only
// fixes the variables an expression sees and adds a few helpers that
// integration mappings need (padding codes, empty checks).
package transform

import (
	"fmt"
	"strings"

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

func env(kind Kind) map[string]any {
	e := map[string]any{
		"pad":     pad,
		"empty":   isEmpty,
		"trimpad": trimPad,
	}
	switch kind {
	case In:
		e["value"] = nil
		e["record"] = map[string]any{}
	case Out:
		e["value"] = nil
		e["golden"] = map[string]any{}
	case When:
		e["golden"] = map[string]any{}
	case Filter:
		e["record"] = map[string]any{}
	}
	return e
}

// Compile compiles src for the given kind. Conditions must yield a boolean.
func Compile(src string, kind Kind) (*Program, error) {
	opts := []expr.Option{expr.Env(env(kind))}
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
	e := env(kind)
	switch kind {
	case In:
		e["value"], e["record"] = v.Value, v.Record
	case Out:
		e["value"], e["golden"] = v.Value, v.Golden
	case When:
		e["golden"] = v.Golden
	case Filter:
		e["record"] = v.Record
	}
	out, err := expr.Run(p.prog, e)
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
	b, _ := out.(bool)
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

func isEmpty(v any) bool {
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
