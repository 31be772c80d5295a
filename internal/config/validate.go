package config

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	sjs "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
)

// validate checks the document against the schema and turns every failure
// into an Error in plain words at the right line. Values that failed are
// then replaced by empty ones (see emptyLike) so that decoding neither
// fails on them nor loses list elements.
func (p *parser) validate() {
	s := loadSchema()
	err := s.compiled.Validate(value(p.root))
	if err == nil {
		return
	}
	var verr *sjs.ValidationError
	if !errors.As(err, &verr) {
		p.errs = append(p.errs, Error{File: p.file, Message: "schema validation: " + err.Error()})
		return
	}

	// Unknown and missing keys of one object are looked at together: a
	// misspelled required key is one mistake, reported once as unknown
	// (with the suggestion), not also as missing.
	type object struct {
		at      path
		unknown []string
		missing []string
	}
	var objects []*object
	byPath := map[string]*object{}
	objectAt := func(at path) *object {
		key := at.String()
		o, ok := byPath[key]
		if !ok {
			o = &object{at: at}
			byPath[key] = o
			objects = append(objects, o)
		}
		return o
	}

	voided := slices.Clone(p.invalid)
	for _, leaf := range leaves(verr) {
		at := pathFromPointer(p.root, leaf.InstanceLocation)
		if slices.ContainsFunc(voided, at.within) {
			continue
		}
		switch k := leaf.ErrorKind.(type) {
		case *kind.AdditionalProperties:
			o := objectAt(at)
			o.unknown = append(o.unknown, k.Properties...)
		case *kind.Required:
			o := objectAt(at)
			o.missing = append(o.missing, k.Missing...)
		default:
			n := lookup(p.root, at)
			p.fail(n, at, "%s", p.message(leaf.ErrorKind, at, n))
			p.invalid = append(p.invalid, at)
			if n != nil {
				replace(p.root, at, emptyLike(n, loadSchema().at(at)))
			}
		}
	}

	for _, o := range objects {
		expected := keys(s.at(o.at))
		slices.Sort(o.unknown)
		for _, u := range o.unknown {
			hint := suggest(u, o.missing)
			if hint == "" {
				hint = suggest(u, expected)
			}
			o.missing = slices.DeleteFunc(o.missing, func(m string) bool { return m == hint })
			msg := fmt.Sprintf("unknown key %q; expected one of: %s", u, list(sorted(expected)))
			if hint != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", hint)
			}
			k, _ := child(lookup(p.root, o.at), u)
			at := o.at.key(u)
			p.fail(k, at, "%s", msg)
			p.invalid = append(p.invalid, at)
		}
		slices.Sort(o.missing)
		if slices.ContainsFunc(p.explained, o.at.within) {
			continue
		}
		for _, m := range o.missing {
			at := o.at.key(m)
			p.fail(lookup(p.root, o.at), at, "missing required key %q", m)
			p.invalid = append(p.invalid, at)
		}
	}
}

// emptyLike returns an empty value of the type the schema expects, to stand
// in for a value that failed validation. It must be of that type: go-yaml
// drops a list element it cannot decode, and a null does not decode into a
// struct or a string, so a null would shift every later index.
func emptyLike(n *yaml.Node, want node) *yaml.Node {
	e := &yaml.Node{Line: n.Line, Column: n.Column}
	switch {
	case want.Schema == nil || want.def == "Duration":
		e.Kind, e.Tag = yaml.ScalarNode, "!!null"
	case want.Type == "object":
		e.Kind, e.Tag = yaml.MappingNode, "!!map"
	case want.Type == "array":
		e.Kind, e.Tag = yaml.SequenceNode, "!!seq"
	case want.Type == "string":
		e.Kind, e.Tag = yaml.ScalarNode, "!!str"
	default:
		e.Kind, e.Tag = yaml.ScalarNode, "!!null"
	}
	return e
}

// leaves flattens the validator's error tree to the failures themselves;
// the inner nodes only say "validation failed" or "$ref failed".
func leaves(e *sjs.ValidationError) []*sjs.ValidationError {
	if len(e.Causes) == 0 {
		return []*sjs.ValidationError{e}
	}
	var out []*sjs.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// message says in plain words what is expected at, and what was found.
func (p *parser) message(k sjs.ErrorKind, at path, n *yaml.Node) string {
	got := describeValue(n)
	switch k := k.(type) {
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = typePhrase(w, loadSchema().at(at).def)
		}
		return fmt.Sprintf("expected %s, got %s", strings.Join(want, " or "), got)
	case *kind.Enum:
		allowed := make([]string, len(k.Want))
		for i, w := range k.Want {
			allowed[i] = fmt.Sprint(w)
		}
		if len(allowed) == 1 {
			return fmt.Sprintf("expected %s (the only value allowed), got %s", allowed[0], got)
		}
		msg := fmt.Sprintf("expected one of: %s; got %s", list(allowed), got)
		if s, ok := k.Got.(string); ok {
			msg += didYouMean(s, allowed)
		}
		return msg
	case *kind.Const:
		return fmt.Sprintf("expected %v, got %s", k.Want, got)
	case *kind.Pattern:
		if loadSchema().at(at).def == "Duration" {
			return fmt.Sprintf("expected %s, got %s", durationPhrase, got)
		}
		return fmt.Sprintf("expected text matching %s, got %s", k.Want, got)
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long, got %d", k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long, got %d", k.Want, k.Got)
	case *kind.MinItems:
		return fmt.Sprintf("needs at least %s, got %d", count(k.Want, "entry", "entries"), k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("allows at most %s, got %d", count(k.Want, "entry", "entries"), k.Got)
	case *kind.Minimum:
		return fmt.Sprintf("must be at least %s, got %s", rat(k.Want), rat(k.Got))
	case *kind.Maximum:
		return fmt.Sprintf("must be at most %s, got %s", rat(k.Want), rat(k.Got))
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("must be more than %s, got %s", rat(k.Want), rat(k.Got))
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("must be less than %s, got %s", rat(k.Want), rat(k.Got))
	case *kind.FalseSchema:
		return "is not allowed here"
	}
	// The schema uses no other keywords; should one be added without a
	// message here, still say where and which rule rather than nothing.
	return fmt.Sprintf("does not satisfy the schema rule %q (got %s)", strings.Join(k.KeywordPath(), "/"), got)
}

// typePhrase names a JSON type the way a YAML author thinks of it.
func typePhrase(t, def string) string {
	if def == "Duration" {
		return durationPhrase
	}
	switch t {
	case "boolean":
		return "a boolean (true or false)"
	case "string":
		return "a string"
	case "integer":
		return "a whole number"
	case "number":
		return "a number"
	case "object":
		return "a mapping (key: value lines)"
	case "array":
		return "a list"
	case "null":
		return "nothing"
	}
	return t
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func rat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
