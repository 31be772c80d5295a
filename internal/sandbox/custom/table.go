package custom

import (
	"cmp"
	"slices"
)

// Row is one record of a Table with its bookkeeping: the change sequence
// of its last write, and whether that write deleted it. A deleted row stays
// as a tombstone, so that a change listing can report the deletion.
type Row[K cmp.Ordered, T any] struct {
	ID      K     `json:"id"`
	Seq     int64 `json:"seq"`
	Deleted bool  `json:"deleted,omitempty"`
	Rec     T     `json:"record"`
}

// Table holds the rows of one resource by id. It is not safe for
// concurrent use: the system that owns it holds its own lock.
type Table[K cmp.Ordered, T any] struct {
	rows map[K]*Row[K, T]
}

// NewTable returns an empty table.
func NewTable[K cmp.Ordered, T any]() *Table[K, T] {
	return &Table[K, T]{rows: map[K]*Row[K, T]{}}
}

// Get returns the row with id, tombstone or not, or nil.
func (t *Table[K, T]) Get(id K) *Row[K, T] { return t.rows[id] }

// Live returns the row with id unless it is absent or deleted.
func (t *Table[K, T]) Live(id K) *Row[K, T] {
	if r := t.rows[id]; r != nil && !r.Deleted {
		return r
	}
	return nil
}

// Put stores a row, replacing the one with its id.
func (t *Table[K, T]) Put(r *Row[K, T]) { t.rows[r.ID] = r }

// Write stores rec under id as the journal's next change, a tombstone
// when deleted. Rows are replaced, never changed in place, so that a
// snapshot being saved never sees half a write.
func (t *Table[K, T]) Write(j *Journal, id K, rec T, deleted bool) {
	t.Put(&Row[K, T]{ID: id, Seq: j.Next(), Deleted: deleted, Rec: rec})
}

// Load stores the rows a data file holds.
func (t *Table[K, T]) Load(rows []*Row[K, T]) {
	for _, r := range rows {
		t.Put(r)
	}
}

// Len is the number of rows, tombstones included.
func (t *Table[K, T]) Len() int { return len(t.rows) }

// ByID returns the rows, tombstones included, in ascending id order.
func (t *Table[K, T]) ByID() []*Row[K, T] {
	out := make([]*Row[K, T], 0, len(t.rows))
	for _, r := range t.rows {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Row[K, T]) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// After returns the rows written after change sequence seq, tombstones
// included, in the order they were written.
func (t *Table[K, T]) After(seq int64) []*Row[K, T] {
	var out []*Row[K, T]
	for _, r := range t.rows {
		if r.Seq > seq {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *Row[K, T]) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Find returns the live rows for which keep is true, in ascending id order.
func (t *Table[K, T]) Find(keep func(*T) bool) []*Row[K, T] {
	var out []*Row[K, T]
	for _, r := range t.ByID() {
		if !r.Deleted && keep(&r.Rec) {
			out = append(out, r)
		}
	}
	return out
}
