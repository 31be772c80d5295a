package exactonline_test

import (
	"testing"

	"github.com/concordsync/concord/internal/sandbox/exactonline"
)

// A listing after an update shows the record as it is now, not as the key
// order cached before the update had it.
func TestListingAfterUpdateShowsTheUpdate(t *testing.T) {
	sb, err := exactonline.New(exactonline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	a, err := sb.Put("Accounts", map[string]any{"Name": "Before"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Put("Accounts", map[string]any{"Name": "Other"}); err != nil {
		t.Fatal(err)
	}
	_ = sb.Records("Accounts") // builds the key order
	if _, err := sb.Put("Accounts", map[string]any{"ID": a["ID"], "Name": "After"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range sb.Records("Accounts") {
		if r["ID"] == a["ID"] && r["Name"] != "After" {
			t.Fatalf("listing shows %v after the update", r["Name"])
		}
	}
}
