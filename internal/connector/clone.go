package connector

import "slices"

// CloneFields deep-copies fields so that neither side of a call can change
// the other's maps; nil becomes an empty map.
func CloneFields(f Fields) Fields {
	out := make(Fields, len(f))
	for k, v := range f {
		out[k] = CloneValue(v)
	}
	return out
}

// CloneValue deep-copies one JSON-like value.
func CloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = CloneValue(e)
		}
		return m
	case []any:
		if x == nil {
			return x
		}
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = CloneValue(e)
		}
		return s
	case []string:
		return slices.Clone(x)
	case []map[string]any:
		if x == nil {
			return x
		}
		s := make([]map[string]any, len(x))
		for i, e := range x {
			s[i], _ = CloneValue(e).(map[string]any)
		}
		return s
	default:
		return x
	}
}
