// Package sqlconn is the connector of kind "sql": tables in PostgreSQL,
// MySQL/MariaDB or SQLite, configured entirely in YAML. Per datatype a
// table (or a view to read from), a key column, and an updated-at column
// or a change table the connector keeps with triggers; lines are a
// datatype of their own with a parent column (docs/adr/0005).
//
// It owns the SQL only: settings checked against the database's catalog
// at open, values presented the same on every backend, keyset listings
// that never skip a row, optimistic updates under a row lock, and the
// mapping of database errors onto the engine's classes. Every name is
// quoted as an identifier and every value is a parameter. It must not
// import the engine or the store. docs/adr/0011-sql-connector.md explains
// its decisions; Config and DatatypeConfig list its settings.
package sqlconn
