// Package storetest is the conformance suite every store.Store backend
// runs: sqlite, memstore, and any later one (PostgreSQL). Run takes a
// function that opens an empty store and checks every method and every
// semantic the store package documents, so that the engine can be tested on
// the memory store and run on SQL with the same results.
//
// The suite owns the definition of "behaves like a store". When a semantic
// changes, change store.go's documentation and this suite together, and
// make every backend pass. It must not import a backend.
package storetest
