package mapping

import "fmt"

// Meeting is a datatype of one system whose records reach a datatype of
// another through a canonical type: one section of the dataflow document
// of the two systems, and one part of its QA checklist.
type Meeting struct {
	Source, Target *Mapping
}

// NestedLines tells whether a mapping's lines are an array inside its
// records (lines: {field: …}), compiled as the datatype "<datatype>/<field>".
func (m *Mapping) NestedLines() bool { return m != nil && m.Lines != nil && m.Lines.Field != "" }

// Meetings lists the meetings from system source to system target: every
// mapping of source that reads with every mapping of target that writes
// the same canonical type, in the configuration's order of the source
// mappings, then of the targets. Lines kept in a separate source datatype
// meet the target's lines; lines nested in the source's records are part
// of their record's meetings, not meetings of their own.
func (s *Set) Meetings(source, target string) []Meeting {
	var out []Meeting
	for _, sm := range s.Mappings {
		if sm.System != source || !sm.Reads() || (sm.Parent != nil && sm.Parent.NestedLines()) {
			continue
		}
		for _, tm := range s.Mappings {
			if tm.System == target && tm.Writes() && tm.Canonical == sm.Canonical {
				out = append(out, Meeting{Source: sm, Target: tm})
			}
		}
	}
	return out
}

// Title is the meeting's section title: "<Source system> <Source datatype>
// to <Target system> <Target datatype>", the target's lines named after
// their record when they are nested in it.
func (mt Meeting) Title() string {
	t := mt.Target
	if t.Parent != nil && t.Parent.NestedLines() {
		t = t.Parent
	}
	return fmt.Sprintf("%s %s to %s %s", mt.Source.SystemTitle, mt.Source.Title, mt.Target.SystemTitle, t.Title)
}
