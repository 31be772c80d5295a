package simulation

import (
	"fmt"
	"strings"

	"github.com/concordsync/concord/internal/config"
	"github.com/concordsync/concord/internal/connector"
)

// Canonical types the simulation uses.
const (
	customer = "customer"
	contact  = "contact"
)

// codePrefix is what system c puts before a customer code. The mapping
// adds and strips it with expressions; the oracle does the same in Go, so
// a wrong transform in the engine shows as a difference.
const codePrefix = "C-"

// field is one row of a datatype: a system field and its canonical
// property.
type field struct {
	name, prop string
	// ref is, for a reference field, the datatype of the same system whose
	// record id it holds.
	ref string
	// prefix is put before the canonical value in the system (round-trips
	// exactly: the canonical values never start with it).
	prefix string
}

// datatype is one system datatype and how it maps to its canonical type.
type datatype struct {
	system, name, canon string
	fields              []field
}

// schema is the simulated world's shape. Customers live in a, b and c;
// contacts in a and b.
var schema = []*datatype{
	{system: "a", name: "customers", canon: customer, fields: []field{
		{name: "code", prop: "code"}, {name: "name", prop: "name"},
		{name: "email", prop: "email"}, {name: "city", prop: "city"},
	}},
	{system: "b", name: "Accounts", canon: customer, fields: []field{
		{name: "Code", prop: "code"}, {name: "Name", prop: "name"},
		{name: "Email", prop: "email"}, {name: "City", prop: "city"},
	}},
	{system: "c", name: "clients", canon: customer, fields: []field{
		{name: "number", prop: "code", prefix: codePrefix}, {name: "company", prop: "name"},
		{name: "mail", prop: "email"}, {name: "town", prop: "city"},
	}},
	{system: "a", name: "contacts", canon: contact, fields: []field{
		{name: "first_name", prop: "first_name"}, {name: "last_name", prop: "last_name"},
		{name: "email", prop: "email"}, {name: "customer", prop: "customer", ref: "customers"},
	}},
	{system: "b", name: "People", canon: contact, fields: []field{
		{name: "FirstName", prop: "first_name"}, {name: "LastName", prop: "last_name"},
		{name: "Email", prop: "email"}, {name: "CustomerId", prop: "customer", ref: "Accounts"},
	}},
}

// systemNames are the simulated systems, in order.
var systemNames = []string{"a", "b", "c"}

// keyProp is each canonical type's merge key: never empty, never changed,
// never reused for another entity.
var keyProp = map[string]string{customer: "code", contact: "email"}

// editable are the properties users edit, per canonical type.
var editable = map[string][]string{
	customer: {"name", "email", "city"},
	contact:  {"first_name", "last_name", "customer"},
}

// datatypesOf lists the datatypes of a canonical type, in schema order.
func datatypesOf(canon string) []*datatype {
	var out []*datatype
	for _, dt := range schema {
		if dt.canon == canon {
			out = append(out, dt)
		}
	}
	return out
}

// datatypeIn returns the datatype of a canonical type in a system, or nil.
func datatypeIn(canon, system string) *datatype {
	for _, dt := range schema {
		if dt.canon == canon && dt.system == system {
			return dt
		}
	}
	return nil
}

// fieldOf returns the row of a canonical property.
func (dt *datatype) fieldOf(prop string) field {
	for _, f := range dt.fields {
		if f.prop == prop {
			return f
		}
	}
	panic(fmt.Sprintf("simulation: %s:%s has no property %s", dt.system, dt.name, prop))
}

// key returns the canonical merge key of a record's fields ("" if none).
func (dt *datatype) key(fields connector.Fields) string {
	return dt.fieldOf(keyProp[dt.canon]).toProp(fields)
}

// toProp reads the field's canonical value from a record as a string; ""
// stands for every empty value. References are returned as the raw id.
func (f field) toProp(fields connector.Fields) string {
	s := str(fields[f.name])
	if f.prefix != "" {
		s = strings.TrimPrefix(s, f.prefix)
	}
	return s
}

// toField turns a canonical value into the field's value.
func (f field) toField(v string) any {
	if v == "" {
		return ""
	}
	return f.prefix + v
}

// str is a field value as a string; nil and blank strings are "".
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if strings.TrimSpace(x) == "" {
			return ""
		}
		return x
	default:
		return fmt.Sprint(x)
	}
}

// Config returns the configuration of the simulated world: the three memory
// systems, a mapping per datatype with merge on the key and the delete
// policy propagate, and engine settings that let injected faults retry
// forever and keep the circuit breaker out of the way of normal deletes.
// batch is the engine's batch size.
func Config(batch int) *config.Config {
	cfg := &config.Config{
		Engine: config.Engine{
			BatchSize:        batch,
			RetryLimit:       1000,
			BreakerThreshold: 1,
			BreakerMinimum:   1 << 30,
		},
		Systems: map[string]config.System{},
	}
	for _, s := range systemNames {
		cfg.Systems[s] = config.System{Kind: "memory"}
	}
	for _, dt := range schema {
		m := config.Mapping{
			System: dt.system, Datatype: dt.name, Canonical: dt.canon,
			Merge:  [][]string{{keyProp[dt.canon]}},
			Delete: "propagate",
		}
		for _, f := range dt.fields {
			row := config.PropertyMap{Field: f.name, Property: f.prop, Type: "string"}
			if f.ref != "" {
				row.Type, row.Ref = "reference", f.ref
			}
			if f.prefix != "" {
				row.In = fmt.Sprintf("value == nil ? nil : trimPrefix(string(value), %q)", f.prefix)
				row.Out = fmt.Sprintf("value == nil ? nil : %q + string(value)", f.prefix)
			}
			m.Properties = append(m.Properties, row)
		}
		cfg.Mappings = append(cfg.Mappings, m)
	}
	return cfg
}
