// Package custom holds what the two reference systems of `concord sandbox`
// (internal/sandbox/webshop and internal/sandbox/erp) share: the gate every
// API call passes (call counting, authentication outcome, rate limit,
// faults), a table of records with a change sequence and tombstones,
// binding of JSON request bodies to Go structs field by field (so that
// each error names its field), atomic saving of the JSON data file, and a
// manual clock for tests.
//
// It owns plumbing only. What a record is, how it is validated and how it
// looks on the wire belongs to each system: the two speak deliberately
// different REST dialects (see docs/custom-system-convention.md), and
// nothing here may make them alike. It must not import the engine, the
// store, the configuration or any connector.
package custom
