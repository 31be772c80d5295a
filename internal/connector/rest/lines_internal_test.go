package rest

import "testing"

// A line's record id takes its record's id and its own apart again,
// whatever either holds (a slash, a percent sign, spaces).
func FuzzLineRecordID(f *testing.F) {
	for _, seed := range [][2]string{{"17", "3"}, {"6f1c-…", "1"}, {"a/b", "c/d"}, {"%2F", "%"}, {" ", "x y"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, parent, line string) {
		if parent == "" || line == "" {
			return
		}
		id := lineRecordID(parent, line)
		p, l, ok := splitLineID(id)
		if !ok || p != parent || l != line {
			t.Fatalf("lineRecordID(%q, %q) = %q, split into %q, %q (%v)", parent, line, id, p, l, ok)
		}
	})
}
