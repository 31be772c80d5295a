// Package memory is an in-process system that behaves like a real API: the
// fast, deterministic test double of connector.Connector. The engine's tests,
// the randomized simulation (several systems syncing through Concord), the
// benchmarks and the CLI demo run against it.
//
// A System holds datatypes (made on first use) of records with ids it
// assigns, content it deep-copies in and out, a Modified time from an
// injectable clock (optionally truncated, so that records share timestamps)
// and tombstones for deletes. It lists changes with a ">=" cursor, as many
// real APIs do, pages with tokens, checks ifMatch against connector.Hash, and
// can be told to fail the ways real APIs fail (Faults). Out-of-band methods
// (Create, Edit, Remove, Records, Calls, …) play the user of the system and
// let tests see what the engine did.
//
// Listings are indexed (see table), so an incremental listing of a few
// changes among a million records costs work proportional to the changes.
//
// The package registers the connector kind "memory"; systems of that kind
// reach a shared System by name (Instance, NewInstance).
//
// It owns only this simulated system. It must not import the engine, the
// store or the configuration package, and knows nothing of merging.
package memory
