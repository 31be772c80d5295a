package rest

import (
	"fmt"
	"strconv"
	"strings"
)

// fieldPath addresses a value inside a JSON document: where the records sit
// in a listing's envelope, a record's id, the next page's URL. It is written
// as a dotted path ("links.next", "meta.total", "data") or, for member names
// that hold dots, as a JSON pointer (RFC 6901: "/links/next"). "" and "." are
// the document itself. A segment that is a whole number indexes an array.
type fieldPath struct {
	text    string   // as configured
	setting string   // the setting it came from, for errors
	segs    []string // nil: the document itself
}

// parsePath reads a configured path.
func parsePath(text, setting string) (fieldPath, error) {
	p := fieldPath{text: text, setting: setting}
	switch {
	case text == "" || text == ".":
		return p, nil
	case strings.HasPrefix(text, "/"):
		for _, s := range strings.Split(text[1:], "/") {
			s = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
			p.segs = append(p.segs, s)
		}
	default:
		for _, s := range strings.Split(text, ".") {
			if s == "" {
				return p, fmt.Errorf("want a dotted path such as links.next or a JSON pointer such as /links/next, got %q (an empty member name)", text)
			}
			p.segs = append(p.segs, s)
		}
	}
	return p, nil
}

// isRoot reports whether the path is the document itself.
func (p fieldPath) isRoot() bool { return len(p.segs) == 0 }

// set reports whether a path was configured ("." counts: the document
// itself).
func (p fieldPath) set() bool { return p.text != "" }

// String is the path as configured, quoted, with the setting it came from.
func (p fieldPath) String() string {
	what := strconv.Quote(p.text)
	if p.isRoot() {
		what = "the top of the body"
	}
	if p.setting == "" {
		return what
	}
	return what + " (" + p.setting + ")"
}

// get returns the value at the path and whether there is one; a JSON null
// is a value (nil, true).
func (p fieldPath) get(doc any) (any, bool) {
	v := doc
	for _, s := range p.segs {
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[s]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// wrap puts v at the path inside new objects: the body a system wants a
// record sent in ({"customer": {…}}).
func (p fieldPath) wrap(v any) any {
	for i := len(p.segs) - 1; i >= 0; i-- {
		v = map[string]any{p.segs[i]: v}
	}
	return v
}

// top is the first member name of the path, the field of a record it
// starts at ("" for the record itself).
func (p fieldPath) top() string {
	if p.isRoot() {
		return ""
	}
	return p.segs[0]
}
