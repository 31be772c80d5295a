// Package rest is the connector of kind "rest": a JSON HTTP API of a
// company's own system (a webshop, an ERP built in-house), configured in
// YAML only, per datatype. The convention such a system follows is
// docs/custom-system-convention.md; the settings and the decisions behind
// them are in docs/adr/0010-rest-connector.md, and testdata/webshop.yaml
// and testdata/erp.yaml connect the two reference systems.
//
// Per datatype the settings say where the records are (list path, query,
// where they sit in the answer's envelope: a dotted path or a JSON
// pointer), how pages follow each other (page number, offset, a cursor in
// the body, a Link header, a next URL in the body), how changes are asked
// for (an updated-since parameter with an overlap window, or an opaque
// cursor from the body), which member is the id, the modification time and
// the deleted marker, and the get, insert, update (PATCH of the changed
// fields, or GET-merge-PUT of the whole record) and delete calls. Auth is
// a bearer token, basic, an API-key header or OAuth2 client credentials;
// secrets may come from the environment.
//
// Lines nested in a record (an order's line_items) are served as a
// datatype of their own, "<datatype>/<member>", configured per datatype:
//
//	datatypes:
//	  orders:
//	    lines:
//	      line_items: {id_field: id, read_only: [sku, name, total], properties: {product_id: integer}}
//
// A listing of it is the record's listing with one record per line (id
// "<record id>/<line id>", the line plus "_parent", the record's modified
// time); a line that left its record comes out as a tombstone, from the
// line ids kept per record in the connector.State; a write reads the
// record and writes it back with its whole list of lines (lines.go, ADR 12).
//
// It owns the wire protocol only: settings, auth, pacing, retries with
// backoff honouring Retry-After, error classes, paging, cursors, and
// reading JSON without changing a value (numbers stay the numbers the
// system wrote, texts stay texts, nested objects and arrays pass through).
// An answer that does not fit the settings is one FitError naming the
// system, datatype, URL, status and what was expected; a listing with such
// a page returns no records. It must not import the engine, the store or
// the sandboxes: its tests reach the reference systems over HTTP.
package rest
