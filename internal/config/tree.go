package config

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// path is a place in the document: mapping keys (string) and sequence
// indices (int), from the top. It is what users see in messages
// (mappings[2].properties[0].property) and what the checks use to find the
// node, and so the line and column, of anything they complain about.
type path []any

// plainKey is a key that reads unambiguously after a dot.
var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func (p path) String() string {
	var b strings.Builder
	for _, s := range p {
		switch s := s.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		case string:
			if plainKey.MatchString(s) {
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(s)
			} else {
				fmt.Fprintf(&b, "[%q]", s)
			}
		}
	}
	return b.String()
}

// key and index return extended copies, so that paths handed out earlier
// never change underneath their holders.
func (p path) key(k string) path { return append(p[:len(p):len(p)], k) }
func (p path) index(i int) path  { return append(p[:len(p):len(p)], i) }
func (p path) parent() path      { return p[:max(len(p)-1, 0)] }
func (p path) last() (any, bool) {
	if len(p) == 0 {
		return nil, false
	}
	return p[len(p)-1], true
}

// within reports whether p is q or lies inside it.
func (p path) within(q path) bool {
	if len(q) > len(p) {
		return false
	}
	for i := range q {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// maxAliasNodes bounds how many nodes alias expansion may create, so a
// "billion laughs" file is refused instead of exhausting memory.
const maxAliasNodes = 100_000

// resolver turns the parsed document into a plain tree: aliases expanded,
// merge keys (<<) applied, duplicate keys reported, scalar tags normalised.
// Every later step (schema validation, decoding, semantic checks, error
// positions) then reads the same tree, so what was validated is exactly
// what is decoded, and an index in a message is an index in the file.
type resolver struct {
	file    string
	errs    Errors
	active  map[*yaml.Node]bool // anchored nodes being resolved; an alias to one is a cycle
	copies  int                 // nodes created by alias expansion
	inAlias int
	tooBig  bool
	// voided lists places whose value was replaced by null after an
	// error here; the schema's "got nothing" there would only repeat it.
	voided []path
}

func newResolver(file string) *resolver {
	return &resolver{file: file, active: map[*yaml.Node]bool{}}
}

func (r *resolver) errorf(n *yaml.Node, p path, format string, args ...any) {
	r.errs = append(r.errs, Error{File: r.file, Line: n.Line, Column: n.Column, Path: p.String(), Message: fmt.Sprintf(format, args...)})
}

func nullAt(n *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
}

func (r *resolver) resolve(n *yaml.Node, p path) *yaml.Node {
	if r.tooBig {
		return nullAt(n)
	}
	if r.inAlias > 0 {
		r.copies++
		if r.copies > maxAliasNodes {
			r.tooBig = true
			r.errorf(n, p, "aliases expand to more than %d values; expand them by hand or simplify the file", maxAliasNodes)
			return nullAt(n)
		}
	}
	if n.Anchor != "" {
		r.active[n] = true
		defer delete(r.active, n)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nullAt(n)
		}
		return r.resolve(n.Content[0], p)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nullAt(n)
		}
		if r.active[n.Alias] {
			r.errorf(n, p, "alias *%s refers to a value that contains it", n.Value)
			r.voided = append(r.voided, p)
			return nullAt(n)
		}
		r.inAlias++
		defer func() { r.inAlias-- }()
		return r.resolve(n.Alias, p)
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: n.Line, Column: n.Column}
		for i, c := range n.Content {
			out.Content = append(out.Content, r.resolve(c, p.index(i)))
		}
		return out
	case yaml.MappingNode:
		return r.mapping(n, p)
	case yaml.ScalarNode:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: scalarTag(n), Style: n.Style &^ yaml.TaggedStyle, Value: n.Value, Line: n.Line, Column: n.Column}
	}
	return nullAt(n)
}

