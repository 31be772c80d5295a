// Package webcrm is the connector of kind "webcrm": WebCRM's REST API
// (https://api.webcrm.com/) for the datatypes Organisations, Persons,
// Users, Opportunities, QuotationLines and Products.
//
// It owns the wire protocol only: login and token refresh, pacing under
// the rate limit, retries, error classes, reading changes with an overlap
// window and keyset paging, GET-merge-PUT updates, the virtual product
// fields, and WebCRM's hook notifications. It must not import the engine,
// the store or the WebCRM sandbox (its tests reach the sandbox over HTTP,
// as they would the service). docs/adr/0008-webcrm-connector.md explains
// its decisions; Config lists its settings.
package webcrm
