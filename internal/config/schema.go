package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/invopop/jsonschema"
	sjs "github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/concordsync/concord/internal/canonical"
)

// schemaID names the schema document; editors key their cache on it.
const schemaID = "https://github.com/concordsync/concord/config.schema.json"

// schemaSet is the schema in the three forms the package needs: the typed
// tree (to find what is expected at a path), the JSON text (Schema), and the
// compiled validator. All three come from one reflection of the Go types.
type schemaSet struct {
	root     *jsonschema.Schema
	text     []byte
	compiled *sjs.Schema
}

var loadSchema = sync.OnceValue(func() *schemaSet {
	root := reflectSchema()
	text, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		panic("config: schema does not marshal: " + err.Error())
	}
	text = append(text, '\n')
	doc, err := sjs.UnmarshalJSON(bytes.NewReader(text))
	if err != nil {
		panic("config: schema does not parse: " + err.Error())
	}
	c := sjs.NewCompiler()
	if err := c.AddResource(schemaID, doc); err != nil {
		panic("config: schema resource: " + err.Error())
	}
	compiled, err := c.Compile(schemaID)
	if err != nil {
		panic("config: schema does not compile: " + err.Error())
	}
	return &schemaSet{root: root, text: text, compiled: compiled}
})

func reflectSchema() *jsonschema.Schema {
	canonicalPkg := reflect.TypeFor[canonical.Type]().PkgPath()
	r := &jsonschema.Reflector{
		// Property names must be the YAML keys users write.
		FieldNameTag: "yaml",
		// Only fields tagged required are; omitempty says nothing about
		// whether users must write a key.
		RequiredFromJSONSchemaTags: true,
		// The root is the Config object itself, not a $ref to it.
		ExpandedStruct: true,
		// canonical.Type would read as a "Type" in the reference; say whose.
		Namer: func(t reflect.Type) string {
			if t.PkgPath() == canonicalPkg && t.Name() != "" {
				return "Canonical" + t.Name()
			}
			return ""
		},
	}
	s := r.Reflect(&Config{})
	s.ID = schemaID
	s.Title = "Concord configuration"
	s.Description = "A Concord configuration file: the connected systems, the canonical types, and how each system datatype maps to them."
	return s
}

// Schema returns the JSON Schema of the configuration file, pretty-printed.
// It is the schema Parse validates against; editors can use it for
// completion and inline errors.
func Schema() []byte {
	return bytes.Clone(loadSchema().text)
}

// node is a schema position: the schema and, when it came from $defs, the
// definition's name.
type node struct {
	*jsonschema.Schema
	def string
}

// deref follows a local $ref to its definition.
func (s *schemaSet) deref(n node) node {
	for n.Schema != nil && strings.HasPrefix(n.Ref, "#/$defs/") {
		name := strings.TrimPrefix(n.Ref, "#/$defs/")
		n = node{s.root.Definitions[name], name}
	}
	return n
}

// at returns the schema that applies at p, or a nil schema when p is
// somewhere the schema allows anything (kind-specific settings).
func (s *schemaSet) at(p path) node {
	n := node{s.root, "Config"}
	for _, seg := range p {
		n = s.child(n, seg)
	}
	return s.deref(n)
}

// child returns the schema of a key (string) or list element (int) of n.
func (s *schemaSet) child(n node, seg any) node {
	n = s.deref(n)
	if n.Schema == nil {
		return n
	}
	switch seg := seg.(type) {
	case string:
		if n.Properties != nil {
			if c, ok := n.Properties.Get(seg); ok {
				return node{c, ""}
			}
		}
		if n.AdditionalProperties != nil && n.AdditionalProperties != jsonschema.FalseSchema {
			return node{n.AdditionalProperties, ""}
		}
	case int:
		if n.Items != nil {
			return node{n.Items, ""}
		}
	}
	return node{}
}

// keys lists the property names of an object schema, in schema order.
func keys(n node) []string {
	if n.Schema == nil || n.Properties == nil {
		return nil
	}
	return slices.Collect(n.Properties.KeysFromOldest())
}