func (r *resolver) mapping(n *yaml.Node, p path) *yaml.Node {
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	seen := map[string]*yaml.Node{}
	var merged []*yaml.Node // key, value, key, value... from << sources, in priority order
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil && k.Alias.Kind == yaml.ScalarNode {
			k = k.Alias
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, r.mergeSources(v, p)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			r.errorf(k, p, "a key must be a plain name, not %s", describeKind(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			r.errorf(k, p.key(k.Value), "duplicate key %q; it is already set on line %d", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.Value, Line: k.Line, Column: k.Column}
		out.Content = append(out.Content, key, r.resolve(v, p.key(k.Value)))
	}
	// Keys written in the mapping itself win over merged ones, and among
	// merged sources the first listed wins (YAML merge key semantics).
	for i := 0; i+1 < len(merged); i += 2 {
		if _, dup := seen[merged[i].Value]; dup {
			continue
		}
		seen[merged[i].Value] = merged[i]
		out.Content = append(out.Content, merged[i], merged[i+1])
	}
	return out
}

// mergeSources resolves the value of a << key into key/value pairs.
func (r *resolver) mergeSources(v *yaml.Node, p path) []*yaml.Node {
	var sources []*yaml.Node
	if v.Kind == yaml.SequenceNode {
		sources = v.Content
	} else {
		sources = []*yaml.Node{v}
	}
	var pairs []*yaml.Node
	for _, s := range sources {
		m := r.resolve(s, p)
		if m.Kind != yaml.MappingNode {
			if !r.tooBig {
				r.errorf(s, p, "a merge key (<<) needs a mapping or a list of mappings, got %s", describeKind(s))
			}
			continue
		}
		pairs = append(pairs, m.Content...)
	}
	return pairs
}

// scalarTag normalises a scalar's tag to one of the core types. Custom tags
// and values that do not parse as their explicit tag (!!int abc) become
// strings, so decoding cannot fail on them later.
func scalarTag(n *yaml.Node) string {
	switch t := n.ShortTag(); t {
	case "!!null", "!!bool", "!!int", "!!float", "!!timestamp":
		var v any
		if err := n.Decode(&v); err != nil {
			return "!!str"
		}
		return t
	}
	return "!!str"
}

// value converts a resolved node to the JSON-like value the schema
// validator expects: maps, slices, strings, bools, json.Number, nil.
func value(n *yaml.Node) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = value(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			s[i] = value(c)
		}
		return s
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	case "!!int", "!!float":
		var v any
		if n.Decode(&v) != nil {
			break
		}
		switch x := v.(type) {
		case int:
			return json.Number(strconv.Itoa(x))
		case int64:
			return json.Number(strconv.FormatInt(x, 10))
		case uint64:
			return json.Number(strconv.FormatUint(x, 10))
		case float64:
			// JSON has no infinities or NaN; as strings they still fail
			// every numeric check, with the text the user wrote.
			if !math.IsInf(x, 0) && !math.IsNaN(x) {
				return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
			}
		}
	}
	return n.Value
}

// child returns the key and value nodes of key in mapping n.
func child(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// lookup finds the node at p, or nil when it is not in the document.
func lookup(root *yaml.Node, p path) *yaml.Node {
	n := root
	for _, s := range p {
		switch s := s.(type) {
		case string:
			_, n = child(n, s)
		case int:
			if n == nil || n.Kind != yaml.SequenceNode || s < 0 || s >= len(n.Content) {
				return nil
			}
			n = n.Content[s]
		}
		if n == nil {
			return nil
		}
	}
	return n
}

// nearest finds the node at p or, when p is not in the document (a key
// that is missing), its deepest ancestor that is.
func nearest(root *yaml.Node, p path) *yaml.Node {
	for q := p; ; q = q.parent() {
		if n := lookup(root, q); n != nil {
			return n
		}
		if len(q) == 0 {
			return root
		}
	}
}

// replace swaps the node at p for with. Checks null out values that failed
// validation so that decoding neither fails on them nor drops list elements
// (which would shift every later index).
func replace(root *yaml.Node, p path, with *yaml.Node) {
	last, ok := p.last()
	if !ok {
		return
	}
	parent := lookup(root, p.parent())
	switch s := last.(type) {
	case string:
		if parent == nil || parent.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(parent.Content); i += 2 {
			if parent.Content[i].Value == s {
				parent.Content[i+1] = with
			}
		}
	case int:
		if parent != nil && parent.Kind == yaml.SequenceNode && s >= 0 && s < len(parent.Content) {
			parent.Content[s] = with
		}
	}
}

// pathFromPointer turns a validator's instance location into a path,
// reading the document to tell list indices from keys that look like
// numbers.
func pathFromPointer(root *yaml.Node, tokens []string) path {
	p := make(path, 0, len(tokens))
	n := root
	for _, t := range tokens {
		if n != nil && n.Kind == yaml.SequenceNode {
			if i, err := strconv.Atoi(t); err == nil {
				p = append(p, i)
				n = lookup(n, path{i})
				continue
			}
		}
		p = append(p, t)
		_, n = child(n, t)
	}
	return p
}

// describeKind names what a node is, for messages.
func describeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a value"
}

// describeValue names a value the way the user wrote it, for "got ..."
// in messages: string "yes please", number 3, boolean true, a list.
func describeValue(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		return describeKind(n)
	}
	switch n.Tag {
	case "!!null":
		return "nothing (an empty value)"
	case "!!bool":
		return "boolean " + n.Value
	case "!!int":
		return "number " + n.Value
	case "!!float":
		// .inf and .nan reach the validator as text (JSON has no such
		// numbers), so say why a number was refused.
		var f float64
		if n.Decode(&f) == nil && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return "the non-finite number " + n.Value
		}
		return "number " + n.Value
	}
	return "string " + strconv.Quote(short(n.Value))
}

// short keeps long values from swamping a message.
func short(s string) string {
	const limit = 60
	if r := []rune(s); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}
