// Package dataflow builds the pairwise view of two configured systems: for
// every datatype of a source system whose records reach a datatype of a
// target system through a canonical type, what is inserted or only linked,
// which merge criteria match existing records, and which properties are
// synchronized. Generate renders that view as the dataflow document an
// integration team hands to QA (reStructuredText, Markdown or HTML).
//
// The view is built from the compiled mapping.Set the sync runs on, so the
// document cannot promise a row the sync does not make. The package is
// pure: a Set and a time in, text out. It does no I/O and must not read the
// configuration, the store or a connector.
package dataflow
