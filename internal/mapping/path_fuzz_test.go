package mapping

import "testing"

// A row's field path ("billing_address.city") reads back what was written
// to it, whatever the path holds (empty parts, a trailing dot, no dot).
func FuzzFieldPath(f *testing.F) {
	for _, p := range []string{"city", "billing_address.city", "a.b.c", "a..b", "a.", ".a", "", "."} {
		f.Add(p, "Delft")
	}
	f.Fuzz(func(t *testing.T, field, value string) {
		fields := map[string]any{}
		setField(fields, field, value)
		got, ok := FieldValue(fields, field)
		if IsEmpty(value) {
			if ok && got != value {
				t.Fatalf("empty %q written to %q reads back %#v", value, field, got)
			}
			return
		}
		if !ok || got != value {
			t.Fatalf("%q written to %q reads back %#v, %v", value, field, got, ok)
		}
	})
}
