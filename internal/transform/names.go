package transform

import (
	"strings"

	"github.com/expr-lang/expr"
)

// Full names, for systems that keep a person's name in one field (WebCRM's
// UserName) where others keep a first and a last name:
//
//	given_name("Jan van Dijk") == "Jan"     family_name("Jan van Dijk") == "van Dijk"
//	given_name("Cher") == nil               family_name("Cher") == "Cher"
//
// The first word is the given name and the rest the family name, which is
// right for the names of the countries Concord's systems are used in
// (particles such as van, de, von stay with the family name) and wrong for
// double given names ("Anna Maria Berg" gives "Maria Berg"). A single word
// is a family name: systems that require one (an ERP's last_name) get it.

func init() {
	helpers = append(helpers,
		expr.Function("given_name", func(args ...any) (any, error) { return GivenName(args[0]), nil }, new(func(any) any)),
		expr.Function("family_name", func(args ...any) (any, error) { return FamilyName(args[0]), nil }, new(func(any) any)),
	)
}

// GivenName returns the first word of a full name when the name has more
// than one; nil otherwise. A value that is not a text passes through.
func GivenName(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	if w := strings.Fields(s); len(w) > 1 {
		return w[0]
	}
	return nil
}

// FamilyName returns a full name without its first word, or the one word
// a name of one word has; nil for a blank name. A value that is not a text
// passes through.
func FamilyName(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	switch w := strings.Fields(s); len(w) {
	case 0:
		return nil
	case 1:
		return w[0]
	default:
		return strings.Join(w[1:], " ")
	}
}
