// Package sqlite is the default store.Store: one embedded SQLite database in
// WAL mode, through the pure-Go driver modernc.org/sqlite (no cgo).
//
// It owns the database file and its schema. The schema changes only through
// the numbered files in migrations/ (NNNN_description.sql), applied in
// order, each in its own transaction, and recorded in schema_migrations;
// never edit a migration that has been released, add the next one. A
// database that has a migration this binary does not know is refused.
//
// Layout, and why:
//   - Times are UTC unix nanoseconds (0 is the zero time); maps are JSON text
//     written and read by the hand-written codec in codec.go, which is where
//     most of the CPU of a batch goes. Field times and provenance are stored
//     grouped by time and by source record, which keeps rows small: SQLite
//     rewrites a whole row on every update, and WITHOUT ROWID tables lose
//     their fan-out when rows approach a tenth of a page.
//   - All writes go through one connection, so commits never meet
//     SQLITE_BUSY from this process; reads use a pool of query-only
//     connections and see the last committed state. Every batch commit is
//     one transaction of prepared statements, multi-row where rows are
//     inserted.
//   - Long id lists are split into IN lists of at most 500 values, padded to
//     a power of two so that a few prepared statements serve every length.
//
// The package knows SQL and nothing of connectors or merging: the meaning of
// every operation is defined by store.Store and checked by storetest, which
// this package runs in full. It must not import the engine or a connector.
package sqlite
