// Package custom holds what the two reference systems of `concord sandbox`
// (internal/sandbox/webshop and internal/sandbox/erp) share: the Host each
// system's Server embeds (its life from New to Close, ListenAndServe, the
// HTTP entry under the API's prefix, the switches for faults and the rate
// limit, call counts, the base URL, and saving the data file every
// interval and on Close), the gate every API call passes (call counting,
// authentication outcome, rate limit, faults), a table of records with a
// change sequence (Journal) and tombstones, binding of JSON request bodies
// to Go structs field by field (so that each error names its field),
// atomic saving of the JSON data file, and a manual clock for tests.
// Package customtest holds the test helpers the two share.
//
// It owns plumbing only. What a record is, how it is validated and how it
// looks on the wire (authentication, paging, update semantics, error
// bodies) belongs to each system, which hands it to the Host as hooks:
// the two speak deliberately different REST dialects (see
// docs/custom-system-convention.md), and nothing here may make them
// alike. It must not import the engine, the store, the configuration or
// any connector.
package custom
