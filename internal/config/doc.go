// Package config turns a configuration file into a validated Config.
//
// It owns the configuration types (types.go), which are the one definition
// of the file format: Parse decodes into them, Schema returns the JSON
// Schema reflected from them, and Reference renders the Markdown reference
// in the README from that schema. Parse reads the YAML, validates it
// against the schema, decodes it, checks what a schema cannot express
// (names that must refer to each other, canonical properties, expressions,
// durations) and fills in defaults. It reports every problem at once, each
// as file:line:column, the field path and what was expected.
//
// It must not touch anything outside the file: it opens no connections,
// does not consult the connector registry (a system's kind is checked where
// connectors are wired), and writes nothing, not even the store directory
// it names. It only reads the canonical model (to check mappings against
// it) and compiles expressions with package transform to reject bad ones
// early; running them is the engine's business.
package config
