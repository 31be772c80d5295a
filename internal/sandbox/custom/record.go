package custom

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ToMap renders v as the API writes it, decoded into Go values: strings,
// bool, nil, int64 for whole numbers, float64 for others, []any and
// map[string]any.
func ToMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("custom: render %T: %v", v, err)) // records are plain structs: cannot happen
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		panic(fmt.Sprintf("custom: render %T: %v", v, err))
	}
	return numbers(m).(map[string]any)
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// ToObject turns Go values (as ToMap gives them, or time.Time and any
// other value encoding/json takes) into a request body.
func ToObject(m map[string]any) (Object, error) {
	obj := Object{}
	for k, v := range m {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		obj[k] = b
	}
	return obj, nil
}
