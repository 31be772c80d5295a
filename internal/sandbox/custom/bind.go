package custom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// FieldError is a request value that is wrong: Field is its JSON path
// ("price", "lines[2].qty", "billing_address.country"), Code a short
// machine word ("required", "invalid", "unknown_field", "taken",
// "not_found", "transition", "frozen").
type FieldError struct {
	Field, Code, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Invalid is a FieldError with code "invalid".
func Invalid(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Code: "invalid", Message: fmt.Sprintf(format, args...)}
}

// Required is a FieldError saying field must be given.
func Required(field string) *FieldError {
	return &FieldError{Field: field, Code: "required", Message: "is required"}
}

// Object is a JSON object by member name, as a request body is bound.
type Object map[string]json.RawMessage

// DecodeObject reads a request body that must be one JSON object.
func DecodeObject(body []byte) (Object, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var obj Object
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("the body is not a JSON object: %w", err)
	}
	if obj == nil {
		return nil, errors.New("the body is not a JSON object: it is null")
	}
	if dec.More() {
		return nil, errors.New("the body holds more than one JSON value")
	}
	return obj, nil
}

// Has reports whether the object has member name with a value other than
// null.
func (o Object) Has(name string) bool {
	raw, ok := o[name]
	return ok && !isNull(raw)
}

// isNull reports whether raw is null or absent (empty).
func isNull(raw json.RawMessage) bool {
	t := string(bytes.TrimSpace(raw))
	return t == "null" || t == ""
}

// Bind sets the fields of the struct dst points to from obj, member by
// member in name order, by the fields' json tags: null sets the zero
// value, a member for a nested struct is bound the same way (so it merges
// into what dst holds: JSON Merge Patch, RFC 7386), any other value
// replaces the field. A member skip returns true for is left alone (read-
// only fields, lines the caller binds itself); a member dst has no field
// for is an "unknown_field" error. prefix is put before field names in
// errors ("lines[0].").
func Bind(dst any, obj Object, prefix string, skip func(name string) bool) *FieldError {
	v := reflect.ValueOf(dst).Elem()
	fields := fieldsOf(v.Type())
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if skip != nil && skip(name) {
			continue
		}
		idx, ok := fields[name]
		if !ok {
			field := prefix + name
			if name == "" {
				field = prefix + `""` // an empty member name must still show in the error
			}
			return &FieldError{Field: field, Code: "unknown_field", Message: "is not a field of this record"}
		}
		if err := bindValue(v.FieldByIndex(idx), obj[name], prefix+name); err != nil {
			return err
		}
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func bindValue(f reflect.Value, raw json.RawMessage, path string) *FieldError {
	if isNull(raw) {
		f.SetZero()
		return nil
	}
	if f.Kind() == reflect.Struct && !reflect.PointerTo(f.Type()).Implements(unmarshalerType) {
		var obj Object
		if err := json.Unmarshal(raw, &obj); err != nil {
			return Invalid(path, "must be an object")
		}
		return Bind(f.Addr().Interface(), obj, path+".", nil)
	}
	if err := json.Unmarshal(raw, f.Addr().Interface()); err != nil {
		return Invalid(path, "%s", describe(f.Type(), err))
	}
	return nil
}

// describe says what a field takes, for a value of the wrong type.
func describe(t reflect.Type, err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) && !strings.HasPrefix(err.Error(), "json:") {
		return err.Error() // the field type's own message
	}
	switch t.Kind() {
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "must be a whole number"
	case reflect.Float64:
		return "must be a number"
	case reflect.Slice:
		return "must be an array"
	case reflect.Pointer:
		return describe(t.Elem(), err)
	}
	return "has the wrong type"
}

var fieldCache sync.Map // reflect.Type → map[string][]int

// fieldsOf maps a struct's JSON member names to field indexes.
func fieldsOf(t reflect.Type) map[string][]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string][]int)
	}
	m := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Index
	}
	fieldCache.Store(t, m)
	return m
}

// Members returns the JSON member names of the struct type T, for
// documentation and read-only lists.
func Members[T any]() []string {
	var out []string
	for k := range fieldsOf(reflect.TypeFor[T]()) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DecodeArray reads a JSON array of objects (a record's lines).
func DecodeArray(raw json.RawMessage, path string) ([]Object, *FieldError) {
	if isNull(raw) {
		return nil, nil
	}
	var items []Object
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, Invalid(path, "must be an array of objects")
	}
	for i, it := range items {
		if it == nil {
			return nil, Invalid(fmt.Sprintf("%s[%d]", path, i), "must be an object")
		}
	}
	return items, nil
}
