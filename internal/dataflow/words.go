package dataflow

import (
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// conditionWords says a `when` or `filter` condition in words ("the order's
// status is 'quote'"), for the simple shapes conditions take: comparisons
// of a property with literals, `in` a list, emptiness, and/or/not of those.
// ok is false for anything else; the caller then shows the expression only.
// subject names a property of the condition's variable (golden or record).
func conditionWords(src string, subject func(variable, prop string) Text) (Text, bool) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, false
	}
	w := &worder{subject: subject}
	t := w.cond(tree.Node, false)
	if w.failed {
		return nil, false
	}
	return t, true
}

type worder struct {
	subject func(variable, prop string) Text
	failed  bool
}

var negated = map[string]string{
	"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">", "in": "not in", "not in": "in",
}

var mirrored = map[string]string{"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}

var phrase = map[string]string{
	"==": "is", "!=": "is not", "<": "is less than", "<=": "is at most", ">": "is more than", ">=": "is at least",
	"in": "is one of", "not in": "is none of",
}

func (w *worder) cond(n ast.Node, not bool) Text {
	switch n := n.(type) {
	case *ast.UnaryNode:
		if n.Operator == "not" || n.Operator == "!" {
			return w.cond(n.Node, !not)
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "and", "&&", "or", "||":
			join := " and "
			if (n.Operator == "or" || n.Operator == "||") != not {
				join = " or "
			}
			l, r := w.cond(n.Left, not), w.cond(n.Right, not)
			return append(append(l, plain(join)), r...)
		}
		op := n.Operator
		left, right := n.Left, n.Right
		if _, ok := w.property(left); !ok {
			if op == "in" || op == "not in" {
				break
			}
			// 'quote' == golden.status: read it the other way round.
			left, right = right, left
			op = mirrored[op]
		}
		if not {
			op = negated[op]
		}
		subj, ok := w.property(left)
		if !ok || phrase[op] == "" {
			break
		}
		if lit, empty, ok := literal(right); ok {
			if empty && (op == "==" || op == "!=") {
				return append(subj, plain(map[string]string{"==": " is empty", "!=": " is not empty"}[op]))
			}
			return append(subj, plain(" "+phrase[op]+" "+lit))
		}
	case *ast.MemberNode:
		if subj, ok := w.property(n); ok {
			if not {
				return append(subj, plain(" is false or empty"))
			}
			return append(subj, plain(" is true"))
		}
	}
	w.failed = true
	return nil
}

// property recognises golden.x, golden["x"], record.x.
func (w *worder) property(n ast.Node) (Text, bool) {
	m, ok := n.(*ast.MemberNode)
	if !ok || m.Method {
		return nil, false
	}
	root, ok := m.Node.(*ast.IdentifierNode)
	if !ok || (root.Value != "golden" && root.Value != "record") {
		return nil, false
	}
	p, ok := m.Property.(*ast.StringNode)
	if !ok {
		return nil, false
	}
	return w.subject(root.Value, p.Value), true
}

// literal renders a constant; empty is true for nil and "".
func literal(n ast.Node) (text string, empty, ok bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return "'" + n.Value + "'", n.Value == "", true
	case *ast.IntegerNode:
		return strconv.Itoa(n.Value), false, true
	case *ast.FloatNode:
		return strconv.FormatFloat(n.Value, 'f', -1, 64), false, true
	case *ast.BoolNode:
		return strconv.FormatBool(n.Value), false, true
	case *ast.NilNode:
		return "empty", true, true
	case *ast.ArrayNode:
		var items []string
		for _, e := range n.Nodes {
			s, _, ok := literal(e)
			if !ok {
				return "", false, false
			}
			items = append(items, s)
		}
		return strings.Join(items, ", "), false, len(items) > 0
	}
	return "", false, false
}

// usesValue tells whether a transform uses the value it transforms; one
// that does not sets the field to something else (a constant, or a value
// made from other fields).
func usesValue(src string) bool {
	tree, err := parser.Parse(src)
	if err != nil {
		return true
	}
	v := &finder{name: "value"}
	ast.Walk(&tree.Node, v)
	return v.found
}

type finder struct {
	name  string
	found bool
}

func (f *finder) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok && id.Value == f.name {
		f.found = true
	}
}
