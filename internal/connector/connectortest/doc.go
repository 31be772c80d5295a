// Package connectortest is the conformance suite every connector passes:
// Run checks, against a live system or its local sandbox, what the engine
// relies on — ids from Insert, partial Update, ifMatch conflicts,
// ErrNotFound, full listings that hold each record once, incremental
// listings that never miss a change (also when many records share one
// timestamp across page boundaries and a listing is resumed from any page's
// cursor) and tombstones.
//
// It owns the suite and its helpers only. It must not know any particular
// connector (each connector package brings its own Harness) and must not
// import the engine or the store.
package connectortest
