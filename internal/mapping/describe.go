package mapping

import "github.com/concordsync/concord/internal/transform"

// The expressions behind a compiled mapping, as written in the
// configuration, for the views that describe a mapping in words (the
// dataflow documents) rather than run it.

// WhenSource is the text of the mapping's `when` condition, or "".
func (m *Mapping) WhenSource() string { return source(m.when) }

// InsertWhenSource is the text of the mapping's `insert_when` condition,
// or "".
func (m *Mapping) InsertWhenSource() string { return source(m.insertWhen) }

// FilterSource is the text of the mapping's `filter` condition, or "".
func (m *Mapping) FilterSource() string { return source(m.filter) }

// InSource is the text of the row's `in` transform, or "".
func (r *Row) InSource() string { return source(r.in) }

// OutSource is the text of the row's `out` transform, or "".
func (r *Row) OutSource() string { return source(r.out) }

func source(p *transform.Program) string {
	if p == nil {
		return ""
	}
	return p.Source()
}
