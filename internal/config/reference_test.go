package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/invopop/jsonschema"
)

var update = flag.Bool("update", false, "rewrite the README's configuration reference and testdata/schema.json")

const (
	readme         = "../../README.md"
	referenceStart = "<!-- config-reference:start -->\n"
	referenceEnd   = "<!-- config-reference:end -->"
)

// The README's configuration reference is generated; this keeps it from
// drifting from the types. Run `go test ./internal/config -update` after
// changing a type, a tag or a description.
func TestReadmeReference(t *testing.T) {
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, referenceStart)
	end := strings.Index(text, referenceEnd)
	if start < 0 || end < start {
		t.Fatalf("%s has no %q ... %q section", readme, strings.TrimSpace(referenceStart), referenceEnd)
	}
	start += len(referenceStart)
	want := Reference()
	if text[start:end] == want {
		return
	}
	if *update {
		text = text[:start] + want + text[end:]
		if err := os.WriteFile(readme, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the configuration reference in %s is out of date; run go test ./internal/config -update", readme)
}

// testdata/schema.json shows schema changes in review; it is what
// `concord schema` prints.
func TestSchemaGolden(t *testing.T) {
	const golden = "testdata/schema.json"
	got := Schema()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Schema() differs from %s; run go test ./internal/config -update", golden)
	}
	if !json.Valid(got) {
		t.Errorf("Schema() is not valid JSON")
	}
}

// The defaults Parse applies and the ones the schema documents must agree.
func TestSchemaDefaults(t *testing.T) {
	s := loadSchema()
	tests := []struct {
		at   path
		want any
	}{
		{path{"store", "driver"}, DefaultDriver},
		{path{"store", "path"}, DefaultStorePath},
		{path{"engine", "batch_size"}, DefaultBatchSize},
		{path{"engine", "retry_limit"}, DefaultRetryLimit},
		{path{"engine", "breaker_threshold"}, DefaultBreakerThreshold},
		{path{"engine", "breaker_minimum"}, DefaultBreakerMinimum},
		{path{"mappings", 0, "direction"}, DefaultDirection},
		{path{"mappings", 0, "delete"}, DefaultDelete},
		{path{"mappings", 0, "insert"}, true},
		{path{"mappings", 0, "properties", 0, "type"}, DefaultPropertyType},
		{path{"mappings", 0, "properties", 0, "direction"}, DefaultDirection},
		{path{"mappings", 0, "lines", "properties", 0, "direction"}, DefaultDirection},
	}
	for _, tt := range tests {
		n := s.parentOf(tt.at)
		if n.Schema == nil {
			t.Errorf("%s: not in the schema", tt.at)
			continue
		}
		if got, want := fmt.Sprint(n.Default), fmt.Sprint(tt.want); got != want {
			t.Errorf("%s: schema default %s, Parse applies %s", tt.at, got, want)
		}
	}
}

// parentOf returns the property schema at p without following its $ref,
// where the field's own tags (default, description) live.
func (s *schemaSet) parentOf(p path) node {
	n := s.at(p.parent())
	key, _ := p.last()
	if n.Properties == nil {
		return node{}
	}
	c, _ := n.Properties.Get(key.(string))
	return node{c, ""}
}

// The jsonschema tag splits on commas, so a description put there is cut
// short without a word of warning. Every description is a sentence; one
// that does not end like one was cut.
func TestSchemaDescriptionsComplete(t *testing.T) {
	s := loadSchema()
	var walk func(where string, sch *jsonschema.Schema)
	walk = func(where string, sch *jsonschema.Schema) {
		if sch == nil || sch.Properties == nil {
			return
		}
		for key, p := range sch.Properties.FromOldest() {
			if !strings.HasSuffix(p.Description, ".") {
				t.Errorf("%s.%s: description %q is missing or cut short", where, key, p.Description)
			}
		}
	}
	walk("Config", s.root)
	for name, def := range s.root.Definitions {
		walk(name, def)
	}
}
