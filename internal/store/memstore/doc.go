// Package memstore is the in-memory store.Store: maps behind one mutex. It
// is the fast test double for engine tests and the randomized simulation,
// and it must behave exactly like the persistent stores, which storetest
// checks: the same paging, the same link semantics, and values normalised
// the way a JSON round trip normalises them (numbers as float64, integers
// beyond ±2^53 as int64, times in UTC at nanosecond precision).
//
// Everything is copied on the way in and on the way out, so a caller can
// never alias, or be aliased by, what the store holds. Nothing is persisted;
// Close only makes later calls fail.
//
// It must not import the engine, a connector or another store.
package memstore
